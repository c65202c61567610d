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
    QUARANTINED,

    // PTP (ptp4l's management socket): see io.gnomon.clockd.source.ptp.PtpManagement and PtpBound.

    /** A PTP management reply that is not well formed: short, wrong message type, version or action, or TLV
     *  lengths that disagree with each other or with the management id; or a reply for another management id. */
    PTP_MALFORMED,
    /** A PTP management reply whose sequence id matches no outstanding request: late, duplicated or spoofed. */
    PTP_SEQUENCE_MISMATCH,
    /** ptp4l answered with a MANAGEMENT_ERROR_STATUS TLV (e.g. NO_SUCH_ID, NOT_SUPPORTED) instead of the data set. */
    PTP_ERROR_STATUS,
    /** ptp4l reports no grandmaster (gmPresent false): it follows no master, so its offset says nothing. */
    PTP_NO_GRANDMASTER,
    /** The grandmaster's clockAccuracy is unknown (0xFE), reserved, profile-specific or "worse than 10 s", and
     *  no conservative substitute is configured: there is no upper bound on the grandmaster's own error. */
    PTP_UNKNOWN_ACCURACY,
    /** The replies to one poll disagree (the grandmaster identity changed between them): ask again. */
    PTP_INCONSISTENT,
    /** ptp4l has not measured yet: no Sync received (ingress time 0) or no path delay (mean path delay 0). */
    PTP_NOT_READY,
    /** ptp4l's last Sync is older than the configured maximum age, or in the future of the realtime clock
     *  (the realtime clock was stepped back, or ptp4l does not timestamp with CLOCK_REALTIME). */
    PTP_STALE,
    /** Values that cannot be right: a negative mean path delay, or an offset whose arithmetic overflows. */
    PTP_IMPLAUSIBLE,
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
     * The system's realtime clock was stepped inside the span a realtime-based measurement depends on (chronyd's
     * last update or ptp4l's Sync, to our reading), or no conclusive step check could rule that out: the measurement
     * is void. A chronyd report is also void for {@code ClockEstimator.Limits#chronyRegressionHorizonNanos} after a
     * step (about 18.5 h): chronyd's regression may still weigh samples from before it. From the chrony source itself: its own readings moved by more than its tolerance, and reports are
     * refused until chronyd updates again.
     */
    CLOCK_STEPPED
}
