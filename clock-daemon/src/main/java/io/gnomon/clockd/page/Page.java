package io.gnomon.clockd.page;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import io.gnomon.clockd.ClockDaemon;
import io.gnomon.clockd.SystemClocks;
import io.gnomon.clockd.cli.TrueTimeCli;
import io.gnomon.clockd.publish.HttpEndpoint;
import io.gnomon.clockd.publish.TrueTimeService;
import io.gnomon.clockd.select.DisruptionDetector;
import io.gnomon.clockd.select.Estimate;
import io.gnomon.clockd.select.Measurement;
import io.gnomon.clockd.select.RejectReason;
import io.gnomon.clockd.select.SourceCondition;
import io.gnomon.clockd.select.SourceState;
import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.grpc.v1.SourceStatus;
import io.gnomon.truetime.grpc.v1.StatusResponse;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.stream.Collectors;

/**
 * clockd's live page: {@code /} (HTML, JS and CSS from this package's resources, uPlot from its WebJar),
 * {@code /events} (server-sent events: the state at each estimate, and events as they happen) and
 * {@code /api/history?range=hour} (per-bucket {@link Summaries} kept as the daemon runs, and across restarts
 * beside the journal by {@link PageHistory}). It hears the daemon as a
 * {@link ClockDaemon.Sink}; what it does there is build one JSON text and offer it to the listening pages,
 * never waiting on one ({@link LiveClients}).
 */
public final class Page implements ClockDaemon.Sink, HttpEndpoint.Routes, AutoCloseable {
    /** Bounds of the page, each with its unit. */
    public record Limits(int maxLiveClients, int liveQueueLength, long minBroadcastIntervalNanos,
                         int recentEvents, long maxRangeNanos, Summaries.Limits summaries) {
        public static final Limits DEFAULT = new Limits(16, 64, 200_000_000L, 200, 7 * 86_400_000_000_000L,
                Summaries.Limits.DEFAULT);
    }

    static final String UPLOT = "/META-INF/resources/webjars/uplot/1.6.30/dist/";
    /** What the page serves from resources: its own three files and uPlot's two. */
    static final Map<String, String[]> FILES = Map.of(
            "/", new String[]{"page.html", "text/html; charset=utf-8"},
            "/page.js", new String[]{"page.js", "text/javascript; charset=utf-8"},
            "/page.css", new String[]{"page.css", "text/css; charset=utf-8"},
            "/uplot/uPlot.iife.min.js", new String[]{UPLOT + "uPlot.iife.min.js", "text/javascript; charset=utf-8"},
            "/uplot/uPlot.min.css", new String[]{UPLOT + "uPlot.min.css", "text/css; charset=utf-8"});
    /** How long a source shows as "stepped" after its measurements contradicted its earlier ones. */
    static final long STEPPED_SHOWN_NANOS = 120_000_000_000L;

    private static final ObjectMapper JSON = new ObjectMapper();

    private final TrueTimeService service;
    private final SystemClocks clocks;
    private final PageHistory history;
    private final String version;
    private final Limits limits;
    private final LiveClients live;
    private final Semaphore historyReaders = new Semaphore(1);
    private final Map<String, byte[]> files = new ConcurrentHashMap<>();
    /** Touched on the daemon's core thread only (the sink's callbacks). */
    private final Map<String, SourceCondition> conditions = new ConcurrentHashMap<>();
    private final Map<String, Long> steppedAtMonotonicNanos = new ConcurrentHashMap<>();
    private final List<PageEvents.Event> pending = new ArrayList<>();
    private PageEvents.Mark mark;
    private long lastBroadcastMonotonicNanos = Long.MIN_VALUE;
    /** The newest events and state, for a page that connects now; guarded by {@code this}. */
    private final Deque<PageEvents.Event> recent = new ArrayDeque<>();
    private String lastState;

    /**
     * {@code journalDir}: where the journal is kept, and the page keeps its summaries beside it ({@link PageHistory});
     * null if it is not (earlier ranges then show what this run saw).
     */
    public Page(TrueTimeService service, SystemClocks clocks, Path journalDir, String version, Limits limits) {
        this.service = service;
        this.clocks = clocks;
        this.version = version;
        this.limits = limits;
        this.live = new LiveClients(limits.maxLiveClients(), limits.liveQueueLength());
        this.history = openHistory(journalDir, limits.summaries(), clocks);
    }

    private static PageHistory openHistory(Path journalDir, Summaries.Limits limits, SystemClocks clocks) {
        if (journalDir == null) {
            return PageHistory.inMemory(limits);
        }
        return PageHistory.open(journalDir, limits, clocks.readPair().realtimeEpochNanos(), restore -> {
            Thread t = new Thread(restore, "clockd-page-restore"); // a restart publishes without waiting for it
            t.setDaemon(true);
            t.start();
        });
    }

    // --- what the daemon tells the page (its core thread) ---

