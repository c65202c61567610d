package io.gnomon.paxos.server;

import io.gnomon.paxos.ChildJvm;
import io.gnomon.paxos.grpc.AppendReply;
import io.gnomon.paxos.grpc.Outcome;
import io.gnomon.paxos.grpc.StatusReply;
import io.gnomon.paxos.runtime.StateMachine;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Three replicas as separate JVM processes on loopback (bin/replica's main class): clients write through the
 * leader, the leader is killed with SIGKILL mid-load, another replica then serves lease reads, and after all
 * three are killed and restarted every acknowledged write is there, in the order it was acknowledged.
 *
 * <p>How fast failover is, is a measurement, not a test: {@code bin/bench-failover} (docs/benchmarks.md). Here
 * it only has to happen, within a wait that a loaded machine cannot exhaust.
 */
class ReplicaProcessTest {
    private static final long LEASE_MILLIS = 2000;
    private static final int WRITERS = 4;
    private static final int COMPACT_EVERY = 64;
    private static final Duration T = Duration.ofSeconds(30);
    /** Failover must happen; this bound only stops a test that would otherwise wait forever. */
    private static final Duration FAILOVER_LIMIT = Duration.ofMinutes(3);

    @TempDir
    Path tmp;

    private ReplicaProcesses group;
    private ReplicaClient client;

    @AfterEach
    void tearDown() {
        if (client != null) {
            client.close();
        }
        if (group != null) {
            group.close();
        }
    }

    private Optional<Integer> leaseHolder() {
        return client.leaseHolder(Duration.ofMillis(500));
    }

    private static int total(Map<Integer, List<Long>> acked) {
        return acked.values().stream().mapToInt(List::size).sum();
    }

    @Test
    void aNegativeControlIsRefusedOnTheProductClasspath() throws Exception {
        String productClasspath = java.nio.file.Path.of("target", "classes").toAbsolutePath() + java.io.File.pathSeparator
                + java.nio.file.Files.readString(java.nio.file.Path.of("target", "classpath.txt")).trim();
        group = new ReplicaProcesses(tmp, 1, productClasspath,
                List.of("--truetime", "system:1ms", "--negative-control", "skip-lease-wait"));
        group.start(1);
        assertThatThrownBy(() -> group.awaitReady(1, T)).hasMessageContaining("exited before serving")
                .hasMessageContaining("replica: negative control SKIP_LEASE_WAIT is test-only: "
                        + NegativeControl.TEST_ONLY_CLASS + " is not on this classpath");
    }

    /**
     * On the process log (the default) and on a Chronicle log per group; machines on the RocksDB store (the
     * default) and in memory. On the store the log is compacted every {@link #COMPACT_EVERY} entries, so a restart
     * finds its machine at what it last flushed and replays only the log above it. In memory it is never compacted:
     * a machine in memory keeps nothing across a restart, and the snapshot in the log is metadata only, so once every
     * process restarts after a compaction no copy of the state is left (docs/paxos.md, "State transfer").
     */
    @ParameterizedTest
    @CsvSource({"process,rocks", "chronicle,rocks", "process,memory"})
    void killNineTheLeaderThenRestartAllAndFindEveryAcknowledgedWrite(String log, String store) throws Exception {
        group = new ReplicaProcesses(tmp, 3, ChildJvm.classpath(),
                List.of("--truetime", "system:1ms", "--lease-ms", String.valueOf(LEASE_MILLIS), "--log", log,
                        "--store", store, "--compact-every", store.equals("memory") ? "0" : String.valueOf(COMPACT_EVERY)));
        group.startAll(T);
        client = new ReplicaClient(group.targets());
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
        await().atMost(T).until(() -> total(acked) >= 200);

        int oldLeader = leaseHolder().orElseThrow();
        int ackedBeforeKill = total(acked);
        long killedAt = System.nanoTime();
        group.kill9(oldLeader);
        await("another replica serves lease reads after replica " + oldLeader + " was killed")
                .atMost(FAILOVER_LIMIT).pollInterval(Duration.ofMillis(10))
                .until(() -> leaseHolder().filter(id -> id != oldLeader).isPresent()
                        && client.read("w0".getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(1))
                        .map(r -> r.getServed()).orElse(false));
        System.out.printf("failover: replica %d killed, replica %d serving lease reads after %d ms (lease %d ms; "
                        + "informational: bin/bench-failover measures it)%n", oldLeader, leaseHolder().orElse(-1),
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt), LEASE_MILLIS);

        await().atMost(T).until(() -> total(acked) >= ackedBeforeKill + 200);
        stop.set(true);
        for (Thread t : writers) {
            t.join(TimeUnit.SECONDS.toMillis(30));
        }
        assertThat(unexpected).isEmpty();

        // Kill the survivors too, restart all three from their logs.
        for (int id : group.ids()) {
            group.kill9(id);
        }
        if (store.equals("rocks")) {
            // Each store holds its machine as of its last flush (before a compaction): a restart replays from there.
            for (int id : group.ids()) {
                try (StoredMachines machines = StoredMachines.open(group.dir(id).resolve("log"));
                     StateMachine m = machines.listAppend(ReplicaServer.GROUP)) {
                    assertThat(m.appliedIndex()).as("replica %d's machine on its store after SIGKILL", id)
                            .isGreaterThanOrEqualTo(COMPACT_EVERY);
                }
            }
        }
        group.startAll(T);
        await().atMost(T).pollInterval(Duration.ofMillis(20)).until(() -> leaseHolder().isPresent());
        for (int w = 0; w < WRITERS; w++) {
            List<Long> list = ListAppend.decodeList(client.read(("w" + w).getBytes(StandardCharsets.UTF_8), T)
                    .orElseThrow().getResult().toByteArray());
            assertThat(list).as("writer " + w + ": every acknowledged value").containsAll(acked.get(w));
            assertThat(list).as("writer " + w + ": in the order written, once each").isSorted().doesNotHaveDuplicates();
        }
        System.out.printf("restart of all: %d acknowledged writes present%n", total(acked));
        // Followers catch up too: every replica ends up having applied at least every acknowledged entry.
        await().atMost(T).until(() -> {
            List<StatusReply> all = client.statuses(Duration.ofSeconds(1));
            return all.size() == 3 && all.stream().allMatch(s -> s.getAppliedIndex() >= total(acked));
        });
    }
}
