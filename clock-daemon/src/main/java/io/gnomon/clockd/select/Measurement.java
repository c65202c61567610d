package io.gnomon.clockd.select;

/**
 * One source's evidence about true time: at local monotonic instant {@code atMonotonicNanos}, true time
 * (ns since the epoch) minus CLOCK_MONOTONIC lay within {@code epochOffsetNanos ± boundNanos}.
 * Every term of the bound is an upper bound (docs/clock-accuracy.md); the interval only widens with age.
 *
 * @param atMonotonicNanos CLOCK_MONOTONIC when the evidence holds (for NTP: when the reply arrived, t4)
 * @param epochOffsetNanos midpoint of the offset interval: true epoch time minus monotonic time
 * @param boundNanos       half-width of the offset interval, at {@code atMonotonicNanos}
 * @param delayNanos       the round trip it came from (0 for a non-network source); lower is better
 */
public record Measurement(long atMonotonicNanos, long epochOffsetNanos, long boundNanos, long delayNanos) {
    public Measurement {
        if (boundNanos < 0) {
            throw new IllegalArgumentException("boundNanos must be >= 0, was " + boundNanos);
        }
        if (delayNanos < 0) {
            throw new IllegalArgumentException("delayNanos must be >= 0, was " + delayNanos);
        }
    }

    /** Lower end of the offset interval, aged to {@code monotonicNanos} at {@code driftPpb}. */
    public long lowAt(long monotonicNanos, long driftPpb) {
        return epochOffsetNanos - boundAt(monotonicNanos, driftPpb);
    }

    /** Upper end of the offset interval, aged to {@code monotonicNanos} at {@code driftPpb}. */
    public long highAt(long monotonicNanos, long driftPpb) {
        return epochOffsetNanos + boundAt(monotonicNanos, driftPpb);
    }

    /** The bound aged to {@code monotonicNanos}: it grows by the maximum drift in either direction of time. */
    public long boundAt(long monotonicNanos, long driftPpb) {
        return io.gnomon.truetime.ClockSnapshot.boundAt(boundNanos, driftPpb, monotonicNanos - atMonotonicNanos);
    }
}
