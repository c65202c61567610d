package io.gnomon.truetime.clockbound;

import io.gnomon.truetime.ClockSnapshot;
import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.ClockUnavailableException;
import io.gnomon.truetime.MonotonicClock;
import io.gnomon.truetime.RealtimeClock;
import io.gnomon.truetime.TimeInterval;
import io.gnomon.truetime.TrueTime;
import io.gnomon.truetime.shm.SegmentFiles;
import io.gnomon.truetime.shm.SeqlockRetry;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

/**
 * TrueTime read from an AWS ClockBound shared-memory segment (protocol version 2), written by ClockBound's
 * daemon or by clockd: Java programs on hosts that run ClockBound get the same API as on Gnomon's own segment.
 *
 * <pre>{@code
 * TrueTime tt = ClockBoundTrueTime.open(ClockBoundLayout.DEFAULT_PATH);
 * TimeInterval now = tt.now();
 * }</pre>
 *
 * <p>Per call: one acquire load of the generation, one CLOCK_REALTIME read, then one CLOCK_MONOTONIC read
 * (in that order, as ClockBound's clients do: a late monotonic read only widens the bound); the full seqlock
 * read of the bound happens once per publication. No allocation once inlined.
 * <pre>
 *   interval = [realtime - b, realtime + b],  b = bound_ns + ceil(|monotonic - as_of| * max_drift_ppb / 1e9)
 * </pre>
 * The protocol stamps as-of and void-after with CLOCK_MONOTONIC_COARSE, which shares CLOCK_MONOTONIC's origin
 * and lags it by up to a tick. This reader measures elapsed time on CLOCK_MONOTONIC ({@link System#nanoTime()}):
 * it never reads less than the coarse clock, so the drift growth it computes is never smaller than a
 * coarse-clock client's, and void-after arrives no later. Past void-after the status is UNKNOWN and
 * {@link #now()} throws. Thread-safe; share one instance.
 */
public final class ClockBoundTrueTime implements TrueTime {

    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final VarHandle LONGS = MethodHandles.byteBufferViewVarHandle(long[].class, NATIVE);
    private static final VarHandle INTS = MethodHandles.byteBufferViewVarHandle(int[].class, NATIVE);
    private static final VarHandle SHORTS = MethodHandles.byteBufferViewVarHandle(short[].class, NATIVE);

    /** ClockBound's clients trust a SYNCHRONIZED status this long after as-of, then report FREE_RUNNING. */
    public static final long RESTART_GRACE_NANOS = 5_000_000_000L;

    private final Path path;
    private final ByteBuffer buffer;
    private final MonotonicClock monotonic;
    private final RealtimeClock realtime;
    /** What the last consistent read of the segment saw; replaced whenever the generation has moved. */
    private volatile Snapshot lastRead = NOTHING_READ;

    ClockBoundTrueTime(Path path, ByteBuffer buffer, MonotonicClock monotonic, RealtimeClock realtime) {
        this.path = path;
        this.buffer = buffer;
        this.monotonic = monotonic;
        this.realtime = realtime;
    }

    /**
     * Maps the segment at {@code path} read-only.
     *
     * @throws IOException if the file is missing or too short, or holds no ClockBound segment of version 2
     */
    public static ClockBoundTrueTime open(Path path) throws IOException {
        return open(path, MonotonicClock.SYSTEM, RealtimeClock.SYSTEM);
    }

    /** Maps the segment with injected clocks (tests and simulators). */
    public static ClockBoundTrueTime open(Path path, MonotonicClock monotonic, RealtimeClock realtime) throws IOException {
        ByteBuffer buffer = SegmentFiles.mapReadOnly(path, ClockBoundLayout.SEGMENT_SIZE, "ClockBound",
                "clockbound, or clockd with its ClockBound segment enabled,").order(NATIVE);
        checkHeader(path, buffer);
        return new ClockBoundTrueTime(path, buffer, monotonic, realtime);
    }

