package io.gnomon.truetime;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * TrueTime: the current time as an interval that is guaranteed to contain true time.
 *
 * <p>Implementations: {@link io.gnomon.truetime.shm.ShmTrueTime} reads the local clock daemon's
 * shared-memory segment (nanoseconds, no system call to the daemon);
 * {@link io.gnomon.truetime.grpc.GrpcTrueTime} asks a daemon over gRPC;
 * {@link io.gnomon.truetime.testing.FakeTrueTime} is a settable clock for tests.
 *
 * <pre>{@code
 * try (ShmTrueTime tt = ShmTrueTime.open(Path.of("/dev/shm/gnomon-truetime"))) {
 *     long s = tt.now().latestEpochNanos();  // a commit timestamp
 *     tt.waitUntilAfter(s);                   // commit-wait: s has certainly passed everywhere
 * }
 * }</pre>
 *
 * <p>All methods that return time throw {@link ClockUnavailableException} rather than return an interval
 * the daemon cannot vouch for (see {@link ClockStatus#isUsable()}).
 */
public interface TrueTime {

    /** The current interval; true time lies within it. */
    TimeInterval now();

    /** True if {@code epochNanos} has definitely passed: {@code now().earliest > epochNanos}. */
    default boolean after(long epochNanos) {
        return now().earliestEpochNanos() > epochNanos;
    }

    /** True if {@code epochNanos} has definitely not arrived: {@code now().latest < epochNanos}. */
    default boolean before(long epochNanos) {
        return now().latestEpochNanos() < epochNanos;
    }

    /** The status of the clock; never throws. */
    ClockStatus status();

    /**
     * Blocks until {@link #after(long) after(epochNanos)} holds. Sleeps while the wait is long, then spins
     * for the last stretch; never returns early.
     *
     * @throws InterruptedException      if the thread is interrupted while waiting
     * @throws ClockUnavailableException if the clock becomes unusable while waiting
     */
    default void waitUntilAfter(long epochNanos) throws InterruptedException {
        while (true) {
            long earliest = now().earliestEpochNanos();
            if (earliest > epochNanos) {
                return;
            }
            long remainingNanos = epochNanos - earliest + 1;
            if (remainingNanos > SPIN_THRESHOLD_NANOS) {
                // Sleep short of the target: the scheduler may oversleep, never undersleep matters here.
                // Capped, so that a clock turning unusable mid-wait is noticed within MAX_PARK_NANOS.
                LockSupport.parkNanos(Math.min(MAX_PARK_NANOS, remainingNanos - SPIN_THRESHOLD_NANOS / 2));
            } else {
                Thread.onSpinWait();
            }
            if (Thread.interrupted()) {
                throw new InterruptedException("interrupted in waitUntilAfter(" + epochNanos + ")");
            }
        }
    }

    /**
     * Blocks until the clock is usable ({@link #now()} returns an interval), whatever its ε. For startup
     * gating: a server that hands out timestamps calls it before serving.
     *
     * <pre>{@code
     * TimeInterval first = trueTime.awaitSynchronized(Duration.ofSeconds(30));
     * }</pre>
     *
     * @return the first usable interval
     * @throws ClockSyncTimeoutException if the clock is still unusable after {@code timeout}; its message names
     *                                   the last status and ε
     * @throws InterruptedException      if the thread is interrupted while waiting
     */
    default TimeInterval awaitSynchronized(Duration timeout) throws InterruptedException, ClockSyncTimeoutException {
        return awaitSynchronized(timeout, Duration.ofNanos(Long.MAX_VALUE));
    }

    /**
     * Blocks until the clock is usable and ε (half the interval's width) is at most {@code maxEpsilon}: a
     * server whose commit-wait must stay short waits for a tight clock, not only a usable one. Polls every
     * 10 ms.
     *
     * <pre>{@code
     * trueTime.awaitSynchronized(Duration.ofSeconds(30), Duration.ofMillis(1));
     * }</pre>
     *
     * @throws ClockSyncTimeoutException if no such interval came within {@code timeout}
     * @throws InterruptedException      if the thread is interrupted while waiting
     */
    default TimeInterval awaitSynchronized(Duration timeout, Duration maxEpsilon)
            throws InterruptedException, ClockSyncTimeoutException {
        return SyncWait.await(this, timeout, maxEpsilon, MonotonicClock.SYSTEM);
    }

    /** Below this remaining wait, {@link #waitUntilAfter(long)} spins instead of parking. */
    long SPIN_THRESHOLD_NANOS = TimeUnit.MICROSECONDS.toNanos(200);

    /** The longest single sleep in {@link #waitUntilAfter(long)}: how late it may notice an unusable clock. */
    long MAX_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
}
