package io.gnomon.clockd.journal;

import io.gnomon.clockd.select.DisruptionDetector;
import io.gnomon.clockd.select.Measurement;
import io.gnomon.clockd.select.RejectReason;
import io.gnomon.truetime.ClockSnapshot;
import net.openhft.chronicle.core.time.SystemTimeProvider;
import net.openhft.chronicle.core.time.TimeProvider;
import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.RollCycle;
import net.openhft.chronicle.queue.RollCycles;
import net.openhft.chronicle.queue.impl.RollingResourcesCache;
import net.openhft.chronicle.queue.rollcycles.TestRollCycles;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.wire.DocumentContext;
import net.openhft.chronicle.wire.ValueIn;
import net.openhft.chronicle.wire.Wire;
import net.openhft.chronicle.wire.WireOut;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Stream;

/**
 * An append-only journal (Chronicle Queue) of what the daemon saw and published: every measurement, every
 * rejected sample and every snapshot, each stamped with the monotonic and realtime readings at which the
 * daemon recorded it. It exists to answer "why did the bound jump at 03:12?" after the fact.
 *
 * <p>Entries are self-describing: a {@code type} field then named fields, so {@link #replay} prints any
 * entry, including fields added later, without our classes. Cycle files older than the retention are
 * deleted at open and whenever the queue rolls to a new cycle.
 *
 * <p>Durability: appends land in memory-mapped files; they survive the death of the process (the page
 * cache keeps them) but not a power cut. That is what a diagnostic journal needs; nothing reads it to
 * decide time.
 *
 * <pre>{@code
 * try (Journal j = Journal.open(Path.of("/var/lib/gnomon/journal"), Duration.ofDays(7))) {
 *     j.recordMeasurement(monoNanos, epochNanos, "ntp:10.0.0.1:123", m);
 * }
 * Journal.replay(Path.of("/var/lib/gnomon/journal"), System.out, 0);
 * }</pre>
 *
 * Appends are {@code synchronized}: Chronicle appenders belong to one thread at a time.
 */
