package io.gnomon.clockd.source.chrony;

import io.gnomon.clockd.select.RejectReason;
import io.gnomon.clockd.testing.CmdmonReply;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.SplittableRandom;
import java.util.function.UnaryOperator;

import static io.gnomon.clockd.testing.CmdmonReply.CORRECTION;
import static io.gnomon.clockd.testing.CmdmonReply.ROOT_DELAY;
import static io.gnomon.clockd.testing.CmdmonReply.ROOT_DISPERSION;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

class ChronyCmdmonTest {

    private static final int SEQ = 0xCAFEF00D;
    /** 2024-01-01T00:00:00.123456789Z */
    private static final long REF_NANOS = 1_704_067_200_123_456_789L;

    // --- chrony's Float: value = coefficient * 2^(exponent - 25), 7-bit exponent on top, 25-bit coefficient below

    @ParameterizedTest(name = "0x{0} = {1}")
    @CsvSource({
            "00000000, 0.0",
            "00000001, 2.9802322387695312E-8",   // coefficient 1, exponent 0: 2^-25
            "00800000, 0.25",                    // 2^23 * 2^-25
            "02800000, 0.5",                     // exponent 1 (0000001 << 25 = 0x02000000)
            "FE800000, 0.125",                   // exponent -1 (1111111 << 25 = 0xFE000000)
            "01FFFFFF, -2.9802322387695312E-8",  // coefficient -1 (25 one bits)
            "01800000, -0.25",                   // coefficient -2^23
            "01000000, -0.5",                    // coefficient -2^24, the most negative
            "00FFFFFF, 0.4999999701976776",       // coefficient 2^24 - 1, the most positive
            "7EFFFFFF, 4.611685743549481E18",    // exponent 63: (2^24 - 1) * 2^38, what chrony sends for 1e100+
            "7F000000, -4.611686018427388E18",  // exponent 63, coefficient -2^24: -2^62
            "80000001, 1.6155871338926322E-27",  // exponent -64: 2^-89
            "F4000003, 1.3969838619232178E-9",   // exponent -6: 3 * 2^-31
            "2C800000, 1048576.0",               // exponent 22: 2^23 * 2^-3 = 2^20 s
    })
    void decodesFloatsToHandComputedValues(String hex, double expected) {
        assertThat(ChronyCmdmon.decodeFloat(Integer.parseUnsignedInt(hex, 16))).isEqualTo(expected);
    }

    @ParameterizedTest(name = "0x{0} = {1} ns")
    @CsvSource({
            "00000000, 0",
            "00800000, 250000000",
            "FE800000, 125000000",
            "00000001, 30",          // 29.80 ns, rounded away from zero
            "01FFFFFF, -30",
            "F4000003, 2",           // 1.397 ns
            "80000001, 1",           // 2^-89 s: a positive fraction of a nanosecond
            "81FFFFFF, -1",
            "02800001, 500000060",   // (2^23 + 1) * 2^-24 s = 0.5 s + 59.6 ns
    })
    void convertsFloatsToNanosRoundingAwayFromZero(String hex, long expectedNanos) {
        assertThat(ChronyCmdmon.floatToNanosAwayFromZero(Integer.parseUnsignedInt(hex, 16))).isEqualTo(expectedNanos);
    }

    @Test
    void encodingRoundTripsWithinTheFloatsPrecision() {
        double[] values = {1e-6, -1e-6, 5.6e-6, 0.9e-6, 1.4e-6, 0.25, 1.0, -3.5, 123.456, 1e-9, 999_999.0};
        for (double v : values) {
            double decoded = ChronyCmdmon.decodeFloat(ChronyCmdmon.encodeFloat(v));
            assertThat(decoded).as("%s", v).isCloseTo(v, org.assertj.core.data.Offset.offset(Math.abs(v) * 0x1p-23));
        }
        assertThat(ChronyCmdmon.encodeFloat(0.0)).isZero();
        assertThat(ChronyCmdmon.encodeFloat(Double.NaN)).isZero();
        assertThat(ChronyCmdmon.encodeFloat(1e200)).isEqualTo(0x7EFFFFFF);
        assertThat(ChronyCmdmon.encodeFloat(-1e200)).isEqualTo(0x7F000000);
    }

    // --- the request

    @Test
    void trackingRequestIsAHeaderPaddedToTheReplyLength() {
        byte[] request = ChronyCmdmon.trackingRequest(0x01020304);
        assertThat(request).hasSize(104);
        byte[] expected = new byte[104];
        expected[0] = 6;      // version
        expected[1] = 1;      // request
        expected[5] = 33;     // command u16 at 4: TRACKING
        expected[8] = 1;      // sequence u32 at 8
        expected[9] = 2;
        expected[10] = 3;
        expected[11] = 4;
        assertThat(request).isEqualTo(expected);
    }

