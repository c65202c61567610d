package io.gnomon.spanner.check;

import io.gnomon.spanner.history.HistoryFormatException;
import io.gnomon.spanner.history.HistoryReader;
import io.gnomon.spanner.history.MicroOp;
import io.gnomon.spanner.history.Op;
import io.gnomon.spanner.history.OpType;
import io.gnomon.spanner.history.ReadMode;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The checker's first pass: pairs invocations with completions into transactions and keeps only what the
 * dependency graph needs, so memory grows with the number of transactions and appended elements, not with the
 * length of the lists reads return. For each key it keeps one version order: the longest list any ok read
 * returned. Each read is compared element by element with it as it arrives; since every read must be a prefix
 * of every longer one (list-append, Elle section 4), comparing with the longest so far finds every
 * incompatible pair. A read is then remembered as (transaction, key, length, last element).
 */
final class HistoryIndex {
    static final int OK = 0;
    static final int FAIL = 1;
    static final int INFO = 2;

    /** {@link #tsKind}: no timestamp recorded. */
    static final int NO_TS = 0;
    /** {@link #tsKind}: a read-write transaction's commit timestamp. */
    static final int COMMIT_TS = 1;
    /** {@link #tsKind}: a read-only transaction's read timestamp. */
    static final int READ_TS = 2;
    /** {@link #readMode}: none recorded. */
    static final int NO_MODE = -1;

    private static final int SHOWN_ELEMENTS = 8;

    // Per transaction, by checker id (the order of invocations).
    final Growable.Longs invokeIndex = new Growable.Longs();
    final Growable.Longs invokeTimeNanos = new Growable.Longs();
    /** -1 while (or if forever) in flight. */
    final Growable.Longs completeIndex = new Growable.Longs();
    final Growable.Longs completeTimeNanos = new Growable.Longs();
    final Growable.Ints process = new Growable.Ints();
    final Growable.Ints outcome = new Growable.Ints();
    /** {@link ReadMode} ordinal from the invoke line, or {@link #NO_MODE}. */
    final Growable.Ints readMode = new Growable.Ints();
    /** {@link #NO_TS}, {@link #COMMIT_TS} or {@link #READ_TS}. */
    final Growable.Ints tsKind = new Growable.Ints();
    /** The commit or read timestamp, epoch nanoseconds; meaningless when {@link #tsKind} is {@link #NO_TS}. */
    final Growable.Longs tsEpochNanos = new Growable.Longs();
    /** Transactions with a recorded timestamp. */
    int timestamped;

    final Map<String, Integer> keyIds = new HashMap<>();
    final List<KeyState> keys = new ArrayList<>();

    // Per ok read that is consistent with its key's version order.
    final Growable.Ints readTxn = new Growable.Ints();
    final Growable.Ints readKey = new Growable.Ints();
    final Growable.Ints readLength = new Growable.Ints();
    final Growable.Longs readLast = new Growable.Longs();

    /** Invocations ({@code 2 * txn}) and completions ({@code 2 * txn + 1}) in history order. */
    final Growable.Ints events = new Growable.Ints();

    long ops;
    int oks;
    int fails;
    int infos;
    int neverCompleted;

    private final Findings findings;
    private final Map<Integer, Pending> inFlight = new HashMap<>();

    private record Pending(int txn, List<MicroOp> invocation, ReadMode readMode, long line) {
    }

    /** What is known about one key. */
    static final class KeyState {
        final String name;
        /** Appended value to {@code txn << 1 | 1 if the same transaction appended again to this key later}. */
        final Map<Long, Integer> writers = new HashMap<>();
        /** The version order: the longest list read so far. */
        final Growable.Longs order = new Growable.Longs();
        final Map<Long, Integer> position = new HashMap<>();
        /** For each position of the order, the transaction whose read first showed it. */
        final Growable.Ints firstReader = new Growable.Ints();

        KeyState(String name) {
            this.name = name;
        }

        /** The transaction that appended {@code value}, or -1 if none did. */
        int writer(long value) {
            Integer w = writers.get(value);
            return w == null ? -1 : w >>> 1;
        }

        boolean intermediate(long value) {
            Integer w = writers.get(value);
            return w != null && (w & 1) == 1;
        }
    }

    private HistoryIndex(Findings findings) {
        this.findings = findings;
    }

    static HistoryIndex build(HistoryReader in, Findings findings) throws IOException, HistoryFormatException {
        HistoryIndex index = new HistoryIndex(findings);
        for (Op op = in.next(); op != null; op = in.next()) {
            index.ops++;
            if (op.type() == OpType.INVOKE) {
                index.invoke(op, in.lineNumber());
            } else {
                index.complete(op, in.lineNumber());
            }
        }
        index.neverCompleted = index.inFlight.size();
        index.infos += index.neverCompleted;
        return index;
    }

    int txnCount() {
        return process.size();
    }

