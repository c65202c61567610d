package io.gnomon.truetime;

import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/** The loop behind {@link TrueTime#awaitSynchronized}: poll, bounded by a deadline on an injected clock. */
final class SyncWait {
    private SyncWait() {
    }

    /** How often the clock is asked again: the daemon publishes at least once a second. */
    static final long POLL_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

    static TimeInterval await(TrueTime tt, Duration timeout, Duration maxEpsilon, MonotonicClock clock)
            throws InterruptedException, ClockSyncTimeoutException {
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("timeout must be >= 0, was " + timeout);
        }
        if (maxEpsilon.isNegative()) {
            throw new IllegalArgumentException("maxEpsilon must be >= 0, was " + maxEpsilon);
        }
        long maxEpsilonNanos = saturatedNanos(maxEpsilon);
        long deadline = clock.nanoTime() + saturatedNanos(timeout);
        ClockStatus lastStatus = ClockStatus.UNKNOWN;
        long lastEpsilon = -1;
        String lastReason = "not asked yet";
        ClockUnavailableException lastFailure = null;
        while (true) {
            try {
                TimeInterval now = tt.now();
                lastStatus = tt.status();
                lastEpsilon = now.epsilonNanos();
                if (lastEpsilon <= maxEpsilonNanos) {
                    return now;
                }
                lastReason = "ε " + format(lastEpsilon) + " above the maximum " + format(maxEpsilonNanos);
                lastFailure = null;
            } catch (ClockUnavailableException e) {
                lastStatus = e.status();
                lastEpsilon = -1;
                lastReason = e.getMessage();
                lastFailure = e;
            }
            long remaining = deadline - clock.nanoTime();
            if (remaining <= 0) {
                ClockSyncTimeoutException timedOut = new ClockSyncTimeoutException("TrueTime not usable"
                        + (maxEpsilonNanos >= UNBOUNDED_NANOS ? "" : " with ε <= " + format(maxEpsilonNanos))
                        + " within " + format(saturatedNanos(timeout)) + ": last status "
                        + lastStatus + ", ε " + (lastEpsilon < 0 ? "none" : format(lastEpsilon)) + " (" + lastReason
                        + ")", lastStatus, lastEpsilon);
                timedOut.initCause(lastFailure); // null when the clock answered, only too wide
                throw timedOut;
            }
            LockSupport.parkNanos(Math.min(POLL_INTERVAL_NANOS, remaining));
            if (Thread.interrupted()) {
                throw new InterruptedException("interrupted in awaitSynchronized");
            }
        }
    }

    /** A maximum ε at or above this is no maximum ({@link TrueTime#awaitSynchronized(Duration)} passes one). */
    static final long UNBOUNDED_NANOS = ClockSnapshot.SATURATED_BOUND;

    static long saturatedNanos(Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE / 2;
        }
    }

    private static final String[] UNITS = {"ns", "µs", "ms", "s"};

    /** A duration in the largest unit that keeps it at 1 or more, one decimal: "3.0 ms"; "unbounded" if saturated. */
    static String format(long nanos) {
        if (nanos >= UNBOUNDED_NANOS) {
            return "unbounded";
        }
        double value = nanos;
        int unit = 0;
        while (unit < UNITS.length - 1 && Math.abs(value) >= 1000) {
            value /= 1000;
            unit++;
        }
        return unit == 0 ? nanos + " ns" : String.format(Locale.ROOT, "%.1f %s", value, UNITS[unit]);
    }
}
