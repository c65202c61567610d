package io.gnomon.truetime.clockbound;

import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.ClockUnavailableException;
import io.gnomon.truetime.TimeInterval;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The Java reader against segments laid out byte by byte from ClockBound's protocol document. */
class ClockBoundTrueTimeTest {
    @TempDir Path dir;

    final AtomicLong monotonic = new AtomicLong(100_000_000_000L);  // 100 s after boot
    final AtomicLong realtime = new AtomicLong(1_800_000_000_000_000_000L);

    ClockBoundTrueTime open(RawClockBoundSegment raw) throws IOException {
        return ClockBoundTrueTime.open(raw.writeTo(dir.resolve("shm0")), monotonic::get, realtime::get);
    }

    /** as-of 99.5 s, void-after 1099.5 s, bound 20 µs, 50 ppm, the given status. */
    static RawClockBoundSegment synchronizedAt(int status) {
        return new RawClockBoundSegment().generation(10)
                .bound(99, 500_000_000, 1099, 500_000_000, 20_000, 0, 50_000, status, false);
    }

    @Test
    void decodesTheIntervalAroundTheSystemClockGrownByTheDriftSinceAsOf() throws IOException {
        ClockBoundTrueTime tt = open(synchronizedAt(1));

        // 0.5 s after as-of at 50 ppm: 25 µs of growth on top of the 20 µs bound
        TimeInterval now = tt.now();
        assertThat(now).isEqualTo(new TimeInterval(realtime.get() - 45_000, realtime.get() + 45_000));
        assertThat(tt.status()).isEqualTo(ClockStatus.SYNCHRONIZED);

        ClockBoundSnapshot s = tt.snapshotOrNull();
        assertThat(s).isEqualTo(new ClockBoundSnapshot(99_500_000_000L, 1_099_500_000_000L, 20_000, 0, 50_000, 1, false));
    }

    @Test
    void aRealtimeStepMovesTheIntervalWithTheSystemClockItIsRelativeTo() throws IOException {
        ClockBoundTrueTime tt = open(synchronizedAt(1));
        long before = tt.now().earliestEpochNanos();
        realtime.addAndGet(3_000_000_000L);
        assertThat(tt.now().earliestEpochNanos() - before).isEqualTo(3_000_000_000L);
    }

    @Test
    void mapsEachClockBoundStatus() throws IOException {
        assertThat(open(synchronizedAt(2)).status()).isEqualTo(ClockStatus.FREE_RUNNING);
        assertThat(open(synchronizedAt(2)).now().epsilonNanos()).isEqualTo(45_000);
        for (int code : new int[] {0, 3, 4, -1}) {
            ClockBoundTrueTime tt = open(synchronizedAt(code));
            ClockStatus expected = code == 3 ? ClockStatus.DISRUPTED : ClockStatus.UNKNOWN;
            assertThat(tt.status()).as("code %d", code).isEqualTo(expected);
            assertThatThrownBy(tt::now).isInstanceOfSatisfying(ClockUnavailableException.class,
                    e -> assertThat(e.status()).isEqualTo(expected));
        }
    }

    @Test
    void synchronizedTurnsFreeRunningAfterTheGracePeriodAsClockBoundClientsReportIt() throws IOException {
        ClockBoundTrueTime tt = open(synchronizedAt(1));
        monotonic.set(99_500_000_000L + ClockBoundTrueTime.RESTART_GRACE_NANOS + 1);
        assertThat(tt.status()).isEqualTo(ClockStatus.FREE_RUNNING);
        assertThat(tt.now().epsilonNanos()).isGreaterThan(20_000);
    }

    @Test
    void aVoidAfterInThePastIsUnknownAndRefused() throws IOException {
        ClockBoundTrueTime tt = open(new RawClockBoundSegment().generation(4)
                .bound(90, 0, 99, 999_999_999, 20_000, 0, 50_000, 1, false));
        assertThat(tt.status()).isEqualTo(ClockStatus.UNKNOWN);
        assertThatThrownBy(tt::now).isInstanceOf(ClockUnavailableException.class).hasMessageContaining("void");
        monotonic.set(99_999_999_998L); // one nanosecond before void-after: still usable
        assertThat(tt.now().epsilonNanos()).isEqualTo(20_000 + 500_000);
    }

    @Test
    void aSegmentCaughtMidWriteIsRefusedAfterBoundedRetries() throws IOException {
        ClockBoundTrueTime tt = open(synchronizedAt(1).generation(11));
        assertThatThrownBy(tt::now).isInstanceOf(ClockUnavailableException.class).hasMessageContaining("mid-write");
        assertThat(tt.status()).isEqualTo(ClockStatus.UNKNOWN);
        assertThat(tt.snapshotOrNull()).isNull();
    }

