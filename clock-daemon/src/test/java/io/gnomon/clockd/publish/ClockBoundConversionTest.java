package io.gnomon.clockd.publish;

import io.gnomon.clockd.SystemClocks;
import io.gnomon.truetime.ClockSnapshot;
import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.clockbound.ClockBoundSnapshot;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ClockBoundConversionTest {
    static final long S = 1_000_000_000L;
    static final long LAG = 20_000_000L;

    @Test
    void theBoundCoversClockdsIntervalAroundTheSystemClockAndAsOfIsStampedEarly() {
        long a = 1000 * S;
        // clockd: true time within 100 µs of realtime + 300 µs at a
        long realtime = 1_800_000_000L * S;
        ClockSnapshot s = new ClockSnapshot(a, realtime + 300_000 - a, 100_000, 200_041, a + 10 * S, ClockStatus.SYNCHRONIZED);
        SystemClocks.Pair pair = new SystemClocks.Pair(realtime, a - 10_000, a);

        ClockBoundSnapshot cb = ClockBoundConversion.convert(s, a - 3_000_000, pair, LAG);

        assertThat(cb).isEqualTo(new ClockBoundSnapshot(a - 3_000_000 - LAG, a + 10 * S - LAG,
                300_000 + 100_000 + ClockBoundConversion.CLIENT_ROUNDING_NANOS, 0, 200_041, 1, false));
    }

    @Test
    void statusesMapToClockBoundsFour() {
        long a = 1000 * S;
        SystemClocks.Pair pair = new SystemClocks.Pair(5 * S, a, a);
        int[] expected = {0, 1, 2, 0, 0, 3}; // UNKNOWN, SYNCHRONIZED, FREE_RUNNING, UNSYNCHRONIZED, UNVERIFIED, DISRUPTED
        for (ClockStatus st : ClockStatus.values()) {
            ClockSnapshot s = new ClockSnapshot(a, 0, 1, 0, a + S, st);
            assertThat(ClockBoundConversion.convert(s, a, pair, LAG).statusCode()).as(st.name())
                    .isEqualTo(expected[st.code()]);
        }
    }

    @Test
    void refusesReadingsOutOfOrder() {
        ClockSnapshot s = new ClockSnapshot(0, 0, 1, 0, S, ClockStatus.SYNCHRONIZED);
        assertThatThrownBy(() -> ClockBoundConversion.convert(s, 10, new SystemClocks.Pair(0, 0, 5), LAG))
                .hasMessageContaining("must precede");
        assertThatThrownBy(() -> ClockBoundConversion.convert(s, 0, new SystemClocks.Pair(0, 5, 0), LAG))
                .hasMessageContaining("out of order");
    }

    /**
     * Ground truth against ClockBound's own client arithmetic (floating-point growth, truncated, over a coarse
     * clock lagging by up to LAG): true time stays inside the client's interval at every later instant, for
     * every placement of true time in clockd's interval, of the realtime reading in its bracket, and every
     * oscillator rate within the maximum drift. A failure prints its seed.
     */
    @Test
    void aClockBoundClientsIntervalContainsTrueTimeWheneverClockdsDoes() {
        long seed = new SplittableRandom().nextLong();
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = 0; i < 200_000; i++) {
            long driftPpb = rnd.nextLong(0, 500_001);
            long asOf = rnd.nextLong(S, 1_000_000 * S);
            long bound = rnd.nextLong(0, 50_000_000);
            long offset = rnd.nextLong(1_000_000 * S, 2_000_000_000L * S);
            ClockSnapshot s = new ClockSnapshot(asOf, offset, bound, driftPpb, asOf + 1000 * S, ClockStatus.SYNCHRONIZED);

            long a = asOf + rnd.nextLong(0, 2 * S);                          // the sink runs after the estimate
            long coarse = a - rnd.nextLong(0, LAG + 1);                       // read first, lagging
            long before = a - rnd.nextLong(0, 100_000);
            long realtimeError = rnd.nextLong(-5 * S, 5 * S);                 // system clock minus clockd's midpoint
            long realtimeAtA = a + offset + realtimeError;
            long realtimeRead = realtimeAtA - rnd.nextLong(0, a - before + 1); // read somewhere in the bracket
            SystemClocks.Pair pair = new SystemClocks.Pair(realtimeRead, before, a);
            ClockBoundSnapshot cb = ClockBoundConversion.convert(s, coarse, pair, LAG);

            long boundAtA = s.boundAt(a);
            long trueAtA = a + offset + rnd.nextLong(-boundAtA, boundAtA + 1);
            long later = rnd.nextLong(0, 100 * S);
            double rate = (rnd.nextDouble() * 2 - 1) * driftPpb / 1e9;        // true time's rate error per local ns
            long trueAtT = trueAtA + later + (long) Math.floor(later * rate);
            long realtimeAtT = realtimeAtA + later;
            long clientCoarse = Math.max(coarse, a + later - rnd.nextLong(0, LAG + 1));
            double elapsedSeconds = (clientCoarse - cb.asOfMonotonicCoarseNanos()) / 1e9;
            long clientBound = cb.boundNanos() + (long) (elapsedSeconds * cb.maxDriftPpb());

            assertThat(clientCoarse).as("causality, seed %d", seed).isGreaterThanOrEqualTo(cb.asOfMonotonicCoarseNanos());
            assertThat(Math.abs(trueAtT - realtimeAtT)).as("case %d, seed %d", i, seed).isLessThanOrEqualTo(clientBound);
        }
    }
}
