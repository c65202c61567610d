package io.gnomon.clockd.select;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class MajorityIntersectionTest {

    @Test
    void threeAgreeingIntervalsGiveTheHullOfTheTwiceCoveredPoints() {
        long[] lo = {0, 5, 8};
        long[] hi = {10, 15, 20};
        MajorityIntersection.Hull h = MajorityIntersection.hull(lo, hi, 3, 2);
        assertThat(h.found()).isTrue();
        assertThat(h.low()).isEqualTo(5);
        assertThat(h.high()).isEqualTo(15);
    }

    @Test
    void aLiarOutsideTheMajorityIsExcluded() {
        long[] lo = {0, 2, 1_000};
        long[] hi = {10, 12, 1_010};
        MajorityIntersection.Hull h = MajorityIntersection.hull(lo, hi, 3, 2);
        assertThat(h.found()).isTrue();
        assertThat(h.low()).isEqualTo(2);
        assertThat(h.high()).isEqualTo(10);
        assertThat(h.overlaps(1_000, 1_010)).isFalse();
    }

    @Test
    void noMajorityWhenAllDisagree() {
        long[] lo = {0, 100, 200};
        long[] hi = {10, 110, 210};
        assertThat(MajorityIntersection.hull(lo, hi, 3, 2).found()).isFalse();
    }

    @Test
    void touchingClosedIntervalsShareTheirEndpoint() {
        long[] lo = {0, 10};
        long[] hi = {10, 20};
        MajorityIntersection.Hull h = MajorityIntersection.hull(lo, hi, 2, 2);
        assertThat(h.found()).isTrue();
        assertThat(h.low()).isEqualTo(10);
        assertThat(h.high()).isEqualTo(10);
    }

    @Test
    void tooFewIntervalsForTheQuorum() {
        assertThat(MajorityIntersection.hull(new long[]{0}, new long[]{1}, 1, 2).found()).isFalse();
    }

    /** Honest intervals contain the truth, fewer than half lie anywhere: the hull always holds the truth. */
    @Test
    void theHullContainsTheTruthWheneverAMajorityIsHonest() {
        long seed = Long.getLong("seed", System.nanoTime());
        Random random = new Random(seed);
        for (int round = 0; round < 20_000; round++) {
            int n = 1 + random.nextInt(7);
            int liars = random.nextInt((n - 1) / 2 + 1);
            long truth = random.nextLong() >> 8;
            long[] lo = new long[n];
            long[] hi = new long[n];
            for (int i = 0; i < n; i++) {
                if (i < liars) {
                    long c = truth + (random.nextLong() >> 20);
                    long w = random.nextInt(1_000_000);
                    lo[i] = c - w;
                    hi[i] = c + w;
                } else {
                    lo[i] = truth - random.nextInt(1_000_000);
                    hi[i] = truth + random.nextInt(1_000_000);
                }
            }
            MajorityIntersection.Hull h = MajorityIntersection.hull(lo, hi, n, n / 2 + 1);
            assertThat(h.found()).as("seed %d round %d (rerun: -Dseed=%d)", seed, round, seed).isTrue();
            assertThat(truth).as("seed %d round %d (rerun: -Dseed=%d)", seed, round, seed)
                    .isBetween(h.low(), h.high());
        }
    }
}
