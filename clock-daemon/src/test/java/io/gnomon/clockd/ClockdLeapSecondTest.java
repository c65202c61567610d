package io.gnomon.clockd;

import io.gnomon.clockd.config.Settings;
import io.gnomon.clockd.testing.FakeNtpServer;
import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.TimeInterval;
import io.gnomon.truetime.shm.ShmTrueTime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Three NTP servers whose clocks stand a few seconds before a UTC midnight announce a leap second
 * insertion, then step back one second at the midnight as stepping servers do. Their time is the true time
 * of this test; every interval a reader gets must contain it, before, across and after the step.
 */
class ClockdLeapSecondTest {

    static long realtimeNanos() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    @Test
    void anAnnouncedLeapSecondIsCoveredAcrossTheServersStep(@TempDir Path dir) throws Exception {
        long nowNanos = realtimeNanos();
        long leapNanos = (Math.floorDiv(nowNanos, 86_400_000_000_000L) + 2) * 86_400_000_000_000L;
        // Server time = system time + offset: 8 s before the leap now.
        AtomicLong offsetNanos = new AtomicLong(leapNanos - 8_000_000_000L - nowNanos);
        List<FakeNtpServer> servers = List.of(FakeNtpServer.start(), FakeNtpServer.start(), FakeNtpServer.start());
        try {
            for (FakeNtpServer s : servers) {
                s.setOffset(Duration.ofNanos(offsetNanos.get()));
                s.setLeapIndicator(1);
            }
            Settings s = ClockdEndToEndTest.settings(dir, servers.stream().map(x -> "127.0.0.1:" + x.port()).toList());
            try (Clockd clockd = Clockd.start(s, SystemClocks.SYSTEM)) {
                ShmTrueTime shm = ShmTrueTime.open(s.segmentPath());
                await().atMost(Duration.ofSeconds(20)).until(() -> shm.status() == ClockStatus.SYNCHRONIZED
                        && shm.now().epsilonNanos() > 1_000_000_000L);
                assertThat(clockd.daemon().latest().reason()).contains("leap second at").contains("widened by 1 s");

                long checked = 0;
                boolean stepped = false;
                while (true) {
                    long before = offsetNanos.get();
                    long r1 = realtimeNanos();
                    TimeInterval iv = shm.now();
                    long r2 = realtimeNanos();
                    if (offsetNanos.get() == before) { // not across our own step: one scale is true
                        assertThat(iv.earliestEpochNanos()).as("earliest vs server time").isLessThanOrEqualTo(r2 + before);
                        assertThat(iv.latestEpochNanos()).as("latest vs server time").isGreaterThanOrEqualTo(r1 + before);
                        checked++;
                    }
                    if (!stepped && r2 + before >= leapNanos) {
                        // Midnight on the servers' clocks: the inserted second makes POSIX time go back by 1 s.
                        offsetNanos.addAndGet(-1_000_000_000L);
                        for (FakeNtpServer x : servers) {
                            x.setOffset(Duration.ofNanos(offsetNanos.get()));
                            x.setLeapIndicator(0);
                        }
                        stepped = true;
                    }
                    if (stepped && shm.now().epsilonNanos() < 100_000_000L) {
                        break; // every source measured after the leap: the widening has ended
                    }
                    if (realtimeNanos() - nowNanos > 40_000_000_000L) {
                        throw new AssertionError("the leap widening did not end: " + clockd.daemon().latest().reason());
                    }
                }
                assertThat(checked).isGreaterThan(1000);
                ClockdEndToEndTest.assertContainsSystemClockPlus(shm, offsetNanos.get(), 1_000);
            }
        } finally {
            servers.forEach(FakeNtpServer::close);
        }
    }
}
