package io.gnomon.truetime.shm;

import io.gnomon.truetime.ClockSnapshot;
import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.ClockUnavailableException;
import io.gnomon.truetime.TimeInterval;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class ShmTrueTimeTest {

    private static final long AS_OF = 5_000_000_000L;                  // monotonic: 5 s after boot
    private static final long OFFSET = 1_767_225_600_000_000_000L;     // epoch minus monotonic: 2026-01-01
    private static final long BOUND = 20_000L;                         // 20 us at as-of
    private static final long DRIFT_PPB = 200_000L;                    // 200 ppm
    private static final long VOID_AFTER = AS_OF + 60_000_000_000L;    // a minute after as-of

    @TempDir
    Path dir;

    private final ManualClock clock = new ManualClock(AS_OF);

    private SegmentWriter writerWith(ClockStatus status) throws IOException {
        SegmentWriter w = SegmentWriter.open(dir.resolve("truetime"));
        w.publish(new ClockSnapshot(AS_OF, OFFSET, BOUND, DRIFT_PPB, VOID_AFTER, status));
        return w;
    }

    private ShmTrueTime reader(SegmentWriter w) throws IOException {
        return ShmTrueTime.open(w.path(), clock, false);
    }

    @Test
    void intervalIsTheHandComputedExtrapolation() throws IOException {
        try (SegmentWriter w = writerWith(ClockStatus.SYNCHRONIZED)) {
            ShmTrueTime tt = reader(w);
            assertThat(tt.now()).isEqualTo(new TimeInterval(OFFSET + AS_OF - BOUND, OFFSET + AS_OF + BOUND));

            // 2.5 s later: midpoint moves 2.5 s, bound grows by 2.5 s * 200 ppm = 500 us
            clock.set(AS_OF + 2_500_000_000L);
            assertThat(tt.now()).isEqualTo(new TimeInterval(
                    1_767_225_607_499_480_000L,   // 2026-01-01 + 7.5 s - 520 us
                    1_767_225_607_500_520_000L)); // 2026-01-01 + 7.5 s + 520 us
            assertThat(tt.now().epsilonNanos()).isEqualTo(520_000L);

            // 1 ns later: 1 ns * 200 ppm rounds up to a whole nanosecond of growth
            clock.set(AS_OF + 1);
            assertThat(tt.now().epsilonNanos()).isEqualTo(BOUND + 1);
        }
    }

    @Test
    void boundGrowsByTheDriftOnBothSidesOfAsOf() throws IOException {
        try (SegmentWriter w = writerWith(ClockStatus.FREE_RUNNING)) {
            ShmTrueTime tt = reader(w);
            for (int seconds = 0; seconds <= 50; seconds += 10) {
                clock.set(AS_OF + seconds * 1_000_000_000L);
                TimeInterval now = tt.now();
                assertThat(now.epsilonNanos()).isEqualTo(BOUND + seconds * 200_000L);
                assertThat(now.contains(OFFSET + clock.nanoTime())).isTrue();
            }
            // a reading before as-of (another core's clock, or a test clock) is as uncertain as one after it
            clock.set(AS_OF - 3_000_000_000L);
            assertThat(tt.now().epsilonNanos()).isEqualTo(BOUND + 600_000L);
        }
    }

    @Test
    void afterAndBeforeOnBothSidesOfTheInterval() throws IOException {
        try (SegmentWriter w = writerWith(ClockStatus.SYNCHRONIZED)) {
            ShmTrueTime tt = reader(w);
            long earliest = tt.now().earliestEpochNanos();
            long latest = tt.now().latestEpochNanos();

            assertThat(tt.after(earliest - 1)).isTrue();
            assertThat(tt.after(earliest)).isFalse();
            assertThat(tt.after(latest)).isFalse();
            assertThat(tt.after(latest + 1)).isFalse();

            assertThat(tt.before(latest + 1)).isTrue();
            assertThat(tt.before(latest)).isFalse();
            assertThat(tt.before(earliest)).isFalse();
            assertThat(tt.before(earliest - 1)).isFalse();
        }
    }

    @Test
    void refusesUnsynchronized() throws IOException {
        try (SegmentWriter w = writerWith(ClockStatus.UNSYNCHRONIZED)) {
            ShmTrueTime tt = reader(w);
            ClockUnavailableException e = catchThrowableOfType(ClockUnavailableException.class, tt::now);
            assertThat(e.status()).isEqualTo(ClockStatus.UNSYNCHRONIZED);
            assertThat(e).hasMessageContaining("status UNSYNCHRONIZED").hasMessageContaining("majority");
            assertThat(tt.status()).isEqualTo(ClockStatus.UNSYNCHRONIZED);
            assertThatThrownBy(() -> tt.after(0)).isInstanceOf(ClockUnavailableException.class);
            assertThatThrownBy(() -> tt.before(0)).isInstanceOf(ClockUnavailableException.class);
        }
    }

    @Test
    void refusesADisruptedClockSayingWhy() throws IOException {
        Path p = new RawSegment().snapshot(2, AS_OF, OFFSET, BOUND, VOID_AFTER, DRIFT_PPB, ClockStatus.DISRUPTED.code())
                .writeTo(dir.resolve("disrupted"));
        ShmTrueTime tt = ShmTrueTime.open(p, clock, true);
        ClockUnavailableException e = catchThrowableOfType(ClockUnavailableException.class, tt::now);
        assertThat(e.status()).isEqualTo(ClockStatus.DISRUPTED);
        assertThat(e).hasMessageContaining("suspend");
        assertThat(tt.status()).isEqualTo(ClockStatus.DISRUPTED);
    }

    @Test
    void refusesUnknownAndCodesFromANewerWriter() throws IOException {
        for (int code : new int[]{0, 6, 99, -1}) {
            Path p = new RawSegment().snapshot(2, AS_OF, OFFSET, BOUND, VOID_AFTER, DRIFT_PPB, code)
                    .writeTo(dir.resolve("code" + code));
            ShmTrueTime tt = ShmTrueTime.open(p, clock, true);
            ClockUnavailableException e = catchThrowableOfType(ClockUnavailableException.class, tt::now);
            assertThat(e.status()).as("code %d", code).isEqualTo(ClockStatus.UNKNOWN);
            assertThat(e).hasMessageContaining("usable snapshot");
            assertThat(tt.status()).isEqualTo(ClockStatus.UNKNOWN);
        }
    }

    @Test
    void refusesUnverifiedUnlessOpenedAcceptingIt() throws IOException {
        try (SegmentWriter w = writerWith(ClockStatus.UNVERIFIED)) {
            ShmTrueTime strict = reader(w);
            ClockUnavailableException e = catchThrowableOfType(ClockUnavailableException.class, strict::now);
            assertThat(e.status()).isEqualTo(ClockStatus.UNVERIFIED);
            assertThat(e).hasMessageContaining("no time source configured");

            ShmTrueTime lenient = ShmTrueTime.open(w.path(), clock, true);
            assertThat(lenient.now()).isEqualTo(new TimeInterval(OFFSET + AS_OF - BOUND, OFFSET + AS_OF + BOUND));
            assertThat(lenient.status()).isEqualTo(ClockStatus.UNVERIFIED);
        }
    }

    @Test
    void refusesASnapshotPastVoidAfter() throws IOException {
        try (SegmentWriter w = writerWith(ClockStatus.SYNCHRONIZED)) {
            ShmTrueTime tt = reader(w);
            clock.set(VOID_AFTER);
            assertThat(tt.now().epsilonNanos()).isEqualTo(BOUND + 60L * 200_000L); // the last usable instant
            assertThat(tt.status()).isEqualTo(ClockStatus.SYNCHRONIZED);

            clock.set(VOID_AFTER + 1);
            ClockUnavailableException e = catchThrowableOfType(ClockUnavailableException.class, tt::now);
            assertThat(e.status()).isEqualTo(ClockStatus.UNKNOWN);
            assertThat(e).hasMessageContaining("void").hasMessageContaining(w.path().toString());
            assertThat(tt.status()).isEqualTo(ClockStatus.UNKNOWN);

            // the daemon comes back and refreshes it
            w.publish(new ClockSnapshot(VOID_AFTER, OFFSET, BOUND, DRIFT_PPB, VOID_AFTER + 1_000_000_000L,
                    ClockStatus.SYNCHRONIZED));
            assertThat(tt.now().epsilonNanos()).isEqualTo(BOUND + 1);
        }
    }

    @Test
    void aVoidSnapshotSaysTheDaemonStoppedWithItsAgeWhateverItsLastStatus() throws IOException {
        // clockd on its local default (UNVERIFIED) stops: the diagnosis is "stopped", not "no source configured"
        try (SegmentWriter w = writerWith(ClockStatus.UNVERIFIED)) {
            ShmTrueTime tt = reader(w);
            clock.set(VOID_AFTER + 12_300_000_000L);
            ClockUnavailableException e = catchThrowableOfType(ClockUnavailableException.class, tt::now);
            assertThat(e.status()).isEqualTo(ClockStatus.UNKNOWN);
            assertThat(e).hasMessage("TrueTime is not usable (status UNKNOWN): " + w.path() + ": snapshot is void: "
                    + "clockd (pid " + ProcessHandle.current().pid() + ") stopped publishing; its last update is "
                    + "72.3 s old, void after 60.0 s (last status UNVERIFIED); is clockd running?");
            assertThat(e.getMessage()).doesNotContain("no time source configured");
        }
    }

    @Test
    void refusesAFreshSegmentThatWasNeverPublished() throws IOException {
        try (SegmentWriter w = SegmentWriter.open(dir.resolve("truetime"))) {
            ShmTrueTime tt = reader(w);
            ClockUnavailableException e = catchThrowableOfType(ClockUnavailableException.class, tt::now);
            assertThat(e.status()).isEqualTo(ClockStatus.UNKNOWN);
            assertThat(e).hasMessageContaining("has not published into it yet");
            assertThat(tt.status()).isEqualTo(ClockStatus.UNKNOWN);
            assertThat(tt.snapshotOrNull()).isNull();
            assertThat(tt.sequence()).isZero();
        }
    }

    @Test
    void refusesCorruptFieldsEvenWithAUsableStatus() throws IOException {
        Path p = new RawSegment().snapshot(2, AS_OF, OFFSET, -5, VOID_AFTER, DRIFT_PPB, 1).writeTo(dir.resolve("neg"));
        ShmTrueTime tt = ShmTrueTime.open(p, clock, false);
        ClockUnavailableException e = catchThrowableOfType(ClockUnavailableException.class, tt::now);
        assertThat(e.status()).isEqualTo(ClockStatus.UNKNOWN);
        assertThat(e).hasMessageContaining("corrupt");
        assertThat(tt.status()).isEqualTo(ClockStatus.UNKNOWN);

        Path q = new RawSegment().snapshot(2, AS_OF, OFFSET, BOUND, VOID_AFTER, 100_000_001L, 1)
                .writeTo(dir.resolve("drift"));
        assertThat(catchThrowableOfType(ClockUnavailableException.class, ShmTrueTime.open(q, clock, false)::now))
                .hasMessageContaining("corrupt");
    }

    /** A writer killed between making the sequence odd and making it even again leaves it odd for good. */
    @Test
    void aSegmentLeftMidWriteIsRefusedAfterBoundedRetries() throws IOException {
        try (SegmentWriter w = writerWith(ClockStatus.SYNCHRONIZED)) {
            ShmTrueTime tt = reader(w);
            assertThat(tt.now()).isNotNull(); // a good read first, so the reader has something it could reuse

            MappedByteBuffer raw = RawSegment.mapReadWrite(w.path());
            long seq = raw.getLong(8);
            raw.putLong(8, seq + 1); // odd: mid-write, forever

            ClockUnavailableException e = catchThrowableOfType(ClockUnavailableException.class, tt::now);
            assertThat(e.status()).isEqualTo(ClockStatus.UNKNOWN);
            assertThat(e).hasMessageContaining("mid-write").hasMessageContaining(String.valueOf(ShmTrueTime.MAX_READ_ATTEMPTS));
            assertThat(tt.status()).isEqualTo(ClockStatus.UNKNOWN);
            assertThat(tt.snapshotOrNull()).isNull();
            assertThatThrownBy(() -> tt.after(0)).isInstanceOf(ClockUnavailableException.class);

            // the write completes (a restarted writer publishes): readers recover without reopening
            raw.putLong(8, seq + 2);
            assertThat(tt.now()).isEqualTo(new TimeInterval(OFFSET + AS_OF - BOUND, OFFSET + AS_OF + BOUND));
        }
    }

    /**
     * A live writer that the scheduler preempts between its two sequence stores stalls a write for a
     * quantum (milliseconds). Readers must wait for it, not report a dead writer.
     */
    @Test
    void aWriterPreemptedMidWriteIsWaitedForNotReportedDead() throws Exception {
        try (SegmentWriter w = writerWith(ClockStatus.SYNCHRONIZED)) {
            ShmTrueTime tt = reader(w);
            MappedByteBuffer raw = RawSegment.mapReadWrite(w.path());
            long seq = raw.getLong(8);
            raw.putLong(8, seq + 1); // the write begins

            java.util.concurrent.atomic.AtomicReference<Object> outcome = new java.util.concurrent.atomic.AtomicReference<>();
            Thread reader = new Thread(() -> {
                try {
                    outcome.set(tt.now());
                } catch (Throwable e) {
                    outcome.set(e);
                }
            }, "reader");
            reader.start();
            // the reader has spun and is now backing off, still inside now(). Watched in a tight loop, not
            // polled: its whole budget is about 20 ms, shorter than Awaitility's default poll interval.
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (reader.getState() != Thread.State.TIMED_WAITING && reader.isAlive() && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            assertThat(outcome.get()).as("gave up too soon").isNull();

            raw.putLong(32, BOUND * 7);
            raw.putLong(8, seq + 2); // the write completes

            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).until(() -> !reader.isAlive());
            assertThat(outcome.get()).isEqualTo(TimeInterval.around(OFFSET + AS_OF, BOUND * 7));
        }
    }

    @Test
    void readsASegmentLaidOutByteByByteFromTheDocument() throws IOException {
        Path p = new RawSegment().snapshot(42, AS_OF, OFFSET, BOUND, VOID_AFTER, DRIFT_PPB, 2).writeTo(dir.resolve("raw"));
        ShmTrueTime tt = ShmTrueTime.open(p, clock, false);
        clock.set(AS_OF + 1_000_000_000L);
        assertThat(tt.now()).isEqualTo(TimeInterval.around(OFFSET + AS_OF + 1_000_000_000L, BOUND + 200_000L));
        assertThat(tt.status()).isEqualTo(ClockStatus.FREE_RUNNING);
        assertThat(tt.sequence()).isEqualTo(42);
        assertThat(tt.writerPid()).isEqualTo(4242);
        assertThat(tt.snapshotOrNull()).isEqualTo(
                new ClockSnapshot(AS_OF, OFFSET, BOUND, DRIFT_PPB, VOID_AFTER, ClockStatus.FREE_RUNNING));
    }

    @Test
    void theWriterLaysOutTheDocumentedBytes() throws IOException {
        try (SegmentWriter w = writerWith(ClockStatus.FREE_RUNNING)) {
            byte[] b = Files.readAllBytes(w.path());
            java.nio.ByteBuffer le = java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            assertThat(b).hasSize(128);
            assertThat(new String(b, 0, 4, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("GNMN");
            assertThat(le.getShort(4)).isEqualTo((short) 1);
            assertThat(le.getShort(6)).isEqualTo((short) 128);
            assertThat(le.getLong(8)).isEqualTo(2);
            assertThat(le.getLong(16)).isEqualTo(AS_OF);
            assertThat(le.getLong(24)).isEqualTo(OFFSET);
            assertThat(le.getLong(32)).isEqualTo(BOUND);
            assertThat(le.getLong(40)).isEqualTo(VOID_AFTER);
            assertThat(le.getLong(48)).isEqualTo(DRIFT_PPB);
            assertThat(le.getInt(56)).isEqualTo(2);
            assertThat(le.getInt(60)).isEqualTo((int) ProcessHandle.current().pid());
            for (int i = 64; i < 128; i++) {
                assertThat(b[i]).as("reserved byte %d", i).isZero();
            }
        }
    }

    @Test
    void openOfAMissingFileSaysSo() {
        Path missing = dir.resolve("nope");
        assertThatThrownBy(() -> ShmTrueTime.open(missing))
                .isInstanceOf(IOException.class)
                .hasMessageContaining(missing.toString())
                .hasMessageContaining("no TrueTime segment");
    }

    @Test
    void openOfAShortFileSaysSo() throws IOException {
        Path empty = new RawSegment().writeTo(dir.resolve("empty"), 0);
        assertThatThrownBy(() -> ShmTrueTime.open(empty))
                .isInstanceOf(IOException.class).hasMessageContaining("segment is 0 bytes, expected at least 128");
        Path shortFile = new RawSegment().snapshot(2, AS_OF, OFFSET, BOUND, VOID_AFTER, DRIFT_PPB, 1)
                .writeTo(dir.resolve("short"), 64);
        assertThatThrownBy(() -> ShmTrueTime.open(shortFile))
                .isInstanceOf(IOException.class).hasMessageContaining("segment is 64 bytes, expected at least 128");
    }

    @Test
    void openOfAWrongMagicSaysSo() throws IOException {
        Path p = new RawSegment().magic(0x12345678).writeTo(dir.resolve("magic"));
        assertThatThrownBy(() -> ShmTrueTime.open(p))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("wrong magic 0x12345678, expected 0x4e4d4e47")
                .hasMessageContaining("not a Gnomon TrueTime segment");
        // the same letters in big-endian order are not the magic either
        Path be = new RawSegment().magic(0x474E4D4E).writeTo(dir.resolve("be"));
        assertThatThrownBy(() -> ShmTrueTime.open(be)).isInstanceOf(IOException.class).hasMessageContaining("wrong magic");
    }

    @Test
    void openOfANewerVersionSaysSo() throws IOException {
        Path p = new RawSegment().version(2).writeTo(dir.resolve("v2"));
        assertThatThrownBy(() -> ShmTrueTime.open(p))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("layout version 2, this reader supports 1")
                .hasMessageContaining("upgrade truetime-api");
    }

    /** clockd restarts: the new writer reuses the file, continues the sequence, and old readers see it. */
    @Test
    void aRestartedWriterContinuesTheSequenceAndMappedReadersFollow() throws IOException {
        Path path = dir.resolve("truetime");
        SegmentWriter first = SegmentWriter.open(path);
        first.publish(new ClockSnapshot(AS_OF, OFFSET, BOUND, DRIFT_PPB, VOID_AFTER, ClockStatus.SYNCHRONIZED));
        first.publish(new ClockSnapshot(AS_OF, OFFSET, BOUND * 2, DRIFT_PPB, VOID_AFTER, ClockStatus.SYNCHRONIZED));
        first.close();
        Object inode = Files.getAttribute(path, "unix:ino");

        ShmTrueTime tt = ShmTrueTime.open(path, clock, false);
        assertThat(tt.sequence()).isEqualTo(4);
        assertThat(tt.now().epsilonNanos()).isEqualTo(BOUND * 2);

        try (SegmentWriter second = SegmentWriter.open(path)) {
            assertThat(Files.getAttribute(path, "unix:ino")).as("same file, not a replacement").isEqualTo(inode);
            assertThat(tt.sequence()).isEqualTo(4);                     // opening does not disturb readers
            assertThat(tt.now().epsilonNanos()).isEqualTo(BOUND * 2);

            second.publish(new ClockSnapshot(AS_OF + 7, OFFSET - 7, BOUND * 3, DRIFT_PPB, VOID_AFTER,
                    ClockStatus.FREE_RUNNING));
            assertThat(tt.sequence()).isEqualTo(6);
            clock.set(AS_OF + 7);
            assertThat(tt.now()).isEqualTo(TimeInterval.around(OFFSET + AS_OF, BOUND * 3));
            assertThat(tt.status()).isEqualTo(ClockStatus.FREE_RUNNING);
        }
    }

    @Test
    void aWriterRestartedAfterDyingMidWriteStillMovesTheSequenceForward() throws IOException {
        Path path = dir.resolve("truetime");
        try (SegmentWriter w = SegmentWriter.open(path)) {
            w.publish(new ClockSnapshot(AS_OF, OFFSET, BOUND, DRIFT_PPB, VOID_AFTER, ClockStatus.SYNCHRONIZED));
        }
        RawSegment.mapReadWrite(path).putLong(8, 7); // died mid-write at sequence 7
        ShmTrueTime tt = ShmTrueTime.open(path, clock, false);
        assertThatThrownBy(tt::now).isInstanceOf(ClockUnavailableException.class);

        try (SegmentWriter w = SegmentWriter.open(path)) {
            w.publish(new ClockSnapshot(AS_OF, OFFSET, BOUND, DRIFT_PPB, VOID_AFTER, ClockStatus.SYNCHRONIZED));
            assertThat(tt.sequence()).isEven().isGreaterThan(7);
            assertThat(tt.now().epsilonNanos()).isEqualTo(BOUND);
        }
    }

    @Test
    void aWriterReplacesAnInvalidFileAtomicallyAndLeavesNothingAside() throws IOException {
        Path path = new RawSegment().magic(0xDEADBEEF).writeTo(dir.resolve("truetime"));
        try (SegmentWriter w = SegmentWriter.open(path)) {
            ShmTrueTime tt = reader(w); // a valid header at once, before any publication
            assertThat(tt.sequence()).isZero();
        }
        try (var files = Files.list(dir)) {
            assertThat(files).containsExactly(path);
        }
    }
}
