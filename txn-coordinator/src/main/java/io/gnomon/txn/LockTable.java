package io.gnomon.txn;

import io.gnomon.paxos.cluster.Key;
import io.gnomon.paxos.cluster.KeyRange;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.BiConsumer;

/**
 * Two-phase locking with wound-wait for one group, on its leader (docs/transactions.md, "LockTable"). A pure core:
 * every method returns what happened as values (who was wounded, which waiting requests were granted), never calls
 * back, and reads no clock.
 *
 * <p>Rules. Two locks conflict when their targets (a key or a key range) intersect and at least one is exclusive;
 * a transaction's own locks never conflict with each other. A request that conflicts with a holder younger than the
 * requester (larger {@link TxnId}) wounds that holder unless it is prepared; a request that conflicts with any holder
 * that remains (older, prepared, or wounded and not yet released) waits. Waiting requests form one queue ordered by
 * age (oldest first, then arrival), and a request also waits while a conflicting request of an older transaction
 * waits ahead of it, so an older waiter is never overtaken by younger ones. As locks go, the queue is re-examined in
 * that order. A wounded transaction keeps its locks until its host releases it (it aborts), but its waiting requests
 * are dropped at once and it may acquire nothing more. Every wait is for an older transaction, or for one that
 * waits for nothing (prepared or wounded), so no cycle of waits can form.
 *
 * <p>Example (the host performs what comes back):
 * <pre>{@code
 * LockTable t = new LockTable(TxnLimits.DEFAULTS);
 * t.acquire(young, Lock.exclusive(k));           // Granted
 * t.acquire(old, Lock.shared(k));                // Waiting, wounded [young]: the host aborts young ...
 * t.release(young);                              // ... and gets [Grant(old, shared k)]
 * }</pre>
 *
 * <p>Cost: point locks are indexed by key in a {@link TreeMap}; range locks are kept in a map and scanned on every
 * lookup (scans are expected to be few next to point reads and writes).
 */
public final class LockTable {
    /** Shared (reads inside a read-write transaction) or exclusive (a prepare's writes). */
    public enum Mode {
        SHARED, EXCLUSIVE;

        boolean conflictsWith(Mode other) {
            return this == EXCLUSIVE || other == EXCLUSIVE;
        }

        /** Whether holding this mode gives everything {@code wanted} asks for. */
        boolean covers(Mode wanted) {
            return this == EXCLUSIVE || wanted == SHARED;
        }
    }

    /** What a lock is on: one key, or a range of keys ({@code [start, end)}, an empty end being unbounded). */
    public record Target(Key key, KeyRange range) {
        public Target {
            if ((key == null) == (range == null)) {
                throw new IllegalArgumentException("a lock target is a key or a range, exactly one of them");
            }
        }

        public static Target of(Key key) {
            return new Target(Objects.requireNonNull(key, "key"), null);
        }

        public static Target of(KeyRange range) {
            return new Target(null, Objects.requireNonNull(range, "range"));
        }

        public boolean isKey() {
            return key != null;
        }

        /** Whether some key is in both. */
        public boolean intersects(Target other) {
            if (isKey() && other.isKey()) {
                return key.equals(other.key);
            }
            if (isKey()) {
                return contains(other.range, key);
            }
            if (other.isKey()) {
                return contains(range, other.key);
            }
            return startsBeforeEnd(range.start(), other.range) && startsBeforeEnd(other.range.start(), range);
        }

        private static boolean contains(KeyRange r, Key k) {
            return r.start().compareTo(k) <= 0 && startsBeforeEnd(k, r);
        }

        private static boolean startsBeforeEnd(Key k, KeyRange r) {
            return r.isUnbounded() || k.compareTo(r.end()) < 0;
        }

        @Override
        public String toString() {
            return isKey() ? key.toString() : range.toString();
        }
    }

    /** A lock asked for or held: a target and a mode. */
    public record Lock(Target target, Mode mode) {
        public Lock {
            Objects.requireNonNull(target, "target");
            Objects.requireNonNull(mode, "mode");
        }

        public static Lock shared(Key key) {
            return new Lock(Target.of(key), Mode.SHARED);
        }

        public static Lock exclusive(Key key) {
            return new Lock(Target.of(key), Mode.EXCLUSIVE);
        }