    // --- a valid reply

    @Test
    void decodesAValidReply() {
        byte[] reply = CmdmonReply.valid(SEQ, REF_NANOS)
                .seconds(CORRECTION, -0x1p-20)                    // exactly -953.67431640625 ns
                .u32(ROOT_DELAY, ChronyCmdmon.encodeFloat(46, -10)) // 46 * 2^-35 s = 1.339 ns
                .bytes();
        ChronyCmdmon.Result result = ChronyCmdmon.parseTrackingReply(reply, reply.length, SEQ);
        assertThat(result).isInstanceOf(ChronyCmdmon.Tracking.class);
        ChronyCmdmon.TrackingReport r = ((ChronyCmdmon.Tracking) result).report();
        assertThat(r.referenceIdHex()).isEqualTo("7F000001");
        assertThat(r.ipAddress()).isEqualTo("127.0.0.1");
        assertThat(r.stratum()).isEqualTo(2);
        assertThat(r.leapStatus()).isZero();
        assertThat(r.referenceTimeEpochNanos()).isEqualTo(REF_NANOS);
        assertThat(r.currentCorrectionNanos()).isEqualTo(-954);
        assertThat(r.rootDelayNanos()).isEqualTo(2);
        assertThat(r.rootDispersionNanos()).isBetween(5_000L, 5_001L);
        assertThat(r.frequencyPpm()).isEqualTo(-3.5);
        assertThat(r.lastUpdateIntervalSeconds()).isEqualTo(0.25);
    }

    @Test
    void acceptsChronysNoHighSecondsMarkerAndLongerDatagrams() {
        byte[] reply = CmdmonReply.valid(SEQ, REF_NANOS).u32(56, 0x7FFF_FFFFL).bytes(150);
        ChronyCmdmon.Result result = ChronyCmdmon.parseTrackingReply(reply, 150, SEQ);
        assertThat(((ChronyCmdmon.Tracking) result).report().referenceTimeEpochNanos()).isEqualTo(REF_NANOS);
    }

    @Test
    void decodesIpv6AndRefclockAddresses() {
        byte[] v6 = CmdmonReply.valid(SEQ, REF_NANOS).u32(32, 0x2001_0DB8L).u32(44, 1).u16(48, 2).bytes();
        assertThat(report(v6).ipAddress()).isEqualTo("2001:db8:0:0:0:0:0:1");
        byte[] id = CmdmonReply.valid(SEQ, REF_NANOS).u32(32, 42).u16(48, 3).bytes();
        assertThat(report(id).ipAddress()).isEqualTo("ID#0000000042");
        byte[] none = CmdmonReply.valid(SEQ, REF_NANOS).u32(32, 0).u16(48, 0).bytes();
        assertThat(report(none).ipAddress()).isEmpty();
    }

    private static ChronyCmdmon.TrackingReport report(byte[] reply) {
        return ((ChronyCmdmon.Tracking) ChronyCmdmon.parseTrackingReply(reply, reply.length, SEQ)).report();
    }

