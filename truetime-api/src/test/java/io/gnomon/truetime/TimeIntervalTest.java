package io.gnomon.truetime;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TimeIntervalTest {

    @Test
    void earliestAfterLatestIsRejected() {
        assertThatThrownBy(() -> new TimeInterval(11, 10))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("earliest 11 is after latest 10");
    }

    @Test
    void aPointIsAValidInterval() {
        TimeInterval point = new TimeInterval(42, 42);
        assertThat(point.epsilonNanos()).isZero();
        assertThat(point.contains(42)).isTrue();
        assertThat(point.contains(41)).isFalse();
        assertThat(point.contains(43)).isFalse();
    }

    @Test
    void aroundIsSymmetricAboutTheMidpoint() {
        TimeInterval i = TimeInterval.around(1_000, 7);
        assertThat(i).isEqualTo(new TimeInterval(993, 1_007));
        assertThat(i.epsilonNanos()).isEqualTo(7);
        assertThat(i.contains(993)).isTrue();
        assertThat(i.contains(1_007)).isTrue();
    }

    @Test
    void aroundRejectsANegativeBound() {
        assertThatThrownBy(() -> TimeInterval.around(0, -1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bound must be >= 0, was -1");
    }

    @Test
    void aroundSaturatesInsteadOfWrapping() {
        assertThat(TimeInterval.around(Long.MAX_VALUE - 5, 10))
                .isEqualTo(new TimeInterval(Long.MAX_VALUE - 15, Long.MAX_VALUE));
        assertThat(TimeInterval.around(Long.MIN_VALUE + 5, 10))
                .isEqualTo(new TimeInterval(Long.MIN_VALUE, Long.MIN_VALUE + 15));
        assertThat(TimeInterval.around(0, Long.MAX_VALUE))
                .isEqualTo(new TimeInterval(-Long.MAX_VALUE, Long.MAX_VALUE));
        assertThat(TimeInterval.around(-1, Long.MAX_VALUE))
                .isEqualTo(new TimeInterval(Long.MIN_VALUE, Long.MAX_VALUE - 1));
        assertThat(TimeInterval.around(Long.MAX_VALUE, Long.MAX_VALUE))
                .isEqualTo(new TimeInterval(0, Long.MAX_VALUE));
    }

    @Test
    void epsilonIsHalfTheWidthRoundedUp() {
        assertThat(new TimeInterval(0, 10).epsilonNanos()).isEqualTo(5);
        assertThat(new TimeInterval(0, 11).epsilonNanos()).isEqualTo(6);
        assertThat(new TimeInterval(-3, 0).epsilonNanos()).isEqualTo(2);
        assertThat(new TimeInterval(0, 1).epsilonNanos()).isEqualTo(1);
    }

    @Test
    void epsilonCoversTheIntervalFromItsMidpoint() {
        long[][] cases = {{0, 11}, {-7, 8}, {100, 100}, {5, 1_000_000_007L}};
        for (long[] c : cases) {
            TimeInterval i = new TimeInterval(c[0], c[1]);
            long mid = Math.floorDiv(c[0] + c[1], 2);
            assertThat(TimeInterval.around(mid, i.epsilonNanos()).contains(c[0])).as("%s", i).isTrue();
            assertThat(TimeInterval.around(mid, i.epsilonNanos()).contains(c[1])).as("%s", i).isTrue();
        }
    }

    /** Widths at and beyond Long.MAX_VALUE: epsilon must stay a non-negative upper bound of half the width. */
    @Test
    void epsilonOfVeryWideIntervalsIsNeverNegativeNorTooSmall() {
        // width = Long.MAX_VALUE: (width + 1) would overflow
        assertThat(new TimeInterval(0, Long.MAX_VALUE).epsilonNanos()).isEqualTo(1L << 62);
        // width = 2^64 - 2: half is Long.MAX_VALUE
        assertThat(new TimeInterval(-Long.MAX_VALUE, Long.MAX_VALUE).epsilonNanos()).isEqualTo(Long.MAX_VALUE);
        // width = 2^64 - 1: half rounded up is 2^63, which saturates
        assertThat(new TimeInterval(Long.MIN_VALUE, Long.MAX_VALUE).epsilonNanos()).isEqualTo(Long.MAX_VALUE);
        // width = 2^63 + 2: half is 2^62 + 1
        assertThat(new TimeInterval(-(1L << 62) - 1, (1L << 62) + 1).epsilonNanos()).isEqualTo((1L << 62) + 1);
    }
}
