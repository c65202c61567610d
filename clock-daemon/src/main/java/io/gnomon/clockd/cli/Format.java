package io.gnomon.clockd.cli;

import io.gnomon.truetime.ClockSnapshot;
import io.gnomon.truetime.TimeInterval;

import java.time.Instant;
import java.util.Locale;

/** How intervals and durations are printed by the command-line tools. */
public final class Format {
    private Format() {
    }

    public static String instant(long epochNanos) {
        return Instant.ofEpochSecond(Math.floorDiv(epochNanos, 1_000_000_000L), Math.floorMod(epochNanos, 1_000_000_000L))
                .toString();
    }

    /**
     * A duration in the most readable unit: ns, µs, ms or s; "unbounded" for a bound that saturated
     * ({@link ClockSnapshot#SATURATED_BOUND}: an unsynchronized clock), which would read "2305843009.214 s".
     */
    public static String nanos(long nanos) {
        long a = Math.abs(nanos);
        if (a >= ClockSnapshot.SATURATED_BOUND) {
            return "unbounded";
        }
        if (a < 10_000) {
            return nanos + " ns";
        } else if (a < 10_000_000) {
            return String.format(Locale.ROOT, "%.1f µs", nanos / 1e3);
        } else if (a < 10_000_000_000L) {
            return String.format(Locale.ROOT, "%.3f ms", nanos / 1e6);
        }
        return String.format(Locale.ROOT, "%.3f s", nanos / 1e9);
    }

    public static String interval(TimeInterval iv) {
        return midpoint(iv) + "  [" + instant(iv.earliestEpochNanos()) + ", " + instant(iv.latestEpochNanos()) + "]";
    }

    /** The interval as its midpoint ± ε, without the bounds. */
    public static String midpoint(TimeInterval iv) {
        long mid = iv.earliestEpochNanos() + (iv.latestEpochNanos() - iv.earliestEpochNanos()) / 2;
        return instant(mid) + " ± " + nanos(iv.epsilonNanos());
    }
}