    static void checkHeader(Path path, ByteBuffer b) throws IOException {
        int m0 = b.getInt(ClockBoundLayout.OFF_MAGIC_0);
        int m1 = b.getInt(ClockBoundLayout.OFF_MAGIC_1);
        if (m0 != ClockBoundLayout.MAGIC_WORD_0 || m1 != ClockBoundLayout.MAGIC_WORD_1) {
            throw new IOException(path + String.format(": wrong magic 0x%08x 0x%08x, expected 0x%08x 0x%08x "
                    + "(not a ClockBound segment)", m0, m1, ClockBoundLayout.MAGIC_WORD_0, ClockBoundLayout.MAGIC_WORD_1));
        }
        long segmentSize = b.getInt(ClockBoundLayout.OFF_SEGMENT_SIZE) & 0xFFFF_FFFFL;
        if (segmentSize < ClockBoundLayout.SEGMENT_SIZE) {
            throw new IOException(path + ": segment size field " + segmentSize + " is below "
                    + ClockBoundLayout.SEGMENT_SIZE + " (malformed ClockBound segment)");
        }
        int version = b.getShort(ClockBoundLayout.OFF_VERSION) & 0xFFFF;
        if (version == 0) {
            throw new IOException(path + ": ClockBound segment not initialised yet (version 0: its writer is "
                    + "starting)");
        }
        if (version != ClockBoundLayout.VERSION) {
            throw new IOException(path + ": ClockBound segment version " + version + ", this reader supports "
                    + ClockBoundLayout.VERSION + (version > ClockBoundLayout.VERSION ? " (upgrade truetime-api)" : ""));
        }
    }

    @Override
    public TimeInterval now() {
        // The hot path stays small so that C2 inlines it and escape analysis removes the TimeInterval (see
        // ShmTrueTime.now()). The snapshot is re-read only when the generation has moved.
        int generation = (short) SHORTS.getAcquire(buffer, ClockBoundLayout.OFF_GENERATION) & 0xFFFF;
        Snapshot s = lastRead;
        if (s.generation != generation) {
            s = readConsistent();
        }
        // Realtime first, monotonic after: a monotonic reading taken late only widens the bound.
        long realtimeNow = realtime.epochNanos();
        long monotonicNow = monotonic.nanoTime();
        if (!s.usable || monotonicNow - s.voidAfterMonotonicNanos >= 0) {
            return refuseOrRetry(monotonicNow);
        }
        long b = ClockSnapshot.boundAt(s.boundNanos, s.maxDriftPpb, monotonicNow - s.asOfMonotonicNanos);
        return new TimeInterval(realtimeNow - b, realtimeNow + b);
    }

    /**
     * The cached snapshot is unusable or void. The 16-bit generation may have wrapped to the cached value
     * (32 768 publications, about 9 hours at one a second), so read the segment again before refusing.
     */
    private TimeInterval refuseOrRetry(long monotonicNow) {
        Snapshot s = readConsistent();
        long realtimeNow = realtime.epochNanos();
        long monotonicAfter = monotonic.nanoTime();
        if (!s.usable || monotonicAfter - s.voidAfterMonotonicNanos >= 0) {
            throw refusal(s, monotonicAfter);
        }
        long b = ClockSnapshot.boundAt(s.boundNanos, s.maxDriftPpb, monotonicAfter - s.asOfMonotonicNanos);
        return new TimeInterval(realtimeNow - b, realtimeNow + b);
    }

    /** The fields read under one even generation; immutable, so safely shared by threads. */
    private static final class Snapshot {
        final int generation;
        final int version;
        final long asOfMonotonicNanos;
        final long voidAfterMonotonicNanos;
        final long boundNanos;
        final long disruptionMarker;
        final long maxDriftPpb;
        final int statusCode;
        final boolean disruptionSupport;
        /** Null when the fields are consistent and in range; otherwise why they cannot be used. */
        final String corruption;
        /** Usable status and fields in range; void-after is checked per call. */
        final boolean usable;

