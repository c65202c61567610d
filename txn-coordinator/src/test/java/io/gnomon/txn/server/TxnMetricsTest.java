package io.gnomon.txn.server;

import io.gnomon.paxos.server.SystemClockTrueTime;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class TxnMetricsTest {
    @Test
    void abortsAreLabelledByTheCauseTheCoresName() {
        // the messages as the cores and the host write them
        assertThat(TxnMetrics.reasonOf("wounded by an older transaction in group 3")).isEqualTo("wounded");
        assertThat(TxnMetrics.reasonOf("participant group 2 refused to prepare: wounded while prepared in group 2"
                + " by older transaction txn(1/2#0)")).isEqualTo("wounded");
        assertThat(TxnMetrics.reasonOf("group 1 refuses to commit txn(1/2#0): TrueTime is UNSYNCHRONIZED (not usable),"
                + " ε unknown; retry once the clock is synchronized")).isEqualTo("clock");
        assertThat(TxnMetrics.reasonOf("participant groups [2] did not prepare within 10000000000 ns"
                + " (TxnLimits.prepareTimeoutNanos)")).isEqualTo("prepare_timeout");
        assertThat(TxnMetrics.reasonOf("participant group 4 refused to prepare: group 4 cannot log the commit"))
                .isEqualTo("participant");
        assertThat(TxnMetrics.reasonOf("no request for 10000000000 ns (TxnLimits.idleTxnTimeoutNanos): the client is"
                + " presumed gone")).isEqualTo("idle");
        assertThat(TxnMetrics.reasonOf("the client aborted it")).isEqualTo("client");
        assertThat(TxnMetrics.reasonOf("something new")).isEqualTo("other");
    }

    @Test
    void everyCounterIsThereAtZeroAndTheEndpointServesThem() throws Exception {
        TxnMetrics metrics = new TxnMetrics(new SystemClockTrueTime(TimeUnit.MILLISECONDS.toNanos(1)));
        metrics.group(7);
        metrics.commitAnswered("aborted", 1_000_000, "wounded by an older transaction in group 7");
        try (MetricsHttp http = MetricsHttp.serve(new InetSocketAddress("127.0.0.1", 0), metrics::scrape)) {
            String body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + http.port() + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            for (String reason : TxnMetrics.REASONS) {
                assertThat(body).contains("gnomon_txn_aborts_total{reason=\"" + reason + "\"}");
            }
            assertThat(body).contains("gnomon_txn_aborts_total{reason=\"wounded\"} 1.0")
                    .contains("gnomon_txn_commit_seconds_count{outcome=\"aborted\"} 1")
                    .contains("gnomon_txn_lock_waits{group=\"7\"} 0.0")
                    .contains("gnomon_txn_leader_changes_total{group=\"7\"} 0.0")
                    .contains("gnomon_txn_safe_time_lag_seconds{group=\"7\"} +Inf");
        }
    }
}
