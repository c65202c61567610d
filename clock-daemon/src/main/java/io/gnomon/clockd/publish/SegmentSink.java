package io.gnomon.clockd.publish;

import io.gnomon.clockd.ClockDaemon;
import io.gnomon.clockd.SystemClocks;
import io.gnomon.clockd.select.Estimate;
import io.gnomon.truetime.shm.SegmentWriter;

import java.io.IOException;
import java.nio.file.Files;

/** Writes every estimate's snapshot to the shared-memory segment that ShmTrueTime readers map. */
public final class SegmentSink implements ClockDaemon.Sink, SegmentFile, AutoCloseable {
    private volatile SegmentWriter writer;

    public SegmentSink(SegmentWriter writer) {
        this.writer = writer;
    }

    @Override
    public void onEstimate(Estimate estimate, SystemClocks.Pair clocks) {
        writer.publish(estimate.snapshot());
    }

    @Override
    public void remove() throws IOException {
        writer.close();
        Files.deleteIfExists(writer.path());
    }

    @Override
    public void recreate() throws IOException {
        writer = SegmentWriter.open(writer.path());
    }

    @Override
    public void close() {
        writer.close();
    }
}