    private void invoke(Op op, long line) throws HistoryFormatException {
        Pending previous = inFlight.get(op.process());
        if (previous != null) {
            throw new HistoryFormatException(line, "process " + op.process() + " invokes while its transaction from line "
                    + previous.line() + " has not completed (a process runs one transaction at a time)");
        }
        int txn = txnCount();
        invokeIndex.add(op.index());
        invokeTimeNanos.add(op.timeNanos());
        completeIndex.add(-1);
        completeTimeNanos.add(Long.MAX_VALUE);
        process.add(op.process());
        outcome.add(INFO);
        readMode.add(op.readMode() == null ? NO_MODE : op.readMode().ordinal());
        tsKind.add(NO_TS);
        tsEpochNanos.add(0);
        events.add(2 * txn);
        Set<String> appendedLater = new HashSet<>();
        for (int i = op.value().size() - 1; i >= 0; i--) {
            if (op.value().get(i) instanceof MicroOp.Append a) {
                KeyState k = key(a.key());
                int packed = txn << 1 | (appendedLater.add(a.key()) ? 0 : 1);
                Integer other = k.writers.putIfAbsent(a.value(), packed);
                if (other != null) {
                    String by = (other >>> 1) == txn ? "this transaction" : "the transaction invoked at index "
                            + invokeIndex.get(other >>> 1);
                    throw new HistoryFormatException(line, "value " + a.value() + " is appended to key '" + a.key()
                            + "' again (already appended by " + by + "); appended values must be unique per key");
                }
            }
        }
        inFlight.put(op.process(), new Pending(txn, op.value(), op.readMode(), line));
    }

    private KeyState key(String name) {
        Integer id = keyIds.get(name);
        if (id == null) {
            id = keys.size();
            keyIds.put(name, id);
            keys.add(new KeyState(name));
        }
        return keys.get(id);
    }

    private void complete(Op op, long line) throws HistoryFormatException {
        Pending p = inFlight.remove(op.process());
        if (p == null) {
            throw new HistoryFormatException(line, op.type().json() + " for process " + op.process()
                    + " without an invoke before it");
        }
        checkSameTransaction(p, op, line);
        int txn = p.txn();
        recordTimestamp(p, op, line);
        completeIndex.set(txn, op.index());
        events.add(2 * txn + 1);
        switch (op.type()) {
            case OK -> {
                oks++;
                outcome.set(txn, OK);
                completeTimeNanos.set(txn, op.timeNanos());
                checkInternal(txn, op.value());
                for (MicroOp m : op.value()) {
                    if (m instanceof MicroOp.Read r) {
                        observe(txn, r);
                    }
                }
            }
            case FAIL -> {
                fails++;
                outcome.set(txn, FAIL);
            }
            default -> infos++; // completion time stays unknown (infinite): it may take effect later still
        }
    }

    private static void checkSameTransaction(Pending p, Op op, long line) throws HistoryFormatException {
        List<MicroOp> asked = p.invocation();
        List<MicroOp> done = op.value();
        if (asked.size() != done.size()) {
            throw new HistoryFormatException(line, op.type().json() + " has " + done.size()
                    + " micro-ops but its invoke on line " + p.line() + " has " + asked.size());
        }
        for (int i = 0; i < asked.size(); i++) {
            MicroOp a = asked.get(i);
            MicroOp d = done.get(i);
            boolean same = a instanceof MicroOp.Append ? a.equals(d)
                    : d instanceof MicroOp.Read r && r.key().equals(a.key());
            if (!same) {
                throw new HistoryFormatException(line, "micro-op " + i + " " + describe(d) + " differs from "
                        + describe(a) + " in its invoke on line " + p.line());
            }
            if (op.type() == OpType.OK && d instanceof MicroOp.Read r && r.values() == null) {
                throw new HistoryFormatException(line, "micro-op " + i + " of an ok is a read of '" + r.key()
                        + "' without its result");
            }
        }
    }

    /**
     * Takes the completion's timestamp, failing closed: a transaction invoked with a read mode claims the
     * timestamp rules apply to it, so an ok without its timestamp is a malformed history, never a pass.
     */
    private void recordTimestamp(Pending p, Op op, long line) throws HistoryFormatException {
        if (op.readMode() != null && op.readMode() != p.readMode()) {
            throw new HistoryFormatException(line, "readMode " + op.readMode().json() + " differs from "
                    + (p.readMode() == null ? "none" : p.readMode().json()) + " on its invoke on line " + p.line());
        }
        Long commitTs = op.commitTsEpochNanos();
        Long readTs = op.readTsEpochNanos();
        if (op.type() == OpType.OK && p.readMode() != null && commitTs == null && readTs == null) {
            throw new HistoryFormatException(line, "ok without commitTs or readTs, but its invoke on line "
                    + p.line() + " has readMode " + p.readMode().json()
                    + ", which needs one (the timestamp rules cannot judge it)");
        }
        if (readTs != null && p.readMode() == null) {
            throw new HistoryFormatException(line, "readTs without a readMode on its invoke on line " + p.line()
                    + " (strong or stale: whether real time binds the read)");
        }
        if (commitTs != null && p.readMode() == ReadMode.STALE) {
            throw new HistoryFormatException(line, "commitTs, but its invoke on line " + p.line() + " has readMode"
                    + " stale, which only a read-only transaction has");
        }
        if (commitTs != null || readTs != null) {
            tsKind.set(p.txn(), commitTs != null ? COMMIT_TS : READ_TS);
            tsEpochNanos.set(p.txn(), commitTs != null ? commitTs : readTs);
            timestamped++;
        }
    }

