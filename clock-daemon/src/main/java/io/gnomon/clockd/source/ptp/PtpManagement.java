package io.gnomon.clockd.source.ptp;

import io.gnomon.clockd.select.RejectReason;

/**
 * PTP management messages as ptp4l's {@code pmc} exchanges them over ptp4l's UNIX-domain management socket,
 * as pure functions: build a GET for one management id, and validate and decode the RESPONSE. No sockets,
 * clocks or state: the runtime ({@link PtpSource}) passes the sequence ids in.
 *
 * <p>Layouts (IEEE 1588-2008 sections 13.3 and 15; linuxptp's {@code msg.h}, {@code tlv.h}, {@code ddt.h},
 * {@code ds.h}; checked against ptp4l 3.1.1's replies on this project's machines). All fields big-endian.
 * <pre>
 * offset  size  PTP header (34 bytes)
 *      0     1  transportSpecific (high nibble) | messageType (low nibble, 0xD = MANAGEMENT)
 *      1     1  minorVersionPTP (high nibble)   | versionPTP (low nibble, 2)
 *      2     2  messageLength (whole message, header included)
 *      4     1  domainNumber
 *      5     1  reserved (minorSdoId)
 *      6     2  flagField
 *      8     8  correctionField
 *     16     4  reserved (messageTypeSpecific)
 *     20    10  sourcePortIdentity (clockIdentity 8, portNumber 2)
 *     30     2  sequenceId
 *     32     1  controlField (4 = management)
 *     33     1  logMessageInterval (0x7F)
 *         management message body (14 bytes)
 *     34    10  targetPortIdentity (all ones in a GET: every clock, every port)
 *     44     1  startingBoundaryHops
 *     45     1  boundaryHops
 *     46     1  reserved (high nibble) | actionField (low nibble: 0 GET, 2 RESPONSE)
 *     47     1  reserved
 *         one TLV
 *     48     2  tlvType (0x0001 MANAGEMENT, 0x0002 MANAGEMENT_ERROR_STATUS)
 *     50     2  lengthField (bytes after this field; even)
 *     52     2  managementId (MANAGEMENT) or managementErrorId (ERROR_STATUS, then managementId at 54,
 *               4 reserved bytes and an optional PTPText)
 *     54     -  data set (MANAGEMENT; empty in a GET)
 * </pre>
 * A GET is therefore 54 bytes with lengthField 2. ptp4l answers a clock data set GET with one RESPONSE carrying
 * the request's sequenceId; it may send a datagram longer than messageLength, and only messageLength counts.
 *
 * <p>Every parse method returns a decoded data set or a {@link Rejected} naming the field; none throws on any
 * byte content (tested on random bytes).
 */
public final class PtpManagement {

    /** The PTP header plus the management message body, before the TLV. */
    public static final int MANAGEMENT_HEADER_LENGTH = 48;
    /** A GET request: the header, a 4-byte TLV header and the 2-byte management id. */
    public static final int GET_LENGTH = MANAGEMENT_HEADER_LENGTH + 6;

    static final int MESSAGE_TYPE_MANAGEMENT = 0x0D;
    static final int PTP_VERSION = 2;
    static final int CONTROL_MANAGEMENT = 4;
    static final int LOG_MESSAGE_INTERVAL_NONE = 0x7F;
    static final int ACTION_GET = 0;
    static final int ACTION_RESPONSE = 2;
    static final int TLV_MANAGEMENT = 0x0001;
    static final int TLV_MANAGEMENT_ERROR_STATUS = 0x0002;

    /** Management id of linuxptp's TIME_STATUS_NP (implementation-specific range 0xC000-0xDFFF). */
    public static final int MID_TIME_STATUS_NP = 0xC000;
    /** Management id of the PARENT_DATA_SET (IEEE 1588-2008 table 40). */
    public static final int MID_PARENT_DATA_SET = 0x2002;
    /** Management id of the CURRENT_DATA_SET (IEEE 1588-2008 table 40). */
    public static final int MID_CURRENT_DATA_SET = 0x2001;

