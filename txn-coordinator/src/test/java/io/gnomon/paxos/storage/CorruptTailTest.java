package io.gnomon.paxos.storage;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.gnomon.paxos.Ballot;
import io.gnomon.paxos.storage.DurableLog.Entry;
import io.gnomon.paxos.storage.DurableLog.Recovered;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A log whose newest records were damaged: recovery keeps every record before the first bad one, says in one
 * line what it dropped and where, and repairs the directory so that later appends are not lost behind it.
 */
class CorruptTailTest {

    /** Bytes of a one-entry ACCEPTED record before its value: frame header 6, count 4, slot 8, ballot 12, length 4. */
    private static final int VALUE_OFFSET_IN_RECORD = 6 + 4 + 8 + 12 + 4;

    @TempDir
    Path dir;

    private ListAppender<ILoggingEvent> logged;
    private Logger logger;

    @BeforeEach
    void captureLog() {
        logger = (Logger) LoggerFactory.getLogger(ChronicleDurableLog.class);
        logged = new ListAppender<>();
        logged.start();
        logger.addAppender(logged);
    }

    @AfterEach
    void releaseLog() {
        logger.detachAppender(logged);
    }

    private List<String> warnings() {
        return logged.list.stream().filter(e -> e.getLevel().toString().equals("WARN"))
                .map(ILoggingEvent::getFormattedMessage).toList();
    }

    private ChronicleDurableLog open() throws IOException {
        return ChronicleDurableLog.open(dir, SyncPolicy.SYNC_EACH_BATCH, LogLimits.DEFAULTS);
    }

    static Entry e(long slot, long round, byte[] value) {
        return new Entry(slot, new Ballot(round, 1), value);
    }

    /** The state every test writes before damaging the log. */
    private static void writeGoodPrefix(DurableLog log) {
        log.persistPromise(new Ballot(2, 1), 777L);
        for (int s = 0; s < 10; s++) {
            log.persistAccepted(List.of(e(s, 2, ("value-" + s).getBytes())));
        }
        log.persistDecided(5);
        log.sync();
    }

    private static void assertGoodPrefix(Recovered r) {
        assertThat(r.promised()).isEqualTo(new Ballot(2, 1));
        assertThat(r.grantedLeaseEndEpochNanos()).isEqualTo(777L);
        assertThat(r.decidedUpTo()).isEqualTo(5);
        for (int s = 0; s < 10; s++) {
            assertThat(r.entriesAboveSnapshot().get((long) s)).isEqualTo(e(s, 2, ("value-" + s).getBytes()));
        }
    }

    /** After a repair, new appends survive the next recovery, which is clean. */
    private void assertRepaired(long newSlot) throws IOException {
        try (ChronicleDurableLog log = open()) {
            log.persistAccepted(List.of(e(newSlot, 3, "after-repair".getBytes())));
            log.sync();
        }
        logged.list.clear();
        try (ChronicleDurableLog log = open()) {
            Recovered r = log.recover();
            assertThat(r.entriesAboveSnapshot().get(newSlot)).isEqualTo(e(newSlot, 3, "after-repair".getBytes()));
            assertThat(r.decidedUpTo()).isEqualTo(5);
            assertThat(r.promised()).isEqualTo(new Ballot(2, 1));
        }
        assertThat(warnings()).isEmpty();
        try (Stream<Path> s = Files.list(dir)) {
            assertThat(s.map(p -> p.getFileName().toString())).anyMatch(n -> n.endsWith(".cq4" + ChronicleDurableLog.CORRUPT_SUFFIX));
        }
    }

    @Test
    void unknownRecordTypeStopsRecoveryThereAndLaterRecordsAreReported() throws IOException {
        Path file;
        try (ChronicleDurableLog log = open()) {
            writeGoodPrefix(log);
            log.appendRawForTest((byte) 9, new byte[]{1, 2, 3});
            log.persistAccepted(List.of(e(10, 2, "behind-the-bad-one".getBytes())));
            log.sync();
            file = log.currentCycleFile();
        }
        try (ChronicleDurableLog log = open()) {
            assertGoodPrefix(log.recover());
            assertThat(log.recover().entriesAboveSnapshot()).doesNotContainKey(10L);
        }
        assertThat(warnings()).singleElement().satisfies(line -> assertThat(line)
                .contains("unknown record type 9").contains(file.toString()).contains("index 12 (cycle 0, sequence 12)")
                .contains("kept the 12 record(s) before it, dropped it and 1 record(s) after it"));
        assertRepaired(11);
    }

