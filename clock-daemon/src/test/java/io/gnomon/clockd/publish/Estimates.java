package io.gnomon.clockd.publish;

import io.gnomon.clockd.select.Estimate;
import io.gnomon.clockd.select.SourceState;
import io.gnomon.truetime.ClockSnapshot;
import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.MonotonicClock;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** Estimates and a settable monotonic clock for the publishing tests. */
final class Estimates {
    static final long AS_OF_MONOTONIC_NANOS = 5_000_000_000L;
    /** So that true time at as-of is 2026-05-01T12:00:00Z. */
    static final long EPOCH_OFFSET_NANOS = 1_777_636_800_000_000_000L - AS_OF_MONOTONIC_NANOS;
    static final long BOUND_NANOS = 40_000;
    static final long MAX_DRIFT_PPB = 15_000;
    static final long VOID_AFTER_MONOTONIC_NANOS = AS_OF_MONOTONIC_NANOS + 10_000_000_000L;

    static final SourceState SOURCE_A = new SourceState("ntp:127.0.0.1:12123", "ntp", true, false, 1_500, 120_000, 30_000, true);
    static final SourceState SOURCE_B = new SourceState("ntp:127.0.0.2:12123", "ntp", true, true, 9_000_000, 140_000, 35_000, true);
    static final SourceState SOURCE_C = new SourceState("ntp:127.0.0.3:12123", "ntp", false, false, 0, 0, 0, false);

    private Estimates() {
    }

    static Estimate estimate(ClockStatus status) {
        return estimate(status, BOUND_NANOS, "2 of 3 sources agree");
    }

    static Estimate estimate(ClockStatus status, long boundNanos, String reason) {
        ClockSnapshot s = new ClockSnapshot(AS_OF_MONOTONIC_NANOS, EPOCH_OFFSET_NANOS, boundNanos, MAX_DRIFT_PPB,
                VOID_AFTER_MONOTONIC_NANOS, status);
        return new Estimate(s, 2_000, List.of(SOURCE_A, SOURCE_B, SOURCE_C), reason);
    }

    /** A monotonic clock that only moves when told. */
    static final class SettableClock implements MonotonicClock {
        private final AtomicLong nanos;

        SettableClock(long startNanos) {
            nanos = new AtomicLong(startNanos);
        }

        @Override
        public long nanoTime() {
            return nanos.get();
        }

        void set(long value) {
            nanos.set(value);
        }
    }
}