    /** The read mode of the transaction's invocation, or {@code null} when none was recorded. */
    ReadMode readMode(int txn) {
        int m = readMode.get(txn);
        return m == NO_MODE ? null : ReadMode.values()[m];
    }

    /** Whether the transaction's reads are stale (not bound by real time). */
    boolean stale(int txn) {
        return readMode.get(txn) == ReadMode.STALE.ordinal();
    }

    private static String describe(MicroOp m) {
        return m instanceof MicroOp.Append a ? "[append " + a.key() + " " + a.value() + "]" : "[r " + m.key() + "]";
    }

    /**
     * A transaction must see its own effects: a read after its own appends to a key ends with them, and after
     * an earlier read of the key it is that read plus the appends since (Elle's internal consistency check).
     */
    private void checkInternal(int txn, List<MicroOp> value) {
        if (value.size() < 2) {
            return;
        }
        Map<String, List<Long>> known = new HashMap<>();      // the state implied by an earlier read, plus appends
        Map<String, List<Long>> ownAppends = new HashMap<>(); // appends before any read of the key
        for (MicroOp m : value) {
            if (m instanceof MicroOp.Append a) {
                List<Long> k = known.get(a.key());
                (k != null ? k : ownAppends.computeIfAbsent(a.key(), x -> new ArrayList<>())).add(a.value());
                continue;
            }
            MicroOp.Read r = (MicroOp.Read) m;
            List<Long> expected = known.get(r.key());
            List<Long> suffix = ownAppends.get(r.key());
            List<Long> read = r.values();
            String problem = null;
            if (expected != null && !expected.equals(read)) {
                problem = "expected " + brief(expected) + " from its earlier read and appends";
            } else if (expected == null && suffix != null && (read.size() < suffix.size()
                    || !read.subList(read.size() - suffix.size(), read.size()).equals(suffix))) {
                problem = "expected it to end with its own appends " + brief(suffix);
            }
            if (problem != null) {
                String why = "read " + r.key() + " = " + brief(read) + " but " + problem;
                findings.add(AnomalyType.INTERNAL, () -> new Anomaly(AnomalyType.INTERNAL, List.of(txn), List.of(), r.key(), why));
            }
            known.put(r.key(), new ArrayList<>(read));
        }
    }

    private void observe(int txn, MicroOp.Read r) {
        KeyState k = key(r.key());
        List<Long> read = r.values();
        Growable.Longs order = k.order;
        int common = Math.min(read.size(), order.size());
        for (int i = 0; i < common; i++) {
            if (read.get(i) != order.get(i)) {
                int other = k.firstReader.get(i);
                String why = "read " + k.name + " = " + brief(read) + ", but a read of the transaction invoked at index "
                        + invokeIndex.get(other) + " had " + order.get(i) + " at position " + i + " ("
                        + brief(prefix(order, i + 1)) + ")";
                findings.add(AnomalyType.INCOMPATIBLE_ORDER, () -> new Anomaly(AnomalyType.INCOMPATIBLE_ORDER,
                        List.of(txn, other), List.of(), k.name, why));
                return;
            }
        }
        for (int i = order.size(); i < read.size(); i++) {
            long v = read.get(i);
            Integer seen = k.position.putIfAbsent(v, i);
            if (seen != null) {
                String why = "read " + k.name + " = " + brief(read) + " with " + v + " at positions " + seen + " and " + i;
                findings.add(AnomalyType.DUPLICATE_ELEMENTS, () -> new Anomaly(AnomalyType.DUPLICATE_ELEMENTS,
                        List.of(txn), List.of(), k.name, why));
                return;
            }
            order.add(v);
            k.firstReader.add(txn);
        }
        readTxn.add(txn);
        readKey.add(keyIds.get(r.key()));
        readLength.add(read.size());
        readLast.add(read.isEmpty() ? 0 : read.get(read.size() - 1));
    }

    private static List<Long> prefix(Growable.Longs order, int n) {
        List<Long> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(order.get(i));
        }
        return out;
    }

    /** A list for a one-line message: at most the first and last few elements. */
    static String brief(List<Long> values) {
        if (values.size() <= SHOWN_ELEMENTS) {
            return values.toString();
        }
        int head = SHOWN_ELEMENTS / 2;
        return values.subList(0, head).toString().replace("]", ", … ")
                + (values.size() - 2 * head) + " more … "
                + values.subList(values.size() - head, values.size()).toString().replace("[", "");
    }
}
