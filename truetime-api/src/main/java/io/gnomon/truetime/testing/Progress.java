package io.gnomon.truetime.testing;

import io.gnomon.truetime.MonotonicClock;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The progress of a long run of seeds or runs ({@code bin/paxos-sim}, {@code bin/clock-sim},
 * {@code bin/torture-report}), on standard error so that standard output keeps only the results scripts parse.
 * On a terminal it is one line rewritten in place; in a log or a pipe, one line every {@link #LOG_INTERVAL_NANOS}:
 * <pre>
 *   paxos-sim: 1,234/10,000 seeds, 0 failed, 2.8 seeds/s, 52m 10s left
 * </pre>
 * Use: {@code completed(failed)} as each unit ends (from any thread), {@code above(...)} around any other output
 * while it runs, and {@code finish()} before the final results.
 * <pre>
 *   Progress progress = Progress.onStandardError("paxos-sim", "seed", seeds);
 *   ... progress.completed(result.failed()); ...
 *   progress.finish();
 *   System.out.println(summary);
 * </pre>
 * The time left assumes the remaining units take as long as the finished ones did on average; when units differ
 * in cost (a simulated torture run takes a second, a run on processes half a minute), {@link #weighted} takes each
 * unit's expected cost and estimates from the cost done instead.
 */
public final class Progress {
    /** How often a terminal's line is rewritten, at most: faster than this only flickers. */
    public static final long TERMINAL_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(250);
    /** How often a line is written when standard error is not a terminal: often enough to see a run is alive. */
    public static final long LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final String name;
    private final String unit;
    private final long total;
    private final PrintWriter err;
    private final boolean terminal;
    private final MonotonicClock clock;
    /** Each unit's expected cost, in the order they complete; null when every unit costs the same. */
    private final long[] weights;
    private final long totalWeight;
    private long doneWeight;
    private final long startNanos;
    private long lastLineNanos;
    private long done;
    private long failed;
    /** The length of the line now on the terminal, so that a shorter one can blank what it does not cover. */
    private int shownChars;

    /**
     * @param name     what runs, as each line begins ({@code paxos-sim})
     * @param unit     what is counted, singular ({@code seed}); lines add an {@code s}
     * @param total    how many units the run has, at least 1
     * @param err      where lines go
     * @param terminal whether {@code err} is a terminal: one line rewritten with {@code \r}, else a line per interval
     * @param clock    monotonic time for the rate and the interval
     */
    public Progress(String name, String unit, long total, PrintWriter err, boolean terminal, MonotonicClock clock) {
        this(name, unit, total, null, err, terminal, clock);
    }

    /**
     * Units of different cost: {@code weights[i]} is the expected cost of the i-th unit to complete (any scale, each
     * at least 1), and the time left is the cost still to come at the rate the cost done took.
     */
    public static Progress weighted(String name, String unit, long[] weights, PrintWriter err, boolean terminal,
                                    MonotonicClock clock) {
        return new Progress(name, unit, weights.length, weights.clone(), err, terminal, clock);
    }

    /** {@link #weighted} on this process's standard error (see {@link #onStandardError}). */
    public static Progress weightedOnStandardError(String name, String unit, long[] weights) {
        return weighted(name, unit, weights, new PrintWriter(System.err), System.console() != null,
                MonotonicClock.SYSTEM);
    }

    private Progress(String name, String unit, long total, long[] weights, PrintWriter err, boolean terminal,
                     MonotonicClock clock) {
        if (total < 1) {
            throw new IllegalArgumentException("total must be >= 1, was " + total);
        }
        long sum = 0;
        if (weights != null) {
            for (long w : weights) {
                if (w < 1) {
                    throw new IllegalArgumentException("every weight must be >= 1, was " + w);
                }
                sum += w;
            }
        }
        this.weights = weights;
        this.totalWeight = weights == null ? total : sum;
        this.name = name;
        this.unit = unit;
        this.total = total;
        this.err = err;
        this.terminal = terminal;
        this.clock = clock;
        this.startNanos = clock.nanoTime();
        this.lastLineNanos = startNanos;
        if (terminal) {
            show(startNanos); // at once: the first unit may take a while
        }
    }

    /** Progress on this process's standard error; a terminal when the JVM has a console (neither stream redirected). */
    public static Progress onStandardError(String name, String unit, long total) {
        return new Progress(name, unit, total, new PrintWriter(System.err), System.console() != null, MonotonicClock.SYSTEM);
    }

    /** One unit ended, {@code failed} or not; writes a line if one is due. */
    public synchronized void completed(boolean failed) {
        if (done >= total) {
            throw new IllegalStateException(name + ": more than the " + total + " " + unit + "s announced completed");
        }
        doneWeight += weights == null ? 1 : weights[(int) done];
        done++;
        if (failed) {
            this.failed++;
        }
        long now = clock.nanoTime();
        if (now - lastLineNanos >= (terminal ? TERMINAL_INTERVAL_NANOS : LOG_INTERVAL_NANOS)
                || (terminal && done == total)) {
            show(now);
        }
    }

    /**
     * Runs {@code print}, which writes other output (a result line, a failure), so that it does not land in the
     * middle of the terminal's progress line: the line is blanked first and redrawn after.
     */
    public synchronized void above(Runnable print) {
        if (!terminal || shownChars == 0) {
            print.run();
            return;
        }
        blank();
        print.run();
        show(clock.nanoTime());
    }

    /** The run is over: a terminal's line is blanked, so that the results start at the left margin. */
    public synchronized void finish() {
        if (terminal && shownChars > 0) {
            blank();
        }
    }

    /** The progress line for {@code now}, as it would be written. */
    public synchronized String line(long nowNanos) {
        long elapsedNanos = Math.max(1, nowNanos - startNanos);
        StringBuilder b = new StringBuilder(name).append(": ")
                .append(String.format(Locale.ROOT, "%,d/%,d %ss, %,d failed", done, total, unit, failed));
        if (done == 0) {
            return b.append(", time left unknown").toString();
        }
        double perSecond = done * 1e9 / elapsedNanos;
        b.append(", ").append(perSecond >= 1 ? String.format(Locale.ROOT, "%.1f %ss/s", perSecond, unit)
                : String.format(Locale.ROOT, 1 / perSecond < 10 ? "%.1f s/%s" : "%.0f s/%s", 1 / perSecond, unit));
        long leftNanos = (long) ((double) elapsedNanos / doneWeight * (totalWeight - doneWeight));
        return b.append(", ").append(done == total ? "done in " + duration(elapsedNanos) : duration(leftNanos) + " left")
                .toString();
    }

    private void show(long now) {
        String line = line(now);
        if (terminal) {
            err.print("\r" + line + " ".repeat(Math.max(0, shownChars - line.length())));
            shownChars = line.length();
        } else {
            err.println(line);
        }
        err.flush();
        lastLineNanos = now;
    }

    private void blank() {
        err.print("\r" + " ".repeat(shownChars) + "\r");
        err.flush();
        shownChars = 0;
    }

    /** {@code 42s}, {@code 3m 05s}, {@code 1h 02m}: as precise as a person reading an estimate wants. */
    static String duration(long nanos) {
        long s = Math.round(nanos / 1e9);
        if (s < 60) {
            return s + "s";
        }
        if (s < 3600) {
            return String.format(Locale.ROOT, "%dm %02ds", s / 60, s % 60);
        }
        return String.format(Locale.ROOT, "%dh %02dm", s / 3600, s % 3600 / 60);
    }
}
