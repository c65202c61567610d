package io.gnomon.paxos.bench;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.kv.GetResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** A real 3-member etcd cluster on loopback: writes survive the leader's SIGKILL, the member rejoins. */
class EtcdClusterTest {

    private static final long CALL_TIMEOUT_SECONDS = 10;

    @Test
    void majorityKeepsWritingThroughAKilledLeaderWhichRejoinsAndCloseLeavesNothing() throws Exception {
        Path dir;
        List<Long> pids;
        try (EtcdCluster etcd = EtcdCluster.start()) {
            dir = etcd.dir();
            pids = etcd.pids();
            assertThat(etcd.size()).isEqualTo(3);
            assertThat(pids).hasSize(3).allSatisfy(pid -> assertThat(alive(pid)).isTrue());

            int victim;
            try (Client client = Client.builder().endpoints(etcd.clientEndpoints().toArray(URI[]::new)).build()) {
                KV kv = client.getKVClient();
                put(kv, "k0", "v0");
                assertThat(get(kv, "k0")).isEqualTo("v0");

                // The hardest single kill: the two survivors must elect a new leader before they commit again.
                victim = etcd.leader().orElseThrow();
                long killed = etcd.pid(victim);
                etcd.kill(victim);
                assertThat(etcd.isRunning(victim)).isFalse();
                assertThat(alive(killed)).isFalse();
                // Wait for the survivors' election first: a put proposed meanwhile is held by etcd until its
                // request timeout (about 7 s), which would make this test slow rather than stronger.
                int killedLeader = victim;
                await().atMost(Duration.ofSeconds(10))
                        .untilAsserted(() -> assertThat(etcd.leader()).isPresent().isNotEqualTo(OptionalInt.of(killedLeader)));
                // Two of three still commit; the client's round robin skips the dead endpoint (retrying if needed).
                await().atMost(Duration.ofSeconds(15)).ignoreExceptions().untilAsserted(() -> put(kv, "k1", "v1"));
                assertThat(get(kv, "k1")).isEqualTo("v1");

                etcd.restart(victim);
                assertThat(etcd.isRunning(victim)).isTrue();
            }
            // The restarted member serves a linearizable read of what was written while it was down.
            try (Client rejoined = Client.builder().endpoints(etcd.clientEndpoint(victim)).build()) {
                KV kv = rejoined.getKVClient();
                await().atMost(Duration.ofSeconds(15)).ignoreExceptions()
                        .untilAsserted(() -> assertThat(get(kv, "k1")).isEqualTo("v1"));
                put(kv, "k2", "v2");
            }
            pids = etcd.pids();
            assertThat(Files.exists(etcd.logFile(victim))).isTrue();
        }
        assertThat(pids).allSatisfy(pid -> assertThat(alive(pid)).as("etcd pid %d after close", pid).isFalse());
        assertThat(dir).doesNotExist();
    }

    @Test
    void aPausedFollowerDoesNotStopCommitsAndAStoppedOneRestarts() throws Exception {
        try (EtcdCluster etcd = EtcdCluster.start();
             Client client = Client.builder().endpoints(etcd.clientEndpoints().toArray(URI[]::new)).build()) {
            int follower = (etcd.leader().orElseThrow() + 1) % etcd.size();
            KV kv = client.getKVClient();

            etcd.pause(follower);
            assertThat(etcd.isRunning(follower)).as("a paused process is still there").isTrue();
            // Round robin may pick the frozen member once: that call times out, the next goes elsewhere.
            await().atMost(Duration.ofSeconds(15)).ignoreExceptions().untilAsserted(() -> putWithin(kv, "p", "1", 1));
            etcd.resume(follower);
            etcd.awaitHealthy(follower);

            etcd.stop(follower);
            assertThat(etcd.isRunning(follower)).isFalse();
            await().atMost(Duration.ofSeconds(15)).ignoreExceptions().untilAsserted(() -> putWithin(kv, "p", "2", 1));
            etcd.restart(follower);
            assertThat(etcd.isRunning(follower)).isTrue();
        }
    }

    @Test
    void aMissingBinaryIsNamedWithThePackageToInstall(@TempDir Path dir) {
        assertThatThrownBy(() -> EtcdCluster.builder().binary(dir.resolve("no-etcd").toString()).dir(dir).start())
                .isInstanceOf(IOException.class).hasMessageContaining("apt-get install -y etcd-server");
        assertThat(dir).isEmptyDirectory();
    }

    @Test
    void aMemberThatExitsAtStartupFailsTheStartWithItsLogTail(@TempDir Path dir) {
        assertThatThrownBy(() -> EtcdCluster.builder().extraArg("--no-such-flag").dir(dir).start())
                .isInstanceOf(IOException.class)
                .hasMessageContaining("exited").hasMessageContaining("no-such-flag");
        assertThat(dir).isEmptyDirectory();
    }

    @Test
    void etcdUnsupportedArchUsesGoArchitectureNames() {
        assertThat(EtcdCluster.goArch("amd64")).isEqualTo("amd64");
        assertThat(EtcdCluster.goArch("x86_64")).isEqualTo("amd64");
        assertThat(EtcdCluster.goArch("aarch64")).isEqualTo("arm64");
        assertThat(EtcdCluster.goArch("ppc64le")).isEqualTo("ppc64le");
    }

    private static void putWithin(KV kv, String key, String value, long timeoutSeconds) throws Exception {
        kv.put(bytes(key), bytes(value)).get(timeoutSeconds, TimeUnit.SECONDS);
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
