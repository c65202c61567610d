package io.gnomon.clockd.source.ptp;

import io.gnomon.clockd.SystemClocks;
import io.gnomon.clockd.select.Measurement;
import io.gnomon.clockd.select.RejectReason;
import io.gnomon.clockd.select.SourceListener;
import io.gnomon.clockd.source.ptp.PtpManagement.Response;
import io.gnomon.clockd.source.ptp.PtpManagement.TimeStatus;
import io.gnomon.clockd.testing.PtpPair;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.newsclub.net.unix.AFUNIXDatagramChannel;
import org.newsclub.net.unix.AFUNIXSocketAddress;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * PtpSource against a real ptp4l slave ({@link PtpPair}). Both ptp4l instances share this host's CLOCK_REALTIME,
 * so for this test true time is the system clock: every measurement's interval, aged to the moment it is checked,
 * must contain the system clock's offset (realtime - monotonic) read fresh.
 */
class PtpSourceTest {

    static final int MEASUREMENTS = 8;

    @TempDir
    Path dir;

    @Test
    void measurementsFromARealPtp4lSlaveContainTheSystemClock() throws Exception {
        Assumptions.assumeTrue(PtpPair.available(), "needs ptp4l, pmc, ip and root (bin/test installs them)");
        List<String> namespaces;
        try (PtpPair pair = PtpPair.start(dir, "--clockAccuracy", "0x20")) { // the master claims 25 ns
            namespaces = pair.namespaceNames();
            assertThat(namespaces).allSatisfy(n -> assertThat(PtpPair.namespaceExists(n)).isTrue());
            // Two sources on the same slave: the default bound, and one with no drift allowance (true time is this
            // host's clock, so the realtime clock cannot drift from it) to show the other terms alone hold.
            Checker defaults = new Checker(PtpBound.Config.DEFAULT_MAX_DRIFT_PPB);
            Checker noDrift = new Checker(0);
            PtpSource.Config base = PtpSource.Config.defaults(pair.slaveSocket());
            PtpSource.Config fast = new PtpSource.Config(base.name(), base.socketPath(), dir, 200_000_000L,
                    100_000_000L, base.bound());
            PtpBound.Config noDriftBound = new PtpBound.Config(0, base.bound().timestampErrorNanos(),
                    PtpBound.Config.REJECT_UNKNOWN_ACCURACY, base.bound().maxIngressAgeNanos());
            try (PtpSource a = new PtpSource(fast, defaults, SystemClocks.SYSTEM);
                 PtpSource b = new PtpSource(new PtpSource.Config("ptp:no-drift", base.socketPath(), dir,
                         200_000_000L, 100_000_000L, noDriftBound), noDrift, SystemClocks.SYSTEM)) {
                a.start();
                a.start(); // idempotent
                b.start();
                await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
                        .failFast("ptp4l died:\n" + pair.logs(), () -> !pair.running())
                        .until(() -> defaults.measurements.size() >= MEASUREMENTS
                                && noDrift.measurements.size() >= MEASUREMENTS);

                assertThat(defaults.violations).isEmpty();
                assertThat(noDrift.violations).isEmpty();
                // Before ptp4l selects the master it is its own grandmaster or has no Sync yet: nothing else.
                assertThat(defaults.rejections.keySet()).isSubsetOf(RejectReason.PTP_NO_GRANDMASTER,
                        RejectReason.PTP_NOT_READY, RejectReason.PTP_UNKNOWN_ACCURACY);
                System.out.println("default bound: " + defaults.summary());
                System.out.println("no-drift bound: " + noDrift.summary());

                compareWithPmc(pair);
            }
            assertThat(dir.toFile().list((d, name) -> name.startsWith("gnomon-ptp-"))).isEmpty();
        }
        for (String n : namespaces) {
            assertThat(PtpPair.namespaceExists(n)).as("namespace %s removed", n).isFalse();
        }
    }

