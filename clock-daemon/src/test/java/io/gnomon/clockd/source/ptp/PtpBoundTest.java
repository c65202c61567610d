package io.gnomon.clockd.source.ptp;

import io.gnomon.clockd.SystemClocks;
import io.gnomon.clockd.select.Measurement;
import io.gnomon.clockd.select.RejectReason;
import io.gnomon.clockd.source.ptp.PtpManagement.ClockIdentity;
import io.gnomon.clockd.source.ptp.PtpManagement.ClockQuality;
import io.gnomon.clockd.source.ptp.PtpManagement.CurrentDataSet;
import io.gnomon.clockd.source.ptp.PtpManagement.ParentDataSet;
import io.gnomon.clockd.source.ptp.PtpManagement.Rejected;
import io.gnomon.clockd.source.ptp.PtpManagement.ScaledNs;
import io.gnomon.clockd.source.ptp.PtpManagement.TimeStatus;
import io.gnomon.truetime.ClockSnapshot;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PtpBoundTest {

    static final ClockIdentity GM = new ClockIdentity(0x3ac92bfffe2d65aeL);
    static final long INGRESS = 1_000_000_000_000L; // realtime at the Sync's arrival: 1000 s after the epoch
    static final PtpBound.Config CONFIG = new PtpBound.Config(200_041, 100_000, PtpBound.Config.REJECT_UNKNOWN_ACCURACY,
            5_000_000_000L);

    static TimeStatus timeStatus(long masterOffsetNanos, long ingressNanos, boolean gmPresent, ClockIdentity gm) {
        return new TimeStatus(masterOffsetNanos, ingressNanos, 0, 0, 0, new ScaledNs(0, 0, 0), gmPresent, gm);
    }

    static ParentDataSet parent(int clockAccuracy, ClockIdentity gm) {
        return new ParentDataSet(gm, 1, false, 0xFFFF, 0x7FFFFFFF, 128, new ClockQuality(6, clockAccuracy, 0x4E5D),
                128, gm);
    }

    static CurrentDataSet current(long meanPathDelayScaledNs) {
        return new CurrentDataSet(1, 0, meanPathDelayScaledNs);
    }

    /** Realtime 250 ms after the ingress, read inside a 1000 ns monotonic bracket starting at 5 s. */
    static final SystemClocks.Pair PAIR = new SystemClocks.Pair(INGRESS + 250_000_000L, 5_000_000_000L, 5_000_001_000L);

    @Test
    void handWorkedExample() {
        // master_offset -36 ns (slave behind master), mean path delay 2789.5 ns, grandmaster within 250 ns (0x22).
        PtpBound.Result r = PtpBound.measure(timeStatus(-36, INGRESS, true, GM), parent(0x22, GM),
                current((2789L << 16) + 0x8000), PAIR, CONFIG);
        // midpoint M = 5_000_000_500; true time now = R - master_offset = R + 36
        //   epochOffset = (1_000_250_000_000 + 36) - 5_000_000_500 = 995_249_999_536
        // half-width = path delay ceil(2789.5) 2790 + allowance 100_000 + accuracy 250
        //            + bracket (1000 + 1) / 2 + 1 = 501 + rounding 1                    = 103_542
        // drift over the 250 ms since the Sync at 200_041 ppb: ceil(50_010.25)          =  50_011
        // realtime since (the Sync on the monotonic clock, early by the bracket):
        //   INGRESS - (R - M) - 501 = 5_000_000_500 - 250_000_000 - 501                 = 4_749_999_999
        assertThat(r).isEqualTo(new PtpBound.Accepted(new Measurement(5_000_000_500L, 995_249_999_536L,
                153_553, 5_580, 4_749_999_999L)));
    }

    @Test
    void intervalContainsTrueTimeWhateverTheAsymmetryUpToTheMeanPathDelay() {
        // A simulated slave whose realtime clock is off from true time by `error`; the Sync's real one-way delay
        // is anywhere in [0, 2 * pathDelay]; ptp4l reports ingress - origin - pathDelay. The interval must hold.
        Random random = new Random(42);
        for (int i = 0; i < 10_000; i++) {
            long pathDelay = 1 + random.nextInt(10_000);
            long oneWay = (long) (random.nextDouble() * 2 * pathDelay);
            long error = random.nextInt(2_000_000_001) - 1_000_000_000L; // realtime - true, up to +-1 s
            long accuracy = 250;
            long gmError = random.nextInt(2 * (int) accuracy + 1) - accuracy;  // grandmaster - true
            long trueArrival = INGRESS;
            long origin = trueArrival - oneWay + gmError;
            long ingress = trueArrival + error;
            long masterOffset = ingress - origin - pathDelay;
            long age = random.nextInt(1_000_000_000);
            long monotonicBefore = 7_000_000_000L;
            long realtimeNow = ingress + age;
            // the truth at the reading: true time = realtime - error, at the bracket's midpoint
            SystemClocks.Pair pair = new SystemClocks.Pair(realtimeNow, monotonicBefore, monotonicBefore + 2_000);
            long trueOffset = (realtimeNow - error) - (monotonicBefore + 1_000);
            PtpBound.Config noAllowance = new PtpBound.Config(0, 0, PtpBound.Config.REJECT_UNKNOWN_ACCURACY,
                    5_000_000_000L);
            Measurement m = ((PtpBound.Accepted) PtpBound.measure(timeStatus(masterOffset, ingress, true, GM),
                    parent(0x22, GM), current(pathDelay << 16), pair, noAllowance)).measurement();
            assertThat(trueOffset).isBetween(m.epochOffsetNanos() - m.boundNanos(), m.epochOffsetNanos() + m.boundNanos());
        }
    }

    @Test
    void noGrandmasterIsRejected() {
        assertRejected(PtpBound.measure(timeStatus(-36, INGRESS, false, GM), parent(0x22, GM), current(1 << 16), PAIR,
                CONFIG), RejectReason.PTP_NO_GRANDMASTER);
    }

    @Test
    void grandmasterChangingBetweenRepliesIsInconsistent() {
        assertRejected(PtpBound.measure(timeStatus(-36, INGRESS, true, GM), parent(0x22, new ClockIdentity(1)),
                current(1 << 16), PAIR, CONFIG), RejectReason.PTP_INCONSISTENT);
    }

    @Test
    void unknownReservedAndUnboundedAccuracyIsRejectedByDefault() {
        for (int code : new int[]{0xFE, 0xFF, 0x00, 0x16, 0x31, 0x32, 0x7F, 0x80, 0xFD}) {
            assertRejected(PtpBound.measure(timeStatus(-36, INGRESS, true, GM), parent(code, GM), current(1 << 16),
                    PAIR, CONFIG), RejectReason.PTP_UNKNOWN_ACCURACY);
        }
    }

    @Test
    void unknownAccuracyUsesTheConfiguredSubstitute() {
        PtpBound.Config substitute = new PtpBound.Config(0, 0, 1_000_000, 5_000_000_000L);
        Measurement m = ((PtpBound.Accepted) PtpBound.measure(timeStatus(0, INGRESS, true, GM), parent(0xFE, GM),
                current(10L << 16), PAIR, substitute)).measurement();
        assertThat(m.boundNanos()).isEqualTo(10 + 1_000_000 + 501 + 1);
    }

    @Test
    void clockAccuracyTableIsUpperLimits() {
        assertThat(PtpBound.clockAccuracyNanos(0x20)).isEqualTo(25);
        assertThat(PtpBound.clockAccuracyNanos(0x21)).isEqualTo(100);
        assertThat(PtpBound.clockAccuracyNanos(0x23)).isEqualTo(1_000);
        assertThat(PtpBound.clockAccuracyNanos(0x24)).isEqualTo(2_500);
        assertThat(PtpBound.clockAccuracyNanos(0x29)).isEqualTo(1_000_000);
        assertThat(PtpBound.clockAccuracyNanos(0x2F)).isEqualTo(1_000_000_000);
        assertThat(PtpBound.clockAccuracyNanos(0x30)).isEqualTo(10_000_000_000L);
        assertThat(PtpBound.clockAccuracyNanos(0x1E)).isEqualTo(3); // 2.5 ns rounded up
        assertThat(PtpBound.clockAccuracyNanos(0x17)).isEqualTo(1); // 1 ps rounded up
        long previous = 0;
        for (int code = 0x17; code <= 0x30; code++) {
            assertThat(PtpBound.clockAccuracyNanos(code)).isGreaterThanOrEqualTo(previous);
            previous = PtpBound.clockAccuracyNanos(code);
        }
    }

    @Test
    void notReadyBeforeTheFirstSyncOrPathDelay() {
        assertRejected(PtpBound.measure(timeStatus(0, 0, true, GM), parent(0x22, GM), current(1 << 16), PAIR, CONFIG),
                RejectReason.PTP_NOT_READY);
        assertRejected(PtpBound.measure(timeStatus(0, INGRESS, true, GM), parent(0x22, GM), current(0), PAIR, CONFIG),
                RejectReason.PTP_NOT_READY);
    }

    @Test
    void staleOrFutureIngressIsRejected() {
        SystemClocks.Pair late = new SystemClocks.Pair(INGRESS + 5_000_000_001L, 5_000_000_000L, 5_000_001_000L);
        assertRejected(PtpBound.measure(timeStatus(0, INGRESS, true, GM), parent(0x22, GM), current(1 << 16), late,
                CONFIG), RejectReason.PTP_STALE);
        SystemClocks.Pair before = new SystemClocks.Pair(INGRESS - 1, 5_000_000_000L, 5_000_001_000L);
        assertRejected(PtpBound.measure(timeStatus(0, INGRESS, true, GM), parent(0x22, GM), current(1 << 16), before,
                CONFIG), RejectReason.PTP_STALE);
        // 37 s in the future: a PHC on TAI (hardware timestamping) instead of CLOCK_REALTIME
        assertRejected(PtpBound.measure(timeStatus(0, INGRESS + 37_000_000_000L, true, GM), parent(0x22, GM),
                current(1 << 16), PAIR, CONFIG), RejectReason.PTP_STALE);
    }

    @Test
    void implausibleValuesAreRejected() {
        assertRejected(PtpBound.measure(timeStatus(0, INGRESS, true, GM), parent(0x22, GM), current(-1), PAIR, CONFIG),
                RejectReason.PTP_IMPLAUSIBLE);
        assertRejected(PtpBound.measure(timeStatus(Long.MIN_VALUE, INGRESS, true, GM), parent(0x22, GM),
                current(1 << 16), PAIR, CONFIG), RejectReason.PTP_IMPLAUSIBLE);
        assertRejected(PtpBound.measure(timeStatus(0, Long.MIN_VALUE, true, GM), parent(0x22, GM),
                current(1 << 16), PAIR, CONFIG), RejectReason.PTP_IMPLAUSIBLE);
    }

    @Test
    void hugeValuesSaturateInsteadOfOverflowing() {
        PtpBound.Config big = new PtpBound.Config(ClockSnapshot.MAX_DRIFT_PPB_LIMIT, ClockSnapshot.SATURATED_BOUND,
                ClockSnapshot.SATURATED_BOUND, Long.MAX_VALUE);
        Measurement m = ((PtpBound.Accepted) PtpBound.measure(timeStatus(Long.MAX_VALUE / 2, 1, true, GM),
                parent(0xFE, GM), current(Long.MAX_VALUE), new SystemClocks.Pair(Long.MAX_VALUE / 2, 0, 10), big))
                .measurement();
        assertThat(m.boundNanos()).isEqualTo(ClockSnapshot.SATURATED_BOUND);
        assertThat(m.delayNanos()).isEqualTo(2 * (1L << 47)); // ceil((2^63 - 1) / 2^16) = 2^47, twice
    }

    @Test
    void configNamesTheFieldItRefuses() {
        assertThatThrownBy(() -> new PtpBound.Config(-1, 0, -1, 1)).hasMessageContaining("maxDriftPpb");
        assertThatThrownBy(() -> new PtpBound.Config(0, -1, -1, 1)).hasMessageContaining("timestampErrorNanos");
        assertThatThrownBy(() -> new PtpBound.Config(0, 0, -2, 1)).hasMessageContaining("unknownAccuracyNanos");
        assertThatThrownBy(() -> new PtpBound.Config(0, 0, -1, 0)).hasMessageContaining("maxIngressAgeNanos");
    }

    private static void assertRejected(PtpBound.Result r, RejectReason reason) {
        assertThat(r).isInstanceOf(Rejected.class);
        assertThat(((Rejected) r).reason()).isEqualTo(reason);
    }
}
