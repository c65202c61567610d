package io.gnomon.clockd.select;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class DisruptionDetectorTest {
    static final long S = 1_000_000_000L;
    static final long EPOCH = 1_795_000_000L * S;
    final DisruptionDetector d = new DisruptionDetector(500_000);

    @Test
    void steadyClocksAreNotADisruption() {
        assertThat(d.observe(0, 100, EPOCH, 10)).isNull();
        for (long m = S; m < 100 * S; m += S) {
            // boottime and realtime advance exactly with monotonic; readings jitter inside their bracket
            assertThat(d.observe(m, m + 100 + 3, EPOCH + m - 2, m + 10)).isNull();
        }
    }

    @Test
    void boottimeJumpingAheadOfMonotonicIsASuspend() {
        d.observe(0, 0, EPOCH, 10);
        DisruptionDetector.Disruption x = d.observe(S, S + 30 * S, EPOCH + S + 30 * S, S + 10);
        assertThat(x).isNotNull();
        assertThat(x.kind()).isEqualTo(DisruptionDetector.Kind.SUSPEND);
        assertThat(x.amountNanos()).isEqualTo(30 * S);
        assertThat(x.describe()).contains("suspended or paused for 30.000 s");
        // the new relation is the baseline from now on
        assertThat(d.observe(2 * S, 32 * S, EPOCH + 32 * S, 2 * S + 10)).isNull();
    }

    @Test
    void realtimeMovingAgainstMonotonicIsAStepEitherWay() {
        d.observe(0, 0, EPOCH, 10);
        DisruptionDetector.Disruption back = d.observe(S, S, EPOCH + S - 2 * S, S + 10);
        assertThat(back.kind()).isEqualTo(DisruptionDetector.Kind.REALTIME_STEP);
        assertThat(back.amountNanos()).isEqualTo(-2 * S);
        assertThat(back.describe()).contains("stepped by -2.000000 s");
        DisruptionDetector.Disruption fwd = d.observe(2 * S, 2 * S, EPOCH + 2 * S - S + 1_000_000, 2 * S + 10);
        assertThat(fwd.amountNanos()).isEqualTo(S + 1_000_000);
    }

    @Test
    void changesWithinToleranceAndBracketAreNoise() {
        d.observe(0, 0, EPOCH, 10);
        assertThat(d.observe(S, S + 400_000, EPOCH + S + 400_000, S + 10)).isNull();
        // a bracket wider than half the tolerance places boottime too loosely to judge: no verdict
        assertThat(d.observe(2 * S, 2 * S + 1_400_000, EPOCH + 2 * S, 2 * S + 1_000_000)).isNull();
    }

    @Test
    void aNoisyFirstReadingIsNoBaselineForTheSuspendTest() {
        // Descheduled for 2 ms after reading boottime: boottime minus the bracket's midpoint is 1 ms low.
        assertThat(d.observe(0, 0, EPOCH + 2_000_000, 2_000_000)).isNull();
        // Tight readings after it: no suspend happened, so none is reported (the noisy baseline saw 1 ms of growth).
        assertThat(d.observe(10_000_000, 10_000_005, EPOCH + 10_000_005, 10_000_010)).isNull();
        assertThat(d.observe(20_000_000, 20_000_005, EPOCH + 20_000_005, 20_000_010)).isNull();
        // A real suspend is measured against the tight baseline.
        DisruptionDetector.Disruption x = d.observe(30_000_000, 30_000_005 + 42 * S, EPOCH + 30_000_005 + 42 * S,
                30_000_010);
        assertThat(x.kind()).isEqualTo(DisruptionDetector.Kind.SUSPEND);
        assertThat(x.amountNanos()).isEqualTo(42 * S);
        assertThat(x.sinceMonotonicNanos()).isEqualTo(20_000_000);
    }

    @Test
    void aSuspendSeenByANoisyReadingWaitsForTheNextTightOne() {
        d.observe(0, 5, EPOCH + 5, 10);
        // 42 s of suspend, boottime read at the start of a 4 ms bracket (2 ms off its midpoint): no verdict
        assertThat(d.observe(S, S + 42 * S, EPOCH + S + 42 * S, S + 4_000_000)).isNull();
        DisruptionDetector.Disruption x = d.observe(S + 10_000_000, S + 10_000_005 + 42 * S,
                EPOCH + S + 10_000_005 + 42 * S, S + 10_000_010);
        assertThat(x.kind()).isEqualTo(DisruptionDetector.Kind.SUSPEND);
        assertThat(x.amountNanos()).isEqualTo(42 * S);
        assertThat(x.describe()).contains("suspended or paused for 42.000 s");
        assertThat(x.sinceMonotonicNanos()).as("the noisy reading does not narrow the window").isZero();
    }

    @Test
    void withoutBoottimeOnlyStepsAreSeen() {
        d.observe(0, Long.MIN_VALUE, EPOCH, 10);
        assertThat(d.observe(S, Long.MIN_VALUE, EPOCH + S, S + 10)).isNull();
        assertThat(d.observe(2 * S, Long.MIN_VALUE, EPOCH + 5 * S, 2 * S + 10).kind())
                .isEqualTo(DisruptionDetector.Kind.REALTIME_STEP);
    }

    /** The daemon's configuration: suspends at 500 us, steps at H = 10 us. */
    final DisruptionDetector fine = new DisruptionDetector(500_000, DisruptionDetector.DEFAULT_STEP_TOLERANCE_NANOS);

    @Test
    void aStepOfTensOfMicrosecondsIsSeenWithTheWindowItHappenedIn() {
        assertThat(fine.observe(0, 0, EPOCH, 40)).isNull();
        assertThat(fine.realtimeWatchedFromMonotonicNanos()).isZero();
        assertThat(fine.observe(10_000_000, 10_000_000, EPOCH + 10_000_000, 10_000_040)).isNull();
        DisruptionDetector.Disruption x = fine.observe(20_000_000, 20_000_000, EPOCH + 20_000_000 + 15_000, 20_000_040);
        assertThat(x.kind()).isEqualTo(DisruptionDetector.Kind.REALTIME_STEP);
        assertThat(x.amountNanos()).isEqualTo(15_000);
        // it happened after the previous conclusive reading began, and before this one ended
        assertThat(x.sinceMonotonicNanos()).isEqualTo(10_000_000);
        assertThat(x.atMonotonicNanos()).isEqualTo(20_000_040);
        // the stepped clock is the new baseline
        assertThat(fine.observe(30_000_000, 30_000_000, EPOCH + 30_000_000 + 15_000, 30_000_040)).isNull();
    }

    @Test
    void smallStepsAddUpAgainstTheBaselineInsteadOfSlippingThroughOneByOne() {
        fine.observe(0, 0, EPOCH, 40);
        assertThat(fine.observe(S, S, EPOCH + S + 4_000, S + 40)).isNull();
        assertThat(fine.observe(2 * S, 2 * S, EPOCH + 2 * S + 8_000, 2 * S + 40)).isNull();
        assertThat(fine.observe(3 * S, 3 * S, EPOCH + 3 * S + 12_000, 3 * S + 40).amountNanos()).isEqualTo(12_000);
    }

    @Test
    void aNoisyReadingGivesNoVerdictAndTheNextConclusiveOneDecides() {
        fine.observe(0, 0, EPOCH, 40);
        // 20 us bracket: the realtime read could be anywhere in it, so it proves nothing either way
        assertThat(fine.observe(S, S, EPOCH + S + 30_000, S + 20_000)).isNull();
        DisruptionDetector.Disruption x = fine.observe(2 * S, 2 * S, EPOCH + 2 * S + 30_000, 2 * S + 40);
        assertThat(x.amountNanos()).isEqualTo(30_000);
        assertThat(x.sinceMonotonicNanos()).as("the noisy reading does not narrow the window").isZero();
    }

    @Test
    void withoutAStepTheSameReadingsAreQuietHoweverTheRealtimeReadFallsInItsBracket() {
        fine.observe(0, 0, EPOCH + 20, 40);
        for (long m = 10_000_000; m < S; m += 10_000_000) {
            // realtime read at the very start, then the very end, of a 4 us bracket
            assertThat(fine.observe(m, m, EPOCH + m, m + 4_000)).isNull();
            assertThat(fine.observe(m + 1, m + 1, EPOCH + m + 1 + 4_000, m + 1 + 4_000)).isNull();
        }
    }
}
