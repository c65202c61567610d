package io.gnomon.truetime.testing;

import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.ClockUnavailableException;
import io.gnomon.truetime.TimeInterval;
import io.gnomon.truetime.TrueTime;

import java.time.Duration;
import java.time.Instant;

/**
 * A deterministic TrueTime for tests of code that uses the API: time, epsilon and status are set by the
 * test, and nothing moves unless the test moves it.
 *
 * <pre>{@code
 * FakeTrueTime tt = new FakeTrueTime(Instant.parse("2026-01-01T00:00:00Z"), Duration.ofMillis(4));
 * long s = tt.now().latestEpochNanos();
 * tt.waitUntilAfter(s);             // auto-advance: returns at once, time moved past s + epsilon
 * assertThat(tt.after(s)).isTrue();
 * tt.setStatus(ClockStatus.UNSYNCHRONIZED);  // now() throws ClockUnavailableException from here on
 * }</pre>
 *
 * <p>By default {@link #waitUntilAfter(long)} advances the fake time just far enough and returns, so
 * commit-wait code runs without real waiting; with {@link #setAutoAdvance(boolean) setAutoAdvance(false)}
 * it blocks until another thread advances the time. Thread-safe.
 */
public final class FakeTrueTime implements TrueTime {

    private long midpointEpochNanos;
    private long epsilonNanos;
    private ClockStatus status = ClockStatus.SYNCHRONIZED;
    private boolean autoAdvance = true;
    private long waitedNanos;

    /** A synchronized fake clock at {@code start} with error bound {@code epsilon}. */
    public FakeTrueTime(Instant start, Duration epsilon) {
        this(start.getEpochSecond() * 1_000_000_000L + start.getNano(), epsilon.toNanos());
    }

    /** A synchronized fake clock at {@code midpointEpochNanos} with error bound {@code epsilonNanos}. */
    public FakeTrueTime(long midpointEpochNanos, long epsilonNanos) {
        requireEpsilon(epsilonNanos);
        this.midpointEpochNanos = midpointEpochNanos;
        this.epsilonNanos = epsilonNanos;
    }

    @Override
    public synchronized TimeInterval now() {
        if (!status.isUsable()) {
            throw new ClockUnavailableException(status, "set by FakeTrueTime");
        }
        return TimeInterval.around(midpointEpochNanos, epsilonNanos);
    }

    @Override
    public synchronized ClockStatus status() {
        return status;
    }

    @Override
    public synchronized void waitUntilAfter(long epochNanos) throws InterruptedException {
        while (now().earliestEpochNanos() <= epochNanos) {
            if (autoAdvance) {
                long target = epochNanos + epsilonNanos + 1;
                waitedNanos += target - midpointEpochNanos;
                midpointEpochNanos = target;
            } else {
                wait();
            }
        }
    }

    /** Sets the midpoint of the interval. Time may be set backwards: the fake checks nothing. */
    public synchronized void setTimeEpochNanos(long midpointEpochNanos) {
        this.midpointEpochNanos = midpointEpochNanos;
        notifyAll();
    }

    /** Moves the midpoint forward by {@code d}. */
    public synchronized void advance(Duration d) {
        midpointEpochNanos += d.toNanos();
        notifyAll();
    }

    /** Sets epsilon, the half-width of every interval from now on. */
    public synchronized void setEpsilonNanos(long epsilonNanos) {
        requireEpsilon(epsilonNanos);
        this.epsilonNanos = epsilonNanos;
        notifyAll();
    }

    /** Sets the status; an unusable status makes {@link #now()} throw. */
    public synchronized void setStatus(ClockStatus status) {
        if (status == null) {
            throw new IllegalArgumentException("status must not be null");
        }
        this.status = status;
        notifyAll();
    }

    /** Whether {@link #waitUntilAfter(long)} advances the time itself (default) or blocks until the test does. */
    public synchronized void setAutoAdvance(boolean autoAdvance) {
        this.autoAdvance = autoAdvance;
        notifyAll(); // a wait already blocked must see the change, not only the next one
    }

    /** Total fake time that auto-advancing waits skipped: how long commit-waits would have taken. */
    public synchronized long waitedNanos() {
        return waitedNanos;
    }

    public synchronized long midpointEpochNanos() {
        return midpointEpochNanos;
    }

    private static void requireEpsilon(long epsilonNanos) {
        if (epsilonNanos < 0) {
            throw new IllegalArgumentException("epsilonNanos must be >= 0, was " + epsilonNanos);
        }
    }
}