        public static Lock shared(KeyRange range) {
            return new Lock(Target.of(range), Mode.SHARED);
        }

        public static Lock exclusive(KeyRange range) {
            return new Lock(Target.of(range), Mode.EXCLUSIVE);
        }

        public boolean conflictsWith(Lock other) {
            return mode.conflictsWith(other.mode) && target.intersects(other.target);
        }

        @Override
        public String toString() {
            return (mode == Mode.SHARED ? "S " : "X ") + target;
        }
    }

    /** What became of one request. */
    public sealed interface Outcome permits Granted, Waiting, Refused {
    }

    /** The lock is held now. */
    public record Granted() implements Outcome {
        @Override
        public String toString() {
            return "Granted";
        }
    }

    /** The request is queued; a later result lists it in {@code granted} (or its transaction in {@code wounded}). */
    public record Waiting() implements Outcome {
        @Override
        public String toString() {
            return "Waiting";
        }
    }

    /** Why a request was refused; nothing changed in the table. */
    public enum Refusal {
        /** {@link TxnLimits#maxLocksPerTxn()} would be exceeded (the transaction is too big to retry as is). */
        MAX_LOCKS_PER_TXN,
        /** {@link TxnLimits#maxLockedTxns()} would be exceeded. */
        MAX_LOCKED_TXNS,
        /** {@link TxnLimits#maxWaitingRequests()} would be exceeded. */
        MAX_WAITING_REQUESTS,
        /** The transaction was wounded by an older one: it must abort (retryable, keeping its age). */
        WOUNDED,
        /** The transaction is prepared: it takes no more locks. */
        PREPARED
    }

    /** Refused, with the reason and a message naming the limit and its value (or the transaction's state). */
    public record Refused(Refusal refusal, String message) implements Outcome {
        @Override
        public String toString() {
            return "Refused(" + refusal + ": " + message + ")";
        }
    }

    public static final Granted GRANTED = new Granted();
    public static final Waiting WAITING = new Waiting();

    /** A waiting request of {@code txn} that is now held. */
    public record Grant(TxnId txn, Lock lock) {
        @Override
        public String toString() {
            return "Grant(" + txn + ", " + lock + ")";
        }
    }

    /**
     * What an {@link #acquire} did: the request's outcome; the transactions it wounded (oldest first; their hosts
     * abort them and {@link #release} them; their waiting requests are already gone); and the waiting requests of
     * others granted because a wounded transaction's waiting requests left the queue (in queue order).
     */
    public record Result(Outcome outcome, List<TxnId> wounded, List<Grant> granted) {
        public Result {
            wounded = List.copyOf(wounded);
            granted = List.copyOf(granted);
        }
    }

    /** A queued request; {@code seq} orders a transaction's own requests by arrival. */
    private record Waiter(TxnId txn, Lock lock, long seq) {
    }

    /** Queue order: oldest transaction first, then its requests by arrival. */
    private static final Comparator<Waiter> QUEUE_ORDER =
            Comparator.comparing(Waiter::txn).thenComparingLong(Waiter::seq);

    /** One transaction's state in this group. It always holds or waits for something, or it is not in the table. */
    private static final class TxnState {
        final LinkedHashMap<Target, Mode> held = new LinkedHashMap<>();
        /** At most one waiting request per target (an upgrade of a held target, or a new target). */
        final LinkedHashMap<Target, Waiter> waiting = new LinkedHashMap<>();
        /** Waiting requests on targets it holds (upgrades): they add no lock to the count. */
        int waitingUpgrades;
        boolean prepared;
        boolean wounded;

        /** Distinct targets held or waited for, what {@link TxnLimits#maxLocksPerTxn()} bounds. */
        int lockCount() {
            return held.size() + waiting.size() - waitingUpgrades;
        }
    }

    /**
     * Entries per target, with every lookup of what intersects a target: point targets by key in a tree, ranges in
     * a map that lookups scan.
     */
    private static final class SpanIndex<V> {
        private final TreeMap<Key, Map<TxnId, V>> points = new TreeMap<>();
        private final Map<KeyRange, Map<TxnId, V>> ranges = new HashMap<>();

        private Map<TxnId, V> at(Target t) {
            return t.isKey() ? points.get(t.key()) : ranges.get(t.range());
        }

