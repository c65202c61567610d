package io.gnomon.clockd.publish;

import io.gnomon.clockd.ClockDaemon;
import io.gnomon.clockd.SystemClocks;
import io.gnomon.clockd.select.Estimate;
import io.gnomon.truetime.shm.SegmentWriter;

/** Writes every estimate's snapshot to the shared-memory segment that ShmTrueTime readers map. */
public final class SegmentSink implements ClockDaemon.Sink, SegmentFile.Owner, AutoCloseable {
    private final SegmentFile<SegmentWriter> file;

    public SegmentSink(SegmentWriter writer) {
        this.file = new SegmentFile<>(writer.path(), writer, SegmentWriter::open, SegmentWriter::close);
    }

    @Override
    public void onEstimate(Estimate estimate, SystemClocks.Pair clocks) {
        file.writer().publish(estimate.snapshot());
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