    /** Data lengths of the three data sets on the wire (after the management id). */
    static final int TIME_STATUS_NP_LENGTH = 50;
    static final int PARENT_DATA_SET_LENGTH = 32;
    static final int CURRENT_DATA_SET_LENGTH = 18;
    /** managementErrorId, managementId, 4 reserved bytes; a PTPText may follow. */
    static final int ERROR_STATUS_MIN_LENGTH = 8;

    private PtpManagement() {
    }

    /** A clockIdentity (EUI-64), printed as linuxptp does: {@code 3ac92b.fffe.2d65ae}. */
    public record ClockIdentity(long value) {
        @Override
        public String toString() {
            String hex = String.format("%016x", value);
            return hex.substring(0, 6) + "." + hex.substring(6, 10) + "." + hex.substring(10);
        }
    }

    /**
     * A grandmaster's clockQuality (IEEE 1588-2008 section 7.6.2).
     *
     * @param clockClass              e.g. 6 locked to a primary reference, 7 holdover, 248 default, 255 slave-only
     * @param clockAccuracy           the enumeration of section 7.6.2.5 (0x20 = within 25 ns ... 0xFE unknown);
     *                                see {@link PtpBound#clockAccuracyNanos(int)}
     * @param offsetScaledLogVariance the clock's stability estimate (0xFFFF: not computed)
     */
    public record ClockQuality(int clockClass, int clockAccuracy, int offsetScaledLogVariance) {
    }

    /** An IEEE 1588 ScaledNs (96-bit nanoseconds, 16 fractional bits) as its three raw fields. */
    public record ScaledNs(int nanosecondsMsb, long nanosecondsLsb, int fractionalNanoseconds) {
    }

    /** What a reply turned into: one of the three data sets, or a rejection. */
    public sealed interface Response permits TimeStatus, ParentDataSet, CurrentDataSet, Rejected {
    }

    /**
     * linuxptp's TIME_STATUS_NP: the last offset ptp4l measured and the Sync it came from.
     *
     * @param masterOffsetNanos         slave clock minus master clock at the Sync's ingress, path delay taken
     *                                  off ({@code ingress - origin - path_delay - corrections} in clock.c)
     * @param ingressTimeNanos          the slave's timestamp of that Sync's arrival, in the timescale of the
     *                                  clock ptp4l disciplines (CLOCK_REALTIME with software timestamping);
     *                                  0 before the first Sync
     * @param cumulativeScaledRateOffset (rate ratio - 1) * 2^41, 802.1AS follow-up information
     * @param scaledLastGmPhaseChange   802.1AS follow-up information
     * @param gmTimeBaseIndicator       802.1AS follow-up information
     * @param lastGmPhaseChange         802.1AS follow-up information
     * @param gmPresent                 whether ptp4l follows a grandmaster other than itself
     * @param gmIdentity                the grandmaster's clockIdentity (ptp4l's own when {@code gmPresent} is false)
     */
    public record TimeStatus(long masterOffsetNanos, long ingressTimeNanos, int cumulativeScaledRateOffset,
                             int scaledLastGmPhaseChange, int gmTimeBaseIndicator, ScaledNs lastGmPhaseChange,
                             boolean gmPresent, ClockIdentity gmIdentity) implements Response {
    }

    /**
     * The PARENT_DATA_SET (IEEE 1588-2008 section 8.2.3).
     *
     * @param parentClockIdentity                   the parent port's clockIdentity
     * @param parentPortNumber                      the parent port's number
     * @param parentStats                           whether the observed parent statistics below were computed
     * @param observedParentOffsetScaledLogVariance see 1588 section 7.6.3.3
     * @param observedParentClockPhaseChangeRate    see 1588 section 8.2.3.5
     * @param grandmasterPriority1                  the grandmaster's priority1
     * @param grandmasterClockQuality               what the grandmaster claims about itself
     * @param grandmasterPriority2                  the grandmaster's priority2
     * @param grandmasterIdentity                   the grandmaster's clockIdentity
     */
    public record ParentDataSet(ClockIdentity parentClockIdentity, int parentPortNumber, boolean parentStats,
                                int observedParentOffsetScaledLogVariance, int observedParentClockPhaseChangeRate,
                                int grandmasterPriority1, ClockQuality grandmasterClockQuality,
                                int grandmasterPriority2, ClockIdentity grandmasterIdentity) implements Response {
    }

