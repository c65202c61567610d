package io.gnomon.clockd.testing;

import io.gnomon.clockd.SystemClocks;
import io.gnomon.clockd.select.Measurement;

/**
 * Checks a measurement against this host's own clock offset (realtime minus monotonic), read now. The reading is
 * a bracket: a thread preempted between its clock reads (a loaded machine) moves the midpoint by up to half the
 * bracket, so the check allows the reading's own uncertainty as the product does ({@code ChronyBound}), instead of
 * failing once in many runs on a busy machine.
 */
public final class SystemOffset {
    private SystemOffset() {
    }

    /** Empty when {@code m}, aged to now at {@code driftPpb}, contains the host's offset; else what missed. */
    public static String missedBy(Measurement m, long driftPpb) {
        SystemClocks.Pair now = SystemClocks.SYSTEM.readPair();
        long truth = now.realtimeMinusMonotonicNanos();
        long mid = now.monotonicBeforeNanos() + (now.monotonicAfterNanos() - now.monotonicBeforeNanos()) / 2;
        long allowed = m.boundAt(mid, driftPpb) + now.uncertaintyNanos();
        long error = Math.abs(truth - m.epochOffsetNanos());
        return error <= allowed ? "" : m + " misses the system clock offset " + truth + " by " + error + " > " + allowed;
    }
}
