package io.gnomon.truetime.clockbound;

/**
 * The clock error bound of a ClockBound v2 segment, with its two timespecs as nanoseconds of
 * CLOCK_MONOTONIC_COARSE. A client computes, from a CLOCK_REALTIME reading {@code r} and a monotonic reading
 * {@code m} taken after it:
 * <pre>
 *   bound    = boundNanos + maxDriftPpb * (m - asOf) / 1e9
 *   interval = [r - bound, r + bound]             (usable while m is before voidAfter)
 * </pre>
 *
 * @param asOfMonotonicCoarseNanos      when the bound was computed (CLOCK_MONOTONIC_COARSE)
 * @param voidAfterMonotonicCoarseNanos after this the bound must not be trusted (CLOCK_MONOTONIC_COARSE)
 * @param boundNanos                    bound on |CLOCK_REALTIME - true time| at as-of
 * @param disruptionMarker              the VMClock disruption marker the writer last read (0: none)
 * @param maxDriftPpb                   growth of the bound per elapsed nanosecond, in parts per billion (u32)
 * @param statusCode                    ClockBound status: 0 unknown, 1 synchronized, 2 free running, 3 disrupted
 * @param clockDisruptionSupport        whether clients must compare the marker with the VMClock device's
 */
public record ClockBoundSnapshot(long asOfMonotonicCoarseNanos, long voidAfterMonotonicCoarseNanos, long boundNanos,
                                 long disruptionMarker, long maxDriftPpb, int statusCode,
                                 boolean clockDisruptionSupport) {
    public ClockBoundSnapshot {
        if (boundNanos < 0) {
            throw new IllegalArgumentException("boundNanos must be >= 0, was " + boundNanos);
        }
        if (maxDriftPpb < 0 || maxDriftPpb > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("maxDriftPpb must fit a u32, was " + maxDriftPpb);
        }
    }
}