    /**
     * The CURRENT_DATA_SET (IEEE 1588-2008 section 8.2.2). Both intervals are TimeInterval: nanoseconds * 2^16.
     *
     * @param stepsRemoved              boundary clocks between this clock and the grandmaster, plus one
     * @param offsetFromMasterScaledNs  ptp4l's last offset from its master, nanoseconds * 2^16
     * @param meanPathDelayScaledNs     ptp4l's filtered mean one-way path delay to its master, nanoseconds * 2^16
     */
    public record CurrentDataSet(int stepsRemoved, long offsetFromMasterScaledNs, long meanPathDelayScaledNs)
            implements Response {

        /** The mean path delay in whole nanoseconds, rounded up (toward a wider bound). */
        public long meanPathDelayNanosCeil() {
            return -Math.floorDiv(-meanPathDelayScaledNs, 1L << 16);
        }

        /** The offset from master in whole nanoseconds, rounded toward zero. */
        public long offsetFromMasterNanos() {
            return offsetFromMasterScaledNs / (1L << 16);
        }
    }

    /**
     * A reply (or, from {@link PtpBound}, a set of replies) that was dropped; {@code detail} names the field and
     * value, for the log.
     */
    public record Rejected(RejectReason reason, String detail) implements Response, PtpBound.Result {
        public Rejected {
            if (reason == null || detail == null) {
                throw new IllegalArgumentException("reason and detail must not be null");
            }
        }
    }

    /**
     * A 54-byte GET for {@code managementId}, as {@code pmc -b 0} sends it: domain 0, targetPortIdentity all
     * ones, boundary hops 0 (ptp4l must not forward it to its network ports), one MANAGEMENT TLV with no data.
     *
     * @param sequenceId   0..65535; the RESPONSE echoes it
     * @param managementId e.g. {@link #MID_TIME_STATUS_NP}
     */
    public static byte[] getRequest(int sequenceId, int managementId) {
        requireUnsigned16("sequenceId", sequenceId);
        requireUnsigned16("managementId", managementId);
        byte[] b = new byte[GET_LENGTH];
        b[0] = (byte) MESSAGE_TYPE_MANAGEMENT; // transportSpecific 0
        b[1] = (byte) PTP_VERSION;
        put16(b, 2, GET_LENGTH);
        // domainNumber, flags, correction, sourcePortIdentity clockIdentity: 0. Port number 1, as pmc uses.
        put16(b, 28, 1);
        put16(b, 30, sequenceId);
        b[32] = (byte) CONTROL_MANAGEMENT;
        b[33] = (byte) LOG_MESSAGE_INTERVAL_NONE;
        for (int i = 34; i < 44; i++) {
            b[i] = (byte) 0xFF;
        }
        // startingBoundaryHops 0, boundaryHops 0
        b[46] = (byte) ACTION_GET;
        put16(b, 48, TLV_MANAGEMENT);
        put16(b, 50, 2);
        put16(b, 52, managementId);
        return b;
    }

    /**
     * The sequenceId of a datagram, or -1 if it is too short to carry one. For matching a reply to one of several
     * outstanding requests before {@link #parseResponse} validates it.
     */
    public static int sequenceIdOf(byte[] bytes, int length) {
        if (bytes == null || length < 32 || length > bytes.length) {
            return -1;
        }
        return get16(bytes, 30);
    }

