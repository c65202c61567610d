package io.gnomon.truetime.clockbound;

import io.gnomon.truetime.CProgram;
import io.gnomon.truetime.TimeInterval;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The C reader in src/test/c/clockbound_read.c was written from ClockBound's protocol document alone, with the
 * protocol's own clocks (CLOCK_REALTIME, then CLOCK_MONOTONIC_COARSE). It must agree with the Java reader on a
 * segment our writer laid out, and refuse what the Java reader refuses. Skipped without gcc.
 */
class ClockBoundCReaderTest {
    @TempDir static Path buildDir;
    static CProgram reader;

    /** How far CLOCK_MONOTONIC_COARSE may lag CLOCK_MONOTONIC in this test: a few ticks of 4 ms, generously. */
    static final long COARSE_LAG_NANOS = 50_000_000L;
    static final long DRIFT_PPB = 200_000;

    @BeforeAll
    static void compile() throws Exception {
        reader = CProgram.compile(Path.of("src/test/c/clockbound_read.c"), buildDir);
    }

    static long growth(long nanos) {
        return (nanos * DRIFT_PPB + 999_999_999L) / 1_000_000_000L;
    }

    @Test
    void agreesWithTheJavaReaderWithinTheGrowthSinceAsOf() throws Exception {
        Path path = buildDir.resolve("shm0");
        try (ClockBoundWriter w = ClockBoundWriter.open(path)) {
            // as-of a little in the past on the fine clock, so that it is not ahead of the C reader's coarse clock
            long asOf = System.nanoTime() - COARSE_LAG_NANOS;
            w.publish(new ClockBoundSnapshot(asOf, asOf + 60_000_000_000L, 30_000, 0, DRIFT_PPB, 1, false));
            ClockBoundTrueTime tt = ClockBoundTrueTime.open(path);

            TimeInterval before = tt.now();
            CProgram.Result r = reader.run(path.toString());
            TimeInterval after = tt.now();

            assertThat(r.exitCode()).as(r.output()).isZero();
            List<Long> f = r.numbers();
            TimeInterval c = new TimeInterval(f.get(0), f.get(1));
            assertThat(f.subList(2, 6)).containsExactly(1L, 2L, 30_000L, asOf);
            // the C reader read CLOCK_REALTIME between the two Java reads
            long mid = c.earliestEpochNanos() + c.epsilonNanos();
            assertThat(mid).isBetween(before.earliestEpochNanos() + before.epsilonNanos(),
                    after.earliestEpochNanos() + after.epsilonNanos());
            // its coarse clock is never ahead of the fine one, and lags it by less than COARSE_LAG_NANOS
            assertThat(c.epsilonNanos()).isLessThanOrEqualTo(after.epsilonNanos())
                    .isGreaterThanOrEqualTo(before.epsilonNanos() - growth(COARSE_LAG_NANOS));
        }
    }

    @Test
    void refusesWhatTheJavaReaderRefuses() throws Exception {
        long asOfSec = System.nanoTime() / 1_000_000_000L - 10;
        Path neverWritten = new RawClockBoundSegment().writeTo(buildDir.resolve("new"));
        assertThat(reader.run(neverWritten.toString()).exitCode()).isEqualTo(2);
        Path voided = new RawClockBoundSegment().generation(2)
                .bound(asOfSec, 0, asOfSec + 1, 0, 1000, 0, 1000, 1, false).writeTo(buildDir.resolve("void"));
        assertThat(reader.run(voided.toString()).output()).contains("void");
        Path midWrite = new RawClockBoundSegment().generation(3)
                .bound(asOfSec, 0, asOfSec + 1000, 0, 1000, 0, 1000, 1, false).writeTo(buildDir.resolve("odd"));
        assertThat(reader.run(midWrite.toString()).exitCode()).isEqualTo(2);
        Path disrupted = new RawClockBoundSegment().generation(2)
                .bound(asOfSec, 0, asOfSec + 1000, 0, 1000, 0, 1000, 3, false).writeTo(buildDir.resolve("disrupted"));
        assertThat(reader.run(disrupted.toString()).output()).contains("status 3");
        Path magic = new RawClockBoundSegment().magic(1, 2).writeTo(buildDir.resolve("magic"));
        assertThat(reader.run(magic.toString()).output()).contains("wrong magic");
        Path v3 = new RawClockBoundSegment().version(3).writeTo(buildDir.resolve("v3"));
        assertThat(reader.run(v3.toString()).output()).contains("version 3");
    }
}
