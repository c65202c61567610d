package io.gnomon.txn;

import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.TimeInterval;

/**
 * The time passed with every input of {@link TwoPhaseCommit}: the monotonic reading for timeouts, the TrueTime
 * reading and its status for timestamps, and the group leader's lease end ({@code PaxosReplica
 * .leaseEndEpochNanos()}, {@link Long#MIN_VALUE} when it holds none).
 */
public record TxnNow(long monotonicNanos, TimeInterval trueTime, ClockStatus clockStatus, long leaseEndEpochNanos) {
    public TxnNow {
        if (trueTime == null || clockStatus == null) {
            throw new IllegalArgumentException("trueTime and clockStatus must not be null");
        }
    }
}
