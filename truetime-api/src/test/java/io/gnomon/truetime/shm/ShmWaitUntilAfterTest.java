package io.gnomon.truetime.shm;

import io.gnomon.truetime.ClockSnapshot;
import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.ClockUnavailableException;
import io.gnomon.truetime.TimeInterval;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** {@code waitUntilAfter} on a real segment and the real System.nanoTime clock. */
class ShmWaitUntilAfterTest {

    private static final long BOUND_NANOS = 1_000L;       // 1 us: tiny, so waits are about the requested time
    private static final long DRIFT_PPB = 200_000L;

    @TempDir
    Path dir;

    private SegmentWriter writer;
    private ShmTrueTime tt;

    @BeforeEach
    void publishASynchronizedSnapshot() throws IOException {
        writer = SegmentWriter.open(dir.resolve("truetime"));
        writer.publish(snapshot(ClockStatus.SYNCHRONIZED));
        tt = ShmTrueTime.open(writer.path());
    }

    @AfterEach
    void closeWriter() {
        writer.close();
    }

    private static ClockSnapshot snapshot(ClockStatus status) {
        long monotonicNanos = System.nanoTime();
        Instant wall = Instant.now();
        long epochNanos = wall.getEpochSecond() * 1_000_000_000L + wall.getNano();
        return new ClockSnapshot(monotonicNanos, epochNanos - monotonicNanos, BOUND_NANOS, DRIFT_PPB,
                monotonicNanos + TimeUnit.MINUTES.toNanos(1), status);
    }

    @Test
    void returnsOnlyOnceTheTimestampHasCertainlyPassed() throws InterruptedException {
        for (long aheadNanos : new long[]{TimeUnit.MILLISECONDS.toNanos(5), TimeUnit.MICROSECONDS.toNanos(100), 0}) {
            long t = tt.now().latestEpochNanos() + aheadNanos;
            // No "after(t) is false here": t is at most 5 ms ahead, and a thread preempted that long between the
            // two reads (a loaded machine) would see it true; that is not a defect. The property is below.
            tt.waitUntilAfter(t);

            TimeInterval atReturn = tt.now();
            assertThat(atReturn.earliestEpochNanos()).as("earliest at return, t + %d ns", aheadNanos).isGreaterThan(t);
            assertThat(tt.after(t)).isTrue();
        }
    }

    @Test
    void returnsAtOnceForATimestampInThePast() throws InterruptedException {
        long t = tt.now().earliestEpochNanos() - 1;
        tt.waitUntilAfter(t);
        assertThat(tt.after(t)).isTrue();
    }

    @Test
    void throwsInterruptedExceptionWhenInterruptedWhileWaiting() {
        long t = tt.now().latestEpochNanos() + TimeUnit.SECONDS.toNanos(30);
        AtomicReference<Throwable> outcome = new AtomicReference<>();
        Thread waiter = new Thread(() -> {
            try {
                tt.waitUntilAfter(t);
                outcome.set(new AssertionError("returned before " + t));
            } catch (Throwable e) {
                outcome.set(e);
            }
        }, "waiter");
        waiter.start();
        await().atMost(Duration.ofSeconds(5)).until(() -> waiter.getState() == Thread.State.TIMED_WAITING);

        waiter.interrupt();

        await().atMost(Duration.ofSeconds(5)).until(() -> !waiter.isAlive());
        assertThat(outcome.get()).isInstanceOf(InterruptedException.class).hasMessageContaining(String.valueOf(t));
    }

    @Test
    void throwsClockUnavailableWhenTheStatusFlipsWhileWaiting() {
        // Far enough that only the flip can end the wait, however slowly this thread gets to publish it (at 300 ms,
        // a loaded machine let the wait run out first). The wait re-reads the segment at least every MAX_PARK_NANOS.
        long t = tt.now().latestEpochNanos() + TimeUnit.SECONDS.toNanos(30);
        AtomicReference<Throwable> outcome = new AtomicReference<>();
        Thread waiter = new Thread(() -> {
            try {
                tt.waitUntilAfter(t);
                outcome.set(new AssertionError("returned although the clock became unusable"));
            } catch (Throwable e) {
                outcome.set(e);
            }
        }, "waiter");
        waiter.start();
        await().atMost(Duration.ofSeconds(5)).until(() -> waiter.getState() == Thread.State.TIMED_WAITING);

        writer.publish(snapshot(ClockStatus.UNSYNCHRONIZED));

        await().atMost(Duration.ofSeconds(5)).until(() -> !waiter.isAlive());
        assertThat(outcome.get()).isInstanceOf(ClockUnavailableException.class);
        assertThat(((ClockUnavailableException) outcome.get()).status()).isEqualTo(ClockStatus.UNSYNCHRONIZED);
    }
}
