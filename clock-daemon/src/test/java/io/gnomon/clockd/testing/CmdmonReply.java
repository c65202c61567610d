package io.gnomon.clockd.testing;

import io.gnomon.clockd.source.chrony.ChronyCmdmon;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * A chronyd cmdmon TRACKING reply built field by field at the offsets of chrony's candm.h, for tests and fakes.
 * {@link #valid} fills a plausible synchronised report; the setters overwrite single fields to break it.
 */
public final class CmdmonReply {
    public static final int CORRECTION = 68;
    public static final int LAST_OFFSET = 72;
    public static final int RMS_OFFSET = 76;
    public static final int FREQUENCY = 80;
    public static final int RESIDUAL_FREQUENCY = 84;
    public static final int SKEW = 88;
    public static final int ROOT_DELAY = 92;
    public static final int ROOT_DISPERSION = 96;
    public static final int UPDATE_INTERVAL = 100;

    private final ByteBuffer b = ByteBuffer.allocate(ChronyCmdmon.TRACKING_REPLY_LENGTH);

    private CmdmonReply() {
    }

    /**
     * A synchronised stratum-2 report from 127.0.0.1: correction 0, root delay 10 us, root dispersion 5 us,
     * reference time {@code referenceTimeEpochNanos}.
     */
    public static CmdmonReply valid(int sequence, long referenceTimeEpochNanos) {
        CmdmonReply r = new CmdmonReply();
        r.u8(0, 6).u8(1, 2).u16(4, 33).u16(6, 5).u16(8, 0).u32(16, sequence);
        r.u32(28, 0x7F000001).u32(32, 0x7F000001).u16(48, 1).u16(52, 2).u16(54, 0);
        r.referenceTime(referenceTimeEpochNanos);
        r.seconds(CORRECTION, 0).seconds(LAST_OFFSET, 1e-6).seconds(RMS_OFFSET, 2e-6).seconds(FREQUENCY, -3.5)
                .seconds(RESIDUAL_FREQUENCY, 0.01).seconds(SKEW, 0.2).seconds(ROOT_DELAY, 10e-6)
                .seconds(ROOT_DISPERSION, 5e-6).seconds(UPDATE_INTERVAL, 0.25);
        return r;
    }

    public CmdmonReply u8(int offset, int value) {
        b.put(offset, (byte) value);
        return this;
    }

    public CmdmonReply u16(int offset, int value) {
        b.putShort(offset, (short) value);
        return this;
    }

    public CmdmonReply u32(int offset, long value) {
        b.putInt(offset, (int) value);
        return this;
    }

    /** A chrony Float at {@code offset}, from seconds (or ppm). */
    public CmdmonReply seconds(int offset, double value) {
        return u32(offset, ChronyCmdmon.encodeFloat(value));
    }

    /** The reference time as chrony writes it: seconds high, seconds low, nanoseconds. */
    public CmdmonReply referenceTime(long epochNanos) {
        long seconds = Math.floorDiv(epochNanos, 1_000_000_000L);
        return u32(56, seconds >>> 32).u32(60, seconds & 0xFFFF_FFFFL).u32(64, Math.floorMod(epochNanos, 1_000_000_000L));
    }

    public byte[] bytes() {
        return b.array().clone();
    }

    public byte[] bytes(int length) {
        return Arrays.copyOf(b.array(), length);
    }
}
