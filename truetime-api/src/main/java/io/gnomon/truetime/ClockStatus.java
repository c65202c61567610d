package io.gnomon.truetime;

/**
 * What the clock daemon can vouch for. Only {@link #SYNCHRONIZED} and {@link #FREE_RUNNING} intervals are
 * backed by evidence; {@link TrueTime#now()} refuses the others.
 */
public enum ClockStatus {
    /** No snapshot, a snapshot past its void-after time, or a segment that cannot be read. Not usable. */
    UNKNOWN(0),
    /** A majority of time sources agree; the interval is derived from their measurements. Usable. */
    SYNCHRONIZED(1),
    /** Sources were lost; the last synchronized interval grows by the maximum drift. Usable. */
    FREE_RUNNING(2),
    /** The daemon runs but has no evidence: never synchronized, or its sources disagree without a majority. */
    UNSYNCHRONIZED(3),
    /**
     * No time source is configured: the interval is the local system clock widened by an operator-chosen
     * bound, an assumption rather than a measurement. Not usable unless a reader is told to accept it.
     */
    UNVERIFIED(4),
    /**
     * The host's clock was disrupted (a suspend or VM pause seen as CLOCK_BOOTTIME jumping against
     * CLOCK_MONOTONIC): every earlier measurement is void and the daemon is re-synchronizing. Not usable.
     */
    DISRUPTED(5);

    private static final ClockStatus[] BY_CODE = values();

    private final int code;

    ClockStatus(int code) {
        this.code = code;
    }

    /** The number stored in the shared-memory segment and sent over gRPC. */
    public int code() {
        return code;
    }

    /** The status for a stored code; unknown codes (a newer writer) map to {@link #UNKNOWN}. */
    public static ClockStatus fromCode(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : UNKNOWN;
    }

    /** Whether an interval with this status is a measured, sound bound on true time. */
    public boolean isUsable() {
        return this == SYNCHRONIZED || this == FREE_RUNNING;
    }
}
