package io.gnomon.truetime;

/**
 * A source of CLOCK_MONOTONIC readings in nanoseconds. Production code uses {@link #SYSTEM}; tests and
 * simulators pass their own, so that no class reaches for the system clock by itself.
 */
@FunctionalInterface
public interface MonotonicClock {
    /** The JVM's {@link System#nanoTime()}: CLOCK_MONOTONIC on Linux, the same in every process on a host. */
    MonotonicClock SYSTEM = System::nanoTime;

    long nanoTime();
}
