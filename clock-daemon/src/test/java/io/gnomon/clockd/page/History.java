package io.gnomon.clockd.page;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gnomon.clockd.journal.Journal;
import io.gnomon.clockd.select.SourceCondition;
import io.gnomon.truetime.ClockStatus;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Earlier ranges for the page, read from the journal and downsampled here: how the page answered before it kept
 * {@link Summaries}, kept in the test sources as their reference ({@code SummariesTest}, {@code HistoryTest}) and
 * for the cost comparison ({@code bin/bench-page-history}). A page over a day of history and 100 sources receives a
 * fixed number of buckets per series, not every sample. Per bucket: ε's minimum,
 * maximum and last value, the offset's last value, each source's last offset and bound; events are kept as
 * they are (they are rare), the newest {@link Limits#maxEvents} of them.
 */
final class History {
    /** Bounds on one answer and on the work behind it. */
    record Limits(int buckets, long maxEntriesRead, int maxEvents, int maxSources) {
        static final Limits DEFAULT = new Limits(600, 3_000_000, 500, 200);
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Entries this much older than the range's start are still read: realtime may step backwards a little. */
    private static final long READ_SLACK_NANOS = 60_000_000_000L;

    private History() {
    }

    /** Reads {@code [toEpochNanos - rangeNanos, toEpochNanos]} of the journal in {@code dir} (null: none kept). */
    static ObjectNode read(Path dir, long rangeNanos, long toEpochNanos, Limits limits) throws IOException {
        long fromEpochNanos = toEpochNanos - rangeNanos;
        List<Map<String, Object>> entries = new ArrayList<>();
        long[] read = {0};
        boolean truncated = false;
        if (dir != null) {
            read[0] = Journal.read(dir, fromEpochNanos - READ_SLACK_NANOS, limits.maxEntriesRead(), (fields, epochNanos) -> {
                if (epochNanos == Long.MIN_VALUE || epochNanos >= fromEpochNanos - READ_SLACK_NANOS) {
                    fields.put("epochNanos", epochNanos);
                    entries.add(fields);
                }
                return true;
            });
            truncated = read[0] >= limits.maxEntriesRead();
        }
        return downsample(entries, fromEpochNanos, toEpochNanos, limits, truncated, dir != null);
    }

    static ObjectNode downsample(List<Map<String, Object>> oldestFirst, long fromEpochNanos, long toEpochNanos,
                                 Limits limits, boolean truncated, boolean journalKept) {
        int n = limits.buckets();
        long widthNanos = Math.max(1, (toEpochNanos - fromEpochNanos + n - 1) / n);
        Series bound = new Series(n);
        Series boundMin = new Series(n);
        Series boundMax = new Series(n);
        Series offset = new Series(n);
        Map<String, Series[]> sources = new LinkedHashMap<>();
        List<PageEvents.Event> events = new ArrayList<>();
        PageEvents.Mark previous = null;
        long lastMonotonicNanos = Long.MIN_VALUE;
        Map<String, SourceCondition> conditions = new HashMap<>();
        for (Map<String, Object> f : oldestFirst) {
            long epochNanos = number(f, "epochNanos");
            long monotonicNanos = number(f, "recordedMonotonicNanos");
            long epochMillis = epochNanos / 1_000_000;
            String type = String.valueOf(f.get("type"));
            if (monotonicNanos < lastMonotonicNanos && !"start".equals(type)) {
                events.add(new PageEvents.Event(epochMillis, "restart", "clockd restarted (the host rebooted)"));
                previous = null;
            }
            lastMonotonicNanos = monotonicNanos;
            switch (type) {
                case "start" -> {
                    events.add(new PageEvents.Event(epochMillis, "restart", Page.started(String.valueOf(f.getOrDefault("version", "")))));
                    previous = null;
                    conditions.clear();
                }
                case "snapshot" -> {
                    String reason = String.valueOf(f.getOrDefault("reason", ""));
                    String names = String.valueOf(f.getOrDefault("falsetickers", ""));
                    PageEvents.Mark mark = new PageEvents.Mark(ClockStatus.valueOf(String.valueOf(f.get("status"))),
                            names.isEmpty() ? Set.of() : Set.of(names.split(",")), PageEvents.Mark.leapWindowIn(reason));
                    events.addAll(PageEvents.between(previous, mark, epochMillis, reason));
                    previous = mark;
                    int b = bucket(epochNanos, fromEpochNanos, widthNanos, n);
                    if (b >= 0) {
                        long boundNanos = number(f, "boundNanos");
                        bound.last(b, boundNanos);
                        boundMin.min(b, boundNanos);
                        boundMax.max(b, boundNanos);
                        // true time minus the system clock: the snapshot's epoch offset against the pair it was read with
                        offset.last(b, monotonicNanos + number(f, "epochOffsetNanos") - epochNanos);
                    }
                }
                case "measurement" -> {
                    int b = bucket(epochNanos, fromEpochNanos, widthNanos, n);
                    String name = String.valueOf(f.get("source"));
                    Series[] s = sources.get(name);
                    if (s == null && sources.size() < limits.maxSources()) {
                        s = new Series[]{new Series(n), new Series(n)};
                        sources.put(name, s);
                    }
                    if (b >= 0 && s != null) {
                        s[0].last(b, monotonicNanos + number(f, "epochOffsetNanos") - epochNanos);
                        s[1].last(b, number(f, "boundNanos"));
                    }
                }
                case "disruption" -> events.add(new PageEvents.Event(epochMillis,
                        "SUSPEND".equals(f.get("kind")) ? "suspend" : "step", String.valueOf(f.get("detail"))));
                case "rejected" -> {
                    if ("SOURCE_STEPPED".equals(f.get("reason"))) {
                        events.add(new PageEvents.Event(epochMillis, "source-stepped", f.get("source")
                                + " stepped: its earlier measurements were dropped"));
                    }
                }
                case "condition" -> {
                    PageEvents.Event e = JournalBackfill.condition(conditions, f, epochMillis);
                    if (e != null) {
                        events.add(e);
                    }
                }
                default -> { }
            }
        }
        ObjectNode out = JSON.createObjectNode();
        out.put("fromEpochMillis", fromEpochNanos / 1_000_000);
        out.put("toEpochMillis", toEpochNanos / 1_000_000);
        out.put("bucketMillis", widthNanos / 1_000_000.0);
        out.put("journal", journalKept);
        out.put("truncated", truncated);
        ArrayNode t = out.putArray("t");
        for (int b = 0; b < n; b++) {
            t.add((fromEpochNanos + (b + 1) * widthNanos) / 1e9); // a bucket's values are as of its end
        }
        bound.into(out.putArray("boundNanos"));
        boundMin.into(out.putArray("boundMinNanos"));
        boundMax.into(out.putArray("boundMaxNanos"));
        offset.into(out.putArray("offsetNanos"));
        ObjectNode perSource = out.putObject("sources");
        sources.forEach((name, s) -> {
            ObjectNode o = perSource.putObject(name);
            s[0].into(o.putArray("offsetNanos"));
            s[1].into(o.putArray("boundNanos"));
        });
        ArrayNode ev = out.putArray("events");
        long fromMillis = fromEpochNanos / 1_000_000;
        List<PageEvents.Event> inRange = events.stream().filter(e -> e.epochMillis() >= fromMillis).toList();
        for (PageEvents.Event e : inRange.subList(Math.max(0, inRange.size() - limits.maxEvents()), inRange.size())) {
            ev.add(Page.json(e));
        }
        return out;
    }

    private static int bucket(long epochNanos, long fromEpochNanos, long widthNanos, int n) {
        if (epochNanos < fromEpochNanos) {
            return -1;
        }
        return (int) Math.min(n - 1, (epochNanos - fromEpochNanos) / widthNanos);
    }

    private static long number(Map<String, Object> f, String name) {
        return f.get(name) instanceof Number v ? v.longValue() : 0;
    }

    /** One value per bucket, null (a gap on the chart) where the bucket saw none. */
    private static final class Series {
        private final long[] values;
        private final boolean[] present;

        Series(int n) {
            values = new long[n];
            present = new boolean[n];
        }

        void last(int b, long v) {
            values[b] = v;
            present[b] = true;
        }

        void min(int b, long v) {
            values[b] = present[b] ? Math.min(values[b], v) : v;
            present[b] = true;
        }

        void max(int b, long v) {
            values[b] = present[b] ? Math.max(values[b], v) : v;
            present[b] = true;
        }

        void into(ArrayNode a) {
            for (int b = 0; b < values.length; b++) {
                if (present[b]) {
                    a.add(values[b]);
                } else {
                    a.addNull();
                }
            }
        }
    }
}