        void put(Target t, TxnId txn, V v) {
            Map<TxnId, V> at = t.isKey() ? points.computeIfAbsent(t.key(), k -> new HashMap<>())
                    : ranges.computeIfAbsent(t.range(), r -> new HashMap<>());
            at.put(txn, v);
        }

        /** The entry of {@code txn} at exactly {@code t}, or null. */
        V get(Target t, TxnId txn) {
            Map<TxnId, V> at = at(t);
            return at == null ? null : at.get(txn);
        }

        void remove(Target t, TxnId txn) {
            Map<TxnId, V> at = at(t);
            if (at == null || at.remove(txn) == null) {
                throw new IllegalStateException("index has no entry of " + txn + " at " + t);
            }
            if (at.isEmpty()) {
                if (t.isKey()) {
                    points.remove(t.key());
                } else {
                    ranges.remove(t.range());
                }
            }
        }

        /** Every entry whose target intersects {@code t}, with the transaction it belongs to. */
        void intersecting(Target t, BiConsumer<TxnId, V> each) {
            if (t.isKey()) {
                Map<TxnId, V> at = points.get(t.key());
                if (at != null) {
                    at.forEach(each);
                }
            } else {
                KeyRange r = t.range();
                NavigableMap<Key, Map<TxnId, V>> in = r.isUnbounded() ? points.tailMap(r.start(), true)
                        : points.subMap(r.start(), true, r.end(), false);
                in.values().forEach(at -> at.forEach(each));
            }
            ranges.forEach((range, at) -> {
                if (Target.of(range).intersects(t)) {
                    at.forEach(each);
                }
            });
        }

        int size() {
            int n = 0;
            for (Map<TxnId, V> at : points.values()) {
                n += at.size();
            }
            for (Map<TxnId, V> at : ranges.values()) {
                n += at.size();
            }
            return n;
        }
    }

    private final TxnLimits limits;
    private final TreeMap<TxnId, TxnState> txns = new TreeMap<>();
    /** Held locks: per target, each holder's mode. */
    private final SpanIndex<Mode> holders = new SpanIndex<>();
    /** Waiting requests, by target. */
    private final SpanIndex<Waiter> waiterIndex = new SpanIndex<>();
    /** Waiting requests in the order they are examined. */
    private final TreeSet<Waiter> queue = new TreeSet<>(QUEUE_ORDER);
    private long nextSeq;

    public LockTable(TxnLimits limits) {
        this.limits = Objects.requireNonNull(limits, "limits");
    }

    /**
     * Asks for {@code lock} for {@code txn}: granted now, queued, or refused (then nothing changed). Asking for what
     * the transaction holds (or less) is granted at once; asking for exclusive on a target it holds shared is an
     * upgrade, under the same rules against other holders; asking again for what it already waits for changes
     * nothing and says {@code Waiting}.
     */
    public Result acquire(TxnId txn, Lock lock) {
        Objects.requireNonNull(txn, "txn");
        Objects.requireNonNull(lock, "lock");
        TxnState st = txns.get(txn);
        Target target = lock.target();
        if (st != null && st.wounded) {
            return refused(Refusal.WOUNDED, txn + " was wounded by an older transaction and must abort");
        }
        if (st != null && st.prepared) {
            return refused(Refusal.PREPARED, txn + " is prepared and takes no more locks (asked for " + lock + ")");
        }
        Mode heldMode = st == null ? null : st.held.get(target);
        if (heldMode != null && heldMode.covers(lock.mode())) {
            return new Result(GRANTED, List.of(), List.of());
        }
        Waiter queued = st == null ? null : st.waiting.get(target);
        if (queued != null && queued.lock().mode().covers(lock.mode())) {
            return new Result(WAITING, List.of(), List.of());
        }
        if (st == null && txns.size() >= limits.maxLockedTxns()) {
            return refused(Refusal.MAX_LOCKED_TXNS, "this group already has maxLockedTxns=" + limits.maxLockedTxns()
                    + " transactions holding or waiting for locks; " + txn + " must retry later");
        }
        if (heldMode == null && queued == null && st != null && st.lockCount() >= limits.maxLocksPerTxn()) {
            return refused(Refusal.MAX_LOCKS_PER_TXN, txn + " already holds or waits for maxLocksPerTxn="
                    + limits.maxLocksPerTxn() + " locks in this group; cannot add " + lock);
        }

        TreeSet<TxnId> conflicting = conflictingHolders(txn, lock);
        List<TxnId> toWound = new ArrayList<>();
        for (TxnId h : conflicting) {
            TxnState hs = txns.get(h);
            if (txn.olderThan(h) && !hs.prepared && !hs.wounded) {
                toWound.add(h);
            }
        }
        boolean mustWait = !conflicting.isEmpty() || olderWaiterAhead(txn, lock);
        if (mustWait && queued == null && queue.size() >= limits.maxWaitingRequests()) {
            return refused(Refusal.MAX_WAITING_REQUESTS, "this group already has maxWaitingRequests="
                    + limits.maxWaitingRequests() + " lock requests waiting; " + txn + " cannot wait for " + lock);
        }

        // decided: from here on the table changes
        if (st == null) {
            st = new TxnState();
            txns.put(txn, st);
        }
        List<Target> vacated = new ArrayList<>();
        for (TxnId w : toWound) {
            wound(w, vacated);
        }
        if (queued != null) {
            dequeue(queued);
        }
        Outcome outcome;
        if (mustWait) {
            enqueue(st, new Waiter(txn, lock, queued != null ? queued.seq() : nextSeq++));
            outcome = WAITING;
        } else {
            hold(txn, st, lock);
            outcome = GRANTED;
        }
        assert st.lockCount() <= limits.maxLocksPerTxn() && queue.size() <= limits.maxWaitingRequests()
                && txns.size() <= limits.maxLockedTxns() : "a limit was passed by " + txn + " asking for " + lock;
        return new Result(outcome, toWound, regrant(vacated));
    }

