package io.gnomon.clockd.publish;

import io.gnomon.clockd.SystemClocks;
import io.gnomon.truetime.ClockSnapshot;
import io.gnomon.truetime.clockbound.ClockBoundLayout;
import io.gnomon.truetime.clockbound.ClockBoundSnapshot;

/**
 * Re-expresses one of clockd's snapshots in ClockBound's terms (pure: every clock reading is a parameter).
 * clockd's snapshot bounds true time around CLOCK_MONOTONIC plus an offset; ClockBound's bounds
 * |CLOCK_REALTIME - true time| at a CLOCK_MONOTONIC_COARSE instant, and a client grows it by
 * {@code maxDrift * (its coarse reading - as_of)}. Every step errs wide (docs/clockbound-segment.md):
 * <ol>
 *   <li>The reference instant is {@code a}, the monotonic reading just after a realtime reading {@code r}
 *       taken after {@code b} (so realtime at {@code a} lies in {@code [r, r + (a - b)]}); true time at
 *       {@code a} lies in clockd's interval {@code [mid - B, mid + B]}.
 *       {@code bound = max(mid + B - r, r + (a - b) - (mid - B))}, plus {@link #CLIENT_ROUNDING_NANOS} for
 *       clients that truncate their floating-point growth.</li>
 *   <li>A client's coarse clock lags the fine one by up to {@code lag}: it could see less elapsed time than
 *       truly passed since {@code a}. So as-of is stamped {@code lag} early: {@code asOf = coarse - lag},
 *       with {@code coarse} read before {@code b}, hence never after {@code a}. A client's growth is then
 *       never smaller than the true growth, and as-of is never ahead of any later coarse reading (which
 *       ClockBound's client would reject as a causality breach).</li>
 *   <li>Void-after moves {@code lag} earlier too: a client whose coarse clock is short of it is then
 *       certainly short of clockd's own void-after.</li>
 * </ol>
 * A realtime step after publication moves every client's interval with it until the next publication;
 * clockd checks for steps every 10 ms and republishes at once (docs/clockbound-segment.md, "Soundness").
 */
public final class ClockBoundConversion {
    private ClockBoundConversion() {
    }

    /** ClockBound's client computes its growth in floating point and truncates it: at most 1 ns short. */
    public static final long CLIENT_ROUNDING_NANOS = 2;

    /**
     * @param s                  clockd's snapshot
     * @param coarseNanos        CLOCK_MONOTONIC_COARSE, read before {@code pair}
     * @param pair               a realtime reading bracketed by two CLOCK_MONOTONIC readings, after the snapshot's as-of
     * @param coarseLagNanos     how far CLOCK_MONOTONIC_COARSE may lag CLOCK_MONOTONIC (at least its resolution)
     */
    public static ClockBoundSnapshot convert(ClockSnapshot s, long coarseNanos, SystemClocks.Pair pair,
                                             long coarseLagNanos) {
        long a = pair.monotonicAfterNanos();
        long bracket = a - pair.monotonicBeforeNanos();
        if (bracket < 0 || coarseLagNanos < 0) {
            throw new IllegalArgumentException("readings out of order: bracket " + bracket + " ns, lag " + coarseLagNanos);
        }
        if (coarseNanos - a > 0) {
            throw new IllegalArgumentException("the coarse reading " + coarseNanos + " must precede the pair (" + a + ")");
        }
        long r = pair.realtimeEpochNanos();
        long mid = a + s.epochOffsetNanos();
        long b = s.boundAt(a);
        long trueAheadOfRealtime = (mid - r) + b;               // true - realtime <= mid + B - r
        long realtimeAheadOfTrue = (r - mid) + bracket + b;     // realtime - true <= r + bracket - (mid - B)
        long bound = Math.max(trueAheadOfRealtime, realtimeAheadOfTrue) + CLIENT_ROUNDING_NANOS;
        if (bound < 0 || bound > ClockSnapshot.SATURATED_BOUND) { // overflow: a saturated clockd bound
            bound = ClockSnapshot.SATURATED_BOUND;
        }
        return new ClockBoundSnapshot(coarseNanos - coarseLagNanos, s.voidAfterMonotonicNanos() - coarseLagNanos,
                bound, 0, s.maxDriftPpb(), ClockBoundLayout.toClockBoundStatus(s.status()), false);
    }
}
