package io.gnomon.clockd.select;

import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.TimeInterval;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Interaction tests: measurements in, the exact estimate out. */
class ClockEstimatorTest {
    static final long MS = 1_000_000L;
    static final long S = 1_000_000_000L;
    static final long DRIFT_PPB = 200_000;
    static final ClockEstimator.Limits LIMITS = new ClockEstimator.Limits(DRIFT_PPB, 8, 900 * S, 10 * S, 10 * S);

    /** True epoch time minus monotonic time in these tests. */
    static final long THETA = 1_700_000_000L * S;

    final ClockEstimator estimator = new ClockEstimator(List.of("a", "b", "c"), LIMITS);

    @Test
    void unsynchronizedUntilAMajorityHasMeasured() {
        Estimate e = estimator.estimate(0, THETA);
        assertThat(e.snapshot().status()).isEqualTo(ClockStatus.UNSYNCHRONIZED);
        assertThat(e.reason()).contains("never synchronized").contains("0 of 3");

        estimator.onMeasurement("a", new Measurement(0, THETA, MS, 100_000));
        assertThat(estimator.estimate(0, THETA).snapshot().status()).isEqualTo(ClockStatus.UNSYNCHRONIZED);

        estimator.onMeasurement("b", new Measurement(0, THETA + MS / 2, MS, 100_000));
        Estimate synced = estimator.estimate(0, THETA);
        assertThat(synced.snapshot().status()).isEqualTo(ClockStatus.SYNCHRONIZED);
        // a covers [θ-1ms, θ+1ms], b covers [θ-0.5ms, θ+1.5ms]: they agree on [θ-0.5ms, θ+1ms]. But with c not
        // heard from, one of a and b may be the one liar that 3 sources tolerate, so true time is only known to
        // lie in one of them: the interval is their hull, [θ-1ms, θ+1.5ms].
        TimeInterval offsets = synced.snapshot().intervalAt(0);
        assertThat(offsets.earliestEpochNanos()).isLessThanOrEqualTo(THETA - MS);
        assertThat(offsets.latestEpochNanos()).isGreaterThanOrEqualTo(THETA + 3 * MS / 2);
        assertThat(synced.snapshot().boundNanos()).isEqualTo(1_250_000);
        assertThat(synced.reason()).isEqualTo("2 of 3 sources agree, but not cross-checked: 2 reachable sources "
                + "cannot out-vote a falseticker; at least 3 sources can out-vote one; interval covers what 1 of the 2 "
                + "measured sources allow (1 without a measurement)");
        assertThat(synced.falsetickersOutvotable()).isZero();

        // Once c is measured too, the doubly covered part is the interval again.
        estimator.onMeasurement("c", new Measurement(0, THETA, MS, 100_000));
        Estimate all = estimator.estimate(0, THETA);
        assertThat(all.snapshot().boundNanos()).isEqualTo(MS);
        assertThat(all.reason()).isEqualTo("3 of 3 sources agree");
        assertThat(all.falsetickersOutvotable()).isEqualTo(1);
    }

    /**
     * One source 500 ms off is all there is: nothing contradicts it, so the status is SYNCHRONIZED (the interval is
     * honest about the one measurement), but the words say the time is not cross-checked instead of "1 of 1 agree".
     */
    @Test
    void aSingleSourceIsBelievedButNotCalledCrossChecked() {
        ClockEstimator one = new ClockEstimator(List.of("liar"), LIMITS);
        one.onMeasurement("liar", new Measurement(0, THETA + 500 * MS, MS, 100_000));
        Estimate e = one.estimate(0, THETA);
        assertThat(e.snapshot().status()).isEqualTo(ClockStatus.SYNCHRONIZED);
        assertThat(e.reason()).isEqualTo("not cross-checked: 1 reachable source of 1, believed alone (a falseticker "
                + "would go unnoticed; at least 3 sources can out-vote one)");
        assertThat(e.reason()).doesNotContain("agree");
        assertThat(e.falsetickersOutvotable()).isZero();

        ClockEstimator five = new ClockEstimator(List.of("a", "b", "c", "d", "e"), LIMITS);
        for (String name : List.of("a", "b", "c", "d", "e")) {
            five.onMeasurement(name, new Measurement(0, THETA, MS, 100_000));
        }
        assertThat(five.estimate(0, THETA).falsetickersOutvotable()).isEqualTo(2);
    }

