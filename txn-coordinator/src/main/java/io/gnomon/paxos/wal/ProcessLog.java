package io.gnomon.paxos.wal;

import io.gnomon.paxos.DurableState;
import io.gnomon.paxos.PersistWrite;
import io.gnomon.paxos.runtime.GroupLog;
import io.gnomon.paxos.storage.DirectoryLock;
import io.gnomon.paxos.storage.SyncPolicy;
import io.gnomon.paxos.wal.WalCodec.CorruptFrameException;
import io.gnomon.paxos.wal.WalCodec.WalRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.LongFunction;
import java.util.zip.CRC32C;

/**
 * One write-ahead log for every Paxos group of a process (issue 19): the core's {@link PersistWrite}s, one frame
 * each, tagged with their group, in sequence-numbered segment files; per-group checkpoints let each group's old
 * frames go without the others'. Format, sync contract, recovery, truncation and limits: docs/process-log.md.
 *
 * <pre>{@code
 * try (ProcessLog wal = ProcessLog.open(dir, ProcessLogOptions.DEFAULTS)) {
 *     Map<Long, DurableState.Recovered> states = wal.recover(g -> new DurableState(membersOf(g)));
 *     GroupLog g7 = wal.group(7);       // what group 7's ReplicaDriver writes through
 *     g7.write(output.toPersist());     // one frame per write, not yet durable
 *     wal.sync();                       // one force for every group's writes since the last sync
 *     wal.checkpoint(7, state);         // group 7's frames before this are no longer needed
 *     wal.deleteUnneededSegments();     // segments no group needs
 * }
 * }</pre>
 *
 * <p>The log keeps no entry in memory: only, per group, where its latest checkpoint is and the first segment its
 * replay needs. Thread-safe (every method holds the log's monitor); a failed write or sync fails the log, which then
 * refuses everything until it is closed and reopened (its files may be behind what callers were told).
 */