    /**
     * Validates a reply to the GET with {@code expectedSequenceId} for {@code expectedManagementId} and decodes
     * its data set.
     *
     * <p>Order of checks: the structure needed to find the sequenceId (length, message type, version, message
     * length), then the sequenceId, then everything else. A reply with another sequenceId was not written for
     * this request, so nothing else in it is believed or counted against ptp4l.
     *
     * @param bytes                the datagram, from index 0
     * @param length               number of valid bytes in {@code bytes}
     * @param expectedSequenceId   the sequenceId of the outstanding GET
     * @param expectedManagementId one of {@link #MID_TIME_STATUS_NP}, {@link #MID_PARENT_DATA_SET},
     *                             {@link #MID_CURRENT_DATA_SET}
     * @return the decoded data set, or why the reply was rejected; never throws for any content of {@code bytes}
     * @throws IllegalArgumentException if the caller's arguments are inconsistent (a bug in the caller)
     */
    public static Response parseResponse(byte[] bytes, int length, int expectedSequenceId, int expectedManagementId) {
        if (bytes == null || length < 0 || length > bytes.length) {
            throw new IllegalArgumentException("length must be in [0, bytes.length], was " + length);
        }
        requireUnsigned16("expectedSequenceId", expectedSequenceId);
        int expectedDataLength = dataLength(expectedManagementId);

        if (length < MANAGEMENT_HEADER_LENGTH + 4) {
            return malformed("length " + length + " < " + (MANAGEMENT_HEADER_LENGTH + 4));
        }
        int messageType = bytes[0] & 0x0F;
        if (messageType != MESSAGE_TYPE_MANAGEMENT) {
            return malformed("messageType 0x" + Integer.toHexString(messageType) + " != 0xd (MANAGEMENT)");
        }
        int version = bytes[1] & 0x0F;
        if (version != PTP_VERSION) {
            return malformed("versionPTP " + version + " != 2");
        }
        int messageLength = get16(bytes, 2);
        if (messageLength < MANAGEMENT_HEADER_LENGTH + 4 || messageLength > length) {
            return malformed("messageLength " + messageLength + " outside [" + (MANAGEMENT_HEADER_LENGTH + 4)
                    + ", datagram length " + length + "]");
        }
        int sequenceId = get16(bytes, 30);
        if (sequenceId != expectedSequenceId) {
            return new Rejected(RejectReason.PTP_SEQUENCE_MISMATCH, "sequenceId " + sequenceId + " != "
                    + expectedSequenceId);
        }
        int action = bytes[46] & 0x0F;
        if (action != ACTION_RESPONSE) {
            return malformed("actionField " + action + " != 2 (RESPONSE)");
        }
        int tlvType = get16(bytes, 48);
        int tlvLength = get16(bytes, 50);
        int tlvEnd = MANAGEMENT_HEADER_LENGTH + 4 + tlvLength; // < 2^17: no overflow
        if ((tlvLength & 1) != 0 || tlvEnd > messageLength) {
            return malformed("TLV lengthField " + tlvLength + " is odd or runs past messageLength " + messageLength);
        }
        if (tlvType == TLV_MANAGEMENT_ERROR_STATUS) {
            if (tlvLength < ERROR_STATUS_MIN_LENGTH) {
                return malformed("MANAGEMENT_ERROR_STATUS lengthField " + tlvLength + " < " + ERROR_STATUS_MIN_LENGTH);
            }
            int errorId = get16(bytes, 52);
            int managementId = get16(bytes, 54);
            return new Rejected(RejectReason.PTP_ERROR_STATUS, "error " + errorName(errorId) + " for management id 0x"
                    + Integer.toHexString(managementId));
        }
        if (tlvType != TLV_MANAGEMENT) {
            return malformed("tlvType 0x" + Integer.toHexString(tlvType) + " is neither MANAGEMENT nor "
                    + "MANAGEMENT_ERROR_STATUS");
        }
        if (tlvLength < 2) {
            return malformed("MANAGEMENT TLV lengthField " + tlvLength + " < 2");
        }
        int managementId = get16(bytes, 52);
        if (managementId != expectedManagementId) {
            return malformed("managementId 0x" + Integer.toHexString(managementId) + " != requested 0x"
                    + Integer.toHexString(expectedManagementId));
        }
        int dataLength = tlvLength - 2;
        if (dataLength != expectedDataLength) {
            return malformed("management id 0x" + Integer.toHexString(managementId) + ": data length " + dataLength
                    + " != " + expectedDataLength);
        }
        int d = MANAGEMENT_HEADER_LENGTH + 6;
        return switch (managementId) {
            case MID_TIME_STATUS_NP -> decodeTimeStatus(bytes, d);
            case MID_PARENT_DATA_SET -> decodeParentDataSet(bytes, d);
            default -> decodeCurrentDataSet(bytes, d);
        };
    }

