package io.gnomon.clockd.source.chrony;

import io.gnomon.clockd.select.RejectReason;

import java.nio.ByteBuffer;
import java.util.Locale;

/**
 * chronyd's monitoring protocol (cmdmon, protocol version 6) for the one request Gnomon sends, TRACKING, as pure
 * functions: build the request, validate and decode the reply. No sockets, clocks or randomness: the runtime
 * ({@link ChronySource}) passes the random sequence number in. Layouts are those of chrony's {@code candm.h}
 * ({@code CMD_Request}, {@code CMD_Reply}, {@code RPY_Tracking}); all integers are big-endian.
 *
 * <pre>
 * request (104 bytes): version 6 | type 1 (request) | 0 | 0 | command u16 = 33 | attempt u16 | sequence u32
 *                      | 8 zero bytes | 84 zero bytes of padding, so the request is as long as the reply
 * reply header (28):   version 6 | type 2 (reply) | 0 | 0 | command u16 | reply u16 | status u16 | 6 pad
 *                      | sequence u32 | 8 pad
 * tracking data (76):  refid u32 @28 | IPAddr @32 (16 address bytes, family u16 @48, pad) | stratum u16 @52
 *                      | leap u16 @54 | ref time @56 (secs high u32, secs low u32, nsecs u32)
 *                      | nine Floats @68: current correction, last offset, RMS offset, frequency (ppm),
 *                        residual frequency (ppm), skew (ppm), root delay, root dispersion, update interval
 * </pre>
 *
 * <p>Checks, cheapest and least trusting first: length of the header, version, packet type, then the sequence
 * number. Only a reply that echoes our random sequence number was written by the chronyd we asked, so nothing
 * it says (status, leap, stratum) is believed or counted against chronyd before that check; a reply rejected
 * earlier leaves the request outstanding ({@link Rejected#answered()} is false), so a spoofed datagram cannot
 * cancel the real reply.
 */
public final class ChronyCmdmon {

    public static final int PROTOCOL_VERSION = 6;
    static final int PKT_TYPE_REQUEST = 1;
    static final int PKT_TYPE_REPLY = 2;
    /** {@code REQ_TRACKING} in candm.h. */
    public static final int REQ_TRACKING = 33;
    /** {@code RPY_TRACKING} in candm.h. */
    public static final int RPY_TRACKING = 5;
    static final int STT_SUCCESS = 0;

    static final int REQUEST_HEADER_LENGTH = 20;
    static final int REPLY_HEADER_LENGTH = 28;
    /** Reply header plus {@code RPY_Tracking} up to its EOR marker: also the request length (chrony requires it). */
    public static final int TRACKING_REPLY_LENGTH = REPLY_HEADER_LENGTH + 76;

    /** Leap status "not synchronised" (chrony's {@code LEAP_Unsynchronised}). */
    static final int LEAP_UNSYNCHRONISED = 3;
    /** chrony's {@code NTP_MAX_STRATUM}: this stratum and above mean unsynchronised. */
    static final int MAX_STRATUM = 16;
    /** {@code TV_NOHIGHSEC}: chrony puts this in the high seconds word when its time_t is 32 bits; it means 0. */
    static final long TV_NOHIGHSEC = 0x7fff_ffffL;

    /**
     * Largest magnitude, in seconds, accepted for a time-valued Float (about 11.6 days). chrony encodes any value
     * above 1e100 as the largest Float (about 2^62 s), so a bigger value is "infinite" or hostile, never a
     * measurement; the limit also keeps every conversion to nanoseconds far from overflow.
     */
    public static final long MAX_FLOAT_SECONDS = 1_000_000;
    /** Reference times must be before this many seconds since the epoch (year 2255): nanoseconds fit a long. */
    static final long MAX_REFERENCE_EPOCH_SECONDS = 9_000_000_000L;

    private static final long NANOS_PER_SECOND = 1_000_000_000L;
    private static final int FLOAT_COEF_BITS = 25;

    private ChronyCmdmon() {
    }

    /** What a reply turned into: a tracking report or a rejection. */
    public sealed interface Result permits Tracking, Rejected {
    }

