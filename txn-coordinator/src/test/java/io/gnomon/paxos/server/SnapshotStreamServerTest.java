package io.gnomon.paxos.server;

import io.gnomon.paxos.grpc.AppendReply;
import io.gnomon.paxos.grpc.Outcome;
import io.gnomon.paxos.grpc.StatusReply;
import io.gnomon.paxos.runtime.GroupHost;
import io.gnomon.paxos.runtime.StateMachine;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Real ReplicaServers over gRPC on loopback: a replica whose machine lacks the state below the compacted log fetches
 * it from a peer in chunks (docs/paxos.md, "State machines and snapshots"), through a leader change mid-stream and
 * after its own restart with an in-memory machine.
 */
class SnapshotStreamServerTest {
    private static final Duration T = Duration.ofSeconds(20);
    /** Keys of about 200 bytes: 1024 appends to distinct keys per command make commands of about 215 KB. */
    private static final String PAD = "p".repeat(190);
    private static final int BIG_COMMANDS = 8;

    @TempDir
    Path tmp;

    private LocalCluster cluster;
    private ReplicaClient client;
    private final Map<Integer, Observed> observed = new ConcurrentHashMap<>();
    private final Map<String, List<Long>> acked = new TreeMap<>();

    @AfterEach
    void tearDown() {
        observed.values().forEach(o -> o.release.countDown());
        if (client != null) {
            client.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    /**
     * The real machine, with what the test watches: the chunks it installs; at chunk {@code holdAt} its install
     * waits (the replica's loop with it) until the test releases it, so the test acts mid-stream.
     */
    static final class Observed implements StateMachine {
        final StateMachine inner;
        final AtomicInteger chunks = new AtomicInteger();
        final AtomicInteger installs = new AtomicInteger();
        final AtomicInteger finished = new AtomicInteger();
        final CountDownLatch release = new CountDownLatch(1);
        volatile int holdAt = -1;

        Observed(StateMachine inner) {
            this.inner = inner;
        }

        @Override
        public String validate(byte[] command) {
            return inner.validate(command);
        }

        @Override
        public byte[] apply(long slot, byte[] command) {
            return inner.apply(slot, command);
        }

        @Override
        public byte[] query(byte[] query) {
            return inner.query(query);
        }

        @Override
        public long appliedIndex() {
            return inner.appliedIndex();
        }

        @Override
        public long flush() {
            return inner.flush();
        }

        @Override
        public SnapshotSource openSnapshot(int maxChunkBytes) {
            return inner.openSnapshot(maxChunkBytes);
        }

        @Override
        public SnapshotSink beginInstall(long endIndex) {
            installs.incrementAndGet();
            SnapshotSink sink = inner.beginInstall(endIndex);
            return new SnapshotSink() {
                @Override
                public void add(byte[] chunk) {
                    sink.add(chunk);
                    if (chunks.incrementAndGet() == holdAt) {
                        try {
                            release.await(T.toMillis(), TimeUnit.MILLISECONDS);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                }

                @Override
                public void finish() {
                    sink.finish();
                    finished.incrementAndGet();
                }
            };
        }
    }

    private void startCluster() throws Exception {
        cluster = new LocalCluster(tmp, 3).withMachineWrapper((id, m) -> {
            Observed o = new Observed(m);
            observed.put(id, o);
            return o;
        }); // compacts every 50 applied entries
        cluster.startAll();
        client = new ReplicaClient(cluster.targets());
    }

    private int awaitLeaseHolder() {
        awaitOrDescribe(() -> client.leaseHolder(Duration.ofSeconds(1)).isPresent(), "one lease holder");
        return client.leaseHolder(Duration.ofSeconds(1)).orElseThrow();
    }

    private void awaitOrDescribe(java.util.concurrent.Callable<Boolean> done, String what) {
        try {
            await().atMost(T).pollInterval(Duration.ofMillis(20)).until(done);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError("not within " + T + ": " + what + "; replicas: " + client.statuses(T), e);
        }
    }

    private void append(List<ListAppend.Op> ops) {
        ListAppends.appendOnce(client, ops, T); // a leader may step down under load: read, then retry
        for (ListAppend.Op op : ops) {
            acked.computeIfAbsent(op.key(), k -> new ArrayList<>()).add(op.value());
        }
    }

    /**
     * Several megabytes of state (many snapshot chunks of {@link GroupHost.Options#DEFAULT_SNAPSHOT_CHUNK_BYTES}),
     * then enough small entries that the log is compacted past all of it.
     */
    private void writeState(int from) {
        for (int c = 0; c < BIG_COMMANDS; c++) {
            List<ListAppend.Op> ops = new ArrayList<>();
            for (int i = 0; i < ListAppend.MAX_OPS; i++) {
                ops.add(ListAppend.Op.append("big-" + c + "-" + i + "-" + PAD, from + c * 10_000L + i));
            }
            append(ops);
        }
        for (int v = 0; v < 60; v++) {
            append(List.of(ListAppend.Op.append("small-" + v % 5, from + v)));
        }
    }

    private long applied(int id) {
        return client.status(id, Duration.ofSeconds(1)).map(StatusReply::getAppliedIndex).orElse(-1L);
    }

    /** Stops {@code id} and checks its machine holds every acknowledged value of every key, in order. */
    private void stopAndCheckState(int id) {
        cluster.stop(id); // its loop has ended: its machine may be read here
        ListAppendMachine m = cluster.machines.get(id);
        acked.forEach((key, values) -> assertThat(ListAppend.decodeList(m.query(key.getBytes(StandardCharsets.UTF_8))))
                .as("replica " + id + ": " + key).containsExactlyElementsOf(values));
    }

    @Test
    void aFollowerBehindTheCompactedLogCatchesUpOverManyChunks() throws Exception {
        startCluster();
        int leader = awaitLeaseHolder();
        int laggard = cluster.members.keySet().stream().filter(id -> id != leader).findFirst().orElseThrow();
        cluster.stop(laggard);
        writeState(0);
        long applied = applied(leader);

        cluster.start(laggard);
        awaitOrDescribe(() -> applied(laggard) >= applied, "replica " + laggard + " catches up to slot " + applied);
        Observed o = observed.get(laggard);
        assertThat(o.finished.get()).as("snapshots installed").isGreaterThanOrEqualTo(1);
        assertThat(o.chunks.get()).as("chunks installed").isGreaterThanOrEqualTo(10);
        stopAndCheckState(laggard);
    }

    @Test
    void aStreamCutByTheLeadersDeathFinishesFromAnotherPeer() throws Exception {
        startCluster();
        int leader = awaitLeaseHolder();
        int laggard = cluster.members.keySet().stream().filter(id -> id != leader).findFirst().orElseThrow();
        int other = cluster.members.keySet().stream().filter(id -> id != leader && id != laggard).findFirst()
                .orElseThrow();
        cluster.stop(laggard);
        writeState(0);

        cluster.start(laggard);
        Observed o = observed.get(laggard);
        o.holdAt = 3;
        awaitOrDescribe(() -> o.chunks.get() >= 3, "replica " + laggard + " installs 3 chunks from the leader");
        cluster.stop(leader); // mid-stream: the laggard's install waits at chunk 3 meanwhile
        o.release.countDown();

        awaitOrDescribe(() -> client.leaseHolder(Duration.ofSeconds(1)).filter(id -> id != leader).isPresent(),
                "a new leader");
        for (int v = 0; v < 5; v++) {
            append(List.of(ListAppend.Op.append("after", v)));
        }
        long applied = applied(other);
        awaitOrDescribe(() -> applied(laggard) >= applied, "replica " + laggard + " catches up to slot " + applied);
        assertThat(o.finished.get()).as("snapshots installed").isGreaterThanOrEqualTo(1);
        assertThat(o.installs.get()).as("streams begun: the one cut, then one from " + other).isGreaterThanOrEqualTo(2);
        stopAndCheckState(laggard);
    }

    @Test
    void anInMemoryMachineRestartedAfterCompactionFetchesItsStateFromAPeer() throws Exception {
        startCluster();
        int leader = awaitLeaseHolder();
        int follower = cluster.members.keySet().stream().filter(id -> id != leader).findFirst().orElseThrow();
        writeState(0);
        long applied = applied(leader);
        awaitOrDescribe(() -> applied(follower) >= applied, "replica " + follower + " applies slot " + applied);

        // Its log was compacted past everything written; the restarted in-memory machine is empty.
        cluster.stop(follower);
        cluster.start(follower);
        awaitOrDescribe(() -> applied(follower) >= applied, "replica " + follower + " fetches its state again");
        assertThat(observed.get(follower).finished.get()).as("snapshots installed").isGreaterThanOrEqualTo(1);

        // It serves from that state: made leader, it reads every acknowledged value.
        cluster.stop(leader);
        awaitOrDescribe(() -> client.leaseHolder(Duration.ofSeconds(1)).filter(id -> id != leader).isPresent(),
                "a new leader");
        append(List.of(ListAppend.Op.append("after", 1)));
        for (String key : List.of("small-0", "after", "big-0-5-" + PAD)) {
            List<Long> read = ListAppend.decodeList(client.read(key.getBytes(StandardCharsets.UTF_8), T).orElseThrow()
                    .getResult().toByteArray());
            assertThat(read).as(key).containsExactlyElementsOf(acked.get(key));
        }
        stopAndCheckState(follower);
    }
}
