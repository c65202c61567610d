package io.gnomon.clockd.source.chrony;

import io.gnomon.clockd.select.RejectReason;
import io.gnomon.clockd.testing.ChronyClient;
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
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@link ChronyCmdmon}'s N_SOURCES, SOURCE_DATA and SOURCESTATS against a real chronyd client of three real chronyd
 * servers on loopback, checked against what {@code chronyc -c sourcestats} prints for the same chronyd.
 */
@Timeout(60)
class ChronyCmdmonSourcestatsTest {

    @TempDir
    static Path dir;
    private static final List<AutoCloseable> processes = new ArrayList<>();
    private static ChronyClient chronyd;
    private static long startedMonotonicNanos;

    @BeforeAll
    static void startChrony() throws IOException {
        // Before the servers start, so no earlier than chronyd's start: a lower bound of its oldest sample.
        startedMonotonicNanos = System.nanoTime();
        chronyd = ChronyClient.startSynchronisedOnThreeServers(dir, processes);
    }

    @AfterAll
    static void stopChrony() throws Exception {
        for (int i = processes.size() - 1; i >= 0; i--) {
            processes.get(i).close();
        }
    }

    @Test
    void enumeratesChronydsSourcesAndDecodesEachOnesRegressionAsChronycDoes() throws IOException {
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200))
                .until(() -> stats().values().stream().allMatch(s -> s.spanSeconds() >= 2));
        Map<String, ChronyCmdmon.Sourcestats> ours = null;
        Map<String, String[]> chronyc = null;
        // chronyd samples every 1/16..1/4 s: compare with chronyc only when two reads of ours around its read agree
        for (int attempt = 0; attempt < 20; attempt++) {
            Map<String, ChronyCmdmon.Sourcestats> before = stats();
            chronyc = chronycSourcestats();
            Map<String, ChronyCmdmon.Sourcestats> after = stats();
            if (counts(before).equals(counts(after))) {
                ours = before;
                break;
            }
        }
        assertThat(ours).as("two reads that agree").isNotNull();
        assertThat(ours.keySet()).containsExactlyInAnyOrder("127.0.0.1", "127.0.0.2", "127.0.0.3");
        assertThat(chronyc.keySet()).isEqualTo(ours.keySet());
        long uptimeSeconds = (System.nanoTime() - startedMonotonicNanos) / 1_000_000_000L;
        for (ChronyCmdmon.Sourcestats s : ours.values()) {
            String[] fields = chronyc.get(s.ipAddress()); // name, NP, NR, span, frequency, skew, offset, std dev
            assertThat(s.samples()).as("n_samples of %s", s.ipAddress()).isEqualTo(Long.parseLong(fields[1]));
            assertThat(s.runs()).as("n_runs of %s", s.ipAddress()).isEqualTo(Long.parseLong(fields[2]));
            assertThat(s.spanSeconds()).as("span of %s", s.ipAddress()).isEqualTo(Long.parseLong(fields[3]))
                    .isBetween(2L, uptimeSeconds + 1);
            assertThat(s.samples()).isBetween(2L, 64L);
            assertThat(s.skewPpm()).isEqualTo(Double.parseDouble(fields[5]),
                    org.assertj.core.data.Offset.offset(Math.abs(s.skewPpm()) * 1e-3 + 1e-3));
            assertThat(s.sdSeconds()).isNotNegative().isLessThan(0.01); // loopback: microseconds
        }
    }

    @Test
    void sourceDataTellsWhichSourceIsSelectedAndHowOldItsLastSampleIs() throws IOException {
        int count = count();
        assertThat(count).isEqualTo(3);
        int selected = 0;
        for (int i = 0; i < count; i++) {
            ChronyCmdmon.SourceData d = exchange(ChronyCmdmon::sourceDataRequest, i,
                    ChronyCmdmon::parseSourceDataReply, ChronyCmdmon.SOURCE_DATA_REPLY_LENGTH, ChronyCmdmon.SourceData.class);
            assertThat(d.ipAddress()).startsWith("127.0.0.");
            assertThat(d.hasSample()).isTrue();
            assertThat(d.sinceSampleSeconds()).as("polled every 1/4 s at most").isLessThanOrEqualTo(2);
            assertThat(d.pollLog2Seconds()).isBetween(-4, -2); // minpoll -4 maxpoll -2
            assertThat(d.stratum()).isEqualTo(1);
            selected += d.state() == 0 ? 1 : 0;
        }
        assertThat(selected).as("one source selected").isEqualTo(1);
    }

    @Test
    void anIndexPastChronydsTableIsAnsweredWithAnErrorStatus() throws IOException {
        ChronyCmdmon.Rejected rejected = exchange(ChronyCmdmon::sourcestatsRequest, 7,
                ChronyCmdmon::parseSourcestatsReply, ChronyCmdmon.SOURCESTATS_REPLY_LENGTH, ChronyCmdmon.Rejected.class);
        assertThat(rejected.reason()).isEqualTo(RejectReason.CMDMON_ERROR_STATUS);
        assertThat(rejected.answered()).isTrue();
    }

    private static Map<String, Long> counts(Map<String, ChronyCmdmon.Sourcestats> stats) {
        Map<String, Long> counts = new HashMap<>();
        stats.forEach((ip, s) -> counts.put(ip, s.samples() * 1_000_000 + s.runs() * 1_000 + s.spanSeconds()));
        return counts;
    }

    private static Map<String, ChronyCmdmon.Sourcestats> stats() throws IOException {
        Map<String, ChronyCmdmon.Sourcestats> stats = new HashMap<>();
        for (int i = 0, n = count(); i < n; i++) {
            ChronyCmdmon.Sourcestats s = exchange(ChronyCmdmon::sourcestatsRequest, i,
                    ChronyCmdmon::parseSourcestatsReply, ChronyCmdmon.SOURCESTATS_REPLY_LENGTH,
                    ChronyCmdmon.Sourcestats.class);
            stats.put(s.ipAddress(), s);
        }
        return stats;
    }

    private static int count() throws IOException {
        return exchange((sequence, unused) -> ChronyCmdmon.nSourcesRequest(sequence), 0,
                ChronyCmdmon::parseNSourcesReply, ChronyCmdmon.N_SOURCES_REPLY_LENGTH, ChronyCmdmon.SourceCount.class)
                .count();
    }

    interface Parser {
        ChronyCmdmon.Result parse(byte[] bytes, int length, int sequence);
    }

    /** One exchange with our own codec; the request is as long as the reply (chronyd drops shorter ones). */
    private static <T> T exchange(BiFunction<Integer, Integer, byte[]> request, int index, Parser parser,
                                  int replyLength, Class<T> expected) throws IOException {
        int sequence = new SplittableRandom().nextInt();
        byte[] bytes = request.apply(sequence, index);
        assertThat(bytes).hasSize(replyLength);
        try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            socket.setSoTimeout(2_000);
            socket.send(new DatagramPacket(bytes, bytes.length, chronyd.cmdAddress()));
            byte[] buffer = new byte[512];
            DatagramPacket reply = new DatagramPacket(buffer, buffer.length);
            socket.receive(reply);
            ChronyCmdmon.Result result = parser.parse(buffer, reply.getLength(), sequence);
            assertThat(result).isInstanceOf(expected);
            assertThat(parser.parse(buffer, reply.getLength(), sequence + 1)).as("another request's sequence")
                    .isInstanceOf(ChronyCmdmon.Rejected.class);
            return expected.cast(result);
        }
    }

    /** {@code chronyc -n -c sourcestats}, by address. */
    private static Map<String, String[]> chronycSourcestats() throws IOException {
        Process p = new ProcessBuilder("chronyc", "-n", "-h", "127.0.0.1", "-p",
                Integer.toString(chronyd.cmdAddress().getPort()), "-c", "sourcestats").redirectErrorStream(true).start();
        try {
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("chronyc did not finish within 5 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IOException("interrupted", e);
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        Map<String, String[]> rows = new HashMap<>();
        for (String line : out.split("\n")) {
            String[] fields = line.split(",", -1);
            rows.put(fields[0], fields);
        }
        return rows;
    }
}
