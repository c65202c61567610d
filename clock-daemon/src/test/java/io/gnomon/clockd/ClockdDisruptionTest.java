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

                // DISRUPTED lasts only until both servers answer an exchange whose reply comes a reply timeout
                // after the suspend was seen (the quarantine): 150 to 350 ms with these settings, less than a
                // test thread may stall on a busy machine, and the reads below would see SYNCHRONIZED. So the
                // servers fall silent first, and the daemon cannot leave DISRUPTED until they answer again.
                holdResynchronization(a, b);
                clocks.suspendedNanos.addAndGet(Duration.ofSeconds(42).toNanos());
                await().atMost(Duration.ofSeconds(5)).until(() -> shm.status() == ClockStatus.DISRUPTED);
                // The schedule that broke the test before, on purpose: the test thread stalls while the daemon
                // polls both servers twice more (400 ms, past the quarantine). Answering servers would have
                // resynchronized it by now; silent ones cannot.
                awaitRequests(a, a.requestsReceived() + 2);
                awaitRequests(b, b.requestsReceived() + 2);

                assertThatThrownBy(shm::now).isInstanceOf(ClockUnavailableException.class)
                        .hasMessageContaining("DISRUPTED").hasMessageContaining("suspend");
                assertThat(clockd.daemon().latest().snapshot().status()).isEqualTo(ClockStatus.DISRUPTED);
                assertThat(clockd.daemon().latest().reason()).startsWith("host suspended or paused for 42.000 s");
                assertThat(ClockdEndToEndTest.scrape(clockd.metricsPort()))
                        .contains("gnomon_clock_disruptions_total{kind=\"SUSPEND\"} 1.0");

                // Fresh exchanges after the quarantine bring it back.
                a.setFault(FakeNtpServer.Fault.NONE);
                b.setFault(FakeNtpServer.Fault.NONE);
                await().atMost(Duration.ofSeconds(20)).until(() -> shm.status() == ClockStatus.SYNCHRONIZED);
                ClockdEndToEndTest.assertContainsSystemClock(shm, 1_000);
            }
        }
    }

    /**
     * Silences the servers, then waits until each has received a request after that: the daemon sends a new
     * request only once the previous exchange is over, so every reply sent before the silence has by then
     * been delivered (its measurement is older than the suspend to come, and quarantined or dropped by it)
     * or is orphaned (its nonce no longer pending). No measurement can reach the daemon afterwards.
     */
    private static void holdResynchronization(FakeNtpServer... servers) {
        for (FakeNtpServer server : servers) {
            server.setFault(FakeNtpServer.Fault.SILENT);
        }
        // A request counted after this read finds the server silent: the server counts before it reads the fault.
        for (FakeNtpServer server : servers) {
            awaitRequests(server, server.requestsReceived() + 1);
        }
    }

    private static void awaitRequests(FakeNtpServer server, long requests) {
        await().atMost(Duration.ofSeconds(5)).until(() -> server.requestsReceived() >= requests);
    }
}
