package io.gnomon.paxos.bench;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.kv.GetResponse;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** A real 3-member etcd cluster on loopback: writes survive one member's SIGKILL, the member rejoins. */
class EtcdClusterTest {

    private static final long CALL_TIMEOUT_SECONDS = 10;

    @Test
    void majorityKeepsWritingThroughAKilledMemberWhichRejoinsAndCloseLeavesNothing() throws Exception {
        Path dir;
        List<Long> pids;
        try (EtcdCluster etcd = EtcdCluster.start()) {
            dir = etcd.dir();
            pids = etcd.pids();
            assertThat(etcd.size()).isEqualTo(3);
            assertThat(pids).hasSize(3).allSatisfy(pid -> assertThat(alive(pid)).isTrue());

            try (Client client = Client.builder().endpoints(etcd.clientEndpoints().toArray(URI[]::new)).build()) {
                KV kv = client.getKVClient();
                put(kv, "k0", "v0");
                assertThat(get(kv, "k0")).isEqualTo("v0");

                long killed = etcd.pid(0);
                etcd.kill(0);
                assertThat(etcd.isRunning(0)).isFalse();
                assertThat(alive(killed)).isFalse();
                // Two of three still commit; the client's round robin skips the dead endpoint (retrying if needed).
                await().atMost(Duration.ofSeconds(15)).ignoreExceptions().untilAsserted(() -> put(kv, "k1", "v1"));
                assertThat(get(kv, "k1")).isEqualTo("v1");

                etcd.restart(0);
                assertThat(etcd.isRunning(0)).isTrue();
            }
            // The restarted member serves a linearizable read of what was written while it was down.
            try (Client only0 = Client.builder().endpoints(etcd.clientEndpoint(0)).build()) {
                KV kv = only0.getKVClient();
                await().atMost(Duration.ofSeconds(15)).ignoreExceptions()
                        .untilAsserted(() -> assertThat(get(kv, "k1")).isEqualTo("v1"));
                put(kv, "k2", "v2");
            }
            pids = etcd.pids();
            assertThat(Files.exists(etcd.logFile(0))).isTrue();
        }
        assertThat(pids).allSatisfy(pid -> assertThat(alive(pid)).as("etcd pid %d after close", pid).isFalse());
        assertThat(dir).doesNotExist();
    }

    private static void put(KV kv, String key, String value) throws Exception {
        kv.put(bytes(key), bytes(value)).get(CALL_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    private static String get(KV kv, String key) throws Exception {
        GetResponse r = kv.get(bytes(key)).get(CALL_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        assertThat(r.getKvs()).hasSize(1);
        return r.getKvs().get(0).getValue().toString(StandardCharsets.UTF_8);
    }

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    private static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }
}