    /**
     * Found by the clock simulator (before the fix, {@code bin/clock-sim --replay 1 --scenario liar} misses true
     * time 545 s in, while an honest server is down): 5 servers, 2 colluding liars 1.5 ms off, and honest
     * servers missing. The liars and one honest server make the quorum of 3, and the point they
     * share excluded true time.
     */
    @Test
    void collidingLiarsCannotMakeAQuorumWithOneHonestServerWhileOthersAreSilent() {
        ClockEstimator five = new ClockEstimator(List.of("h1", "h2", "h3", "l1", "l2"), LIMITS);
        five.onMeasurement("h1", new Measurement(0, THETA, MS, 0));
        five.onMeasurement("l1", new Measurement(0, THETA + 3 * MS / 2, MS, 0));
        five.onMeasurement("l2", new Measurement(0, THETA + 3 * MS / 2, MS, 0));
        Estimate e = five.estimate(0, THETA);
        assertThat(e.snapshot().status()).isEqualTo(ClockStatus.SYNCHRONIZED);
        // the three share [θ+0.5ms, θ+1ms], which misses θ; the sound interval covers every measured source
        assertThat(e.snapshot().intervalAt(0).contains(THETA)).isTrue();
        assertThat(e.snapshot().intervalAt(0).epsilonNanos()).isEqualTo(1_750_000);

        // all five heard: points covered 3 times are [θ-0.9ms, θ+1.1ms] (the honest three, and the liars' overlap
        // with h2), which contains θ
        five.onMeasurement("h2", new Measurement(0, THETA + 100_000, MS, 0));
        five.onMeasurement("h3", new Measurement(0, THETA - 100_000, MS, 0));
        Estimate all = five.estimate(0, THETA);
        assertThat(all.snapshot().intervalAt(0).contains(THETA)).isTrue();
        assertThat(all.snapshot().intervalAt(0).epsilonNanos()).isEqualTo(MS);
    }

    @Test
    void aLiarIsMarkedFalsetickerAndIgnored() {
        estimator.onMeasurement("a", new Measurement(0, THETA, MS, 0));
        estimator.onMeasurement("b", new Measurement(0, THETA + 100_000, MS, 0));
        estimator.onMeasurement("c", new Measurement(0, THETA + 10 * S, MS, 0));
        Estimate e = estimator.estimate(0, THETA);
        assertThat(e.snapshot().status()).isEqualTo(ClockStatus.SYNCHRONIZED);
        assertThat(e.snapshot().intervalAt(0).contains(THETA)).isTrue();
        assertThat(e.sources()).extracting(SourceState::falseticker).containsExactly(false, false, true);
        assertThat(e.falsetickerCount()).isEqualTo(1);
        assertThat(e.reason()).contains("falsetickers: [c]");
        assertThat(e.sources().get(2).offsetNanos()).isEqualTo(10 * S);
    }

    @Test
    void theBestOfTheLastSamplesIsTheNarrowestOnceAged() {
        estimator.onMeasurement("a", new Measurement(0, THETA, 50_000, 0));         // narrow but old by 10 s
        estimator.onMeasurement("a", new Measurement(10 * S, THETA, 1_000_000, 0)); // fresh but wide
        estimator.onMeasurement("b", new Measurement(10 * S, THETA, 5 * MS, 0));
        Estimate e = estimator.estimate(10 * S, THETA);
        // the old sample aged 10 s at 200 ppm: 50 µs + 2 ms = 2.05 ms, wider than the fresh 1 ms
        assertThat(e.sources().get(0).boundNanos()).isEqualTo(1_000_000);
    }

