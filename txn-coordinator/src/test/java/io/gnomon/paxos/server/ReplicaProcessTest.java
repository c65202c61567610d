package io.gnomon.paxos.server;

import io.gnomon.paxos.ChildJvm;
import io.gnomon.paxos.grpc.AppendReply;
import io.gnomon.paxos.grpc.Outcome;
import io.gnomon.paxos.grpc.StatusReply;
import org.junit.jupiter.api.AfterEach;
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
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Three replicas as separate JVM processes on loopback (bin/replica's main class): clients write through the
 * leader, the leader is killed with SIGKILL mid-load, a new leader serves within 3 lease lengths, and after all
 * three are killed and restarted every acknowledged write is there, in the order it was acknowledged.
 */
class ReplicaProcessTest {
    private static final long LEASE_MILLIS = 2000;
    private static final int WRITERS = 4;
    private static final Duration T = Duration.ofSeconds(30);

    @TempDir
    Path tmp;

    private final Map<Integer, Process> processes = new TreeMap<>();
    private final Map<Integer, Integer> ports = new TreeMap<>();
    private ReplicaClient client;

    @AfterEach
    void tearDown() {
        if (client != null) {
            client.close();
        }
        processes.values().forEach(Process::destroyForcibly);
        for (Process p : processes.values()) {
            try {
                p.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void start(int id) throws IOException {
        List<String> cmd = ChildJvm.command(ReplicaMain.class, "-Xmx256m");
        cmd.addAll(List.of("--id", String.valueOf(id), "--data-dir", tmp.resolve("r" + id).toString(),
                "--truetime", "system:1ms", "--lease-ms", String.valueOf(LEASE_MILLIS),
                "--ready-file", tmp.resolve("ready" + id).toString()));
        ports.forEach((m, port) -> cmd.addAll(List.of("--member", m + "=127.0.0.1:" + port)));
        Files.deleteIfExists(tmp.resolve("ready" + id));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(tmp.resolve("r" + id + ".log").toFile())).start();
        processes.put(id, p);
    }

    private void awaitReady(int id) {
        await().atMost(T).pollInterval(Duration.ofMillis(20)).until(() -> {
            if (!processes.get(id).isAlive()) {
                throw new AssertionError("replica " + id + " exited: " + log(id));
            }
            return Files.exists(tmp.resolve("ready" + id));
        });
    }

    private String log(int id) {
        try {
            return Files.readString(tmp.resolve("r" + id + ".log"));
        } catch (IOException e) {
            return e.toString();
        }
    }

    private void kill9(int id) throws InterruptedException {
        Process p = processes.remove(id);
        p.destroyForcibly(); // SIGKILL on Linux
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
    }

    private Optional<Integer> leaseHolder() {
        return client.leaseHolder(Duration.ofMillis(500));
    }

    @Test
    void killNineTheLeaderThenRestartAllAndFindEveryAcknowledgedWrite() throws Exception {
        for (int id = 1; id <= 3; id++) {
            ports.put(id, LocalCluster.freePort());
        }
        for (int id = 1; id <= 3; id++) {
            start(id);
        }
        for (int id = 1; id <= 3; id++) {
            awaitReady(id);
        }
        Map<Integer, String> targets = new TreeMap<>();
        ports.forEach((id, port) -> targets.put(id, "127.0.0.1:" + port));
        client = new ReplicaClient(targets);
        await().atMost(T).pollInterval(Duration.ofMillis(20)).until(() -> leaseHolder().isPresent());

        // Writers: each appends 1, 2, 3, ... to its own key, one at a time, and remembers what was acknowledged.
        Map<Integer, List<Long>> acked = new ConcurrentHashMap<>();
        List<String> unexpected = new CopyOnWriteArrayList<>();
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> writers = new ArrayList<>();
        for (int w = 0; w < WRITERS; w++) {
            int writer = w;
            acked.put(w, new CopyOnWriteArrayList<>());
            Thread t = new Thread(() -> {
                long next = 1;
                while (!stop.get()) {
                    AppendReply r = client.append(ListAppend.encodeTxn(List.of(ListAppend.Op.append("w" + writer, next))),
                            Duration.ofSeconds(5));
                    if (r.getOutcome() == Outcome.APPLIED) {
                        acked.get(writer).add(next);
                    } else if (r.getOutcome() != Outcome.NOT_APPENDED && r.getOutcome() != Outcome.UNKNOWN) {
                        unexpected.add(r.toString());
                    }
                    next++; // an UNKNOWN value may or may not be in the list; never reuse it
                }
            }, "writer-" + w);
            t.start();
            writers.add(t);
        }
        await().atMost(T).until(() -> acked.values().stream().mapToInt(List::size).sum() >= 200);

        int oldLeader = leaseHolder().orElseThrow();
        int ackedBeforeKill = acked.values().stream().mapToInt(List::size).sum();
        long killedAt = System.nanoTime();
        kill9(oldLeader);
        await().atMost(T).pollInterval(Duration.ofMillis(10))
                .until(() -> leaseHolder().filter(id -> id != oldLeader).isPresent());
        long failoverMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);
        System.out.printf("failover: replica %d killed, replica %d serving lease reads after %d ms (lease %d ms)%n",
                oldLeader, leaseHolder().orElse(-1), failoverMillis, LEASE_MILLIS);
        assertThat(failoverMillis).as("new leader within 3 lease lengths").isLessThanOrEqualTo(3 * LEASE_MILLIS);

        await().atMost(T).until(() -> acked.values().stream().mapToInt(List::size).sum() >= ackedBeforeKill + 200);
        stop.set(true);
        for (Thread t : writers) {
            t.join(TimeUnit.SECONDS.toMillis(30));
        }
        assertThat(unexpected).isEmpty();

        // Kill the survivors too, restart all three from their logs.
        for (int id : List.copyOf(processes.keySet())) {
            kill9(id);
        }
        for (int id = 1; id <= 3; id++) {
            start(id);
        }
        for (int id = 1; id <= 3; id++) {
            awaitReady(id);
        }
        await().atMost(T).pollInterval(Duration.ofMillis(20)).until(() -> leaseHolder().isPresent());
        int total = 0;
        for (int w = 0; w < WRITERS; w++) {
            List<Long> list = ListAppend.decodeList(client.read(("w" + w).getBytes(StandardCharsets.UTF_8), T)
                    .orElseThrow().getResult().toByteArray());
            assertThat(list).as("writer " + w + ": every acknowledged value").containsAll(acked.get(w));
            assertThat(list).as("writer " + w + ": in the order written, once each").isSorted().doesNotHaveDuplicates();
            total += acked.get(w).size();
        }
        System.out.printf("restart of all: %d acknowledged writes present%n", total);
        for (StatusReply s : client.statuses(T)) {
            assertThat(s.getAppliedIndex()).isGreaterThanOrEqualTo(total);
        }
    }
}
