package io.gnomon.truetime;

import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.util.SplittableRandom;

import static io.gnomon.truetime.ClockSnapshot.SATURATED_BOUND;
import static io.gnomon.truetime.ClockSnapshot.boundAt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ClockSnapshotTest {

    private static final long PPM_200 = 200_000L; // 200 ppm in ppb

    @Test
    void boundGrowsByDriftRoundedUp() {
        assertThat(boundAt(1_000, PPM_200, 0)).isEqualTo(1_000);
        assertThat(boundAt(1_000, PPM_200, 1_000_000_000L)).isEqualTo(1_000 + 200_000);
        // 1 ns at 200 ppm is 0.0002 ns: still one whole nanosecond, because the bound must not shrink by rounding
        assertThat(boundAt(1_000, PPM_200, 1)).isEqualTo(1_001);
        // 5000 ns * 200 ppm = exactly 1 ns
        assertThat(boundAt(1_000, PPM_200, 5_000)).isEqualTo(1_001);
        assertThat(boundAt(1_000, PPM_200, 5_001)).isEqualTo(1_002);
        // 1.5 s at 1 ppb = 1.5 ns -> 2
        assertThat(boundAt(0, 1, 1_500_000_000L)).isEqualTo(2);
        assertThat(boundAt(7, 0, 123_456_789_000L)).isEqualTo(7);
    }

    @Test
    void negativeElapsedGrowsTheBoundLikePositive() {
        assertThat(boundAt(1_000, PPM_200, -1_000_000_000L)).isEqualTo(boundAt(1_000, PPM_200, 1_000_000_000L));
        assertThat(boundAt(1_000, PPM_200, -1)).isEqualTo(1_001);
        assertThat(boundAt(1_000, PPM_200, Long.MIN_VALUE)).isEqualTo(SATURATED_BOUND);
    }

    @Test
    void boundSaturatesAtHugeElapsedOrDrift() {
        // the longest elapsed at the largest drift is 10% of Long.MAX_VALUE, rounded up: below saturation
        assertThat(boundAt(0, ClockSnapshot.MAX_DRIFT_PPB_LIMIT, Long.MAX_VALUE)).isEqualTo(922_337_203_685_477_581L);
        assertThat(boundAt(SATURATED_BOUND - 10, ClockSnapshot.MAX_DRIFT_PPB_LIMIT, Long.MAX_VALUE))
                .isEqualTo(SATURATED_BOUND);
        assertThat(boundAt(Long.MAX_VALUE, PPM_200, 1)).isEqualTo(SATURATED_BOUND);
        assertThat(boundAt(SATURATED_BOUND, PPM_200, 1_000_000_000L)).isEqualTo(SATURATED_BOUND);
        assertThat(boundAt(SATURATED_BOUND - 1, 0, 0)).isEqualTo(SATURATED_BOUND - 1);
        // a bound at saturation plus or minus any long midpoint's distance to the edge cannot wrap
        TimeInterval widest = TimeInterval.around(0, boundAt(Long.MAX_VALUE / 2, ClockSnapshot.MAX_DRIFT_PPB_LIMIT, Long.MAX_VALUE));
        assertThat(widest.epsilonNanos()).isEqualTo(SATURATED_BOUND);
    }

    @Test
    void boundIsExactCeilingBelowSaturation() {
        SplittableRandom random = new SplittableRandom(20260101L);
        BigInteger billion = BigInteger.valueOf(1_000_000_000L);
        for (int i = 0; i < 20_000; i++) {
            long bound = random.nextLong(0, 1_000_000_000_000L);
            long drift = random.nextLong(0, ClockSnapshot.MAX_DRIFT_PPB_LIMIT + 1);
            long elapsed = random.nextLong(-1_000_000_000_000_000L, 1_000_000_000_000_000L);
            BigInteger[] qr = BigInteger.valueOf(Math.abs(elapsed)).multiply(BigInteger.valueOf(drift))
                    .divideAndRemainder(billion);
            BigInteger expected = BigInteger.valueOf(bound).add(qr[0])
                    .add(qr[1].signum() > 0 ? BigInteger.ONE : BigInteger.ZERO);
            long want = expected.min(BigInteger.valueOf(SATURATED_BOUND)).longValueExact();
            assertThat(boundAt(bound, drift, elapsed))
                    .as("bound=%d drift=%d elapsed=%d (seed 20260101, case %d)", bound, drift, elapsed, i)
                    .isEqualTo(want);
        }
    }

    @Test
    void boundNeverDecreasesAsElapsedGrows() {
        SplittableRandom random = new SplittableRandom(7L);
        for (int i = 0; i < 20_000; i++) {
            long bound = random.nextLong(0, Long.MAX_VALUE / 8);
            long drift = random.nextLong(0, ClockSnapshot.MAX_DRIFT_PPB_LIMIT + 1);
            long e1 = random.nextLong(0, Long.MAX_VALUE);
            long e2 = random.nextLong(0, Long.MAX_VALUE);
            long lo = Math.min(e1, e2);
            long hi = Math.max(e1, e2);
            assertThat(boundAt(bound, drift, hi)).as("bound=%d drift=%d %d..%d", bound, drift, lo, hi)
                    .isGreaterThanOrEqualTo(boundAt(bound, drift, lo));
            assertThat(boundAt(bound, drift, lo)).isGreaterThanOrEqualTo(bound);
        }
        long prev = -1;
        for (long e = 0; e < 50_000; e += 7) {
            long b = boundAt(10, 123_456, e);
            assertThat(b).isGreaterThanOrEqualTo(prev);
            prev = b;
        }
    }

    @Test
    void intervalAtExtrapolatesFromAsOf() {
        ClockSnapshot s = new ClockSnapshot(1_000_000_000L, 1_700_000_000_000_000_000L, 5_000, PPM_200,
                Long.MAX_VALUE / 2, ClockStatus.SYNCHRONIZED);
        long now = 3_000_000_000L; // 2 s later: bound 5 us + 400 us
        assertThat(s.boundAt(now)).isEqualTo(405_000);
        assertThat(s.intervalAt(now)).isEqualTo(new TimeInterval(
                1_700_000_003_000_000_000L - 405_000, 1_700_000_003_000_000_000L + 405_000));
    }

    @Test
    void voidAfterIsExclusive() {
        ClockSnapshot s = new ClockSnapshot(0, 0, 0, 0, 100, ClockStatus.SYNCHRONIZED);
        assertThat(s.isVoidAt(99)).isFalse();
        assertThat(s.isVoidAt(100)).isFalse();
        assertThat(s.isVoidAt(101)).isTrue();
    }

    @Test
    void constructorRejectsOutOfRangeFields() {
        assertThatThrownBy(() -> new ClockSnapshot(0, 0, -1, 0, 0, ClockStatus.SYNCHRONIZED))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("boundNanos");
        assertThatThrownBy(() -> new ClockSnapshot(0, 0, 0, -1, 0, ClockStatus.SYNCHRONIZED))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxDriftPpb");
        assertThatThrownBy(() -> new ClockSnapshot(0, 0, 0, ClockSnapshot.MAX_DRIFT_PPB_LIMIT + 1, 0,
                ClockStatus.SYNCHRONIZED)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxDriftPpb");
        assertThatThrownBy(() -> new ClockSnapshot(0, 0, 0, 0, 0, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("status");
    }
}
