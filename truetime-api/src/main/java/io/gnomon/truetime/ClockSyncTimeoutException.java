package io.gnomon.truetime;

import java.util.concurrent.TimeoutException;

/**
 * Thrown by {@link TrueTime#awaitSynchronized(java.time.Duration, java.time.Duration)} when the clock did not
 * become usable with a small enough ε in time. Names what it last saw, so that a startup failure says why; its
 * cause is the last {@link ClockUnavailableException}, or null if the clock answered but with too wide an ε.
 */
public final class ClockSyncTimeoutException extends TimeoutException {
    private static final long serialVersionUID = 1L;

    private final ClockStatus lastStatus;
    private final long lastEpsilonNanos;

    public ClockSyncTimeoutException(String message, ClockStatus lastStatus, long lastEpsilonNanos) {
        super(message);
        this.lastStatus = lastStatus;
        this.lastEpsilonNanos = lastEpsilonNanos;
    }

    /** The status at the last attempt. */
    public ClockStatus lastStatus() {
        return lastStatus;
    }

    /** ε of the last interval read, or -1 if the clock never returned one. */
    public long lastEpsilonNanos() {
        return lastEpsilonNanos;
    }
}
