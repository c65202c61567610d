package io.gnomon.clockd;

import io.gnomon.clockd.config.ConfigLoader;
import io.gnomon.clockd.config.DaemonConfig;
import io.gnomon.clockd.publish.FaultingSink;
import io.gnomon.clockd.testing.FakeNtpServer;
import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.clockbound.ClockBoundTrueTime;
import io.gnomon.truetime.shm.ShmTrueTime;
import io.gnomon.truetime.testing.FaultScript;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** clockd's fault mode: the script runs on a clock the test moves, and readers see each fault. */
class ClockdFaultScriptTest {
    @TempDir Path dir;

    @Test
    void readersSeeEachScriptedFaultAndTheDaemonRecoversFromIt() throws Exception {
        FaultScript script = FaultScript.parse("""
                at 1s for 1s status DISRUPTED
                at 3s for 1s epsilon 50ms
                at 5s for 1s stale
                at 7s for 1s segment-gone
                """);
        AtomicLong scriptNanos = new AtomicLong();
        try (FakeNtpServer ntp = FakeNtpServer.start()) {
            Path segment = dir.resolve("gnomon");
            Path clockBound = dir.resolve("cb");
            DaemonConfig c = ClockdClockBoundTest.withClockBound(ntp, segment, clockBound);
            c.publish.intervalMillis = 100;
            try (Clockd clockd = Clockd.start(ConfigLoader.validate(c), SystemClocks.SYSTEM,
                    FaultingSink.Injection.startingNow(script, scriptNanos::get))) {
                ShmTrueTime shm = ShmTrueTime.open(segment);
                ClockBoundTrueTime cb = ClockBoundTrueTime.open(clockBound);
                Duration patience = Duration.ofSeconds(30);
                await().atMost(patience).until(() -> shm.status() == ClockStatus.SYNCHRONIZED);
                long unfaulted = shm.now().epsilonNanos();

                scriptNanos.set(1_500_000_000L);
                await().atMost(patience).until(() -> shm.status() == ClockStatus.DISRUPTED && cb.status() == ClockStatus.DISRUPTED);

                scriptNanos.set(3_500_000_000L);
                await().atMost(patience).until(() -> shm.status() == ClockStatus.SYNCHRONIZED
                        && shm.now().epsilonNanos() >= 50_000_000L && cb.now().epsilonNanos() >= 50_000_000L);

                scriptNanos.set(5_500_000_000L);
                await().atMost(patience).until(() -> shm.status() == ClockStatus.UNKNOWN && cb.status() == ClockStatus.UNKNOWN);

                scriptNanos.set(6_500_000_000L);
                await().atMost(patience).until(() -> shm.status() == ClockStatus.SYNCHRONIZED
                        && shm.now().epsilonNanos() < 50_000_000L + unfaulted);

                scriptNanos.set(7_500_000_000L);
                await().atMost(patience).until(() -> !Files.exists(segment) && !Files.exists(clockBound));

                scriptNanos.set(8_500_000_000L);
                await().atMost(patience).until(() -> Files.exists(segment) && Files.exists(clockBound));
                ShmTrueTime reopened = ShmTrueTime.open(segment);
                await().atMost(patience).until(() -> reopened.status() == ClockStatus.SYNCHRONIZED
                        && ClockBoundTrueTime.open(clockBound).status() == ClockStatus.SYNCHRONIZED);
            }
        }
    }
}
