package io.gnomon.clockd.source;

import io.gnomon.clockd.select.Measurement;
import io.gnomon.clockd.select.RejectReason;
import io.gnomon.truetime.ClockSnapshot;
import org.apache.commons.net.ntp.NtpV3Impl;
import org.apache.commons.net.ntp.NtpV3Packet;
import org.apache.commons.net.ntp.TimeStamp;

import java.net.DatagramPacket;
import java.util.Arrays;

/**
 * The NTPv4 client exchange as pure functions (RFC 5905): build a request, validate a reply and turn it into
 * a {@link Measurement}. No sockets, clocks or randomness: the runtime ({@link NtpSource}) passes the nonce
 * and the monotonic send and receive times in.
 *
 * <p>commons-net's {@link NtpV3Impl} is only the byte codec here; every time computation is done in
 * nanoseconds in this class (commons-net's {@code TimeInfo} works in whole milliseconds).
 *
 * <p>Timestamps are taken to be in NTP era 0 (seconds since 1900-01-01, which ends in February 2036).
 */
public final class NtpWire {

    /** Length of an NTP header without extension fields or MAC. */
    public static final int PACKET_LENGTH = 48;

    /** Seconds from 1900-01-01 (NTP era 0) to 1970-01-01 (the Unix epoch). */
    static final long NTP_TO_UNIX_EPOCH_SECONDS = 2_208_988_800L;

    private static final long NANOS_PER_SECOND = 1_000_000_000L;
    private static final long FRACTION_ONE = 1L << 32;
    /** Quantisation allowance: see the derivation in {@link #parseReply}. */
    static final long QUANTISATION_NANOS = 2;

    private NtpWire() {
    }

    /** What a reply turned into: a measurement or a rejection. */
    public sealed interface Result permits Accepted, Rejected, Kiss {
    }

    /**
     * A valid reply and the measurement it gives.
     *
     * @param leapIndicator            the reply's leap indicator: 0 none, 1 a second is inserted at the end of
     *                                 the server's UTC day, 2 one is deleted (3 is rejected earlier)
     * @param serverTransmitEpochNanos the server's transmit timestamp t3, which says which day the leap ends
     */
    public record Accepted(Measurement measurement, int leapIndicator, long serverTransmitEpochNanos)
            implements Result {
        public Accepted {
            if (measurement == null) {
                throw new IllegalArgumentException("measurement must not be null");
            }
            if (leapIndicator < 0 || leapIndicator > 2) {
                throw new IllegalArgumentException("leapIndicator must be 0, 1 or 2, was " + leapIndicator);
            }
        }

        public Accepted(Measurement measurement) {
            this(measurement, 0, 0);
        }
    }

    /** A reply that was dropped; {@code detail} names the field and value, for the log. */
    public record Rejected(RejectReason reason, String detail) implements Result {
        public Rejected {
            if (reason == null || detail == null) {
                throw new IllegalArgumentException("reason and detail must not be null");
            }
        }
    }

    /**
     * A kiss-o'-death (RFC 5905 section 7.4): stratum 0, the reference id an ASCII code, and the origin echoing our
     * nonce. Never a measurement; the code says what the server asks of the client.
     *
     * @param code the four ASCII characters of the reference id, unprintable ones as '?'
     */
    public record Kiss(String code) implements Result {
        /** "Rate exceeded": the server asks the client to poll less often. */
        public static final String RATE = "RATE";
        /** "Access denied": the client must stop sending to this server. */
        public static final String DENY = "DENY";
        /** "Access restricted": the client must stop sending to this server. */
        public static final String RSTR = "RSTR";

        public Kiss {
            if (code == null || code.length() != 4) {
                throw new IllegalArgumentException("code must be 4 characters, was " + code);
            }
        }

        /** RFC 5905 section 7.4: DENY and RSTR tell the client to demobilize the association. */
        public boolean stopsPolling() {
            return code.equals(DENY) || code.equals(RSTR);
        }

        /** RFC 5905 section 7.4: RATE tells the client to reduce its polling rate, each time it is received. */
        public boolean asksToSlowDown() {
            return code.equals(RATE);
        }
    }

