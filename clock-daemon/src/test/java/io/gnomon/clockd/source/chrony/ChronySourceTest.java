package io.gnomon.clockd.source.chrony;

import io.gnomon.clockd.SystemClocks;
import io.gnomon.clockd.select.Measurement;
import io.gnomon.clockd.testing.ChronyClient;
import io.gnomon.clockd.testing.SystemOffset;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@link ChronySource} against a real chronyd client synchronized (without touching the clock) from three real
 * chronyd servers that serve this host's clock: so true time, as far as this test is concerned, is the system clock.
 */
@Timeout(60)
class ChronySourceTest {

    private static final long MAX_DRIFT_PPB = 500_000; // generous: the host's realtime clock may be slewing
    private static final long MAX_ROOT_DISTANCE_NANOS = Duration.ofSeconds(1).toNanos();

    @TempDir
    static Path dir;
    private static final List<AutoCloseable> processes = new ArrayList<>();
    private static ChronyClient chronyd;
    private static long chronydStartedMonotonicNanos;

    @BeforeAll
    static void startChrony() throws IOException {
        // Before the servers start, so no earlier than chronyd's start: a lower bound of its oldest sample.
        chronydStartedMonotonicNanos = System.nanoTime();
        chronyd = ChronyClient.startSynchronisedOnThreeServers(dir, processes);
    }

    @AfterAll
    static void stopChrony() throws Exception {
        for (int i = processes.size() - 1; i >= 0; i--) {
            processes.get(i).close();
        }
    }

