package io.gnomon.clockd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gnomon.clockd.config.ConfigLoader;
import io.gnomon.clockd.config.DaemonConfig;
import io.gnomon.clockd.testing.FakeNtpServer;
import io.gnomon.truetime.ClockStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A page opened after a restart shows the incident before it: clockd runs with a falseticker, stops, and starts
 * again on the same journal directory; the last hour, asked before the new run has synchronised, still has the
 * earlier run's buckets and its events (from the page's summaries, not from reading the journal).
 */
class ClockdPageRestartTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    @TempDir Path dir;

    /** The history answer, once the summaries are read back (503 until then). */
    static JsonNode history(Clockd clockd, String range) throws Exception {
        HttpRequest get = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + clockd.metricsPort()
                + "/api/history?range=" + range)).timeout(Duration.ofSeconds(10)).build();
        HttpResponse<String> r = await().atMost(Duration.ofSeconds(10))
                .until(() -> HTTP.send(get, HttpResponse.BodyHandlers.ofString()), x -> x.statusCode() != 503);
        assertThat(r.statusCode()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    @Test
    void theLastHourAfterARestartShowsTheRunBeforeIt() throws Exception {
        List<AutoCloseable> started = new ArrayList<>();
        try {
            List<String> servers = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                FakeNtpServer ntp = FakeNtpServer.start();
                started.add(ntp);
                servers.add("127.0.0.1:" + ntp.port());
                if (i == 2) {
                    ntp.setOffset(Duration.ofSeconds(5));
                }
            }
            DaemonConfig c = LoopbackConfig.of(dir.resolve("segment"), servers);
            c.journal.dir = dir.resolve("journal").toString();
            JsonNode before;
            try (Clockd first = Clockd.start(ConfigLoader.validate(c), SystemClocks.SYSTEM)) {
                ClockdEndToEndTest.awaitEstimate(first, e -> e.snapshot().status() == ClockStatus.SYNCHRONIZED
                        && e.sources().get(2).falseticker());
                // two 6 s buckets with data: at least one has closed, and so is in the summary files
                await().atMost(Duration.ofSeconds(30)).until(() -> ClockdPageHttpTest.nonNull(history(first, "hour")
                        .path("boundNanos")) >= 2);
                before = history(first, "hour");
            }
            c.journal.dir = dir.resolve("journal").toString();
            try (Clockd second = Clockd.start(ConfigLoader.validate(c), SystemClocks.SYSTEM)) {
                JsonNode after = history(second, "hour");
                assertThat(after.path("journal").asBoolean()).isTrue();
                assertThat(ClockdPageHttpTest.nonNull(after.path("boundNanos"))).isGreaterThanOrEqualTo(1);
                int firstBefore = 0;
                while (before.path("boundNanos").get(firstBefore).isNull()) {
                    firstBefore++;
                }
                // the earlier run's first bucket is where it was (same 6 s edges), with the same values
                double t = before.path("t").get(firstBefore).asDouble(); // a bucket's end (closed: not capped at "to")
                int at = -1;
                for (int i = 0; i < 600; i++) {
                    at = after.path("t").get(i).asDouble() == t ? i : at;
                }
                assertThat(at).isNotNegative();
                assertThat(after.path("boundNanos").get(at)).isEqualTo(before.path("boundNanos").get(firstBefore));
                assertThat(after.path("sources").size()).isEqualTo(3);
                String events = after.path("events").toString();
                assertThat(events).contains("is a falseticker");
                assertThat(events.split("clockd started", -1)).hasSize(3); // both starts
            }
        } finally {
            for (int i = started.size() - 1; i >= 0; i--) {
                started.get(i).close();
            }
        }
    }
}
