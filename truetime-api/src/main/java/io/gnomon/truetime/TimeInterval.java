package io.gnomon.truetime;

/**
 * An interval of true time, in nanoseconds since the Unix epoch (UTC, leap seconds not counted),
 * guaranteed to contain the instant at which it was read.
 *
 * <pre>{@code
 * TimeInterval now = trueTime.now();
 * long commitTimestamp = now.latestEpochNanos();   // no earlier than true time
 * }</pre>
 *
 * @param earliestEpochNanos true time was at least this
 * @param latestEpochNanos   true time was at most this
 */
public record TimeInterval(long earliestEpochNanos, long latestEpochNanos) {

    /** @throws IllegalArgumentException if {@code earliest > latest} */
    public TimeInterval {
        if (earliestEpochNanos > latestEpochNanos) {
            throw new IllegalArgumentException(
                    "earliest " + earliestEpochNanos + " is after latest " + latestEpochNanos);
        }
    }

    /** The interval {@code [midpoint - bound, midpoint + bound]}, saturating at the range of {@code long}. */
    public static TimeInterval around(long midpointEpochNanos, long boundNanos) {
        if (boundNanos < 0) {
            throw new IllegalArgumentException("bound must be >= 0, was " + boundNanos);
        }
        return new TimeInterval(saturatedSubtract(midpointEpochNanos, boundNanos),
                saturatedAdd(midpointEpochNanos, boundNanos));
    }

    /**
     * Epsilon: half the width, rounded up, so {@code [mid - ε, mid + ε]} covers the interval. Saturates at
     * {@code Long.MAX_VALUE} for the one width whose half does not fit (the whole range of {@code long}).
     */
    public long epsilonNanos() {
        // latest >= earliest, so the difference is exact as an unsigned 64-bit number even where the
        // signed one overflows; halve it unsigned and round up.
        long width = latestEpochNanos - earliestEpochNanos;
        long epsilon = (width >>> 1) + (width & 1);
        return epsilon < 0 ? Long.MAX_VALUE : epsilon;
    }

    /** Whether {@code epochNanos} lies inside the interval (both ends included). */
    public boolean contains(long epochNanos) {
        return earliestEpochNanos <= epochNanos && epochNanos <= latestEpochNanos;
    }

    static long saturatedAdd(long a, long b) {
        long r = a + b;
        if (((a ^ r) & (b ^ r)) < 0) {
            return a < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
        return r;
    }

    static long saturatedSubtract(long a, long b) {
        long r = a - b;
        if (((a ^ b) & (a ^ r)) < 0) {
            return a < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
        return r;
    }
}