    @Test
    void truncatedFieldsStopRecoveryThere() throws IOException {
        ByteBuffer payload = ByteBuffer.allocate(8 + 2).order(ByteOrder.LITTLE_ENDIAN);
        payload.putLong(3).putShort((short) 1); // a PROMISE cut inside its replica id
        try (ChronicleDurableLog log = open()) {
            writeGoodPrefix(log);
            log.appendRawForTest(RecordCodec.PROMISE, payload.array());
            log.sync();
        }
        try (ChronicleDurableLog log = open()) {
            assertGoodPrefix(log.recover());
            assertThat(log.recover().entriesAboveSnapshot()).hasSize(10);
        }
        assertThat(warnings()).singleElement().satisfies(line -> assertThat(line)
                .contains("truncated fields in a type 1 record").contains("dropped it and 0 record(s) after it"));
        assertRepaired(11);
    }

    @Test
    void bytesDamagedOnDiskAreCaughtByTheChecksum() throws IOException {
        byte[] marker = marker();
        Path file;
        try (ChronicleDurableLog log = open()) {
            writeGoodPrefix(log);
            log.persistAccepted(List.of(e(10, 2, marker)));
            log.sync();
            file = log.currentCycleFile();
        }
        long at = indexOf(file, marker);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.seek(at + 17);
            raf.write(0x00);
        }
        try (ChronicleDurableLog log = open()) {
            assertGoodPrefix(log.recover());
            assertThat(log.recover().entriesAboveSnapshot()).hasSize(10);
        }
        assertThat(warnings()).singleElement().satisfies(line -> assertThat(line)
                .contains("checksum mismatch").contains(file.toString()).contains("dropped it and 0 record(s) after it"));
        assertRepaired(11);
    }

    @Test
    void garbageAfterTheLastDocumentIsDroppedAndReported() throws IOException {
        byte[] marker = marker();
        Path file;
        try (ChronicleDurableLog log = open()) {
            writeGoodPrefix(log);
            log.persistAccepted(List.of(e(10, 2, marker)));
            log.sync();
            file = log.currentCycleFile();
        }
        long recordStart = indexOf(file, marker) - VALUE_OFFSET_IN_RECORD;
        long end = recordStart + VALUE_OFFSET_IN_RECORD + marker.length + 4;
        long next = (end + 3) & ~3L;
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.seek(next);
            assertThat(raf.readInt()).as("nothing written after the last record").isZero();
            byte[] garbage = new byte[4 + 24];
            ByteBuffer.wrap(garbage).order(ByteOrder.LITTLE_ENDIAN).putInt(24); // looks like a complete 24-byte document
            Arrays.fill(garbage, 4, garbage.length, (byte) 0xEE);
            raf.seek(next);
            raf.write(garbage);
        }
        try (ChronicleDurableLog log = open()) {
            Recovered r = log.recover();
            assertGoodPrefix(r);
            assertThat(r.entriesAboveSnapshot().get(10L)).isEqualTo(e(10, 2, marker));
        }
        assertThat(warnings()).singleElement().satisfies(line -> assertThat(line)
                .contains("unknown format version -18").contains(file.toString()));
        assertRepaired(11);
    }

    @Test
    void halfWrittenDocumentIsSkippedByChronicleAndLaterAppendsSurvive() throws IOException {
        byte[] marker = marker();
        Path file;
        try (ChronicleDurableLog log = open()) {
            writeGoodPrefix(log);
            log.persistAccepted(List.of(e(10, 2, marker)));
            log.sync();
            file = log.currentCycleFile();
        }
        long next = (indexOf(file, marker) + marker.length + 4 + 3) & ~3L;
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            // what kill -9 leaves mid-append: a header still marked "not complete", half of the body written
            byte[] half = new byte[4 + 20];
            ByteBuffer.wrap(half).order(ByteOrder.LITTLE_ENDIAN).putInt(0x8000_0000 | 40).put(RecordCodec.VERSION).put(RecordCodec.ACCEPTED);
            raf.seek(next);
            raf.write(half);
        }
        try (ChronicleDurableLog log = open()) {
            Recovered r = log.recover();
            assertGoodPrefix(r);
            assertThat(r.entriesAboveSnapshot()).hasSize(11);
            log.persistAccepted(List.of(e(11, 2, "after-half".getBytes())));
            log.sync();
        }
        try (ChronicleDurableLog log = open()) {
            assertThat(log.recover().entriesAboveSnapshot().get(11L)).isEqualTo(e(11, 2, "after-half".getBytes()));
        }
        assertThat(warnings()).isEmpty();
    }

    /** The copy goes to a directory of its own that JUnit deletes (beside {@code dir}, it outlived the run: ~160 MB). */
    @Test
    void recoveryOfTheSameDamagedLogIsDeterministic(@TempDir Path copy) throws IOException {
        try (ChronicleDurableLog log = open()) {
            writeGoodPrefix(log);
            log.appendRawForTest((byte) 0x7f, new byte[40]);
            log.persistAccepted(List.of(e(10, 2, "behind".getBytes())));
        }
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Files.copy(p, copy.resolve(p.getFileName()));
            }
        }
        Recovered first;
        Recovered second;
        try (ChronicleDurableLog log = open()) {
            first = log.recover();
        }
        try (ChronicleDurableLog log = ChronicleDurableLog.open(copy, SyncPolicy.NONE, LogLimits.DEFAULTS)) {
            second = log.recover();
        }
        Recovered again;
        try (ChronicleDurableLog log = open()) {
            again = log.recover();
        }
        assertThat(second).isEqualTo(first);
        assertThat(again).isEqualTo(first);
        assertGoodPrefix(first);
    }

    private static byte[] marker() {
        byte[] m = new byte[64];
        for (int i = 0; i < m.length; i++) {
            m[i] = (byte) (0xA0 + (i % 7));
        }
        return m;
    }

    /** Position of the only occurrence of {@code marker} in {@code file}. */
    private static long indexOf(Path file, byte[] marker) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
            long found = -1;
            outer:
            for (int i = 0; i + marker.length <= map.limit(); i++) {
                if (map.get(i) != marker[0]) {
                    continue;
                }
                for (int j = 1; j < marker.length; j++) {
                    if (map.get(i + j) != marker[j]) {
                        continue outer;
                    }
                }
                assertThat(found).as("marker found twice").isEqualTo(-1);
                found = i;
            }
            assertThat(found).as("marker in " + file).isNotNegative();
            return found;
        }
    }

    /**
     * A process killed between creating a cycle file and writing its store header leaves a file that starts with
     * zeros. Chronicle takes it for a file being created by another process: every tailer that reached it waited
     * 10 s for the header, and a reopen took tens of seconds (KillNineTest children stalled there). The log moves
     * it aside at open, since it holds no record, and recovers what came before.
     */
    @Test
    void aCycleFileWhoseCreationNeverFinishedIsMovedAsideAtOpen() throws IOException {
        Recovered before;
        try (ChronicleDurableLog log = open()) {
            writeGoodPrefix(log);
            before = log.recover();
        }
        Path unfinished = dir.resolve(cycleFileName(5));
        try (RandomAccessFile f = new RandomAccessFile(unfinished.toFile(), "rw")) {
            f.setLength(1 << 20); // sparse zeros: no header was ever written
        }
        assertThat(ChronicleDurableLog.firstHeaderReady(unfinished)).isFalse();

        try (ChronicleDurableLog log = open()) {
            assertThat(unfinished).as("moved aside at open").doesNotExist();
            assertThat(dir.resolve(unfinished.getFileName() + ChronicleDurableLog.UNFINISHED_SUFFIX)).exists();
            assertThat(warnings()).anySatisfy(w -> assertThat(w).contains(unfinished.getFileName().toString())
                    .contains("creation never finished"));
            assertThat(log.recover()).isEqualTo(before);
            log.persistAccepted(List.of(e(10, 2, "after".getBytes())));
            log.sync();
        }
        try (ChronicleDurableLog log = open()) {
            assertThat(log.recover().entriesAboveSnapshot()).containsKey(10L);
        }
    }

    /** The name Chronicle gives cycle {@code cycle}'s file under the log's roll cycle. */
    private static String cycleFileName(int cycle) {
        return java.time.format.DateTimeFormatter.ofPattern(ChronicleDurableLog.ROLL_CYCLE.format())
                .withZone(java.time.ZoneOffset.UTC)
                .format(java.time.Instant.ofEpochMilli(cycle * (long) ChronicleDurableLog.ROLL_CYCLE.lengthInMillis()))
                + ".cq4";
    }
}
