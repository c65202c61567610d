package io.gnomon.clockd;

import io.gnomon.clockd.config.ConfigLoader;
import io.gnomon.clockd.config.DaemonConfig;
import io.gnomon.clockd.config.Settings;
import io.gnomon.clockd.select.Estimate;
import io.gnomon.clockd.select.SourceState;
import io.gnomon.clockd.testing.ChronyServer;
import io.gnomon.clockd.testing.FakeNtpServer;
import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.TimeInterval;
import io.gnomon.truetime.grpc.GrpcTrueTime;
import io.gnomon.truetime.grpc.v1.StatusRequest;
import io.gnomon.truetime.grpc.v1.StatusResponse;
import io.gnomon.truetime.grpc.v1.TrueTimeGrpc;
import io.gnomon.truetime.shm.ShmTrueTime;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The daemon end to end against real chronyd servers on loopback (each serving this host's system clock,
 * which is therefore the true time these tests check against), plus a test NTP responder that lies or
 * sends broken packets.
 */
class ClockdEndToEndTest {
    static final List<ChronyServer> chrony = new ArrayList<>();
    @TempDir static Path chronyDir;

    @BeforeAll
    static void startChrony() throws Exception {
        for (String address : List.of("127.0.0.1", "127.0.0.2", "127.0.0.3")) {
            chrony.add(ChronyServer.start(chronyDir, address));
        }
    }

    @AfterAll
    static void stopChrony() {
        chrony.forEach(ChronyServer::close);
    }

    static Settings settings(Path dir, List<String> servers) throws Exception {
        DaemonConfig c = new DaemonConfig();
        c.servers = servers.stream().map(DaemonConfig.Server::new).toList();
        c.pollIntervalMillis = 200; // short polls: the test's own servers
        c.replyTimeoutMillis = 150;
        c.grpc.port = 0;
        c.metrics.port = 0;
        c.publish.segmentPath = dir.resolve("segment").toString();
        c.journal.dir = dir.resolve("journal").toString();
        return ConfigLoader.validate(c);
    }

    static long realtimeNanos() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    /** True time (the system clock, which chronyd serves) lies inside each interval the reader returns. */
    static void assertContainsSystemClock(io.gnomon.truetime.TrueTime tt, int reads) {
        for (int i = 0; i < reads; i++) {
            long before = realtimeNanos();
            TimeInterval iv = tt.now();
            long after = realtimeNanos();
            assertThat(iv.earliestEpochNanos()).as("earliest of %s vs system clock", iv).isLessThanOrEqualTo(after);
            assertThat(iv.latestEpochNanos()).as("latest of %s vs system clock", iv).isGreaterThanOrEqualTo(before);
        }
    }

    /** Like {@link #assertContainsSystemClock}, for servers that serve the system clock plus an offset. */
    static void assertContainsSystemClockPlus(io.gnomon.truetime.TrueTime tt, long offsetNanos, int reads) {
        for (int i = 0; i < reads; i++) {
            long before = realtimeNanos() + offsetNanos;
            TimeInterval iv = tt.now();
            long after = realtimeNanos() + offsetNanos;
            assertThat(iv.earliestEpochNanos()).isLessThanOrEqualTo(after);
            assertThat(iv.latestEpochNanos()).isGreaterThanOrEqualTo(before);
        }
    }

    static void awaitEstimate(Clockd clockd, Predicate<Estimate> p) {
        awaitEstimate(clockd, p, Duration.ofSeconds(20));
    }

    static void awaitEstimate(Clockd clockd, Predicate<Estimate> p, Duration atMost) {
        await().atMost(atMost).pollInterval(Duration.ofMillis(20))
                .until(() -> clockd.daemon().latest() != null && p.test(clockd.daemon().latest()));
    }

    static StatusResponse grpcStatus(int port) throws InterruptedException {
        ManagedChannel ch = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        try {
            return TrueTimeGrpc.newBlockingStub(ch).withDeadlineAfter(2, TimeUnit.SECONDS)
                    .status(StatusRequest.getDefaultInstance());
        } finally {
            ch.shutdownNow().awaitTermination(2, TimeUnit.SECONDS);
        }
    }

