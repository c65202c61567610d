package io.gnomon.truetime.shm;

import java.util.concurrent.locks.LockSupport;

/**
 * How the segment readers (Gnomon's and ClockBound's) retry a read that overlapped a write: spin first (a
 * writer on another core finishes within a few spins), then park briefly (a writer preempted between its two
 * counter stores resumes after a scheduling quantum), and give up after about 20 ms (a writer that died
 * mid-write). Spinning alone, about 0.3 ms for 10 000 spins, mistook a live writer that the scheduler had
 * preempted for a dead one. Shared by the readers; not an API for applications.
 */
public final class SeqlockRetry {
    private SeqlockRetry() {
    }

    /** Reads retried at once before backing off. */
    public static final int SPIN_ATTEMPTS = 1_000;
    /** Pause between later attempts. */
    public static final long BACKOFF_PARK_NANOS = 50_000L;
    /** Attempts before a read gives up: the spins, then enough parks to span about 20 ms. */
    public static final int MAX_READ_ATTEMPTS = SPIN_ATTEMPTS + 400;

    /** Waits before attempt {@code attempt + 1}. */
    public static void backOff(int attempt) {
        if (attempt < SPIN_ATTEMPTS) {
            Thread.onSpinWait();
        } else {
            LockSupport.parkNanos(BACKOFF_PARK_NANOS);
        }
    }
}
