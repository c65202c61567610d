package io.gnomon.spanner.tools;

import io.gnomon.spanner.check.AnomalyType;
import io.gnomon.spanner.history.HistoryWriter;
import io.gnomon.spanner.history.MicroOp;
import io.gnomon.spanner.history.ReadMode;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.function.UnaryOperator;

/**
 * A seeded simulation of a strictly serializable list-append store, recording its history through
 * {@link HistoryWriter}: concurrent processes invoke transactions in simulated time; each takes effect
 * atomically at one instant between its invocation and completion (a single global order), so every history it
 * records is strictly serializable. Some transactions fail (never applied) and some end {@code info} (applied or
 * not, by a coin flip); at the end, info-bound transactions still in flight are left without a completion.
 * Keys retire after {@code maxAppendsPerKey} appends so that lists stay short, as in Elle's workloads.
 *
 * <p>With {@link Config#timestamps()}, the store also assigns timestamps as Spanner would, from one strictly
 * increasing clock at the instant a transaction takes effect: a read-write transaction's commit timestamp, a strong
 * read-only one's read timestamp. A read-only transaction is stale with {@code stalePercent}: it reads the
 * snapshot at an older timestamp (up to 5 ms back), so it may miss commits that completed before it was invoked,
 * which real time would call a stale read. Some info transactions record their commit timestamp (applied or not).
 *
 * <p>{@link Fault} makes the store misbehave once, halfway through, on keys of its own, so that the checker
 * should find exactly that anomaly class: the checker's tests and {@code gen-history --fault} use it.
 */
public final class SerialStoreSimulation {
    /** A single misbehaviour to inject, named by the anomaly class the checker must report for it. */
    public enum Fault {
        NONE(null), G0(AnomalyType.G0), G1A(AnomalyType.G1A), G1B(AnomalyType.G1B), G1C(AnomalyType.G1C),
        G_SINGLE(AnomalyType.G_SINGLE), G2(AnomalyType.G2), STALE_READ(AnomalyType.G_SINGLE_REALTIME),
        INCOMPATIBLE_ORDER(AnomalyType.INCOMPATIBLE_ORDER), INTERNAL(AnomalyType.INTERNAL);

        private final AnomalyType produces;

        Fault(AnomalyType produces) {
            this.produces = produces;
        }

        /** The anomaly class the checker reports for this fault, or null for {@link #NONE}. */
        public AnomalyType produces() {
            return produces;
        }

        /** The command-line name: the checker's label of the class it produces ({@code G1a}), or {@code none}. */
        public String cliName() {
            return produces == null ? "none" : produces.label();
        }

        /**
         * The fault named {@code name}: its {@link #cliName()} or, as before, its constant's name ({@code G1A},
         * {@code STALE_READ}), in any case.
         */
        public static Fault named(String name) {
            for (Fault f : values()) {
                if (f.cliName().equalsIgnoreCase(name) || f.name().equalsIgnoreCase(name)) {
                    return f;
                }
            }
            throw new IllegalArgumentException("unknown fault '" + name + "': use one of " + cliNames());
        }

        /** Every fault's {@link #cliName()}, comma-separated, in declaration order. */
        public static String cliNames() {
            StringBuilder b = new StringBuilder();
            for (Fault f : values()) {
                b.append(b.length() == 0 ? "" : ", ").append(f.cliName());
            }
            return b.toString();
        }
    }

    /**
     * @param seed             the run's seed; the same configuration and seed record the same history
     * @param txns             transactions to invoke (the fault's own few come on top)
     * @param processes        concurrent clients
     * @param activeKeys       keys in use at a time
     * @param maxAppendsPerKey appends after which a key is replaced by a fresh one
     * @param maxMicroOps      micro-ops per transaction, at most
     * @param failPercent      transactions that fail (not applied), in percent
     * @param infoPercent      transactions that end info (applied or not), in percent
     * @param fault            the misbehaviour to inject, or {@link Fault#NONE}
     * @param timestamps       whether to record commit and read timestamps and read modes
     * @param stalePercent     read-only transactions that read at an older timestamp, in percent (with timestamps)
     */
    public record Config(long seed, int txns, int processes, int activeKeys, int maxAppendsPerKey, int maxMicroOps,
                         int failPercent, int infoPercent, Fault fault, boolean timestamps, int stalePercent) {
        public Config {
            if (txns < 0 || processes < 1 || activeKeys < 1 || maxAppendsPerKey < 1 || maxMicroOps < 1
                    || failPercent < 0 || infoPercent < 0 || failPercent + infoPercent > 100 || stalePercent < 0
                    || stalePercent > 100) {
                throw new IllegalArgumentException("bad simulation config: " + this);
            }
        }

        /** A configuration that records no timestamps, as histories were before they had any. */
        public Config(long seed, int txns, int processes, int activeKeys, int maxAppendsPerKey, int maxMicroOps,
                      int failPercent, int infoPercent, Fault fault) {
            this(seed, txns, processes, activeKeys, maxAppendsPerKey, maxMicroOps, failPercent, infoPercent, fault,
                    false, 0);
        }
    }