    @Test
    void synchronizesFromRealChronydAndPublishesASoundIntervalThroughShmAndGrpc(@TempDir Path dir) throws Exception {
        Settings s = settings(dir, chrony.stream().map(ChronyServer::spec).toList());
        try (Clockd clockd = Clockd.start(s, SystemClocks.SYSTEM)) {
            ShmTrueTime shm = ShmTrueTime.open(s.segmentPath());
            await().atMost(Duration.ofSeconds(20)).until(() -> shm.status() == ClockStatus.SYNCHRONIZED);
            // Let every source deliver a few samples so that all three take part.
            awaitEstimate(clockd, e -> e.sources().stream().allMatch(SourceState::reachable));

            assertContainsSystemClock(shm, 10_000);
            long epsilon = shm.now().epsilonNanos();
            assertThat(epsilon).isPositive().isLessThan(TimeUnit.MILLISECONDS.toNanos(50));

            try (GrpcTrueTime grpc = GrpcTrueTime.connect("127.0.0.1:" + clockd.grpcPort())) {
                assertThat(grpc.status()).isEqualTo(ClockStatus.SYNCHRONIZED);
                assertContainsSystemClock(grpc, 200);
            }
            StatusResponse status = grpcStatus(clockd.grpcPort());
            assertThat(status.getStatus().getNumber()).isEqualTo(ClockStatus.SYNCHRONIZED.code());
            assertThat(status.getBoundNanos()).isPositive();
            assertThat(status.getReason()).isEqualTo("3 of 3 sources agree");
            assertThat(status.getSourcesList()).hasSize(3).allMatch(x -> x.getReachable() && !x.getFalseticker());
            System.out.printf("chronyd x3: epsilon %d ns (shm), gRPC bound %d ns%n", epsilon, status.getBoundNanos());
        }
    }

    @Test
    void losingEverySourceFreeRunsWithAGrowingBoundThatStillHoldsTrueTime(@TempDir Path dir) throws Exception {
        ChronyServer own = ChronyServer.start(dir.resolve("chrony"), "127.0.0.4");
        Settings s = settings(dir, List.of(own.spec()));
        try (own; Clockd clockd = Clockd.start(s, SystemClocks.SYSTEM)) {
            ShmTrueTime shm = ShmTrueTime.open(s.segmentPath());
            await().atMost(Duration.ofSeconds(20)).until(() -> shm.status() == ClockStatus.SYNCHRONIZED);
            own.close();
            await().atMost(Duration.ofSeconds(20)).until(() -> shm.status() == ClockStatus.FREE_RUNNING);
            assertThat(clockd.daemon().latest().reason()).startsWith("free-running for ")
                    .contains("only 0 of 1 sources reachable");
            long epsilon1 = shm.now().epsilonNanos();
            assertContainsSystemClock(shm, 1_000);
            await().atMost(Duration.ofSeconds(5)).until(() -> shm.now().epsilonNanos() > epsilon1);
            assertContainsSystemClock(shm, 1_000);
        }
    }

    @Test
    void aRestartedDaemonDoesNotInheritItsPredecessorsStatus(@TempDir Path dir) throws Exception {
        Settings s = settings(dir, List.of(chrony.get(0).spec()));
        ShmTrueTime shm;
        try (Clockd first = Clockd.start(s, SystemClocks.SYSTEM)) {
            shm = ShmTrueTime.open(s.segmentPath());
            ShmTrueTime reader = shm;
            await().atMost(Duration.ofSeconds(20)).until(() -> reader.status() == ClockStatus.SYNCHRONIZED);
        }
        long sequenceBefore = shm.sequence();
        try (FakeNtpServer silent = FakeNtpServer.start()) {
            silent.setFault(FakeNtpServer.Fault.SILENT);
            Settings again = settings(dir, List.of("127.0.0.1:" + silent.port()));
            try (Clockd second = Clockd.start(again, SystemClocks.SYSTEM)) {
                // The reader mapped before the restart sees the new daemon at once, and it vouches for nothing.
                assertThat(shm.sequence()).isGreaterThan(sequenceBefore);
                assertThat(shm.status()).isEqualTo(ClockStatus.UNSYNCHRONIZED);
                assertThat(shm.writerPid()).isEqualTo((int) ProcessHandle.current().pid());
            }
        }
    }

