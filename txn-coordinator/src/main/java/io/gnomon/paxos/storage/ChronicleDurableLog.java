package io.gnomon.paxos.storage;

import io.gnomon.paxos.Ballot;
import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.bytes.MappedBytes;
import net.openhft.chronicle.bytes.MappedBytesStore;
import net.openhft.chronicle.bytes.MappedFile;
import net.openhft.chronicle.bytes.SyncMode;
import net.openhft.chronicle.core.OS;
import net.openhft.chronicle.core.io.ReferenceOwner;
import net.openhft.chronicle.core.time.SetTimeProvider;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.RollCycle;
import net.openhft.chronicle.queue.impl.RollingResourcesCache;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.queue.rollcycles.LargeRollCycles;
import net.openhft.chronicle.wire.DocumentContext;
import net.openhft.chronicle.wire.Wires;
import net.openhft.posix.MSyncFlag;
import net.openhft.posix.PosixAPI;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A {@link DurableLog} in a Chronicle Queue directory (format, recovery, compaction and what each
 * {@link SyncPolicy} survives: docs/paxos-log.md).
 *
 * <p>Each record is one Chronicle document whose body is a {@link RecordCodec} frame (checksummed). Chronicle
 * can neither truncate nor overwrite, so every change is a new record and {@link LogState} resolves them on
 * replay. Cycles do not follow the wall clock: the queue's clock is a generation counter that only a
 * compaction (or a repair after a corrupt record) advances, so "roll to a new cycle file" is an explicit step.
 * A compaction writes the whole live state into the new cycle file, forces it, then deletes every older file.
 *
 * <pre>{@code
 * try (ChronicleDurableLog log = ChronicleDurableLog.open(dir, SyncPolicy.SYNC_EACH_BATCH, LogLimits.DEFAULTS)) {
 *     DurableLog.Recovered r = log.recover();
 *     ...
 * }
 * }</pre>
 */
public final class ChronicleDurableLog implements DurableLog {

    private static final Logger log = LoggerFactory.getLogger(ChronicleDurableLog.class);

    /** One cycle file per generation; 2^32+ documents per file. Its daily length only scales the generation clock. */
    static final RollCycle ROLL_CYCLE = LargeRollCycles.LARGE_DAILY;
    /** Suffix of cycle files moved aside after a corrupt record: Chronicle ignores them, a human can inspect them. */
    static final String CORRUPT_SUFFIX = ".corrupt";
    /** Suffix of cycle files moved aside at open because their creation never finished (they hold no record). */
    static final String UNFINISHED_SUFFIX = ".unfinished";
    /**
     * The lock file: one process writes a log directory. A second writer would interleave its records with ours and
     * take our cycle files for unfinished ones ({@link #moveUnfinishedCycleFilesAside}); the lock refuses it at open.
     */
    public static final String LOCK_FILE = "writer.lock";
    private static final long MIN_BLOCK_BYTES = 64L << 20;
    /**
     * Chronicle's document header, an int before the body: {@code StoreAppender.openContext} leaves the write
     * position at the header's position plus this ("position + 4", chronicle-queue 2026.4).
     */
    private static final int DOCUMENT_HEADER_BYTES = Wires.SPB_HEADER_SIZE;

    private final Path dir;
    private final SyncPolicy policy;
    private final LogLimits limits;
    private final SetTimeProvider generationClock;
    private final SingleChronicleQueue queue;
    private final FileChannel lockChannel;
    private final RollingResourcesCache fileNames;
    private final RecordCodec.Encoder encoder = new RecordCodec.Encoder();
    private final LogState state = new LogState();
    private ExcerptAppender appender;
    private int generation;
    private boolean unsynced;
    /**
     * Under SYNC_EACH_BATCH, the bytes of the current cycle file ({@code pendingCycle}) that no sync has forced yet:
     * [pendingFromPosition, pendingToPosition), file offsets; pendingFromPosition is -1 when there are none. The range
     * starts where the last sync of that file ended, so it also holds whatever Chronicle wrote between our documents
     * (padding, index arrays). {@link #msyncPending} forces it in every chunk it spans (issue 19).
     */
    private int pendingCycle = Integer.MIN_VALUE;
    private long pendingFromPosition = -1;
    private long pendingToPosition = -1;
    private int syncedCycle = Integer.MIN_VALUE;
    private long syncedToPosition = -1;
    /** Holds a chunk's mapping while {@link #msync} uses it (Chronicle's mappings are reference counted). */
    private final ReferenceOwner syncOwner = new ReferenceOwner() {
    };
    private int forcedCycle = Integer.MIN_VALUE;
    private RuntimeException failure;
    private boolean closed;