    private enum Fate { OK, FAIL, INFO }

    private static final long MAX_STEP_NANOS = 2_000_000;
    /** Timestamps are epoch nanoseconds: simulated time 0 is this instant (2023-11-14). */
    private static final long EPOCH_START_NANOS = 1_700_000_000_000_000_000L;
    /** How far back a stale read may read. */
    private static final long MAX_STALENESS_NANOS = 5_000_000;

    /** A transaction in flight: what it does, how it ends, and how the store bends for it. */
    private static final class Txn {
        final int process;
        final List<MicroOp> ops;
        final Fate fate;
        final boolean scripted;
        boolean applyEvenIfFailed;
        UnaryOperator<List<Long>>[] readTwist; // per micro-op, for reads
        String insertKey;                      // an append to this key goes before insertBefore, not at the end
        long insertBefore;
        List<MicroOp> results;
        boolean applied;
        ReadMode readMode;    // with timestamps: strong, or stale for some read-only transactions
        long tsEpochNanos;    // the commit or read timestamp it got when it took effect

        Txn(int process, List<MicroOp> ops, Fate fate, boolean scripted) {
            this.process = process;
            this.ops = ops;
            this.fate = fate;
            this.scripted = scripted;
        }
    }

    private record Event(long atNanos, long seq, int kind, Txn txn, int process) {
    }

    private static final int INVOKE = 0;
    private static final int APPLY = 1;
    private static final int COMPLETE = 2;

    private final Config config;
    private final SplittableRandom random;
    private final HistoryWriter history;
    private final PriorityQueue<Event> events = new PriorityQueue<>(
            (a, b) -> a.atNanos != b.atNanos ? Long.compare(a.atNanos, b.atNanos) : Long.compare(a.seq, b.seq));
    private final Map<String, List<Long>> state = new HashMap<>();
    /** With timestamps: per key, the commit timestamp of each element of {@link #state}'s list, in the same order. */
    private final Map<String, List<Long>> commitTs = new HashMap<>();
    private long lastTsEpochNanos = EPOCH_START_NANOS;
    private final String[] active;
    private final int[] appendsTo;
    private final Deque<Txn> script = new ArrayDeque<>();
    private long nowNanos;
    private long seq;
    private long nextValue = 1;
    private int nextKey;
    private int started;
    private boolean scriptStarted;
    private boolean scriptStepInFlight;

    private SerialStoreSimulation(Config config, HistoryWriter history) {
        this.config = config;
        this.random = new SplittableRandom(config.seed());
        this.history = history;
        this.active = new String[config.activeKeys()];
        this.appendsTo = new int[config.activeKeys()];
        for (int i = 0; i < active.length; i++) {
            active[i] = freshKey();
        }
    }

    /** Runs a simulation, recording its history into {@code out} with the simulated time as the clock. */
    public static void run(Config config, java.io.Writer out) throws java.io.IOException {
        SerialStoreSimulation[] sim = new SerialStoreSimulation[1];
        try (HistoryWriter history = new HistoryWriter(out, () -> sim[0].nowNanos)) {
            sim[0] = new SerialStoreSimulation(config, history);
            sim[0].simulate();
        }
    }

    private void simulate() {
        for (int p = 0; p < config.processes(); p++) {
            schedule(random.nextLong(MAX_STEP_NANOS), INVOKE, null, p);
        }
        while (!events.isEmpty()) {
            Event e = events.poll();
            nowNanos = e.atNanos();
            switch (e.kind()) {
                case INVOKE -> invoke(e.process());
                case APPLY -> apply(e.txn());
                default -> complete(e.txn());
            }
        }
    }

    private void schedule(long delayNanos, int kind, Txn txn, int process) {
        events.add(new Event(nowNanos + 1 + delayNanos, seq++, kind, txn, process));
    }

