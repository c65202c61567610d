package io.gnomon.clockd.page;

import io.gnomon.clockd.select.SourceCondition;
import io.gnomon.truetime.ClockStatus;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Feeds journal entries, oldest first, into {@link Summaries} as the daemon would have fed them live: a
 * snapshot is an estimate (its falsetickers marked as such), a measurement a measurement, and the events
 * are worked out as the live page works them out ({@link PageEvents}). For the first start with summaries, so a page shows the
 * day before it too. Pure: entries in, the buckets closed and the events out.
 */
final class JournalBackfill {
    private final Summaries summaries;
    private final List<Summaries.Closed> closed = new ArrayList<>();
    private final List<PageEvents.Event> events = new ArrayList<>();
    private PageEvents.Mark previous;
    private long lastMonotonicNanos = Long.MIN_VALUE;
    private final Map<String, SourceCondition> conditions = new HashMap<>();

    JournalBackfill(Summaries summaries) {
        this.summaries = summaries;
    }

    /** One journal entry ({@link io.gnomon.clockd.journal.Journal#read}'s fields) recorded at {@code epochNanos}. */
    void entry(Map<String, Object> f, long epochNanos) {
        if (epochNanos == Long.MIN_VALUE) {
            return;
        }
        long monotonicNanos = number(f, "recordedMonotonicNanos");
        long epochMillis = epochNanos / 1_000_000;
        String type = String.valueOf(f.get("type"));
        if (monotonicNanos < lastMonotonicNanos && !"start".equals(type)) {
            event(new PageEvents.Event(epochMillis, "restart", "clockd restarted (the host rebooted)"));
            previous = null;
        }
        lastMonotonicNanos = monotonicNanos;
        switch (type) {
            case "start" -> {
                event(new PageEvents.Event(epochMillis, "restart", Page.started(String.valueOf(f.getOrDefault("version", "")))));
                previous = null;
                conditions.clear();
            }
            case "snapshot" -> {
                String reason = String.valueOf(f.getOrDefault("reason", ""));
                String names = String.valueOf(f.getOrDefault("falsetickers", ""));
                Set<String> falsetickers = names.isEmpty() ? Set.of() : Set.of(names.split(","));
                PageEvents.Mark mark = new PageEvents.Mark(ClockStatus.valueOf(String.valueOf(f.get("status"))),
                        falsetickers, PageEvents.Mark.leapWindowIn(reason));
                PageEvents.between(previous, mark, epochMillis, reason).forEach(this::event);
                previous = mark;
                List<Summaries.SourceMark> marks = falsetickers.stream()
                        .map(n -> new Summaries.SourceMark(n, Summaries.State.FALSETICKER)).toList();
                closed.addAll(summaries.estimate(epochNanos, number(f, "boundNanos"),
                        monotonicNanos + number(f, "epochOffsetNanos") - epochNanos, marks));
            }
            case "measurement" -> closed.addAll(summaries.measurement(epochNanos, String.valueOf(f.get("source")),
                    monotonicNanos + number(f, "epochOffsetNanos") - epochNanos, number(f, "boundNanos")));
            case "disruption" -> event(new PageEvents.Event(epochMillis,
                    "SUSPEND".equals(f.get("kind")) ? "suspend" : "step", String.valueOf(f.get("detail"))));
            case "rejected" -> {
                if ("SOURCE_STEPPED".equals(f.get("reason"))) {
                    event(new PageEvents.Event(epochMillis, "source-stepped", f.get("source")
                            + " stepped: its earlier measurements were dropped"));
                }
            }
            case "condition" -> {
                PageEvents.Event e = condition(conditions, f, epochMillis);
                if (e != null) {
                    event(e);
                }
            }
            default -> { }
        }
    }

    private void event(PageEvents.Event e) {
        summaries.event(e);
        events.add(e);
    }

    /** The buckets closed since the last call (to persist), and forgets them. */
    List<Summaries.Closed> drainClosed() {
        if (closed.isEmpty()) {
            return List.of();
        }
        List<Summaries.Closed> out = List.copyOf(closed);
        closed.clear();
        return out;
    }

    /** The events since the last call (to persist), and forgets them. */
    List<PageEvents.Event> drainEvents() {
        if (events.isEmpty()) {
            return List.of();
        }
        List<PageEvents.Event> out = List.copyOf(events);
        events.clear();
        return out;
    }

    private static long number(Map<String, Object> f, String name) {
        return f.get(name) instanceof Number v ? v.longValue() : 0;
    }

    /** A journaled condition's event (null if none: see {@link PageEvents#condition}); an unknown name is none. */
    static PageEvents.Event condition(Map<String, SourceCondition> seen, Map<String, Object> f, long epochMillis) {
        SourceCondition c;
        try {
            c = SourceCondition.valueOf(String.valueOf(f.get("condition")));
        } catch (IllegalArgumentException e) {
            return null;
        }
        return PageEvents.condition(seen, String.valueOf(f.get("source")), c, String.valueOf(f.getOrDefault("detail", "")),
                epochMillis);
    }
}
