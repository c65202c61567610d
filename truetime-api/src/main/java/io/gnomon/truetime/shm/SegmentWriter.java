package io.gnomon.truetime.shm;

import io.gnomon.truetime.ClockSnapshot;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The single writer of a Gnomon TrueTime segment (the clock daemon). Publishes snapshots with a seqlock:
 * the sequence is made odd, the fields written, then the sequence made even again with release semantics.
 *
 * <p>An existing valid segment is reused and its sequence continued, so readers that mapped it keep
 * working across a daemon restart. A missing or invalid file is replaced atomically (written aside, then
 * renamed), so a reader never maps a half-initialised header.
 */
public final class SegmentWriter implements AutoCloseable {

    private static final VarHandle LONGS = MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INTS = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final MappedByteBuffer buffer;
    private final int pid;
    private long sequence;

    private SegmentWriter(Path path, MappedByteBuffer buffer) {
        this.path = path;
        this.buffer = buffer;
        this.pid = (int) ProcessHandle.current().pid();
        long existing = (long) LONGS.getAcquire(buffer, SegmentLayout.OFF_SEQUENCE);
        // Continue after whatever a previous writer left, even if it died mid-write (odd).
        this.sequence = (existing + 1) & ~1L;
    }

    /** Opens (or creates) the segment at {@code path} for writing. */
    public static SegmentWriter open(Path path) throws IOException {
        if (!isValidSegment(path)) {
            ByteBuffer header = ByteBuffer.allocate(SegmentLayout.SEGMENT_SIZE).order(ByteOrder.LITTLE_ENDIAN);
            header.putInt(SegmentLayout.OFF_MAGIC, SegmentLayout.MAGIC);
            header.putShort(SegmentLayout.OFF_VERSION, SegmentLayout.VERSION);
            header.putShort(SegmentLayout.OFF_SIZE, (short) SegmentLayout.SEGMENT_SIZE);
            SegmentFiles.createAtomically(path, header);
        }
        return new SegmentWriter(path, SegmentFiles.mapReadWrite(path, SegmentLayout.SEGMENT_SIZE));
    }

    private static boolean isValidSegment(Path path) throws IOException {
        if (!Files.isRegularFile(path) || Files.size(path) != SegmentLayout.SEGMENT_SIZE) {
            return false;
        }
        ByteBuffer header = SegmentFiles.readHeader(path, 8).order(ByteOrder.LITTLE_ENDIAN);
        return header.getInt(SegmentLayout.OFF_MAGIC) == SegmentLayout.MAGIC
                && header.getShort(SegmentLayout.OFF_VERSION) == SegmentLayout.VERSION;
    }

    /** Publishes one snapshot. Not thread-safe against itself: one publishing thread per segment. */
    public synchronized void publish(ClockSnapshot s) {
        LONGS.setOpaque(buffer, SegmentLayout.OFF_SEQUENCE, sequence + 1);
        VarHandle.storeStoreFence();
        LONGS.setOpaque(buffer, SegmentLayout.OFF_AS_OF_MONOTONIC, s.asOfMonotonicNanos());
        LONGS.setOpaque(buffer, SegmentLayout.OFF_EPOCH_OFFSET, s.epochOffsetNanos());
        LONGS.setOpaque(buffer, SegmentLayout.OFF_BOUND, s.boundNanos());
        LONGS.setOpaque(buffer, SegmentLayout.OFF_VOID_AFTER_MONOTONIC, s.voidAfterMonotonicNanos());
        LONGS.setOpaque(buffer, SegmentLayout.OFF_MAX_DRIFT_PPB, s.maxDriftPpb());
        INTS.setOpaque(buffer, SegmentLayout.OFF_STATUS, s.status().code());
        INTS.setOpaque(buffer, SegmentLayout.OFF_WRITER_PID, pid);
        sequence += 2;
        LONGS.setRelease(buffer, SegmentLayout.OFF_SEQUENCE, sequence);
    }

    public Path path() {
        return path;
    }

    @Override
    public void close() {
        buffer.force();
    }
}
