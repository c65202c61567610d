package io.gnomon.truetime.shm;

import io.gnomon.truetime.ClockSnapshot;
import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.ClockUnavailableException;
import io.gnomon.truetime.MonotonicClock;
import io.gnomon.truetime.TimeInterval;
import io.gnomon.truetime.TrueTime;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

/**
 * TrueTime read from the clock daemon's shared-memory segment: one {@link System#nanoTime()} and one
 * acquire load of the segment's sequence per call (the full seqlock read of the snapshot happens once per
 * publication), no system call to the daemon, no allocation once inlined.
 *
 * <pre>{@code
 * TrueTime tt = ShmTrueTime.open(SegmentLayout.DEFAULT_PATH);
 * TimeInterval now = tt.now();
 * }</pre>
 *
 * <p>The reader derives realtime from the monotonic clock and the offset the daemon published, so a step
 * of the system's realtime clock does not move it (docs/clock-accuracy.md argues each disruption).
 * Thread-safe; share one instance.
 */
public final class ShmTrueTime implements TrueTime {

    private static final VarHandle LONGS = MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INTS = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    /** Attempts before a read gives up (a writer that died mid-write): see {@link SeqlockRetry}. */
    static final int MAX_READ_ATTEMPTS = SeqlockRetry.MAX_READ_ATTEMPTS;

    private final ByteBuffer buffer;
    private final MonotonicClock clock;
    private final boolean acceptUnverified;
    private final Path path;
    /** What the last consistent read of the segment saw; replaced whenever the sequence has moved. */
    private volatile Snapshot lastRead = NOTHING_READ;

    ShmTrueTime(Path path, ByteBuffer buffer, MonotonicClock clock, boolean acceptUnverified) {
        this.path = path;
        this.buffer = buffer;
        this.clock = clock;
        this.acceptUnverified = acceptUnverified;
    }

    /**
     * Maps the segment at {@code path} read-only.
     *
     * @throws IOException if the file is missing, too short, or not a Gnomon segment of a supported version
     */
    public static ShmTrueTime open(Path path) throws IOException {
        return open(path, MonotonicClock.SYSTEM, false);
    }

    /**
     * Like {@link #open(Path)}, but {@link ClockStatus#UNVERIFIED} intervals (the daemon's embedded local
     * default, an assumption rather than a measurement) are returned instead of refused. For demos and
     * development hosts only.
     */
    public static ShmTrueTime openAcceptingUnverified(Path path) throws IOException {
        return open(path, MonotonicClock.SYSTEM, true);
    }

    /** Maps the segment with an injected monotonic clock (tests and simulators). */
    public static ShmTrueTime open(Path path, MonotonicClock clock, boolean acceptUnverified) throws IOException {
        ByteBuffer buffer = SegmentFiles.mapReadOnly(path, SegmentLayout.SEGMENT_SIZE, "TrueTime", "clockd");
        checkHeader(path, buffer);
        return new ShmTrueTime(path, buffer, clock, acceptUnverified);
    }

    static void checkHeader(Path path, ByteBuffer buffer) throws IOException {
        int magic = (int) INTS.get(buffer, SegmentLayout.OFF_MAGIC);
        if (magic != SegmentLayout.MAGIC) {
            throw new IOException(path + ": wrong magic 0x" + Integer.toHexString(magic) + ", expected 0x"
                    + Integer.toHexString(SegmentLayout.MAGIC) + " (not a Gnomon TrueTime segment)");
        }
        short version = buffer.order(ByteOrder.LITTLE_ENDIAN).getShort(SegmentLayout.OFF_VERSION);
        if (version != SegmentLayout.VERSION) {
            throw new IOException(path + ": segment layout version " + version + ", this reader supports "
                    + SegmentLayout.VERSION + " (upgrade truetime-api)");
        }
    }

    @Override
    public TimeInterval now() {
        // Hot path kept small on purpose: C2 inlines now() into callers only while its compiled code is
        // small, and only an inlined now() lets escape analysis remove the TimeInterval. The full seqlock
        // read (about fifteen bounds- and alignment-checked ByteBuffer accesses) runs out of line, once per
        // publication: while the sequence still equals the one a consistent read was made under, the
        // segment still holds exactly those values, because a writer changes the sequence before and after
        // every write and never reuses one.
        long seq = (long) LONGS.getAcquire(buffer, SegmentLayout.OFF_SEQUENCE);
        Snapshot s = lastRead;
        if (s.sequence != seq) {
            s = readConsistent();
        }
        // The monotonic reading is taken after the snapshot: as-of never lies ahead of it.
        long monotonicNow = clock.nanoTime();
        if (!s.usable || monotonicNow - s.voidAfterMonotonicNanos > 0) {
            throw refusal(s, monotonicNow);
        }
        long b = ClockSnapshot.boundAt(s.boundNanos, s.maxDriftPpb, monotonicNow - s.asOfMonotonicNanos);
        long mid = monotonicNow + s.epochOffsetNanos;
        return new TimeInterval(mid - b, mid + b);
    }