    @Test
    void losingTheMajorityFreeRunsWithAGrowingBoundThenStaysSound() {
        estimator.onMeasurement("a", new Measurement(0, THETA, MS, 0));
        estimator.onMeasurement("b", new Measurement(0, THETA, MS, 0));
        Estimate synced = estimator.estimate(0, THETA);
        assertThat(synced.snapshot().status()).isEqualTo(ClockStatus.SYNCHRONIZED);

        // 1000 s later neither source has been heard from within the reachability window (10 s).
        Estimate later = estimator.estimate(1000 * S, THETA);
        assertThat(later.snapshot().status()).isEqualTo(ClockStatus.FREE_RUNNING);
        assertThat(later.snapshot().boundNanos()).isEqualTo(MS + 200 * MS);
        assertThat(later.reason()).startsWith("free-running for 1000.0 s");
        assertThat(later.sources()).allMatch(s -> !s.reachable());
    }

    @Test
    void silentSourcesStopVotingAfterTheReachabilityWindow() {
        estimator.onMeasurement("a", new Measurement(0, THETA, MS, 0));
        estimator.onMeasurement("b", new Measurement(0, THETA, MS, 0));
        assertThat(estimator.estimate(10 * S, THETA).snapshot().status()).isEqualTo(ClockStatus.SYNCHRONIZED);
        Estimate e = estimator.estimate(10 * S + 1, THETA);
        assertThat(e.snapshot().status()).isEqualTo(ClockStatus.FREE_RUNNING);
        assertThat(e.reason()).contains("only 0 of 3 sources reachable, 2 needed");
        // and the free-running bound is the synchronized one aged by the drift: 1 ms + 2 ms (+1 ns rounding)
        assertThat(e.snapshot().boundNanos()).isEqualTo(MS + 2 * MS + 1);
        estimator.onMeasurement("c", new Measurement(10 * S, THETA, MS, 0));
        estimator.onMeasurement("a", new Measurement(10 * S, THETA, MS, 0));
        assertThat(estimator.estimate(10 * S + 2, THETA).snapshot().status()).isEqualTo(ClockStatus.SYNCHRONIZED);
    }

    @Test
    void aSuspendVoidsEverythingUntilAMajorityAgreesAgain() {
        estimator.onMeasurement("a", new Measurement(0, THETA, MS, 0));
        estimator.onMeasurement("b", new Measurement(0, THETA, MS, 0));
        assertThat(estimator.estimate(S, THETA).snapshot().status()).isEqualTo(ClockStatus.SYNCHRONIZED);

        // The monotonic clock stood still for 60 s: true minus monotonic is now THETA + 60 s.
        estimator.onDisruption(new DisruptionDetector.Disruption(DisruptionDetector.Kind.SUSPEND, 60 * S, 2 * S), S);
        Estimate e = estimator.estimate(2 * S, THETA);
        assertThat(e.snapshot().status()).isEqualTo(ClockStatus.DISRUPTED);
        assertThat(e.reason()).startsWith("host suspended or paused for 60.000 s").contains("re-synchronizing");
        assertThat(e.snapshot().boundNanos()).isEqualTo(io.gnomon.truetime.ClockSnapshot.SATURATED_BOUND);

        // An exchange that may have begun before the suspend (within the 1 s quarantine) is refused.
        assertThat(estimator.onMeasurement("a", new Measurement(2 * S + 500 * MS, THETA, MS, 0)))
                .isEqualTo(ClockEstimator.Outcome.QUARANTINED);
        assertThat(estimator.onMeasurement("a", new Measurement(3 * S, THETA + 60 * S, MS, 0)))
                .isEqualTo(ClockEstimator.Outcome.ACCEPTED);
        assertThat(estimator.estimate(3 * S, THETA).snapshot().status()).isEqualTo(ClockStatus.DISRUPTED);
        estimator.onMeasurement("b", new Measurement(3 * S, THETA + 60 * S, MS, 0));
        Estimate again = estimator.estimate(3 * S, THETA);
        assertThat(again.snapshot().status()).isEqualTo(ClockStatus.SYNCHRONIZED);
        assertThat(again.snapshot().intervalAt(3 * S).contains(3 * S + THETA + 60 * S)).isTrue();
    }