    @Override
    public void onStart(SystemClocks.Pair clocks) {
        note(new PageEvents.Event(clocks.realtimeEpochNanos() / 1_000_000, "restart", started(version)));
    }

    @Override
    public void onEstimate(Estimate e, SystemClocks.Pair clocks) {
        long nowNanos = clocks.monotonicAfterNanos();
        long epochMillis = clocks.realtimeEpochNanos() / 1_000_000;
        StatusResponse r = service.statusResponse(e, nowNanos);
        PageEvents.Mark next = new PageEvents.Mark(e.snapshot().status(), e.sources().stream()
                .filter(SourceState::falseticker).map(SourceState::name).collect(Collectors.toSet()),
                PageEvents.Mark.leapWindowIn(e.reason()));
        PageEvents.between(mark, next, epochMillis, r.getReason()).forEach(this::note);
        mark = next;
        List<Summaries.SourceMark> marks = new ArrayList<>(e.sources().size());
        for (SourceState s : e.sources()) {
            marks.add(new Summaries.SourceMark(s.name(), summaryState(s, nowNanos)));
        }
        // true time minus the system clock, as a reader of the journal works it out
        history.estimate(clocks.realtimeEpochNanos(), e.snapshot().boundNanos(),
                nowNanos + e.snapshot().epochOffsetNanos() - clocks.realtimeEpochNanos(), marks);
        if (pending.isEmpty() && lastBroadcastMonotonicNanos != Long.MIN_VALUE
                && nowNanos - lastBroadcastMonotonicNanos < limits.minBroadcastIntervalNanos()) {
            return; // estimates follow every measurement: with many sources, pages need not see each one
        }
        lastBroadcastMonotonicNanos = nowNanos;
        String state = text(state(r, e, clocks.realtimeEpochNanos(), nowNanos));
        synchronized (this) {
            lastState = state;
        }
        live.broadcast("event: state\ndata: " + state + "\n\n");
        pending.clear();
    }

    @Override
    public void onMeasurement(String source, Measurement m, SystemClocks.Pair clocks) {
        history.measurement(clocks.realtimeEpochNanos(), source,
                clocks.monotonicAfterNanos() + m.epochOffsetNanos() - clocks.realtimeEpochNanos(), m.boundNanos());
    }

    @Override
    public void onDisruption(DisruptionDetector.Disruption d, SystemClocks.Pair clocks) {
        note(new PageEvents.Event(clocks.realtimeEpochNanos() / 1_000_000,
                d.kind() == DisruptionDetector.Kind.SUSPEND ? "suspend" : "step", d.describe()));
    }

    @Override
    public void onRejected(String source, RejectReason reason, String detail, SystemClocks.Pair clocks) {
        if (reason == RejectReason.SOURCE_STEPPED) {
            steppedAtMonotonicNanos.put(source, clocks.monotonicAfterNanos());
            note(new PageEvents.Event(clocks.realtimeEpochNanos() / 1_000_000, "source-stepped",
                    source + " stepped: its earlier measurements were dropped"));
        }
    }

    @Override
    public void onCondition(String source, SourceCondition condition, String detail) {
        PageEvents.Event e = PageEvents.condition(conditions, source, condition, detail, epochMillis());
        if (e != null) {
            note(e);
        }
    }

    private void note(PageEvents.Event e) {
        pending.add(e);
        history.event(e);
        synchronized (this) {
            recent.addLast(e);
            while (recent.size() > limits.recentEvents()) {
                recent.removeFirst();
            }
        }
    }

    private ObjectNode state(StatusResponse r, Estimate e, long epochNanos, long nowMonotonicNanos) {
        ClockStatus st = ClockStatus.fromCode(r.getStatusValue());
        ObjectNode o = JSON.createObjectNode();
        o.put("t", epochNanos / 1e9);
        o.put("status", st.name());
        o.put("usable", st.isUsable());
        o.put("headline", TrueTimeCli.statusWords(st));
        o.put("why", r.getReason());
        o.put("meaning", TrueTimeCli.plainWords(st, e.snapshot(), 0));
        o.put("boundNanos", r.getBoundNanos());
        o.put("offsetNanos", r.getOffsetNanos());
        o.put("maxDriftPpb", r.getMaxDriftPpb());
        o.put("falsetickersOutvotable", e.falsetickersOutvotable());
        ArrayNode sources = o.putArray("sources");
        for (int i = 0; i < r.getSourcesCount(); i++) {
            SourceStatus s = r.getSources(i);
            SourceState state = e.sources().get(i);
            ObjectNode so = sources.addObject();
            so.put("name", s.getName());
            so.put("kind", s.getKind());
            so.put("state", sourceState(state, nowMonotonicNanos));
            so.put("condition", conditions.getOrDefault(s.getName(), SourceCondition.POLLING).name());
            so.put("measured", state.hasMeasurement());
            so.put("offsetNanos", s.getOffsetNanos());
            so.put("delayNanos", s.getDelayNanos());
            so.put("boundNanos", s.getBoundNanos());
            so.put("rejected", s.getSamplesRejected());
        }
        ArrayNode events = o.putArray("events");
        pending.forEach(ev -> events.add(json(ev)));
        return o;
    }