    /**
     * After a step, the source reads chronyd's SOURCE_DATA and SOURCESTATS before each tracking request, and marks
     * each report with the earliest instant a sample behind it may have been taken: no later than the report's
     * update, and no earlier than chronyd's start less the 2 s rounding slack (chronyd has no older sample).
     */
    @Test
    void afterAStepReportsCarryTheStartOfChronydsWindows() throws IOException {
        RecordingListener listener = new RecordingListener();
        ChronySource.Config defaults = ChronySource.Config.defaults(chronyd.cmdAddress());
        try (ChronySource source = new ChronySource(new ChronySource.Config(defaults.name(), chronyd.cmdAddress(),
                Duration.ofMillis(50).toNanos(), Duration.ofMillis(50).toNanos(), MAX_DRIFT_PPB,
                MAX_ROOT_DISTANCE_NANOS, defaults.bindAddress()), listener, new SecureRandom(), SystemClocks.SYSTEM)) {
            source.start();
            String name = source.name();
            await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(10))
                    .until(() -> listener.measurements(name).size() >= 3);
            assertThat(listener.measurements(name)).as("no step: nothing read of chronyd's windows")
                    .allMatch(m -> m.windowSinceMonotonicNanos() == Measurement.WINDOW_UNKNOWN);

            long steppedMonotonic = System.nanoTime();
            source.realtimeStepped(steppedMonotonic);
            await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(10))
                    .until(() -> listener.measurements(name).stream()
                            .filter(m -> m.atMonotonicNanos() > steppedMonotonic
                                    && m.windowSinceMonotonicNanos() != Measurement.WINDOW_UNKNOWN).count() >= 3);
            assertThat(listener.events).allMatch(e -> e.measurement() != null, "no rejections");
            for (Measurement m : listener.measurements(name)) {
                if (m.windowSinceMonotonicNanos() == Measurement.WINDOW_UNKNOWN) {
                    continue;
                }
                assertThat(m.windowSinceMonotonicNanos()).isLessThanOrEqualTo(m.realtimeSinceMonotonicNanos())
                        .isGreaterThan(chronydStartedMonotonicNanos - 3_000_000_000L);
            }
        }
    }

    @Test
    void measurementsContainTheSystemClock() throws IOException {
        RecordingListener listener = new RecordingListener();
        ChronySource.Config defaults = ChronySource.Config.defaults(chronyd.cmdAddress());
        try (ChronySource source = new ChronySource(new ChronySource.Config(defaults.name(), chronyd.cmdAddress(),
                Duration.ofMillis(50).toNanos(), Duration.ofMillis(50).toNanos(), MAX_DRIFT_PPB,
                MAX_ROOT_DISTANCE_NANOS, defaults.bindAddress()), listener, new SecureRandom(), SystemClocks.SYSTEM)) {
            source.start();
            String name = "chrony:127.0.0.1:" + chronyd.cmdAddress().getPort();
            assertThat(source.name()).isEqualTo(name);

            await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(10))
                    .until(() -> listener.measurements(name).size() >= 10);

            assertThat(listener.events).allMatch(e -> e.measurement() != null, "no rejections");
            for (Measurement m : listener.measurements(name)) {
                assertThat(SystemOffset.missedBy(m, MAX_DRIFT_PPB)).isEmpty();
            }
            // Loopback chrony settles at microseconds of root distance; the bound is then dominated by the age of
            // chrony's update at maxDrift. Only the latest is checked for tightness: once, on a loaded machine, a
            // measurement right after chronyd first reported "Normal" had a bound of 919 ms (still containing the
            // truth). Not reproduced since; whether chronyd's first update can carry a root dispersion that large is open.
            List<Measurement> all = listener.measurements(name);
            assertThat(all.get(all.size() - 1).boundNanos()).as("%s", all).isLessThan(5_000_000);
        }
    }

    /**
     * Our decoding against chronyc's: query, run {@code chronyc -c tracking}, query again, and use a round where
     * chronyd's reference time did not change in between (it updates 16 times a second here). Values that drift
     * with time between the queries (the correction with -x, the dispersion) must lie between ours, within the
     * rounding of chronyc's 9 decimals (0.5 ns) and ours (1 ns).
     */
    @Test
    void decodingAgreesWithChronyc() {
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ZERO).until(() -> {
            ChronyCmdmon.TrackingReport before = query();
            String[] csv = chronyd.trackingCsv();
            ChronyCmdmon.TrackingReport after = query();
            if (before.referenceTimeEpochNanos() != after.referenceTimeEpochNanos()) {
                return false; // chronyd updated in between: try again
            }
            assertThat(csv[0]).isEqualTo(before.referenceIdHex());
            assertThat(Integer.parseInt(csv[2])).isEqualTo(before.stratum());
            assertThat(csv[13]).isEqualTo("Normal");
            assertThat(nanos(csv[3])).isEqualTo(before.referenceTimeEpochNanos());
            assertBetween("system time", nanos(csv[4]), before.currentCorrectionNanos(), after.currentCorrectionNanos());
            assertBetween("root delay", nanos(csv[10]), before.rootDelayNanos(), after.rootDelayNanos());
            assertBetween("root dispersion", nanos(csv[11]), before.rootDispersionNanos(), after.rootDispersionNanos());
            assertThat(before.rootDelayNanos()).isPositive().isLessThan(1_000_000);
            return true;
        });
    }

    private static void assertBetween(String field, long chronycNanos, long ours1, long ours2) {
        assertThat(chronycNanos).as(field)
                .isBetween(Math.min(ours1, ours2) - 2, Math.max(ours1, ours2) + 2);
    }

    /** A decimal number of seconds with up to 9 decimals, as chronyc -c prints it, in nanoseconds. */
    private static long nanos(String seconds) {
        return new java.math.BigDecimal(seconds).movePointRight(9).setScale(0, java.math.RoundingMode.HALF_UP)
                .longValueExact();
    }

    /** One TRACKING exchange with our own codec. */
    private static ChronyCmdmon.TrackingReport query() throws IOException {
        int sequence = new SplittableRandom().nextInt();
        byte[] request = ChronyCmdmon.trackingRequest(sequence);
        try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            socket.setSoTimeout(2_000);
            socket.send(new DatagramPacket(request, request.length, chronyd.cmdAddress()));
            byte[] buffer = new byte[512];
            DatagramPacket reply = new DatagramPacket(buffer, buffer.length);
            socket.receive(reply);
            ChronyCmdmon.Result result = ChronyCmdmon.parseTrackingReply(buffer, reply.getLength(), sequence);
            assertThat(result).isInstanceOf(ChronyCmdmon.Tracking.class);
            return ((ChronyCmdmon.Tracking) result).report();
        }
    }
}
