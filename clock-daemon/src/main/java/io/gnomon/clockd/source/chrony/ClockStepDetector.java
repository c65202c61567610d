package io.gnomon.clockd.source.chrony;

import io.gnomon.clockd.SystemClocks;
import io.gnomon.truetime.ClockSnapshot;

/**
 * Notices steps of the realtime clock between consecutive readings, for {@link ChronyBound}'s assumption that the
 * realtime clock was not stepped since chronyd computed its correction.
 *
 * <p>Between two readings {@code p1} and {@code p2} (monotonic midpoints {@code m1 < m2}), realtime minus
 * monotonic can change only by the clocks' rate difference: at most {@code maxDrift * (m2 - m1)}, plus the
 * readings' own uncertainties. A larger change (beyond {@link #TOLERANCE_NANOS} on top) is a step: the first report
 * after it is rejected, and so is every later one with that report's reference time (chronyd's correction may have
 * been computed for the clock before the step); a report with a newer reference time is used again. Once chronyd reports a new update, samples are used
 * again: chronyd notices external steps of the clock by itself and resets its estimates.
 *
 * <p>What it cannot see: a step smaller than the tolerance (its error is not in the bound), and a step between
 * chronyd's update and our first reading. A fast slew by another daemon (chrony slews at up to 83 333 ppm, far
 * above any drift limit) looks like a step and is rejected: the safe side, and such a host violates the drift
 * assumption anyway (docs/clock-accuracy.md, "maximum drift").
 *
 * <p>Not thread-safe: owned by one source's thread.
 */
final class ClockStepDetector {

    /** Unexplained changes of realtime minus monotonic up to this are not called steps. */
    static final long TOLERANCE_NANOS = 1_000_000;
    /** Marks "no reference time seen yet". */
    private static final long NONE = Long.MIN_VALUE;

    private final long maxDriftPpb;
    private SystemClocks.Pair last;
    private boolean holding;
    private long heldReferenceTimeEpochNanos = NONE;

    ClockStepDetector(long maxDriftPpb) {
        if (maxDriftPpb < 0 || maxDriftPpb > ClockSnapshot.MAX_DRIFT_PPB_LIMIT) {
            throw new IllegalArgumentException("maxDriftPpb must be in [0, " + ClockSnapshot.MAX_DRIFT_PPB_LIMIT
                    + "], was " + maxDriftPpb);
        }
        this.maxDriftPpb = maxDriftPpb;
    }

    /**
     * Records a reading and compares it with the previous one.
     *
     * @return null if consistent, else a description of the step (and reports are held until chronyd updates)
     */
    String observe(SystemClocks.Pair pair) {
        SystemClocks.Pair previous = last;
        last = pair;
        if (previous == null) {
            return null;
        }
        long elapsedNanos = midpoint(pair) - midpoint(previous);
        long changeNanos = pair.realtimeMinusMonotonicNanos() - previous.realtimeMinusMonotonicNanos();
        long allowedNanos = ClockSnapshot.boundAt(
                TOLERANCE_NANOS + pair.uncertaintyNanos() + previous.uncertaintyNanos(), maxDriftPpb, elapsedNanos);
        if (Math.abs(changeNanos) <= allowedNanos && changeNanos != Long.MIN_VALUE) {
            return null;
        }
        holding = true;
        heldReferenceTimeEpochNanos = NONE; // the next report's reference time may predate the step
        return "realtime minus monotonic changed by " + changeNanos + " ns in " + elapsedNanos
                + " ns of monotonic time; drift and tolerance allow " + allowedNanos + " ns";
    }

    /**
     * Whether a report with this reference time may be used: not the first report after a step (it may come
     * from an update made before the step), and not any later one with that same reference time.
     *
     * @return null if it may, else why not
     */
    String admit(long referenceTimeEpochNanos) {
        if (!holding) {
            return null;
        }
        if (heldReferenceTimeEpochNanos == NONE) {
            heldReferenceTimeEpochNanos = referenceTimeEpochNanos;
            return "the realtime clock stepped; waiting for chronyd's next update after its update at "
                    + referenceTimeEpochNanos;
        }
        if (referenceTimeEpochNanos == heldReferenceTimeEpochNanos) {
            return "the realtime clock stepped; chronyd has not updated since " + referenceTimeEpochNanos;
        }
        holding = false;
        heldReferenceTimeEpochNanos = NONE;
        return null;
    }

    private static long midpoint(SystemClocks.Pair pair) {
        return pair.monotonicBeforeNanos() + (pair.monotonicAfterNanos() - pair.monotonicBeforeNanos()) / 2;
    }
}
