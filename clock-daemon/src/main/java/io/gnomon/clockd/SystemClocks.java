package io.gnomon.clockd;

import io.gnomon.truetime.MonotonicClock;

import java.time.Instant;

/**
 * The daemon's only access to the host's clocks: CLOCK_MONOTONIC for elapsed time and as-of instants, and
 * the realtime clock, read only to report the system clock's offset (never part of a bound).
 */
public interface SystemClocks extends MonotonicClock {

    /** A realtime reading bracketed by two monotonic readings. */
    record Pair(long realtimeEpochNanos, long monotonicBeforeNanos, long monotonicAfterNanos) {
        /** Realtime minus monotonic, taking the monotonic midpoint of the bracket. */
        public long realtimeMinusMonotonicNanos() {
            return realtimeEpochNanos - (monotonicBeforeNanos + (monotonicAfterNanos - monotonicBeforeNanos) / 2);
        }

        /** How far the realtime reading can be from the midpoint of the bracket, rounded up. */
        public long uncertaintyNanos() {
            return (monotonicAfterNanos - monotonicBeforeNanos + 1) / 2 + 1;
        }
    }

    Pair readPair();

    /**
     * CLOCK_BOOTTIME (monotonic, but counting suspend) in nanoseconds, or {@link Long#MIN_VALUE} where the
     * platform cannot read it (then suspends go undetected, and the daemon says so at start).
     */
    default long boottimeNanos() {
        return Long.MIN_VALUE;
    }

    /**
     * CLOCK_MONOTONIC_COARSE in nanoseconds (the clock ClockBound's segment is stamped with: CLOCK_MONOTONIC as
     * of the last timer tick, never ahead of it), or {@link Long#MIN_VALUE} where the platform cannot read it.
     */
    default long monotonicCoarseNanos() {
        return Long.MIN_VALUE;
    }

    /** CLOCK_MONOTONIC_COARSE's resolution (one tick, e.g. 4 ms at HZ=250), or -1 where it cannot be read. */
    default long monotonicCoarseResolutionNanos() {
        return -1;
    }

    SystemClocks SYSTEM = new SystemClocks() {
        @Override
        public long nanoTime() {
            return System.nanoTime();
        }

        @Override
        public Pair readPair() {
            long before = System.nanoTime();
            Instant now = Instant.now();
            long after = System.nanoTime();
            return new Pair(now.getEpochSecond() * 1_000_000_000L + now.getNano(), before, after);
        }

        @Override
        public long boottimeNanos() {
            return LinuxClocks.available() ? LinuxClocks.nanos(LinuxClocks.CLOCK_BOOTTIME) : Long.MIN_VALUE;
        }

        @Override
        public long monotonicCoarseNanos() {
            return LinuxClocks.available() ? LinuxClocks.nanos(LinuxClocks.CLOCK_MONOTONIC_COARSE) : Long.MIN_VALUE;
        }

        @Override
        public long monotonicCoarseResolutionNanos() {
            return LinuxClocks.available() ? LinuxClocks.resolutionNanos(LinuxClocks.CLOCK_MONOTONIC_COARSE) : -1;
        }
    };
}
