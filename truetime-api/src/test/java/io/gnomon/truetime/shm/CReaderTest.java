package io.gnomon.truetime.shm;

import io.gnomon.truetime.ClockSnapshot;
import io.gnomon.truetime.CProgram;
import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.TimeInterval;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The C reader in src/test/c was written from docs/shm-segment.md alone; if it agrees with ShmTrueTime on a
 * live segment, the document is enough to write a reader in another language. Skipped without gcc.
 */
class CReaderTest {

    @TempDir
    static Path buildDir;

    static CProgram reader;

    @BeforeAll
    static void compile() throws Exception {
        reader = CProgram.compile(Path.of("src/test/c/gnomon_truetime_read.c"), buildDir);
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
            CProgram.Result r = reader.run(path.toString());
            TimeInterval after = tt.now();

            assertThat(r.exitCode()).as(r.output()).isZero();
            List<Long> fields = r.numbers();
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
            assertThat(reader.run(path.toString()).exitCode()).as("never published").isEqualTo(2);
            w.publish(liveSnapshot(ClockStatus.UNSYNCHRONIZED));
            assertThat(reader.run(path.toString()).exitCode()).isEqualTo(2);
            w.publish(liveSnapshot(ClockStatus.UNVERIFIED));
            assertThat(reader.run(path.toString()).exitCode()).isEqualTo(2);
            assertThat(reader.run(path.toString(), "--accept-unverified").exitCode()).isZero();
        }
        Path midWrite = new RawSegment().snapshot(7, 0, 0, 0, Long.MAX_VALUE / 2, 0, 1).writeTo(buildDir.resolve("odd"));
        assertThat(reader.run(midWrite.toString()).exitCode()).isEqualTo(2);
        Path wrongMagic = new RawSegment().magic(1).writeTo(buildDir.resolve("magic"));
        assertThat(reader.run(wrongMagic.toString()).output()).contains("wrong magic");
        Path v2 = new RawSegment().version(2).writeTo(buildDir.resolve("v2"));
        assertThat(reader.run(v2.toString()).output()).contains("version 2");
    }
}
