package io.gnomon.txn.server;

import io.gnomon.txn.TxnLimits;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Old versions go after the retention, on every replica; a read below what was kept is refused by name. */
class TxnVersionGcTest {
    private static final long TIMEOUT = TimeUnit.SECONDS.toNanos(20);

    @TempDir
    Path tmp;

    @Test
    void aReadOlderThanTheRetentionIsRefusedAndNewerOnesStillSeeEverything() throws Exception {
        try (TxnTestCluster cluster = new TxnTestCluster(tmp, 3, 2, TxnLimits.DEFAULTS)
                .withVersionRetention(TimeUnit.MILLISECONDS.toNanos(300), TimeUnit.MILLISECONDS.toNanos(100))) {
            cluster.startAll();
            try (TxnClient client = cluster.client()) {
                byte[] key = cluster.keyIn(1, "k");
                long first = put(client, key, "v1");
                long second = put(client, key, "v2");
                for (int replica = 1; replica <= 3; replica++) {
                    int r = replica;
                    // until that replica's GC passed the first version: then the read below the watermark is refused
                    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
                        try {
                            client.get(key, TxnClient.Bound.exactTimestamp(first), r, TIMEOUT);
                            throw new AssertionError("replica " + r + " still serves the version at " + first);
                        } catch (StatusRuntimeException e) {
                            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                            assertThat(e.getStatus().getDescription()).contains("older than the version retention");
                        }
                    });
                    // the newest version at or below the watermark stays (even once the watermark passed it too):
                    // a read at or above the watermark still sees it
                    TxnClient.Snapshot now = client.get(key, TxnClient.Bound.strong(), r, TIMEOUT);
                    assertThat(now.valueOrNull()).as("replica %d", r).isEqualTo("v2".getBytes(StandardCharsets.UTF_8));
                    assertThat(now.readTimestamp()).isGreaterThan(second);
                }
            }
        }
    }

    private static long put(TxnClient client, byte[] key, String value) {
        return client.readWrite(txn -> {
            txn.put(key, value.getBytes(StandardCharsets.UTF_8));
            return null;
        }, TIMEOUT).commitTimestamp();
    }
}