    @Test
    void aRealtimeStepChangesNothingForMonotonicOffsets() {
        estimator.onMeasurement("a", new Measurement(0, THETA, MS, 0));
        estimator.onMeasurement("b", new Measurement(0, THETA, MS, 0));
        estimator.onDisruption(new DisruptionDetector.Disruption(DisruptionDetector.Kind.REALTIME_STEP, 5 * S, S), S);
        assertThat(estimator.estimate(S, THETA).snapshot().status()).isEqualTo(ClockStatus.SYNCHRONIZED);
    }

    @Test
    void aSourceThatStepsLosesItsHistoryAndIsOutvoted() {
        estimator.onMeasurement("a", new Measurement(0, THETA, MS, 0));
        estimator.onMeasurement("b", new Measurement(0, THETA, MS, 0));
        estimator.onMeasurement("c", new Measurement(0, THETA, MS, 0));
        assertThat(estimator.onMeasurement("c", new Measurement(S, THETA + 500 * MS, MS, 0)))
                .isEqualTo(ClockEstimator.Outcome.SOURCE_STEPPED);
        Estimate e = estimator.estimate(S, THETA);
        assertThat(e.sources().get(2).falseticker()).isTrue();
        assertThat(e.snapshot().intervalAt(S).contains(S + THETA)).isTrue();
        // consistent measurements are accepted as before
        assertThat(estimator.onMeasurement("a", new Measurement(S, THETA + MS / 2, MS, 0)))
                .isEqualTo(ClockEstimator.Outcome.ACCEPTED);
    }

    @Test
    void aTrustedSourceThatAgreesNarrowsTheInterval() {
        ClockEstimator withPtp = new ClockEstimator(List.of("a", "b", "ptp:x"), java.util.Set.of("ptp:x"), LIMITS);
        withPtp.onMeasurement("a", new Measurement(0, THETA, 5 * MS, 0));
        withPtp.onMeasurement("b", new Measurement(0, THETA + MS, 5 * MS, 0));
        withPtp.onMeasurement("ptp:x", new Measurement(0, THETA + 200_000, 100_000, 0));
        Estimate e = withPtp.estimate(0, THETA);
        assertThat(e.snapshot().boundNanos()).isEqualTo(100_000);
        assertThat(e.snapshot().epochOffsetNanos()).isEqualTo(THETA + 200_000);
        assertThat(e.reason()).isEqualTo("3 of 3 sources agree; narrowed by trusted ptp:x");
    }

    @Test
    void aTrustedSourceThatDisagreesWithTheMajorityIsNotBelieved() {
        ClockEstimator withPtp = new ClockEstimator(List.of("a", "b", "ptp:x"), java.util.Set.of("ptp:x"), LIMITS);
        withPtp.onMeasurement("a", new Measurement(0, THETA, MS, 0));
        withPtp.onMeasurement("b", new Measurement(0, THETA, MS, 0));
        withPtp.onMeasurement("ptp:x", new Measurement(0, THETA + S, 100_000, 0));
        Estimate e = withPtp.estimate(0, THETA);
        assertThat(e.snapshot().intervalAt(0).contains(THETA)).isTrue();
        assertThat(e.sources().get(2).falseticker()).isTrue();
        assertThat(e.reason()).contains("trusted ptp:x disagrees with the majority, not used");
    }

    @Test
    void aGoodEarlierEstimateAgedByDriftKeepsNarrowingLaterOnes() {
        estimator.onMeasurement("a", new Measurement(0, THETA, 100_000, 0));
        estimator.onMeasurement("b", new Measurement(0, THETA, 100_000, 0));
        estimator.estimate(0, THETA);
        // 1 s later both sources send wide measurements (a congested path): the aged earlier estimate,
        // 100 µs + 200 µs of drift (200 ppm here), is still the tighter evidence.
        estimator.onMeasurement("a", new Measurement(S, THETA, 10 * MS, 0));
        estimator.onMeasurement("b", new Measurement(S, THETA, 10 * MS, 0));
        assertThat(estimator.estimate(S, THETA).snapshot().boundNanos()).isEqualTo(100_000 + 200_000);
    }