    /** Our decoding of TIME_STATUS_NP against pmc's, on the same Sync (same ingress_time). */
    private void compareWithPmc(PtpPair pair) throws Exception {
        Path client = dir.resolve("cmp.sock");
        try (AFUNIXDatagramChannel channel = AFUNIXDatagramChannel.open()) {
            channel.setDeleteOnClose(true);
            channel.bind(AFUNIXSocketAddress.of(client));
            for (int attempt = 0; attempt < 5; attempt++) {
                channel.send(ByteBuffer.wrap(PtpManagement.getRequest(attempt, PtpManagement.MID_TIME_STATUS_NP)),
                        AFUNIXSocketAddress.of(pair.slaveSocket()));
                ByteBuffer buffer = ByteBuffer.allocate(1500);
                channel.receive(buffer);
                Response ours = PtpManagement.parseResponse(buffer.array(), buffer.position(), attempt,
                        PtpManagement.MID_TIME_STATUS_NP);
                String pmc = pair.pmc("GET TIME_STATUS_NP");
                assertThat(ours).isInstanceOf(TimeStatus.class);
                TimeStatus t = (TimeStatus) ours;
                if (field(pmc, "ingress_time").equals(Long.toString(t.ingressTimeNanos()))) {
                    assertThat(field(pmc, "master_offset")).isEqualTo(Long.toString(t.masterOffsetNanos()));
                    assertThat(field(pmc, "gmPresent")).isEqualTo(t.gmPresent() ? "true" : "false");
                    assertThat(field(pmc, "gmIdentity")).isEqualTo(t.gmIdentity().toString());
                    assertThat(field(pmc, "scaledLastGmPhaseChange")).isEqualTo(
                            Integer.toString(t.scaledLastGmPhaseChange()));
                    assertThat(field(pmc, "gmTimeBaseIndicator")).isEqualTo(Integer.toString(t.gmTimeBaseIndicator()));
                    return;
                }
                // a new Sync arrived between the two queries: ask again
            }
            throw new AssertionError("pmc and PtpManagement never saw the same Sync in 5 attempts");
        }
    }

    private static String field(String pmcOutput, String name) {
        Matcher m = Pattern.compile("^\\s*" + name + "\\s+(\\S+)\\s*$", Pattern.MULTILINE).matcher(pmcOutput);
        assertThat(m.find()).as("pmc output has %s:\n%s", name, pmcOutput).isTrue();
        return m.group(1);
    }

    /** Checks each measurement against the system clock, read fresh, on the source's thread. */
    static final class Checker implements SourceListener {
        final long driftPpb;
        final List<Measurement> measurements = new CopyOnWriteArrayList<>();
        final List<String> violations = new CopyOnWriteArrayList<>();
        final Map<RejectReason, AtomicInteger> rejections = new ConcurrentHashMap<>();
        volatile long maxErrorNanos;
        volatile long minBoundNanos = Long.MAX_VALUE;
        volatile long maxBoundNanos;

        Checker(long driftPpb) {
            this.driftPpb = driftPpb;
        }

        @Override
        public void onMeasurement(String sourceName, Measurement m) {
            SystemClocks.Pair now = SystemClocks.SYSTEM.readPair();
            long truth = now.realtimeMinusMonotonicNanos();
            long mid = now.monotonicBeforeNanos() + (now.monotonicAfterNanos() - now.monotonicBeforeNanos()) / 2;
            long allowed = m.boundAt(mid, driftPpb) + now.uncertaintyNanos();
            long error = Math.abs(truth - m.epochOffsetNanos());
            if (error > allowed) {
                violations.add(sourceName + ": " + m + " misses the system clock offset " + truth + " by " + error
                        + " > " + allowed);
            }
            maxErrorNanos = Math.max(maxErrorNanos, error);
            minBoundNanos = Math.min(minBoundNanos, m.boundNanos());
            maxBoundNanos = Math.max(maxBoundNanos, m.boundNanos());
            measurements.add(m);
        }

        @Override
        public void onRejected(String sourceName, RejectReason reason, String detail) {
            rejections.computeIfAbsent(reason, r -> new AtomicInteger()).incrementAndGet();
        }

        String summary() {
            return measurements.size() + " measurements, max |error| " + maxErrorNanos + " ns, bound "
                    + minBoundNanos + ".." + maxBoundNanos + " ns, rejections " + rejections;
        }
    }
}
