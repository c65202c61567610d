package io.gnomon.truetime.shm;

import java.nio.file.Path;

/**
 * The byte layout of the Gnomon TrueTime segment, version 1 (documented in docs/shm-segment.md).
 * All fields little-endian, at 8-byte aligned offsets; the file is {@link #SEGMENT_SIZE} bytes.
 */
public final class SegmentLayout {
    private SegmentLayout() {
    }

    /** Where the daemon writes its segment unless configured otherwise. */
    public static final Path DEFAULT_PATH = Path.of("/dev/shm/gnomon-truetime");

    /** The bytes 'G' 'N' 'M' 'N' read as a little-endian u32. */
    public static final int MAGIC = 0x4E4D4E47;
    public static final short VERSION = 1;
    public static final int SEGMENT_SIZE = 128;

    public static final int OFF_MAGIC = 0;                    // u32
    public static final int OFF_VERSION = 4;                  // u16
    public static final int OFF_SIZE = 6;                     // u16
    public static final int OFF_SEQUENCE = 8;                 // u64, odd while the writer is writing
    public static final int OFF_AS_OF_MONOTONIC = 16;         // i64 ns, CLOCK_MONOTONIC
    public static final int OFF_EPOCH_OFFSET = 24;            // i64 ns, true epoch time minus CLOCK_MONOTONIC
    public static final int OFF_BOUND = 32;                   // i64 ns
    public static final int OFF_VOID_AFTER_MONOTONIC = 40;    // i64 ns, CLOCK_MONOTONIC
    public static final int OFF_MAX_DRIFT_PPB = 48;           // i64 ppb
    public static final int OFF_STATUS = 56;                  // i32, ClockStatus code
    public static final int OFF_WRITER_PID = 60;              // i32, process id of the daemon that wrote it
}
