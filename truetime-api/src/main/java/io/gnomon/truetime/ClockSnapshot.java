package io.gnomon.truetime;

/**
 * What the clock daemon publishes: its estimate of true time against the local monotonic clock at one
 * instant, and the error bound at that instant. A reader extrapolates it to any later monotonic reading:
 * <pre>
 *   elapsed  = monotonicNow - asOfMonotonicNanos
 *   midpoint = monotonicNow + epochOffsetNanos
 *   bound    = boundNanos + ceil(|elapsed| * maxDriftPpb / 1e9)
 *   interval = [midpoint - bound, midpoint + bound]
 * </pre>
 * The bound grows by the maximum drift because the local monotonic clock's rate may differ from true
 * time's by at most that much (docs/clock-accuracy.md). Past {@code voidAfterMonotonicNanos} the snapshot
 * is void: the writer may be dead and nothing vouches for it.
 *
 * @param asOfMonotonicNanos      CLOCK_MONOTONIC ({@link System#nanoTime()}) when the estimate was made
 * @param epochOffsetNanos        estimated true time (ns since the epoch) minus CLOCK_MONOTONIC, at as-of
 * @param boundNanos              half-width of the interval at as-of, an upper bound on the estimate's error
 * @param maxDriftPpb             growth of the bound per elapsed monotonic nanosecond, in parts per billion
 * @param voidAfterMonotonicNanos CLOCK_MONOTONIC reading after which the snapshot must not be used
 * @param status                  what the daemon vouches for
 */
public record ClockSnapshot(long asOfMonotonicNanos, long epochOffsetNanos, long boundNanos, long maxDriftPpb,
                            long voidAfterMonotonicNanos, ClockStatus status) {

    public ClockSnapshot {
        if (boundNanos < 0) {
            throw new IllegalArgumentException("boundNanos must be >= 0, was " + boundNanos);
        }
        if (maxDriftPpb < 0 || maxDriftPpb > MAX_DRIFT_PPB_LIMIT) {
            throw new IllegalArgumentException("maxDriftPpb must be in [0, " + MAX_DRIFT_PPB_LIMIT + "], was " + maxDriftPpb);
        }
        if (status == null) {
            throw new IllegalArgumentException("status must not be null");
        }
    }

    /** 10% drift: far beyond any oscillator; a larger value is a corrupt segment, not a clock. */
    public static final long MAX_DRIFT_PPB_LIMIT = 100_000_000L;

    /** The bound at monotonic time {@code monotonicNanos}. */
    public long boundAt(long monotonicNanos) {
        return boundAt(boundNanos, maxDriftPpb, monotonicNanos - asOfMonotonicNanos);
    }

    /** The interval at monotonic time {@code monotonicNanos}. */
    public TimeInterval intervalAt(long monotonicNanos) {
        return TimeInterval.around(monotonicNanos + epochOffsetNanos, boundAt(monotonicNanos));
    }

    /** Whether the snapshot may still be used at {@code monotonicNanos}. */
    public boolean isVoidAt(long monotonicNanos) {
        return monotonicNanos - voidAfterMonotonicNanos > 0;
    }

    /**
     * {@code boundNanos + ceil(|elapsedNanos| * driftPpb / 1e9)}, saturating at {@code Long.MAX_VALUE / 4}
     * so that a midpoint plus or minus the bound cannot overflow. Elapsed time is taken in absolute value:
     * extrapolating backwards is as uncertain as forwards.
     */
    public static long boundAt(long boundNanos, long driftPpb, long elapsedNanos) {
        long e = elapsedNanos < 0 ? -elapsedNanos : elapsedNanos;
        if (e < 0) { // Long.MIN_VALUE
            return SATURATED_BOUND;
        }
        long seconds = e / 1_000_000_000L;
        long rest = e - seconds * 1_000_000_000L;
        // rest * driftPpb < 1e9 * 1e8 fits a long; seconds * driftPpb may not: check before multiplying.
        if (seconds > SATURATED_BOUND / Math.max(1L, driftPpb)) {
            return SATURATED_BOUND;
        }
        long growth = seconds * driftPpb + (rest * driftPpb + 999_999_999L) / 1_000_000_000L;
        long bound = boundNanos + growth;
        return bound < 0 || bound > SATURATED_BOUND ? SATURATED_BOUND : bound;
    }

    /** The largest bound ever reported: about 73 years, far wider than any usable clock. */
    public static final long SATURATED_BOUND = Long.MAX_VALUE / 4;
}
