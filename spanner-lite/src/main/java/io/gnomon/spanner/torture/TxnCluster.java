package io.gnomon.spanner.torture;

import io.gnomon.paxos.cluster.ClusterSpec;
import io.gnomon.paxos.cluster.GroupSpec;
import io.gnomon.paxos.cluster.Key;
import io.gnomon.paxos.server.ListAppend;
import io.gnomon.spanner.history.MicroOp;
import io.gnomon.spanner.history.ReadMode;
import io.gnomon.txn.server.TxnClient;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The list-append workload as transactions (issue 20) on replica processes of the transaction machine ({@code
 * bin/replica --machine txn}, every process hosting every group), through {@link TxnClient}: each list is a value
 * (its encoding, {@link ListAppend#encodeList}) under its key; an append is a locking read and a put of the longer
 * list, a read a locking read, all in one read-write transaction whose keys span groups (the workload picks them over
 * the whole key space, each key in group {@code k % groups + 1} by the harness's map, placed in that group's range).
 * A transaction of reads only is either that (locking reads, committed with no writes at a timestamp) or, half
 * the time, a read-only transaction: snapshot reads at a random bound ({@link #randomBound}) at a random replica (a follower as often as
 * the leader). Commit and read timestamps go into the history for the checker's timestamp rules. Faults are
 * {@link ReplicaCluster}'s, plus {@link FaultKind#KILL_COORDINATOR}.
 */
final class TxnCluster implements Cluster {
    /** The group whose leader the faults aim at, and which coordinates the transactions whose first write is in it. */
    static final long COORDINATOR_GROUP = ReplicaCluster.VICTIM_GROUP;
    /** How long {@link FaultKind#KILL_COORDINATOR} waits for a commit to be in flight before it kills anyway. */
    static final Duration MID_COMMIT_WAIT = Duration.ofSeconds(5);
    /**
     * How fast one replica's TrueTime reads under the skip-commit-wait negative control (its interval widened by as
     * much, so the clock stays truthful, ε 41 ms: below the 50 ms ceiling of {@code TxnLimits}). Its commit
     * timestamps are then up to twice this ahead of true time, the window in which a read or commit at a replica with
     * a true clock takes a smaller timestamp: far above loopback's replication time, and wide enough that a loaded
     * machine's scheduling delays (tens of ms) do not close it. The simulator's control, with no such delays, steps
     * 20 ms.
     */
    static final long FAST_CLOCK_NANOS = TimeUnit.MILLISECONDS.toNanos(40);
    /** The oldest a random stale bound reaches back. */
    static final long MAX_STALENESS_NANOS = TimeUnit.MILLISECONDS.toNanos(300);
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(1);
    private static final byte[] PROBE_SUFFIX = "torture-probe".getBytes(StandardCharsets.UTF_8);

    private final ReplicaCluster processes;
    private final ClusterSpec spec;
    private final TxnClient client;
    private final int groups;
    private final Duration opTimeout;
    /** The newest commit timestamp a client saw: exact-timestamp and minimum-timestamp bounds are drawn near it. */
    private final AtomicLong newestCommitTs = new AtomicLong();
    /** Commits in flight that {@link #COORDINATOR_GROUP} coordinates across groups (the body done, no outcome yet). */
    private final AtomicInteger coordinatedCommits = new AtomicInteger();
    private final AtomicLong probeValue = new AtomicLong();
    private final ExecutorService probes;
    private int coordinatorKills;
    private int coordinatorKillsMidCommit;
    private final String controlCondition;
    /** The replicas' negative control, or null. */
    private final String negativeControl;

    /**
     * Starts the replicas and, under a negative control ({@link NegativeControls#TXN}), sets up its condition for the
     * whole run: a fault schedule's heal of the same kind (a clock fault's, a lossy network's) ends it early.
     *
     * @param negativeControl {@code skip-commit-wait}, {@code skip-safe-time} (each replica started with it), or null
     */
    TxnCluster(Path root, int replicas, String classpath, long leaseMillis, long electionMillis, Duration opTimeout,
               long faultHoldMillis, int groups, String negativeControl) throws IOException {
        this.processes = new ReplicaCluster(root, replicas, classpath, leaseMillis, electionMillis, negativeControl,
                opTimeout, faultHoldMillis, groups, List.of("--machine", "txn"));
        this.spec = processes.clusterSpec();
        this.negativeControl = negativeControl;
        this.groups = groups;
        this.opTimeout = opTimeout;
        this.client = TxnClient.connect(spec, null);
        this.probes = Executors.newFixedThreadPool(groups, r -> {
            Thread t = new Thread(r, "torture-probe");
            t.setDaemon(true);
            return t;
        });
        try {
            this.controlCondition = controlCondition(negativeControl);
        } catch (Exception e) {
            close();
            throw new IOException("negative control " + negativeControl + ": cannot set up its condition: " + e, e);
        }
    }

    /** What the negative control's condition is (logged by the harness), or null without a control. */
    String controlCondition() {
        return controlCondition;
    }

    private String controlCondition(String negativeControl) throws Exception {
        if (negativeControl == null) {
            return null;
        }
        if (negativeControl.equals(NegativeControls.SKIP_COMMIT_WAIT)) {
            int fast = processes.leader();
            processes.stepClock(fast, FAST_CLOCK_NANOS);
            return "replica " + fast + " (leader of group " + COORDINATOR_GROUP + ") reads "
                    + FAST_CLOCK_NANOS / 1_000_000 + " ms fast within its TrueTime interval";
        }
        if (negativeControl.equals(NegativeControls.SKIP_SAFE_TIME)) {
            return processes.inject(FaultKind.LOSSY_NETWORK, new SplittableRandom(0)).description()
                    + " for the whole run";
        }
        throw new IllegalArgumentException("--negative-control " + negativeControl + ": use "
                + String.join(" or ", NegativeControls.TXN));
    }

    @Override
    public String name() {
        return "txn";
    }

    TxnClient client() {
        return client;
    }

    List<Integer> processIds() {
        return processes.ids();
    }

    int groups() {
        return groups;
    }

    /** A key inside group {@code group}'s range: the range's start (a zero byte for the first) and {@code suffix}. */
    byte[] keyIn(long group, String suffix) {
        return keyIn(group, suffix.getBytes(StandardCharsets.UTF_8));
    }

    private byte[] keyIn(long group, byte[] suffix) {
        byte[] start = null;
        for (GroupSpec g : spec.groups()) {
            if (g.id() == group) {
                start = g.range().start().bytes();
            }
        }
        if (start == null) {
            throw new IllegalArgumentException("group " + group + " is not in the cluster");
        }
        if (start.length == 0) {
            start = new byte[]{0}; // the first range starts at the empty key; any suffix after a zero byte is inside
        }
        byte[] k = new byte[start.length + suffix.length];
        System.arraycopy(start, 0, k, 0, start.length);
        System.arraycopy(suffix, 0, k, start.length, suffix.length);
        assert spec.groupFor(k).id() == group : "key of group " + group + " routed to " + spec.groupFor(k).id();
        return k;
    }

    /** The stored key of a workload key ({@code k<index>}), in its group by the harness's map. */
    byte[] storedKey(String key) {
        return keyIn(TxnGenerator.groupOf(key, groups), key);
    }

    /** Tells the kill-coordinator fault that a commit coordinated by {@link #COORDINATOR_GROUP} is (no longer) in flight. */
    void coordinatedCommit(boolean starting) {
        if (starting) {
            coordinatedCommits.incrementAndGet();
        } else {
            coordinatedCommits.decrementAndGet();
        }
    }

    /** Learns a commit timestamp a client saw. */
    void sawCommit(long commitTs) {
        newestCommitTs.accumulateAndGet(commitTs, Math::max);
    }

    /**
     * A snapshot read's bound drawn with {@code random}: strong, an exact or maximum staleness up to
     * {@link #MAX_STALENESS_NANOS}, an exact timestamp up to that far below the newest commit seen, or the newest
     * commit seen as the minimum read timestamp.
     */
    TxnClient.Bound randomBound(SplittableRandom random) {
        long newest = newestCommitTs.get();
        int kind = random.nextInt(newest > 0 ? 5 : 3);
        return switch (kind) {
            case 0 -> TxnClient.Bound.strong();
            case 1 -> TxnClient.Bound.exactStaleness(random.nextLong(MAX_STALENESS_NANOS));
            case 2 -> TxnClient.Bound.maxStaleness(1 + random.nextLong(MAX_STALENESS_NANOS));
            case 3 -> TxnClient.Bound.exactTimestamp(newest - random.nextLong(MAX_STALENESS_NANOS));
            default -> TxnClient.Bound.minReadTimestamp(newest);
        };
    }

    /** Where a snapshot read goes: 0 (the group's leader as the client knows it) or a process, each as likely. */
    int randomReplica(SplittableRandom random) {
        return random.nextInt(processes.ids().size() + 1);
    }

    static String describe(TxnClient.Bound b) {
        return b.kind().name().toLowerCase() + (b.kind() == io.gnomon.txn.grpc.SnapshotReadRequest.BoundCase.STRONG
                ? "" : "=" + b.value());
    }

    /**
     * Under a negative control every reads-only transaction is a strong snapshot read at a process chosen at random
     * (so at a follower two times in three), where each bug shows: under skip-commit-wait a follower with a true
     * clock takes its read timestamp below a commit the fast leader has just acknowledged; under skip-safe-time a
     * lagging follower answers at the newest timestamp without the writes it has not applied (an older bound would
     * mostly fall below what it has applied). Otherwise half of them, at a random bound and replica.
     */
    @Override
    public Call plan(List<MicroOp> txn, SplittableRandom random) {
        boolean readsOnly = txn.stream().allMatch(m -> m instanceof MicroOp.Read);
        if (readsOnly && (negativeControl != null || random.nextBoolean())) {
            TxnClient.Bound bound = negativeControl != null ? TxnClient.Bound.strong() : randomBound(random);
            int replica = negativeControl != null ? processes.ids().get(random.nextInt(processes.ids().size()))
                    : randomReplica(random);
            ReadMode mode = bound.kind() == io.gnomon.txn.grpc.SnapshotReadRequest.BoundCase.STRONG ? ReadMode.STRONG
                    : ReadMode.STALE;
            return new Call(mode, () -> CompletableFuture.completedFuture(snapshot(txn, bound, replica)));
        }
        return new Call(ReadMode.STRONG, () -> CompletableFuture.completedFuture(readWrite(txn)));
    }

    @Override
    public CompletableFuture<TxnOutcome> execute(List<MicroOp> txn) {
        return plan(txn, new SplittableRandom(ThreadLocalRandom.current().nextLong())).run().get();
    }

    private TxnOutcome snapshot(List<MicroOp> txn, TxnClient.Bound bound, int replica) {
        Set<String> distinct = new LinkedHashSet<>();
        txn.forEach(m -> distinct.add(m.key()));
        List<byte[]> keys = distinct.stream().map(this::storedKey).toList();
        Map<Key, TxnClient.Snapshot> read;
        try {
            read = client.getAll(keys, bound, replica, opTimeout.toNanos());
        } catch (RuntimeException e) {
            return TxnOutcome.fail(txn, "snapshot read " + describe(bound) + " at replica " + replica + ": " + e);
        }
        long readTs = read.values().iterator().next().readTimestamp();
        List<MicroOp> done = new ArrayList<>(txn.size());
        for (MicroOp m : txn) {
            TxnClient.Snapshot s = read.get(Key.of(storedKey(m.key())));
            assert s.readTimestamp() == readTs : "one read-only transaction, one read timestamp";
            done.add(new MicroOp.Read(m.key(), list(s.valueOrNull())));
        }
        return TxnOutcome.okRead(done, readTs);
    }

    private TxnOutcome readWrite(List<MicroOp> txn) {
        boolean[] bodyDone = {false};
        boolean[] coordinated = {false};
        try {
            TxnClient.Committed<List<MicroOp>> c = client.readWrite(t -> {
                bodyDone[0] = false;
                List<MicroOp> done = new ArrayList<>(txn.size());
                List<Long> writtenGroups = new ArrayList<>();
                for (MicroOp m : txn) {
                    byte[] key = storedKey(m.key());
                    List<Long> list = list(t.get(key));
                    if (m instanceof MicroOp.Append a) {
                        List<Long> longer = new ArrayList<>(list);
                        longer.add(a.value());
                        t.put(key, ListAppend.encodeList(longer));
                        done.add(a);
                        long g = TxnGenerator.groupOf(m.key(), groups);
                        if (!writtenGroups.contains(g)) {
                            writtenGroups.add(g);
                        }
                    } else {
                        done.add(new MicroOp.Read(m.key(), list));
                    }
                }
                bodyDone[0] = true;
                if (!coordinated[0] && writtenGroups.size() > 1 && writtenGroups.get(0) == COORDINATOR_GROUP) {
                    coordinated[0] = true;
                    coordinatedCommit(true);
                }
                return done;
            }, opTimeout.toNanos());
            // reads only commit too (with no writes), at a timestamp like any other read-write transaction
            assert c.commitTimestamp() > 0 : "a transaction that read commits at a timestamp";
            sawCommit(c.commitTimestamp());
            return TxnOutcome.okCommitted(c.value(), c.commitTimestamp());
        } catch (TxnClient.AbortedException e) {
            return TxnOutcome.fail(txn, "aborted: " + e.getMessage());
        } catch (TxnClient.OutcomeUnknownException e) {
            return TxnOutcome.info(txn, "outcome unknown: " + e.getMessage());
        } catch (RuntimeException e) {
            // before the commit was sent nothing can have taken effect; after, it may have
            return bodyDone[0] ? TxnOutcome.info(txn, "commit: " + e) : TxnOutcome.fail(txn, "read: " + e);
        } finally {
            if (coordinated[0]) {
                coordinatedCommit(false);
            }
        }
    }

    static List<Long> list(byte[] valueOrNull) {
        return valueOrNull == null ? List.of() : ListAppend.decodeList(valueOrNull);
    }

    @Override
    public Optional<List<Long>> finalRead(String key, Duration timeout) {
        try {
            return Optional.of(list(client.get(storedKey(key), TxnClient.Bound.strong(), 0, timeout.toNanos())
                    .valueOrNull()));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * A read-write transaction over every one of {@code keys}: a locking read of each, and its value put back
     * unchanged. It commits only if no lock on any of them is still held (by a transaction left in doubt, say).
     * Returns null when it committed, else why not.
     */
    String transactionOverEveryKey(List<byte[]> keys, Duration timeout) {
        try {
            client.readWrite(t -> {
                for (byte[] k : keys) {
                    byte[] v = t.get(k);
                    if (v != null) {
                        t.put(k, v);
                    }
                }
                return null;
            }, timeout.toNanos());
            return null;
        } catch (RuntimeException e) {
            return e.toString();
        }
    }

    @Override
    public Set<FaultKind> supportedFaults() {
        return EnumSet.allOf(FaultKind.class);
    }

    @Override
    public Injected inject(FaultKind kind, SplittableRandom random) throws Exception {
        if (kind != FaultKind.KILL_COORDINATOR) {
            return processes.inject(kind, random);
        }
        int leader = processes.leader();
        Optional<Integer> inFlight = Polling.await(() -> {
            int n = coordinatedCommits.get();
            return n > 0 ? Optional.of(n) : Optional.empty();
        }, MID_COMMIT_WAIT, 1);
        Injected kill = processes.kill(leader, "coordinator leader");
        coordinatorKills++;
        inFlight.ifPresent(n -> coordinatorKillsMidCommit++);
        return new Injected("SIGKILL leader " + leader + " of coordinator group " + COORDINATOR_GROUP + " "
                + inFlight.map(n -> "with " + n + " cross-group commits it coordinates in flight")
                .orElse("(no commit it coordinates in flight within " + MID_COMMIT_WAIT.toSeconds() + " s)"), kill.heal());
    }

    /** Kill-coordinator faults injected, and how many of them came while a commit the group coordinates was in flight. */
    int[] coordinatorKills() {
        return new int[]{coordinatorKills, coordinatorKillsMidCommit};
    }

    /**
     * Serving again means every group commits: a read-write transaction putting a probe key in the group (one
     * group, no two-phase commit), all groups at once; a group that committed stays counted.
     */
    @Override
    public Optional<Duration> awaitRecovery(Duration timeout) throws InterruptedException {
        long start = System.nanoTime();
        Set<Long> waiting = new TreeSet<>();
        for (long g = 1; g <= groups; g++) {
            waiting.add(g);
        }
        return Polling.await(() -> {
            Map<Long, Future<Boolean>> tries = new TreeMap<>();
            waiting.forEach(g -> tries.put(g, probes.submit(() -> probe(g))));
            for (Map.Entry<Long, Future<Boolean>> e : tries.entrySet()) {
                if (e.getValue().get()) {
                    waiting.remove(e.getKey());
                }
            }
            return waiting.isEmpty() ? Optional.of(Duration.ofNanos(System.nanoTime() - start)) : Optional.empty();
        }, timeout, 20);
    }

    private boolean probe(long group) {
        byte[] key = keyIn(group, PROBE_SUFFIX);
        byte[] value = ByteBuffer.allocate(Long.BYTES).putLong(probeValue.incrementAndGet()).array();
        try {
            client.readWrite(t -> {
                t.put(key, value);
                return null;
            }, PROBE_TIMEOUT.toNanos());
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    @Override
    public void close() {
        probes.shutdownNow();
        client.close();
        processes.close();
    }
}
