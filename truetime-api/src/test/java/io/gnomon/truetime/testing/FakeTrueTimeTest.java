package io.gnomon.truetime.testing;

import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.ClockUnavailableException;
import io.gnomon.truetime.TimeInterval;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

class FakeTrueTimeTest {

    private static final Instant START = Instant.parse("2026-01-01T00:00:00Z");
    private static final long START_NANOS = 1_767_225_600_000_000_000L;
    private static final long EPS = 4_000_000L; // 4 ms

    private final FakeTrueTime tt = new FakeTrueTime(START, Duration.ofMillis(4));

    @Test
    void nowIsTheSetTimePlusMinusEpsilon() {
        assertThat(tt.now()).isEqualTo(new TimeInterval(START_NANOS - EPS, START_NANOS + EPS));
        assertThat(tt.now().epsilonNanos()).isEqualTo(EPS);
        assertThat(tt.status()).isEqualTo(ClockStatus.SYNCHRONIZED);
        assertThat(tt.now()).as("time does not move by itself").isEqualTo(tt.now());
    }

    @Test
    void timeAndEpsilonAreSettable() {
        tt.advance(Duration.ofSeconds(2));
        assertThat(tt.midpointEpochNanos()).isEqualTo(START_NANOS + 2_000_000_000L);
        tt.setTimeEpochNanos(1_000);
        tt.setEpsilonNanos(10);
        assertThat(tt.now()).isEqualTo(new TimeInterval(990, 1_010));
        tt.setTimeEpochNanos(500); // backwards: the fake checks nothing
        assertThat(tt.now()).isEqualTo(new TimeInterval(490, 510));
        assertThatThrownBy(() -> tt.setEpsilonNanos(-1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("epsilonNanos must be >= 0, was -1");
        assertThatThrownBy(() -> new FakeTrueTime(0, -1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void afterAndBeforeFollowTheInterval() {
        tt.setTimeEpochNanos(1_000);
        tt.setEpsilonNanos(10);
        assertThat(tt.after(989)).isTrue();
        assertThat(tt.after(990)).isFalse();
        assertThat(tt.before(1_011)).isTrue();
        assertThat(tt.before(1_010)).isFalse();
    }

    @Test
    void anUnusableStatusMakesNowThrow() {
        for (ClockStatus s : new ClockStatus[]{ClockStatus.UNSYNCHRONIZED, ClockStatus.UNKNOWN, ClockStatus.UNVERIFIED}) {
            tt.setStatus(s);
            assertThat(tt.status()).isEqualTo(s);
            ClockUnavailableException e = catchThrowableOfType(ClockUnavailableException.class, tt::now);
            assertThat(e.status()).isEqualTo(s);
            assertThat(e).hasMessageContaining("status " + s);
            assertThatThrownBy(() -> tt.after(0)).isInstanceOf(ClockUnavailableException.class);
        }
        tt.setStatus(ClockStatus.FREE_RUNNING);
        assertThat(tt.now()).isNotNull();
        assertThatThrownBy(() -> tt.setStatus(null)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void autoAdvanceMovesTimeJustPastTheTarget() throws InterruptedException {
        long s = tt.now().latestEpochNanos();
        tt.waitUntilAfter(s);
        assertThat(tt.after(s)).isTrue();
        assertThat(tt.now().earliestEpochNanos()).isEqualTo(s + 1);
        assertThat(tt.waitedNanos()).isEqualTo(2 * EPS + 1); // commit-wait is about twice epsilon

        tt.waitUntilAfter(s - 1_000); // already passed: time does not move
        assertThat(tt.waitedNanos()).isEqualTo(2 * EPS + 1);
        assertThat(tt.now().earliestEpochNanos()).isEqualTo(s + 1);
    }

    @Test
    void withoutAutoAdvanceAWaitBlocksUntilAnotherThreadAdvancesTime() {
        tt.setAutoAdvance(false);
        long target = tt.now().latestEpochNanos() + 1_000_000_000L;
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread waiter = startWaiter(target, failure);
        await().until(() -> waiter.getState() == Thread.State.WAITING);

        tt.advance(Duration.ofMillis(500)); // not enough: the waiter wakes, checks and waits again
        await().during(Duration.ofMillis(50)).atMost(Duration.ofSeconds(2)).until(waiter::isAlive);
        assertThat(tt.after(target)).isFalse();

        tt.advance(Duration.ofSeconds(1)); // earliest now passes target
        await().until(() -> !waiter.isAlive());
        assertThat(failure.get()).isNull();
        assertThat(tt.after(target)).isTrue();
        assertThat(tt.waitedNanos()).isZero();
    }

    @Test
    void aBlockedWaitFailsWhenTheStatusBecomesUnusable() {
        tt.setAutoAdvance(false);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread waiter = startWaiter(tt.now().latestEpochNanos(), failure);
        await().until(() -> waiter.getState() == Thread.State.WAITING);

        tt.setStatus(ClockStatus.UNSYNCHRONIZED);

        await().until(() -> !waiter.isAlive());
        assertThat(failure.get()).isInstanceOf(ClockUnavailableException.class);
    }

    @Test
    void aBlockedWaitThrowsWhenInterrupted() {
        tt.setAutoAdvance(false);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread waiter = startWaiter(tt.now().latestEpochNanos(), failure);
        await().until(() -> waiter.getState() == Thread.State.WAITING);

        waiter.interrupt();

        await().until(() -> !waiter.isAlive());
        assertThat(failure.get()).isInstanceOf(InterruptedException.class);
    }

    @Test
    void turningAutoAdvanceOnReleasesABlockedWait() {
        tt.setAutoAdvance(false);
        long target = tt.now().latestEpochNanos();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread waiter = startWaiter(target, failure);
        await().until(() -> waiter.getState() == Thread.State.WAITING);

        tt.setAutoAdvance(true);

        await().until(() -> !waiter.isAlive());
        assertThat(failure.get()).isNull();
        assertThat(tt.after(target)).isTrue();
    }

    private Thread startWaiter(long target, AtomicReference<Throwable> failure) {
        Thread waiter = new Thread(() -> {
            try {
                tt.waitUntilAfter(target);
            } catch (Throwable e) {
                failure.set(e);
            }
        }, "fake-waiter");
        waiter.setDaemon(true);
        waiter.start();
        return waiter;
    }
}
