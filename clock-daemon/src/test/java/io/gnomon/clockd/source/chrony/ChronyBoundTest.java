package io.gnomon.clockd.source.chrony;

import io.gnomon.clockd.SystemClocks;
import io.gnomon.clockd.select.Measurement;
import io.gnomon.clockd.select.RejectReason;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ChronyBoundTest {

    private static final long MAX_DRIFT_PPB = 200_000;
    private static final long MAX_ROOT_DISTANCE_NANOS = 1_000_000_000;
    private static final long R = 1_704_067_200_000_000_000L;

    private static ChronyCmdmon.TrackingReport report(long correctionNanos, long rootDelayNanos,
                                                      long rootDispersionNanos, long referenceTimeEpochNanos) {
        return new ChronyCmdmon.TrackingReport(0x7F000001, "127.0.0.1", 2, 0, referenceTimeEpochNanos,
                correctionNanos, 0, 0, 0, 0, 0, rootDelayNanos, rootDispersionNanos, 1);
    }

    /**
     * By hand: correction +1 500 ns (the clock is slow), root delay 10 001 ns, root dispersion 2 000 ns, chrony's
     * update 2 s before our reading, realtime read between monotonic 1 000 000 and 1 000 101.
     * <pre>
     *   midpoint m      = 1 000 000 + 101 / 2                   = 1 000 050
     *   uncertainty     = (101 + 1) / 2 + 1                     = 52
     *   D               = ceil(10 001 / 2) + 2 000              = 7 001
     *   elapsed         = 2e9 + |c| + D + 52 + 1 000 000 slack  = 2 001 008 553 ns
     *   drift           = ceil(2.001008553 s * 200 000 ppb)     = 400 202
     *   half-width      = 1 500 + 7 001 + 52 + 2 (rounding)     = 8 555
     *   bound           = 8 555 + 400 202                       = 408 757
     *   offset          = R + c - m                             = R - 998 550
     *   realtime since  = (R - 2e9) - (R - m) - (|c| + D + 52 + 1 000 000 slack)
     *                   = 1 000 050 - 2e9 - 1 008 553           = -2 000 008 503 (chrony's update, placed early)
     * </pre>
     */
    @Test
    void handWorkedExample() {
        SystemClocks.Pair pair = new SystemClocks.Pair(R, 1_000_000, 1_000_101);
        ChronyBound.Result result = ChronyBound.measure(report(1_500, 10_001, 2_000, R - 2_000_000_000L), pair,
                MAX_DRIFT_PPB, MAX_ROOT_DISTANCE_NANOS);

        assertThat(result).isEqualTo(new ChronyBound.Accepted(
                new Measurement(1_000_050, R - 998_550, 408_757, 0, -2_000_008_503L)));
    }

    @Test
    void theSignOfTheCorrectionMovesTheMidpointButNotTheBound() {
        SystemClocks.Pair pair = new SystemClocks.Pair(R, 1_000_000, 1_000_101);
        Measurement slow = accepted(ChronyBound.measure(report(1_500, 10_001, 2_000, R - 2_000_000_000L), pair,
                MAX_DRIFT_PPB, MAX_ROOT_DISTANCE_NANOS));
        Measurement fast = accepted(ChronyBound.measure(report(-1_500, 10_001, 2_000, R - 2_000_000_000L), pair,
                MAX_DRIFT_PPB, MAX_ROOT_DISTANCE_NANOS));
        // chronyc: positive = "slow of NTP time", so true time = realtime + correction
        assertThat(slow.epochOffsetNanos() - fast.epochOffsetNanos()).isEqualTo(3_000);
        assertThat(slow.boundNanos()).isEqualTo(fast.boundNanos());
        // either way the interval also contains the uncorrected clock, R - m, with chrony's distance to spare
        for (Measurement m : new Measurement[] {slow, fast}) {
            long uncorrected = R - 1_000_050;
            assertThat(uncorrected).isBetween(m.lowAt(1_000_050, 0) + 7_001, m.highAt(1_000_050, 0) - 7_001);
        }
    }

    @Test
    void theBoundGrowsWithDispersionAndAgeNeverShrinks() {
        SystemClocks.Pair pair = new SystemClocks.Pair(R, 1_000_000, 1_000_001);
        long previous = -1;
        for (long dispersion : new long[] {1_000, 10_000, 1_000_000, 100_000_000}) {
            long bound = accepted(ChronyBound.measure(report(0, 0, dispersion, R - 1), pair, MAX_DRIFT_PPB,
                    MAX_ROOT_DISTANCE_NANOS)).boundNanos();
            assertThat(bound).isGreaterThan(previous).isGreaterThanOrEqualTo(dispersion);
            previous = bound;
        }
        long young = accepted(ChronyBound.measure(report(0, 0, 1_000, R - 1_000_000_000L), pair, MAX_DRIFT_PPB,
                MAX_ROOT_DISTANCE_NANOS)).boundNanos();
        long old = accepted(ChronyBound.measure(report(0, 0, 1_000, R - 1_001_000_000_000L), pair, MAX_DRIFT_PPB,
                MAX_ROOT_DISTANCE_NANOS)).boundNanos();
        assertThat(old - young).isEqualTo(1_000L * MAX_DRIFT_PPB); // 1000 s more at 200 ppm = 200 ms
    }

    @Test
    void rootDistanceAboveTheMaximumIsAbsurd() {
        SystemClocks.Pair pair = new SystemClocks.Pair(R, 0, 10);
        // D = ceil(1 001 / 2) + 500 = 1 001: one over a maximum of 1 000, exactly at it for root delay 999
        assertThat(ChronyBound.measure(report(0, 1_001, 500, R - 1), pair, MAX_DRIFT_PPB, 1_000))
                .isInstanceOfSatisfying(ChronyBound.Rejected.class,
                        r -> assertThat(r.reason()).isEqualTo(RejectReason.ABSURD_ROOT_DISTANCE));
        assertThat(ChronyBound.measure(report(0, 999, 500, R - 1), pair, MAX_DRIFT_PPB, 1_000))
                .isInstanceOf(ChronyBound.Accepted.class);
    }

    @Test
    void aReferenceTimeAheadOfTheCorrectedClockIsBad() {
        SystemClocks.Pair pair = new SystemClocks.Pair(R, 0, 0); // uncertainty 1
        // allowed: up to |c| + D + uncertainty + slack ahead of realtime: 100 + 0 + 1 + 1 000 000
        long limit = R + 100 + 1 + ChronyBound.REFERENCE_TIME_SLACK_NANOS;
        assertThat(ChronyBound.measure(report(100, 0, 0, limit), pair, MAX_DRIFT_PPB, MAX_ROOT_DISTANCE_NANOS))
                .isInstanceOf(ChronyBound.Accepted.class);
        assertThat(ChronyBound.measure(report(100, 0, 0, limit + 1), pair, MAX_DRIFT_PPB, MAX_ROOT_DISTANCE_NANOS))
                .isInstanceOfSatisfying(ChronyBound.Rejected.class,
                        r -> assertThat(r.reason()).isEqualTo(RejectReason.BAD_REFERENCE_TIME));
    }

    @Test
    void aVeryOldReferenceTimeSaturatesInsteadOfOverflowing() {
        SystemClocks.Pair pair = new SystemClocks.Pair(Long.MAX_VALUE / 2, -5, 5);
        Measurement m = accepted(ChronyBound.measure(report(0, 0, 0, 1), pair, 100_000_000, MAX_ROOT_DISTANCE_NANOS));
        assertThat(m.boundNanos()).isPositive();
    }

    // --- step detection

    @Test
    void consistentReadingsAreNoStepAndDriftIsAllowed() {
        ClockStepDetector detector = new ClockStepDetector(MAX_DRIFT_PPB);
        assertThat(detector.observe(new SystemClocks.Pair(R, 0, 100))).isNull();
        // 10 s later realtime ran 1.9 ms more than monotonic: within 200 ppm (2 ms) + 1 ms tolerance
        assertThat(detector.observe(new SystemClocks.Pair(R + 10_001_900_000L, 10_000_000_000L,
                10_000_000_100L))).isNull();
        assertThat(detector.admit(R - 5)).isNull();
    }

    @Test
    void aStepIsReportedAndReportsAreHeldUntilChronyUpdatesAgain() {
        ClockStepDetector detector = new ClockStepDetector(MAX_DRIFT_PPB);
        detector.observe(new SystemClocks.Pair(R, 0, 100));
        assertThat(detector.admit(R - 1_000)).isNull();
        // 1 s later, realtime moved 5 ms more than monotonic: allowed 200 us + 1 ms (+ uncertainties)
        String step = detector.observe(new SystemClocks.Pair(R + 1_005_000_000L, 1_000_000_000L, 1_000_000_100L));
        assertThat(step).contains("5000000 ns");
        // the first report after the step may predate it; so may every one with the same reference time
        assertThat(detector.admit(R - 1_000)).isNotNull();
        assertThat(detector.observe(new SystemClocks.Pair(R + 2_005_000_000L, 2_000_000_000L, 2_000_000_100L)))
                .isNull();
        assertThat(detector.admit(R - 1_000)).isNotNull();
        // chronyd updated: used again
        assertThat(detector.admit(R + 1_500_000_000L)).isNull();
        assertThat(detector.admit(R + 1_500_000_000L)).isNull();
    }

    @Test
    void aBackwardStepIsAStepToo() {
        ClockStepDetector detector = new ClockStepDetector(MAX_DRIFT_PPB);
        detector.observe(new SystemClocks.Pair(R, 0, 100));
        assertThat(detector.observe(new SystemClocks.Pair(R - 3_600_000_000_000L, 1_000, 1_100))).isNotNull();
    }

    private static Measurement accepted(ChronyBound.Result result) {
        assertThat(result).isInstanceOf(ChronyBound.Accepted.class);
        return ((ChronyBound.Accepted) result).measurement();
    }
}
