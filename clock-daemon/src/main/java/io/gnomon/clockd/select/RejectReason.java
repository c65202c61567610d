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
    /** The source contradicted its own earlier measurements (it stepped its time): its history was dropped. */
    SOURCE_STEPPED,
    /** The measurement's exchange may have begun before a suspend of the host: its offset is void. */
    QUARANTINED
}