    @Test
    void neverWrittenIsUnknown() throws IOException {
        ClockBoundTrueTime tt = open(synchronizedAt(1).generation(0));
        assertThat(tt.status()).isEqualTo(ClockStatus.UNKNOWN);
        assertThatThrownBy(tt::now).hasMessageContaining("nothing published yet");
    }

    @Test
    void refusesToOpenWhatIsNotAVersion2Segment() throws IOException {
        assertThatThrownBy(() -> open(synchronizedAt(1).magic(0xdeadbeef, 0x0badcafe)))
                .isInstanceOf(IOException.class).hasMessageContaining("wrong magic");
        // the protocol's bytes in file order, read as words, are not the magic on a little-endian host
        byte[] literal = {0x41, 0x4D, 0x5A, 0x4E, 0x43, 0x42, 0x02, 0x00};
        RawClockBoundSegment asListed = synchronizedAt(1);
        asListed.bytes.put(0, literal);
        if (java.nio.ByteOrder.nativeOrder() == java.nio.ByteOrder.LITTLE_ENDIAN) {
            assertThatThrownBy(() -> open(asListed)).hasMessageContaining("wrong magic");
        }
        assertThatThrownBy(() -> open(synchronizedAt(1).version(3)))
                .isInstanceOf(IOException.class).hasMessageContaining("version 3").hasMessageContaining("upgrade");
        assertThatThrownBy(() -> open(synchronizedAt(1).version(0))).hasMessageContaining("not initialised");
        Path shortFile = Files.write(dir.resolve("short"), new byte[40]);
        assertThatThrownBy(() -> ClockBoundTrueTime.open(shortFile)).hasMessageContaining("40 bytes");
        assertThatThrownBy(() -> ClockBoundTrueTime.open(dir.resolve("missing"))).hasMessageContaining("no ClockBound segment");
    }

    @Test
    void theWriterLaysOutExactlyTheDocumentedBytes() throws IOException {
        Path path = dir.resolve("written");
        try (ClockBoundWriter w = ClockBoundWriter.open(path)) {
            assertThat(Files.readAllBytes(path)).isEqualTo(new RawClockBoundSegment().array());
            w.publish(new ClockBoundSnapshot(99_500_000_000L, 1_099_500_000_000L, 20_000, 7, 50_000, 2, true));
        }
        assertThat(Files.readAllBytes(path)).isEqualTo(new RawClockBoundSegment().generation(2)
                .bound(99, 500_000_000, 1099, 500_000_000, 20_000, 7, 50_000, 2, true).array());
    }

    @Test
    void theGenerationSkipsZeroWhenItWrapsAndResumesAfterARestart() throws IOException {
        assertThat(ClockBoundWriter.nextGeneration(0)).isEqualTo(2);
        assertThat(ClockBoundWriter.nextGeneration(65532)).isEqualTo(65534);
        assertThat(ClockBoundWriter.nextGeneration(65534)).isEqualTo(2);

        Path path = synchronizedAt(1).generation(65534).writeTo(dir.resolve("wrap"));
        try (ClockBoundWriter w = ClockBoundWriter.open(path)) {
            assertThat(w.generation()).as("reused, not re-created").isEqualTo(65534);
            w.publish(new ClockBoundSnapshot(99_500_000_000L, 1_099_500_000_000L, 1, 0, 0, 1, false));
            assertThat(w.generation()).isEqualTo(2);
        }
        // A writer that died mid-write left an odd generation: the next one writes from it and ends even.
        Path odd = synchronizedAt(1).generation(9).writeTo(dir.resolve("odd"));
        try (ClockBoundWriter w = ClockBoundWriter.open(odd)) {
            w.publish(new ClockBoundSnapshot(99_500_000_000L, 1_099_500_000_000L, 1, 0, 0, 1, false));
            assertThat(w.generation()).isEqualTo(10);
            assertThat(ClockBoundTrueTime.open(odd, monotonic::get, realtime::get).now().epsilonNanos()).isEqualTo(1);
        }
    }

    @Test
    void aGenerationThatWrappedBackToTheCachedValueIsReadAgainBeforeRefusing() throws IOException {
        Path path = dir.resolve("aba");
        try (ClockBoundWriter w = ClockBoundWriter.open(path)) {
            w.publish(new ClockBoundSnapshot(90_000_000_000L, 99_000_000_000L, 1_000, 0, 0, 1, false)); // gen 2, void
            ClockBoundTrueTime tt = ClockBoundTrueTime.open(path, monotonic::get, realtime::get);
            assertThatThrownBy(tt::now).hasMessageContaining("void");
            for (int i = 0; i < 32_767; i++) { // 32 767 more publications wrap the generation back to 2
                w.publish(new ClockBoundSnapshot(99_000_000_000L, 199_000_000_000L, 2_000, 0, 0, 1, false));
            }
            assertThat(w.generation()).isEqualTo(2);
            assertThat(tt.now().epsilonNanos()).isEqualTo(2_000);
        }
    }
}
