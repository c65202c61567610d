package io.gnomon.clockd.source.chrony;

import io.gnomon.clockd.SystemClocks;
import io.gnomon.clockd.select.Measurement;
import io.gnomon.clockd.select.RejectReason;
import io.gnomon.truetime.ClockSnapshot;

/**
 * Turns chronyd's tracking report into a {@link Measurement}: an interval for true epoch time minus
 * CLOCK_MONOTONIC, built from a realtime reading taken just after the reply arrived. Pure: the caller passes the
 * report, the clock reading and the limits.
 *
 * <h2>Derivation</h2>
 * Let {@code R(t)} be the system's realtime clock at instant {@code t}, {@code T(t)} true time, {@code c} chrony's
 * current correction ("System time" in {@code chronyc tracking}), {@code tc} the instant chronyd wrote the reply,
 * {@code tr} the instant of our realtime reading (after the reply arrived, so {@code tr > tc}), {@code tu}
 * chronyd's last clock update (its reference time).
 *
 * <ol>
 *   <li><b>Sign of the correction.</b> chronyd computes its corrected ("cooked") time as raw time plus the
 *   correction ({@code REF_GetTrackingReport}: {@code now_cooked = now_raw + correction}), and chronyc prints a
 *   positive correction as "seconds slow of NTP time". So chrony's estimate of true time is {@code R + c}: the
 *   midpoint of our interval is {@code R(tr) + c}.</li>
 *   <li><b>chrony's root distance</b> {@code D = rootDelay / 2 + rootDispersion}: chronyd claims
 *   {@code |T(tc) - (R(tc) + c)| <= D} (RFC 5905 section 7.3's root distance; chrony grows the dispersion from
 *   {@code tu} to {@code tc} by its own skew estimate, and {@code cooked = raw + correction} is the time it serves
 *   its own clients). <i>Assumed</i>: chronyd is honest about it, as for any NTP server; the daemon's majority
 *   vote over several sources is what guards against one that is not.</li>
 *   <li><b>{@code |c|}.</b> When chronyd disciplines the clock (no {@code -x}), it slews {@code c} into the clock
 *   while we read: by {@code tr} some fraction of {@code c} (between none and all) may already be in {@code R}, and
 *   that slewing changes {@code R}'s rate by up to chrony's {@code maxslewrate}, far above any drift limit. The
 *   truth therefore lies within {@code D} of {@code R(tr) + k c} for some {@code k} in {@code [0, 1]}, all of
 *   which is inside {@code R(tr) + c +- (|c| + D)}. With {@code -x} (the clock is never touched) the term only
 *   costs tightness: it also makes the interval contain the uncorrected clock's interval {@code R +- (|c| + D)},
 *   which is the bound AWS ClockBound derives from the same report.</li>
 *   <li><b>Drift since the reference time.</b> chrony's growth of the dispersion since {@code tu} uses its own
 *   skew and residual-frequency estimates (plus {@code maxclockerror}, 1 ppm by default): estimates, not bounds.
 *   The operator's {@code maxDriftPpb} is the bound (docs/clock-accuracy.md, "maximum drift"): between {@code tu}
 *   and {@code tr} the clock's error can change by at most {@code maxDrift * (tr - tu)}, which also covers the
 *   change between chronyd's reply ({@code tc}) and our reading ({@code tr}). The elapsed time is taken from above:
 *   {@code R(tr) - tu + |c| + D + uncertainty + slack}, where {@code |c| + D} covers {@code tu} being in chrony's
 *   corrected time scale, not the raw one.</li>
 *   <li><b>Bracket.</b> {@code R(tr)} was read between two monotonic readings; the measurement is stated at their
 *   midpoint, off by at most {@link SystemClocks.Pair#uncertaintyNanos()}.</li>
 *   <li><b>Rounding.</b> Every Float was converted to nanoseconds rounded away from zero (so {@code |c|},
 *   {@code rootDelay} and {@code rootDispersion} are never understated), {@code rootDelay / 2} is rounded up, and
 *   the midpoint uses the rounded {@code c}, at most 1 ns from the exact value: {@link #ROUNDING_NANOS} covers
 *   it.</li>
 * </ol>
 * So {@code T(tr) - M(mid)} lies in {@code (R(tr) + c - mid) +- (|c| + D + maxDrift * elapsed + uncertainty + 2)}.
 *
 * <p><b>Assumed, and checked where it can be:</b> the realtime clock was not stepped between chronyd's update and
 * our reading. A step (by an operator or another daemon) moves {@code R} without moving the truth, so
 * {@code R(tr) + c} is wrong by the step. The measurement names chronyd's update (its reference time, placed early)
 * as its {@link Measurement#realtimeSinceMonotonicNanos()}: the estimator voids it when the daemon's step detector
 * reports a step between that update and our reading, and widens it by the largest step that detector can miss
 * ({@code ClockEstimator.Limits.undetectedRealtimeStepNanos}, 20 us by default). {@link ClockStepDetector} also
 * rejects, at the source, samples whose own readings show a step of more than its tolerance (1 ms plus drift)
 * until chronyd reports a new update.
 *
 * <p>Checks: root distance {@code D} above {@code maxRootDistanceNanos} is {@link RejectReason#ABSURD_ROOT_DISTANCE};
 * a reference time later than the corrected clock (plus {@link #REFERENCE_TIME_SLACK_NANOS}) is
 * {@link RejectReason#BAD_REFERENCE_TIME}: chrony's reference time is a past instant of its corrected clock.
 */