    /** The daemon reading a real chronyd client (synchronized from the three chronyd servers) over cmdmon. */
    @Test
    void readsARealChronydThroughCmdmon(@TempDir Path dir) throws Exception {
        try (io.gnomon.clockd.testing.ChronyClient client = io.gnomon.clockd.testing.ChronyClient.start(
                dir.resolve("client"), chrony.stream().map(ChronyServer::address).toList())) {
            DaemonConfig c = new DaemonConfig();
            DaemonConfig.Chrony ch = new DaemonConfig.Chrony();
            ch.address = client.cmdAddress().getAddress().getHostAddress() + ":" + client.cmdAddress().getPort();
            ch.pollIntervalMillis = 200;
            ch.replyTimeoutMillis = 150;
            c.chrony = List.of(ch);
            c.grpc.port = 0;
            c.metrics.port = 0;
            c.publish.segmentPath = dir.resolve("segment").toString();
            c.journal.dir = "";
            Settings s = ConfigLoader.validate(c);
            try (Clockd clockd = Clockd.start(s, SystemClocks.SYSTEM)) {
                awaitEstimate(clockd, e -> e.snapshot().status() == ClockStatus.SYNCHRONIZED, Duration.ofSeconds(30));
                assertThat(clockd.daemon().latest().sources().get(0).kind()).isEqualTo("chrony");
                assertContainsSystemClock(ShmTrueTime.open(s.segmentPath()), 10_000);
                // chronyd's first report after synchronizing carries a large root dispersion (hundreds of ms
                // seen); once it settles the bound is drift since chrony's last update plus microseconds.
                ShmTrueTime shm = ShmTrueTime.open(s.segmentPath());
                await().atMost(Duration.ofSeconds(20)).until(() -> shm.now().epsilonNanos() < 5_000_000L);
                System.out.printf("chrony cmdmon: epsilon %d ns%n", shm.now().epsilonNanos());
            }
        }
    }