    private ChronicleDurableLog(Path dir, SyncPolicy policy, LogLimits limits, SetTimeProvider generationClock,
                                SingleChronicleQueue queue, FileChannel lockChannel, long epochMillis) {
        this.dir = dir;
        this.lockChannel = lockChannel;
        this.policy = policy;
        this.limits = limits;
        this.generationClock = generationClock;
        this.queue = queue;
        this.fileNames = new RollingResourcesCache(queue.rollCycle(), epochMillis,
                name -> new File(queue.file(), name + SingleChronicleQueue.SUFFIX),
                file -> file.getName().substring(0, file.getName().length() - SingleChronicleQueue.SUFFIX.length()));
    }

    /**
     * Opens (creating if needed) the log in {@code dir} and recovers it: replays every record, stops at the
     * first one that does not decode (logging one line that names it), and repairs the directory so that later
     * appends never sit behind a corrupt record. Opening takes 0.4-0.8 s in a fresh JVM (Chronicle's start-up).
     *
     * @throws IOException if {@code dir} is not a directory or cannot be created or opened as a queue
     */
    public static ChronicleDurableLog open(Path dir, SyncPolicy policy, LogLimits limits) throws IOException {
        Objects.requireNonNull(limits, "limits");
        return open(dir, policy, limits, blockBytes(limits));
    }