    /**
     * Marks {@code txn} prepared: from now on it is never wounded (only its coordinator decides its fate) and takes
     * no more locks. The host calls this before it logs the transaction's prepare record, so that no wound can come
     * between the decision and the log.
     *
     * @return true if prepared (or already), false if the transaction was wounded first: it must abort instead
     * @throws IllegalStateException if the transaction holds no locks here or still waits for some (a caller bug:
     *                               a transaction prepares once every lock it needs is granted)
     */
    public boolean markPrepared(TxnId txn) {
        TxnState st = txns.get(txn);
        if (st == null || st.held.isEmpty()) {
            throw new IllegalStateException(txn + " holds no locks in this group and cannot prepare here");
        }
        if (st.wounded) {
            return false;
        }
        if (!st.waiting.isEmpty()) {
            throw new IllegalStateException(txn + " still waits for " + st.waiting.keySet()
                    + " and cannot prepare until they are granted");
        }
        st.prepared = true;
        return true;
    }

    /**
     * Releases every lock of {@code txn} and drops its waiting requests (commit or abort; a wounded transaction's
     * abort included), then grants what can now be granted. A transaction the table does not know releases nothing.
     *
     * @return the waiting requests of others granted now, in queue order (oldest first)
     */
    public List<Grant> release(TxnId txn) {
        TxnState st = txns.remove(txn);
        if (st == null) {
            return List.of();
        }
        List<Target> vacated = new ArrayList<>(st.held.keySet());
        for (Target t : st.held.keySet()) {
            holders.remove(t, txn);
        }
        for (Waiter w : List.copyOf(st.waiting.values())) {
            queue.remove(w);
            waiterIndex.remove(w.lock().target(), txn);
            vacated.add(w.lock().target());
        }
        return regrant(vacated);
    }

    /** The locks {@code txn} holds here, in the order it got them (an upgrade keeps its place). */
    public List<Lock> held(TxnId txn) {
        TxnState st = txns.get(txn);
        List<Lock> out = new ArrayList<>();
        if (st != null) {
            st.held.forEach((t, m) -> out.add(new Lock(t, m)));
        }
        return out;
    }

    /** The requests {@code txn} waits for here. */
    public List<Lock> waiting(TxnId txn) {
        TxnState st = txns.get(txn);
        List<Lock> out = new ArrayList<>();
        if (st != null) {
            st.waiting.values().forEach(w -> out.add(w.lock()));
        }
        return out;
    }

    public boolean isWounded(TxnId txn) {
        TxnState st = txns.get(txn);
        return st != null && st.wounded;
    }

