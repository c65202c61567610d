package io.gnomon.clockd.select;

/** Why a source's reply or reading was dropped. Each is counted per source and exported as a metric. */
public enum RejectReason {
    /** Fewer bytes than an NTP header (48). */
    SHORT_PACKET,
    /** NTP mode other than 4 (server). */
    WRONG_MODE,
    /** Stratum 0: a kiss-o'-death (RATE, DENY, RSTR...): the server asks us to back off or go away. */
    KISS_OF_DEATH,
    /** Stratum 16 or above: the server says it is unsynchronized. */
    STRATUM_UNSYNCHRONIZED,
    /** Leap indicator 3: the server's clock is unsynchronized. */
    LEAP_UNSYNCHRONIZED,
    /** The origin timestamp does not echo our request's transmit timestamp: spoofed, stale or duplicated. */
    ORIGIN_MISMATCH,
    /** Transmit timestamp zero. */
    ZERO_TRANSMIT,
    /** Root delay / 2 + root dispersion above the configured maximum, or negative: the server's own error is absurd. */
    ABSURD_ROOT_DISTANCE,
    /** The server claims to have held the request longer than the round trip took (t3 - t2 > t4 - t1), or t3 < t2. */
    BAD_TIMESTAMPS,
    /** A datagram from an address and port we did not send to. */
    UNEXPECTED_SOURCE,
    /** No reply within the timeout. */
    TIMEOUT,
    /**
     * A chronyd monitoring (cmdmon) reply that is not a well-formed protocol-6 tracking reply: too short, another
     * protocol version, packet type, command or reply code, or a field outside what chrony can send (a value past
     * any sane magnitude, a leap status above 3, an IP address family chrony does not define).
     */
    CMDMON_MALFORMED,
    /** A cmdmon reply whose status is not success, e.g. 2 (unauthorised) when {@code cmdallow} does not admit us. */
    CMDMON_ERROR_STATUS,
    /** A cmdmon reply that does not echo the outstanding request's random sequence number: stale, duplicated or spoofed. */
    CMDMON_SEQUENCE_MISMATCH,
    /** chronyd reports its clock unsynchronised: leap status 3, or stratum 0 or 16 and above. */
    SOURCE_UNSYNCHRONIZED,
    /** chronyd's reference time (its last clock update) is 0, out of range, or later than the clock it corrects. */
    BAD_REFERENCE_TIME,
    /**
     * The system's realtime clock moved against CLOCK_MONOTONIC by more than the maximum drift allows between two
     * readings: it was stepped, so a bound derived from realtime and a correction computed before the step is void
     * until chronyd reports a new update.
     */
    CLOCK_STEPPED
}