    /** A valid tracking reply. */
    public record Tracking(TrackingReport report) implements Result {
        public Tracking {
            if (report == null) {
                throw new IllegalArgumentException("report must not be null");
            }
        }
    }

    /**
     * A dropped reply.
     *
     * @param reason   why
     * @param detail   the field and value, for the log
     * @param answered true if the reply echoed the outstanding request's sequence number, so chronyd did answer
     *                 (with something unusable) and the request is no longer outstanding
     */
    public record Rejected(RejectReason reason, String detail, boolean answered) implements Result {
        public Rejected {
            if (reason == null || detail == null) {
                throw new IllegalArgumentException("reason and detail must not be null");
            }
        }
    }

    /**
     * chronyd's tracking report. Time values are in nanoseconds, converted from chrony's Floats exactly and then
     * rounded away from zero to a whole nanosecond (so a magnitude is never understated by the rounding).
     *
     * @param referenceId                 {@code refid} of the selected source (an IPv4 address or ASCII name)
     * @param ipAddress                   the selected source's address as text, or "" if chrony sent none
     * @param stratum                     chronyd's stratum (1..15 once accepted)
     * @param leapStatus                  0 normal, 1 insert second, 2 delete second (3, unsynchronised, is rejected)
     * @param referenceTimeEpochNanos     chronyd's last clock update, in its corrected ("cooked") time
     * @param currentCorrectionNanos      chrony's "System time": add it to the system clock to get chrony's
     *                                    estimate of true time (positive: the clock is slow)
     * @param lastOffsetNanos             offset measured at the last update
     * @param rmsOffsetNanos              long-term average of the offset
     * @param frequencyPpm                chrony's estimate of the clock's frequency error (positive: fast)
     * @param residualFrequencyPpm        residual frequency of the selected source
     * @param skewPpm                     chrony's estimated error bound of the frequency
     * @param rootDelayNanos              total round-trip delay to the stratum-1 source, >= 0
     * @param rootDispersionNanos         total dispersion to the stratum-1 source, grown to the time of the reply
     *                                    with chrony's own skew estimate, >= 0
     * @param lastUpdateIntervalSeconds   interval between the last two clock updates
     */
    public record TrackingReport(int referenceId, String ipAddress, int stratum, int leapStatus,
                                 long referenceTimeEpochNanos, long currentCorrectionNanos, long lastOffsetNanos,
                                 long rmsOffsetNanos, double frequencyPpm, double residualFrequencyPpm,
                                 double skewPpm, long rootDelayNanos, long rootDispersionNanos,
                                 double lastUpdateIntervalSeconds) {
        public TrackingReport {
            if (ipAddress == null) {
                throw new IllegalArgumentException("ipAddress must not be null");
            }
            if (rootDelayNanos < 0 || rootDispersionNanos < 0) {
                throw new IllegalArgumentException("root delay and dispersion must be >= 0, were "
                        + rootDelayNanos + " and " + rootDispersionNanos);
            }
        }

        /** The reference id as chronyc prints it: eight hex digits. */
        public String referenceIdHex() {
            return String.format(Locale.ROOT, "%08X", referenceId);
        }
    }

    /**
     * A TRACKING request: the 20-byte header with {@code sequence}, then zero padding up to the reply's length,
     * {@link #TRACKING_REPLY_LENGTH} (chronyd drops shorter requests, so that it never amplifies traffic).
     *
     * @param sequence a random number; the reply must echo it
     */
    public static byte[] trackingRequest(int sequence) {
        ByteBuffer b = ByteBuffer.allocate(TRACKING_REPLY_LENGTH); // zero-filled: res, attempt, pads, padding
        b.put(0, (byte) PROTOCOL_VERSION);
        b.put(1, (byte) PKT_TYPE_REQUEST);
        b.putShort(4, (short) REQ_TRACKING);
        b.putShort(6, (short) 0); // attempt: we never resend with the same sequence number
        b.putInt(8, sequence);
        byte[] bytes = b.array();
        assert bytes.length >= REQUEST_HEADER_LENGTH && bytes.length == TRACKING_REPLY_LENGTH;
        return bytes;
    }

