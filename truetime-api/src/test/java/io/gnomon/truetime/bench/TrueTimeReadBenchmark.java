package io.gnomon.truetime.bench;

import io.gnomon.truetime.ClockSnapshot;
import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.TimeInterval;
import io.gnomon.truetime.clockbound.ClockBoundLayout;
import io.gnomon.truetime.clockbound.ClockBoundSnapshot;
import io.gnomon.truetime.clockbound.ClockBoundTrueTime;
import io.gnomon.truetime.clockbound.ClockBoundWriter;
import io.gnomon.truetime.shm.SegmentWriter;
import io.gnomon.truetime.shm.ShmTrueTime;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.Blackhole;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * What one TrueTime read costs, next to the clock reads it is built from. Run with {@code bin/bench-truetime}.
 *
 * <p>Results are consumed as primitives (two longs, a boolean) so that escape analysis can remove the
 * {@link TimeInterval} and {@link Instant} records, as it does in an inlined caller; this is the fair
 * comparison with {@code Instant.now()} (../shared/TOOLCHAIN.md, "What a TrueTime read costs").
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class TrueTimeReadBenchmark {

    /** A segment published once: status SYNCHRONIZED, void-after a day away, a realistic offset and bound. */
    @State(Scope.Benchmark)
    public static class Segment {
        Path dir;
        SegmentWriter writer;
        ShmTrueTime tt;
        /** A timestamp an hour ago: after() is true, and must still be computed on every call. */
        long anHourAgoEpochNanos;

        @Setup(Level.Trial)
        public void setUp() throws IOException {
            dir = Files.createTempDirectory("gnomon-bench");
            writer = SegmentWriter.open(dir.resolve("truetime"));
            writer.publish(snapshotNow());
            tt = ShmTrueTime.open(writer.path());
            anHourAgoEpochNanos = tt.now().earliestEpochNanos() - TimeUnit.HOURS.toNanos(1);
        }

        @TearDown(Level.Trial)
        public void tearDown() throws IOException {
            writer.close();
            Files.deleteIfExists(writer.path());
            Files.deleteIfExists(dir);
        }
    }

    /** Like {@link Segment}, with a writer thread publishing a fresh snapshot 100 times a second, as clockd may. */
    @State(Scope.Benchmark)
    public static class SegmentUnderWrites extends Segment {
        ScheduledExecutorService publisher;

        @Setup(Level.Trial)
        public void startPublisher() {
            publisher = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "bench-publisher");
                t.setDaemon(true);
                return t;
            });
            publisher.scheduleAtFixedRate(() -> writer.publish(snapshotNow()), 10, 10, TimeUnit.MILLISECONDS);
        }

        @TearDown(Level.Trial)
        public void stopPublisher() throws InterruptedException {
            publisher.shutdownNow();
            publisher.awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    /** A ClockBound v2 segment published once: synchronized, void-after a day away, a 50 µs bound. */
    @State(Scope.Benchmark)
    public static class ClockBoundSegment {
        Path dir;
        ClockBoundWriter writer;
        ClockBoundTrueTime tt;

        @Setup(Level.Trial)
        public void setUp() throws IOException {
            dir = Files.createTempDirectory("gnomon-bench");
            writer = ClockBoundWriter.open(dir.resolve("shm0"));
            long asOf = System.nanoTime();
            writer.publish(new ClockBoundSnapshot(asOf, asOf + TimeUnit.DAYS.toNanos(1), 50_000L, 0, 200_000L,
                    ClockBoundLayout.STATUS_SYNCHRONIZED, false));
            tt = ClockBoundTrueTime.open(writer.path());
        }

        @TearDown(Level.Trial)
        public void tearDown() throws IOException {
            writer.close();
            Files.deleteIfExists(writer.path());
            Files.deleteIfExists(dir);
        }
    }

    static ClockSnapshot snapshotNow() {
        long monotonicNanos = System.nanoTime();
        Instant wall = Instant.now();
        long epochNanos = wall.getEpochSecond() * 1_000_000_000L + wall.getNano();
        return new ClockSnapshot(monotonicNanos, epochNanos - monotonicNanos, 50_000L, 200_000L,
                monotonicNanos + TimeUnit.DAYS.toNanos(1), ClockStatus.SYNCHRONIZED);
    }

    @Benchmark
    public void instantNow(Blackhole bh) {
        Instant now = Instant.now();
        bh.consume(now.getEpochSecond());
        bh.consume(now.getNano());
    }

    @Benchmark
    public long nanoTime() {
        return System.nanoTime();
    }

    @Benchmark
    public void shmNow(Segment s, Blackhole bh) {
        TimeInterval now = s.tt.now();
        bh.consume(now.earliestEpochNanos());
        bh.consume(now.latestEpochNanos());
    }

    @Benchmark
    public boolean shmAfter(Segment s) {
        return s.tt.after(s.anHourAgoEpochNanos);
    }

    /** TrueTime.now() through a ClockBound segment: one realtime and one monotonic read per call. */
    @Benchmark
    public void clockBoundNow(ClockBoundSegment s, Blackhole bh) {
        TimeInterval now = s.tt.now();
        bh.consume(now.earliestEpochNanos());
        bh.consume(now.latestEpochNanos());
    }

    @Benchmark
    public void shmNowUnderWrites(SegmentUnderWrites s, Blackhole bh) {
        TimeInterval now = s.tt.now();
        bh.consume(now.earliestEpochNanos());
        bh.consume(now.latestEpochNanos());
    }
}
