package io.gnomon.clockd.source;

import io.gnomon.clockd.select.Measurement;
import io.gnomon.clockd.select.RejectReason;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

class NtpWireTest {

    private static final long NONCE = 0x0123_4567_89AB_CDEFL;
    private static final long MAX_DRIFT_PPB = 100_000; // 100 ppm
    private static final long MAX_ROOT_DISTANCE_NANOS = 1_000_000_000L;

    /** True epoch time minus monotonic time in the hand-computed examples (2023-11-14T22:13:20Z at mono 0). */
    private static final long THETA = 1_700_000_000_000_000_000L;
    private static final long T1 = 1_000;
    private static final long T2 = THETA + T1 + 80_000;      // request took 80 us
    private static final long T3 = T2 + 30_000;              // server held it 30 us
    private static final long T4 = T1 + 200_000;             // reply took 90 us: round trip 200 us

    /** An NTP reply written field by field (RFC 5905 figure 8), independent of the codec under test. */
    static final class Reply {
        int leap = 0;
        int version = 4;
        int mode = 4;
        int stratum = 1;
        int poll = 0;
        int precision = -20;
        int rootDelay = 0;          // 16.16
        int rootDispersion = 1;     // 16.16: 1/65536 s = 15258.79 ns
        int referenceId = 0x4C4F434C; // "LOCL"
        long reference = 0;
        long origin = NONCE;
        long receive = NtpWire.epochNanosToNtp(T2);
        long transmit = NtpWire.epochNanosToNtp(T3);
        int length = 48;

        byte[] bytes() {
            ByteBuffer b = ByteBuffer.allocate(Math.max(48, length));
            b.put((byte) (leap << 6 | version << 3 | mode));
            b.put((byte) stratum);
            b.put((byte) poll);
            b.put((byte) precision);
            b.putInt(rootDelay);
            b.putInt(rootDispersion);
            b.putInt(referenceId);
            b.putLong(reference);
            b.putLong(origin);
            b.putLong(receive);
            b.putLong(transmit);
            return Arrays.copyOf(b.array(), length);
        }

        NtpWire.Result parse() {
            byte[] bytes = bytes();
            return NtpWire.parseReply(bytes, bytes.length, NONCE, T1, T4, MAX_DRIFT_PPB, MAX_ROOT_DISTANCE_NANOS);
        }
    }

    private static NtpWire.Rejected rejected(NtpWire.Result result) {
        assertThat(result).isInstanceOf(NtpWire.Rejected.class);
        return (NtpWire.Rejected) result;
    }

    private static Measurement accepted(NtpWire.Result result) {
        assertThat(result).isInstanceOf(NtpWire.Accepted.class);
        return ((NtpWire.Accepted) result).measurement();
    }

