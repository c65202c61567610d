package io.gnomon.clockd;

import io.gnomon.clockd.config.ConfigLoader;
import io.gnomon.clockd.config.DaemonConfig;
import io.gnomon.clockd.select.Estimate;
import io.gnomon.clockd.testing.FakeNtpServer;
import io.gnomon.truetime.ClockStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * DNS down at boot: a server name that does not resolve (a name under the reserved {@code .invalid} TLD never
 * does) leaves clockd running, publishing UNSYNCHRONIZED with the reason, or synchronized on the other sources.
 */
@Timeout(60)
class ClockdUnresolvedServerTest {
    private static final String NAME = "ntp.gnomon.invalid";
    private static final String SOURCE = "ntp:" + NAME + ":123";

    @TempDir Path dir;

    private DaemonConfig config(List<String> servers) {
        return LoopbackConfig.of(dir.resolve("segment"), servers);
    }

    @Test
    void aNameThatDoesNotResolveKeepsClockdRunningAndSaysWhy() throws Exception {
        try (Clockd clockd = Clockd.start(ConfigLoader.validate(config(List.of(NAME))), SystemClocks.SYSTEM)) {
            await().atMost(Duration.ofSeconds(20)).until(() -> clockd.daemon().latest() != null
                    && clockd.daemon().latest().reason().contains("cannot resolve"));
            Estimate e = clockd.daemon().latest();
            assertThat(e.snapshot().status()).isEqualTo(ClockStatus.UNSYNCHRONIZED);
            assertThat(e.reason()).contains(SOURCE + ": cannot resolve '" + NAME + "'")
                    .contains("not polled; retrying with back-off");
            assertThat(clockd.metrics().scrape()).contains(
                    "gnomon_source_condition{condition=\"UNRESOLVED\",source=\"" + SOURCE + "\"} 1.0");
        }
    }

    @Test
    void theOtherSourcesStillSynchronizeTheClock() throws Exception {
        List<FakeNtpServer> servers = new ArrayList<>();
        try {
            List<String> specs = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                FakeNtpServer server = FakeNtpServer.start();
                servers.add(server);
                specs.add("127.0.0.1:" + server.port());
            }
            specs.add(NAME);
            try (Clockd clockd = Clockd.start(ConfigLoader.validate(config(specs)), SystemClocks.SYSTEM)) {
                await().atMost(Duration.ofSeconds(20)).until(() -> clockd.daemon().latest() != null
                        && clockd.daemon().latest().snapshot().status() == ClockStatus.SYNCHRONIZED
                        && clockd.daemon().latest().reason().contains("cannot resolve"));
                assertThat(clockd.daemon().latest().reason()).startsWith("3 of 4 sources agree");
            }
        } finally {
            servers.forEach(FakeNtpServer::close);
        }
    }
}
