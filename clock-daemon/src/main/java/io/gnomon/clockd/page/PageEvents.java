package io.gnomon.clockd.page;

import io.gnomon.clockd.select.SourceCondition;
import io.gnomon.truetime.ClockStatus;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * What the page marks on its time axis, worked out the same way from live estimates and from the journal:
 * a pure comparison of two consecutive {@link Mark}s, plus the events that arrive as such (steps, suspends,
 * restarts, a source's condition).
 */
final class PageEvents {
    private PageEvents() {
    }

    /** The part of an estimate whose changes are events. */
    record Mark(ClockStatus status, Set<String> falsetickers, boolean leapWindow) {
        Mark {
            falsetickers = Set.copyOf(falsetickers);
        }

        /** The estimator's reason names the leap second while it widens the bound for it (ClockEstimator). */
        static boolean leapWindowIn(String reason) {
            return reason != null && reason.contains("leap second");
        }
    }

    /** One mark on the time axis; {@code kind} picks its colour on the page. */
    record Event(long epochMillis, String kind, String text) {
    }

    /**
     * The event of a source's condition, or null: a change from the last one in {@code seen} (which it updates),
     * except a first POLLING (every source starts polling). The same live and from the journal.
     */
    static Event condition(Map<String, SourceCondition> seen, String source, SourceCondition condition, String detail,
                           long epochMillis) {
        SourceCondition before = seen.put(source, condition);
        if (before != condition && (before != null || condition != SourceCondition.POLLING)) {
            return new Event(epochMillis, "condition", source + " " + condition + ": " + detail);
        }
        return null;
    }

    /** The events between {@code before} (null: none known, so nothing changed) and {@code after}. */
    static List<Event> between(Mark before, Mark after, long epochMillis, String reason) {
        List<Event> events = new ArrayList<>();
        if (before == null) {
            return events;
        }
        if (before.status() != after.status()) {
            events.add(new Event(epochMillis, "status", before.status() + " → " + after.status() + ": " + reason));
        }
        for (String name : new TreeSet<>(after.falsetickers())) {
            if (!before.falsetickers().contains(name)) {
                events.add(new Event(epochMillis, "falseticker", name + " is a falseticker: outside the majority's interval"));
            }
        }
        for (String name : new TreeSet<>(before.falsetickers())) {
            if (!after.falsetickers().contains(name)) {
                events.add(new Event(epochMillis, "falseticker", name + " agrees with the majority again"));
            }
        }
        if (before.leapWindow() != after.leapWindow()) {
            events.add(new Event(epochMillis, "leap", after.leapWindow()
                    ? "leap-second window opens: the bound is widened by 1 s" : "leap-second window closes"));
        }
        return events;
    }
}