public final class ProcessLog implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ProcessLog.class);

    static final String SUFFIX = ".wal";
    static final String LOCK_FILE = "process-log.lock";
    /** "GNOMWAL" and a zero, then u32 version, u32 zero: {@link ProcessLogOptions#SEGMENT_HEADER_BYTES}. */
    private static final byte[] MAGIC = "GNOMWAL\0".getBytes(StandardCharsets.US_ASCII);
    static final int VERSION = 1;

    /** Where a frame starts: ordered by segment, then offset. */
    record Position(long segment, long offset) implements Comparable<Position> {
        @Override
        public int compareTo(Position o) {
            int c = Long.compare(segment, o.segment);
            return c != 0 ? c : Long.compare(offset, o.offset);
        }
    }

    /** What the log remembers of a group: no entries, only positions. */
    private static final class GroupPositions {
        /** The first segment the group's replay reads: its latest checkpoint's, or its first frame's. */
        long firstNeededSegment;
        /**
         * Its latest checkpoint or FORGET, or null: replay skips the group's frames before it (a checkpoint restarts
         * the group from its state, a FORGET from nothing).
         */
        Position replayFrom;
        /** The latest of its frames is a FORGET: it needs no segment (a tombstone that keeps {@link #replayFrom}). */
        boolean forgotten;
    }

    /** A frame of {@code groupId} at {@code at}: a core write (0), a checkpoint (1) or a FORGET (2). */
    private static void note(Map<Long, GroupPositions> groups, long groupId, Position at, int kind) {
        GroupPositions g = groups.get(groupId);
        if (g == null) {
            g = new GroupPositions();
            g.firstNeededSegment = at.segment();
            groups.put(groupId, g);
        } else if (g.forgotten) {
            g.forgotten = false; // back after a FORGET: its replay starts there, its frames from here
            g.firstNeededSegment = at.segment();
        }
        if (kind != 0) {
            g.replayFrom = at;
            g.firstNeededSegment = at.segment();
            g.forgotten = kind == 2;
        }
    }

    private static int kindOf(WalRecord record) {
        return record instanceof WalCodec.Checkpoint ? 1 : record instanceof WalCodec.Forget ? 2 : 0;
    }

    private final Path dir;
    private final ProcessLogOptions options;
    private final FileChannel lockChannel;
    private final WalCodec.Encoder encoder;
    /** Segment number to file, oldest first; contiguous. */
    private final TreeMap<Long, Path> segments = new TreeMap<>();
    private final Map<Long, GroupPositions> groups = new HashMap<>();
    private long currentSegment;
    private FileChannel current;
    private long currentBytes;
    /**
     * The current segment's file size: frames end at {@link #currentBytes}, zeros follow up to here. Written ahead
     * in steps of {@link ProcessLogOptions#PREALLOCATE_BYTES} so that most syncs have no size or block allocation to
     * force, only data (an fdatasync of a file that grows also writes its metadata).
     */
    private long currentAllocated;
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(64 << 10);
    /** Bytes written to the current segment that no force covers yet (SYNC_EACH_BATCH). */
    private boolean currentUnforced;
    /** A segment was created since the directory was last forced. */
    private boolean directoryUnforced;
    private final String repairedTail;
    /** Groups {@link #truncate} could not checkpoint (too big a frame) and has said so once. */
    private final java.util.Set<Long> tooBigToCheckpoint = new java.util.HashSet<>();
    /** For tests: each segment forced, in order, and -1 for each directory force. */
    private final List<Long> forcesForTest = new ArrayList<>();
    private RuntimeException failure;
    private boolean closed;

    private ProcessLog(Path dir, ProcessLogOptions options, FileChannel lockChannel, String repairedTail) {
        this.dir = dir;
        this.options = options;
        this.lockChannel = lockChannel;
        this.encoder = new WalCodec.Encoder(options.maxFrameBytes());
        this.repairedTail = repairedTail;
    }

    /**
     * Opens (creating if needed) the process log in {@code dir}: takes the directory's lock, scans every segment,
     * repairs a torn or damaged tail of the last segment (truncating it at the first frame that does not check out,
     * one WARN line saying where and how many bytes went), and refuses a damaged frame anywhere else.
     *
     * @throws IOException naming segment, offset and problem if a frame before the last segment's tail is damaged or
     *                     a segment is missing; naming the holder's pid if another writer holds the directory
     */
    public static ProcessLog open(Path dir, ProcessLogOptions options) throws IOException {
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(options, "options");
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new IOException("process log " + dir + " is not a directory; point the log at a directory");
        }
        Files.createDirectories(dir);
        FileChannel lock = DirectoryLock.acquire(dir, LOCK_FILE, "process log");
        try {
            return openLocked(dir, options, lock);
        } catch (IOException | RuntimeException e) {
            lock.close();
            throw e;
        }
    }

    private static ProcessLog openLocked(Path dir, ProcessLogOptions options, FileChannel lock) throws IOException {
        TreeMap<Long, Path> found = listSegments(dir);
        String repaired = null;
        Map<Long, GroupPositions> groups = new HashMap<>();
        long previous = -1;
        long lastEnd = 0;
        for (Map.Entry<Long, Path> s : found.entrySet()) {
            if (previous >= 0 && s.getKey() != previous + 1) {
                throw new IOException("process log " + dir + ": segment " + segmentName(previous + 1)
                        + " is missing between " + segmentName(previous) + " and " + s.getValue().getFileName()
                        + " (segments are only ever deleted oldest first); restore it or move the log aside");
            }
            previous = s.getKey();
            boolean last = s.getKey().equals(found.lastKey());
            Scanned r = scan(dir, options, s.getKey(), s.getValue(), last, groups);
            if (r.repaired() != null) {
                repaired = r.repaired();
            }
            lastEnd = r.end();
        }
        ProcessLog l = new ProcessLog(dir, options, lock, repaired);
        l.segments.putAll(found);
        l.groups.putAll(groups);
        if (found.isEmpty()) {
            l.createSegment(1);
        } else {
            l.currentSegment = found.lastKey();
            l.current = FileChannel.open(found.lastEntry().getValue(), StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
            l.currentBytes = lastEnd;
            l.currentAllocated = l.current.size();
        }
        return l;
    }

    private static TreeMap<Long, Path> listSegments(Path dir) throws IOException {
        TreeMap<Long, Path> found = new TreeMap<>();
        try (var list = Files.list(dir)) {
            for (Path p : (Iterable<Path>) list::iterator) {
                String name = p.getFileName().toString();
                if (!name.endsWith(SUFFIX)) {
                    continue;
                }
                String digits = name.substring(0, name.length() - SUFFIX.length());
                if (digits.length() != 16 || !digits.chars().allMatch(Character::isDigit)) {
                    log.warn("process log {}: leaving {} alone: not a segment name (16 digits + {})", dir, name, SUFFIX);
                    continue;
                }
                found.put(Long.parseLong(digits), p);
            }
        }
        return found;
    }

    static String segmentName(long segment) {
        return String.format("%016d%s", segment, SUFFIX);
    }

    /**
     * Checks every frame of one segment and notes, per group, its first frame and latest checkpoint. Repairs the
     * last segment's tail (returns the line that says so); throws for damage anywhere else.
     */
    private static Scanned scan(Path dir, ProcessLogOptions options, long segment, Path file, boolean last,
                                Map<Long, GroupPositions> groups) throws IOException {
        long size = Files.size(file);
        if (size > ProcessLogOptions.MAX_SEGMENT_BYTES + options.maxFrameBytes()) {
            throw new IOException("process log " + dir + ": segment " + file.getFileName() + " holds " + size
                    + " bytes, more than a segment can (" + ProcessLogOptions.MAX_SEGMENT_BYTES + " + one frame)");
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
            map.order(ByteOrder.LITTLE_ENDIAN);
            String headerProblem = headerProblem(map, size);
            if (headerProblem != null) {
                if (last && (size < ProcessLogOptions.SEGMENT_HEADER_BYTES && isHeaderPrefix(map, size)
                        || allZero(map, 0, Math.min(size, ProcessLogOptions.SEGMENT_HEADER_BYTES)))) {
                    // created, then killed before its header was complete (or before its first page reached the disk,
                    // with a size that did): no sync covered it, so nothing in it was acknowledged
                    ch.truncate(0);
                    ch.write(header(), 0);
                    forceIfSyncing(options, ch);
                    String line = "process log " + dir + ": segment " + file.getFileName() + " had a torn header ("
                            + size + " bytes): rewrote it";
                    log.warn(line);
                    return new Scanned(line, ProcessLogOptions.SEGMENT_HEADER_BYTES);
                }
                throw new IOException(corrupt(dir, file, 0, headerProblem, last));
            }
            CRC32C crc = new CRC32C();
            long pos = ProcessLogOptions.SEGMENT_HEADER_BYTES;
            while (pos < size) {
                String problem = null;
                long bodyBytes = 0;
                WalRecord record = null;
                boolean zeroHeader = size - pos < WalCodec.FRAME_HEADER_BYTES ? allZero(map, pos, size)
                        : map.getLong((int) pos) == 0;
                if (last && zeroHeader && allZero(map, pos, size)) {
                    return new Scanned(null, pos); // the preallocated zeros after the last frame: the log's end
                }
                if (zeroHeader && last) {
                    problem = "a zero frame header followed by other bytes than zeros (a torn write)";
                } else if (size - pos < WalCodec.FRAME_HEADER_BYTES) {
                    problem = "a frame header cut short: " + (size - pos) + " of " + WalCodec.FRAME_HEADER_BYTES + " bytes";
                } else {
                    bodyBytes = Integer.toUnsignedLong(map.getInt((int) pos));
                    long maxBody = options.maxFrameBytes() - WalCodec.FRAME_HEADER_BYTES;
                    if (bodyBytes < WalCodec.MIN_BODY_BYTES || bodyBytes > maxBody) {
                        problem = "frame length " + bodyBytes + " outside [" + WalCodec.MIN_BODY_BYTES + ", " + maxBody + "]";
                    } else if (pos + WalCodec.FRAME_HEADER_BYTES + bodyBytes > size) {
                        problem = "a frame of " + bodyBytes + " bytes runs past the end of the segment (" + size + " bytes)";
                    } else {
                        ByteBuffer body = map.slice((int) pos + WalCodec.FRAME_HEADER_BYTES, (int) bodyBytes);
                        crc.reset();
                        crc.update(body.duplicate());
                        int stored = map.getInt((int) pos + 4);
                        if (stored != (int) crc.getValue()) {
                            problem = "checksum mismatch: stored crc32c " + Integer.toHexString(stored) + ", computed "
                                    + Integer.toHexString((int) crc.getValue());
                        } else {
                            try {
                                record = WalCodec.decode(body);
                            } catch (CorruptFrameException e) {
                                problem = e.getMessage();
                            }
                        }
                    }
                }
                if (problem != null) {
                    if (!last) {
                        throw new IOException(corrupt(dir, file, pos, problem, false));
                    }
                    ch.truncate(pos);
                    forceIfSyncing(options, ch);
                    String line = "process log " + dir + ": torn tail repaired: segment " + file.getFileName()
                            + " at offset " + pos + ": " + problem + "; truncated " + (size - pos)
                            + " byte(s) there (never acknowledged by a sync if the disk kept what it was given)";
                    log.warn(line);
                    return new Scanned(line, pos);
                }
                note(groups, record.groupId(), new Position(segment, pos), kindOf(record));
                pos += WalCodec.FRAME_HEADER_BYTES + bodyBytes;
            }
            return new Scanned(null, size);
        }
    }

    /** What {@link #scan} found: the repair it made (or null) and where the segment's frames end. */
    private record Scanned(String repaired, long end) {
    }

    /** Whether bytes [from, to) of {@code map} are all zero. */
    private static boolean allZero(ByteBuffer map, long from, long to) {
        int i = (int) from;
        for (; i + 8 <= to; i += 8) {
            if (map.getLong(i) != 0) {
                return false;
            }
        }
        for (; i < to; i++) {
            if (map.get(i) != 0) {
                return false;
            }
        }
        return true;
    }

    private static String corrupt(Path dir, Path file, long offset, String problem, boolean last) {
        return "process log " + dir + ": segment " + file.getFileName() + " at offset " + offset + ": " + problem
                + (last ? "" : "; this is not the tail of the last segment, so it is not a torn write: the disk "
                + "returned other bytes than were written") + ". Refusing to open: restore the directory from a "
                + "replica or move it aside";
    }

    private static String headerProblem(ByteBuffer map, long size) {
        if (size < ProcessLogOptions.SEGMENT_HEADER_BYTES) {
            return "a segment header cut short: " + size + " of " + ProcessLogOptions.SEGMENT_HEADER_BYTES + " bytes";
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (map.get(i) != MAGIC[i]) {
                return "not a process log segment (bad magic)";
            }
        }
        int version = map.getInt(MAGIC.length);
        if (version != VERSION) {
            return "segment format version " + version + ", this build reads " + VERSION;
        }
        return null;
    }

    private static boolean isHeaderPrefix(ByteBuffer map, long size) {
        ByteBuffer h = header();
        for (int i = 0; i < size; i++) {
            if (map.get(i) != h.get(i)) {
                return false;
            }
        }
        return true;
    }

    private static ByteBuffer header() {
        ByteBuffer h = ByteBuffer.allocate(ProcessLogOptions.SEGMENT_HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        h.put(MAGIC).putInt(VERSION).putInt(0).flip();
        return h;
    }

    private static void forceIfSyncing(ProcessLogOptions options, FileChannel ch) throws IOException {
        if (options.syncPolicy() == SyncPolicy.SYNC_EACH_BATCH) {
            ch.force(false);
        }
    }

    // ---------------------------------------------------------------- recovery

    /**
     * Replays every group's frames, in order, into a {@link DurableState} per group: from its latest checkpoint if
     * it has one, otherwise from {@code initialState.apply(groupId)} (e.g. {@code new DurableState(initialMembers)}
     * or {@link DurableState#joining()}; a new instance per call: replay mutates it). Groups with no frame are absent. Reads the segments again (the log keeps
     * no entry in memory); call it once, after {@link #open}.
     */
    public synchronized Map<Long, DurableState.Recovered> recover(LongFunction<DurableState> initialState) {
        checkOpen();
        Objects.requireNonNull(initialState, "initialState");
        Map<Long, DurableState> states = new HashMap<>();
        CRC32C crc = new CRC32C();
        try {
            for (Map.Entry<Long, Path> s : segments.entrySet()) {
                long segment = s.getKey();
                try (FileChannel ch = FileChannel.open(s.getValue(), StandardOpenOption.READ)) {
                    long size = segment == currentSegment ? currentBytes : ch.size();
                    MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
                    map.order(ByteOrder.LITTLE_ENDIAN);
                    long pos = ProcessLogOptions.SEGMENT_HEADER_BYTES;
                    while (pos < size) {
                        int bodyBytes = map.getInt((int) pos);
                        ByteBuffer body = map.slice((int) pos + WalCodec.FRAME_HEADER_BYTES, bodyBytes);
                        crc.reset();
                        crc.update(body.duplicate());
                        if (map.getInt((int) pos + 4) != (int) crc.getValue()) {
                            throw new IllegalStateException("process log " + dir + ": segment "
                                    + s.getValue().getFileName() + " at offset " + pos
                                    + " changed on disk since it was opened (checksum mismatch)");
                        }
                        WalRecord record;
                        try {
                            record = WalCodec.decode(body);
                        } catch (CorruptFrameException e) {
                            throw new IllegalStateException("process log " + dir + ": segment "
                                    + s.getValue().getFileName() + " at offset " + pos + ": " + e.getMessage(), e);
                        }
                        replay(states, record, new Position(segment, pos), initialState);
                        pos += WalCodec.FRAME_HEADER_BYTES + bodyBytes;
                    }
                }
            }
        } catch (IOException e) {
            throw fail(new UncheckedIOException("process log " + dir + ": cannot read it back; reopen it", e));
        }
        Map<Long, DurableState.Recovered> out = new HashMap<>();
        states.forEach((g, st) -> out.put(g, st.toRecovered()));
        return out;
    }

    private void replay(Map<Long, DurableState> states, WalRecord record, Position at,
                        LongFunction<DurableState> initialState) {
        GroupPositions g = groups.get(record.groupId());
        Position from = g == null ? null : g.replayFrom;
        if (from != null && at.compareTo(from) < 0) {
            return; // superseded by the group's latest checkpoint (and maybe in a segment others still need)
        }
        if (record instanceof WalCodec.Checkpoint c) {
            states.put(c.groupId(), restore(c.state()));
        } else if (record instanceof WalCodec.Forget f) {
            states.remove(f.groupId());
        } else if (record instanceof WalCodec.Write w) {
            states.computeIfAbsent(w.groupId(), id -> Objects.requireNonNull(initialState.apply(id),
                    "initial state of group " + id)).apply(w.write());
        }
    }

    /**
     * A DurableState equal to {@code r}, built only through {@link DurableState#apply}: enter r's configuration,
     * install its snapshot, append its entries at its accepted round, then promise, decided index and lease end.
     */
    static DurableState restore(DurableState.Recovered r) {
        DurableState s = new DurableState(List.of());
        s.apply(new PersistWrite.PersistConfig(r.configId(), r.members(), r.configStartIndex(), 0));
        if (r.snapshot() != null) {
            s.apply(new PersistWrite.PersistSnapshot(r.snapshot()));
        }
        s.apply(new PersistWrite.PersistAccepted(r.configId(), r.acceptedRound(), r.firstSlot(), r.entries()));
        s.apply(new PersistWrite.PersistPromise(r.configId(), r.promised()));
        s.apply(new PersistWrite.PersistDecided(r.decidedIndex()));
        if (r.grantedLeaseEndEpochNanos() > 0) {
            s.apply(new PersistWrite.PersistLeaseGrant(r.grantedLeaseEndEpochNanos()));
        }
        return s;
    }

    // ---------------------------------------------------------------- writes

    /** The view group {@code groupId}'s {@link io.gnomon.paxos.runtime.ReplicaDriver} writes through. */
    public GroupLog group(long groupId) {
        return new GroupView(this, groupId);
    }

    /**
     * Appends one frame per write of group {@code groupId}, in order, without syncing. Refuses the whole batch
     * (nothing written) if one write would encode past {@link ProcessLogOptions#maxFrameBytes()}.
     */
    synchronized void append(long groupId, List<PersistWrite> writes) {
        Objects.requireNonNull(writes, "writes");
        checkOpen();
        for (PersistWrite w : writes) {
            long frameBytes = WalCodec.FRAME_HEADER_BYTES + WalCodec.bodyBytes(Objects.requireNonNull(w, "write"));
            if (frameBytes > options.maxFrameBytes()) {
                throw new IllegalArgumentException("a " + w.getClass().getSimpleName() + " of group " + groupId
                        + " encodes to " + frameBytes + " bytes, more than maxFrameBytes " + options.maxFrameBytes()
                        + "; nothing of the batch was written");
            }
        }
        try {
            encoder.reset();
            for (PersistWrite w : writes) {
                rollIfFull(WalCodec.FRAME_HEADER_BYTES + WalCodec.bodyBytes(w));
                long offset = currentBytes + encoder.buffer().position();
                encoder.write(groupId, w);
                noteWritten(groupId, offset, 0);
            }
            writePending();
        } catch (IOException e) {
            throw fail(new UncheckedIOException("process log " + dir + ": write failed; reopen the log to recover", e));
        } catch (RuntimeException e) {
            throw fail(e);
        }
    }

    /**
     * Writes group {@code groupId}'s whole durable state (what applying all its writes so far gives) as one
     * CHECKPOINT frame: from then on replay starts the group there, and segments before it are no longer needed for
     * the group. Not synced; {@link #deleteUnneededSegments()} syncs before it deletes anything.
     *
     * @throws IllegalArgumentException if the state would encode past {@link ProcessLogOptions#maxFrameBytes()}
     *                                  (snapshot more often) or is not one {@link DurableState} can hold
     */
    public synchronized void checkpoint(long groupId, DurableState.Recovered state) {
        Objects.requireNonNull(state, "state");
        checkOpen();
        long frameBytes = WalCodec.FRAME_HEADER_BYTES + WalCodec.checkpointBodyBytes(state);
        if (frameBytes > options.maxFrameBytes()) {
            throw new IllegalArgumentException("the checkpoint of group " + groupId + " encodes to " + frameBytes
                    + " bytes, more than maxFrameBytes " + options.maxFrameBytes()
                    + "; snapshot the group (fewer entries above the snapshot) or raise maxFrameBytes");
        }
        DurableState.Recovered again;
        try {
            again = restore(state).toRecovered();
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("group " + groupId + ": not a state DurableState can hold: " + e.getMessage(), e);
        }
        if (!again.equals(state)) {
            throw new IllegalArgumentException("group " + groupId + ": not a state DurableState can hold (firstSlot "
                    + state.firstSlot() + " must be the snapshot's end, or 0 without one): " + state);
        }
        try {
            encoder.reset();
            rollIfFull(frameBytes);
            long offset = currentBytes;
            encoder.checkpoint(groupId, state);
            writePending();
            noteWritten(groupId, offset, 1);
        } catch (IOException e) {
            throw fail(new UncheckedIOException("process log " + dir + ": checkpoint failed; reopen the log to recover", e));
        } catch (RuntimeException e) {
            throw fail(e);
        }
    }

    /**
     * Writes that group {@code groupId} left this process (a FORGET frame): replay drops what it had of the group,
     * and its frames no longer keep any segment. Not synced, like a write. A later write of the group starts it
     * afresh.
     */
    public synchronized void forget(long groupId) {
        checkOpen();
        try {
            encoder.reset();
            rollIfFull(WalCodec.FRAME_HEADER_BYTES + WalCodec.MIN_BODY_BYTES);
            long offset = currentBytes;
            encoder.forget(groupId);
            writePending();
            noteWritten(groupId, offset, 2);
        } catch (IOException e) {
            throw fail(new UncheckedIOException("process log " + dir + ": forget failed; reopen the log to recover", e));
        } catch (RuntimeException e) {
            throw fail(e);
        }
    }

    private void noteWritten(long groupId, long offset, int kind) {
        note(groups, groupId, new Position(currentSegment, offset), kind);
    }

    /** Rolls to a new segment when the pending frames and one more of {@code frameBytes} would pass the limit. */
    private void rollIfFull(long frameBytes) throws IOException {
        long used = currentBytes + encoder.buffer().position();
        if (used + frameBytes <= options.segmentBytes() || used == ProcessLogOptions.SEGMENT_HEADER_BYTES) {
            return;
        }
        writePending();
        boolean cut = currentAllocated > currentBytes;
        if (cut) {
            // Only the last segment ends in preallocated zeros: an older one ends with its last frame, so that
            // anything but a frame there is damage.
            current.truncate(currentBytes);
        }
        if (options.syncPolicy() == SyncPolicy.SYNC_EACH_BATCH && (currentUnforced || cut)) {
            // Forced (with its new size) before the next segment exists: a later segment then always follows a
            // complete one, so that damage before the last segment's tail is corruption, never a torn write.
            current.force(cut);
            forcesForTest.add(currentSegment);
        }
        current.close();
        createSegment(currentSegment + 1);
    }

    private void createSegment(long segment) throws IOException {
        Path file = dir.resolve(segmentName(segment));
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        ByteBuffer h = header();
        while (h.hasRemaining()) {
            ch.write(h, h.position());
        }
        segments.put(segment, file);
        current = ch;
        currentSegment = segment;
        currentBytes = ProcessLogOptions.SEGMENT_HEADER_BYTES;
        currentAllocated = currentBytes;
        currentUnforced = true;
        directoryUnforced = true;
    }

    private void writePending() throws IOException {
        ByteBuffer buf = encoder.buffer();
        buf.flip();
        if (buf.hasRemaining()) {
            currentUnforced = true;
            preallocate(currentBytes + buf.remaining());
        }
        while (buf.hasRemaining()) {
            currentBytes += current.write(buf, currentBytes);
        }
        buf.clear();
    }

    /** Extends the current segment with zeros, a step at a time, so that it holds at least {@code end} bytes. */
    private void preallocate(long end) throws IOException {
        if (end <= currentAllocated) {
            return;
        }
        long target = Math.max(end, Math.min(currentAllocated + ProcessLogOptions.PREALLOCATE_BYTES,
                options.segmentBytes()));
        long pos = currentAllocated;
        while (pos < target) {
            ByteBuffer z = ZEROS.duplicate();
            z.limit((int) Math.min(z.capacity(), target - pos));
            pos += current.write(z, pos);
        }
        currentAllocated = target;
    }

    /**
     * Makes every frame written so far, by every group, durable under {@link SyncPolicy#SYNC_EACH_BATCH}: forces the
     * current segment ({@code force(false)}: data and the size needed to read it) and, when a segment was created
     * since the last sync, the directory. Earlier segments a batch touched were forced when it rolled past them.
     * Under {@link SyncPolicy#NONE} it does nothing.
     */
    public synchronized void sync() {
        checkOpen();
        if (options.syncPolicy() == SyncPolicy.NONE) {
            currentUnforced = false;
            return;
        }
        try {
            if (currentUnforced) {
                current.force(false);
                forcesForTest.add(currentSegment);
                currentUnforced = false;
            }
            if (directoryUnforced) {
                forceDirectory();
                directoryUnforced = false;
            }
        } catch (IOException e) {
            throw fail(new UncheckedIOException("process log " + dir + ": sync failed; reopen the log to recover", e));
        }
    }

    private void forceDirectory() throws IOException {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
        forcesForTest.add(-1L);
    }

    // ---------------------------------------------------------------- truncation

    /** The oldest segment still on disk. */
    public synchronized long oldestSegment() {
        return segments.firstKey();
    }

    /** The segment frames are appended to now. */
    public synchronized long currentSegment() {
        return currentSegment;
    }

    /**
     * The groups whose replay still needs {@code segment} (their latest checkpoint, or their first frame when they
     * never checkpointed, is in it or before it), ascending: the ones to checkpoint so that it can go.
     */
    public synchronized List<Long> groupsPinning(long segment) {
        List<Long> out = new ArrayList<>();
        groups.forEach((id, g) -> {
            if (!g.forgotten && g.firstNeededSegment <= segment) {
                out.add(id);
            }
        });
        out.sort(null);
        return out;
    }

    /**
     * Syncs, then deletes every segment, oldest first, that no group needs (before every group's first needed
     * segment, and never the current one); forces the directory after. Returns the deleted segment numbers.
     */
    public synchronized List<Long> deleteUnneededSegments() {
        checkOpen();
        sync(); // a checkpoint must be durable before the frames it replaces go
        long keepFrom = currentSegment;
        for (GroupPositions g : groups.values()) {
            if (!g.forgotten) {
                keepFrom = Math.min(keepFrom, g.firstNeededSegment);
            }
        }
        List<Long> deleted = new ArrayList<>();
        try {
            while (segments.firstKey() < keepFrom) {
                Map.Entry<Long, Path> oldest = segments.firstEntry();
                Files.delete(oldest.getValue());
                segments.remove(oldest.getKey());
                deleted.add(oldest.getKey());
            }
            if (!deleted.isEmpty() && options.syncPolicy() == SyncPolicy.SYNC_EACH_BATCH) {
                forceDirectory();
            }
        } catch (IOException e) {
            throw fail(new UncheckedIOException("process log " + dir + ": deleting segments failed; reopen the log", e));
        }
        return deleted;
    }

    /**
     * The log's truncation policy, for the thread that owns the cores of {@code groupIds}, between turns (when each
     * core's state is what its written frames give): once the log holds more than {@code keepSegments} segments,
     * checkpoints every one of those groups whose replay still needs a segment before the current one, with the state
     * {@code stateOf} gives now ({@link io.gnomon.paxos.PaxosReplica#durableState()}), then deletes the segments no
     * group needs ({@link #deleteUnneededSegments()}, which syncs first). A group not in {@code groupIds} keeps its
     * segments. Under a steady load the log then holds about {@code keepSegments} segments plus one, whatever the
     * number of groups, as long as their checkpoints fit in a segment. Cheap when nothing is due: one comparison. A
     * group whose checkpoint would encode past {@link ProcessLogOptions#maxFrameBytes()} is skipped (one WARN line):
     * it keeps its segments until it has snapshotted.
     *
     * @return the groups checkpointed, in the order they were
     */
    public synchronized List<Long> truncate(int keepSegments, Iterable<Long> groupIds,
                                            LongFunction<DurableState.Recovered> stateOf) {
        if (keepSegments < 1) {
            throw new IllegalArgumentException("keepSegments must be >= 1, was " + keepSegments);
        }
        checkOpen();
        if (segments.size() <= keepSegments) {
            return List.of();
        }
        long current = currentSegment;
        List<Long> checkpointed = new ArrayList<>();
        for (long id : groupIds) {
            GroupPositions g = groups.get(id);
            if (g != null && !g.forgotten && g.firstNeededSegment < current) {
                DurableState.Recovered state = stateOf.apply(id);
                long frameBytes = WalCodec.FRAME_HEADER_BYTES + WalCodec.checkpointBodyBytes(state);
                if (frameBytes > options.maxFrameBytes()) {
                    // Not a reason to stop the replica: the group keeps its segments until it snapshots.
                    if (tooBigToCheckpoint.add(id)) {
                        log.warn("process log {}: group {} keeps its segments: its checkpoint would take {} bytes, more"
                                + " than maxFrameBytes {}; it goes once the group has snapshotted (fewer entries above"
                                + " its snapshot)", dir, id, frameBytes, options.maxFrameBytes());
                    }
                    continue;
                }
                tooBigToCheckpoint.remove(id);
                checkpoint(id, state);
                checkpointed.add(id);
            }
        }
        deleteUnneededSegments();
        return checkpointed;
    }

    // ---------------------------------------------------------------- lifecycle

    /** The line that {@link #open} logged when it repaired a torn tail, or null. */
    public String repairedTail() {
        return repairedTail;
    }

    /** Syncs (unless a write failed) and releases the directory's lock. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        try {
            if (failure == null) {
                sync();
            }
        } finally {
            closed = true;
            try {
                current.close();
            } catch (IOException e) {
                log.warn("closing {}: {}", segmentName(currentSegment), e.toString());
            }
            try {
                lockChannel.close();
            } catch (IOException e) {
                log.warn("closing the lock of {}: {}", dir, e.toString());
            }
        }
    }

    /** Where the current segment's frames end (its file is longer: preallocated zeros follow). */
    synchronized long endOfFramesForTest() {
        return currentBytes;
    }

    synchronized List<Long> forcesForTest() {
        return List.copyOf(forcesForTest);
    }

    synchronized Path segmentFile(long segment) {
        return segments.get(segment);
    }

    /** For tests: a correctly framed frame of any type and body, appended unsynced. */
    synchronized void appendRawForTest(long groupId, byte type, byte[] rest) throws IOException {
        encoder.reset();
        long offset = currentBytes;
        encoder.raw(groupId, type, rest);
        writePending();
        noteWritten(groupId, offset, 0);
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("process log " + dir + " is closed");
        }
        if (failure != null) {
            throw new IllegalStateException("process log " + dir + " failed earlier (" + failure
                    + "); its files may be behind what callers were told: close and reopen it", failure);
        }
    }

    private RuntimeException fail(RuntimeException e) {
        if (failure == null) {
            failure = e;
        }
        return e;
    }

    /** One group's {@link GroupLog}: its writes become frames of the process log; its sync is the log's sync. */
    private static final class GroupView implements GroupLog {
        private final ProcessLog wal;
        private final long groupId;
        private volatile boolean closed;

        GroupView(ProcessLog wal, long groupId) {
            this.wal = wal;
            this.groupId = groupId;
        }

        @Override
        public void write(List<PersistWrite> writes) {
            if (closed) {
                throw new IllegalStateException("the log view of group " + groupId + " is closed");
            }
            wal.append(groupId, writes);
        }

        @Override
        public void sync() {
            if (closed) {
                throw new IllegalStateException("the log view of group " + groupId + " is closed");
            }
            wal.sync();
        }

        /** Closes this view only: the process log stays open for the other groups. */
        @Override
        public void close() {
            closed = true;
        }
    }
}
