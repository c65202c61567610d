package io.gnomon.truetime;

import java.time.Instant;

/**
 * A source of CLOCK_REALTIME readings (the system clock) in nanoseconds since the Unix epoch. Only readers
 * of segments whose bound is relative to the system clock (ClockBound's) read it; Gnomon's own segment
 * derives realtime from the monotonic clock. Tests pass their own, including ones that step.
 */
@FunctionalInterface
public interface RealtimeClock {
    /** The JVM's system clock at nanosecond resolution ({@code clock_gettime(CLOCK_REALTIME)} on Linux). */
    RealtimeClock SYSTEM = () -> {
        Instant now = Instant.now(); // removed by escape analysis once inlined: no allocation per call
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    };

    long epochNanos();
}
