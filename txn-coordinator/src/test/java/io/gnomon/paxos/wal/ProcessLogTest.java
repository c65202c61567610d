package io.gnomon.paxos.wal;

import io.gnomon.paxos.Ballot;
import io.gnomon.paxos.DurableState;
import io.gnomon.paxos.Entry;
import io.gnomon.paxos.PersistWrite;
import io.gnomon.paxos.runtime.GroupLog;
import io.gnomon.paxos.storage.SyncPolicy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Recovery, repair, segment rolls and per-group truncation of {@link ProcessLog}, against {@link DurableState}. */
class ProcessLogTest {

    @TempDir
    Path tmp;

    private static ProcessLogOptions opts(SyncPolicy policy, long segmentBytes) {
        return ProcessLogOptions.DEFAULTS.withSyncPolicy(policy).withSegmentBytes(segmentBytes);
    }

    private static DurableState initial(long group) {
        return group % 3 == 0 ? DurableState.joining() : new DurableState(List.of(1, 2, 3));
    }

    private static Map<Long, DurableState.Recovered> expected(Map<Long, DurableState> models) {
        Map<Long, DurableState.Recovered> out = new HashMap<>();
        models.forEach((g, m) -> out.put(g, m.toRecovered()));
        return out;
    }

    private static void assertSame(Map<Long, DurableState.Recovered> got, Map<Long, DurableState.Recovered> want,
                                   String what) {
        assertThat(new TreeMap<>(got).keySet()).as(what + ": groups").isEqualTo(new TreeMap<>(want).keySet());
        for (long g : want.keySet()) {
            assertThat(got.get(g)).as(what + ": group " + g).usingRecursiveComparison().isEqualTo(want.get(g));
        }
    }