    /** The snapshot fields as read under one even sequence number; immutable, so safely shared by threads. */
    private static final class Snapshot {
        final long sequence;
        final long asOfMonotonicNanos;
        final long epochOffsetNanos;
        final long boundNanos;
        final long voidAfterMonotonicNanos;
        final long maxDriftPpb;
        final int statusCode;
        /** Usable status (or UNVERIFIED when accepted) and fields in range; void-after is checked per call. */
        final boolean usable;

        Snapshot(long sequence, long asOf, long offset, long bound, long voidAfter, long driftPpb, int statusCode,
                 boolean acceptUnverified) {
            this.sequence = sequence;
            this.asOfMonotonicNanos = asOf;
            this.epochOffsetNanos = offset;
            this.boundNanos = bound;
            this.voidAfterMonotonicNanos = voidAfter;
            this.maxDriftPpb = driftPpb;
            this.statusCode = statusCode;
            this.usable = (statusCode == ClockStatus.SYNCHRONIZED.code() || statusCode == ClockStatus.FREE_RUNNING.code()
                    || (acceptUnverified && statusCode == ClockStatus.UNVERIFIED.code()))
                    && inRange(bound, driftPpb);
        }
    }

    /** Odd, so it never equals a published sequence: the first read always goes to the segment. */
    private static final Snapshot NOTHING_READ = new Snapshot(-1, 0, 0, 0, 0, 0, ClockStatus.UNKNOWN.code(), false);

    private static boolean inRange(long bound, long driftPpb) {
        return bound >= 0 && driftPpb >= 0 && driftPpb <= ClockSnapshot.MAX_DRIFT_PPB_LIMIT;
    }

    /** The seqlock read: bounded retries while a write is in progress. Remembers what it read for {@link #now()}. */
    private Snapshot readConsistent() {
        for (int attempt = 0; attempt < MAX_READ_ATTEMPTS; attempt++) {
            long seq = (long) LONGS.getAcquire(buffer, SegmentLayout.OFF_SEQUENCE);
            long asOf = (long) LONGS.getOpaque(buffer, SegmentLayout.OFF_AS_OF_MONOTONIC);
            long offset = (long) LONGS.getOpaque(buffer, SegmentLayout.OFF_EPOCH_OFFSET);
            long bound = (long) LONGS.getOpaque(buffer, SegmentLayout.OFF_BOUND);
            long voidAfter = (long) LONGS.getOpaque(buffer, SegmentLayout.OFF_VOID_AFTER_MONOTONIC);
            long driftPpb = (long) LONGS.getOpaque(buffer, SegmentLayout.OFF_MAX_DRIFT_PPB);
            int status = (int) INTS.getOpaque(buffer, SegmentLayout.OFF_STATUS);
            VarHandle.loadLoadFence();
            if ((seq & 1) == 0 && seq == (long) LONGS.getOpaque(buffer, SegmentLayout.OFF_SEQUENCE)) {
                Snapshot s = new Snapshot(seq, asOf, offset, bound, voidAfter, driftPpb, status, acceptUnverified);
                lastRead = s;
                return s;
            }
            SeqlockRetry.backOff(attempt);
        }
        throw new ClockUnavailableException(ClockStatus.UNKNOWN, tornReason());
    }

