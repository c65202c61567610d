package io.gnomon.clockd.source.chrony;

import io.gnomon.clockd.select.Measurement;
import io.gnomon.clockd.select.RejectReason;
import io.gnomon.clockd.select.SourceListener;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** What a source reported, in order. */
final class RecordingListener implements SourceListener {
    record Event(String sourceName, Measurement measurement, RejectReason reason, String detail) {
    }

    final List<Event> events = new CopyOnWriteArrayList<>();

    @Override
    public void onMeasurement(String sourceName, Measurement measurement) {
        events.add(new Event(sourceName, measurement, null, null));
    }

    @Override
    public void onRejected(String sourceName, RejectReason reason, String detail) {
        events.add(new Event(sourceName, null, reason, detail));
    }

    List<Measurement> measurements(String sourceName) {
        return events.stream().filter(e -> e.sourceName().equals(sourceName) && e.measurement() != null)
                .map(Event::measurement).toList();
    }

    long count(String sourceName, RejectReason reason) {
        return events.stream().filter(e -> e.sourceName().equals(sourceName) && e.reason() == reason).count();
    }

    boolean rejected(String sourceName, RejectReason reason) {
        return count(sourceName, reason) > 0;
    }

    /** Whether a measurement from {@code sourceName} arrived after event number {@code afterIndex}. */
    boolean measuredSince(String sourceName, int afterIndex) {
        List<Event> later = events.subList(Math.min(afterIndex, events.size()), events.size());
        return later.stream().anyMatch(e -> e.sourceName().equals(sourceName) && e.measurement() != null);
    }
}
