package io.gnomon.txn;

import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.TimeInterval;

/**
 * The timestamps one group leader assigns: prepare timestamps, commit timestamps and the promises that advance
 * followers' safe time (docs/transactions.md, "TimestampOracle"). Pure: the TrueTime reading, its status and the
 * leader's lease end are passed in. One instance per group replica; every timestamp found in the group's log is
 * {@link #observe observed} on every replica, so a replica that becomes leader never assigns one again.
 *
 * <pre>{@code
 * Assignment a = oracle.assign(trueTime.now(), status, maxPrepareTs, replica.leaseEndEpochNanos());
 * if (a instanceof Assignment.Assigned s) { ... s.timestampEpochNanos() ... }
 * }</pre>
 *
 * Why a leader's timestamps exceed its predecessor's (Spanner 4.1.2, disjointness): a timestamp is assigned only
 * below the assigning leader's lease end, successive leases are disjoint in true time, and a new leader assigns
 * at least {@code TT.now().latest}, read after its own lease began, so after the old lease ended.
 */
public final class TimestampOracle {
    private final long maxEpsilonNanos;
    private final boolean acceptUnverifiedClock;
    /** Every timestamp at or below this was assigned, promised or observed: the next one is above it. */
    private long maxAssignedEpochNanos = -1;

    /** @param maxEpsilonNanos the widest TrueTime half-interval a timestamp may be taken from (TxnLimits) */
    public TimestampOracle(long maxEpsilonNanos) {
        this(maxEpsilonNanos, false);
    }

    /** @param acceptUnverifiedClock take timestamps from an UNVERIFIED clock too ({@link TxnLimits#acceptUnverifiedClock}) */
    public TimestampOracle(long maxEpsilonNanos, boolean acceptUnverifiedClock) {
        this.acceptUnverifiedClock = acceptUnverifiedClock;
        if (maxEpsilonNanos <= 0) {
            throw new IllegalArgumentException("maxEpsilonNanos must be > 0, was " + maxEpsilonNanos);
        }
        this.maxEpsilonNanos = maxEpsilonNanos;
    }

    /** What {@link #assign} and {@link #promiseBelow} answer. */
    public sealed interface Assignment {
        /** The timestamp, remembered: nothing at or below it is assigned again. */
        record Assigned(long timestampEpochNanos) implements Assignment {
        }

        /** Nothing assigned; {@code reason} names the clock status and ε, or the lease end. */
        record Refused(String reason) implements Assignment {
        }
    }

    /**
     * {@code s = max(now.latest, maxAssigned + 1, floor)}, refused when the clock is not usable, its ε is over the
     * ceiling, or {@code s} is not below the lease end ({@link Long#MIN_VALUE}: no lease).
     */
    public Assignment assign(TimeInterval now, ClockStatus status, long floorEpochNanos, long leaseEndEpochNanos) {
        String refusal = clockRefusal(now, status, leaseEndEpochNanos);
        if (refusal != null) {
            return new Assignment.Refused(refusal);
        }
        long s = Math.max(Math.max(now.latestEpochNanos(), maxAssignedEpochNanos + 1), floorEpochNanos);
        if (s >= leaseEndEpochNanos) {
            return new Assignment.Refused("timestamp " + s + " is not below this leader's lease end "
                    + leaseEndEpochNanos + ": a timestamp must lie inside the lease that assigns it");
        }
        maxAssignedEpochNanos = s;
        assert s >= now.latestEpochNanos() && s >= floorEpochNanos;
        return new Assignment.Assigned(s);
    }

    /**
     * Spanner's MinNextTS: a promise {@code P} that no timestamp this leader assigns from now on is {@code <= P},
     * {@code P = min(max(now.latest, maxAssigned + 1) - 1, leaseEnd - 1)}, kept by raising the floor to {@code P}.
     * Refused (nothing promised) on an unusable clock, an ε over the ceiling or no lease.
     */
    public Assignment promiseBelow(TimeInterval now, ClockStatus status, long leaseEndEpochNanos) {
        String refusal = clockRefusal(now, status, leaseEndEpochNanos);
        if (refusal != null) {
            return new Assignment.Refused(refusal);
        }
        long p = Math.min(Math.max(now.latestEpochNanos(), maxAssignedEpochNanos + 1) - 1, leaseEndEpochNanos - 1);
        maxAssignedEpochNanos = Math.max(maxAssignedEpochNanos, p);
        return new Assignment.Assigned(p);
    }

    /** A timestamp found in the log (replay, a record decided): never assigned again. */
    public void observe(long timestampEpochNanos) {
        maxAssignedEpochNanos = Math.max(maxAssignedEpochNanos, timestampEpochNanos);
    }

    /** The largest timestamp assigned, promised or observed; -1 if none. */
    public long maxAssignedEpochNanos() {
        return maxAssignedEpochNanos;
    }

    private String clockRefusal(TimeInterval now, ClockStatus status, long leaseEndEpochNanos) {
        long epsilonNanos = now.epsilonNanos();
        if (!status.isUsable() && !(acceptUnverifiedClock && status == ClockStatus.UNVERIFIED)) {
            return "clock status " + status + " (epsilon " + epsilonNanos
                    + " ns) is not usable: no timestamp is taken from it";
        }
        if (epsilonNanos > maxEpsilonNanos) {
            return "clock epsilon " + epsilonNanos + " ns (status " + status + ") exceeds maxEpsilonNanos "
                    + maxEpsilonNanos;
        }
        if (leaseEndEpochNanos == Long.MIN_VALUE) {
            return "this replica holds no leader lease: only a leaseholder assigns timestamps";
        }
        return null;
    }
}