    @Test
    void requestIsVersion4ClientModeCarryingTheNonce() {
        byte[] request = NtpWire.request(NONCE);

        assertThat(request).hasSize(48);
        assertThat(request[0]).isEqualTo((byte) 0b00_100_011); // LI 0, VN 4, mode 3
        assertThat(Arrays.copyOfRange(request, 1, 40)).containsOnly(0);
        assertThat(ByteBuffer.wrap(request, 40, 8).getLong()).isEqualTo(NONCE);
        assertThatThrownBy(() -> NtpWire.request(0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void validReplyGivesTheHandComputedMeasurement() {
        Measurement m = accepted(new Reply().parse());

        // offset = ((t2 - t1) + (t3 - t4)) / 2 = ((THETA + 80_000) + (THETA - 90_000)) / 2 = THETA - 5_000:
        // the path is 10 us asymmetric, so the midpoint is off by half of that.
        assertThat(m.epochOffsetNanos()).isEqualTo(THETA - 5_000);
        // delay = (t4 - t1) - (t3 - t2) = 200_000 - 30_000
        assertThat(m.delayNanos()).isEqualTo(170_000);
        // bound = ceil(delay / 2)                 85_000
        //       + root delay / 2                       0
        //       + root dispersion ceil(1e9 / 2^16) 15_259
        //       + precision ceil(1e9 / 2^20)          954
        //       + drift ceil(200_000 * 1e-4)           20
        //       + quantisation                          2
        assertThat(m.boundNanos()).isEqualTo(85_000 + 15_259 + 954 + 20 + 2);
        assertThat(m.atMonotonicNanos()).isEqualTo(T4);
        // and the true offset lies inside
        assertThat(THETA).isBetween(m.epochOffsetNanos() - m.boundNanos(), m.epochOffsetNanos() + m.boundNanos());
    }

    @Test
    void rootDelayCountsHalf() {
        Reply reply = new Reply();
        reply.rootDelay = 3; // ceil(3e9 / 65536) = ceil(45776.37) = 45777 ns; half of it rounded up: 22889
        reply.rootDispersion = 0;
        Measurement m = accepted(reply.parse());
        assertThat(m.boundNanos()).isEqualTo(85_000 + 22_889 + 954 + 20 + 2);
    }

    @Test
    void longerPacketsAreReadUpToTheHeader() {
        Reply reply = new Reply();
        reply.length = 68; // e.g. with a MAC
        assertThat(accepted(reply.parse()).epochOffsetNanos()).isEqualTo(THETA - 5_000);
    }

    @Test
    void shortPacket() {
        Reply reply = new Reply();
        reply.length = 47;
        assertThat(rejected(reply.parse()).reason()).isEqualTo(RejectReason.SHORT_PACKET);
        assertThat(rejected(NtpWire.parseReply(new byte[0], 0, NONCE, T1, T4, 0, 1)).reason())
                .isEqualTo(RejectReason.SHORT_PACKET);
        // a 48-byte buffer holding fewer valid bytes is short too
        byte[] bytes = new Reply().bytes();
        assertThat(rejected(NtpWire.parseReply(bytes, 40, NONCE, T1, T4, 0, MAX_ROOT_DISTANCE_NANOS)).reason())
                .isEqualTo(RejectReason.SHORT_PACKET);
    }

    @Test
    void wrongMode() {
        for (int mode : new int[] {0, 1, 2, 3, 5, 6, 7}) {
            Reply reply = new Reply();
            reply.mode = mode;
            NtpWire.Rejected r = rejected(reply.parse());
            assertThat(r.reason()).isEqualTo(RejectReason.WRONG_MODE);
            assertThat(r.detail()).contains("mode " + mode);
        }
    }

    @Test
    void kissOfDeathNamesItsCode() {
        Reply reply = new Reply();
        reply.stratum = 0;
        reply.leap = 3; // as ntpd sends it: the kiss code is what matters
        reply.referenceId = 'R' << 24 | 'A' << 16 | 'T' << 8 | 'E';
        assertThat(reply.parse()).isEqualTo(new NtpWire.Kiss("RATE"));
        assertThat(((NtpWire.Kiss) reply.parse()).asksToSlowDown()).isTrue();

        reply.referenceId = 'D' << 24 | 'E' << 16 | 'N' << 8 | 'Y';
        assertThat(((NtpWire.Kiss) reply.parse()).stopsPolling()).isTrue();
        reply.referenceId = 'R' << 24 | 'S' << 16 | 'T' << 8 | 'R';
        assertThat(((NtpWire.Kiss) reply.parse()).stopsPolling()).isTrue();

        reply.referenceId = 'D' << 24 | 'E' << 16 | 'N' << 8 | 0x01;
        NtpWire.Kiss unknown = (NtpWire.Kiss) reply.parse();
        assertThat(unknown.code()).isEqualTo("DEN?");
        assertThat(unknown.stopsPolling() || unknown.asksToSlowDown()).isFalse();
    }

    @Test
    void spoofedKissOfDeathIsAnOriginMismatch() {
        Reply reply = new Reply();
        reply.stratum = 0;
        reply.origin = NONCE + 1;
        assertThat(rejected(reply.parse()).reason()).isEqualTo(RejectReason.ORIGIN_MISMATCH);
    }

    @Test
    void stratumSixteenOrAbove() {
        for (int stratum : new int[] {16, 17, 255}) {
            Reply reply = new Reply();
            reply.stratum = stratum;
            assertThat(rejected(reply.parse()).reason()).isEqualTo(RejectReason.STRATUM_UNSYNCHRONIZED);
        }
        Reply fifteen = new Reply();
        fifteen.stratum = 15;
        accepted(fifteen.parse());
    }

    @Test
    void leapIndicatorThree() {
        Reply reply = new Reply();
        reply.leap = 3;
        assertThat(rejected(reply.parse()).reason()).isEqualTo(RejectReason.LEAP_UNSYNCHRONIZED);
        reply.leap = 1; // a leap second is announced: the clock is fine
        accepted(reply.parse());
    }

    @Test
    void originMismatch() {
        Reply reply = new Reply();
        reply.origin = NONCE ^ 1;
        assertThat(rejected(reply.parse()).reason()).isEqualTo(RejectReason.ORIGIN_MISMATCH);
        reply.origin = 0;
        assertThat(rejected(reply.parse()).reason()).isEqualTo(RejectReason.ORIGIN_MISMATCH);
    }

    @Test
    void zeroTransmit() {
        Reply reply = new Reply();
        reply.transmit = 0;
        assertThat(rejected(reply.parse()).reason()).isEqualTo(RejectReason.ZERO_TRANSMIT);
    }

    @Test
    void absurdRootDistance() {
        Reply dispersion = new Reply();
        dispersion.rootDispersion = 20 << 16; // 20 s
        assertThat(rejected(dispersion.parse()).reason()).isEqualTo(RejectReason.ABSURD_ROOT_DISTANCE);

        Reply delay = new Reply();
        delay.rootDelay = 3 << 16; // 3 s: half of it is above the 1 s maximum
        delay.rootDispersion = 0;
        assertThat(rejected(delay.parse()).reason()).isEqualTo(RejectReason.ABSURD_ROOT_DISTANCE);

        Reply negative = new Reply();
        negative.rootDelay = -1;
        NtpWire.Rejected r = rejected(negative.parse());
        assertThat(r.reason()).isEqualTo(RejectReason.ABSURD_ROOT_DISTANCE);
        assertThat(r.detail()).contains("negative");

        // at the limit exactly: 1 s = 1/2 * (1 s) + 0.5 s
        Reply atLimit = new Reply();
        atLimit.rootDelay = 1 << 16;
        atLimit.rootDispersion = 1 << 15;
        accepted(atLimit.parse());
        atLimit.rootDispersion = (1 << 15) + 1;
        assertThat(rejected(atLimit.parse()).reason()).isEqualTo(RejectReason.ABSURD_ROOT_DISTANCE);
    }

    @Test
    void transmitBeforeReceive() {
        Reply reply = new Reply();
        reply.transmit = NtpWire.epochNanosToNtp(T2 - 1);
        assertThat(rejected(reply.parse()).reason()).isEqualTo(RejectReason.BAD_TIMESTAMPS);
    }

    @Test
    void serverHeldTheRequestLongerThanTheRoundTrip() {
        Reply reply = new Reply();
        reply.transmit = NtpWire.epochNanosToNtp(T2 + (T4 - T1) + 1);
        assertThat(rejected(reply.parse()).reason()).isEqualTo(RejectReason.BAD_TIMESTAMPS);
        // exactly the round trip: delay 0, accepted
        reply.transmit = NtpWire.epochNanosToNtp(T2 + (T4 - T1));
        assertThat(accepted(reply.parse()).delayNanos()).isZero();
    }

    @Test
    void ntpTimestampsConvertToEpochNanos() {
        long unixEpochSeconds = 2_208_988_800L; // 0x83AA7E80
        assertThat(NtpWire.ntpToEpochNanos(0x83AA7E80_00000000L)).isEqualTo(0);
        assertThat(NtpWire.ntpToEpochNanos(unixEpochSeconds << 32 | 0x8000_0000L)).isEqualTo(500_000_000L);
        assertThat(NtpWire.ntpToEpochNanos(unixEpochSeconds << 32 | 1)).isEqualTo(0);           // 0.23 ns
        assertThat(NtpWire.ntpToEpochNanos(unixEpochSeconds << 32 | 3)).isEqualTo(1);           // 0.70 ns
        assertThat(NtpWire.ntpToEpochNanos(unixEpochSeconds << 32 | 0xFFFF_FFFFL)).isEqualTo(1_000_000_000L);
        // 2000-01-01T00:00:00Z: NTP 3155673600 = 0xBC17C200, Unix 946684800
        assertThat(NtpWire.ntpToEpochNanos(0xBC17C200_00000000L)).isEqualTo(946_684_800_000_000_000L);
        // the ends of era 0: unsigned seconds
        assertThat(NtpWire.ntpToEpochNanos(0)).isEqualTo(-unixEpochSeconds * 1_000_000_000L);
        assertThat(NtpWire.ntpToEpochNanos(0xFFFF_FFFF_0000_0000L))
                .isEqualTo((0xFFFF_FFFFL - unixEpochSeconds) * 1_000_000_000L);
    }

    @Test
    void epochNanosConvertToNtpTimestamps() {
        assertThat(NtpWire.epochNanosToNtp(0)).isEqualTo(0x83AA7E80_00000000L);
        assertThat(NtpWire.epochNanosToNtp(1)).isEqualTo(0x83AA7E80_00000004L); // 4.29 steps of 2^-32 s
        assertThat(NtpWire.epochNanosToNtp(500_000_000L)).isEqualTo(0x83AA7E80_80000000L);
        assertThat(NtpWire.epochNanosToNtp(946_684_800_000_000_000L)).isEqualTo(0xBC17C200_00000000L);
        assertThat(NtpWire.epochNanosToNtp(-1)).isEqualTo(0x83AA7E7F_FFFFFFFCL); // before 1970 is fine
        assertThatThrownBy(() -> NtpWire.epochNanosToNtp(-2_208_988_800_000_000_001L))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> NtpWire.epochNanosToNtp((0x1_0000_0000L - 2_208_988_800L) * 1_000_000_000L))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void wholeNanosecondsSurviveTheRoundTrip() {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        for (int i = 0; i < 100_000; i++) {
            long epochNanos = THETA + random.nextLong() % 300_000_000_000_000_000L;
            long back = NtpWire.ntpToEpochNanos(NtpWire.epochNanosToNtp(epochNanos));
            if (back != epochNanos) {
                fail("seed " + seed + ": " + epochNanos + " came back as " + back);
            }
        }
    }

    @Test
    void shortFormatAndPrecisionRoundUp() {
        assertThat(NtpWire.shortFormatToNanosCeil(0)).isZero();
        assertThat(NtpWire.shortFormatToNanosCeil(1)).isEqualTo(15_259);
        assertThat(NtpWire.shortFormatToNanosCeil(1 << 16)).isEqualTo(1_000_000_000L);
        assertThat(NtpWire.shortFormatToNanosCeil(0xFFFF_FFFF)).isEqualTo(65_536_000_000_000L - 15_258);
        assertThat(NtpWire.precisionToNanosCeil(-20)).isEqualTo(954);
        assertThat(NtpWire.precisionToNanosCeil(-29)).isEqualTo(2);
        assertThat(NtpWire.precisionToNanosCeil(-30)).isEqualTo(1);
        assertThat(NtpWire.precisionToNanosCeil(-128)).isEqualTo(1);
        assertThat(NtpWire.precisionToNanosCeil(0)).isEqualTo(1_000_000_000L);
        assertThat(NtpWire.precisionToNanosCeil(127)).isEqualTo(io.gnomon.truetime.ClockSnapshot.SATURATED_BOUND);
    }

    /**
     * For random true offsets, monotonic clock drift up to the limit, asymmetric path delays and server errors
     * anywhere within what the server advertises (often at the extremes), the true offset at t4 lies within
     * the measurement's interval.
     */
    @Test
    void trueOffsetAlwaysLiesWithinTheBound() {
        long seed = Long.getLong("ntpwire.seed", System.nanoTime());
        Random random = new Random(seed);
        int accepted = 0;
        for (int i = 0; i < 200_000; i++) {
            // The monotonic clock is the reference; true time runs at rate (1 + rho) against it:
            // true(t) = theta1 + t + floor((t - t1) * rho).
            long theta1 = THETA + random.nextLong() % 100_000_000_000_000_000L;
            long t1 = random.nextLong() % 1_000_000_000_000_000L;
            long maxDriftPpb = random.nextInt(4) == 0 ? 0 : 1 + random.nextInt(500_000);
            long rhoPpb = extreme(random, maxDriftPpb);
            long forwardNanos = random.nextInt(4) == 0 ? 0 : random.nextInt(50_000_000);
            long holdNanos = random.nextInt(4) == 0 ? 0 : random.nextInt(1_000_000);
            long backNanos = random.nextInt(4) == 0 ? 0 : random.nextInt(50_000_000);
            long t4 = t1 + forwardNanos + holdNanos + backNanos;
            long trueT2 = trueTime(theta1, t1, rhoPpb, t1 + forwardNanos);
            long trueT3 = trueTime(theta1, t1, rhoPpb, t1 + forwardNanos + holdNanos);
            long trueT4 = trueTime(theta1, t1, rhoPpb, t4);

            Reply reply = new Reply();
            reply.rootDelay = random.nextInt(1 << random.nextInt(17)); // log-uniform up to 1 s
            reply.rootDispersion = random.nextInt(1 << random.nextInt(17));
            reply.precision = -10 - random.nextInt(20);
            // the server's error, exactly as advertised, rounded down to whole ns
            long serverErrorNanos = ((long) reply.rootDelay * 1_000_000_000L >>> 17)
                    + ((long) reply.rootDispersion * 1_000_000_000L >>> 16)
                    + (1_000_000_000L >> -reply.precision);
            // a server that is consistently off (the usual case) or whose error jumps between t2 and t3
            long receiveErrorNanos = extreme(random, serverErrorNanos);
            long transmitErrorNanos = random.nextBoolean() ? receiveErrorNanos : extreme(random, serverErrorNanos);
            reply.receive = NtpWire.epochNanosToNtp(trueT2 + receiveErrorNanos);
            reply.transmit = NtpWire.epochNanosToNtp(trueT3 + transmitErrorNanos);
            byte[] bytes = reply.bytes();

            NtpWire.Result result = NtpWire.parseReply(bytes, 48, NONCE, t1, t4, maxDriftPpb, 2_000_000_000L);
            if (result instanceof NtpWire.Rejected r) {
                // only a server error larger than its hold time can make t3 - t2 look impossible
                if (r.reason() != RejectReason.BAD_TIMESTAMPS) {
                    fail("seed " + seed + ", iteration " + i + ": unexpected " + r);
                }
                continue;
            }
            accepted++;
            Measurement m = ((NtpWire.Accepted) result).measurement();
            long trueOffsetAtT4 = trueT4 - t4;
            if (trueOffsetAtT4 < m.epochOffsetNanos() - m.boundNanos()
                    || trueOffsetAtT4 > m.epochOffsetNanos() + m.boundNanos()) {
                fail("seed " + seed + " (rerun with -Dntpwire.seed=" + seed + "), iteration " + i + ": true offset "
                        + trueOffsetAtT4 + " outside " + m);
            }
        }
        assertThat(accepted).as("seed %d", seed).isGreaterThan(80_000);
    }

    /** Each parse of any 48..64 bytes returns a result, never throws. */
    @Test
    void arbitraryBytesNeverThrow() {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        byte[] bytes = new byte[64];
        for (int i = 0; i < 100_000; i++) {
            random.nextBytes(bytes);
            if (random.nextBoolean()) {
                bytes[0] = (byte) (bytes[0] & ~7 | 4); // mode 4, to reach the later checks
                ByteBuffer.wrap(bytes).putLong(24, NONCE);
            }
            long t1 = random.nextLong();
            long t4 = t1 + (random.nextLong() >>> 1); // may wrap: monotonic readings compare by difference
            try {
                assertThat(NtpWire.parseReply(bytes, 48 + random.nextInt(17), NONCE, t1, t4,
                        random.nextInt(100_000_001), Long.MAX_VALUE)).isNotNull();
            } catch (RuntimeException e) {
                throw new AssertionError("seed " + seed + ", iteration " + i, e);
            }
        }
    }

    @Test
    void callerMistakesAreIllegalArguments() {
        byte[] bytes = new Reply().bytes();
        assertThatThrownBy(() -> NtpWire.parseReply(bytes, 49, NONCE, T1, T4, 0, 1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> NtpWire.parseReply(bytes, 48, NONCE, T4, T1, 0, 1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> NtpWire.parseReply(bytes, 48, NONCE, T1, T4, -1, 1))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static long trueTime(long theta1, long t1, long rhoPpb, long t) {
        return theta1 + t + Math.floorDiv((t - t1) * rhoPpb, 1_000_000_000L);
    }

    /** A value in [-max, max], at either end half of the time. */
    private static long extreme(Random random, long max) {
        return switch (random.nextInt(4)) {
            case 0 -> max;
            case 1 -> -max;
            default -> max == 0 ? 0 : random.nextLong() % (max + 1);
        };
    }
}
