package io.gnomon.txn;

import io.gnomon.truetime.ClockStatus;

import java.util.concurrent.TimeUnit;

/**
 * Every bound of the transaction cores, with its unit (STYLE rule 17). A request over a limit is refused with the
 * limit's name and value; nothing is half-done.
 *
 * @param maxLocksPerTxn        locks (keys and ranges) one transaction may hold or wait for in one group
 * @param maxLockedTxns         transactions holding or waiting for locks in one group
 * @param maxWaitingRequests    lock requests waiting in one group
 * @param maxPreparedTxns       transactions prepared and not yet resolved in one group
 * @param maxEpsilonNanos       the widest TrueTime half-interval a timestamp may be taken from; wider: refused
 * @param idleTxnTimeoutNanos   a read-write transaction with no request for this long is aborted (its client
 *                              vanished) and its locks released
 * @param prepareTimeoutNanos   a coordinator that has not heard every participant's Prepared for this long aborts
 * @param inquireIntervalNanos  a prepared participant that has not learned the outcome asks the coordinator again
 *                              after this long
 * @param acceptUnverifiedClock take timestamps from an {@link ClockStatus#UNVERIFIED} clock too (the host's clock
 *                              widened by an operator-stated ε, no time source: one host's processes, tests, the
 *                              local launcher); false by default, since such an interval is an assumption
 * @param outcomeRetentionNanos H: a transaction's outcome is remembered until the transaction is older than H (its
 *                              age: {@code TT.now() - TxnId.priorityEpochNanos}) and, for a coordinator's commit,
 *                              every participant acknowledged logging it; a commit request, locking read or Prepare
 *                              of a transaction that may be older than H is refused for good (docs/transactions.md,
 *                              "Forgetting outcomes"). Longer than any client retries one transaction.
 * @param maxForgetPerRecord    transactions one {@link TxnRecord.Forget} names (its store batch deletes as many rows)
 */
public record TxnLimits(int maxLocksPerTxn, int maxLockedTxns, int maxWaitingRequests, int maxPreparedTxns,
                        long maxEpsilonNanos, long idleTxnTimeoutNanos, long prepareTimeoutNanos,
                        long inquireIntervalNanos, boolean acceptUnverifiedClock, long outcomeRetentionNanos,
                        int maxForgetPerRecord) {
    /** Default H: ten minutes, far beyond a client's retries of one transaction (seconds). */
    public static final long DEFAULT_OUTCOME_RETENTION_NANOS = TimeUnit.MINUTES.toNanos(10);
    public static final int DEFAULT_MAX_FORGET_PER_RECORD = 1_000;

    public static final TxnLimits DEFAULTS = new TxnLimits(10_000, 10_000, 100_000, 10_000,
            TimeUnit.MILLISECONDS.toNanos(50), TimeUnit.SECONDS.toNanos(10), TimeUnit.SECONDS.toNanos(10),
            TimeUnit.MILLISECONDS.toNanos(500));

    /** With {@code acceptUnverifiedClock} false, and the default outcome retention and Forget size. */
    public TxnLimits(int maxLocksPerTxn, int maxLockedTxns, int maxWaitingRequests, int maxPreparedTxns,
                     long maxEpsilonNanos, long idleTxnTimeoutNanos, long prepareTimeoutNanos,
                     long inquireIntervalNanos) {
        this(maxLocksPerTxn, maxLockedTxns, maxWaitingRequests, maxPreparedTxns, maxEpsilonNanos, idleTxnTimeoutNanos,
                prepareTimeoutNanos, inquireIntervalNanos, false);
    }

    /** With the default outcome retention and Forget size. */
    public TxnLimits(int maxLocksPerTxn, int maxLockedTxns, int maxWaitingRequests, int maxPreparedTxns,
                     long maxEpsilonNanos, long idleTxnTimeoutNanos, long prepareTimeoutNanos,
                     long inquireIntervalNanos, boolean acceptUnverifiedClock) {
        this(maxLocksPerTxn, maxLockedTxns, maxWaitingRequests, maxPreparedTxns, maxEpsilonNanos, idleTxnTimeoutNanos,
                prepareTimeoutNanos, inquireIntervalNanos, acceptUnverifiedClock, DEFAULT_OUTCOME_RETENTION_NANOS,
                DEFAULT_MAX_FORGET_PER_RECORD);
    }

    /** These limits, taking timestamps from an {@link ClockStatus#UNVERIFIED} clock too. */
    public TxnLimits acceptingUnverifiedClock() {
        return new TxnLimits(maxLocksPerTxn, maxLockedTxns, maxWaitingRequests, maxPreparedTxns, maxEpsilonNanos,
                idleTxnTimeoutNanos, prepareTimeoutNanos, inquireIntervalNanos, true, outcomeRetentionNanos,
                maxForgetPerRecord);
    }

    /** These limits with outcome retention {@code nanos} (H) and at most {@code maxPerRecord} per Forget. */
    public TxnLimits withOutcomeRetention(long nanos, int maxPerRecord) {
        return new TxnLimits(maxLocksPerTxn, maxLockedTxns, maxWaitingRequests, maxPreparedTxns, maxEpsilonNanos,
                idleTxnTimeoutNanos, prepareTimeoutNanos, inquireIntervalNanos, acceptUnverifiedClock, nanos,
                maxPerRecord);
    }

    /** Whether a timestamp may be taken from a clock of this status under these limits. */
    public boolean clockUsable(ClockStatus status) {
        return status.isUsable() || (acceptUnverifiedClock && status == ClockStatus.UNVERIFIED);
    }

    public TxnLimits {
        positive("maxLocksPerTxn", maxLocksPerTxn);
        positive("maxLockedTxns", maxLockedTxns);
        positive("maxWaitingRequests", maxWaitingRequests);
        positive("maxPreparedTxns", maxPreparedTxns);
        positive("maxEpsilonNanos", maxEpsilonNanos);
        positive("idleTxnTimeoutNanos", idleTxnTimeoutNanos);
        positive("prepareTimeoutNanos", prepareTimeoutNanos);
        positive("inquireIntervalNanos", inquireIntervalNanos);
        positive("outcomeRetentionNanos", outcomeRetentionNanos);
        positive("maxForgetPerRecord", maxForgetPerRecord);
        if (outcomeRetentionNanos <= prepareTimeoutNanos || outcomeRetentionNanos <= idleTxnTimeoutNanos) {
            throw new IllegalArgumentException("outcomeRetentionNanos " + outcomeRetentionNanos + " must exceed"
                    + " prepareTimeoutNanos " + prepareTimeoutNanos + " and idleTxnTimeoutNanos " + idleTxnTimeoutNanos
                    + ": a transaction must be able to finish well within it");
        }
    }

    private static void positive(String name, long value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + " must be > 0, was " + value);
        }
    }
}
