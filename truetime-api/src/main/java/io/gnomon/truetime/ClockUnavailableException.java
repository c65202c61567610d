package io.gnomon.truetime;

/**
 * Thrown by {@link TrueTime#now()} and the methods built on it when the clock cannot vouch for an
 * interval: the daemon is not synchronized, its snapshot is void, or it cannot be reached.
 */
public final class ClockUnavailableException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final ClockStatus status;

    public ClockUnavailableException(ClockStatus status, String reason) {
        super("TrueTime is not usable (status " + status + "): " + reason);
        this.status = status;
    }

    public ClockUnavailableException(ClockStatus status, String reason, Throwable cause) {
        super("TrueTime is not usable (status " + status + "): " + reason, cause);
        this.status = status;
    }

    /** The status that made the clock unusable. */
    public ClockStatus status() {
        return status;
    }
}
