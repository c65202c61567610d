package io.gnomon.clockd.sim;

/**
 * The host's CLOCK_MONOTONIC as a function of simulated true time: it advances at rate {@code 1 + f}, where
 * the frequency error {@code f} is piecewise constant and changed only by {@link #setFrequency}. Readings are
 * whole nanoseconds (the floor of the continuous clock), as the real clock's are.
 *
 * <p>A short history of segments is kept so that readers can be placed at instants since the previous
 * publish, after the fact. Each segment starts where the previous one ends, so the clock is continuous and
 * never goes backwards. The fractional part is carried in a double relative to the segment start, which
 * keeps sub-nanosecond precision for segments of any length the simulator uses.
 */
final class Oscillator {
    private static final int HISTORY = 256;

    private final double maxFrequencyError;
    private final long[] startTrueNanos = new long[HISTORY];
    private final long[] startMonotonicNanos = new long[HISTORY];
    private final double[] startFraction = new double[HISTORY];
    private final double[] frequencyError = new double[HISTORY];
    private int newest;
    private int size;

    /**
     * @param maxFrequencyError   the clamp on |f| (e.g. 2e-4 for 200 ppm)
     * @param startTrueNanos      true time of the first segment
     * @param startMonotonicNanos the monotonic reading at that instant
     * @param frequencyError      initial f, clamped
     */
    Oscillator(double maxFrequencyError, long startTrueNanos, long startMonotonicNanos, double frequencyError) {
        if (!(maxFrequencyError >= 0 && maxFrequencyError < 0.1)) {
            throw new IllegalArgumentException("maxFrequencyError must be in [0, 0.1), was " + maxFrequencyError);
        }
        this.maxFrequencyError = maxFrequencyError;
        this.startTrueNanos[0] = startTrueNanos;
        this.startMonotonicNanos[0] = startMonotonicNanos;
        this.startFraction[0] = 0;
        this.frequencyError[0] = clamp(frequencyError);
        this.newest = 0;
        this.size = 1;
    }

    double maxFrequencyError() {
        return maxFrequencyError;
    }

    /** The current frequency error. */
    double frequencyError() {
        return frequencyError[newest];
    }

    /** Clamps {@code f} to [-max, +max]: the daemon's assumption, unless the scenario is a control. */
    double clamp(double f) {
        return Math.max(-maxFrequencyError, Math.min(maxFrequencyError, f));
    }

    /** From {@code atTrueNanos} on (not before the current segment's start) the frequency error is {@code f}. */
    void setFrequency(long atTrueNanos, double f) {
        long t0 = startTrueNanos[newest];
        if (atTrueNanos < t0) {
            throw new IllegalArgumentException("frequency change at " + atTrueNanos + " before segment start " + t0);
        }
        long elapsed = atTrueNanos - t0;
        double x = startFraction[newest] + elapsed * frequencyError[newest];
        double whole = Math.floor(x);
        long monotonic = startMonotonicNanos[newest] + elapsed + (long) whole;
        int next = (newest + 1) % HISTORY;
        startTrueNanos[next] = atTrueNanos;
        startMonotonicNanos[next] = monotonic;
        startFraction[next] = x - whole;
        frequencyError[next] = clamp(f);
        newest = next;
        size = Math.min(size + 1, HISTORY);
        assert startFraction[next] >= 0 && startFraction[next] < 1 : "fraction in [0, 1)";
    }

    /** The monotonic reading at true time {@code trueNanos}, which must not precede the kept history. */
    long monotonicAt(long trueNanos) {
        int i = newest;
        for (int k = 0; k < size; k++) {
            if (startTrueNanos[i] <= trueNanos) {
                long elapsed = trueNanos - startTrueNanos[i];
                double x = startFraction[i] + elapsed * frequencyError[i];
                return startMonotonicNanos[i] + elapsed + (long) Math.floor(x);
            }
            i = (i - 1 + HISTORY) % HISTORY;
        }
        throw new IllegalStateException("true time " + trueNanos + " precedes the oscillator's kept history");
    }
}