    /** Whether {@code txn} holds or waits for any lock here and is not wounded. */
    public boolean holdsUnwounded(TxnId txn) {
        TxnState st = txns.get(txn);
        return st != null && !st.wounded;
    }

    public boolean isPrepared(TxnId txn) {
        TxnState st = txns.get(txn);
        return st != null && st.prepared;
    }

    /** The transactions holding or waiting for locks here (wounded ones until released), oldest first. */
    public List<TxnId> txns() {
        return List.copyOf(txns.keySet());
    }

    /** Lock requests waiting here. */
    public int waitingRequests() {
        return queue.size();
    }

    /**
     * Checks every invariant (STYLE rule 6), throwing {@link IllegalStateException} naming the first broken one:
     * no two conflicting grants; every waiter is blocked by a conflicting holder or by a conflicting request of an
     * older transaction ahead of it, and no holder it conflicts with is younger, unprepared and unwounded (it would
     * have been wounded); prepared and wounded transactions wait for nothing; every transaction in the table holds
     * or waits for something; the indexes agree with the transactions' own records; limits hold. Costs a scan of
     * everything: for tests and debugging.
     */
    public void checkInvariants() {
        int heldCount = 0;
        int waitingCount = 0;
        for (Map.Entry<TxnId, TxnState> e : txns.entrySet()) {
            TxnId txn = e.getKey();
            TxnState st = e.getValue();
            check(!st.held.isEmpty() || !st.waiting.isEmpty(), txn + " is in the table holding and waiting for "
                    + "nothing");
            check(!(st.prepared && st.wounded), txn + " is both prepared and wounded");
            check(!st.wounded || st.waiting.isEmpty(), txn + " is wounded but still waits for " + st.waiting.keySet());
            check(!st.prepared || st.waiting.isEmpty(), txn + " is prepared but still waits for "
                    + st.waiting.keySet());
            long upgrades = st.waiting.keySet().stream().filter(st.held::containsKey).count();
            check(st.waitingUpgrades == upgrades, txn + " counts " + st.waitingUpgrades + " waiting upgrades, has "
                    + upgrades);
            check(st.lockCount() <= limits.maxLocksPerTxn(), txn + " has " + st.lockCount() + " locks, over the limit");
            heldCount += st.held.size();
            waitingCount += st.waiting.size();
            st.held.forEach((t, m) -> {
                check(holders.get(t, txn) == m, "the holder index disagrees on " + txn + " holding " + m + " " + t);
                holders.intersecting(t, (other, otherMode) -> check(other.equals(txn) || !otherMode.conflictsWith(m),
                        "conflicting grants: " + txn + " holds " + new Lock(t, m) + " and " + other + " holds "
                                + txns.get(other).held));
            });
            st.waiting.forEach((t, w) -> {
                check(queue.contains(w) && waiterIndex.get(t, txn) == w, "waiting request " + w
                        + " is missing from the queue or the index");
                check(w.txn().equals(txn) && w.lock().target().equals(t), "waiting request " + w + " filed wrongly");
                TreeSet<TxnId> blockers = conflictingHolders(txn, w.lock());
                for (TxnId h : blockers) {
                    TxnState hs = txns.get(h);
                    check(!txn.olderThan(h) || hs.prepared || hs.wounded, txn + " waits for " + w.lock()
                            + " behind younger holder " + h + " that is neither prepared nor wounded");
                }
                check(!blockers.isEmpty() || olderWaiterAhead(txn, w.lock()), txn + " waits for " + w.lock()
                        + " but nothing blocks it");
            });
        }
        check(txns.size() <= limits.maxLockedTxns(), txns.size() + " transactions over maxLockedTxns");
        check(queue.size() == waitingCount && waiterIndex.size() == waitingCount,
                "queue has " + queue.size() + " and index " + waiterIndex.size() + " waiters, transactions "
                        + waitingCount);
        check(queue.size() <= limits.maxWaitingRequests(), queue.size() + " waiting, over maxWaitingRequests");
        check(holders.size() == heldCount, "holder index has " + holders.size() + " locks, transactions " + heldCount);
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException("lock table invariant broken: " + what);
        }
    }

    private static Result refused(Refusal refusal, String message) {
        return new Result(new Refused(refusal, message), List.of(), List.of());
    }

    /**
     * The prepared transactions younger than {@code txn} that hold a lock conflicting with {@code lock}: wound-wait
     * would wound them, but a prepared transaction's fate is its coordinator's, so the host asks the coordinator to
     * abort them instead (else an older transaction could wait here for one whose coordinator waits for it).
     */
    public List<TxnId> preparedYoungerHolders(TxnId txn, Lock lock) {
        List<TxnId> out = new ArrayList<>();
        for (TxnId h : conflictingHolders(txn, lock)) {
            TxnState hs = txns.get(h);
            if (txn.olderThan(h) && hs.prepared) {
                out.add(h);
            }
        }
        return out;
    }

    /** Every transaction in the table with what it holds and waits for, for operators and failing tests. */
    public String describe() {
        StringBuilder b = new StringBuilder();
        new TreeMap<>(txns).forEach((t, st) -> b.append(t).append(st.prepared ? " prepared" : "")
                .append(st.wounded ? " wounded" : "").append(" holds ").append(st.held)
                .append(" waits ").append(st.waiting.keySet()).append('\n'));
        return b.toString();
    }

    /** Other transactions holding a lock that conflicts with {@code lock}, oldest first. */
    private TreeSet<TxnId> conflictingHolders(TxnId txn, Lock lock) {
        TreeSet<TxnId> out = new TreeSet<>();
        holders.intersecting(lock.target(), (h, m) -> {
            if (!h.equals(txn) && m.conflictsWith(lock.mode())) {
                out.add(h);
            }
        });
        return out;
    }

    /** Whether an older transaction's waiting request conflicting with {@code lock} is queued (ahead of txn's). */
    private boolean olderWaiterAhead(TxnId txn, Lock lock) {
        boolean[] found = new boolean[1];
        waiterIndex.intersecting(lock.target(), (other, w) -> {
            if (other.olderThan(txn) && w.lock().mode().conflictsWith(lock.mode())) {
                found[0] = true;
            }
        });
        return found[0];
    }

    private void hold(TxnId txn, TxnState st, Lock lock) {
        Target t = lock.target();
        if (st.held.containsKey(t)) {
            holders.remove(t, txn);
        }
        st.held.put(t, lock.mode());
        holders.put(t, txn, lock.mode());
    }

    private void enqueue(TxnState st, Waiter w) {
        Target t = w.lock().target();
        assert !st.waiting.containsKey(t) : w.txn() + " already waits for " + t;
        st.waiting.put(t, w);
        if (st.held.containsKey(t)) {
            st.waitingUpgrades++;
        }
        queue.add(w);
        waiterIndex.put(t, w.txn(), w);
    }

    private void dequeue(Waiter w) {
        Target t = w.lock().target();
        TxnState st = txns.get(w.txn());
        queue.remove(w);
        waiterIndex.remove(t, w.txn());
        st.waiting.remove(t);
        if (st.held.containsKey(t)) {
            st.waitingUpgrades--;
        }
    }

    /** Wounds {@code txn}: it keeps its locks until released, but its waiting requests leave the queue now. */
    private void wound(TxnId txn, List<Target> vacated) {
        TxnState st = txns.get(txn);
        st.wounded = true;
        for (Waiter w : List.copyOf(st.waiting.values())) {
            dequeue(w);
            vacated.add(w.lock().target());
        }
    }

    /**
     * Grants, in queue order, every waiting request that intersects a vacated target and is no longer blocked. One
     * ordered pass suffices: a grant only adds a holder, which never unblocks anyone; and a request that intersects
     * no vacated target lost none of its blockers.
     */
    private List<Grant> regrant(List<Target> vacated) {
        if (vacated.isEmpty() || queue.isEmpty()) {
            return List.of();
        }
        TreeSet<Waiter> candidates = new TreeSet<>(QUEUE_ORDER);
        for (Target t : vacated) {
            waiterIndex.intersecting(t, (txn, w) -> candidates.add(w));
        }
        List<Grant> granted = new ArrayList<>();
        for (Waiter w : candidates) {
            if (conflictingHolders(w.txn(), w.lock()).isEmpty() && !olderWaiterAhead(w.txn(), w.lock())) {
                dequeue(w);
                hold(w.txn(), txns.get(w.txn()), w.lock());
                granted.add(new Grant(w.txn(), w.lock()));
            }
        }
        return granted;
    }
}
