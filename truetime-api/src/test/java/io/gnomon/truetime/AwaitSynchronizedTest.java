package io.gnomon.truetime;

import io.gnomon.truetime.clockbound.ClockBoundTrueTime;
import io.gnomon.truetime.grpc.GrpcTrueTime;
import io.gnomon.truetime.shm.SegmentWriter;
import io.gnomon.truetime.shm.ShmTrueTime;
import io.gnomon.truetime.testing.FakeTrueTime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class AwaitSynchronizedTest {

    @Test
    void returnsAtOnceWhenTheClockIsUsableAndTightEnough() throws Exception {
        FakeTrueTime tt = new FakeTrueTime(1_000_000_000L, 500_000);
        assertThat(tt.awaitSynchronized(Duration.ZERO, Duration.ofMillis(1)).epsilonNanos()).isEqualTo(500_000);
        assertThat(tt.awaitSynchronized(Duration.ZERO)).isEqualTo(tt.now());
    }

    @Test
    void timesOutNamingTheLastStatusAndEpsilon() {
        FakeTrueTime tt = new FakeTrueTime(1_000_000_000L, 3_000_000);
        assertThatThrownBy(() -> tt.awaitSynchronized(Duration.ofMillis(20), Duration.ofMillis(1)))
                .isInstanceOfSatisfying(ClockSyncTimeoutException.class, e -> {
                    assertThat(e.lastStatus()).isEqualTo(ClockStatus.SYNCHRONIZED);
                    assertThat(e.lastEpsilonNanos()).isEqualTo(3_000_000);
                    assertThat(e).hasMessageContaining("last status SYNCHRONIZED, ε 3.0 ms")
                            .hasMessageContaining("ε <= 1.0 ms within 20.0 ms");
                });
        tt.setStatus(ClockStatus.UNSYNCHRONIZED);
        assertThatThrownBy(() -> tt.awaitSynchronized(Duration.ZERO))
                .isInstanceOfSatisfying(ClockSyncTimeoutException.class, e -> {
                    assertThat(e.lastStatus()).isEqualTo(ClockStatus.UNSYNCHRONIZED);
                    assertThat(e.lastEpsilonNanos()).isEqualTo(-1);
                    assertThat(e).hasMessageContaining("ε none");
                    // no maximum ε asked: none is printed (it once read "ε <= 9223372036.9 s")
                    assertThat(e).hasMessageStartingWith("TrueTime not usable within 0 ns: ");
                });
    }

    @Test
    void waitsUntilAnotherThreadMakesTheClockUsable() throws Exception {
        FakeTrueTime tt = new FakeTrueTime(1_000_000_000L, 5_000_000);
        tt.setStatus(ClockStatus.UNSYNCHRONIZED);
        CompletableFuture<TimeInterval> waiting = CompletableFuture.supplyAsync(() -> {
            try {
                return tt.awaitSynchronized(Duration.ofMinutes(1), Duration.ofMillis(1));
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        tt.setStatus(ClockStatus.SYNCHRONIZED);   // usable, still too wide
        tt.setEpsilonNanos(800_000);               // now tight enough
        assertThat(waiting.get(30, TimeUnit.SECONDS).epsilonNanos()).isEqualTo(800_000);
    }

    @Test
    void trueTimesOpensEachKindOfSource(@TempDir Path dir) throws Exception {
        try (SegmentWriter w = SegmentWriter.open(dir.resolve("gnomon"))) {
            assertThat(TrueTimes.open("gnomon:" + w.path())).isInstanceOf(ShmTrueTime.class);
            assertThat(TrueTimes.open(w.path().toString())).isInstanceOf(ShmTrueTime.class);
        }
        try (var w = io.gnomon.truetime.clockbound.ClockBoundWriter.open(dir.resolve("cb"))) {
            assertThat(TrueTimes.open("clockbound:" + w.path())).isInstanceOf(ClockBoundTrueTime.class);
        }
        TrueTime grpc = TrueTimes.open("grpc:127.0.0.1:1");
        assertThat(grpc).isInstanceOf(GrpcTrueTime.class);
        ((GrpcTrueTime) grpc).close();
        assertThatThrownBy(() -> TrueTimes.open("clockbound:")).hasMessageContaining("names no path");
        // a word and a colon is a kind of source, never a file name; real paths with a colon still open
        assertThatThrownBy(() -> TrueTimes.open("foo:bar")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("unknown TrueTime source kind 'foo' in 'foo:bar' (known: gnomon, clockbound, grpc;");
        Path colon = Files.createDirectories(dir.resolve("a:b"));
        try (SegmentWriter w = SegmentWriter.open(colon.resolve("seg"))) {
            assertThat(TrueTimes.open(w.path().toString())).isInstanceOf(ShmTrueTime.class);
            assertThat(TrueTimes.open("gnomon:" + w.path())).isInstanceOf(ShmTrueTime.class);
        }
        assertThatThrownBy(() -> TrueTimes.open("grpc:host:notaport")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("'host:notaport' is not HOST:PORT");
        assertThatThrownBy(() -> TrueTimes.open("clockbound:" + dir.resolve("none")))
                .hasMessageContaining("no ClockBound segment");
    }
}