public final class Journal implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Journal.class);

    public static final Duration DEFAULT_RETENTION = Duration.ofDays(7);

    static final String TYPE = "type";
    static final String RECORDED_MONOTONIC_NANOS = "recordedMonotonicNanos";
    static final String RECORDED_EPOCH_NANOS = "recordedEpochNanos";
    /** Every field the record methods write with {@code int64}. */
    static final java.util.Set<String> INT64_FIELDS = java.util.Set.of(RECORDED_MONOTONIC_NANOS, RECORDED_EPOCH_NANOS,
            "atMonotonicNanos", "epochOffsetNanos", "boundNanos", "delayNanos", "asOfMonotonicNanos", "maxDriftPpb",
            "voidAfterMonotonicNanos", "amountNanos");

    private final SingleChronicleQueue queue;
    private final ExcerptAppender appender;
    private final RollingResourcesCache fileNames;
    private final long retentionMillis;
    private volatile boolean released;
    private int lastCycle;
    private boolean closed;

    private Journal(SingleChronicleQueue queue, long retentionMillis, long epochMillis) {
        this.queue = queue;
        this.retentionMillis = retentionMillis;
        this.fileNames = new RollingResourcesCache(queue.rollCycle(), epochMillis,
                name -> new File(queue.file(), name + SingleChronicleQueue.SUFFIX),
                file -> file.getName().substring(0, file.getName().length() - SingleChronicleQueue.SUFFIX.length()));
        this.appender = queue.createAppender();
        this.lastCycle = Integer.MIN_VALUE;
    }

    /**
     * Opens (creating if needed) the journal in {@code dir}, keeping cycle files for {@code retention}.
     *
     * @throws IOException if {@code dir} exists and is not a directory, or cannot be created
     */
    public static Journal open(Path dir, Duration retention) throws IOException {
        return open(dir, retention, rollCycleFor(retention), SystemTimeProvider.INSTANCE);
    }

    /** For tests: a chosen roll cycle and the clock that decides cycles and retention. */
    static Journal open(Path dir, Duration retention, RollCycle rollCycle, TimeProvider time) throws IOException {
        Objects.requireNonNull(dir, "dir");
        if (retention == null || retention.isNegative() || retention.isZero()) {
            throw new IllegalArgumentException("journal retention must be positive, was " + retention);
        }
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new IOException("journal directory " + dir + " is not a directory; point the journal at a directory");
        }
        Files.createDirectories(dir);
        SingleChronicleQueueBuilder builder = SingleChronicleQueueBuilder.binary(dir)
                .rollCycle(rollCycle)
                .timeProvider(time);
        Journal[] self = new Journal[1];
        // Called when a cycle file is let go (we rolled past it): prune after the append that rolled,
        // not inside Chronicle's callback.
        builder.storeFileListener((cycle, file) -> {
            if (self[0] != null) {
                self[0].released = true;
            }
        });
        SingleChronicleQueue queue;
        try {
            queue = builder.build();
        } catch (RuntimeException e) {
            throw new IOException("cannot open journal in " + dir + ": " + e.getMessage(), e);
        }
        Journal journal = new Journal(queue, retention.toMillis(), builder.epoch());
        self[0] = journal;
        journal.deleteExpiredCycles();
        return journal;
    }

    /** A roll cycle about 1/24 of the retention (so at most ~4% is kept past it), between 5 minutes and an hour. */
    static RollCycle rollCycleFor(Duration retention) {
        long target = retention.toMillis() / 24;
        for (RollCycles c : new RollCycles[]{RollCycles.FAST_HOURLY, RollCycles.HALF_HOURLY,
                RollCycles.TEN_MINUTELY, RollCycles.FIVE_MINUTELY}) {
            if (c.lengthInMillis() <= target) {
                return c;
            }
        }
        return RollCycles.FIVE_MINUTELY;
    }

    /** One valid measurement from {@code source}. */
    public synchronized void recordMeasurement(long recordedMonotonicNanos, long recordedEpochNanos,
                                               String source, Measurement m) {
        try (DocumentContext dc = begin("measurement", recordedMonotonicNanos, recordedEpochNanos)) {
            Wire w = dc.wire();
            w.write("source").text(source);
            w.write("atMonotonicNanos").int64(m.atMonotonicNanos());
            w.write("epochOffsetNanos").int64(m.epochOffsetNanos());
            w.write("boundNanos").int64(m.boundNanos());
            w.write("delayNanos").int64(m.delayNanos());
        }
        afterAppend();
    }

    /** A reply or reading from {@code source} that was dropped; {@code detail} may be empty. */
    public synchronized void recordRejected(long recordedMonotonicNanos, long recordedEpochNanos,
                                            String source, RejectReason reason, String detail) {
        try (DocumentContext dc = begin("rejected", recordedMonotonicNanos, recordedEpochNanos)) {
            Wire w = dc.wire();
            w.write("source").text(source);
            w.write("reason").text(reason.name());
            w.write("detail").text(detail == null ? "" : detail);
        }
        afterAppend();
    }

    /** A snapshot the daemon published, and in plain words why its status is what it is. */
    public void recordSnapshot(long recordedMonotonicNanos, long recordedEpochNanos, ClockSnapshot s, String reason) {
        recordSnapshot(recordedMonotonicNanos, recordedEpochNanos, s, reason, List.of());
    }

    /**
     * A snapshot the daemon published, why its status is what it is, and the sources the majority out-voted
     * (so a page opened later can mark when each became a falseticker).
     */
    public synchronized void recordSnapshot(long recordedMonotonicNanos, long recordedEpochNanos,
                                            ClockSnapshot s, String reason, List<String> falsetickers) {
        try (DocumentContext dc = begin("snapshot", recordedMonotonicNanos, recordedEpochNanos)) {
            Wire w = dc.wire();
            w.write("status").text(s.status().name());
            w.write("asOfMonotonicNanos").int64(s.asOfMonotonicNanos());
            w.write("epochOffsetNanos").int64(s.epochOffsetNanos());
            w.write("boundNanos").int64(s.boundNanos());
            w.write("maxDriftPpb").int64(s.maxDriftPpb());
            w.write("voidAfterMonotonicNanos").int64(s.voidAfterMonotonicNanos());
            w.write("reason").text(reason == null ? "" : reason);
            w.write("falsetickers").text(String.join(",", falsetickers));
        }
        afterAppend();
    }

    /**
     * A source's condition changed (POLLING, UNRESOLVED, BACKED_OFF, STOPPED), with the daemon's words for it,
     * so earlier ranges of the page show it.
     */
    public synchronized void recordCondition(long recordedMonotonicNanos, long recordedEpochNanos, String source,
                                             String condition, String detail) {
        try (DocumentContext dc = begin("condition", recordedMonotonicNanos, recordedEpochNanos)) {
            Wire w = dc.wire();
            w.write("source").text(source);
            w.write("condition").text(condition);
            w.write("detail").text(detail == null ? "" : detail);
        }
        afterAppend();
    }

    /** The daemon started (so a restart shows in the journal as one, not as a gap). */
    public synchronized void recordStart(long recordedMonotonicNanos, long recordedEpochNanos, String version) {
        try (DocumentContext dc = begin("start", recordedMonotonicNanos, recordedEpochNanos)) {
            dc.wire().write("version").text(version == null ? "" : version);
        }
        afterAppend();
    }

    /** A disruption of the host clocks: a suspend (time the monotonic clock missed) or a realtime step. */
    public synchronized void recordDisruption(long recordedMonotonicNanos, long recordedEpochNanos,
                                              DisruptionDetector.Disruption d) {
        try (DocumentContext dc = begin("disruption", recordedMonotonicNanos, recordedEpochNanos)) {
            Wire w = dc.wire();
            w.write("kind").text(d.kind().name());
            w.write("amountNanos").int64(d.amountNanos());
            w.write("detail").text(d.describe());
        }
        afterAppend();
    }

    private DocumentContext begin(String type, long recordedMonotonicNanos, long recordedEpochNanos) {
        if (closed) {
            throw new IllegalStateException("journal " + queue.file() + " is closed");
        }
        DocumentContext dc = appender.writingDocument();
        WireOut w = dc.wire();
        w.write(TYPE).text(type);
        w.write(RECORDED_MONOTONIC_NANOS).int64(recordedMonotonicNanos);
        w.write(RECORDED_EPOCH_NANOS).int64(recordedEpochNanos);
        return dc;
    }

    private void afterAppend() {
        int cycle = appender.cycle();
        if (released || cycle != lastCycle) {
            released = false;
            boolean first = lastCycle == Integer.MIN_VALUE;
            lastCycle = cycle;
            if (!first) {
                deleteExpiredCycles();
            }
        }
    }

    /** Deletes cycle files that ended more than the retention ago; returns how many. */
    synchronized int deleteExpiredCycles() {
        long nowMillis = queue.time().currentTimeMillis();
        int lengthMillis = queue.rollCycle().lengthInMillis();
        int deleted = 0;
        for (File f : cycleFiles(queue.file().toPath())) {
            int cycle;
            try {
                cycle = fileNames.parseCount(f.getName().substring(0, f.getName().length() - SingleChronicleQueue.SUFFIX.length()));
            } catch (RuntimeException e) { // another roll cycle's name: leave it for a human
                log.warn("journal: ignoring {}: its name is not a {} cycle", f, queue.rollCycle());
                continue;
            }
            if (isExpired(cycle, lengthMillis, nowMillis, retentionMillis)) {
                if (f.delete()) {
                    deleted++;
                } else {
                    log.warn("journal: cannot delete expired cycle file {}", f);
                }
            }
        }
        if (deleted > 0) {
            queue.refreshDirectoryListing();
            log.info("journal: deleted {} cycle file(s) older than {} ms in {}", deleted, retentionMillis, queue.file());
        }
        return deleted;
    }

    /**
     * Whether the cycle {@code cycle} (which spans {@code [cycle * length, (cycle + 1) * length)} ms after the
     * epoch) ended more than {@code retentionMillis} before {@code nowMillis}. Its newest entry may be as
     * young as its end, so the end, not the start, must be older than the retention.
     */
    static boolean isExpired(int cycle, long cycleLengthMillis, long nowMillis, long retentionMillis) {
        long endMillis = (cycle + 1L) * cycleLengthMillis;
        return endMillis <= nowMillis - retentionMillis;
    }

    private static List<File> cycleFiles(Path dir) {
        List<File> files = new ArrayList<>();
        File[] all = dir.toFile().listFiles((d, name) -> name.endsWith(SingleChronicleQueue.SUFFIX));
        if (all != null) {
            for (File f : all) {
                files.add(f);
            }
        }
        return files;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        appender.close();
        queue.close();
    }

    /**
     * Prints one line per entry with {@code recordedEpochNanos >= fromEpochNanos} (0 for all), oldest first:
     * the recorded time in ISO-8601 (UTC), the type, then every other field as {@code name=value}.
     * Opens the queue read-only, so it can run while the daemon writes.
     *
     * @return the number of lines printed
     * @throws IOException if {@code dir} does not exist, is not a directory, or holds no journal
     */
    public static long replay(Path dir, PrintStream out, long fromEpochNanos) throws IOException {
        long[] printed = {0};
        read(dir, Long.MIN_VALUE, Long.MAX_VALUE, (fields, epochNanos) -> {
            if (epochNanos >= fromEpochNanos) {
                out.println(format(fields, epochNanos));
                printed[0]++;
            }
            return true;
        });
        return printed[0];
    }

    /** What {@link #read} hands each entry to; returning false stops the reading. */
    public interface EntryVisitor {
        /** {@code epochNanos}: the entry's recorded realtime, {@code Long.MIN_VALUE} if it has none. */
        boolean visit(Map<String, Object> fields, long epochNanos);
    }

    /**
     * Hands at most {@code maxEntries} entries to {@code visitor}, oldest first, until it returns false, starting
     * at the cycle file that holds {@code fromEpochNanos} ({@code Long.MIN_VALUE}: the first), so earlier cycles
     * are not read; the visitor still sees that cycle's entries before {@code fromEpochNanos}. Opens the queue
     * read-only, so it can run while the daemon writes. Integral numbers come back as {@link Long}.
     *
     * @return the number of entries read
     * @throws IOException if {@code dir} does not exist, is not a directory, or holds no journal
     */
    public static long read(Path dir, long fromEpochNanos, long maxEntries, EntryVisitor visitor) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException("journal directory " + dir + " does not exist or is not a directory");
        }
        String cycleFileName;
        try (Stream<Path> s = Files.list(dir)) {
            cycleFileName = s.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(SingleChronicleQueue.SUFFIX)).findFirst()
                    .orElseThrow(() -> new IOException("no journal in " + dir + ": no " + SingleChronicleQueue.SUFFIX
                            + " cycle files (wrong directory, or everything is past retention)"));
        }
        SingleChronicleQueueBuilder builder = SingleChronicleQueueBuilder.binary(dir).readOnly(true);
        // Tell Chronicle the roll cycle the files were written with; a wrong guess works but logs a warning.
        RollCycle written = rollCycleOfFile(cycleFileName);
        if (written != null) {
            builder.rollCycle(written);
        }
        long read = 0;
        try (ChronicleQueue queue = builder.build();
             ExcerptTailer tailer = queue.createTailer()) {
            if (written != null && fromEpochNanos != Long.MIN_VALUE) {
                // cycles count roll-cycle lengths from the epoch (Chronicle's default epoch, 0, is the one written)
                int cycle = (int) Math.floorDiv(fromEpochNanos / 1_000_000, (long) written.lengthInMillis());
                if (!tailer.moveToCycle(cycle)) {
                    tailer.toStart(); // no file for that cycle (a gap, or older than the journal): from the first
                }
            }
            StringBuilder name = new StringBuilder();
            while (read < maxEntries) {
                Map<String, Object> fields = new LinkedHashMap<>();
                try (DocumentContext dc = tailer.readingDocument()) {
                    if (!dc.isPresent()) {
                        break;
                    }
                    Wire w = dc.wire();
                    while (!w.isEmpty()) {
                        ValueIn in = w.read(name);
                        String field = name.toString();
                        // the fields written as int64 are read as such: several times faster than object()
                        fields.put(field, INT64_FIELDS.contains(field) ? (Object) in.int64() : integral(in.object()));
                    }
                }
                read++;
                Object epoch = fields.get(RECORDED_EPOCH_NANOS);
                long epochNanos = epoch instanceof Number n ? n.longValue() : Long.MIN_VALUE;
                if (!visitor.visit(fields, epochNanos)) {
                    break;
                }
            }
        }
        return read;
    }

    /** The roll cycle whose file names look like {@code cycleFileName}, or null if none does. */
    static RollCycle rollCycleOfFile(String cycleFileName) {
        String name = cycleFileName.substring(0, cycleFileName.length() - SingleChronicleQueue.SUFFIX.length());
        List<RollCycle> candidates = new ArrayList<>(List.of(RollCycles.values()));
        candidates.addAll(List.of(TestRollCycles.values()));
        for (RollCycle c : candidates) {
            try {
                RollingResourcesCache names = new RollingResourcesCache(c, 0, n -> new File(n), File::getName);
                if (names.resourceFor(names.parseCount(name)).text.equals(name)) {
                    return c;
                }
            } catch (RuntimeException notThisOne) {
                // a name of another format does not parse
            }
        }
        return null;
    }

    /**
     * Chronicle's binary wire stores an int64 in the shortest exact form, which may be a float64
     * (5000000000 comes back as 5.0E9): print integral floating values as the integers they were.
     */
    private static Object integral(Object v) {
        if ((v instanceof Double || v instanceof Float) && !Double.isInfinite(((Number) v).doubleValue())) {
            double d = ((Number) v).doubleValue();
            if (d == Math.rint(d) && Math.abs(d) < 0x1p63) {
                return (long) d;
            }
        }
        return v;
    }

    static String format(Map<String, Object> fields, long epochNanos) {
        StringBuilder line = new StringBuilder(160);
        line.append(epochNanos == Long.MIN_VALUE ? "-" : Instant.ofEpochSecond(0, epochNanos).toString());
        line.append(' ').append(fields.getOrDefault(TYPE, "?"));
        for (Map.Entry<String, Object> f : fields.entrySet()) {
            if (f.getKey().equals(TYPE) || f.getKey().equals(RECORDED_EPOCH_NANOS)) {
                continue;
            }
            Object v = integral(f.getValue());
            String text = String.valueOf(v);
            if (v instanceof CharSequence && (text.isEmpty() || text.indexOf(' ') >= 0 || text.indexOf('"') >= 0)) {
                text = '"' + text.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
            }
            line.append(' ').append(f.getKey()).append('=').append(text);
        }
        return line.toString();
    }
}
