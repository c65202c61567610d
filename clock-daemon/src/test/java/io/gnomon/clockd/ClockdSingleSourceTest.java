package io.gnomon.clockd;

import io.gnomon.clockd.cli.TrueTimeCli;
import io.gnomon.clockd.config.ConfigLoader;
import io.gnomon.clockd.config.DaemonConfig;
import io.gnomon.clockd.testing.FakeNtpServer;
import io.gnomon.truetime.ClockStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * One source 500 ms off, and nothing to check it against: clockd reports SYNCHRONIZED (its interval is honest
 * about the one measurement), and the reason, {@code truetime status} and the metrics say it is not cross-checked
 * rather than that sources agree.
 */
@Timeout(60)
class ClockdSingleSourceTest {
    @TempDir Path dir;

    @Test
    void aLoneLiarIsBelievedButNeverCalledCrossChecked() throws Exception {
        try (FakeNtpServer liar = FakeNtpServer.start()) {
            liar.setOffset(Duration.ofMillis(500));
            DaemonConfig c = LoopbackConfig.of(dir.resolve("segment"), List.of("127.0.0.1:" + liar.port()));
            try (Clockd clockd = Clockd.start(ConfigLoader.validate(c), SystemClocks.SYSTEM)) {
                await().atMost(Duration.ofSeconds(20)).until(() -> clockd.daemon().latest() != null
                        && clockd.daemon().latest().snapshot().status() == ClockStatus.SYNCHRONIZED);

                ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                int exit = TrueTimeCli.run(new PrintStream(bytes, true, StandardCharsets.UTF_8), "status", "--grpc",
                        "127.0.0.1:" + clockd.grpcPort());
                String out = bytes.toString(StandardCharsets.UTF_8);
                assertThat(exit).isZero();
                assertThat(out).contains("status: SYNCHRONIZED")
                        .contains("why:    not cross-checked: 1 reachable source of 1, believed alone")
                        .doesNotContain("agree");
                assertThat(clockd.metrics().scrape()).contains("gnomon_clock_cross_checkable 0.0",
                        "gnomon_clock_falsetickers_outvotable 0.0");
            }
        }
    }
}