    private void invoke(int process) {
        if (!scriptStarted && config.fault() != Fault.NONE && started >= config.txns() / 2) {
            scriptStarted = true;
            writeScript();
        }
        Txn txn;
        if (!script.isEmpty() && !scriptStepInFlight) {
            scriptStepInFlight = true;
            Txn step = script.poll();
            txn = new Txn(process, step.ops, step.fate, true);
            txn.applyEvenIfFailed = step.applyEvenIfFailed;
            txn.readTwist = step.readTwist;
            txn.insertKey = step.insertKey;
            txn.insertBefore = step.insertBefore;
        } else if (started < config.txns()) {
            started++;
            txn = randomTxn(process);
        } else {
            if (!script.isEmpty()) { // the fault's script is not done: come back later
                schedule(random.nextLong(MAX_STEP_NANOS), INVOKE, null, process);
            }
            return;
        }
        if (config.timestamps()) { // a fault's steps read strongly, so that its last step shows the anomaly
            boolean readOnly = txn.ops.stream().allMatch(m -> m instanceof MicroOp.Read);
            txn.readMode = readOnly && !txn.scripted && random.nextInt(100) < config.stalePercent()
                    ? ReadMode.STALE : ReadMode.STRONG;
        }
        history.invoke(process, txn.ops, txn.readMode);
        schedule(random.nextLong(MAX_STEP_NANOS), APPLY, txn, process);
    }