    /**
     * A 48-byte NTPv4 client request (LI 0, version 4, mode 3) whose transmit timestamp carries {@code nonce},
     * as chrony does: the server echoes it in the reply's origin timestamp, so only a party that saw the
     * request can answer it. Every other field is zero, so the request reveals nothing of our clock.
     *
     * @param nonce a random 64-bit value, not 0 (servers send origin 0 in packets that answer nothing)
     */
    public static byte[] request(long nonce) {
        if (nonce == 0) {
            throw new IllegalArgumentException("nonce must not be 0");
        }
        NtpV3Impl packet = new NtpV3Impl();
        packet.setLeapIndicator(NtpV3Packet.LI_NO_WARNING);
        packet.setVersion(NtpV3Packet.VERSION_4);
        packet.setMode(NtpV3Packet.MODE_CLIENT);
        packet.setTransmitTime(new TimeStamp(nonce));
        byte[] bytes = Arrays.copyOf(packet.getDatagramPacket().getData(), PACKET_LENGTH);
        assert bytes[0] == (byte) 0x23 : "LI 0, VN 4, mode 3";
        return bytes;
    }

    /**
     * Validates a reply and computes the measurement it gives.
     *
     * <p>Checks, cheapest and most basic first: length, mode, then the origin timestamp. The origin check
     * comes before every field that carries meaning (stratum, leap, kiss codes): a packet that does not echo
     * our nonce was not written by the server we asked, so its kiss code or stratum must not be believed or
     * counted against the server (RFC 5905 section 7.4: a kiss-o'-death is only valid with a matching origin).
     *
     * @param bytes                 the datagram, from index 0
     * @param length                number of valid bytes in {@code bytes} (extension fields beyond 48 are ignored)
     * @param expectedNonce         the transmit timestamp of the outstanding request
     * @param t1MonotonicNanos      CLOCK_MONOTONIC just before the request was sent
     * @param t4MonotonicNanos      CLOCK_MONOTONIC just after the reply was received
     * @param maxDriftPpb           the largest rate error of the local monotonic clock against true time
     * @param maxRootDistanceNanos  replies whose root delay / 2 + root dispersion exceed this are rejected
     * @return the measurement, a kiss-o'-death, or why the reply was rejected; never throws for any content of
     *         {@code bytes}
     * @throws IllegalArgumentException if the caller's arguments are inconsistent (a bug in the caller)
     */
    public static Result parseReply(byte[] bytes, int length, long expectedNonce, long t1MonotonicNanos,
                                    long t4MonotonicNanos, long maxDriftPpb, long maxRootDistanceNanos) {
        if (bytes == null || length < 0 || length > bytes.length) {
            throw new IllegalArgumentException("length must be in [0, bytes.length], was " + length);
        }
        if (t4MonotonicNanos - t1MonotonicNanos < 0) {
            throw new IllegalArgumentException("t4MonotonicNanos " + t4MonotonicNanos
                    + " is before t1MonotonicNanos " + t1MonotonicNanos);
        }
        if (maxDriftPpb < 0 || maxDriftPpb > ClockSnapshot.MAX_DRIFT_PPB_LIMIT) {
            throw new IllegalArgumentException("maxDriftPpb must be in [0, " + ClockSnapshot.MAX_DRIFT_PPB_LIMIT
                    + "], was " + maxDriftPpb);
        }
        if (maxRootDistanceNanos < 0) {
            throw new IllegalArgumentException("maxRootDistanceNanos must be >= 0, was " + maxRootDistanceNanos);
        }

        if (length < PACKET_LENGTH) {
            return new Rejected(RejectReason.SHORT_PACKET, "length " + length + " < " + PACKET_LENGTH);
        }
        NtpV3Impl packet = new NtpV3Impl();
        packet.setDatagramPacket(new DatagramPacket(bytes, length)); // copies the first 48 bytes

        int mode = packet.getMode();
        if (mode != NtpV3Packet.MODE_SERVER) {
            return new Rejected(RejectReason.WRONG_MODE, "mode " + mode + " != 4");
        }
        long origin = packet.getOriginateTimeStamp().ntpValue();
        if (origin != expectedNonce) {
            return new Rejected(RejectReason.ORIGIN_MISMATCH, "origin " + Long.toHexString(origin)
                    + " != nonce " + Long.toHexString(expectedNonce));
        }
        int stratum = packet.getStratum();
        if (stratum == 0) {
            return new Kiss(kissCode(packet.getReferenceId()));
        }
        if (stratum >= 16) {
            return new Rejected(RejectReason.STRATUM_UNSYNCHRONIZED, "stratum " + stratum + " >= 16");
        }
        int leap = packet.getLeapIndicator();
        if (leap == NtpV3Packet.LI_ALARM_CONDITION) {
            return new Rejected(RejectReason.LEAP_UNSYNCHRONIZED, "leap indicator 3");
        }
        long transmitNtp = packet.getTransmitTimeStamp().ntpValue();
        if (transmitNtp == 0) {
            return new Rejected(RejectReason.ZERO_TRANSMIT, "transmit timestamp 0");
        }
        int rootDelayRaw = packet.getRootDelay();
        if (rootDelayRaw < 0) {
            return new Rejected(RejectReason.ABSURD_ROOT_DISTANCE,
                    "root delay 0x" + Integer.toHexString(rootDelayRaw) + " is negative");
        }
        long rootDelayNanos = shortFormatToNanosCeil(rootDelayRaw);
        long rootDispersionNanos = shortFormatToNanosCeil(packet.getRootDispersion());
        long rootDistanceNanos = ceilHalf(rootDelayNanos) + rootDispersionNanos; // both < 2^47: no overflow
        if (rootDistanceNanos > maxRootDistanceNanos) {
            return new Rejected(RejectReason.ABSURD_ROOT_DISTANCE, "root delay " + rootDelayNanos
                    + " ns / 2 + root dispersion " + rootDispersionNanos + " ns > max " + maxRootDistanceNanos + " ns");
        }

        long t2 = ntpToEpochNanos(packet.getReceiveTimeStamp().ntpValue());
        long t3 = ntpToEpochNanos(transmitNtp);
        long t1 = t1MonotonicNanos;
        long t4 = t4MonotonicNanos;
        long roundTripNanos = t4 - t1; // >= 0, checked above
        long serverHoldNanos = t3 - t2; // both within era 0 (|t| < 2.3e18): no overflow
        if (serverHoldNanos < 0) {
            return new Rejected(RejectReason.BAD_TIMESTAMPS, "transmit " + t3 + " before receive " + t2);
        }
        if (serverHoldNanos > roundTripNanos) {
            return new Rejected(RejectReason.BAD_TIMESTAMPS, "server held the request " + serverHoldNanos
                    + " ns, longer than the round trip " + roundTripNanos + " ns");
        }

        // Offset and its bound (RFC 5905 section 8 for the midpoint; the bound is ours, Marzullo-style):
        //
        // Let theta(t) = true epoch time - CLOCK_MONOTONIC at monotonic instant t, and T2, T3 the true times at
        // which the server received and sent. Let e be the server's own error bound, root delay / 2 + root
        // dispersion + precision: the server claims |t2 - T2| <= e and |t3 - T3| <= e (its root dispersion
        // already grows with the time since its last update, so it covers both instants).
        //   Causality, upper end: T2 >= true time at t1 = t1 + theta(t1), so theta(t1) <= t2 - t1 + e.
        //   Causality, lower end: T3 <= true time at t4 = t4 + theta(t4), so theta(t4) >= t3 - t4 - e.
        // theta drifts by at most maxDrift * (t4 - t1) between t1 and t4, so theta(t4) lies in
        //   [t3 - t4 - e, t2 - t1 + e + drift],
        // which the symmetric interval midpoint ((t2 - t1) + (t3 - t4)) / 2 +- (delay / 2 + e + drift) contains,
        // with delay = (t4 - t1) - (t3 - t2). Each term is rounded up: ceil(delay / 2), e from ceilings of the
        // 16.16 fields and of 2^precision, drift by ClockSnapshot.boundAt's ceiling. The midpoint is floored, but
        // sum = (t2 - t1) + (t3 - t4) and delay have the same parity, so floor(sum / 2) + ceil(delay / 2) is
        // exactly t2 - t1 and floor(sum / 2) - ceil(delay / 2) is t3 - t4 or one below: the division widens,
        // never narrows. What remains is rounding t2 and t3 from 32.32 (steps of ~0.23 ns) to whole ns, at most
        // 0.5 ns on each end; QUANTISATION_NANOS (2) covers it with room to spare. (The server's own truncation
        // of its clock to 32.32 is within its precision, which is part of e.)
        long offsetNanos;
        try {
            offsetNanos = Math.floorDiv(Math.addExact(Math.subtractExact(t2, t1), Math.subtractExact(t3, t4)), 2);
        } catch (ArithmeticException overflow) {
            return new Rejected(RejectReason.BAD_TIMESTAMPS, "offset overflows: t1 " + t1 + ", t2 " + t2
                    + ", t3 " + t3 + ", t4 " + t4);
        }
        long delayNanos = roundTripNanos - serverHoldNanos; // >= 0: checked above
        long serverErrorNanos = saturatedAdd(rootDistanceNanos, precisionToNanosCeil(packet.getPrecision()));
        long halfWidthNanos = saturatedAdd(saturatedAdd(ceilHalf(delayNanos), serverErrorNanos), QUANTISATION_NANOS);
        long boundNanos = ClockSnapshot.boundAt(halfWidthNanos, maxDriftPpb, roundTripNanos);
        assert boundNanos >= Math.min(ceilHalf(delayNanos), ClockSnapshot.SATURATED_BOUND)
                : "bound covers at least half the delay";
        assert delayNanos >= 0 && delayNanos <= roundTripNanos : "delay within the round trip";
        return new Accepted(new Measurement(t4, offsetNanos, boundNanos, delayNanos), leap, t3);
    }

