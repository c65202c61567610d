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
    public sealed interface Result permits Tracking, SourceCount, SourceData, Sourcestats, Rejected {
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

    // --- the requests that find out how old chronyd's oldest sample is: N_SOURCES, SOURCE_DATA, SOURCESTATS

    /** {@code REQ_N_SOURCES} in candm.h; its reply, {@code RPY_N_SOURCES}, holds one u32 count. */
    public static final int REQ_N_SOURCES = 14;
    public static final int RPY_N_SOURCES = 2;
    /** {@code REQ_SOURCE_DATA}: one source by index; reply {@code RPY_SOURCE_DATA}. */
    public static final int REQ_SOURCE_DATA = 15;
    public static final int RPY_SOURCE_DATA = 3;
    /** {@code REQ_SOURCESTATS}: one source's regression by the same index; reply {@code RPY_SOURCESTATS}. */
    public static final int REQ_SOURCESTATS = 34;
    public static final int RPY_SOURCESTATS = 6;
    /** Reply header plus {@code RPY_N_Sources} (n_sources u32) up to its EOR. */
    public static final int N_SOURCES_REPLY_LENGTH = REPLY_HEADER_LENGTH + 4;
    /**
     * Reply header plus {@code RPY_Source_Data} up to its EOR: IPAddr @28 (20), poll i16 @48, stratum @50,
     * state @52, mode @54, flags @56, reachability @58, since_sample u32 @60, three Floats @64.
     */
    public static final int SOURCE_DATA_REPLY_LENGTH = REPLY_HEADER_LENGTH + 48;
    /**
     * Reply header plus {@code RPY_Sourcestats} up to its EOR: ref_id @28, IPAddr @32 (20), n_samples u32 @52,
     * n_runs u32 @56, span_seconds u32 @60, Floats @64: sd, resid_freq_ppm, skew_ppm, est_offset, est_offset_err.
     */
    public static final int SOURCESTATS_REPLY_LENGTH = REPLY_HEADER_LENGTH + 56;
    /** chronyd puts this in since_sample for a source with no sample ({@code (uint32_t)-1}). */
    public static final long NO_SAMPLE = 0xFFFF_FFFFL;
    /** candm.h's source states ({@code RPY_SD_ST_*}) as chrony 4 numbers them, for the log. */
    static final String[] SOURCE_STATES = {"selected", "nonselectable", "falseticker", "jittery", "unselected",
            "selectable"};
    /** Most sources Gnomon enumerates in chronyd; a reply claiming more is refused (chronyd's table is small). */
    public static final int MAX_SOURCES = 256;

    /** {@code RPY_N_SOURCES}: how many sources chronyd has, indexed 0..count-1 by SOURCE_DATA and SOURCESTATS. */
    public record SourceCount(int count) implements Result {
        public SourceCount {
            if (count < 0 || count > MAX_SOURCES) {
                throw new IllegalArgumentException("count must be in [0, " + MAX_SOURCES + "], was " + count);
            }
        }
    }

    /**
     * {@code RPY_Source_Data}, the fields Gnomon uses.
     *
     * @param ipAddress          the source's address as text ("ID#..." for a reference clock)
     * @param pollLog2Seconds    its current polling interval, log2 seconds
     * @param state              0 selected ... 5 selectable ({@link #SOURCE_STATES})
     * @param reachability       the reachability register (8 bits)
     * @param sinceSampleSeconds seconds from its last sample to chronyd's reply, {@link #NO_SAMPLE} if it has none;
     *                           chrony 4 zeroes the sample time's fraction before subtracting and truncates the
     *                           difference, so the true age is within 1 s of it
     */
    public record SourceData(String ipAddress, int pollLog2Seconds, int stratum, int state, int mode, int flags,
                             int reachability, long sinceSampleSeconds) implements Result {
        public SourceData {
            if (ipAddress == null || sinceSampleSeconds < 0 || sinceSampleSeconds > NO_SAMPLE) {
                throw new IllegalArgumentException("ipAddress must not be null and sinceSampleSeconds must be a u32, "
                        + "was " + sinceSampleSeconds);
            }
        }

        public boolean hasSample() {
            return sinceSampleSeconds != NO_SAMPLE;
        }

        public String stateName() {
            return state < SOURCE_STATES.length ? SOURCE_STATES[state] : "state " + state;
        }
    }

    /**
     * {@code RPY_Sourcestats}: one source's regression (sourcestats.c).
     *
     * @param samples     samples in its window ({@code n_samples})
     * @param runs        runs of residual signs ({@code n_runs})
     * @param spanSeconds time from its oldest kept sample (the runs-test samples included) to its newest, rounded
     *                    to the nearest second: the true span is within 0.5 s of it
     */
    public record Sourcestats(int referenceId, String ipAddress, long samples, long runs, long spanSeconds,
                              double sdSeconds, double residualFrequencyPpm, double skewPpm,
                              double estimatedOffsetSeconds, double estimatedOffsetErrorSeconds) implements Result {
        public Sourcestats {
            if (ipAddress == null || samples < 0 || runs < 0 || spanSeconds < 0) {
                throw new IllegalArgumentException("ipAddress must not be null and counts must be >= 0");
            }
        }
    }

    /** An N_SOURCES request: a header only, padded to the reply's length. */
    public static byte[] nSourcesRequest(int sequence) {
        return request(REQ_N_SOURCES, sequence, N_SOURCES_REPLY_LENGTH, -1);
    }

    /** A SOURCE_DATA request for source {@code index} (0-based), padded to the reply's length. */
    public static byte[] sourceDataRequest(int sequence, int index) {
        checkIndex(index);
        return request(REQ_SOURCE_DATA, sequence, SOURCE_DATA_REPLY_LENGTH, index);
    }

    /** A SOURCESTATS request for source {@code index} (0-based, as in SOURCE_DATA), padded to the reply's length. */
    public static byte[] sourcestatsRequest(int sequence, int index) {
        checkIndex(index);
        return request(REQ_SOURCESTATS, sequence, SOURCESTATS_REPLY_LENGTH, index);
    }

    private static void checkIndex(int index) {
        if (index < 0 || index >= MAX_SOURCES) {
            throw new IllegalArgumentException("index must be in [0, " + MAX_SOURCES + "), was " + index);
        }
    }

    /** Header with {@code command} and {@code sequence}; the index, if any, is the i32 at 20 (the request data). */
    private static byte[] request(int command, int sequence, int length, int index) {
        ByteBuffer b = ByteBuffer.allocate(length);
        b.put(0, (byte) PROTOCOL_VERSION);
        b.put(1, (byte) PKT_TYPE_REQUEST);
        b.putShort(4, (short) command);
        b.putInt(8, sequence);
        if (index >= 0) {
            b.putInt(REQUEST_HEADER_LENGTH, index);
        }
        return b.array();
    }

    /** Validates and decodes a reply to {@link #nSourcesRequest}; the contract of {@link #parseTrackingReply}. */
    public static Result parseNSourcesReply(byte[] bytes, int length, int expectedSequence) {
        Object checked = checkHeader(bytes, length, expectedSequence, REQ_N_SOURCES, RPY_N_SOURCES,
                N_SOURCES_REPLY_LENGTH);
        if (checked instanceof Rejected rejected) {
            return rejected;
        }
        ByteBuffer b = (ByteBuffer) checked;
        long count = u32(b, 28);
        if (count > MAX_SOURCES) {
            return answered(RejectReason.CMDMON_MALFORMED, "n_sources " + count + " > " + MAX_SOURCES);
        }
        return new SourceCount((int) count);
    }

    /** Validates and decodes a reply to {@link #sourceDataRequest}; the contract of {@link #parseTrackingReply}. */
    public static Result parseSourceDataReply(byte[] bytes, int length, int expectedSequence) {
        Object checked = checkHeader(bytes, length, expectedSequence, REQ_SOURCE_DATA, RPY_SOURCE_DATA,
                SOURCE_DATA_REPLY_LENGTH);
        if (checked instanceof Rejected rejected) {
            return rejected;
        }
        ByteBuffer b = (ByteBuffer) checked;
        String ip = ipAddress(b, 28);
        if (ip == null) {
            return answered(RejectReason.CMDMON_MALFORMED, "IP address family " + u16(b, 44) + " is not 0..3");
        }
        return new SourceData(ip, b.getShort(48), u16(b, 50), u16(b, 52), u16(b, 54), u16(b, 56), u16(b, 58),
                u32(b, 60));
    }

    /** Validates and decodes a reply to {@link #sourcestatsRequest}; the contract of {@link #parseTrackingReply}. */
    public static Result parseSourcestatsReply(byte[] bytes, int length, int expectedSequence) {
        Object checked = checkHeader(bytes, length, expectedSequence, REQ_SOURCESTATS, RPY_SOURCESTATS,
                SOURCESTATS_REPLY_LENGTH);
        if (checked instanceof Rejected rejected) {
            return rejected;
        }
        ByteBuffer b = (ByteBuffer) checked;
        String ip = ipAddress(b, 32);
        if (ip == null) {
            return answered(RejectReason.CMDMON_MALFORMED, "IP address family " + u16(b, 48) + " is not 0..3");
        }
        return new Sourcestats(b.getInt(28), ip, u32(b, 52), u32(b, 56), u32(b, 60), decodeFloat(b.getInt(64)),
                decodeFloat(b.getInt(68)), decodeFloat(b.getInt(72)), decodeFloat(b.getInt(76)),
                decodeFloat(b.getInt(80)));
    }

    /**
     * The checks every reply goes through, in {@link #parseTrackingReply}'s order: the buffer to read from, or the
     * rejection. A status other than success ends the exchange (chronyd answered: e.g. INVALID for an index past
     * its table, when a source went away between N_SOURCES and the request).
     */
    private static Object checkHeader(byte[] bytes, int length, int expectedSequence, int command, int replyCode,
                                      int replyLength) {
        if (bytes == null || length < 0 || length > bytes.length) {
            throw new IllegalArgumentException("length must be in [0, bytes.length], was " + length);
        }
        ByteBuffer b = ByteBuffer.wrap(bytes, 0, length).slice();
        if (length < REPLY_HEADER_LENGTH) {
            return new Rejected(RejectReason.CMDMON_MALFORMED,
                    "reply of " + length + " bytes is shorter than the header (" + REPLY_HEADER_LENGTH + ")", false);
        }
        if (u8(b, 0) != PROTOCOL_VERSION) {
            return new Rejected(RejectReason.CMDMON_MALFORMED,
                    "protocol version " + u8(b, 0) + " != " + PROTOCOL_VERSION, false);
        }
        if (u8(b, 1) != PKT_TYPE_REPLY) {
            return new Rejected(RejectReason.CMDMON_MALFORMED,
                    "packet type " + u8(b, 1) + " != " + PKT_TYPE_REPLY + " (reply)", false);
        }
        int sequence = b.getInt(16);
        if (sequence != expectedSequence) {
            return new Rejected(RejectReason.CMDMON_SEQUENCE_MISMATCH, "sequence " + Integer.toHexString(sequence)
                    + " != request's " + Integer.toHexString(expectedSequence), false);
        }
        if (u16(b, 4) != command) {
            return answered(RejectReason.CMDMON_MALFORMED, "command echo " + u16(b, 4) + " != " + command);
        }
        int status = u16(b, 8);
        if (status != STT_SUCCESS) {
            return answered(RejectReason.CMDMON_ERROR_STATUS, "status " + status + " (" + statusName(status) + ")");
        }
        if (u16(b, 6) != replyCode) {
            return answered(RejectReason.CMDMON_MALFORMED, "reply code " + u16(b, 6) + " != " + replyCode);
        }
        if (length < replyLength) {
            return answered(RejectReason.CMDMON_MALFORMED, "reply of " + length + " bytes < " + replyLength);
        }
        return b;
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
