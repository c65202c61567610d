package io.gnomon.clockd;

import io.gnomon.clockd.config.ConfigLoader;
import io.gnomon.clockd.config.DaemonConfig;
import io.gnomon.clockd.testing.FakeNtpServer;
import io.gnomon.truetime.CProgram;
import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.TimeInterval;
import io.gnomon.truetime.clockbound.ClockBoundSnapshot;
import io.gnomon.truetime.clockbound.ClockBoundTrueTime;
import io.gnomon.truetime.shm.ShmTrueTime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * clockd publishing a ClockBound v2 segment, read by the C reader written from ClockBound's protocol document
 * (truetime-api/src/test/c/clockbound_read.c, with the protocol's coarse clock) and by the Java API.
 */
class ClockdClockBoundTest {
    @TempDir Path dir;

    /** One test NTP server (serving the system clock) polled every 200 ms, ephemeral ports, both segments. */
    static DaemonConfig withClockBound(FakeNtpServer ntp, Path segment, Path clockBound) {
        DaemonConfig c = LoopbackConfig.of(segment, List.of("127.0.0.1:" + ntp.port()));
        c.publish.clockbound.enabled = true;
        c.publish.clockbound.path = clockBound.toString();
        return c;
    }

    @Test
    void aReaderWrittenFromTheProtocolAgreesWithTheJavaApiOnClockdsSegment() throws Exception {
        CProgram reader = CProgram.compile(Path.of("../truetime-api/src/test/c/clockbound_read.c"), dir);
        try (FakeNtpServer ntp = FakeNtpServer.start()) {
            DaemonConfig c = withClockBound(ntp, dir.resolve("gnomon"), dir.resolve("clockbound/shm0"));
            try (Clockd clockd = Clockd.start(ConfigLoader.validate(c), SystemClocks.SYSTEM)) {
                ClockBoundTrueTime cb = ClockBoundTrueTime.open(dir.resolve("clockbound/shm0"));
                ShmTrueTime gnomon = ShmTrueTime.open(dir.resolve("gnomon"));
                await().atMost(Duration.ofSeconds(30)).until(() -> cb.status() == ClockStatus.SYNCHRONIZED);

                ClockBoundSnapshot published = cb.snapshotOrNull();
                assertThat(published.maxDriftPpb()).isEqualTo(clockd.daemon().latest().snapshot().maxDriftPpb());
                assertThat(published.clockDisruptionSupport()).isFalse();
                // the ClockBound bound is clockd's, re-expressed around the system clock: no tighter than it
                assertThat(cb.now().epsilonNanos()).isGreaterThanOrEqualTo(gnomon.snapshotOrNull().boundNanos());

                long lagNanos = 50_000_000L; // coarse behind fine, generously
                long growthOverLag = (lagNanos * published.maxDriftPpb() + 999_999_999L) / 1_000_000_000L;
                for (int attempt = 0; ; attempt++) {
                    int generation = cb.generation();
                    TimeInterval before = cb.now();
                    CProgram.Result r = reader.run(dir.resolve("clockbound/shm0").toString());
                    TimeInterval after = cb.now();
                    assertThat(r.exitCode()).as(r.output()).isZero();
                    List<Long> f = r.numbers();
                    if (f.get(3) != generation || cb.generation() != generation) {
                        assertThat(attempt).as("a publication raced every read").isLessThan(20);
                        continue; // clockd republished meanwhile: compare readings of one publication
                    }
                    TimeInterval fromC = new TimeInterval(f.get(0), f.get(1));
                    assertThat(f.get(2)).isEqualTo(1L);
                    assertThat(fromC.earliestEpochNanos() + fromC.epsilonNanos()).as("C read realtime between")
                            .isBetween(before.earliestEpochNanos() + before.epsilonNanos(),
                                    after.earliestEpochNanos() + after.epsilonNanos());
                    assertThat(fromC.epsilonNanos()).isLessThanOrEqualTo(after.epsilonNanos())
                            .isGreaterThanOrEqualTo(before.epsilonNanos() - growthOverLag);
                    break;
                }
            }
        }
    }
}
