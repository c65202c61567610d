package io.gnomon.clockd.publish;

import io.gnomon.clockd.ClockDaemon;
import io.gnomon.clockd.SystemClocks;
import io.gnomon.clockd.select.Estimate;
import io.gnomon.truetime.shm.SegmentWriter;

/** Writes every estimate's snapshot to the shared-memory segment that ShmTrueTime readers map. */
public final class SegmentSink implements ClockDaemon.Sink, AutoCloseable {
    private final SegmentWriter writer;

    public SegmentSink(SegmentWriter writer) {
        this.writer = writer;
    }

    @Override
    public void onEstimate(Estimate estimate, SystemClocks.Pair clocks) {
        writer.publish(estimate.snapshot());
    }

    @Override
    public void close() {
        writer.close();
    }
}