    @Test
    void trustingAnUnknownSourceIsAnError() {
        org.assertj.core.api.Assertions.assertThatThrownBy(
                () -> new ClockEstimator(List.of("a"), java.util.Set.of("b"), LIMITS))
                .hasMessageContaining("trusted source b is not a configured source");
    }

    @Test
    void anAnnouncedLeapSecondWidensTheBoundAcrossTheStepThenEnds() {
        long leapEpochSeconds = 1_798_761_600L;               // 2027-01-01T00:00:00Z, a UTC midnight
        long theta = leapEpochSeconds * S - 5 * S;            // monotonic 0 is 5 s before the leap
        for (String src : List.of("a", "b", "c")) {
            estimator.onMeasurement(src, new Measurement(0, theta, MS, 0));
        }
        assertThat(estimator.onLeapAnnounced("a", true, theta)).isFalse();     // one of three is no majority
        assertThat(estimator.estimate(0, theta).snapshot().boundNanos()).isEqualTo(MS);
        assertThat(estimator.onLeapAnnounced("b", true, theta)).isTrue();
        assertThat(estimator.leapDescription()).isEqualTo("insertion of a leap second at 2027-01-01T00:00:00Z");

        Estimate before = estimator.estimate(0, theta);
        assertThat(before.snapshot().boundNanos()).isEqualTo(MS + S);
        assertThat(before.reason()).contains("bound widened by 1 s");
        // A reader extrapolating this snapshot past the leap still holds true time on the new scale.
        assertThat(before.snapshot().intervalAt(6 * S).contains(6 * S + theta - S)).isTrue();

        // After the leap the servers' POSIX time is one second behind: each source steps.
        for (String src : List.of("a", "b", "c")) {
            assertThat(estimator.onMeasurement(src, new Measurement(7 * S, theta - S, MS, 0)))
                    .isEqualTo(ClockEstimator.Outcome.SOURCE_STEPPED);
        }
        Estimate during = estimator.estimate(7 * S, theta);
        assertThat(during.snapshot().intervalAt(7 * S).contains(7 * S + theta - S)).isTrue();
        assertThat(during.snapshot().boundNanos()).isGreaterThanOrEqualTo(S);

        Estimate after = estimator.estimate(7 * S + 500 * MS, theta);
        assertThat(after.snapshot().boundNanos()).isLessThan(2 * MS);
        assertThat(after.snapshot().intervalAt(7 * S + 500 * MS).contains(7 * S + 500 * MS + theta - S)).isTrue();
        assertThat(estimator.leapDescription()).isEqualTo("none");
    }

    @Test
    void sourcesThatDisagreeWithoutMajorityNeverSynchronize() {
        estimator.onMeasurement("a", new Measurement(0, THETA, MS, 0));
        estimator.onMeasurement("b", new Measurement(0, THETA + S, MS, 0));
        estimator.onMeasurement("c", new Measurement(0, THETA + 2 * S, MS, 0));
        Estimate e = estimator.estimate(0, THETA);
        assertThat(e.snapshot().status()).isEqualTo(ClockStatus.UNSYNCHRONIZED);
        assertThat(e.reason()).contains("no 2 of the 3 sources with measurements agree");
        assertThat(e.sources()).noneMatch(SourceState::falseticker);
    }

    @Test
    void localAssumptionIsNeverSynchronized() {
        Estimate e = new LocalAssumption(1000 * MS, DRIFT_PPB, 10 * S).estimate(5, THETA, 100);
        assertThat(e.snapshot().status()).isEqualTo(ClockStatus.UNVERIFIED);
        assertThat(e.snapshot().boundNanos()).isEqualTo(1000 * MS + 100);
        assertThat(e.reason()).contains("unverified");
    }
}
