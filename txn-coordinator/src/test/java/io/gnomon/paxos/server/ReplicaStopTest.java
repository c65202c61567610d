package io.gnomon.paxos.server;

import io.gnomon.paxos.grpc.AppendReply;
import io.gnomon.paxos.grpc.Outcome;
import io.gnomon.truetime.shm.SegmentWriter;
import io.gnomon.truetime.testing.StopSignals;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * bin/replica stopped as systemd and a terminal stop it: SIGTERM and SIGINT end the process with exit code 0,
 * after the log is closed (a restart finds every acknowledged write), also while it still waits for TrueTime.
 */
class ReplicaStopTest {
    static final Path SCRIPT = Path.of("..", "bin", "replica").toAbsolutePath().normalize();
    private static final Duration T = Duration.ofSeconds(30);
    private static final byte[] KEY = "k".getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path dir;

    private final int port = ReplicaProcesses.freePort();

    private Process start(Path log, String... extra) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(SCRIPT.toString(), "--id", "1", "--member", "1=127.0.0.1:" + port,
                "--data-dir", dir.resolve("log").toString()));
        cmd.addAll(List.of(extra));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    @Test
    void sigtermAndSigintStopWithExitCode0AndTheLogKeepsEveryAcknowledgedWrite() throws Exception {
        List<Long> acknowledged = new ArrayList<>();
        for (String signal : List.of("TERM", "INT")) {
            Path log = dir.resolve(signal + ".log");
            Process replica = start(log, "--truetime", "system:1ms");
            try (ReplicaClient client = new ReplicaClient(Map.of(1, "127.0.0.1:" + port))) {
                await().atMost(T).pollInterval(Duration.ofMillis(20))
                        .until(() -> client.leaseHolder(Duration.ofMillis(500)).isPresent() || !replica.isAlive());
                assertThat(replica.isAlive()).as(() -> read(log)).isTrue();
                for (int i = 0; i < 5; i++) {
                    long value = acknowledged.size() + 1;
                    AppendReply r = client.append(ListAppend.encodeTxn(List.of(ListAppend.Op.append("k", value))), T);
                    assertThat(r.getOutcome()).as(r.toString()).isEqualTo(Outcome.APPLIED);
                    acknowledged.add(value);
                }
                assertThat(ListAppend.decodeList(client.read(KEY, T).orElseThrow().getResult().toByteArray()))
                        .as("every write acknowledged so far, those of the run before too").isEqualTo(acknowledged);
            } finally {
                stop(replica, signal, log);
            }
            assertThat(read(log)).contains("replica 1: stopped; log in " + dir.resolve("log") + " closed");
        }
        Process replica = start(dir.resolve("last.log"), "--truetime", "system:1ms");
        try (ReplicaClient client = new ReplicaClient(Map.of(1, "127.0.0.1:" + port))) {
            await().atMost(T).pollInterval(Duration.ofMillis(20)).until(() -> client.read(KEY, Duration.ofMillis(500))
                    .map(r -> r.getServed()).orElse(false));
            assertThat(ListAppend.decodeList(client.read(KEY, T).orElseThrow().getResult().toByteArray()))
                    .isEqualTo(acknowledged);
        } finally {
            replica.destroyForcibly();
        }
    }

    @Test
    void aStopWhileWaitingForTrueTimeEndsTheWaitWithExitCode0() throws Exception {
        Path segment = dir.resolve("segment");
        try (SegmentWriter never = SegmentWriter.open(segment)) { // a daemon that has published nothing yet
            Path log = dir.resolve("replica.log");
            Process replica = start(log, "--truetime", "shm:" + segment, "--await-clock-ms", "600000");
            try {
                await().atMost(T).until(() -> read(log).contains("waiting up to 600000 ms for TrueTime")
                        || !replica.isAlive());
            } finally {
                stop(replica, "TERM", log);
            }
            assertThat(read(log)).contains("replica 1: stopped while waiting for TrueTime");
            assertThat(dir.resolve("log")).doesNotExist(); // nothing was opened
        }
    }

    private static void stop(Process p, String signal, Path log) throws Exception {
        StopSignals.stopCleanly(p, signal, T, () -> read(log));
    }

    static String read(Path p) {
        try {
            return Files.readString(p, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(unreadable: " + e.getMessage() + ")";
        }
    }
}
