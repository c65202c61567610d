package io.gnomon.clockd.select;

import io.gnomon.truetime.ClockSnapshot;
import io.gnomon.truetime.ClockStatus;

import java.util.List;

/**
 * The embedded default for a daemon with no time source configured: the local system clock, assumed (not
 * measured) to be within an operator-chosen bound of true time. Its status is always
 * {@link ClockStatus#UNVERIFIED}, which readers refuse unless told otherwise: never silently synchronized.
 * Pure.
 */
public final class LocalAssumption {
    private final long assumedErrorNanos;
    private final long maxDriftPpb;
    private final long voidAfterNanos;

    public LocalAssumption(long assumedErrorNanos, long maxDriftPpb, long voidAfterNanos) {
        if (assumedErrorNanos < 0 || maxDriftPpb < 0 || voidAfterNanos <= 0) {
            throw new IllegalArgumentException("bad local assumption: error " + assumedErrorNanos + " ns, drift "
                    + maxDriftPpb + " ppb, void after " + voidAfterNanos + " ns");
        }
        this.assumedErrorNanos = assumedErrorNanos;
        this.maxDriftPpb = maxDriftPpb;
        this.voidAfterNanos = voidAfterNanos;
    }

    /**
     * @param realtimeMinusMonotonicNanos the system realtime clock minus the monotonic clock, read now
     * @param readUncertaintyNanos        how far apart the two clock readings could be (their bracket)
     */
    public Estimate estimate(long nowMonotonicNanos, long realtimeMinusMonotonicNanos, long readUncertaintyNanos) {
        long bound = assumedErrorNanos + Math.max(0, readUncertaintyNanos);
        ClockSnapshot s = new ClockSnapshot(nowMonotonicNanos, realtimeMinusMonotonicNanos, bound, maxDriftPpb,
                nowMonotonicNanos + voidAfterNanos, ClockStatus.UNVERIFIED);
        String reason = String.format(java.util.Locale.ROOT,
                "no time source configured: the local system clock is assumed within ±%.3f ms of true time "
                        + "(unverified; configure NTP servers)", assumedErrorNanos / 1e6);
        return new Estimate(s, 0, List.of(new SourceState("local", "local", true, false, 0, 0, bound, true)), reason);
    }
}