    private Txn randomTxn(int process) {
        int n = 1 + random.nextInt(config.maxMicroOps());
        List<MicroOp> ops = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int slot = random.nextInt(active.length);
            String key = active[slot];
            if (random.nextBoolean()) {
                ops.add(new MicroOp.Append(key, nextValue++));
                if (++appendsTo[slot] >= config.maxAppendsPerKey()) {
                    active[slot] = freshKey();
                    appendsTo[slot] = 0;
                }
            } else {
                ops.add(new MicroOp.Read(key, null));
            }
        }
        int roll = random.nextInt(100);
        Fate fate = roll < config.failPercent() ? Fate.FAIL
                : roll < config.failPercent() + config.infoPercent() ? Fate.INFO : Fate.OK;
        return new Txn(process, ops, fate, false);
    }

    private String freshKey() {
        return Integer.toString(nextKey++);
    }

    private void apply(Txn txn) {
        boolean apply = switch (txn.fate) {
            case OK -> true;
            case FAIL -> txn.applyEvenIfFailed;
            case INFO -> random.nextBoolean();
        };
        if (config.timestamps()) {
            if (txn.readMode == ReadMode.STALE) {
                long back = random.nextLong(MAX_STALENESS_NANOS);
                txn.tsEpochNanos = Math.max(EPOCH_START_NANOS, lastTsEpochNanos - back);
            } else if (apply) { // one strictly increasing clock: the serial order is the timestamp order
                lastTsEpochNanos = Math.max(lastTsEpochNanos + 1, EPOCH_START_NANOS + nowNanos);
                txn.tsEpochNanos = lastTsEpochNanos;
            } else { // the timestamp it would have had
                txn.tsEpochNanos = Math.max(lastTsEpochNanos + 1, EPOCH_START_NANOS + nowNanos);
            }
        }
        if (apply) {
            txn.applied = true;
            txn.results = new ArrayList<>(txn.ops.size());
            for (int i = 0; i < txn.ops.size(); i++) {
                MicroOp m = txn.ops.get(i);
                List<Long> list = state.computeIfAbsent(m.key(), k -> new ArrayList<>());
                if (m instanceof MicroOp.Append a) {
                    int at = a.key().equals(txn.insertKey) ? list.indexOf(txn.insertBefore) : -1;
                    list.add(at >= 0 ? at : list.size(), a.value());
                    if (config.timestamps()) {
                        List<Long> ts = commitTs.computeIfAbsent(m.key(), k -> new ArrayList<>());
                        ts.add(at >= 0 ? at : ts.size(), txn.tsEpochNanos);
                    }
                    txn.results.add(a);
                } else {
                    List<Long> read = txn.readMode == ReadMode.STALE ? snapshot(m.key(), txn.tsEpochNanos)
                            : new ArrayList<>(list);
                    if (txn.readTwist != null && txn.readTwist[i] != null) {
                        read = txn.readTwist[i].apply(read);
                    }
                    txn.results.add(new MicroOp.Read(m.key(), read));
                }
            }
        }
        schedule(random.nextLong(MAX_STEP_NANOS), COMPLETE, txn, txn.process);
    }

    /** The list at {@code key} as of {@code tsEpochNanos}: the elements committed at or below it. */
    private List<Long> snapshot(String key, long tsEpochNanos) {
        List<Long> list = state.get(key);
        List<Long> ts = commitTs.getOrDefault(key, List.of());
        List<Long> read = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            if (ts.get(i) <= tsEpochNanos) {
                read.add(list.get(i));
            }
        }
        return read;
    }

    private void complete(Txn txn) {
        if (txn.scripted) {
            scriptStepInFlight = false;
        }
        boolean readOnly = txn.ops.stream().allMatch(m -> m instanceof MicroOp.Read);
        switch (txn.fate) {
            case OK -> {
                if (!config.timestamps()) {
                    history.ok(txn.process, txn.results);
                } else if (readOnly) {
                    history.okRead(txn.process, txn.results, txn.tsEpochNanos);
                } else {
                    history.okCommitted(txn.process, txn.results, txn.tsEpochNanos);
                }
            }
            case FAIL -> history.fail(txn.process);
            default -> {
                if (started >= config.txns() && script.isEmpty()) {
                    return; // the client crashed without a word: the invocation stays open, counted as info
                }
                if (config.timestamps() && !readOnly && random.nextBoolean()) {
                    history.infoCommitted(txn.process, txn.tsEpochNanos); // applied or not
                } else {
                    history.info(txn.process);
                }
            }
        }
        schedule(random.nextLong(MAX_STEP_NANOS), INVOKE, null, txn.process);
    }

    // The fault scripts: steps run one after another (each invoked after the previous completed), on fresh keys.

    private void writeScript() {
        String x = freshKey();
        String y = freshKey();
        long a = nextValue++;
        long b = nextValue++;
        MicroOp.Read rx = new MicroOp.Read(x, null);
        MicroOp.Read ry = new MicroOp.Read(y, null);
        MicroOp.Append ax = new MicroOp.Append(x, a);
        switch (config.fault()) {
            case G1A -> { // a failed append becomes visible
                step(List.of(ax), Fate.FAIL).applyEvenIfFailed = true;
                step(List.of(rx), Fate.OK);
            }
            case G1B -> { // a reader sees the first of a transaction's two appends to x, not the second
                step(List.of(ax, new MicroOp.Append(x, b)), Fate.OK);
                twist(step(List.of(rx), Fate.OK), 0, l -> new ArrayList<>(l.subList(0, l.indexOf(a) + 1)));
                step(List.of(rx), Fate.OK);
            }
            case INTERNAL -> // a transaction's read misses its own append
                    twist(step(List.of(ax, rx), Fate.OK), 1, l -> new ArrayList<>(l.subList(0, l.indexOf(a))));
            case INCOMPATIBLE_ORDER -> { // one read returns the last two elements swapped
                step(List.of(ax, new MicroOp.Append(x, b)), Fate.OK);
                twist(step(List.of(rx), Fate.OK), 0, l -> {
                    List<Long> s = new ArrayList<>(l);
                    java.util.Collections.swap(s, s.size() - 1, s.size() - 2);
                    return s;
                });
                step(List.of(rx), Fate.OK);
            }
            case G_SINGLE -> { // lost update: read x without a, then append after a
                step(List.of(ax), Fate.OK);
                twist(step(List.of(rx, new MicroOp.Append(x, b)), Fate.OK), 0, l -> without(l, a));
                step(List.of(rx), Fate.OK);
            }
            case STALE_READ -> { // a read invoked after a's append completed does not see it
                step(List.of(ax), Fate.OK);
                twist(step(List.of(rx), Fate.OK), 0, l -> without(l, a));
                step(List.of(rx), Fate.OK);
            }
            case G0 -> { // x orders T1 before T2, y orders T2 before T1
                step(List.of(ax, new MicroOp.Append(y, a)), Fate.OK);
                Txn second = step(List.of(new MicroOp.Append(x, b), new MicroOp.Append(y, b)), Fate.OK);
                second.insertKey = y;
                second.insertBefore = a;
                step(List.of(rx, ry), Fate.OK);
            }
            case G1C -> { // each of two transactions reads the other's append
                twist(step(List.of(ax, ry), Fate.OK), 1, l -> List.of(b));
                step(List.of(new MicroOp.Append(y, b), rx), Fate.OK);
                step(List.of(rx, ry), Fate.OK);
            }
            case G2 -> { // write skew: each reads the key the other appends to, seeing nothing
                step(List.of(ry, ax), Fate.OK);
                twist(step(List.of(rx, new MicroOp.Append(y, b)), Fate.OK), 0, l -> without(l, a));
                step(List.of(rx, ry), Fate.OK);
            }
            default -> throw new IllegalStateException("no script for " + config.fault());
        }
    }

    private Txn step(List<MicroOp> ops, Fate fate) {
        Txn t = new Txn(-1, ops, fate, true);
        script.add(t);
        return t;
    }

    @SuppressWarnings("unchecked")
    private static void twist(Txn step, int microOp, UnaryOperator<List<Long>> twist) {
        step.readTwist = new UnaryOperator[step.ops.size()];
        step.readTwist[microOp] = twist;
    }

    private static List<Long> without(List<Long> list, long value) {
        List<Long> out = new ArrayList<>(list);
        out.remove(Long.valueOf(value));
        return out;
    }
}