        Snapshot(int generation, int version, long asOf, long voidAfter, long bound, long marker, long driftPpb,
                 int statusCode, boolean disruptionSupport, String corruption) {
            this.generation = generation;
            this.version = version;
            this.asOfMonotonicNanos = asOf;
            this.voidAfterMonotonicNanos = voidAfter;
            this.boundNanos = bound;
            this.disruptionMarker = marker;
            this.maxDriftPpb = driftPpb;
            this.statusCode = statusCode;
            this.disruptionSupport = disruptionSupport;
            this.corruption = corruption;
            this.usable = corruption == null && ClockBoundLayout.fromClockBoundStatus(statusCode).isUsable();
        }
    }

    /** Generation -1 never matches a 16-bit generation: the first read always goes to the segment. */
    private static final Snapshot NOTHING_READ = new Snapshot(-1, 0, 0, 0, 0, 0, 0, 0, false, "not read yet");

    /** The seqlock read: bounded retries while a write is in progress. Remembers what it read for {@link #now()}. */
    private Snapshot readConsistent() {
        for (int attempt = 0; attempt < SeqlockRetry.MAX_READ_ATTEMPTS; attempt++) {
            int g1 = (short) SHORTS.getAcquire(buffer, ClockBoundLayout.OFF_GENERATION) & 0xFFFF;
            int version = (short) SHORTS.getOpaque(buffer, ClockBoundLayout.OFF_VERSION) & 0xFFFF;
            long asOfSec = (long) LONGS.getOpaque(buffer, ClockBoundLayout.OFF_AS_OF_SEC);
            long asOfNsec = (long) LONGS.getOpaque(buffer, ClockBoundLayout.OFF_AS_OF_NSEC);
            long voidSec = (long) LONGS.getOpaque(buffer, ClockBoundLayout.OFF_VOID_AFTER_SEC);
            long voidNsec = (long) LONGS.getOpaque(buffer, ClockBoundLayout.OFF_VOID_AFTER_NSEC);
            long bound = (long) LONGS.getOpaque(buffer, ClockBoundLayout.OFF_BOUND_NS);
            long marker = (long) LONGS.getOpaque(buffer, ClockBoundLayout.OFF_DISRUPTION_MARKER);
            long driftPpb = (int) INTS.getOpaque(buffer, ClockBoundLayout.OFF_MAX_DRIFT_PPB) & 0xFFFF_FFFFL;
            int status = (int) INTS.getOpaque(buffer, ClockBoundLayout.OFF_CLOCK_STATUS);
            boolean support = buffer.get(ClockBoundLayout.OFF_DISRUPTION_SUPPORT) != 0;
            VarHandle.loadLoadFence();
            int g2 = (short) SHORTS.getOpaque(buffer, ClockBoundLayout.OFF_GENERATION) & 0xFFFF;
            if (g1 == g2 && (g1 & 1) == 0) {
                long asOf = timespecNanos(asOfSec, asOfNsec);
                long voidAfter = timespecNanos(voidSec, voidNsec);
                Snapshot s = new Snapshot(g1, version, asOf, voidAfter, bound, marker, driftPpb, status, support,
                        corruption(g1, version, asOf, voidAfter, bound, driftPpb));
                lastRead = s;
                return s;
            }
            SeqlockRetry.backOff(attempt);
        }
        throw new ClockUnavailableException(ClockStatus.UNKNOWN, path + ": generation stayed odd (mid-write) for "
                + SeqlockRetry.MAX_READ_ATTEMPTS + " reads, about 20 ms (writer died while publishing?)");
    }