    /**
     * An NTP 32.32 timestamp (era 0: unsigned seconds since 1900) as nanoseconds since the Unix epoch, the
     * fraction rounded to the nearest nanosecond (half up). Exact inverse of {@link #epochNanosToNtp} on
     * whole nanoseconds, since the 32.32 step (~0.23 ns) is finer than a nanosecond.
     */
    public static long ntpToEpochNanos(long ntpTimestamp) {
        long seconds = ntpTimestamp >>> 32;
        long fraction = ntpTimestamp & 0xFFFF_FFFFL;
        // fraction * 1e9 < 2^32 * 1e9 < 2^62: fits.
        long fractionNanos = (fraction * NANOS_PER_SECOND + (FRACTION_ONE >>> 1)) >>> 32;
        return (seconds - NTP_TO_UNIX_EPOCH_SECONDS) * NANOS_PER_SECOND + fractionNanos;
    }

    /**
     * Nanoseconds since the Unix epoch as an NTP 32.32 timestamp in era 0, rounded to the nearest 2^-32 s.
     *
     * @throws IllegalArgumentException outside era 0 (before 1900 or from 2036-02-07T06:28:16Z on)
     */
    public static long epochNanosToNtp(long epochNanos) {
        long seconds = Math.floorDiv(epochNanos, NANOS_PER_SECOND) + NTP_TO_UNIX_EPOCH_SECONDS;
        long nanos = Math.floorMod(epochNanos, NANOS_PER_SECOND);
        // nanos * 2^32 < 1e9 * 2^32 < 2^62: fits.
        long fraction = ((nanos << 32) + NANOS_PER_SECOND / 2) / NANOS_PER_SECOND;
        if (fraction == FRACTION_ONE) {
            seconds++;
            fraction = 0;
        }
        if (seconds < 0 || seconds > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("epochNanos " + epochNanos + " is outside NTP era 0");
        }
        return seconds << 32 | fraction;
    }