public final class ChronyBound {

    /** Covers the rounding of {@code c} (<= 1 ns) in the midpoint, with room: see the class comment. */
    static final long ROUNDING_NANOS = 2;
    /** How far chronyd's reference time may seem ahead of the corrected clock before it is called bad. */
    public static final long REFERENCE_TIME_SLACK_NANOS = 1_000_000;

    private ChronyBound() {
    }

    /** What a report turned into. */
    public sealed interface Result permits Accepted, Rejected {
    }

    /** The measurement the report gives. */
    public record Accepted(Measurement measurement) implements Result {
        public Accepted {
            if (measurement == null) {
                throw new IllegalArgumentException("measurement must not be null");
            }
        }
    }

    /** A report that was dropped; {@code detail} names the value, for the log. */
    public record Rejected(RejectReason reason, String detail) implements Result {
        public Rejected {
            if (reason == null || detail == null) {
                throw new IllegalArgumentException("reason and detail must not be null");
            }
        }
    }

    /**
     * The measurement for {@code report}, see the class comment.
     *
     * @param report               a validated tracking report ({@link ChronyCmdmon#parseTrackingReply})
     * @param pair                 realtime read between two monotonic readings, just after the reply arrived
     * @param maxDriftPpb          largest rate error of the local clocks against true time
     * @param maxRootDistanceNanos reports whose root delay / 2 + root dispersion exceed this are rejected
     * @return the measurement ({@code delayNanos} 0: no network exchange of ours enters the bound), or why not;
     *         never throws for any report
     * @throws IllegalArgumentException if the caller's arguments are inconsistent (a bug in the caller)
     */
    public static Result measure(ChronyCmdmon.TrackingReport report, SystemClocks.Pair pair, long maxDriftPpb,
                                 long maxRootDistanceNanos) {
        if (report == null || pair == null) {
            throw new IllegalArgumentException("report and pair must not be null");
        }
        if (pair.monotonicAfterNanos() - pair.monotonicBeforeNanos() < 0) {
            throw new IllegalArgumentException("pair's monotonic readings are out of order: " + pair);
        }
        if (maxDriftPpb < 0 || maxDriftPpb > ClockSnapshot.MAX_DRIFT_PPB_LIMIT) {
            throw new IllegalArgumentException("maxDriftPpb must be in [0, " + ClockSnapshot.MAX_DRIFT_PPB_LIMIT
                    + "], was " + maxDriftPpb);
        }
        if (maxRootDistanceNanos < 0) {
            throw new IllegalArgumentException("maxRootDistanceNanos must be >= 0, was " + maxRootDistanceNanos);
        }
        // All of these are bounded by ChronyCmdmon.MAX_FLOAT_SECONDS (1e15 ns): sums below cannot overflow.
        long correctionNanos = report.currentCorrectionNanos();
        long correctionMagnitudeNanos = Math.abs(correctionNanos);
        long rootDistanceNanos = ceilHalf(report.rootDelayNanos()) + report.rootDispersionNanos();
        if (rootDistanceNanos > maxRootDistanceNanos) {
            return new Rejected(RejectReason.ABSURD_ROOT_DISTANCE, "root delay " + report.rootDelayNanos()
                    + " ns / 2 + root dispersion " + report.rootDispersionNanos() + " ns > max "
                    + maxRootDistanceNanos + " ns");
        }
        long uncertaintyNanos = pair.uncertaintyNanos();
        long realtimeNanos = pair.realtimeEpochNanos();
        long elapsedSinceReferenceNanos;
        long epochOffsetNanos;
        try {
            // An upper bound of the time since chrony's update: see step 4 of the class comment.
            long latestNowNanos = Math.addExact(realtimeNanos, correctionMagnitudeNanos + rootDistanceNanos
                    + uncertaintyNanos + REFERENCE_TIME_SLACK_NANOS);
            elapsedSinceReferenceNanos = Math.subtractExact(latestNowNanos, report.referenceTimeEpochNanos());
            epochOffsetNanos = Math.addExact(pair.realtimeMinusMonotonicNanos(), correctionNanos);
        } catch (ArithmeticException overflow) {
            return new Rejected(RejectReason.BAD_REFERENCE_TIME, "realtime " + realtimeNanos + ", reference time "
                    + report.referenceTimeEpochNanos() + " and correction " + correctionNanos + " overflow");
        }
        if (elapsedSinceReferenceNanos < 0) {
            return new Rejected(RejectReason.BAD_REFERENCE_TIME, "reference time "
                    + report.referenceTimeEpochNanos() + " is " + (-elapsedSinceReferenceNanos)
                    + " ns after the corrected clock " + (realtimeNanos + correctionNanos) + " (beyond the slack)");
        }
        long halfWidthNanos = correctionMagnitudeNanos + rootDistanceNanos + uncertaintyNanos + ROUNDING_NANOS;
        long boundNanos = ClockSnapshot.boundAt(halfWidthNanos, maxDriftPpb, elapsedSinceReferenceNanos);
        long atMonotonicNanos = pair.monotonicBeforeNanos()
                + (pair.monotonicAfterNanos() - pair.monotonicBeforeNanos()) / 2;
        assert boundNanos >= Math.min(halfWidthNanos, ClockSnapshot.SATURATED_BOUND) : "drift only widens";
        assert boundNanos >= correctionMagnitudeNanos + rootDistanceNanos : "chrony's own distance is inside";
        // chrony's correction is relative to the realtime clock as it was at its last update: a step since then
        // spoils it. The update's instant on the raw clock, converted to monotonic with the realtime clock as it is
        // now, is placed early by the same terms as the elapsed time above.
        long referenceMonotonicNanos = report.referenceTimeEpochNanos() - pair.realtimeMinusMonotonicNanos()
                - (correctionMagnitudeNanos + rootDistanceNanos + uncertaintyNanos + REFERENCE_TIME_SLACK_NANOS);
        return new Accepted(new Measurement(atMonotonicNanos, epochOffsetNanos, boundNanos, 0,
                Math.min(referenceMonotonicNanos, atMonotonicNanos)));
    }

    private static long ceilHalf(long nonNegative) {
        return (nonNegative >>> 1) + (nonNegative & 1);
    }
}
