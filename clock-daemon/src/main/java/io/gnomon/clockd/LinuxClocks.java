package io.gnomon.clockd;

import com.sun.jna.Native;
import com.sun.jna.Platform;

/**
 * The Linux clocks the JVM does not expose, read with {@code clock_gettime(2)} through JNA direct mapping.
 * Used by the daemon off the readers' hot path (a call costs around a microsecond).
 */
final class LinuxClocks {
    private LinuxClocks() {
    }

    static final int CLOCK_REALTIME = 0;
    static final int CLOCK_MONOTONIC = 1;
    static final int CLOCK_MONOTONIC_COARSE = 6;
    /** Like CLOCK_MONOTONIC, but it also counts time spent in suspend. */
    static final int CLOCK_BOOTTIME = 7;

    private static final boolean AVAILABLE = load();

    private static boolean load() {
        if (!Platform.isLinux() || !Platform.is64Bit()) {
            return false;
        }
        try {
            Native.register(LinuxClocks.class, "c");
            long[] ts = new long[2];
            return clock_gettime(CLOCK_BOOTTIME, ts) == 0;
        } catch (LinkageError e) {
            return false;
        }
    }

    /** struct timespec on 64-bit Linux is two longs: seconds, nanoseconds. */
    private static native int clock_gettime(int clockId, long[] timespec);

    private static native int clock_getres(int clockId, long[] timespec);

    /** Whether clock_gettime could be bound (64-bit Linux with JNA's native library). */
    static boolean available() {
        return AVAILABLE;
    }

    /** The clock's reading in nanoseconds; throws if unavailable or the call fails. */
    static long nanos(int clockId) {
        if (!AVAILABLE) {
            throw new IllegalStateException("clock_gettime is not available on this platform");
        }
        long[] ts = new long[2];
        if (clock_gettime(clockId, ts) != 0) {
            throw new IllegalStateException("clock_gettime(" + clockId + ") failed, errno " + Native.getLastError());
        }
        return ts[0] * 1_000_000_000L + ts[1];
    }

    /** The clock's resolution in nanoseconds ({@code clock_getres(2)}): a coarse clock's tick. */
    static long resolutionNanos(int clockId) {
        if (!AVAILABLE) {
            throw new IllegalStateException("clock_getres is not available on this platform");
        }
        long[] ts = new long[2];
        if (clock_getres(clockId, ts) != 0) {
            throw new IllegalStateException("clock_getres(" + clockId + ") failed, errno " + Native.getLastError());
        }
        return ts[0] * 1_000_000_000L + ts[1];
    }
}
