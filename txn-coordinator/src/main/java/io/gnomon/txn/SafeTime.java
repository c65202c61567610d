package io.gnomon.txn;

import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Up to which timestamp one replica of one group may serve reads (docs/transactions.md, "SafeTime"): Spanner
 * (OSDI 2012) section 4.1.3, {@code tSafe = min(tPaxosSafe, tTmSafe)}. One per group on every replica, leader or
 * follower; the host feeds it what it applies from the group's log, in log order. A pure core: no clock, no waiting
 * (reads waiting for safe time live in the host, which asks {@link #readyAt} after each input).
 *
 * <ul>
 *   <li>{@code tPaxosSafe}: the highest timestamp of an applied write, raised by the leader's promises
 *       ({@code promise(n, P)}: no entry after log index {@code n} has a timestamp {@code <= P}), each counting once
 *       the replica has applied through its index. Every write at or below it is applied here, because the
 *       timestamps the group's leaders assign only grow with the index (the one exception, a commit of a
 *       transaction prepared here at a coordinator's timestamp, is held back by {@code tTmSafe} until applied).</li>
 *   <li>{@code tTmSafe}: {@code min(prepareTs) - 1} over transactions prepared here and not yet resolved, because a
 *       prepared transaction commits at some {@code s >= prepareTs} not known yet; unbounded when none are.</li>
 * </ul>
 *
 * <p>Input errors are the caller's bugs (a log replayed out of order, a leader breaking its promise) and throw
 * {@link IllegalStateException} or {@link IllegalArgumentException} naming the values; a replica must not serve
 * reads from a state it cannot trust.
 *
 * <p>Example (a follower):
 * <pre>{@code
 * SafeTime s = new SafeTime(1024);
 * s.applied(7, 1_000);          // a commit at ts 1000
 * s.prepared(txn, 1_500);       // entry 8: a prepare at 1500 ...
 * s.applied(8, 1_500);          // ... applied in the same step
 * s.promise(9, 2_000);          // the leader: nothing after entry 9 at or below 2000
 * s.applied(9);                 // safeTime() = min(2000, 1500 - 1) = 1499
 * s.resolved(txn);              // safeTime() = 2000
 * }</pre>
 */
public final class SafeTime {
    /** Nothing applied: no read is safe. */
    public static final long NONE = -1;

    private final int maxPendingPromises;
    private long appliedIndex = -1;
    /** The highest timestamp of an applied entry that carried one. */
    private long maxAppliedTs = NONE;
    /** The highest counted promise. */
    private long promisedTs = NONE;
    /** Promises whose index is not applied yet: index to P, both strictly increasing (dominated ones dropped). */
    private final TreeMap<Long, Long> pendingPromises = new TreeMap<>();
    private final TreeMap<TxnId, Long> prepared = new TreeMap<>();
    /** How many prepared transactions hold each prepare timestamp (for the minimum). */
    private final TreeMap<Long, Integer> prepareTsCounts = new TreeMap<>();

    /**
     * @param maxPendingPromises promises kept while their index is not applied yet; past it the oldest is dropped
     *                           (dropping one only keeps safe time lower until a later promise counts)
     */
    public SafeTime(int maxPendingPromises) {
        if (maxPendingPromises <= 0) {
            throw new IllegalArgumentException("maxPendingPromises must be > 0, was " + maxPendingPromises);
        }
        this.maxPendingPromises = maxPendingPromises;
    }

    /**
     * The log entry at {@code index} is applied, and it holds writes (or a prepare) at {@code ts}: a timestamp the
     * group's leader assigned, so it is at least every one applied before and above every promise made before it.
     *
     * @throws IllegalStateException if {@code index} does not grow, {@code ts} is below an earlier entry's, or
     *                               {@code ts} is at or below a promise made at an earlier index
     */
    public void applied(long index, long ts) {
        if (ts < 0) {
            throw new IllegalArgumentException("an applied timestamp must be >= 0, was " + ts);
        }
        checkIndex(index);
        if (ts < maxAppliedTs) {
            throw new IllegalStateException("entry " + index + " at ts " + ts + " is below ts " + maxAppliedTs
                    + " applied at an earlier index: the log's timestamps must not go back");
        }
        // promises made at earlier indexes bind this entry, counted or not yet (the pending ones grow with index)
        Map.Entry<Long, Long> binding = pendingPromises.lowerEntry(index);
        long promised = binding == null ? promisedTs : Math.max(promisedTs, binding.getValue());
        if (ts <= promised) {
            throw new IllegalStateException("entry " + index + " at ts " + ts + " breaks the leader's promise that "
                    + "nothing after an earlier index is at or below " + promised);
        }
        maxAppliedTs = ts;
        advanceTo(index);
    }

    /**
     * The log entry at {@code index} is applied and carries no timestamp of its own (a no-op, an abort, a
     * membership change, a promise; or the commit of a transaction prepared here, whose commit timestamp may lie
     * below writes applied since its prepare: {@link #resolved} is what lets reads past it).
     *
     * @throws IllegalStateException if {@code index} does not grow
     */
    public void applied(long index) {
        checkIndex(index);
        advanceTo(index);
    }

    /**
     * The leader promises that no entry after log index {@code index} has a timestamp {@code <= promisedBelowTs}
     * (Spanner's MinNextTS, from {@code TimestampOracle.promiseBelow}). It counts once this replica has applied
     * through {@code index}, at once if it has ({@code index} -1: the whole log, at once).
     */
    public void promise(long index, long promisedBelowTs) {
        if (index < -1 || promisedBelowTs < 0) {
            throw new IllegalArgumentException("a promise needs index >= -1 and ts >= 0, was index " + index
                    + ", ts " + promisedBelowTs);
        }
        if (index <= appliedIndex) {
            promisedTs = Math.max(promisedTs, promisedBelowTs);
            return;
        }
        Map.Entry<Long, Long> atOrBefore = pendingPromises.floorEntry(index);
        if (promisedBelowTs <= promisedTs || atOrBefore != null && atOrBefore.getValue() >= promisedBelowTs) {
            return; // a promise counting no later says as much
        }
        // later promises saying no more are dropped: this one counts no later than they do
        pendingPromises.tailMap(index, true).values().removeIf(p -> p <= promisedBelowTs);
        pendingPromises.put(index, promisedBelowTs);
        if (pendingPromises.size() > maxPendingPromises) {
            pendingPromises.pollFirstEntry();
        }
    }

    /**
     * {@code txn} is prepared here at {@code prepareTs} (its prepare record is applied; call {@link #applied} for
     * that entry in the same step). Reads at or above {@code prepareTs} wait until it is {@link #resolved}.
     *
     * @throws IllegalStateException if it is already prepared, or {@code prepareTs} is at or below a counted promise
     *                               (the leader assigned a timestamp it had promised away)
     */
    public void prepared(TxnId txn, long prepareTs) {
        Objects.requireNonNull(txn, "txn");
        if (prepareTs < 0) {
            throw new IllegalArgumentException("a prepare timestamp must be >= 0, was " + prepareTs);
        }
        if (prepared.containsKey(txn)) {
            throw new IllegalStateException(txn + " is already prepared here at " + prepared.get(txn));
        }
        if (prepareTs <= promisedTs) {
            throw new IllegalStateException(txn + " prepared at " + prepareTs + ", at or below the promise "
                    + promisedTs + ": reads up to it may have been served");
        }
        prepared.put(txn, prepareTs);
        prepareTsCounts.merge(prepareTs, 1, Integer::sum);
    }

    /**
     * {@code txn}, prepared here, is resolved (its commit, with its writes applied, or its abort).
     *
     * @throws IllegalStateException if it is not prepared here
     */
    public void resolved(TxnId txn) {
        Long ts = prepared.remove(txn);
        if (ts == null) {
            throw new IllegalStateException(txn + " is not prepared here; only a prepared transaction is resolved");
        }
        prepareTsCounts.compute(ts, (k, n) -> n == 1 ? null : n - 1);
    }

    /** {@code tSafe = min(tPaxosSafe, tTmSafe)}: every read at or below it sees all it must; {@link #NONE} at first. */
    public long safeTime() {
        long paxosSafe = Math.max(maxAppliedTs, promisedTs);
        return prepareTsCounts.isEmpty() ? paxosSafe : Math.min(paxosSafe, prepareTsCounts.firstKey() - 1);
    }

    /** Whether a read at {@code ts} may be served now. */
    public boolean readyAt(long ts) {
        return ts <= safeTime();
    }

    /** The highest log index applied, -1 before any. */
    public long appliedIndex() {
        return appliedIndex;
    }

    /** Transactions prepared here and not resolved. */
    public int preparedCount() {
        return prepared.size();
    }

    private void checkIndex(long index) {
        if (index <= appliedIndex) {
            throw new IllegalStateException("entry " + index + " applied after entry " + appliedIndex
                    + ": log indexes only grow");
        }
    }

    /** Applied through {@code index}: the promises made at or before it count. */
    private void advanceTo(long index) {
        appliedIndex = index;
        while (!pendingPromises.isEmpty() && pendingPromises.firstKey() <= index) {
            promisedTs = Math.max(promisedTs, pendingPromises.pollFirstEntry().getValue());
        }
    }
}
