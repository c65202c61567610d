package io.gnomon.txn.server;

import io.gnomon.paxos.server.ReplicaProcesses;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code bin/replica --machine txn} processes (ReplicaMain in child JVMs): transfers across groups go on while a
 * process is killed with SIGKILL in the middle of them and restarted; afterwards the total is unchanged on every
 * replica, no transaction is left holding locks (one more transaction over every account commits), and each process
 * serves its metrics.
 */
class TxnProcessTest {
    private static final long TIMEOUT = TimeUnit.SECONDS.toNanos(30);

    @TempDir
    Path tmp;

    @Test
    void transfersSurviveAKillNineOfALeaderAndTheTotalHolds() throws Exception {
        int[] metricsPorts = {0, ReplicaProcesses.freePort(), ReplicaProcesses.freePort(), ReplicaProcesses.freePort()};
        try (ReplicaProcesses procs = ReplicaProcesses.ofThisClasspath(tmp, 3, List.of("--machine", "txn",
                "--truetime", "system:1ms", "--lease-ms", "1000", "--election-timeout-ms", "300",
                "--heartbeat-ms", "100"))) {
            procs.withCluster(4, 3);
            for (int id = 1; id <= 3; id++) {
                procs.start(id, withMetrics(procs, metricsPorts[id]));
            }
            for (int id = 1; id <= 3; id++) {
                procs.awaitReady(id, Duration.ofSeconds(60));
            }
            try (TxnClient client = TxnClient.connect(procs.cluster(), null)) {
                List<byte[]> accounts = new ArrayList<>();
                for (int g = 0; g < 4; g++) {
                    byte[] start = procs.cluster().groups().get(g).range().start().bytes();
                    byte[] k = new byte[start.length + 2];
                    System.arraycopy(start, 0, k, 0, start.length);
                    k[start.length] = 'a';
                    k[start.length + 1] = (byte) g;
                    accounts.add(k);
                }
                client.readWrite(txn -> {
                    accounts.forEach(k -> txn.put(k, encode(100)));
                    return null;
                }, TIMEOUT);
                AtomicBoolean stop = new AtomicBoolean();
                java.util.concurrent.atomic.AtomicInteger commits = new java.util.concurrent.atomic.AtomicInteger();
                ExecutorService pool = Executors.newFixedThreadPool(3);
                List<Future<Integer>> workers = new ArrayList<>();
                for (int w = 0; w < 3; w++) {
                    int seed = w;
                    workers.add(pool.submit(() -> {
                        java.util.Random random = new java.util.Random(seed);
                        int done = 0;
                        while (!stop.get()) {
                            byte[] from = accounts.get(random.nextInt(4));
                            byte[] to = accounts.get((accounts.indexOf(from) + 1 + random.nextInt(3)) % 4); // never from
                            try {
                                client.readWrite(txn -> {
                                    long f = decode(txn.get(from));
                                    long t = decode(txn.get(to));
                                    txn.put(from, encode(f - 1));
                                    txn.put(to, encode(t + 1));
                                    return null;
                                }, TimeUnit.SECONDS.toNanos(5));
                                done++;
                                commits.incrementAndGet();
                            } catch (RuntimeException e) {
                                // a transaction caught by the kill: aborted, or its outcome unknown; the total holds
                            }
                        }
                        return done;
                    }));
                }
                awaitCommits(commits, 10);
                procs.kill9(1); // it leads some groups (leaders spread): their coordinators die mid-commit
                procs.start(1, withMetrics(procs, metricsPorts[1]));
                procs.awaitReady(1, Duration.ofSeconds(60));
                awaitCommits(commits, commits.get() + 10); // transfers go on over the restarted process
                stop.set(true);
                int committed = 0;
                for (Future<Integer> f : workers) {
                    committed += f.get(2, TimeUnit.MINUTES);
                }
                pool.shutdown();
                assertThat(committed).isPositive();
                // no lock is left held: one transaction over every account commits, and it sees the total
                long total = client.readWrite(txn -> accounts.stream().mapToLong(k -> decode(txn.get(k))).sum(),
                        TIMEOUT).value();
                assertThat(total).isEqualTo(400);
                for (int replica = 1; replica <= 3; replica++) {
                    assertThat(client.getAll(accounts, TxnClient.Bound.strong(), replica, TIMEOUT).values().stream()
                            .mapToLong(s -> decode(s.valueOrNull())).sum()).as("replica %d", replica).isEqualTo(400);
                }
            }
            for (int id = 1; id <= 3; id++) {
                String body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                                URI.create("http://127.0.0.1:" + metricsPorts[id] + "/metrics")).build(),
                        HttpResponse.BodyHandlers.ofString()).body();
                assertThat(body).contains("gnomon_txn_commit_seconds_count").contains("gnomon_txn_safe_time_lag_seconds");
            }
        }
    }

    private static List<String> withMetrics(ReplicaProcesses procs, int port) {
        return List.of("--machine", "txn", "--truetime", "system:1ms", "--lease-ms", "1000",
                "--election-timeout-ms", "300", "--heartbeat-ms", "100", "--metrics-address", "127.0.0.1:" + port);
    }

    /** Until the workers committed {@code n} transfers between them. */
    private static void awaitCommits(java.util.concurrent.atomic.AtomicInteger commits, int n) {
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(50))
                .until(() -> commits.get() >= n);
    }

    private static byte[] encode(long v) {
        return ByteBuffer.allocate(8).putLong(v).array();
    }

    private static long decode(byte[] b) {
        return b == null ? 0 : ByteBuffer.wrap(b).getLong();
    }
}
