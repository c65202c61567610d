package io.gnomon.clockd.publish;

import io.gnomon.clockd.select.DisruptionDetector;
import io.gnomon.clockd.select.RejectReason;
import io.gnomon.truetime.ClockStatus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

import static io.gnomon.clockd.publish.Estimates.estimate;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MetricsEndpointTest {

    private final ClockMetrics metrics = new ClockMetrics();
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private HttpEndpoint http;

    @BeforeEach
    void start() throws IOException {
        http = HttpEndpoint.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), metrics);
    }

    @AfterEach
    void stop() {
        http.close();
    }

    @Test
    void metricsShowTheClockSourcesAndRejections() throws Exception {
        metrics.onEstimate(estimate(ClockStatus.SYNCHRONIZED));
        metrics.onMeasurement(Estimates.SOURCE_A.name(), 1_700_000_000_000_000_000L);
        metrics.onMeasurement(Estimates.SOURCE_A.name(), 1_700_000_001_500_000_000L);
        metrics.onRejected(Estimates.SOURCE_B.name(), RejectReason.KISS_OF_DEATH);
        metrics.onRejected(Estimates.SOURCE_B.name(), RejectReason.KISS_OF_DEATH);
        metrics.onRejected(Estimates.SOURCE_B.name(), RejectReason.TIMEOUT);
        metrics.onStrayDatagram(Estimates.SOURCE_B.name(), RejectReason.ORIGIN_MISMATCH);
        metrics.onCondition(Estimates.SOURCE_B.name(), io.gnomon.clockd.select.SourceCondition.STOPPED);

        HttpResponse<String> r = get("/metrics", "GET");

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("text/plain; version=0.0.4; charset=utf-8");
        String a = "source=\"" + Estimates.SOURCE_A.name() + "\"";
        String b = "source=\"" + Estimates.SOURCE_B.name() + "\"";
        String c = "source=\"" + Estimates.SOURCE_C.name() + "\"";
        assertThat(r.body().lines()).contains(
                "gnomon_clock_bound_seconds 4.0E-5",
                "gnomon_clock_offset_seconds 2.0E-6",
                "gnomon_clock_status 1.0",
                "gnomon_clock_status_active{status=\"SYNCHRONIZED\"} 1.0",
                "gnomon_clock_status_active{status=\"UNKNOWN\"} 0.0",
                "gnomon_clock_max_drift_ratio 1.5E-5",
                "gnomon_clock_falsetickers 1.0",
                "gnomon_source_delay_seconds{" + a + "} 1.2E-4",
                "gnomon_source_offset_seconds{" + a + "} 1.5E-6",
                "gnomon_source_bound_seconds{" + a + "} 3.0E-5",
                "gnomon_source_reachable{" + a + "} 1.0",
                "gnomon_source_falseticker{" + b + "} 1.0",
                "gnomon_source_reachable{" + c + "} 0.0",
                "gnomon_source_offset_seconds{" + c + "} NaN",
                "gnomon_samples_accepted_total{" + a + "} 2.0",
                "gnomon_source_last_sample_timestamp_seconds{" + a + "} 1.7000000015E9",
                "gnomon_samples_rejected_total{reason=\"KISS_OF_DEATH\"," + b + "} 2.0",
                "gnomon_samples_rejected_total{reason=\"TIMEOUT\"," + b + "} 1.0",
                "gnomon_source_stray_datagrams_total{reason=\"ORIGIN_MISMATCH\"," + b + "} 1.0",
                "gnomon_source_condition{condition=\"STOPPED\"," + b + "} 1.0",
                "gnomon_source_condition{condition=\"POLLING\"," + b + "} 0.0",
                // two reachable sources (a and b; c is not) cannot out-vote a falseticker
                "gnomon_clock_falsetickers_outvotable 0.0",
                "gnomon_clock_cross_checkable 0.0");
    }

    @Test
    void declaredSourcesAndEveryDisruptionKindAreExportedAtZeroBeforeAnythingHappens() throws Exception {
        metrics.declareSource("ntp:10.0.0.1:123", java.util.EnumSet.of(RejectReason.ORIGIN_MISMATCH));
        metrics.declareSource("chrony:a", java.util.Set.of());
        metrics.declareRejections("unknown", java.util.EnumSet.of(RejectReason.UNEXPECTED_SOURCE));

        List<String> lines = get("/metrics", "GET").body().lines().toList();

        for (String source : List.of("ntp:10.0.0.1:123", "chrony:a")) {
            String tag = "source=\"" + source + "\"";
            assertThat(lines).contains("gnomon_samples_accepted_total{" + tag + "} 0.0");
            for (RejectReason reason : RejectReason.values()) {
                assertThat(lines).contains("gnomon_samples_rejected_total{reason=\"" + reason + "\"," + tag + "} 0.0");
            }
            // No sample yet: no timestamp (a NaN would sit in the rules' min() of sample ages), no source gauges.
            assertThat(lines).noneMatch(l -> l.startsWith("gnomon_source_last_sample_timestamp_seconds{" + tag));
        }
        assertThat(lines).contains(
                "gnomon_source_stray_datagrams_total{reason=\"ORIGIN_MISMATCH\",source=\"ntp:10.0.0.1:123\"} 0.0",
                "gnomon_samples_rejected_total{reason=\"UNEXPECTED_SOURCE\",source=\"unknown\"} 0.0");
        assertThat(lines).filteredOn(l -> l.startsWith("gnomon_source_stray_datagrams_total{")).hasSize(1);
        assertThat(lines).filteredOn(l -> l.startsWith("gnomon_samples_rejected_total{") && l.contains("\"unknown\""))
                .hasSize(1);
        for (DisruptionDetector.Kind kind : DisruptionDetector.Kind.values()) {
            assertThat(lines).contains("gnomon_clock_disruptions_total{kind=\"" + kind + "\"} 0.0");
        }

        // The first increment counts from the declared 0, and the timestamp appears with it.
        metrics.onRejected("chrony:a", RejectReason.TIMEOUT);
        metrics.onMeasurement("chrony:a", 1_700_000_000_000_000_000L);
        metrics.onDisruption(DisruptionDetector.Kind.SUSPEND);
        metrics.declareSource("chrony:a", java.util.Set.of()); // again: changes nothing
        assertThat(get("/metrics", "GET").body().lines()).contains(
                "gnomon_samples_rejected_total{reason=\"TIMEOUT\",source=\"chrony:a\"} 1.0",
                "gnomon_samples_rejected_total{reason=\"KISS_OF_DEATH\",source=\"chrony:a\"} 0.0",
                "gnomon_samples_accepted_total{source=\"chrony:a\"} 1.0",
                "gnomon_source_last_sample_timestamp_seconds{source=\"chrony:a\"} 1.7E9",
                "gnomon_clock_disruptions_total{kind=\"SUSPEND\"} 1.0",
                "gnomon_clock_disruptions_total{kind=\"REALTIME_STEP\"} 0.0");
    }

    @Test
    void sourcesThatAppearLaterGetTheirOwnGauges() throws Exception {
        metrics.onEstimate(estimate(ClockStatus.SYNCHRONIZED));
        var later = new io.gnomon.clockd.select.SourceState("ntp:10.0.0.9:123", "ntp", true, false, 1, 2, 3, true);
        var e = estimate(ClockStatus.FREE_RUNNING);
        metrics.onEstimate(new io.gnomon.clockd.select.Estimate(e.snapshot(), e.offsetNanos(),
                java.util.List.of(Estimates.SOURCE_A, later), e.reason()));

        String body = get("/metrics", "GET").body();

        assertThat(body).contains("gnomon_source_delay_seconds{source=\"ntp:10.0.0.9:123\"} 2.0E-9",
                "gnomon_clock_status 2.0", "gnomon_clock_status_active{status=\"FREE_RUNNING\"} 1.0",
                "gnomon_clock_status_active{status=\"SYNCHRONIZED\"} 0.0");
    }

    @Test
    void healthzSaysOk() throws Exception {
        HttpResponse<String> r = get("/healthz", "GET");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("ok\n");
    }

    @Test
    void otherPathsAre404AndOtherMethods405() throws Exception {
        assertThat(get("/", "GET").statusCode()).isEqualTo(404);
        assertThat(get("/metrics/extra", "GET").statusCode()).isEqualTo(404);
        HttpResponse<String> post = get("/metrics", "POST");
        assertThat(post.statusCode()).isEqualTo(405);
        assertThat(post.headers().firstValue("Allow")).hasValue("GET");
    }

    @Test
    void aPortInUseIsNamedInTheError() throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            InetSocketAddress address = new InetSocketAddress("127.0.0.1", taken.getLocalPort());
            assertThatThrownBy(() -> HttpEndpoint.start(address, metrics))
                    .isInstanceOf(IOException.class)
                    .hasMessageStartingWith("HTTP metrics port 127.0.0.1:" + taken.getLocalPort() + " is in use");
        }
    }

    private HttpResponse<String> get(String path, String method) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http.port() + path))
                .timeout(Duration.ofSeconds(5))
                .method(method, HttpRequest.BodyPublishers.noBody()).build();
        return client.send(request, HttpResponse.BodyHandlers.ofString());
    }
}
