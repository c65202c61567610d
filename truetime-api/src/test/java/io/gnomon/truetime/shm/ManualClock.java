package io.gnomon.truetime.shm;

import io.gnomon.truetime.MonotonicClock;

import java.util.concurrent.atomic.AtomicLong;

/** A monotonic clock that moves only when the test moves it (it may even be set backwards). */
final class ManualClock implements MonotonicClock {
    private final AtomicLong nanos;

    ManualClock(long startNanos) {
        this.nanos = new AtomicLong(startNanos);
    }

    @Override
    public long nanoTime() {
        return nanos.get();
    }

    void set(long monotonicNanos) {
        nanos.set(monotonicNanos);
    }

    void advance(long deltaNanos) {
        nanos.addAndGet(deltaNanos);
    }
}
