package io.gnomon.clockd;

import io.gnomon.clockd.config.Settings;
import io.gnomon.clockd.testing.FakeNtpServer;
import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.ClockUnavailableException;
import io.gnomon.truetime.shm.ShmTrueTime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * A suspend cannot be caused in a test, so the daemon is given the system clocks with a CLOCK_BOOTTIME the
 * test can push ahead, exactly as the kernel does on resume (the only thing that differs after a suspend).
 */
class ClockdDisruptionTest {

    static final class SuspendableClocks implements SystemClocks {
        final AtomicLong suspendedNanos = new AtomicLong();

        @Override
        public long nanoTime() {
            return SYSTEM.nanoTime();
        }

        @Override
        public Pair readPair() {
            return SYSTEM.readPair();
        }

        @Override
        public long boottimeNanos() {
            return SYSTEM.nanoTime() + suspendedNanos.get();
        }
    }

    @Test
    void aSuspendMakesTheDaemonPublishDisruptedAtOnceThenResynchronize(@TempDir Path dir) throws Exception {
        SuspendableClocks clocks = new SuspendableClocks();
        try (FakeNtpServer a = FakeNtpServer.start(); FakeNtpServer b = FakeNtpServer.start()) {
            Settings s = ClockdEndToEndTest.settings(dir, List.of("127.0.0.1:" + a.port(), "127.0.0.1:" + b.port()));
            try (Clockd clockd = Clockd.start(s, clocks)) {
                ShmTrueTime shm = ShmTrueTime.open(s.segmentPath());
                await().atMost(Duration.ofSeconds(20)).until(() -> shm.status() == ClockStatus.SYNCHRONIZED);

                clocks.suspendedNanos.addAndGet(Duration.ofSeconds(42).toNanos());
                await().atMost(Duration.ofSeconds(5)).until(() -> shm.status() == ClockStatus.DISRUPTED);
                assertThatThrownBy(shm::now).isInstanceOf(ClockUnavailableException.class)
                        .hasMessageContaining("DISRUPTED").hasMessageContaining("suspend");
                assertThat(clockd.daemon().latest().reason()).startsWith("host suspended or paused for 42.000 s");
                assertThat(ClockdEndToEndTest.scrape(clockd.metricsPort()))
                        .contains("gnomon_clock_disruptions_total{kind=\"SUSPEND\"} 1.0");

                // Fresh exchanges after the quarantine bring it back.
                await().atMost(Duration.ofSeconds(20)).until(() -> shm.status() == ClockStatus.SYNCHRONIZED);
                ClockdEndToEndTest.assertContainsSystemClock(shm, 1_000);
            }
        }
    }
}
