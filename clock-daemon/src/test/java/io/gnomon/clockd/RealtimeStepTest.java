package io.gnomon.clockd;

import io.gnomon.clockd.select.ClockEstimator;
import io.gnomon.clockd.select.DisruptionDetector;
import io.gnomon.clockd.select.Estimate;
import io.gnomon.clockd.select.Measurement;
import io.gnomon.clockd.source.chrony.ChronyBound;
import io.gnomon.clockd.source.chrony.ChronyCmdmon;
import io.gnomon.clockd.source.ptp.PtpBound;
import io.gnomon.clockd.source.ptp.PtpManagement;
import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.TimeInterval;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Realtime steps against the daemon's real pure pieces, wired as {@link ClockDaemon} wires them: its
 * {@link DisruptionDetector} (with the daemon's tolerances), the chrony and PTP bounds, and the estimator. The
 * world: true epoch time is {@code monotonic + THETA}; the host's realtime clock is {@code monotonic + K} until a
 * step moves K. Every published interval must contain true time.
 */
class RealtimeStepTest {
    static final long US = 1_000L;
    static final long MS = 1_000_000L;
    static final long S = 1_000_000_000L;
    static final long DRIFT_PPB = 200_041;
    static final long THETA = 1_795_000_000L * S;
    /** The host clock starts 3 ms fast: realtime minus monotonic. */
    static final long K = THETA + 3 * MS;
    static final long BRACKET = 40;

    final DisruptionDetector detector = new DisruptionDetector(ClockDaemon.DISRUPTION_TOLERANCE_NANOS,
            ClockDaemon.STEP_TOLERANCE_NANOS);
    long k = K;

    ClockEstimator estimator(List<String> names, Set<String> trusted) {
        ClockEstimator e = new ClockEstimator(names, trusted, new ClockEstimator.Limits(DRIFT_PPB, 8, 900 * S,
                10 * S, 10 * S, 2 * ClockDaemon.STEP_TOLERANCE_NANOS));
        e.realtimeWatchedFrom(0);
        return e;
    }

    SystemClocks.Pair pair(long monotonic) {
        return new SystemClocks.Pair(monotonic + BRACKET / 2 + k, monotonic, monotonic + BRACKET);
    }

    /** The daemon's 10 ms check at {@code monotonic}: passes what it finds to the estimator, as ClockDaemon does. */
    DisruptionDetector.Disruption check(ClockEstimator e, long monotonic) {
        SystemClocks.Pair p = pair(monotonic);
        DisruptionDetector.Disruption d = detector.observe(monotonic, Long.MIN_VALUE, p.monotonicAfterNanos(),
                p.realtimeEpochNanos(), p.monotonicBeforeNanos(), p.monotonicAfterNanos());
        if (d != null) {
            e.onDisruption(d, S);
        }
        return d;
    }

    static void assertSound(ClockEstimator e, long monotonic) {
        Estimate est = e.estimate(monotonic, K);
        if (est.snapshot().status().isUsable()) {
            TimeInterval i = est.snapshot().intervalAt(monotonic);
            assertThat(i.contains(monotonic + THETA)).as("%s: %s must contain true time", est.reason(), i).isTrue();
        }
    }

    /** chronyd's tracking report: its correction is true time minus the realtime clock as it was at its update. */
    ChronyCmdmon.TrackingReport chronyReport(long updateMonotonic, long rootDelayNanos, long rootDispersionNanos) {
        long correction = THETA - k;
        return new ChronyCmdmon.TrackingReport(0x7F000001, "127.0.0.1", 2, 0, updateMonotonic + k + correction,
                correction, 0, 0, 0, 0, 0, rootDelayNanos, rootDispersionNanos, 1);
    }

    Measurement chrony(ChronyCmdmon.TrackingReport report, long readMonotonic) {
        return ((ChronyBound.Accepted) ChronyBound.measure(report, pair(readMonotonic), DRIFT_PPB, S)).measurement();
    }

    /**
     * A 300 us step (below the 1 ms that chrony's source and the old daemon detector let through) after chronyd's
     * update and before our reading: chronyd's correction is now wrong by the step. The daemon sees the step
     * within one check and the report is refused; one read before the check is dropped by it.
     */
    @Test
    void aSubMillisecondStepSpoilsChronysCorrectionAndIsDetectedAndVoided() {
        k = THETA; // chrony's correction is then 0, and its bound far below the step
        ClockEstimator e = estimator(List.of("chrony:a"), Set.of());
        assertThat(check(e, 0)).isNull();
        ChronyCmdmon.TrackingReport report = chronyReport(500 * MS, 10 * US, 15 * US);
        assertThat(e.onMeasurement("chrony:a", chrony(report, 510 * MS))).isEqualTo(ClockEstimator.Outcome.ACCEPTED);
        assertThat(check(e, 520 * MS)).isNull();
        assertSound(e, 520 * MS);

        k += 300 * US; // stepped between the check at 520 ms and the reading at 525 ms
        Measurement spoiled = chrony(report, 525 * MS);
        // read before the daemon's next check noticed the step: kept for now (it contradicts the earlier report,
        // so the estimator takes it for a step of the source and keeps only it)
        assertThat(e.onMeasurement("chrony:a", spoiled)).isEqualTo(ClockEstimator.Outcome.SOURCE_STEPPED);
        DisruptionDetector.Disruption d = check(e, 530 * MS);
        assertThat(d).isNotNull();
        assertThat(d.kind()).isEqualTo(DisruptionDetector.Kind.REALTIME_STEP);
        assertThat(d.amountNanos()).isEqualTo(300 * US);
        assertThat(d.sinceMonotonicNanos()).isEqualTo(520 * MS);
        assertSound(e, 530 * MS);
        // the same report read again is refused: chronyd has not updated since the step
        assertThat(e.onMeasurement("chrony:a", chrony(report, 540 * MS)))
                .isEqualTo(ClockEstimator.Outcome.REALTIME_STEPPED);
        assertSound(e, 540 * MS);

        // chronyd's next update measures the stepped clock, but its regression may still weigh samples from before
        // the step (afterAStepChronysRegressionIsNotUsedUntilItsPreStepSamplesAreGone): still refused
        ChronyCmdmon.TrackingReport fresh = chronyReport(1500 * MS, 10 * US, 15 * US);
        assertThat(e.onMeasurement("chrony:a", chrony(fresh, 1510 * MS)))
                .isEqualTo(ClockEstimator.Outcome.REALTIME_STEPPED);
        assertSound(e, 1510 * MS);
    }

    /**
     * chronyd's update after a step it did not notice is against the stepped clock, but its regression still weighs
     * the samples from before the step, which pull its estimate back towards the unstepped clock (here all the way:
     * its correction ignores the step). The report's reference time is after the step, so the span check passes it;
     * the daemon refuses chrony reports from the step until chronyd's window can hold no pre-step sample.
     */
    @Test
    void afterAStepChronysRegressionIsNotUsedUntilItsPreStepSamplesAreGone() {
        long horizon = ClockEstimator.chronyRegressionHorizonNanos(8, 2 * S); // 8 samples, polled every 2 s
        assertThat(horizon).isEqualTo(18 * S);
        ClockEstimator e = new ClockEstimator(List.of("chrony:a"), Set.of(), new ClockEstimator.Limits(DRIFT_PPB, 8,
                900 * S, 10 * S, 10 * S, 2 * ClockDaemon.STEP_TOLERANCE_NANOS, horizon));
        e.realtimeWatchedFrom(0);
        k = THETA;
        assertThat(check(e, 0)).isNull();
        assertThat(e.onMeasurement("chrony:a", chrony(chronyReport(500 * MS, 10 * US, 15 * US), 510 * MS)))
                .isEqualTo(ClockEstimator.Outcome.ACCEPTED);
        assertThat(check(e, 520 * MS)).isNull();

        long kBefore = k;
        k += 300 * US;
        DisruptionDetector.Disruption d = check(e, 530 * MS);
        assertThat(d).isNotNull();
        // chronyd's next update, at 2 s: its correction still says the clock is right, as before the step
        long correction = THETA - kBefore;
        ChronyCmdmon.TrackingReport spoiled = new ChronyCmdmon.TrackingReport(0x7F000001, "127.0.0.1", 2, 0,
                2_000 * MS + k + correction, correction, 0, 0, 0, 0, 0, 10 * US, 15 * US, 2);
        Measurement m = chrony(spoiled, 2_010 * MS);
        assertThat(m.realtimeSinceMonotonicNanos()).as("chronyd updated after the step").isGreaterThan(530 * MS);
        assertThat(m.widenedBy(2 * ClockDaemon.STEP_TOLERANCE_NANOS).lowAt(2_010 * MS, DRIFT_PPB))
                .as("accepting it would put true time outside").isGreaterThan(THETA);
        assertThat(e.onMeasurement("chrony:a", m)).isEqualTo(ClockEstimator.Outcome.REALTIME_STEPPED);
        // still refused near the horizon's end; from then on chronyd's window is all post-step samples
        assertThat(e.onMeasurement("chrony:a", chrony(chronyReport(18_400 * MS, 10 * US, 15 * US), 18_410 * MS)))
                .isEqualTo(ClockEstimator.Outcome.REALTIME_STEPPED);
        assertThat(e.onMeasurement("chrony:a", chrony(chronyReport(18_600 * MS, 10 * US, 15 * US), 18_610 * MS)))
                .isEqualTo(ClockEstimator.Outcome.ACCEPTED);
        assertSound(e, 18_610 * MS);
        // an NTP-like or PTP source is not chronyd: its readings after the step are not held back by this
        ClockEstimator other = new ClockEstimator(List.of("ptp:x"), Set.of(), new ClockEstimator.Limits(DRIFT_PPB, 8,
                900 * S, 10 * S, 10 * S, 2 * ClockDaemon.STEP_TOLERANCE_NANOS, horizon));
        other.realtimeWatchedFrom(0);
        other.onDisruption(d, S);
        assertThat(other.onMeasurement("ptp:x", ptp(1_900 * MS, k, 1_950 * MS)))
                .isEqualTo(ClockEstimator.Outcome.ACCEPTED);
    }

    /**
     * chronyd's own word ends the refusal early: once its SOURCESTATS and SOURCE_DATA say that every sample any of
     * its sources holds is newer than the step (the report's {@link Measurement#windowSinceMonotonicNanos()}), its
     * regression weighs nothing from before the step, and its reports are used again, long before the fixed horizon
     * of 65 x chrony's default maxpoll (18.5 h). Until then, and with nothing known of its windows, refused as before.
     */
    @Test
    void afterAStepChronyIsUsedAgainAsSoonAsItsWindowsHoldNoPreStepSample() {
        ClockEstimator e = estimator(List.of("chrony:a"), Set.of()); // chrony's default horizon, ~18.5 h
        k = THETA;
        assertThat(check(e, 0)).isNull();
        assertThat(e.onMeasurement("chrony:a", chrony(chronyReport(500 * MS, 10 * US, 15 * US), 510 * MS)))
                .isEqualTo(ClockEstimator.Outcome.ACCEPTED);
        assertThat(check(e, 520 * MS)).isNull();
        long kBefore = k;
        k += 300 * US;
        DisruptionDetector.Disruption d = check(e, 530 * MS);
        assertThat(d).isNotNull();
        // the slack the estimator allows for chronyd's ages read across the step: every step's size plus the
        // undetected one (2H), and the undetected one again
        long slack = Math.abs(d.amountNanos()) + 2 * 2 * ClockDaemon.STEP_TOLERANCE_NANOS;

        // chronyd's update at 2 s, spoiled by pre-step samples (as in the test above): its oldest sample is from 0
        long correction = THETA - kBefore;
        ChronyCmdmon.TrackingReport spoiled = new ChronyCmdmon.TrackingReport(0x7F000001, "127.0.0.1", 2, 0,
                2_000 * MS + k + correction, correction, 0, 0, 0, 0, 0, 10 * US, 15 * US, 2);
        assertThat(e.onMeasurement("chrony:a", chrony(spoiled, 2_010 * MS).withWindowSince(0)))
                .isEqualTo(ClockEstimator.Outcome.REALTIME_STEPPED);
        assertThat(e.onMeasurement("chrony:a", chrony(spoiled, 2_010 * MS)))
                .as("nothing known of its windows").isEqualTo(ClockEstimator.Outcome.REALTIME_STEPPED);
        // its span has moved to just short of the step's window plus the slack: still refused
        Measurement almost = chrony(chronyReport(20_000 * MS, 10 * US, 15 * US), 20_010 * MS);
        assertThat(e.onMeasurement("chrony:a", almost.withWindowSince(d.atMonotonicNanos() + slack)))
                .isEqualTo(ClockEstimator.Outcome.REALTIME_STEPPED);
        assertThat(e.onMeasurement("chrony:a", almost))
                .as("the fixed horizon alone still refuses it").isEqualTo(ClockEstimator.Outcome.REALTIME_STEPPED);
        // one nanosecond later every window is newer than the step: accepted, 18.5 h early
        assertThat(e.onMeasurement("chrony:a", almost.withWindowSince(d.atMonotonicNanos() + slack + 1)))
                .isEqualTo(ClockEstimator.Outcome.ACCEPTED);
        assertThat(e.estimate(20_010 * MS, K).snapshot().status()).isEqualTo(ClockStatus.SYNCHRONIZED);
        assertSound(e, 20_010 * MS);
        // a second step spoils it again, whatever the windows said before it
        k += 200 * US;
        DisruptionDetector.Disruption d2 = check(e, 21_000 * MS);
        assertThat(d2).isNotNull();
        Measurement after = chrony(chronyReport(22_000 * MS, 10 * US, 15 * US), 22_010 * MS);
        assertThat(e.onMeasurement("chrony:a", after.withWindowSince(d.atMonotonicNanos() + slack + 1)))
                .isEqualTo(ClockEstimator.Outcome.REALTIME_STEPPED);
    }

    /**
     * A step smaller than the detector's tolerance goes unseen; the estimator adds the largest such step (2H) to
     * every realtime-based measurement, so a chrony report whose own bound is far tighter still covers it.
     */
    @Test
    void aStepTooSmallToDetectIsCoveredByTheUndetectedStepTerm() {
        k = THETA;
        ClockEstimator e = estimator(List.of("chrony:a"), Set.of());
        check(e, 0);
        ChronyCmdmon.TrackingReport report = chronyReport(10 * MS, 0, 0);
        k += 8 * US; // under H = 10 us
        assertThat(check(e, 11 * MS)).isNull();
        Measurement m = chrony(report, 11 * MS);
        assertThat(m.boundNanos()).as("chrony's own bound is tighter than the step").isLessThan(8 * US);
        assertThat(e.onMeasurement("chrony:a", m)).isEqualTo(ClockEstimator.Outcome.ACCEPTED);
        assertThat(e.estimate(11 * MS, K).snapshot().status()).isEqualTo(ClockStatus.SYNCHRONIZED);
        assertSound(e, 11 * MS);
        // and small steps do not add up unseen: three more of 8 us are reported once they pass H in total
        k += 8 * US;
        assertThat(check(e, 21 * MS)).isNotNull();
    }

    static final PtpManagement.ClockIdentity GM = new PtpManagement.ClockIdentity(0x3ac92bfffe2d65aeL);
    static final PtpBound.Config PTP = new PtpBound.Config(DRIFT_PPB, 2 * US, PtpBound.Config.REJECT_UNKNOWN_ACCURACY,
            5 * S);

    /** ptp4l's reply for a Sync that arrived at {@code syncMonotonic}: its offset is realtime minus master time. */
    Measurement ptp(long syncMonotonic, long kAtSync, long readMonotonic) {
        long ingress = syncMonotonic + kAtSync;
        long masterOffset = ingress - (syncMonotonic + THETA);
        PtpManagement.TimeStatus ts = new PtpManagement.TimeStatus(masterOffset, ingress, 0, 0, 0,
                new PtpManagement.ScaledNs(0, 0, 0), true, GM);
        PtpManagement.ParentDataSet parent = new PtpManagement.ParentDataSet(GM, 1, false, 0xFFFF, 0x7FFFFFFF, 128,
                new PtpManagement.ClockQuality(6, 0x21, 0x4E5D), 128, GM);
        PtpManagement.CurrentDataSet current = new PtpManagement.CurrentDataSet(1, 0, 2_000L << 16);
        return ((PtpBound.Accepted) PtpBound.measure(ts, parent, current, pair(readMonotonic), PTP)).measurement();
    }

    /**
     * The case: a PTP reading straddles a forward step (Sync before it, our reading after), and the PTP
     * source is trusted, so it narrows the majority's interval to its own, which the step moved off true time.
     * The step voids it and the estimate built on it; the NTP majority's interval holds.
     */
    @Test
    void aTrustedPtpReadingThatStraddlesAStepNoLongerNarrowsTheIntervalOffTrueTime() {
        ClockEstimator e = estimator(List.of("ntp:a", "ntp:b", "ptp:x"), Set.of("ptp:x"));
        check(e, 0);
        for (long t = 0; t <= 2 * S; t += S) {
            e.onMeasurement("ntp:a", new Measurement(t, THETA - 200 * US, MS, 200 * US));
            e.onMeasurement("ntp:b", new Measurement(t, THETA + 200 * US, MS, 200 * US));
        }
        assertThat(e.onMeasurement("ptp:x", ptp(1_900 * MS, k, 1_950 * MS))).isEqualTo(ClockEstimator.Outcome.ACCEPTED);
        assertThat(check(e, 1_990 * MS)).isNull();
        assertThat(e.estimate(1_990 * MS, K).reason()).contains("narrowed by trusted ptp:x");
        assertSound(e, 1_990 * MS);

        long kBefore = k;
        k += 400 * US; // forward step at 1.995 s, after the Sync at 1.98 s
        Measurement straddling = ptp(1_980 * MS, kBefore, 2_000 * MS);
        // kept until the daemon's check sees the step (as the source's own step, contradicting the earlier one)
        assertThat(e.onMeasurement("ptp:x", straddling)).isEqualTo(ClockEstimator.Outcome.SOURCE_STEPPED);
        assertThat(e.estimate(2_000 * MS, K).reason()).contains("narrowed by trusted ptp:x");
        assertThat(check(e, 2_000 * MS)).isNotNull();
        assertSound(e, 2_000 * MS);
        assertThat(e.estimate(2_000 * MS, K).snapshot().status()).isEqualTo(ClockStatus.SYNCHRONIZED);

        // a Sync after the step is good again, and narrows again
        assertThat(e.onMeasurement("ptp:x", ptp(2_900 * MS, k, 2_950 * MS))).isEqualTo(ClockEstimator.Outcome.ACCEPTED);
        assertThat(e.estimate(2_950 * MS, K).reason()).contains("narrowed by trusted ptp:x");
        assertSound(e, 2_950 * MS);
        // a reading of a pre-step Sync arriving late is refused
        assertThat(e.onMeasurement("ptp:x", ptp(1_990 * MS, kBefore, 2_960 * MS)))
                .isEqualTo(ClockEstimator.Outcome.REALTIME_STEPPED);
    }

    /** NTP offsets never read realtime: a step spoils none of them, however it falls. */
    @Test
    void ntpMeasurementsSurviveAStep() {
        ClockEstimator e = estimator(List.of("ntp:a", "ntp:b", "ntp:c"), Set.of());
        check(e, 0);
        for (String n : List.of("ntp:a", "ntp:b", "ntp:c")) {
            e.onMeasurement(n, new Measurement(5 * MS, THETA, MS, 100 * US));
        }
        k -= 2 * S;
        assertThat(check(e, 10 * MS)).isNotNull();
        assertThat(e.onMeasurement("ntp:a", new Measurement(11 * MS, THETA, MS, 100 * US)))
                .isEqualTo(ClockEstimator.Outcome.ACCEPTED);
        Estimate est = e.estimate(11 * MS, K);
        assertThat(est.snapshot().status()).isEqualTo(ClockStatus.SYNCHRONIZED);
        assertThat(est.reason()).isEqualTo("3 of 3 sources agree");
    }
}
