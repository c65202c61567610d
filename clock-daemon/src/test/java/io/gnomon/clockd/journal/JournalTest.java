package io.gnomon.clockd.journal;

import io.gnomon.clockd.select.Measurement;
import io.gnomon.clockd.select.RejectReason;
import io.gnomon.truetime.ClockSnapshot;
import io.gnomon.truetime.ClockStatus;
import net.openhft.chronicle.core.time.SetTimeProvider;
import net.openhft.chronicle.queue.RollCycles;
import net.openhft.chronicle.queue.rollcycles.TestRollCycles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class JournalTest {

    private static final long T0_EPOCH_NANOS = Instant.parse("2026-05-01T12:00:00Z").toEpochMilli() * 1_000_000L;

    @TempDir
    Path dir;

    @Test
    void replayPrintsEveryEntryInOrderWithItsFields() throws IOException {
        try (Journal j = Journal.open(dir, Journal.DEFAULT_RETENTION)) {
            j.recordMeasurement(1_000, T0_EPOCH_NANOS, "ntp:a", new Measurement(900, 42_000, 250, 120_000));
            j.recordRejected(2_000, T0_EPOCH_NANOS + 1_000_000, "ntp:b", RejectReason.KISS_OF_DEATH, "RATE kiss");
            j.recordSnapshot(3_000, T0_EPOCH_NANOS + 2_000_000,
                    new ClockSnapshot(2_500, 77, 300, 15_000, 5_000_000_000L, ClockStatus.SYNCHRONIZED),
                    "2 of 3 sources agree");
        }

        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        long count = Journal.replay(dir, new PrintStream(buf, true, StandardCharsets.UTF_8), 0);
        List<String> lines = buf.toString(StandardCharsets.UTF_8).lines().toList();

        assertThat(count).isEqualTo(3);
        assertThat(lines).hasSize(3);
        assertThat(lines.get(0)).startsWith("2026-05-01T12:00:00Z measurement ")
                .contains("recordedMonotonicNanos=1000", "source=ntp:a", "atMonotonicNanos=900",
                        "epochOffsetNanos=42000", "boundNanos=250", "delayNanos=120000");
        assertThat(lines.get(1)).startsWith("2026-05-01T12:00:00.001Z rejected ")
                .contains("source=ntp:b", "reason=KISS_OF_DEATH", "detail=\"RATE kiss\"");
        assertThat(lines.get(2)).startsWith("2026-05-01T12:00:00.002Z snapshot ")
                .contains("status=SYNCHRONIZED", "asOfMonotonicNanos=2500", "epochOffsetNanos=77",
                        "boundNanos=300", "maxDriftPpb=15000", "voidAfterMonotonicNanos=5000000000",
                        "reason=\"2 of 3 sources agree\"");

        ByteArrayOutputStream fromSecond = new ByteArrayOutputStream();
        assertThat(Journal.replay(dir, new PrintStream(fromSecond, true, StandardCharsets.UTF_8),
                T0_EPOCH_NANOS + 1_000_000)).isEqualTo(2);
        assertThat(fromSecond.toString(StandardCharsets.UTF_8)).doesNotContain("measurement");
    }

    @Test
    void reopeningAppendsAfterExistingEntries() throws IOException {
        Measurement m = new Measurement(1, 2, 3, 4);
        try (Journal j = Journal.open(dir, Journal.DEFAULT_RETENTION)) {
            j.recordMeasurement(1, T0_EPOCH_NANOS, "first", m);
        }
        try (Journal j = Journal.open(dir, Journal.DEFAULT_RETENTION)) {
            j.recordMeasurement(2, T0_EPOCH_NANOS + 1, "second", m);
        }
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        assertThat(Journal.replay(dir, new PrintStream(buf, true, StandardCharsets.UTF_8), 0)).isEqualTo(2);
        assertThat(buf.toString(StandardCharsets.UTF_8)).containsSubsequence("source=first", "source=second");
    }

    @Test
    void rollingDeletesCycleFilesPastRetention() throws IOException {
        SetTimeProvider time = new SetTimeProvider(Instant.parse("2026-05-01T12:00:00Z"));
        Measurement m = new Measurement(1, 2, 3, 4);
        try (Journal j = Journal.open(dir, Duration.ofSeconds(3), TestRollCycles.TEST_SECONDLY, time)) {
            for (int second = 0; second < 8; second++) {
                j.recordMeasurement(second, T0_EPOCH_NANOS + second * 1_000_000_000L, "s" + second, m);
                time.advanceMillis(1_000);
            }
            // The roll into cycle t0+7 (now = t0+7) deleted cycles that ended by t0+4: t0..t0+3.
            assertThat(cycleFileNames()).containsExactly("20260501-120004T.cq4", "20260501-120005T.cq4",
                    "20260501-120006T.cq4", "20260501-120007T.cq4");
            j.recordMeasurement(8, T0_EPOCH_NANOS + 8_000_000_000L, "s8", m);
            assertThat(cycleFileNames()).containsExactly("20260501-120005T.cq4", "20260501-120006T.cq4",
                    "20260501-120007T.cq4", "20260501-120008T.cq4");
        }
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        assertThat(Journal.replay(dir, new PrintStream(buf, true, StandardCharsets.UTF_8), 0)).isEqualTo(4);
        assertThat(buf.toString(StandardCharsets.UTF_8))
                .containsSubsequence("source=s5", "source=s6", "source=s7", "source=s8")
                .doesNotContain("source=s4");
    }

    @Test
    void openDeletesCycleFilesThatExpiredWhileTheDaemonWasDown() throws IOException {
        SetTimeProvider time = new SetTimeProvider(Instant.parse("2026-05-01T12:00:00Z"));
        Measurement m = new Measurement(1, 2, 3, 4);
        try (Journal j = Journal.open(dir, Duration.ofSeconds(2), TestRollCycles.TEST_SECONDLY, time)) {
            j.recordMeasurement(0, T0_EPOCH_NANOS, "old", m);
        }
        assertThat(cycleFiles()).hasSize(1);
        time.advanceMillis(10_000);
        try (Journal j = Journal.open(dir, Duration.ofSeconds(2), TestRollCycles.TEST_SECONDLY, time)) {
            assertThat(cycleFiles()).isEmpty();
            j.recordMeasurement(1, T0_EPOCH_NANOS + 10_000_000_000L, "new", m);
        }
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        assertThat(Journal.replay(dir, new PrintStream(buf, true, StandardCharsets.UTF_8), 0)).isEqualTo(1);
        assertThat(buf.toString(StandardCharsets.UTF_8)).contains("source=new").doesNotContain("source=old");
    }

    @Test
    void aCycleExpiresOnlyOnceItsEndIsOlderThanTheRetention() {
        long hourMillis = 3_600_000L;
        // Cycle 10 spans [10 h, 11 h); with a 2 h retention it may go at 13 h, not a millisecond before.
        assertThat(Journal.isExpired(10, hourMillis, 13 * hourMillis - 1, 2 * hourMillis)).isFalse();
        assertThat(Journal.isExpired(10, hourMillis, 13 * hourMillis, 2 * hourMillis)).isTrue();
        assertThat(Journal.isExpired(11, hourMillis, 13 * hourMillis, 2 * hourMillis)).isFalse();
    }

    @Test
    void rollCycleIsAboutAOneTwentyFourthOfTheRetention() {
        assertThat(Journal.rollCycleFor(Duration.ofDays(7))).isEqualTo(RollCycles.FAST_HOURLY);
        assertThat(Journal.rollCycleFor(Duration.ofHours(12))).isEqualTo(RollCycles.HALF_HOURLY);
        assertThat(Journal.rollCycleFor(Duration.ofMinutes(10))).isEqualTo(RollCycles.FIVE_MINUTELY);
    }

    @Test
    void replayRecognisesTheRollCycleFromAFileName() {
        assertThat(Journal.rollCycleOfFile("20260501-12F.cq4")).isEqualTo(RollCycles.FAST_HOURLY);
        assertThat(Journal.rollCycleOfFile("20260501-120004T.cq4")).isEqualTo(TestRollCycles.TEST_SECONDLY);
        assertThat(Journal.rollCycleOfFile("nonsense.cq4")).isNull();
    }

    @Test
    void openOnARegularFileSaysSo() throws IOException {
        Path file = Files.writeString(dir.resolve("not-a-dir"), "x");
        assertThatThrownBy(() -> Journal.open(file, Journal.DEFAULT_RETENTION))
                .isInstanceOf(IOException.class)
                .hasMessageContaining(file.toString()).hasMessageContaining("is not a directory");
    }

    @Test
    void replayOfAMissingOrEmptyDirectorySaysSo() throws IOException {
        PrintStream out = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        assertThatThrownBy(() -> Journal.replay(dir.resolve("missing"), out, 0))
                .isInstanceOf(IOException.class).hasMessageContaining("does not exist");
        Path empty = Files.createDirectory(dir.resolve("empty"));
        assertThatThrownBy(() -> Journal.replay(empty, out, 0))
                .isInstanceOf(IOException.class).hasMessageContaining("no journal in " + empty);
    }

    @Test
    void rejectsANonPositiveRetention() {
        assertThatThrownBy(() -> Journal.open(dir, Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("retention");
    }

    private List<String> cycleFileNames() {
        return cycleFiles().stream().map(File::getName).sorted().toList();
    }

    private List<File> cycleFiles() {
        File[] files = dir.toFile().listFiles((d, n) -> n.endsWith(".cq4"));
        return files == null ? List.of() : Arrays.asList(files);
    }
}