    private Summaries.State summaryState(SourceState s, long nowMonotonicNanos) {
        return switch (sourceState(s, nowMonotonicNanos)) {
            case "stepped" -> Summaries.State.STEPPED;
            case "unreachable" -> Summaries.State.UNREACHABLE;
            case "falseticker" -> Summaries.State.FALSETICKER;
            default -> Summaries.State.SELECTED;
        };
    }

    private String sourceState(SourceState s, long nowMonotonicNanos) {
        Long stepped = steppedAtMonotonicNanos.get(s.name());
        if (stepped != null && nowMonotonicNanos - stepped < STEPPED_SHOWN_NANOS) {
            return "stepped";
        }
        if (!s.reachable() || !s.hasMeasurement()) {
            return "unreachable";
        }
        return s.falseticker() ? "falseticker" : "selected";
    }

    /** The words of a start event, the same from the journal and live (so the page shows it once). */
    static String started(String version) {
        return "clockd started " + version;
    }

    private long epochMillis() {
        return clocks.readPair().realtimeEpochNanos() / 1_000_000;
    }

    static ObjectNode json(PageEvents.Event e) {
        ObjectNode o = JSON.createObjectNode();
        o.put("t", e.epochMillis() / 1e3);
        o.put("kind", e.kind());
        o.put("text", e.text());
        return o;
    }

    private static String text(ObjectNode o) {
        try {
            return JSON.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    // --- what pages ask (HTTP threads) ---

    @Override
    public boolean handles(String path) {
        return FILES.containsKey(path) || "/events".equals(path) || "/api/history".equals(path);
    }

    @Override
    public boolean handle(HttpExchange exchange, String path, Map<String, String> query) throws IOException {
        if ("/events".equals(path)) {
            HttpEndpoint.expectQuery(query, Set.of());
            String first;
            synchronized (this) {
                ObjectNode hello = JSON.createObjectNode();
                ArrayNode events = hello.putArray("events");
                recent.forEach(ev -> events.add(json(ev)));
                first = "event: recent\ndata: " + text(hello) + "\n\n"
                        + (lastState == null ? "" : "event: state\ndata: " + lastState + "\n\n");
            }
            if (live.add(exchange, first)) {
                return true;
            }
            HttpEndpoint.respond(exchange, 429, "too many live pages open (" + limits.maxLiveClients()
                    + "): close one, or raise the limit\n");
            return false;
        }
        if ("/api/history".equals(path)) {
            HttpEndpoint.expectQuery(query, Set.of("range"));
            long rangeNanos = rangeNanos(query.getOrDefault("range", "hour"), limits.maxRangeNanos());
            if (!historyReaders.tryAcquire()) { // an answer is cheap (buckets, not entries), but bound the JSON built at once
                HttpEndpoint.respond(exchange, 429, "busy answering another page's history: retry shortly\n");
                return false;
            }
            ObjectNode answer;
            try {
                answer = history.answer(rangeNanos, clocks.readPair().realtimeEpochNanos());
                if (answer == null) {
                    HttpEndpoint.respond(exchange, 503, history.notReadyReason() + ": retry shortly\n");
                    return false;
                }
                HttpEndpoint.respond(exchange, 200, "application/json", text(answer));
            } finally {
                historyReaders.release();
            }
            return false;
        }
        HttpEndpoint.expectQuery(query, Set.of());
        String[] file = FILES.get(path);
        HttpEndpoint.respond(exchange, 200, file[1], files.computeIfAbsent(file[0], Page::resource));
        return false;
    }

    /** {@code hour}, {@code day}, or a number of seconds from 60 to {@code maxNanos}. */
    static long rangeNanos(String range, long maxNanos) {
        long seconds = switch (range) {
            case "hour" -> 3600;
            case "day" -> 86_400;
            default -> {
                try {
                    yield Long.parseLong(range);
                } catch (NumberFormatException e) {
                    throw new HttpEndpoint.BadRequest("range: '" + HttpEndpoint.clip(range)
                            + "' is not hour, day or a number of seconds");
                }
            }
        };
        long maxSeconds = maxNanos / 1_000_000_000L;
        if (seconds < 60 || seconds > maxSeconds) {
            throw new HttpEndpoint.BadRequest("range: " + seconds + " s is outside 60.." + maxSeconds + " s");
        }
        return seconds * 1_000_000_000L;
    }

    private static byte[] resource(String name) {
        try (InputStream in = Page.class.getResourceAsStream(name)) { // relative: this package's own files
            if (in == null) {
                throw new IllegalStateException("resource " + name + " is missing from clockd's classpath");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        live.close();
        history.close();
    }
}
