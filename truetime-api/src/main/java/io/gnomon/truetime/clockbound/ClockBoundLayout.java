package io.gnomon.truetime.clockbound;

import io.gnomon.truetime.ClockStatus;

import java.nio.file.Path;

/**
 * The byte layout of AWS ClockBound's shared-memory segment, protocol version 2 ({@code docs/PROTOCOL.md} in
 * ClockBound's public repository; restated with every offset in docs/clockbound-segment.md). All fields are in
 * the CPU's native byte order. The segment is {@link #SEGMENT_SIZE} bytes: a 16-byte header, then the clock
 * error bound.
 */
public final class ClockBoundLayout {
    private ClockBoundLayout() {
    }

    /** Where ClockBound's daemon (and clockd, when told to) writes the segment. */
    public static final Path DEFAULT_PATH = Path.of("/var/run/clockbound/shm0");

    /**
     * The magic, as the two native-endian 32-bit words ClockBound's reader and writer compare
     * ({@code SHM_MAGIC = [0x414D5A4E, 0x43420200]}); the protocol lists them most significant byte first:
     * {@code 0x41 0x4D 0x5A 0x4E 0x43 0x42 0x02 0x00}.
     */
    public static final int MAGIC_WORD_0 = 0x414D5A4E;
    public static final int MAGIC_WORD_1 = 0x43420200;
    public static final short VERSION = 2;
    /** 16-byte header + 64-byte clock error bound (57 bytes of fields, padded to 8-byte alignment). */
    public static final int SEGMENT_SIZE = 80;

    public static final int OFF_MAGIC_0 = 0;              // u32
    public static final int OFF_MAGIC_1 = 4;              // u32
    public static final int OFF_SEGMENT_SIZE = 8;         // u32
    public static final int OFF_VERSION = 12;             // u16
    public static final int OFF_GENERATION = 14;          // u16, odd while the writer writes, never 0 once written
    public static final int OFF_AS_OF_SEC = 16;           // i64 tv_sec, CLOCK_MONOTONIC_COARSE
    public static final int OFF_AS_OF_NSEC = 24;          // i64 tv_nsec
    public static final int OFF_VOID_AFTER_SEC = 32;      // i64 tv_sec, CLOCK_MONOTONIC_COARSE
    public static final int OFF_VOID_AFTER_NSEC = 40;     // i64 tv_nsec
    public static final int OFF_BOUND_NS = 48;            // i64 ns, bound on |CLOCK_REALTIME - true time| at as-of
    public static final int OFF_DISRUPTION_MARKER = 56;   // u64, as last read from the VMClock device
    public static final int OFF_MAX_DRIFT_PPB = 64;       // u32 ppb
    public static final int OFF_CLOCK_STATUS = 68;        // i32: 0 unknown, 1 synchronized, 2 free running, 3 disrupted
    public static final int OFF_DISRUPTION_SUPPORT = 72;  // u8: 1 = clients compare the disruption marker with VMClock's
    // 73..79: padding, zero

    public static final int STATUS_UNKNOWN = 0;
    public static final int STATUS_SYNCHRONIZED = 1;
    public static final int STATUS_FREE_RUNNING = 2;
    public static final int STATUS_DISRUPTED = 3;

    /**
     * Gnomon's status as a ClockBound status: SYNCHRONIZED, FREE_RUNNING and DISRUPTED have their namesakes;
     * UNKNOWN, UNSYNCHRONIZED and UNVERIFIED are all "unknown" (nothing measured vouches for the bound).
     */
    public static int toClockBoundStatus(ClockStatus status) {
        return switch (status) {
            case SYNCHRONIZED -> STATUS_SYNCHRONIZED;
            case FREE_RUNNING -> STATUS_FREE_RUNNING;
            case DISRUPTED -> STATUS_DISRUPTED;
            case UNKNOWN, UNSYNCHRONIZED, UNVERIFIED -> STATUS_UNKNOWN;
        };
    }

    /** A ClockBound status code as Gnomon's status; a code this reader does not know is UNKNOWN. */
    public static ClockStatus fromClockBoundStatus(int code) {
        return switch (code) {
            case STATUS_SYNCHRONIZED -> ClockStatus.SYNCHRONIZED;
            case STATUS_FREE_RUNNING -> ClockStatus.FREE_RUNNING;
            case STATUS_DISRUPTED -> ClockStatus.DISRUPTED;
            default -> ClockStatus.UNKNOWN;
        };
    }
}