    /**
     * Validates a reply to {@link #trackingRequest(int)} and decodes it.
     *
     * @param bytes            the datagram, from index 0
     * @param length           number of valid bytes in {@code bytes}; bytes beyond the tracking data are ignored
     * @param expectedSequence the sequence number of the outstanding request
     * @return the report, or why the reply was rejected; never throws for any content of {@code bytes}
     * @throws IllegalArgumentException if {@code length} is outside {@code [0, bytes.length]} (a caller bug)
     */
    public static Result parseTrackingReply(byte[] bytes, int length, int expectedSequence) {
        if (bytes == null || length < 0 || length > bytes.length) {
            throw new IllegalArgumentException("length must be in [0, bytes.length], was " + length);
        }
        ByteBuffer b = ByteBuffer.wrap(bytes, 0, length).slice(); // big-endian, absolute reads below

        if (length < REPLY_HEADER_LENGTH) {
            return new Rejected(RejectReason.CMDMON_MALFORMED,
                    "reply of " + length + " bytes is shorter than the header (" + REPLY_HEADER_LENGTH + ")", false);
        }
        int version = u8(b, 0);
        if (version != PROTOCOL_VERSION) {
            return new Rejected(RejectReason.CMDMON_MALFORMED,
                    "protocol version " + version + " != " + PROTOCOL_VERSION, false);
        }
        int packetType = u8(b, 1);
        if (packetType != PKT_TYPE_REPLY) {
            return new Rejected(RejectReason.CMDMON_MALFORMED,
                    "packet type " + packetType + " != " + PKT_TYPE_REPLY + " (reply)", false);
        }
        int sequence = b.getInt(16);
        if (sequence != expectedSequence) {
            return new Rejected(RejectReason.CMDMON_SEQUENCE_MISMATCH, "sequence " + Integer.toHexString(sequence)
                    + " != request's " + Integer.toHexString(expectedSequence), false);
        }

        // From here on the reply answers our request: every rejection below ends the exchange.
        int command = u16(b, 4);
        if (command != REQ_TRACKING) {
            return answered(RejectReason.CMDMON_MALFORMED, "command echo " + command + " != " + REQ_TRACKING);
        }
        int status = u16(b, 8);
        if (status != STT_SUCCESS) {
            return answered(RejectReason.CMDMON_ERROR_STATUS, "status " + status + " (" + statusName(status) + ")");
        }
        int reply = u16(b, 6);
        if (reply != RPY_TRACKING) {
            return answered(RejectReason.CMDMON_MALFORMED, "reply code " + reply + " != " + RPY_TRACKING);
        }
        if (length < TRACKING_REPLY_LENGTH) {
            return answered(RejectReason.CMDMON_MALFORMED,
                    "tracking reply of " + length + " bytes < " + TRACKING_REPLY_LENGTH);
        }

        int leap = u16(b, 54);
        if (leap == LEAP_UNSYNCHRONISED) {
            return answered(RejectReason.SOURCE_UNSYNCHRONIZED, "leap status 3 (not synchronised)");
        }
        if (leap > LEAP_UNSYNCHRONISED) {
            return answered(RejectReason.CMDMON_MALFORMED, "leap status " + leap + " > 3");
        }
        int stratum = u16(b, 52);
        if (stratum == 0 || stratum >= MAX_STRATUM) {
            return answered(RejectReason.SOURCE_UNSYNCHRONIZED, "stratum " + stratum
                    + (stratum == 0 ? " (chrony reports 0 when unsynchronised)" : " >= " + MAX_STRATUM));
        }
        String ip = ipAddress(b, 32);
        if (ip == null) {
            return answered(RejectReason.CMDMON_MALFORMED, "IP address family " + u16(b, 48) + " is not 0..3");
        }

        long secondsHigh = u32(b, 56);
        long secondsLow = u32(b, 60);
        long nanos = u32(b, 64);
        if (secondsHigh == TV_NOHIGHSEC) {
            secondsHigh = 0;
        }
        if (secondsHigh >= 3 || nanos >= NANOS_PER_SECOND) { // high >= 3: past 2^33 s, the limit below anyway
            return answered(RejectReason.BAD_REFERENCE_TIME, "reference time high " + secondsHigh + ", low "
                    + secondsLow + ", nsec " + nanos + " is not a valid time");
        }
        long seconds = secondsHigh << 32 | secondsLow;
        if (seconds == 0 && nanos == 0) {
            return answered(RejectReason.BAD_REFERENCE_TIME, "reference time 0 (chronyd never updated its clock)");
        }
        if (seconds >= MAX_REFERENCE_EPOCH_SECONDS) {
            return answered(RejectReason.BAD_REFERENCE_TIME, "reference time " + seconds + " s is past year 2255");
        }
        long referenceTimeEpochNanos = seconds * NANOS_PER_SECOND + nanos;

        String[] names = {"current correction", "last offset", "RMS offset", "frequency", "residual frequency",
                "skew", "root delay", "root dispersion", "update interval"};
        int[] raw = new int[names.length];
        for (int i = 0; i < raw.length; i++) {
            raw[i] = b.getInt(68 + 4 * i);
            if (Math.abs(decodeFloat(raw[i])) > MAX_FLOAT_SECONDS) {
                // The time fields are in seconds; ppm and intervals this large are as absurd.
                RejectReason reason = i == 6 || i == 7 ? RejectReason.ABSURD_ROOT_DISTANCE : RejectReason.CMDMON_MALFORMED;
                return answered(reason, names[i] + " " + decodeFloat(raw[i]) + " beyond +-" + MAX_FLOAT_SECONDS);
            }
        }
        // The sign of a Float is its coefficient's (bit 24), not the int's: bit 31 is the exponent's sign.
        if (decodeFloat(raw[6]) < 0 || decodeFloat(raw[7]) < 0) {
            return answered(RejectReason.ABSURD_ROOT_DISTANCE, "root delay " + decodeFloat(raw[6])
                    + " s or root dispersion " + decodeFloat(raw[7]) + " s is negative");
        }
        TrackingReport report = new TrackingReport(b.getInt(28), ip, stratum, leap, referenceTimeEpochNanos,
                floatToNanosAwayFromZero(raw[0]), floatToNanosAwayFromZero(raw[1]), floatToNanosAwayFromZero(raw[2]),
                decodeFloat(raw[3]), decodeFloat(raw[4]), decodeFloat(raw[5]),
                floatToNanosAwayFromZero(raw[6]), floatToNanosAwayFromZero(raw[7]), decodeFloat(raw[8]));
        return new Tracking(report);
    }