    private static String corruption(int generation, int version, long asOf, long voidAfter, long bound, long driftPpb) {
        if (generation == 0) {
            return "nothing published yet (generation 0)";
        }
        if (version != ClockBoundLayout.VERSION) {
            return version == 0 ? "segment being re-initialised by its writer (version 0)"
                    : "segment now has layout version " + version + ", this reader supports " + ClockBoundLayout.VERSION;
        }
        if (asOf == Long.MIN_VALUE || voidAfter == Long.MIN_VALUE) {
            return "a timespec field is out of range";
        }
        if (bound < 0 || driftPpb > ClockSnapshot.MAX_DRIFT_PPB_LIMIT) {
            return "corrupt bound (" + bound + " ns, drift " + driftPpb + " ppb)";
        }
        return null;
    }

    /** A timespec as nanoseconds; {@link Long#MIN_VALUE} if tv_nsec is outside [0, 1e9) or the sum overflows. */
    static long timespecNanos(long sec, long nsec) {
        if (nsec < 0 || nsec >= 1_000_000_000L || sec > Long.MAX_VALUE / 1_000_000_000L - 1
                || sec < Long.MIN_VALUE / 1_000_000_000L + 1) {
            return Long.MIN_VALUE;
        }
        return sec * 1_000_000_000L + nsec;
    }

    private ClockUnavailableException refusal(Snapshot s, long monotonicNow) {
        if (s.corruption != null) {
            return new ClockUnavailableException(ClockStatus.UNKNOWN, path + ": " + s.corruption);
        }
        ClockStatus status = ClockBoundLayout.fromClockBoundStatus(s.statusCode);
        if (status.isUsable()) { // usable status, so the snapshot is void
            return new ClockUnavailableException(ClockStatus.UNKNOWN, path + ": bound is void (void-after passed "
                    + (monotonicNow - s.voidAfterMonotonicNanos) / 1_000_000 + " ms ago; is its writer running?)");
        }
        return new ClockUnavailableException(status, path + ": ClockBound status " + s.statusCode + " ("
                + (status == ClockStatus.DISRUPTED ? "the clock was disrupted; its writer is re-synchronizing"
                : "its writer cannot vouch for the clock") + ")");
    }

    /**
     * The status as a ClockBound client reports it: UNKNOWN past void-after or for an unreadable segment;
     * SYNCHRONIZED turns FREE_RUNNING once as-of is more than {@link #RESTART_GRACE_NANOS} old. Never throws.
     */
    @Override
    public ClockStatus status() {
        Snapshot s;
        try {
            s = readConsistent();
        } catch (ClockUnavailableException e) {
            return ClockStatus.UNKNOWN;
        }
        long monotonicNow = monotonic.nanoTime();
        if (s.corruption != null || monotonicNow - s.voidAfterMonotonicNanos >= 0) {
            return ClockStatus.UNKNOWN;
        }
        ClockStatus status = ClockBoundLayout.fromClockBoundStatus(s.statusCode);
        if (status == ClockStatus.SYNCHRONIZED && monotonicNow - s.asOfMonotonicNanos > RESTART_GRACE_NANOS) {
            return ClockStatus.FREE_RUNNING;
        }
        return status;
    }

    /**
     * The bound as last published, without usability checks; {@code null} if nothing consistent and in range
     * was read. Allocates; for tools and diagnostics.
     */
    public ClockBoundSnapshot snapshotOrNull() {
        Snapshot s;
        try {
            s = readConsistent();
        } catch (ClockUnavailableException e) {
            return null;
        }
        if (s.corruption != null) {
            return null;
        }
        return new ClockBoundSnapshot(s.asOfMonotonicNanos, s.voidAfterMonotonicNanos, s.boundNanos,
                s.disruptionMarker, s.maxDriftPpb, s.statusCode, s.disruptionSupport);
    }

    /** The segment's generation: odd while being written, 0 before the first publication. */
    public int generation() {
        return (short) SHORTS.getAcquire(buffer, ClockBoundLayout.OFF_GENERATION) & 0xFFFF;
    }

    public Path path() {
        return path;
    }
}
