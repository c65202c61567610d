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
 * @param realtimeSinceMonotonicNanos for evidence read against the host's realtime clock (chronyd's correction,
 *                         ptp4l's offset): the earliest monotonic instant whose realtime scale it depends on (chronyd's
 *                         last update, ptp4l's Sync ingress), converted early rather than late. The evidence holds only
 *                         if the realtime clock was not stepped between then and {@code atMonotonicNanos}: a step in
 *                         between voids it ({@link ClockEstimator#onDisruption}). {@link #NOT_REALTIME} for evidence
 *                         measured against CLOCK_MONOTONIC alone (an NTP exchange), which no realtime step touches.
 * @param windowSinceMonotonicNanos for chronyd's reports: a monotonic instant no later than the oldest sample any
 *                         of chronyd's sources held in its regression window when chronyd made the update reported,
 *                         as chronyd's SOURCESTATS and SOURCE_DATA tell it (its span and the age of its last sample),
 *                         converted early; {@link #WINDOW_UNKNOWN} when not known. {@link ClockEstimator} uses it to
 *                         accept chronyd again after a realtime step as soon as its windows are all newer than the step.
 */
public record Measurement(long atMonotonicNanos, long epochOffsetNanos, long boundNanos, long delayNanos,
                          long realtimeSinceMonotonicNanos, long windowSinceMonotonicNanos) {
    /** {@link #realtimeSinceMonotonicNanos()} of evidence that never read the realtime clock. */
    public static final long NOT_REALTIME = Long.MAX_VALUE;
    /** {@link #windowSinceMonotonicNanos()} when nothing is known of the samples behind the evidence. */
    public static final long WINDOW_UNKNOWN = Long.MIN_VALUE;

    /** Evidence with nothing known of the samples behind it ({@link #WINDOW_UNKNOWN}). */
    public Measurement(long atMonotonicNanos, long epochOffsetNanos, long boundNanos, long delayNanos,
                       long realtimeSinceMonotonicNanos) {
        this(atMonotonicNanos, epochOffsetNanos, boundNanos, delayNanos, realtimeSinceMonotonicNanos, WINDOW_UNKNOWN);
    }

    /** Evidence measured against CLOCK_MONOTONIC alone (an NTP exchange): no realtime step can spoil it. */
    public Measurement(long atMonotonicNanos, long epochOffsetNanos, long boundNanos, long delayNanos) {
        this(atMonotonicNanos, epochOffsetNanos, boundNanos, delayNanos, NOT_REALTIME);
    }

    public Measurement {
        if (realtimeSinceMonotonicNanos != NOT_REALTIME && realtimeSinceMonotonicNanos - atMonotonicNanos > 0) {
            throw new IllegalArgumentException("realtimeSinceMonotonicNanos " + realtimeSinceMonotonicNanos
                    + " is after atMonotonicNanos " + atMonotonicNanos);
        }
        if (windowSinceMonotonicNanos != WINDOW_UNKNOWN && windowSinceMonotonicNanos - atMonotonicNanos > 0) {
            throw new IllegalArgumentException("windowSinceMonotonicNanos " + windowSinceMonotonicNanos
                    + " is after atMonotonicNanos " + atMonotonicNanos);
        }
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

    /** Whether this evidence was read against the realtime clock, so that a realtime step can spoil it. */
    public boolean readsRealtime() {
        return realtimeSinceMonotonicNanos != NOT_REALTIME;
    }

    /** The same evidence with {@code extraNanos} more half-width (saturating). */
    public Measurement widenedBy(long extraNanos) {
        if (extraNanos < 0) {
            throw new IllegalArgumentException("extraNanos must be >= 0, was " + extraNanos);
        }
        long b = boundNanos + extraNanos;
        return new Measurement(atMonotonicNanos, epochOffsetNanos,
                b < 0 || b > io.gnomon.truetime.ClockSnapshot.SATURATED_BOUND
                        ? io.gnomon.truetime.ClockSnapshot.SATURATED_BOUND : b,
                delayNanos, realtimeSinceMonotonicNanos, windowSinceMonotonicNanos);
    }

    /** The same evidence with {@link #windowSinceMonotonicNanos()} set. */
    public Measurement withWindowSince(long windowSinceMonotonicNanos) {
        return new Measurement(atMonotonicNanos, epochOffsetNanos, boundNanos, delayNanos,
                realtimeSinceMonotonicNanos, windowSinceMonotonicNanos);
    }
}