    /**
     * chrony's Float (candm.h): the top 7 bits are a two's-complement exponent {@code e}, the low 25 bits a
     * two's-complement coefficient {@code c} (no hidden bit); the value is {@code c * 2^(e - 25)}. Exact in a
     * double: |c| < 2^25 and e - 25 is in [-89, 38].
     */
    public static double decodeFloat(int raw) {
        int exponent = raw >> FLOAT_COEF_BITS;                               // arithmetic shift: sign-extends 7 bits
        int coefficient = (raw << (32 - FLOAT_COEF_BITS)) >> (32 - FLOAT_COEF_BITS); // sign-extends 25 bits
        return Math.scalb((double) coefficient, exponent - FLOAT_COEF_BITS);
    }

    /**
     * The Float in nanoseconds, rounded away from zero to a whole nanosecond, computed in integers (no double
     * rounding). Only for values within {@link #MAX_FLOAT_SECONDS}: the caller checks that first.
     */
    static long floatToNanosAwayFromZero(int raw) {
        int exponent = (raw >> FLOAT_COEF_BITS) - FLOAT_COEF_BITS;
        long coefficient = (raw << (32 - FLOAT_COEF_BITS)) >> (32 - FLOAT_COEF_BITS);
        if (coefficient == 0) {
            return 0;
        }
        long magnitude = Math.abs(coefficient); // < 2^25
        long nanos;
        if (exponent >= 0) {
            // value <= MAX_FLOAT_SECONDS (checked by the caller), so magnitude << exponent <= 1e6 and this fits
            if (exponent > 20 || (magnitude << exponent) > MAX_FLOAT_SECONDS) {
                throw new IllegalArgumentException("Float 0x" + Integer.toHexString(raw) + " is beyond the limit");
            }
            nanos = (magnitude << exponent) * NANOS_PER_SECOND;
        } else {
            int shift = -exponent;                        // 1..89
            long scaled = magnitude * NANOS_PER_SECOND;   // < 2^25 * 2^30 = 2^55
            nanos = shift >= 62 ? 1 : (scaled + (1L << shift) - 1) >>> shift; // ceil; < 2^63 for shift <= 61
        }
        assert nanos > 0;
        return coefficient < 0 ? -nanos : nanos;
    }

