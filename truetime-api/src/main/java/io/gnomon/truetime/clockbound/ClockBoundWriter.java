package io.gnomon.truetime.clockbound;

import io.gnomon.truetime.shm.SegmentFiles;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The single writer of a ClockBound v2 segment (clockd, when configured to publish one). Publishes with
 * ClockBound's generation protocol: the 16-bit generation is made odd, the fields written, then the
 * generation made even with release semantics; on wrapping it skips 0 (which readers take for "never
 * written") and goes to 2.
 *
 * <p>An existing valid v2 segment is reused and its generation continued, so clients that mapped it keep
 * working across a restart (as ClockBound's own writer does). A missing or invalid file is replaced
 * atomically (written aside, then renamed), so no reader maps a half-written header.
 */
public final class ClockBoundWriter implements AutoCloseable {

    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final VarHandle LONGS = MethodHandles.byteBufferViewVarHandle(long[].class, NATIVE);
    private static final VarHandle INTS = MethodHandles.byteBufferViewVarHandle(int[].class, NATIVE);
    private static final VarHandle SHORTS = MethodHandles.byteBufferViewVarHandle(short[].class, NATIVE);

    private final Path path;
    private final MappedByteBuffer buffer;
    /** The generation this writer last stored (even, or 0 before the first publication). */
    private int generation;

    private ClockBoundWriter(Path path, MappedByteBuffer buffer) {
        this.path = path;
        this.buffer = buffer;
        int found = (short) SHORTS.getAcquire(buffer, ClockBoundLayout.OFF_GENERATION) & 0xFFFF;
        // A writer that died mid-write left it odd: the next publication starts from that odd value.
        this.generation = (found & 1) == 1 ? found - 1 : found;
    }

    /** Opens (or creates) the segment at {@code path} for writing; creates the parent directory if needed. */
    public static ClockBoundWriter open(Path path) throws IOException {
        if (!isValidSegment(path)) {
            ByteBuffer header = ByteBuffer.allocate(ClockBoundLayout.SEGMENT_SIZE).order(NATIVE);
            header.putInt(ClockBoundLayout.OFF_MAGIC_0, ClockBoundLayout.MAGIC_WORD_0);
            header.putInt(ClockBoundLayout.OFF_MAGIC_1, ClockBoundLayout.MAGIC_WORD_1);
            header.putInt(ClockBoundLayout.OFF_SEGMENT_SIZE, ClockBoundLayout.SEGMENT_SIZE);
            header.putShort(ClockBoundLayout.OFF_VERSION, ClockBoundLayout.VERSION);
            header.putShort(ClockBoundLayout.OFF_GENERATION, (short) 0);
            SegmentFiles.createAtomically(path, header);
        }
        return new ClockBoundWriter(path, SegmentFiles.mapReadWrite(path, ClockBoundLayout.SEGMENT_SIZE));
    }

    private static boolean isValidSegment(Path path) throws IOException {
        if (!Files.isRegularFile(path) || Files.size(path) != ClockBoundLayout.SEGMENT_SIZE) {
            return false;
        }
        ByteBuffer header = SegmentFiles.readHeader(path, 16).order(NATIVE);
        return header.getInt(ClockBoundLayout.OFF_MAGIC_0) == ClockBoundLayout.MAGIC_WORD_0
                && header.getInt(ClockBoundLayout.OFF_MAGIC_1) == ClockBoundLayout.MAGIC_WORD_1
                && header.getInt(ClockBoundLayout.OFF_SEGMENT_SIZE) == ClockBoundLayout.SEGMENT_SIZE
                && header.getShort(ClockBoundLayout.OFF_VERSION) == ClockBoundLayout.VERSION;
    }

    /** The generation after {@code even}: odd while writing, then even, skipping 0 on wrapping. */
    static int nextGeneration(int even) {
        int next = (even + 2) & 0xFFFF;
        return next == 0 ? 2 : next;
    }

    /** Publishes one bound. One publishing thread per segment. */
    public synchronized void publish(ClockBoundSnapshot s) {
        int writing = (generation + 1) & 0xFFFF;
        SHORTS.setOpaque(buffer, ClockBoundLayout.OFF_GENERATION, (short) writing);
        VarHandle.storeStoreFence();
        LONGS.setOpaque(buffer, ClockBoundLayout.OFF_AS_OF_SEC, Math.floorDiv(s.asOfMonotonicCoarseNanos(), 1_000_000_000L));
        LONGS.setOpaque(buffer, ClockBoundLayout.OFF_AS_OF_NSEC, Math.floorMod(s.asOfMonotonicCoarseNanos(), 1_000_000_000L));
        LONGS.setOpaque(buffer, ClockBoundLayout.OFF_VOID_AFTER_SEC,
                Math.floorDiv(s.voidAfterMonotonicCoarseNanos(), 1_000_000_000L));
        LONGS.setOpaque(buffer, ClockBoundLayout.OFF_VOID_AFTER_NSEC,
                Math.floorMod(s.voidAfterMonotonicCoarseNanos(), 1_000_000_000L));
        LONGS.setOpaque(buffer, ClockBoundLayout.OFF_BOUND_NS, s.boundNanos());
        LONGS.setOpaque(buffer, ClockBoundLayout.OFF_DISRUPTION_MARKER, s.disruptionMarker());
        INTS.setOpaque(buffer, ClockBoundLayout.OFF_MAX_DRIFT_PPB, (int) s.maxDriftPpb());
        INTS.setOpaque(buffer, ClockBoundLayout.OFF_CLOCK_STATUS, s.statusCode());
        buffer.put(ClockBoundLayout.OFF_DISRUPTION_SUPPORT, (byte) (s.clockDisruptionSupport() ? 1 : 0));
        generation = nextGeneration(generation);
        SHORTS.setRelease(buffer, ClockBoundLayout.OFF_GENERATION, (short) generation);
    }

    /** The generation last published (0 before the first publication). */
    public synchronized int generation() {
        return generation;
    }

    public Path path() {
        return path;
    }

    @Override
    public void close() {
        buffer.force();
    }
}