    /**
     * For tests: {@link #open(Path, SyncPolicy, LogLimits)} with a Chronicle block (chunk) size of {@code blockBytes}
     * instead of the one derived from the limits, so that a test can cross chunk boundaries with a few records.
     */
    static ChronicleDurableLog open(Path dir, SyncPolicy policy, LogLimits limits, long blockBytes) throws IOException {
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(limits, "limits");
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new IOException("paxos log directory " + dir + " is not a directory; point the log at a directory");
        }
        if (policy == SyncPolicy.SYNC_EACH_BATCH) {
            requireWorkingMsync();
        }
        Files.createDirectories(dir);
        FileChannel lock = DirectoryLock.acquire(dir, LOCK_FILE, "paxos log directory");
        try {
            return open(dir, policy, limits, blockBytes, lock);
        } catch (IOException | RuntimeException e) {
            lock.close();
            throw e;
        }
    }

    /**
     * Refuses to promise SYNC_EACH_BATCH when msync cannot reach the kernel: Chronicle's {@code PosixAPI} falls back
     * to a no-op implementation (whose {@code msync} returns 0 and does nothing) when its native binding fails to load.
     * The probe is an msync the kernel must refuse (an address that is not page-aligned: EINVAL); the no-op says 0.
     */
    private static void requireWorkingMsync() throws IOException {
        PosixAPI posix = PosixAPI.posix();
        if (posix.msync(1L, 1L, MSyncFlag.MS_SYNC) == 0) {
            throw new IOException("msync does nothing in this JVM (Chronicle's PosixAPI is "
                    + posix.getClass().getSimpleName() + ", its native binding did not load), so SyncPolicy."
                    + SyncPolicy.SYNC_EACH_BATCH + " cannot force the paxos log to disk; fix the native library "
                    + "(jnr-ffi/jffi) or run with SyncPolicy." + SyncPolicy.NONE + " knowing what it does not survive");
        }
    }

    private static ChronicleDurableLog open(Path dir, SyncPolicy policy, LogLimits limits, long blockBytes,
                                            FileChannel lock)
            throws IOException {
        moveUnfinishedCycleFilesAside(dir, policy);
        SetTimeProvider clock = new SetTimeProvider(0L);
        SingleChronicleQueueBuilder builder = SingleChronicleQueueBuilder.binary(dir)
                .rollCycle(ROLL_CYCLE)
                .timeProvider(clock)
                .blockSize(blockBytes)
                .syncMode(policy == SyncPolicy.SYNC_EACH_BATCH ? SyncMode.SYNC : SyncMode.NONE);
        SingleChronicleQueue queue;
        try {
            queue = builder.build();
        } catch (RuntimeException e) {
            throw new IOException("cannot open paxos log in " + dir + ": " + e.getMessage(), e);
        }
        ChronicleDurableLog l = new ChronicleDurableLog(dir, policy, limits, clock, queue, lock, builder.epoch());
        try {
            l.recoverFromDisk();
        } catch (RuntimeException | IOException e) {
            queue.close();
            throw e;
        }
        return l;
    }

    /**
     * Moves aside every cycle file whose first header (Chronicle's store header, written when the file is
     * created, before any document) never became ready: a process killed between creating a cycle file and
     * writing that header leaves it zero or marked incomplete. Such a file holds no record: a writer only appends
     * after reading a ready first header. But Chronicle takes it for a file another process is still creating and,
     * each time a tailer or the directory listing reaches it, waits {@code timeoutMS} (10 s) for the header and
     * then skips it without repairing it, so every later open of the log stalled for tens of seconds (seen as a
     * {@code KillNineTest} child that acknowledged too few writes in time; its thread dump was parked in
     * {@code AbstractWire.readFirstHeader} under {@code replay}). The log has one writing process, this one,
     * so at open nobody else can be creating a file (the writer lock, {@link #LOCK_FILE}, is taken first).
     */
    private static void moveUnfinishedCycleFilesAside(Path dir, SyncPolicy policy) throws IOException {
        List<Path> moved = new ArrayList<>();
        try (var s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (!p.getFileName().toString().endsWith(SingleChronicleQueue.SUFFIX) || firstHeaderReady(p)) {
                    continue;
                }
                Path target = p.resolveSibling(p.getFileName() + UNFINISHED_SUFFIX);
                for (int i = 1; Files.exists(target); i++) {
                    target = p.resolveSibling(p.getFileName() + UNFINISHED_SUFFIX + "." + i);
                }
                Files.move(p, target);
                moved.add(target.getFileName());
            }
        }
        if (moved.isEmpty()) {
            return;
        }
        if (policy == SyncPolicy.SYNC_EACH_BATCH) {
            try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
                ch.force(true);
            }
        }
        log.warn("paxos log {}: moved {} aside: cycle file(s) whose creation never finished (no store header, so no "
                + "record; a process died while creating them)", dir, moved);
    }

    /** Whether the file's first 4-byte header (Chronicle's native-order int) is complete and non-zero. */
    static boolean firstHeaderReady(Path cycleFile) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(4).order(ByteOrder.nativeOrder());
        try (FileChannel ch = FileChannel.open(cycleFile, StandardOpenOption.READ)) {
            while (header.hasRemaining()) {
                if (ch.read(header, header.position()) < 0) {
                    return false;
                }
            }
        }
        return Wires.isReady(header.getInt(0));
    }

    /** Four times the largest record, at least 64 MiB: Chronicle wants a document well inside one block. */
    static long blockBytes(LogLimits limits) {
        long want = 4 * limits.maxRecordBytes();
        return Math.max(MIN_BLOCK_BYTES, Long.highestOneBit(want - 1) << 1);
    }

    // ---------------------------------------------------------------- recovery

    private void recoverFromDisk() throws IOException {
        int last = queue.lastCycle();
        generation = Math.max(last, 0);
        generationClock.currentTimeMillis(generation * (long) ROLL_CYCLE.lengthInMillis());
        Corruption bad = replay();
        if (last >= 0) {
            // Append into a fresh cycle file, never into the last one: a process killed while rolling may have
            // sealed that file with Chronicle's end-of-file marker, after which no appender can write to it
            // (WriteAfterEOFException, seen in KillNineTest). Replay reads every cycle file in order, so the
            // state is unchanged; the next compaction removes the extra file.
            rollToNewGeneration();
        }
        appender = queue.createAppender();
        appender.singleThreadedCheckDisabled(true);
        if (bad != null) {
            repair(bad);
        }
    }

    private record Corruption(long index, String file, String problem, long goodBefore, long later, boolean laterExact) {
    }

    /** Replays from the first record; returns the first record that does not decode, or null. */
    private Corruption replay() {
        byte[] buf = new byte[4096];
        long good = 0;
        try (ExcerptTailer tailer = queue.createTailer()) {
            tailer.singleThreadedCheckDisabled(true);
            tailer.toStart();
            while (true) {
                long index = -1;
                String file = "?";
                String problem = null;
                int length = 0;
                try (DocumentContext dc = tailer.readingDocument()) {
                    if (!dc.isPresent()) {
                        break;
                    }
                    index = dc.index();
                    file = String.valueOf(tailer.currentFile());
                    Bytes<?> bytes = dc.wire().bytes();
                    long n = bytes.readRemaining();
                    if (n > LogLimits.MAX_RECORD_BYTES) {
                        problem = "document of " + n + " bytes is larger than any record";
                    } else {
                        length = (int) n;
                        if (buf.length < length) {
                            buf = new byte[Math.max(length, 2 * buf.length)];
                        }
                        bytes.read(buf, 0, length);
                    }
                } catch (RuntimeException e) {
                    problem = "Chronicle cannot read the document: " + e;
                    if (index < 0) {
                        index = tailer.index();
                    }
                }
                if (problem == null) {
                    try {
                        state.apply(RecordCodec.decode(buf, length));
                        good++;
                        continue;
                    } catch (RecordCodec.CorruptRecordException e) {
                        problem = e.getMessage();
                    }
                }
                long[] later = countRest(tailer);
                return new Corruption(index, file, problem, good, later[0], later[1] == 1);
            }
        }
        return null;
    }

    /** How many documents follow (and whether the count is exact: Chronicle may fail to read past garbage). */
    private static long[] countRest(ExcerptTailer tailer) {
        long n = 0;
        try {
            while (true) {
                try (DocumentContext dc = tailer.readingDocument()) {
                    if (!dc.isPresent()) {
                        return new long[]{n, 1};
                    }
                    n++;
                }
            }
        } catch (RuntimeException e) {
            return new long[]{n, 0};
        }
    }

    /**
     * Makes the recovered state the whole log again: writes it into a new cycle file, forces that, and moves
     * every older cycle file aside. Without this, appends after a corrupt record would be dropped on the next
     * recovery too, since replay stops at the first bad record. Crash-safe at every step: until the old files
     * are gone, a replay still stops at the same record, having recovered the same state.
     */
    private void repair(Corruption bad) throws IOException {
        rollToNewGeneration();
        writeLiveState();
        forceNewCycle();
        List<Path> moved = new ArrayList<>();
        for (Path f : cycleFilesBelow(generation)) {
            Path target = f.resolveSibling(f.getFileName() + CORRUPT_SUFFIX);
            for (int i = 1; Files.exists(target); i++) {
                target = f.resolveSibling(f.getFileName() + CORRUPT_SUFFIX + "." + i);
            }
            Files.move(f, target);
            moved.add(target.getFileName());
        }
        fsyncDirectory();
        queue.refreshDirectoryListing();
        log.warn("paxos log {}: the record at index {} ({}) in {} does not decode ({}); recovery stopped there: "
                        + "kept the {} record(s) before it, dropped it and {}{} record(s) after it; rewrote the recovered "
                        + "state into {} and moved {} aside",
                dir, bad.index(), describeIndex(bad.index()), bad.file(), bad.problem(), bad.goodBefore(),
                bad.laterExact() ? "" : "at least ", bad.later(), fileOf(generation).getFileName(), moved);
    }

    private static String describeIndex(long index) {
        if (index < 0) {
            return "unknown";
        }
        return "cycle " + ROLL_CYCLE.toCycle(index) + ", sequence " + ROLL_CYCLE.toSequenceNumber(index);
    }

    // ---------------------------------------------------------------- persist

    @Override
    public synchronized void persistPromise(Ballot promised, long leaseEndEpochNanos) {
        Objects.requireNonNull(promised, "promised");
        checkOpen();
        state.checkPromise(promised, leaseEndEpochNanos);
        append(encoder.promise(promised, leaseEndEpochNanos));
        state.applyPromise(promised, leaseEndEpochNanos);
    }

    @Override
    public synchronized void persistAccepted(List<Entry> entries) {
        Objects.requireNonNull(entries, "entries");
        checkOpen();
        if (entries.isEmpty()) {
            return;
        }
        state.checkAccepted(entries, limits);
        append(encoder.accepted(entries, 0, entries.size()));
        state.applyAccepted(entries);
    }

    @Override
    public synchronized void persistDecided(long decidedUpToSlot) {
        checkOpen();
        state.checkDecided(decidedUpToSlot);
        if (decidedUpToSlot == state.decidedUpTo) {
            return;
        }
        append(encoder.decided(decidedUpToSlot));
        state.decidedUpTo = decidedUpToSlot;
    }

    @Override
    public synchronized void persistSnapshot(Snapshot s) {
        Objects.requireNonNull(s, "snapshot");
        checkOpen();
        state.checkSnapshot(s, limits);
        try {
            rollToNewGeneration();
            state.applySnapshot(s);
            writeLiveState();
            forceNewCycle();
            int deleted = 0;
            for (Path f : cycleFilesBelow(generation)) {
                Files.delete(f);
                deleted++;
            }
            if (policy == SyncPolicy.SYNC_EACH_BATCH) {
                fsyncDirectory();
            }
            queue.refreshDirectoryListing();
            log.debug("paxos log {}: snapshot through slot {}; {} entries above it rewritten into {}, {} older cycle file(s) deleted",
                    dir, s.lastIncludedSlot(), state.entries.size(), fileOf(generation).getFileName(), deleted);
        } catch (IOException e) {
            throw fail(new UncheckedIOException("paxos log " + dir + ": compaction failed; reopen the log to recover", e));
        } catch (RuntimeException e) {
            throw fail(e);
        }
    }

    @Override
    public synchronized void sync() {
        checkOpen();
        if (!unsynced) {
            return;
        }
        if (policy == SyncPolicy.SYNC_EACH_BATCH) {
            try {
                msyncPending();
                if (appender.cycle() != forcedCycle) {
                    forceNewCycle();
                }
            } catch (IOException e) {
                throw fail(new UncheckedIOException("paxos log " + dir + ": sync failed; reopen the log to recover", e));
            } catch (RuntimeException e) {
                throw fail(e);
            }
        }
        unsynced = false;
    }

    @Override
    public synchronized Recovered recover() {
        checkOpen();
        return state.toRecovered();
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        try {
            if (failure == null && appender != null) {
                sync();
            }
        } finally {
            closed = true;
            try {
                if (appender != null) {
                    appender.close();
                }
                queue.close();
            } finally {
                try {
                    lockChannel.close(); // releases the writer lock; the file stays (its pid is only a hint)
                } catch (IOException e) {
                    log.warn("closing the writer lock of {}: {}", dir, e.toString());
                }
            }
        }
    }

    /** For tests: a record with any type and payload, correctly framed, as the next document. */
    synchronized void appendRawForTest(byte type, byte[] payload) {
        append(encoder.raw(type, payload));
    }

    /** For tests: the queue, so that a test can read it while the log writes (a tailer holds the chunks it reads). */
    SingleChronicleQueue queueForTest() {
        return queue;
    }

    /** For tests: the position in the current cycle file just after the last document appended (0: none yet). */
    synchronized long appendPositionForTest() {
        return appender.wire() == null ? 0 : appender.wire().bytes().writePosition();
    }

    /** For tests: the cycle file records are appended to now. */
    synchronized Path currentCycleFile() {
        return fileOf(generation);
    }

    // ---------------------------------------------------------------- internals

    private void append(int length) {
        long headerPosition;
        long endPosition;
        try (DocumentContext dc = appender.writingDocument()) {
            Bytes<?> bytes = dc.wire().bytes();
            headerPosition = bytes.writePosition() - DOCUMENT_HEADER_BYTES;
            bytes.write(encoder.array(), 0, length);
            endPosition = bytes.writePosition();
        } catch (RuntimeException e) {
            throw fail(e);
        }
        unsynced = true;
        if (policy == SyncPolicy.SYNC_EACH_BATCH) {
            notePending(appender.cycle(), headerPosition, endPosition);
        }
    }

    /** Adds a document written at [headerPosition, endPosition) of {@code cycle}'s file to the bytes to force. */
    private void notePending(int cycle, long headerPosition, long endPosition) {
        if (headerPosition < 0 || endPosition <= headerPosition) {
            throw fail(new IllegalStateException("paxos log " + dir + ": Chronicle wrote a document at ["
                    + headerPosition + ", " + endPosition + ") of cycle " + cycle + ", not a byte range"));
        }
        if (pendingFromPosition < 0) {
            pendingCycle = cycle;
            pendingFromPosition = cycle == syncedCycle && syncedToPosition <= headerPosition
                    ? syncedToPosition : headerPosition;
            pendingToPosition = endPosition;
        } else if (cycle != pendingCycle || headerPosition < pendingFromPosition) {
            // Every roll to a new cycle forces what is pending first (rollToNewGeneration), and Chronicle appends
            // forward: a document elsewhere would be one this sync does not cover.
            throw fail(new IllegalStateException("paxos log " + dir + ": document at [" + headerPosition + ", "
                    + endPosition + ") of cycle " + cycle + " lies outside the unsynced range [" + pendingFromPosition
                    + ", " + pendingToPosition + ") of cycle " + pendingCycle));
        } else {
            pendingToPosition = Math.max(pendingToPosition, endPosition);
        }
    }

    /**
     * Forces the pending range with {@code msync(MS_SYNC)}, through Chronicle's own mapping of each chunk it spans.
     * Chronicle's {@code StoreAppender.sync()} is not enough (issue 19): it msyncs only the mapping of the chunk the
     * appender is in, from where that mapping last synced, so the part of a batch written before a chunk boundary was
     * left to Chronicle's release of that chunk, on a background thread and only once nothing holds the chunk
     * (ChunkBoundarySyncTest; docs/paxos-log.md). Fails, instead of logging as Chronicle does, if an msync fails.
     */
    private void msyncPending() {
        if (pendingFromPosition < 0) {
            return;
        }
        if (appender.cycle() != pendingCycle) {
            throw new IllegalStateException("paxos log " + dir + ": the appender left cycle " + pendingCycle
                    + " (now " + appender.cycle() + ") before its bytes [" + pendingFromPosition + ", "
                    + pendingToPosition + ") were forced");
        }
        if (!(appender.wire().bytes() instanceof MappedBytes bytes)) {
            throw new IllegalStateException("paxos log " + dir + ": Chronicle's appender writes to "
                    + appender.wire().bytes().getClass().getName() + ", not to a mapped file; cannot msync it");
        }
        msync(bytes.mappedFile(), pendingFromPosition, pendingToPosition);
        syncedCycle = pendingCycle;
        syncedToPosition = pendingToPosition;
        pendingFromPosition = -1;
        pendingToPosition = -1;
    }

    /**
     * {@code msync(MS_SYNC)} of the file bytes [fromPosition, toPosition), chunk by chunk, each piece through the
     * mapping of the chunk it starts in, from the page holding its first byte (msync wants a page-aligned address).
     * A chunk's mapping runs past the chunk by Chronicle's overlap; when the rest of the range lies in it (documents
     * that start before the boundary are written there), the rest is msynced through it too, rather than mapping the
     * next chunk only to sync it.
     */
    private void msync(MappedFile file, long fromPosition, long toPosition) {
        int pageBytes = OS.pageSize();
        long position = fromPosition;
        while (position < toPosition) {
            MappedBytesStore chunk;
            try {
                chunk = file.acquireByteStore(syncOwner, position);
            } catch (IOException e) {
                throw new UncheckedIOException("paxos log " + dir + ": cannot map " + file.file() + " at " + position
                        + " to sync it", e);
            }
            try {
                long start = position - position % pageBytes;
                long end = chunk.inside(position, toPosition - position)
                        ? toPosition : Math.min(toPosition, chunk.safeLimit());
                if (start < chunk.start() || end <= position) {
                    throw new IllegalStateException("paxos log " + dir + ": chunk [" + chunk.start() + ", "
                            + chunk.safeLimit() + ") of " + file.file() + " cannot sync [" + position + ", "
                            + toPosition + ")");
                }
                PosixAPI posix = PosixAPI.posix();
                if (posix.msync(chunk.addressForRead(start), end - start, MSyncFlag.MS_SYNC) != 0) {
                    throw new UncheckedIOException(new IOException("msync(MS_SYNC) of bytes [" + start + ", " + end
                            + ") of " + file.file() + " failed: " + posix.lastErrorStr()));
                }
                position = end;
            } finally {
                chunk.release(syncOwner);
            }
        }
    }

    /** Restates everything live, so that the current cycle file alone rebuilds this exact state. */
    private void writeLiveState() {
        if (!state.promised.equals(Ballot.ZERO) || state.grantedLeaseEndEpochNanos != 0) {
            append(encoder.promise(state.promised, state.grantedLeaseEndEpochNanos));
        }
        if (state.snapshot != null) {
            append(encoder.snapshot(state.snapshot));
        }
        if (state.decidedUpTo != NO_SLOT) {
            append(encoder.decided(state.decidedUpTo));
        }
        List<Entry> live = new ArrayList<>(state.entries.values());
        int from = 0;
        while (from < live.size()) {
            int to = from;
            long bytes = 0;
            while (to < live.size() && to - from < limits.maxBatchEntries()
                    && (to == from || bytes + live.get(to).value().length <= limits.maxBatchValueBytes())) {
                bytes += live.get(to).value().length;
                to++;
            }
            append(encoder.accepted(live, from, to));
            from = to;
        }
    }

    /**
     * Points the generation clock at a new cycle file (the next append opens it). Under SYNC_EACH_BATCH, first forces
     * what is pending in the current file: afterwards the appender's mapping is of the new file.
     */
    private void rollToNewGeneration() {
        if (policy == SyncPolicy.SYNC_EACH_BATCH) {
            msyncPending();
        }
        generation = Math.max(generation, queue.lastCycle()) + 1;
        generationClock.currentTimeMillis(generation * (long) ROLL_CYCLE.lengthInMillis());
    }

    /**
     * Under SYNC_EACH_BATCH: msync what was written, then fsync the current cycle file (its header and size) and
     * the directory (its name), which msync does not cover. A new cycle file is forced once, at its first sync.
     */
    private void forceNewCycle() throws IOException {
        if (policy != SyncPolicy.SYNC_EACH_BATCH) {
            return;
        }
        msyncPending();
        int cycle = appender.cycle();
        try (FileChannel ch = FileChannel.open(fileOf(cycle), StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        fsyncDirectory();
        forcedCycle = cycle;
        unsynced = false;
    }

    private void fsyncDirectory() throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    private Path fileOf(int cycle) {
        return fileNames.resourceFor(cycle).path.toPath();
    }

    private List<Path> cycleFilesBelow(int cycle) throws IOException {
        List<Path> below = new ArrayList<>();
        try (var s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String name = p.getFileName().toString();
                if (!name.endsWith(SingleChronicleQueue.SUFFIX)) {
                    continue;
                }
                int c;
                try {
                    c = fileNames.parseCount(name.substring(0, name.length() - SingleChronicleQueue.SUFFIX.length()));
                } catch (RuntimeException e) {
                    log.warn("paxos log {}: leaving {} alone: its name is not a {} cycle", dir, p, ROLL_CYCLE);
                    continue;
                }
                if (c < cycle) {
                    below.add(p);
                }
            }
        }
        below.sort(null);
        return below;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("paxos log " + dir + " is closed");
        }
        if (failure != null) {
            throw new IllegalStateException("paxos log " + dir + " failed earlier (" + failure
                    + "); its in-memory state may be ahead of the disk: close and reopen it", failure);
        }
    }

    private RuntimeException fail(RuntimeException e) {
        if (failure == null) {
            failure = e;
        }
        return e;
    }
}