    /** PTP and NTP combined: a real ptp4l slave (two namespaces, veth) votes beside two chronyd servers. */
    @Test
    void combinesARealPtp4lSourceWithNtpServers(@TempDir Path dir) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(io.gnomon.clockd.testing.PtpPair.available(),
                "needs ptp4l, pmc, ip and root (bin/test installs them)");
        try (io.gnomon.clockd.testing.PtpPair pair = io.gnomon.clockd.testing.PtpPair.start(dir.resolve("ptp"),
                "--clockAccuracy", "0x20")) {
            DaemonConfig c = new DaemonConfig();
            c.servers = List.of(new DaemonConfig.Server(chrony.get(0).spec()),
                    new DaemonConfig.Server(chrony.get(1).spec()));
            c.pollIntervalMillis = 200; // short polls: the test's own servers
            c.replyTimeoutMillis = 150;
            DaemonConfig.Ptp ptp = new DaemonConfig.Ptp();
            ptp.socketPath = pair.slaveSocket().toString();
            ptp.pollIntervalMillis = 200;
            ptp.replyTimeoutMillis = 150;
            c.ptp = List.of(ptp);
            c.grpc.port = 0;
            c.metrics.port = 0;
            c.publish.segmentPath = dir.resolve("segment").toString();
            c.journal.dir = "";
            Settings s = ConfigLoader.validate(c);
            try (Clockd clockd = Clockd.start(s, SystemClocks.SYSTEM)) {
                // ptp4l needs some seconds to pick its master; wait until all three sources vote.
                awaitEstimate(clockd, e -> e.snapshot().status() == ClockStatus.SYNCHRONIZED
                        && e.sources().stream().allMatch(SourceState::reachable), Duration.ofSeconds(60));
                Estimate e = clockd.daemon().latest();
                assertThat(e.sources().get(2).kind()).isEqualTo("ptp");
                assertThat(e.reason()).isEqualTo("3 of 3 sources agree");
                assertContainsSystemClock(ShmTrueTime.open(s.segmentPath()), 10_000);
            }
        }
    }

    @Test
    void aLyingServerIsFlaggedFalsetickerAndTheIntervalStillHoldsTrueTime(@TempDir Path dir) throws Exception {
        try (FakeNtpServer liar = FakeNtpServer.start()) {
            liar.setOffset(Duration.ofSeconds(5));
            String liarSpec = "127.0.0.1:" + liar.port();
            Settings s = settings(dir, List.of(chrony.get(1).spec(), chrony.get(2).spec(), liarSpec));
            try (Clockd clockd = Clockd.start(s, SystemClocks.SYSTEM)) {
                awaitEstimate(clockd, e -> e.snapshot().status() == ClockStatus.SYNCHRONIZED
                        && e.sources().get(2).hasMeasurement());
                Estimate e = clockd.daemon().latest();
                assertThat(e.sources().get(2).falseticker()).isTrue();
                assertThat(e.sources().get(2).offsetNanos()).isBetween(4_900_000_000L, 5_100_000_000L);
                assertThat(e.sources().subList(0, 2)).noneMatch(SourceState::falseticker);
                assertThat(e.reason()).contains("falsetickers: [ntp:" + liarSpec + "]");

                ShmTrueTime shm = ShmTrueTime.open(s.segmentPath());
                assertContainsSystemClock(shm, 10_000);
                String metrics = scrape(clockd.metricsPort());
                assertThat(metrics).contains("gnomon_source_falseticker{source=\"ntp:" + liarSpec + "\"} 1.0");
                assertThat(grpcStatus(clockd.grpcPort()).getSourcesList().get(2).getFalseticker()).isTrue();
            }
        }
    }

    @Test
    void everyBadPacketKindIsCountedUnderItsReasonAndTheDaemonKeepsServing(@TempDir Path dir) throws Exception {
        try (FakeNtpServer bad = FakeNtpServer.start()) {
            String badSpec = "127.0.0.1:" + bad.port();
            String badName = "ntp:" + badSpec;
            Settings s = settings(dir, List.of(chrony.get(0).spec(), chrony.get(1).spec(), badSpec));
            try (Clockd clockd = Clockd.start(s, SystemClocks.SYSTEM)) {
                ShmTrueTime shm = ShmTrueTime.open(s.segmentPath());
                // Before any fault, every counter a fault below increments is already scraped, at 0.
                assertThat(scrape(clockd.metricsPort()).lines()).contains(
                        "gnomon_samples_rejected_total{reason=\"BAD_TIMESTAMPS\",source=\"" + badName + "\"} 0.0",
                        "gnomon_samples_rejected_total{reason=\"UNEXPECTED_SOURCE\",source=\"unknown\"} 0.0",
                        "gnomon_source_stray_datagrams_total{reason=\"SHORT_PACKET\",source=\"" + badName + "\"} 0.0",
                        "gnomon_clock_disruptions_total{kind=\"SUSPEND\"} 0.0");
                List<Object[]> cases = List.of(
                        new Object[]{FakeNtpServer.Fault.SHORT_PACKET, "SHORT_PACKET"},
                        new Object[]{FakeNtpServer.Fault.WRONG_MODE, "WRONG_MODE"},
                        new Object[]{FakeNtpServer.Fault.KISS_OF_DEATH, "KISS_OF_DEATH"},
                        new Object[]{FakeNtpServer.Fault.STRATUM_16, "STRATUM_UNSYNCHRONIZED"},
                        new Object[]{FakeNtpServer.Fault.LEAP_3, "LEAP_UNSYNCHRONIZED"},
                        new Object[]{FakeNtpServer.Fault.WRONG_ORIGIN, "ORIGIN_MISMATCH"},
                        new Object[]{FakeNtpServer.Fault.ZERO_TRANSMIT, "ZERO_TRANSMIT"},
                        new Object[]{FakeNtpServer.Fault.ABSURD_ROOT_DISPERSION, "ABSURD_ROOT_DISTANCE"},
                        new Object[]{FakeNtpServer.Fault.BAD_TIMESTAMPS, "BAD_TIMESTAMPS"},
                        new Object[]{FakeNtpServer.Fault.SILENT, "TIMEOUT"},
                        new Object[]{FakeNtpServer.Fault.WRONG_SOURCE_PORT, "UNEXPECTED_SOURCE"});
                for (Object[] c : cases) {
                    bad.setFault((FakeNtpServer.Fault) c[0]);
                    String sourceTag = c[0] == FakeNtpServer.Fault.WRONG_SOURCE_PORT ? "unknown" : badName;
                    String series = "gnomon_samples_rejected_total{reason=\"" + c[1] + "\",source=\"" + sourceTag + "\"}";
                    // Every series exists at 0 from the start: wait for a count, not for the line.
                    await().atMost(Duration.ofSeconds(10)).until(() -> metricValue(scrape(clockd.metricsPort()), series) > 0);
                    // Still serving: the two honest chronyd servers keep it synchronized, the interval sound.
                    assertThat(shm.status()).isEqualTo(ClockStatus.SYNCHRONIZED);
                    assertContainsSystemClock(shm, 100);
                    assertThat(grpcStatus(clockd.grpcPort()).getStatusValue()).isEqualTo(ClockStatus.SYNCHRONIZED.code());
                }
                // Healed, the server's samples are accepted again.
                bad.setFault(FakeNtpServer.Fault.NONE);
                String accepted = "gnomon_samples_accepted_total{source=\"" + badName + "\"}";
                double acceptedAtHeal = metricValue(scrape(clockd.metricsPort()), accepted);
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> metricValue(scrape(clockd.metricsPort()), accepted) > acceptedAtHeal);
                assertThat(grpcStatus(clockd.grpcPort()).getSourcesList().get(2).getSamplesRejected()).isGreaterThanOrEqualTo(10);
            }
        }
    }

    static double metricValue(String scrape, String series) {
        return scrape.lines().filter(l -> l.startsWith(series + " ")).findFirst()
                .map(l -> Double.parseDouble(l.substring(series.length() + 1).trim())).orElse(0.0);
    }

    static String scrape(int port) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }
}