    /**
     * Encodes {@code coefficient * 2^(exponent - 25)} as a chrony Float: for building replies in tests and fakes.
     *
     * @throws IllegalArgumentException if the coefficient or exponent does not fit its bits
     */
    public static int encodeFloat(int coefficient, int exponent) {
        if (coefficient < -(1 << 24) || coefficient >= 1 << 24 || exponent < -64 || exponent > 63) {
            throw new IllegalArgumentException("coefficient " + coefficient + " or exponent " + exponent
                    + " does not fit 25 or 7 bits");
        }
        return exponent << FLOAT_COEF_BITS | (coefficient & ((1 << FLOAT_COEF_BITS) - 1));
    }

    /**
     * The nearest chrony Float to {@code seconds}, as chronyd's {@code UTI_FloatHostToNetwork} rounds
     * (coefficient rounded to nearest, exponent chosen so the coefficient uses 24 bits). For fakes and tests.
     */
    public static int encodeFloat(double seconds) {
        if (!(Math.abs(seconds) >= 1.0e-100)) {
            return 0; // zero, tiny or NaN
        }
        boolean negative = seconds < 0;
        double x = Math.abs(seconds);
        if (x > 1.0e100) {
            return encodeFloat(negative ? -(1 << 24) : (1 << 24) - 1, 63);
        }
        int exponent = Math.max(-64, Math.getExponent(x) + 2); // x < 2^(exponent - 1): coefficient < 2^24
        long coefficient = Math.round(Math.scalb(x, FLOAT_COEF_BITS - exponent));
        if (coefficient >= 1 << 24) { // rounded up to 2^24: one more bit of exponent
            coefficient = 1 << 23;
            exponent++;
        }
        if (exponent > 63) {
            return encodeFloat(negative ? -(1 << 24) : (1 << 24) - 1, 63);
        }
        return encodeFloat((int) (negative ? -coefficient : coefficient), exponent);
    }

    private static Rejected answered(RejectReason reason, String detail) {
        return new Rejected(reason, detail, true);
    }

    /** chrony's IPAddr: 16 address bytes, family u16 (0 unspecified, 1 IPv4, 2 IPv6, 3 refclock id), pad. */
    private static String ipAddress(ByteBuffer b, int offset) {
        int family = u16(b, offset + 16);
        switch (family) {
            case 0:
                return "";
            case 1:
                return (b.get(offset) & 0xFF) + "." + (b.get(offset + 1) & 0xFF) + "." + (b.get(offset + 2) & 0xFF)
                        + "." + (b.get(offset + 3) & 0xFF);
            case 2: {
                StringBuilder s = new StringBuilder();
                for (int i = 0; i < 16; i += 2) {
                    if (i > 0) {
                        s.append(':');
                    }
                    s.append(Integer.toHexString(u16(b, offset + i)));
                }
                return s.toString();
            }
            case 3:
                return "ID#" + String.format(Locale.ROOT, "%010d", u32(b, offset));
            default:
                return null;
        }
    }

    /** Names of candm.h's status codes, for the log. */
    static String statusName(int status) {
        return switch (status) {
            case 1 -> "FAILED";
            case 2 -> "UNAUTH: chronyd does not allow this command from us (cmdallow?)";
            case 3 -> "INVALID";
            case 18 -> "BADPKTVERSION";
            case 19 -> "BADPKTLENGTH";
            default -> "see STT_* in chrony's candm.h";
        };
    }

    private static int u8(ByteBuffer b, int offset) {
        return b.get(offset) & 0xFF;
    }

    private static int u16(ByteBuffer b, int offset) {
        return b.getShort(offset) & 0xFFFF;
    }

    private static long u32(ByteBuffer b, int offset) {
        return b.getInt(offset) & 0xFFFF_FFFFL;
    }
}