    private static Response decodeTimeStatus(byte[] b, int d) {
        long masterOffset = get64(b, d);
        long ingressTime = get64(b, d + 8);
        int cumulativeScaledRateOffset = get32(b, d + 16);
        int scaledLastGmPhaseChange = get32(b, d + 20);
        int gmTimeBaseIndicator = get16(b, d + 24);
        ScaledNs lastGmPhaseChange = new ScaledNs(get16(b, d + 26), get64(b, d + 28), get16(b, d + 36));
        int gmPresent = get32(b, d + 38);
        if (gmPresent != 0 && gmPresent != 1) {
            return malformed("TIME_STATUS_NP gmPresent " + gmPresent + " is neither 0 nor 1");
        }
        ClockIdentity gmIdentity = new ClockIdentity(get64(b, d + 42));
        return new TimeStatus(masterOffset, ingressTime, cumulativeScaledRateOffset, scaledLastGmPhaseChange,
                gmTimeBaseIndicator, lastGmPhaseChange, gmPresent == 1, gmIdentity);
    }

    private static Response decodeParentDataSet(byte[] b, int d) {
        ClockIdentity parent = new ClockIdentity(get64(b, d));
        int parentPort = get16(b, d + 8);
        boolean parentStats = b[d + 10] != 0;
        // d + 11: reserved
        int observedVariance = get16(b, d + 12);
        int observedPhaseChangeRate = get32(b, d + 14);
        int priority1 = b[d + 18] & 0xFF;
        ClockQuality quality = new ClockQuality(b[d + 19] & 0xFF, b[d + 20] & 0xFF, get16(b, d + 21));
        int priority2 = b[d + 23] & 0xFF;
        ClockIdentity grandmaster = new ClockIdentity(get64(b, d + 24));
        return new ParentDataSet(parent, parentPort, parentStats, observedVariance, observedPhaseChangeRate,
                priority1, quality, priority2, grandmaster);
    }

    private static Response decodeCurrentDataSet(byte[] b, int d) {
        return new CurrentDataSet(get16(b, d), get64(b, d + 2), get64(b, d + 10));
    }

    /** The data length of a management id this class decodes. */
    static int dataLength(int managementId) {
        return switch (managementId) {
            case MID_TIME_STATUS_NP -> TIME_STATUS_NP_LENGTH;
            case MID_PARENT_DATA_SET -> PARENT_DATA_SET_LENGTH;
            case MID_CURRENT_DATA_SET -> CURRENT_DATA_SET_LENGTH;
            default -> throw new IllegalArgumentException("management id 0x" + Integer.toHexString(managementId)
                    + " is not one this class decodes");
        };
    }

    /** IEEE 1588-2008 table 72 (managementErrorId), as linuxptp names them. */
    static String errorName(int errorId) {
        return switch (errorId) {
            case 0x0001 -> "RESPONSE_TOO_BIG";
            case 0x0002 -> "NO_SUCH_ID";
            case 0x0003 -> "WRONG_LENGTH";
            case 0x0004 -> "WRONG_VALUE";
            case 0x0005 -> "NOT_SETABLE";
            case 0x0006 -> "NOT_SUPPORTED";
            case 0xFFFE -> "GENERAL_ERROR";
            default -> "0x" + Integer.toHexString(errorId);
        };
    }

    private static Rejected malformed(String detail) {
        return new Rejected(RejectReason.PTP_MALFORMED, detail);
    }

    private static void requireUnsigned16(String field, int value) {
        if (value < 0 || value > 0xFFFF) {
            throw new IllegalArgumentException(field + " must be in [0, 65535], was " + value);
        }
    }

    static int get16(byte[] b, int i) {
        return (b[i] & 0xFF) << 8 | (b[i + 1] & 0xFF);
    }

    static int get32(byte[] b, int i) {
        return (b[i] & 0xFF) << 24 | (b[i + 1] & 0xFF) << 16 | (b[i + 2] & 0xFF) << 8 | (b[i + 3] & 0xFF);
    }

    static long get64(byte[] b, int i) {
        return (long) get32(b, i) << 32 | (get32(b, i + 4) & 0xFFFF_FFFFL);
    }

    private static void put16(byte[] b, int i, int v) {
        b[i] = (byte) (v >>> 8);
        b[i + 1] = (byte) v;
    }
}