    /** An unsigned NTP short format (16.16 seconds) value in nanoseconds, rounded up. */
    static long shortFormatToNanosCeil(int raw) {
        long unsigned = Integer.toUnsignedLong(raw);
        // unsigned * 1e9 < 2^32 * 1e9 < 2^62: fits.
        return (unsigned * NANOS_PER_SECOND + 0xFFFF) >>> 16;
    }

    /** 2^precision seconds in nanoseconds, rounded up; {@code precision} is the signed log2 field. */
    static long precisionToNanosCeil(int precision) {
        if (precision >= 0) {
            // 1e9 * 2^33 < 2^63; beyond, saturate: a server that cannot read its clock to 2^33 s is useless.
            return precision <= 33 ? NANOS_PER_SECOND << precision : ClockSnapshot.SATURATED_BOUND;
        }
        int shift = -precision;
        if (shift >= 62) {
            return 1; // ceil of a positive fraction of a nanosecond
        }
        return (NANOS_PER_SECOND + (1L << shift) - 1) >> shift;
    }

    /** The reference id of a kiss-o'-death as its four ASCII characters, unprintable ones as '?'. */
    static String kissCode(int referenceId) {
        char[] chars = new char[4];
        for (int i = 0; i < 4; i++) {
            int c = (referenceId >>> (24 - 8 * i)) & 0xFF;
            chars[i] = c >= 0x20 && c < 0x7F ? (char) c : '?';
        }
        return new String(chars);
    }

    private static long ceilHalf(long nonNegative) {
        return (nonNegative >>> 1) + (nonNegative & 1);
    }

    private static long saturatedAdd(long a, long b) {
        long sum = a + b;
        return sum < 0 || sum > ClockSnapshot.SATURATED_BOUND ? ClockSnapshot.SATURATED_BOUND : sum;
    }
}