    // --- every rejection, each from a valid reply with one field broken

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            // name,                    reason,                    answered
            "short header,              CMDMON_MALFORMED,          false",
            "version 5,                 CMDMON_MALFORMED,          false",
            "packet type request,       CMDMON_MALFORMED,          false",
            "sequence off by one,       CMDMON_SEQUENCE_MISMATCH,  false",
            "command 14,                CMDMON_MALFORMED,          true",
            "status unauthorised,       CMDMON_ERROR_STATUS,       true",
            "reply code 2,              CMDMON_MALFORMED,          true",
            "short tracking data,       CMDMON_MALFORMED,          true",
            "leap 3,                    SOURCE_UNSYNCHRONIZED,     true",
            "leap 4,                    CMDMON_MALFORMED,          true",
            "stratum 0,                 SOURCE_UNSYNCHRONIZED,     true",
            "stratum 16,                SOURCE_UNSYNCHRONIZED,     true",
            "address family 9,          CMDMON_MALFORMED,          true",
            "reference time 0,          BAD_REFERENCE_TIME,        true",
            "reference nanos 1e9,       BAD_REFERENCE_TIME,        true",
            "reference time year 2300,  BAD_REFERENCE_TIME,        true",
            "negative root delay,       ABSURD_ROOT_DISTANCE,      true",
            "negative root dispersion,  ABSURD_ROOT_DISTANCE,      true",
            "infinite root dispersion,  ABSURD_ROOT_DISTANCE,      true",
            "infinite correction,       CMDMON_MALFORMED,          true",
            "correction 2e6 s,          CMDMON_MALFORMED,          true",
    })
    void rejectsEachBrokenField(String name, RejectReason reason, boolean answered) {
        UnaryOperator<CmdmonReply> breakIt = switch (name) {
            case "version 5" -> r -> r.u8(0, 5);
            case "packet type request" -> r -> r.u8(1, 1);
            case "sequence off by one" -> r -> r.u32(16, SEQ + 1);
            case "command 14" -> r -> r.u16(4, 14);
            case "status unauthorised" -> r -> r.u16(8, 2);
            case "reply code 2" -> r -> r.u16(6, 2);
            case "leap 3" -> r -> r.u16(54, 3);
            case "leap 4" -> r -> r.u16(54, 4);
            case "stratum 0" -> r -> r.u16(52, 0);
            case "stratum 16" -> r -> r.u16(52, 16);
            case "address family 9" -> r -> r.u16(48, 9);
            case "reference time 0" -> r -> r.referenceTime(0);
            case "reference nanos 1e9" -> r -> r.u32(64, 1_000_000_000L);
            case "reference time year 2300" -> r -> r.referenceTime(Long.MAX_VALUE); // 2262: past the limit
            case "negative root delay" -> r -> r.seconds(ROOT_DELAY, -1e-6);
            case "negative root dispersion" -> r -> r.seconds(ROOT_DISPERSION, -1e-6);
            case "infinite root dispersion" -> r -> r.seconds(ROOT_DISPERSION, 1e200);
            case "infinite correction" -> r -> r.seconds(CORRECTION, -1e200);
            case "correction 2e6 s" -> r -> r.seconds(CORRECTION, 2e6);
            default -> r -> r;
        };
        byte[] reply = breakIt.apply(CmdmonReply.valid(SEQ, REF_NANOS)).bytes();
        int length = switch (name) {
            case "short header" -> 27;
            case "short tracking data" -> 103;
            default -> reply.length;
        };
        ChronyCmdmon.Result result = ChronyCmdmon.parseTrackingReply(reply, length, SEQ);
        assertThat(result).isInstanceOf(ChronyCmdmon.Rejected.class);
        ChronyCmdmon.Rejected rejected = (ChronyCmdmon.Rejected) result;
        assertThat(rejected.reason()).isEqualTo(reason);
        assertThat(rejected.answered()).as("answered").isEqualTo(answered);
        assertThat(rejected.detail()).isNotBlank();
    }

    @Test
    void theSequenceIsCheckedBeforeAnythingTheReplySays() {
        // an unsynchronised, error-status reply with the wrong sequence number is only a sequence mismatch
        byte[] reply = CmdmonReply.valid(SEQ + 7, REF_NANOS).u16(54, 3).u16(8, 2).bytes();
        ChronyCmdmon.Rejected rejected = (ChronyCmdmon.Rejected) ChronyCmdmon.parseTrackingReply(reply, 104, SEQ);
        assertThat(rejected.reason()).isEqualTo(RejectReason.CMDMON_SEQUENCE_MISMATCH);
        assertThat(rejected.answered()).isFalse();
    }

    // --- never throws

    @Test
    void neverThrowsOnArbitraryBytes() {
        long seed = new SplittableRandom().nextLong();
        SplittableRandom random = new SplittableRandom(seed);
        byte[] valid = CmdmonReply.valid(SEQ, REF_NANOS).bytes();
        assertThatCode(() -> {
            for (int i = 0; i < 200_000; i++) {
                byte[] bytes;
                if (i % 2 == 0) {
                    bytes = new byte[random.nextInt(0, 200)];
                    random.nextBytes(bytes);
                } else {
                    // a valid reply with a few random bytes changed reaches the deeper checks
                    bytes = valid.clone();
                    for (int k = random.nextInt(1, 6); k > 0; k--) {
                        bytes[random.nextInt(20, bytes.length)] = (byte) random.nextInt();
                    }
                }
                int length = random.nextInt(0, bytes.length + 1);
                ChronyCmdmon.Result result = ChronyCmdmon.parseTrackingReply(bytes, length, SEQ);
                if (result instanceof ChronyCmdmon.Tracking t) {
                    // and whatever parses, the bound neither throws nor gives a negative bound
                    ChronyBound.measure(t.report(), new io.gnomon.clockd.SystemClocks.Pair(REF_NANOS, 5, 9),
                            200_000, Long.MAX_VALUE);
                }
            }
        }).as("seed %d (rerun: set this seed in neverThrowsOnArbitraryBytes)", seed).doesNotThrowAnyException();
    }
}
