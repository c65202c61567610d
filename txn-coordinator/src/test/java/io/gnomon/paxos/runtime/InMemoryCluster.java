package io.gnomon.paxos.runtime;

import io.gnomon.paxos.Message;
import io.gnomon.paxos.Output;
import io.gnomon.paxos.PaxosConfig;
import io.gnomon.paxos.PaxosLimits;
import io.gnomon.paxos.storage.ChronicleDurableLog;
import io.gnomon.paxos.storage.DurableLog;
import io.gnomon.paxos.storage.LogLimits;
import io.gnomon.paxos.storage.SyncPolicy;
import io.gnomon.truetime.testing.FakeTrueTime;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;

/**
 * Three (or N) ReplicaDrivers over ChronicleDurableLogs in the given directories, an in-memory transport (one
 * FIFO queue the test drains) and one FakeTrueTime plus a fake monotonic clock that move only when the test says.
 */
final class InMemoryCluster implements AutoCloseable {
    static final PaxosLimits PAXOS_LIMITS = PaxosLimits.DEFAULTS;
    static final LogLimits LOG_LIMITS = new LogLimits(PAXOS_LIMITS.maxValueBytes() + 8192, 1024, 16 << 20, 16 << 20);

    final List<Integer> members;
    final Map<Integer, Path> dirs;
    final FakeTrueTime trueTime = new FakeTrueTime(Instant.parse("2026-01-01T00:00:00Z"), Duration.ofMillis(2));
    long monotonicNanos = 1_000_000_000L;
    final ArrayDeque<Message> network = new ArrayDeque<>();
    final Map<Integer, ReplicaDriver> drivers = new LinkedHashMap<>();
    /** Per replica: slot to applied value, as the apply callback saw it. */
    final Map<Integer, TreeMap<Long, String>> applied = new LinkedHashMap<>();
    /** Per replica, in the order the driver handed them over: "apply SLOT" and "snapshot END_INDEX". */
    final Map<Integer, List<String>> events = new LinkedHashMap<>();
    private final UnaryOperator<DurableLog> wrapLog;
    private final Transport outerTransport;

    InMemoryCluster(Map<Integer, Path> dirs, UnaryOperator<DurableLog> wrapLog, UnaryOperator<Transport> wrapTransport) {
        this.dirs = dirs;
        this.members = List.copyOf(dirs.keySet());
        this.wrapLog = wrapLog;
        this.outerTransport = wrapTransport.apply((to, m) -> network.add(m));
    }

    InMemoryCluster(Map<Integer, Path> dirs) {
        this(dirs, l -> l, t -> t);
    }

    /** Opens every log and starts (recovers) every driver. */
    void start() {
        for (int id : members) {
            DurableLog log;
            try {
                log = wrapLog.apply(ChronicleDurableLog.open(dirs.get(id), SyncPolicy.SYNC_EACH_BATCH, LOG_LIMITS));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            DurableStateStore store = new DurableStateStore(log, LOG_LIMITS, PAXOS_LIMITS, members, false);
            TreeMap<Long, String> mine = new TreeMap<>();
            applied.put(id, mine);
            List<String> order = new java.util.ArrayList<>();
            events.put(id, order);
            PaxosConfig config = new PaxosConfig(id, members, Duration.ofMillis(500).toNanos(),
                    Duration.ofMillis(100).toNanos(), Duration.ofMillis(100).toNanos(),
                    PaxosConfig.DEFAULT_LEASE_DURATION_NANOS, PAXOS_LIMITS, 42 + id);
            drivers.put(id, ReplicaDriver.start(config, store, outerTransport, trueTime, () -> monotonicNanos,
                    d -> {
                        order.add("apply " + d.slot());
                        if (!d.entry().isConfig()) {
                            String v = new String(d.entry().value(), java.nio.charset.StandardCharsets.UTF_8);
                            String old = mine.put(d.slot(), v);
                            if (old != null && !old.equals(v)) {
                                throw new AssertionError("replica " + id + " slot " + d.slot() + " applied " + old + " then " + v);
                            }
                        }
                    }, e -> {
                        if (e instanceof Output.Effect.InstallSnapshot s) {
                            order.add("snapshot " + s.snapshot().endIndex());
                        }
                    }));
        }
    }

    /** Closes every driver (and its log) and drops messages in flight, as a whole-group crash would. */
    void stopAll() {
        for (ReplicaDriver d : drivers.values()) {
            d.close();
        }
        drivers.clear();
        network.clear();
    }

    /** Delivers messages until the network is empty, in FIFO order. */
    void drain() {
        int delivered = 0;
        while (!network.isEmpty()) {
            Message m = network.poll();
            ReplicaDriver d = drivers.get(m.to());
            if (d != null) {
                d.onMessage(m);
            }
            if (++delivered > 1_000_000) {
                throw new AssertionError("network does not quiesce");
            }
        }
    }

    /** Advances both clocks by {@code millis}, ticks every replica, and drains. */
    void step(long millis) {
        monotonicNanos += Duration.ofMillis(millis).toNanos();
        trueTime.advance(Duration.ofMillis(millis));
        for (ReplicaDriver d : drivers.values()) {
            d.onTick();
        }
        drain();
    }

    /** Steps in 10 ms increments until {@code done} holds; fails after {@code maxMillis} of fake time. */
    void runUntil(BooleanSupplier done, long maxMillis, String what) {
        for (long t = 0; t <= maxMillis; t += 10) {
            if (done.getAsBoolean()) {
                return;
            }
            step(10);
        }
        throw new AssertionError("not reached within " + maxMillis + " ms of fake time: " + what);
    }

    ReplicaDriver leader() {
        ReplicaDriver found = null;
        for (ReplicaDriver d : drivers.values()) {
            if (d.replica().isLeader()) {
                if (found != null) {
                    return null; // two claim it: not settled yet
                }
                found = d;
            }
        }
        return found;
    }

    ReplicaDriver electLeader() {
        runUntil(() -> leader() != null, 20_000, "a single leader");
        return leader();
    }

    /** Proposes through the current leader (electing one if needed) and runs until every replica applied them. */
    Output proposeAndDecide(List<String> values) {
        ReplicaDriver leader = electLeader();
        Output out = leader.propose(values.stream()
                .map(v -> v.getBytes(java.nio.charset.StandardCharsets.UTF_8)).toList());
        drain();
        runUntil(() -> applied.values().stream().allMatch(a -> a.values().containsAll(values)), 20_000,
                "every replica applies " + values);
        return out;
    }

    @Override
    public void close() {
        stopAll();
    }
}