    private ClockUnavailableException refusal(Snapshot s, long monotonicNow) {
        int statusCode = s.statusCode;
        if (s.sequence == 0) {
            return new ClockUnavailableException(ClockStatus.UNKNOWN, path + ": clockd created this segment but has "
                    + "not published into it yet (still starting, or it failed to start)");
        }
        // A void snapshot is checked first, whatever status it carries: its writer stopped, so what it last
        // said (even "no time source configured") is not the diagnosis.
        if (monotonicNow - s.voidAfterMonotonicNanos > 0) {
            return new ClockUnavailableException(ClockStatus.UNKNOWN, path + ": snapshot is void: clockd (pid "
                    + writerPid() + ") stopped publishing; its last update is " + seconds(monotonicNow
                    - s.asOfMonotonicNanos) + " old, void after " + seconds(s.voidAfterMonotonicNanos
                    - s.asOfMonotonicNanos) + " (last status " + ClockStatus.fromCode(statusCode)
                    + "); is clockd running?");
        }
        if (statusCode == ClockStatus.SYNCHRONIZED.code() || statusCode == ClockStatus.FREE_RUNNING.code()
                || (acceptUnverified && statusCode == ClockStatus.UNVERIFIED.code())) {
            return new ClockUnavailableException(ClockStatus.UNKNOWN, path + ": corrupt snapshot (bound "
                    + s.boundNanos + ", drift " + s.maxDriftPpb + " ppb)");
        }
        ClockStatus status = ClockStatus.fromCode(statusCode);
        return new ClockUnavailableException(status, switch (status) {
            case UNVERIFIED -> "clockd has no time source configured; its interval is an assumption "
                    + "(configure NTP servers, or open the reader accepting unverified intervals)";
            case DISRUPTED -> "the host clock was disrupted (suspend or VM pause); clockd is re-synchronizing";
            case UNSYNCHRONIZED -> "clockd has no majority of agreeing time sources (see 'bin/truetime status')";
            default -> "clockd has not published a usable snapshot";
        });
    }

    /** Seconds with one decimal: the age of a snapshot, for messages. */
    private static String seconds(long nanos) {
        return String.format(java.util.Locale.ROOT, "%.1f s", nanos / 1e9);
    }

    @Override
    public boolean after(long epochNanos) {
        return now().earliestEpochNanos() > epochNanos;
    }

    @Override
    public boolean before(long epochNanos) {
        return now().latestEpochNanos() < epochNanos;
    }

    @Override
    public ClockStatus status() {
        ClockSnapshot snapshot = snapshotOrNull();
        if (snapshot == null || snapshot.isVoidAt(clock.nanoTime())) {
            return ClockStatus.UNKNOWN;
        }
        return snapshot.status();
    }

    /**
     * The raw snapshot as last published, without any usability check; {@code null} if no consistent read
     * succeeded or the stored values are out of range. Allocates; for tools and diagnostics.
     */
    public ClockSnapshot snapshotOrNull() {
        for (int attempt = 0; attempt < MAX_READ_ATTEMPTS; attempt++) {
            long seq = (long) LONGS.getAcquire(buffer, SegmentLayout.OFF_SEQUENCE);
            long asOf = (long) LONGS.getOpaque(buffer, SegmentLayout.OFF_AS_OF_MONOTONIC);
            long offset = (long) LONGS.getOpaque(buffer, SegmentLayout.OFF_EPOCH_OFFSET);
            long bound = (long) LONGS.getOpaque(buffer, SegmentLayout.OFF_BOUND);
            long voidAfter = (long) LONGS.getOpaque(buffer, SegmentLayout.OFF_VOID_AFTER_MONOTONIC);
            long driftPpb = (long) LONGS.getOpaque(buffer, SegmentLayout.OFF_MAX_DRIFT_PPB);
            int status = (int) INTS.getOpaque(buffer, SegmentLayout.OFF_STATUS);
            VarHandle.loadLoadFence();
            if ((seq & 1) == 0 && seq == (long) LONGS.getOpaque(buffer, SegmentLayout.OFF_SEQUENCE)) {
                if (seq == 0 || !inRange(bound, driftPpb)) {
                    return null;
                }
                return new ClockSnapshot(asOf, offset, bound, driftPpb, voidAfter, ClockStatus.fromCode(status));
            }
            SeqlockRetry.backOff(attempt);
        }
        return null;
    }

    /** The process id of the daemon that last wrote the segment (0 if never written). */
    public int writerPid() {
        return (int) INTS.getOpaque(buffer, SegmentLayout.OFF_WRITER_PID);
    }

    /** The segment's sequence number: odd while being written, incremented by 2 per publication. */
    public long sequence() {
        return (long) LONGS.getAcquire(buffer, SegmentLayout.OFF_SEQUENCE);
    }

    public Path path() {
        return path;
    }

    private String tornReason() {
        return path + ": segment stayed mid-write for " + MAX_READ_ATTEMPTS
                + " reads, about 20 ms (writer died while publishing?)";
    }
}
