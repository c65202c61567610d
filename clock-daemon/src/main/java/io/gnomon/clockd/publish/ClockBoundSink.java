package io.gnomon.clockd.publish;

import io.gnomon.clockd.ClockDaemon;
import io.gnomon.clockd.SystemClocks;
import io.gnomon.clockd.select.Estimate;
import io.gnomon.truetime.clockbound.ClockBoundWriter;

import java.io.IOException;

/**
 * Writes every estimate as a ClockBound v2 segment as well (off by default), so that ClockBound's C and Rust
 * clients, and programs such as YugabyteDB with {@code time_source=clockbound}, read clockd's bound.
 * Disruption marker 0 and disruption support off: clockd reads no VMClock device, and a client told to
 * compare markers would fail where the device is missing. clockd's own disruption detection reaches these
 * clients as status 3 (disrupted).
 */
public final class ClockBoundSink implements ClockDaemon.Sink, SegmentFile.Owner, AutoCloseable {
    /** The least lag of CLOCK_MONOTONIC_COARSE behind CLOCK_MONOTONIC assumed, whatever its resolution. */
    static final long MIN_COARSE_LAG_NANOS = 20_000_000L;

    private final SegmentFile<ClockBoundWriter> file;
    private final SystemClocks clocks;
    private final long coarseLagNanos;

    private ClockBoundSink(ClockBoundWriter writer, SystemClocks clocks, long coarseLagNanos) {
        this.file = new SegmentFile<>(writer.path(), writer, ClockBoundWriter::open, ClockBoundWriter::close);
        this.clocks = clocks;
        this.coarseLagNanos = coarseLagNanos;
    }

    /**
     * Assumes the coarse clock lags by at most {@code max(20 ms, 4 ticks)}: a tick is its resolution (4 ms
     * at HZ=250; 2 to 6 ms of lag measured on the 2-core development VM, preemption included). Each
     * millisecond of allowance costs {@code maxDrift} x 1 ms of bound (0.2 µs at 200 ppm).
     *
     * @throws IOException if this platform cannot read CLOCK_MONOTONIC_COARSE
     */
    public static ClockBoundSink open(ClockBoundWriter writer, SystemClocks clocks) throws IOException {
        long res = clocks.monotonicCoarseResolutionNanos();
        if (res <= 0 || clocks.monotonicCoarseNanos() == Long.MIN_VALUE) {
            throw new IOException("cannot publish a ClockBound segment here: CLOCK_MONOTONIC_COARSE is not readable "
                    + "(needs 64-bit Linux)");
        }
        return new ClockBoundSink(writer, clocks, Math.max(MIN_COARSE_LAG_NANOS, 4 * res));
    }

    @Override
    public void onEstimate(Estimate estimate, SystemClocks.Pair ignored) {
        long coarse = clocks.monotonicCoarseNanos();     // first: never after the pair's monotonic readings
        SystemClocks.Pair pair = clocks.readPair();
        file.writer().publish(ClockBoundConversion.convert(estimate.snapshot(), coarse, pair, coarseLagNanos));
    }

    public long coarseLagNanos() {
        return coarseLagNanos;
    }

    @Override
    public SegmentFile<?> segmentFile() {
        return file;
    }

    @Override
    public void close() {
        file.close();
    }
}
