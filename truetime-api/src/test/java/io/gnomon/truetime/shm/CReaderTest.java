package io.gnomon.truetime.shm;

import io.gnomon.truetime.ClockSnapshot;
import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.TimeInterval;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The C reader in src/test/c was written from docs/shm-segment.md alone; if it agrees with ShmTrueTime on a
 * live segment, the document is enough to write a reader in another language. Skipped without gcc.
 */
class CReaderTest {

    @TempDir
    static Path buildDir;

    static Path binary;

    @BeforeAll
    static void compile() throws Exception {
        Path source = Path.of("src/test/c/gnomon_truetime_read.c").toAbsolutePath();
        assumeTrue(Files.isRegularFile(source), "C source not found at " + source);
        binary = buildDir.resolve("gnomon_truetime_read");
        Result r;
        try {
            r = run("gcc", "-O2", "-std=c11", "-Wall", "-Wextra", "-Werror", "-o", binary.toString(), source.toString());
        } catch (IOException e) {
            assumeTrue(false, "no gcc on this host: " + e.getMessage());
            return;
        }
        assertThat(r.exitCode()).as("gcc: %s", r.output()).isZero();
    }

    record Result(int exitCode, String output) {
    }

    static Result run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), out);
    }

    private static ClockSnapshot liveSnapshot(ClockStatus status) {
        long monotonicNanos = System.nanoTime();
        Instant wall = Instant.now();
        long epochNanos = wall.getEpochSecond() * 1_000_000_000L + wall.getNano();
        return new ClockSnapshot(monotonicNanos, epochNanos - monotonicNanos, 30_000L, 200_000L,
                monotonicNanos + TimeUnit.MINUTES.toNanos(1), status);
    }

    @Test
    void agreesWithTheJavaReaderOnALiveSegment() throws Exception {
        Path path = buildDir.resolve("truetime");
        try (SegmentWriter w = SegmentWriter.open(path)) {
            w.publish(liveSnapshot(ClockStatus.SYNCHRONIZED));
            ShmTrueTime tt = ShmTrueTime.open(path);

            TimeInterval before = tt.now();
            Result r = run(binary.toString(), path.toString());
            TimeInterval after = tt.now();

            assertThat(r.exitCode()).as(r.output()).isZero();
            List<Long> fields = new ArrayList<>();
            for (String f : r.output().split(" ")) {
                fields.add(Long.parseLong(f));
            }
            TimeInterval c = new TimeInterval(fields.get(0), fields.get(1));
            // C read CLOCK_MONOTONIC between the two Java reads: both ends lie between theirs
            assertThat(c.earliestEpochNanos()).isBetween(before.earliestEpochNanos(), after.earliestEpochNanos());
            assertThat(c.latestEpochNanos()).isBetween(before.latestEpochNanos(), after.latestEpochNanos());
            assertThat(fields.get(2)).isEqualTo(ClockStatus.SYNCHRONIZED.code());
        }
    }

    @Test
    void refusesWhatTheJavaReaderRefuses() throws Exception {
        Path path = buildDir.resolve("refuse");
        try (SegmentWriter w = SegmentWriter.open(path)) {
            assertThat(run(binary.toString(), path.toString()).exitCode()).as("never published").isEqualTo(2);
            w.publish(liveSnapshot(ClockStatus.UNSYNCHRONIZED));
            assertThat(run(binary.toString(), path.toString()).exitCode()).isEqualTo(2);
            w.publish(liveSnapshot(ClockStatus.UNVERIFIED));
            assertThat(run(binary.toString(), path.toString()).exitCode()).isEqualTo(2);
            assertThat(run(binary.toString(), path.toString(), "--accept-unverified").exitCode()).isZero();
        }
        Path midWrite = new RawSegment().snapshot(7, 0, 0, 0, Long.MAX_VALUE / 2, 0, 1).writeTo(buildDir.resolve("odd"));
        assertThat(run(binary.toString(), midWrite.toString()).exitCode()).isEqualTo(2);
        Path wrongMagic = new RawSegment().magic(1).writeTo(buildDir.resolve("magic"));
        assertThat(run(binary.toString(), wrongMagic.toString()).output()).contains("wrong magic");
        Path v2 = new RawSegment().version(2).writeTo(buildDir.resolve("v2"));
        assertThat(run(binary.toString(), v2.toString()).output()).contains("version 2");
    }
}