    private static void copyDir(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (var s = Files.list(from)) {
            for (Path p : s.toList()) {
                Files.copy(p, to.resolve(p.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    @Test
    void recoveryEqualsApplyingTheSameWritesToDurableState() throws Exception {
        long seed = Long.getLong("wal.seed", System.nanoTime());
        System.out.println("ProcessLogTest seed " + seed + " (rerun: -Dtest=ProcessLogTest -Dwal.seed=" + seed + ")");
        SplittableRandom rng = new SplittableRandom(seed);
        Path dir = tmp.resolve("wal");
        ProcessLogOptions options = opts(rng.nextBoolean() ? SyncPolicy.NONE : SyncPolicy.SYNC_EACH_BATCH, 4096);
        Map<Long, DurableState> models = new HashMap<>();
        ProcessLog wal = ProcessLog.open(dir, options);
        int reopens = 0;
        int deleted = 0;
        try {
            for (int step = 0; step < 1_500; step++) {
                int action = rng.nextInt(100);
                long group = 1 + rng.nextInt(8);
                if (action < 70) {
                    DurableState model = models.computeIfAbsent(group, ProcessLogTest::initial);
                    List<PersistWrite> batch = new ArrayList<>();
                    for (int i = rng.nextInt(1, 5); i > 0; i--) {
                        PersistWrite w = RandomWrites.next(rng, model);
                        model.apply(w);
                        batch.add(w);
                    }
                    wal.group(group).write(batch);
                } else if (action < 85) {
                    wal.sync();
                } else if (action < 93) {
                    if (models.containsKey(group)) {
                        wal.checkpoint(group, models.get(group).toRecovered());
                    }
                } else if (action < 95) {
                    deleted += wal.deleteUnneededSegments().size();
                } else if (action < 97) {
                    wal.forget(group);
                    models.remove(group);
                } else {
                    wal.close();
                    wal = ProcessLog.open(dir, options);
                    reopens++;
                    assertThat(wal.repairedTail()).isNull();
                    assertSame(wal.recover(ProcessLogTest::initial), expected(models), "seed " + seed + ", step " + step);
                }
            }
            assertSame(wal.recover(ProcessLogTest::initial), expected(models), "seed " + seed + ", end, before reopen");
        } finally {
            wal.close();
        }
        try (ProcessLog again = ProcessLog.open(dir, options)) {
            assertSame(again.recover(ProcessLogTest::initial), expected(models), "seed " + seed + ", end");
        }
        System.out.printf("%d reopens, %d segments deleted%n", reopens, deleted);
    }

    @Test
    void aTornTailIsCutAtEveryByteOfTheLastFramesAndTheCompletePrefixKept() throws Exception {
        SplittableRandom rng = new SplittableRandom(7);
        Path dir = tmp.resolve("wal");
        ProcessLogOptions options = opts(SyncPolicy.NONE, 1 << 20);
        Map<Long, DurableState> models = new HashMap<>();
        // what the state is once each of the last frames is complete: file size -> expected states
        TreeMap<Long, Map<Long, DurableState.Recovered>> expectedAtEnd = new TreeMap<>();
        Path segment;
        long end;
        try (ProcessLog wal = ProcessLog.open(dir, options)) {
            for (int i = 0; i < 30; i++) {
                long g = 1 + rng.nextInt(3);
                DurableState m = models.computeIfAbsent(g, ProcessLogTest::initial);
                PersistWrite w = RandomWrites.next(rng, m);
                m.apply(w);
                wal.group(g).write(List.of(w));
            }
            segment = wal.segmentFile(wal.currentSegment());
            expectedAtEnd.put(wal.endOfFramesForTest(), expected(models));
            for (int i = 0; i < 4; i++) { // the last frames: one write each, and one checkpoint among them
                long g = 1 + rng.nextInt(3);
                DurableState m = models.computeIfAbsent(g, ProcessLogTest::initial);
                if (i == 2) {
                    wal.checkpoint(g, m.toRecovered());
                } else {
                    PersistWrite w = new PersistWrite.PersistAccepted(m.toRecovered().configId(), new Ballot(9, 1),
                            m.toRecovered().firstSlot() + m.toRecovered().entries().size(),
                            List.of(Entry.value(new byte[]{1, 2, 3}), Entry.config(7, List.of(1, 2))));
                    m.apply(w);
                    wal.group(g).write(List.of(w));
                }
                expectedAtEnd.put(wal.endOfFramesForTest(), expected(models));
            }
            end = wal.endOfFramesForTest();
        }
        assertThat(Files.size(segment)).as("preallocated beyond its frames").isGreaterThan(end);
        byte[] whole = java.util.Arrays.copyOf(Files.readAllBytes(segment), (int) end); // the cuts end in no zeros
        long firstCut = expectedAtEnd.firstKey();
        int cuts = 0;
        for (long cut = firstCut; cut <= whole.length; cut++) {
            Path copy = tmp.resolve("cut-" + cut);
            copyDir(dir, copy);
            Files.write(copy.resolve(segment.getFileName()), java.util.Arrays.copyOf(whole, (int) cut));
            Map.Entry<Long, Map<Long, DurableState.Recovered>> want = expectedAtEnd.floorEntry(cut);
            try (ProcessLog wal = ProcessLog.open(copy, options)) {
                if (want.getKey() == cut) {
                    assertThat(wal.repairedTail()).as("cut at %d, a frame boundary", cut).isNull();
                } else {
                    assertThat(wal.repairedTail()).as("cut at %d", cut)
                            .contains(segment.getFileName().toString(), "at offset " + want.getKey(),
                                    "truncated " + (cut - want.getKey()) + " byte(s)");
                }
                assertSame(wal.recover(ProcessLogTest::initial), want.getValue(), "cut at " + cut);
                wal.group(99).write(List.of(new PersistWrite.PersistDecided(5)));
            }
            try (ProcessLog wal = ProcessLog.open(copy, options)) {
                assertThat(wal.repairedTail()).as("reopen after the repair of cut %d", cut).isNull();
                Map<Long, DurableState.Recovered> got = wal.recover(ProcessLogTest::initial);
                assertThat(got.get(99L).decidedIndex()).isEqualTo(5);
                got.remove(99L);
                assertSame(got, want.getValue(), "cut at " + cut + ", reopened");
            }
            cuts++;
        }
        assertThat(cuts).isGreaterThan(100);
    }

    @Test
    void aChecksumFlipInTheLastFrameIsRepairedAndInAnOlderSegmentRefusesToOpen() throws Exception {
        Path dir = tmp.resolve("wal");
        ProcessLogOptions options = opts(SyncPolicy.NONE, 1024);
        long lastFrameOffset;
        Path last;
        try (ProcessLog wal = ProcessLog.open(dir, options)) {
            for (int i = 0; i < 60; i++) {
                wal.group(i % 4).write(List.of(new PersistWrite.PersistAccepted(1, new Ballot(1, 1), i / 4,
                        List.of(Entry.value(new byte[40])))));
            }
            assertThat(wal.currentSegment()).isGreaterThanOrEqualTo(3);
            last = wal.segmentFile(wal.currentSegment());
            lastFrameOffset = wal.endOfFramesForTest();
            wal.group(1).write(List.of(new PersistWrite.PersistDecided(3)));
        }
        Path tail = tmp.resolve("tail");
        copyDir(dir, tail);
        flip(tail.resolve(last.getFileName()), lastFrameOffset + 8 + 4);
        try (ProcessLog wal = ProcessLog.open(tail, options)) {
            assertThat(wal.repairedTail()).contains("at offset " + lastFrameOffset, "checksum mismatch");
            assertThat(wal.recover(ProcessLogTest::initial).get(1L).decidedIndex()).isZero();
        }

        Path older = tmp.resolve("older");
        copyDir(dir, older);
        flip(older.resolve(ProcessLog.segmentName(2)), ProcessLogOptions.SEGMENT_HEADER_BYTES + 8 + 20);
        assertThatThrownBy(() -> ProcessLog.open(older, options))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("segment " + ProcessLog.segmentName(2) + " at offset "
                        + ProcessLogOptions.SEGMENT_HEADER_BYTES)
                .hasMessageContaining("checksum mismatch")
                .hasMessageContaining("not a torn write");
        // refused, not repaired: the files are as they were, and the lock was released
        assertThat(Files.size(older.resolve(ProcessLog.segmentName(2)))).isEqualTo(Files.size(dir.resolve(ProcessLog.segmentName(2))));
        assertThatThrownBy(() -> ProcessLog.open(older, options)).hasMessageContaining("checksum mismatch");

        Path gap = tmp.resolve("gap");
        copyDir(dir, gap);
        Files.delete(gap.resolve(ProcessLog.segmentName(2)));
        assertThatThrownBy(() -> ProcessLog.open(gap, options)).isInstanceOf(IOException.class)
                .hasMessageContaining("segment " + ProcessLog.segmentName(2) + " is missing");
    }

    @Test
    void preallocatedZerosEndTheLogAndATornFrameBeforeThemIsCutWithEverythingAfterIt() throws Exception {
        Path dir = tmp.resolve("wal");
        ProcessLogOptions options = opts(SyncPolicy.SYNC_EACH_BATCH, 1 << 20);
        Map<Long, DurableState> models = new HashMap<>();
        SplittableRandom rng = new SplittableRandom(23);
        Path segment;
        long end;
        long lastFrame;
        Map<Long, DurableState.Recovered> beforeLast;
        try (ProcessLog wal = ProcessLog.open(dir, options)) {
            for (int i = 0; i < 20; i++) {
                write(wal, models, rng, 1 + rng.nextInt(3));
            }
            beforeLast = expected(models);
            lastFrame = wal.endOfFramesForTest();
            write(wal, models, rng, 2);
            wal.sync();
            end = wal.endOfFramesForTest();
            segment = wal.segmentFile(wal.currentSegment());
        }
        long size = Files.size(segment);
        assertThat(size).as("zeros follow the frames, up to one preallocation step")
                .isEqualTo(Math.min(1 << 20, ProcessLogOptions.PREALLOCATE_BYTES));
        try (ProcessLog wal = ProcessLog.open(dir, options)) {
            assertThat(wal.repairedTail()).as("zeros after the last frame are its end, not damage").isNull();
            assertSame(wal.recover(ProcessLogTest::initial), expected(models), "reopened");
            assertThat(wal.endOfFramesForTest()).isEqualTo(end);
        }

        // the last frame torn: its first bytes zero (a page not written back) and a later one written, or the other
        // way round; in both the frame goes and so does every byte after it, so that no later write can end next
        // to stale bytes that read as a frame
        for (String how : List.of("zero header, bytes after", "half a frame, zeros after")) {
            Path copy = tmp.resolve(how.replace(' ', '-').replace(",", ""));
            copyDir(dir, copy);
            Path seg = copy.resolve(segment.getFileName());
            try (var ch = java.nio.channels.FileChannel.open(seg, java.nio.file.StandardOpenOption.WRITE)) {
                if (how.startsWith("zero")) {
                    ch.write(java.nio.ByteBuffer.allocate(8), lastFrame);
                    ch.write(java.nio.ByteBuffer.wrap(new byte[]{7, 7, 7}), end + 100);
                } else {
                    ch.write(java.nio.ByteBuffer.allocate((int) (end - lastFrame) / 2), lastFrame + (end - lastFrame) / 2);
                }
            }
            try (ProcessLog wal = ProcessLog.open(copy, options)) {
                assertThat(wal.repairedTail()).as(how).contains("at offset " + lastFrame);
                assertSame(wal.recover(ProcessLogTest::initial), beforeLast, how);
                assertThat(Files.size(seg)).as(how + ": cut at the torn frame").isEqualTo(lastFrame);
                wal.group(1).write(List.of(new PersistWrite.PersistDecided(1)));
            }
            try (ProcessLog wal = ProcessLog.open(copy, options)) {
                assertThat(wal.repairedTail()).as(how + ", reopened").isNull();
                assertThat(wal.recover(ProcessLogTest::initial).get(1L).decidedIndex()).isEqualTo(1);
            }
        }
    }

    @Test
    void aSegmentKilledWhileItsHeaderWasWrittenIsRepaired() throws Exception {
        Path dir = tmp.resolve("wal");
        ProcessLogOptions options = opts(SyncPolicy.NONE, 1024);
        Map<Long, DurableState> models = new HashMap<>();
        SplittableRandom rng = new SplittableRandom(3);
        Path newest;
        try (ProcessLog wal = ProcessLog.open(dir, options)) {
            while (wal.currentSegment() < 3) {
                write(wal, models, rng, 1 + rng.nextInt(2));
            }
            newest = wal.segmentFile(3);
        }
        // the frames in segment 3 are lost with its header: expected is the state without them
        byte[] whole = Files.readAllBytes(newest);
        Map<Long, DurableState.Recovered> full;
        try (ProcessLog wal = ProcessLog.open(dir, options)) {
            full = wal.recover(ProcessLogTest::initial);
        }
        for (int cut = 0; cut < ProcessLogOptions.SEGMENT_HEADER_BYTES; cut++) {
            Path copy = tmp.resolve("hdr-" + cut);
            copyDir(dir, copy);
            Files.write(copy.resolve(newest.getFileName()), java.util.Arrays.copyOf(whole, cut));
            try (ProcessLog wal = ProcessLog.open(copy, options)) {
                assertThat(wal.repairedTail()).contains("torn header (" + cut + " bytes)");
                assertThat(wal.currentSegment()).isEqualTo(3);
                Map<Long, DurableState.Recovered> got = wal.recover(ProcessLogTest::initial);
                assertThat(got.keySet()).isEqualTo(full.keySet());
                wal.group(1).write(List.of(new PersistWrite.PersistDecided(1)));
            }
            try (ProcessLog wal = ProcessLog.open(copy, options)) {
                assertThat(wal.repairedTail()).isNull();
            }
        }
        Path older = tmp.resolve("older-header");
        copyDir(dir, older);
        flip(older.resolve(ProcessLog.segmentName(1)), 2);
        assertThatThrownBy(() -> ProcessLog.open(older, options)).isInstanceOf(IOException.class)
                .hasMessageContaining("segment " + ProcessLog.segmentName(1) + " at offset 0: not a process log segment");
    }

    private static void flip(Path file, long offset) throws IOException {
        byte[] b = Files.readAllBytes(file);
        b[(int) offset] ^= 0x5A;
        Files.write(file, b);
    }

    @Test
    void aBatchAcrossASegmentRollForcesBothSegmentsAndTheDirectory() throws Exception {
        Path dir = tmp.resolve("wal");
        ProcessLogOptions options = opts(SyncPolicy.SYNC_EACH_BATCH, 1024);
        DurableState m = new DurableState(List.of(1, 2, 3));
        try (ProcessLog wal = ProcessLog.open(dir, options)) {
            GroupLog g = wal.group(5);
            PersistWrite first = new PersistWrite.PersistPromise(1, new Ballot(2, 1));
            g.write(List.of(first));
            m.apply(first);
            g.sync();
            assertThat(wal.forcesForTest()).containsExactly(1L, -1L); // the new segment's data, then its name
            List<PersistWrite> batch = new ArrayList<>();
            for (int i = 0; i < 7; i++) {
                PersistWrite w = new PersistWrite.PersistAccepted(1, new Ballot(2, 1), i, List.of(Entry.value(new byte[200])));
                m.apply(w);
                batch.add(w);
            }
            g.write(batch); // 7 frames of 265 bytes, 3 to a segment: rolls into 2 and 3 inside the batch
            assertThat(wal.currentSegment()).isEqualTo(3);
            g.sync();
            // segments 1 and 2 forced as the batch rolled past them, 3 by the sync, then the directory
            assertThat(wal.forcesForTest()).containsExactly(1L, -1L, 1L, 2L, 3L, -1L);
            g.sync();
            assertThat(wal.forcesForTest()).hasSize(6); // nothing new: nothing forced
        }
        try (ProcessLog wal = ProcessLog.open(dir, options)) {
            assertThat(wal.recover(ProcessLogTest::initial).get(5L)).usingRecursiveComparison().isEqualTo(m.toRecovered());
        }
    }

    @Test
    void checkpointsDeleteExactlyTheSegmentsNoGroupNeedsAndReplayIsUnchanged() throws Exception {
        Path dir = tmp.resolve("wal");
        ProcessLogOptions options = opts(SyncPolicy.NONE, 1024);
        Map<Long, DurableState> models = new HashMap<>();
        SplittableRandom rng = new SplittableRandom(11);
        try (ProcessLog wal = ProcessLog.open(dir, options)) {
            // groups 1 and 2 from segment 1; group 3 starts once segment 3 is current
            while (wal.currentSegment() < 3) {
                write(wal, models, rng, 1 + rng.nextInt(2));
            }
            long firstOf3 = wal.currentSegment();
            while (wal.currentSegment() < 6) {
                write(wal, models, rng, 1 + rng.nextInt(3));
            }
            assertThat(wal.groupsPinning(1)).containsExactly(1L, 2L);
            assertThat(wal.groupsPinning(firstOf3)).containsExactly(1L, 2L, 3L);
            assertThat(wal.deleteUnneededSegments()).isEmpty();

            wal.checkpoint(1, models.get(1L).toRecovered());
            assertThat(wal.deleteUnneededSegments()).as("group 2 still needs segment 1").isEmpty();
            wal.checkpoint(2, models.get(2L).toRecovered());
            write(wal, models, rng, 1);
            write(wal, models, rng, 2);
            assertThat(wal.groupsPinning(wal.oldestSegment())).as("nobody needs segment 1 now").isEmpty();
            assertThat(wal.groupsPinning(firstOf3)).containsExactly(3L);

            Path before = tmp.resolve("before");
            copyDir(dir, before);
            List<Long> deleted = wal.deleteUnneededSegments();
            List<Long> want = new ArrayList<>();
            for (long s = 1; s < firstOf3; s++) {
                want.add(s);
            }
            assertThat(deleted).isEqualTo(want);
            assertThat(wal.oldestSegment()).isEqualTo(firstOf3);
            for (long s : want) {
                assertThat(dir.resolve(ProcessLog.segmentName(s))).doesNotExist();
            }
            Map<Long, DurableState.Recovered> after = wal.recover(ProcessLogTest::initial);
            assertSame(after, expected(models), "after deleting " + deleted);
            try (ProcessLog copy = ProcessLog.open(before, options)) {
                assertSame(copy.recover(ProcessLogTest::initial), after, "the copy taken before deleting");
            }

            wal.checkpoint(3, models.get(3L).toRecovered());
            long current = wal.currentSegment();
            List<Long> rest = wal.deleteUnneededSegments();
            assertThat(rest).isNotEmpty().allMatch(s -> s < current);
            assertThat(wal.oldestSegment()).isLessThanOrEqualTo(current);
            for (int i = 0; i < 20; i++) {
                write(wal, models, rng, 1 + rng.nextInt(3));
            }
        }
        try (ProcessLog wal = ProcessLog.open(dir, options)) {
            assertSame(wal.recover(ProcessLogTest::initial), expected(models), "reopened after deletions");
        }
    }

    @Test
    void underASteadyLoadOfManyGroupsTruncateKeepsTheLogBoundedAndReplayUnchanged() throws Exception {
        Path dir = tmp.resolve("wal");
        ProcessLogOptions options = opts(SyncPolicy.NONE, 64 << 10);
        Map<Long, DurableState> models = new HashMap<>();
        SplittableRandom rng = new SplittableRandom(19);
        List<Long> all = new ArrayList<>();
        for (long g = 1; g <= 64; g++) {
            all.add(g);
        }
        int maxSegments = 0;
        long maxBytes = 0;
        int checkpoints = 0;
        try (ProcessLog wal = ProcessLog.open(dir, options)) {
            for (int turn = 0; turn < 5_000; turn++) {
                // a busy group 1, the others now and then; every group compacts below its last 20 entries
                for (long g : List.of(1L, 1 + (long) rng.nextInt(64))) {
                    write(wal, models, rng, g);
                    DurableState.Recovered r = models.get(g).toRecovered();
                    long logEnd = r.firstSlot() + r.entries().size();
                    if (logEnd - r.firstSlot() > 20) {
                        PersistWrite snap = new PersistWrite.PersistSnapshot(new io.gnomon.paxos.Snapshot(logEnd - 11,
                                r.configId(), r.members(), r.configStartIndex()));
                        models.get(g).apply(snap);
                        wal.group(g).write(List.of(snap));
                    }
                }
                wal.sync();
                checkpoints += wal.truncate(2, all, g -> models.get(g).toRecovered()).size();
                try (var files = Files.list(dir)) {
                    List<Path> segs = files.filter(p -> p.toString().endsWith(ProcessLog.SUFFIX)).toList();
                    maxSegments = Math.max(maxSegments, segs.size());
                    long bytes = 0;
                    for (Path p : segs) {
                        bytes += Files.size(p);
                    }
                    maxBytes = Math.max(maxBytes, bytes);
                }
            }
            assertThat(wal.currentSegment()).as("the load went through many segments").isGreaterThan(10);
            assertThat(checkpoints).isGreaterThan(0);
            assertSame(wal.recover(ProcessLogTest::initial), expected(models), "after the load");
        }
        // the checkpoints of 64 groups of at most 21 entries of at most 120 bytes (< 2 KiB each) fit in two segments:
        // never more than keepSegments, the one that was current and the two the checkpoints rolled into
        assertThat(maxSegments).as("segments on disk at most").isLessThanOrEqualTo(5);
        assertThat(maxBytes).isLessThanOrEqualTo(5L * (64 << 10));
        try (ProcessLog wal = ProcessLog.open(dir, options)) {
            assertSame(wal.recover(ProcessLogTest::initial), expected(models), "reopened");
        }
    }

    @Test
    void aForgottenGroupIsGoneFromReplayAndPinsNothingAndMayComeBack() throws Exception {
        Path dir = tmp.resolve("wal");
        ProcessLogOptions options = opts(SyncPolicy.SYNC_EACH_BATCH, 1024);
        Map<Long, DurableState> models = new HashMap<>();
        SplittableRandom rng = new SplittableRandom(5);
        try (ProcessLog wal = ProcessLog.open(dir, options)) {
            write(wal, models, rng, 7);
            while (wal.currentSegment() < 3) {
                write(wal, models, rng, 8);
            }
            wal.checkpoint(8, models.get(8L).toRecovered());
            long checkpointed = wal.currentSegment(); // group 8's checkpoint may have rolled into a segment of its own
            assertThat(wal.groupsPinning(1)).containsExactly(7L);
            wal.forget(7);
            models.remove(7L);
            assertThat(wal.groupsPinning(1)).isEmpty();
            assertThat(wal.deleteUnneededSegments()).hasSize((int) checkpointed - 1);
            assertThat(wal.oldestSegment()).isEqualTo(checkpointed);
            assertSame(wal.recover(ProcessLogTest::initial), expected(models), "after forget");
        }
        try (ProcessLog wal = ProcessLog.open(dir, options)) {
            assertSame(wal.recover(ProcessLogTest::initial), expected(models), "reopened after forget");
            write(wal, models, rng, 7); // group 7 comes back: from an empty state
            assertThat(models.get(7L).toRecovered().entries()).hasSize(1);
        }
        try (ProcessLog wal = ProcessLog.open(dir, options)) {
            assertSame(wal.recover(ProcessLogTest::initial), expected(models), "group 7 back");
        }
    }

    @Test
    void truncateSkipsAGroupWhoseCheckpointWouldBeTooBigAndTheLogGoesOn() throws Exception {
        Path dir = tmp.resolve("wal");
        ProcessLogOptions options = new ProcessLogOptions(SyncPolicy.NONE, 1024, 1024);
        Map<Long, DurableState> models = new HashMap<>();
        SplittableRandom rng = new SplittableRandom(9);
        try (ProcessLog wal = ProcessLog.open(dir, options)) {
            write(wal, models, rng, 2);
            while (wal.currentSegment() < 4) {
                write(wal, models, rng, 1); // group 1's entries add up to more than 1 KiB
            }
            List<Long> done = wal.truncate(2, List.of(1L, 2L), g -> models.get(g).toRecovered());
            assertThat(done).as("group 2 checkpointed, group 1 skipped").containsExactly(2L);
            assertThat(wal.groupsPinning(1)).containsExactly(1L);
            write(wal, models, rng, 1); // the log goes on
        }
    }

    private static void write(ProcessLog wal, Map<Long, DurableState> models, SplittableRandom rng, long g) {
        DurableState m = models.computeIfAbsent(g, ProcessLogTest::initial);
        PersistWrite w = new PersistWrite.PersistAccepted(m.toRecovered().configId(), new Ballot(1, 1),
                m.toRecovered().firstSlot() + m.toRecovered().entries().size(),
                List.of(Entry.value(RandomWrites.bytes(rng, 120))));
        m.apply(w);
        wal.group(g).write(List.of(w));
    }

    @Test
    void aSecondOpenerIsRefusedNamingTheHolderUntilTheFirstCloses() throws Exception {
        Path dir = tmp.resolve("wal");
        ProcessLogOptions options = opts(SyncPolicy.NONE, 4096);
        ProcessLog first = ProcessLog.open(dir, options);
        assertThatThrownBy(() -> ProcessLog.open(dir, options)).isInstanceOf(IOException.class)
                .hasMessageContaining("in use by another writer (pid " + ProcessHandle.current().pid() + ")");
        first.close();
        ProcessLog.open(dir, options).close();
    }

    @Test
    void aClosedGroupViewRefusesWritesAndTheLogStaysOpenForTheOthers() throws Exception {
        try (ProcessLog wal = ProcessLog.open(tmp.resolve("wal"), opts(SyncPolicy.SYNC_EACH_BATCH, 4096))) {
            GroupLog one = wal.group(1);
            GroupLog two = wal.group(2);
            one.write(List.of(new PersistWrite.PersistDecided(1)));
            one.close();
            assertThatThrownBy(() -> one.write(List.of(new PersistWrite.PersistDecided(2))))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("group 1 is closed");
            two.write(List.of(new PersistWrite.PersistDecided(3)));
            two.write(List.of()); // nothing to write: nothing to force
            two.sync();
            int forces = wal.forcesForTest().size();
            two.write(List.of());
            two.sync();
            assertThat(wal.forcesForTest()).hasSize(forces);
            Map<Long, DurableState.Recovered> got = wal.recover(ProcessLogTest::initial);
            assertThat(got.get(1L).decidedIndex()).isEqualTo(1);
            assertThat(got.get(2L).decidedIndex()).isEqualTo(3);
        }
    }

    @Test
    void aBatchWithAFrameOverTheLimitWritesNothing() throws Exception {
        Path dir = tmp.resolve("wal");
        ProcessLogOptions options = new ProcessLogOptions(SyncPolicy.NONE, 1 << 20, 4096);
        try (ProcessLog wal = ProcessLog.open(dir, options)) {
            GroupLog g = wal.group(1);
            assertThatThrownBy(() -> g.write(List.of(new PersistWrite.PersistDecided(4),
                    new PersistWrite.PersistAccepted(1, new Ballot(1, 1), 0, List.of(Entry.value(new byte[5000]))))))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("more than maxFrameBytes 4096; nothing of the batch was written");
            g.write(List.of(new PersistWrite.PersistDecided(2)));
            g.sync();
            assertThat(wal.recover(ProcessLogTest::initial).get(1L).decidedIndex()).isEqualTo(2);
            assertThatThrownBy(() -> wal.checkpoint(1, new DurableState.Recovered(1, List.of(1), 0, Ballot.ZERO,
                    Ballot.ZERO, null, 3, List.of(), 0, 0)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a state DurableState can hold");
        }
    }
}
