package io.gnomon.clockd.page;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gnomon.clockd.journal.Journal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.function.Function;

/**
 * The page's {@link Summaries}, kept across restarts in {@value #DIR} beside the journal: one
 * {@link SummaryLog} per tier (each closed bucket, as it closes) and one for events. The thin side: it
 * serialises the daemon's core thread (inputs) and the HTTP threads (answers), encodes records, and
 * writes what the summaries close; the summarising is {@link Summaries}'. Without a journal directory it
 * keeps the summaries in memory only (the page then has what it saw since the start).
 *
 * <p>The files are read back on a thread of their own ({@link #open}), so a restart does not delay publishing;
 * meanwhile the page answers 503 and inputs wait in a bounded list.
 *
 * <p>A failed write is logged (the first, then every 1000th) and the summaries go on in memory: the page
 * must never stop the daemon publishing.
 */
final class PageHistory implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PageHistory.class);

    static final String DIR = "page-summaries";
    static final int MAX_TEXT_CHARS = 2_000;

    /**
     * Inputs held while the files are read back or built from the journal: 100 sources polled every 16 s make
     * about 12 a second, so this is over 13 minutes of them, for a read-back of under a second and a build of
     * seconds. An estimate holds one state per source (about 4 KB at 100 sources): at most about 40 MB.
     * Inputs past it are dropped (a gap in the charts) and counted in a log line.
     */
    static final int MAX_PENDING_INPUTS = 10_000;

    private final Summaries.Limits limits;
    private Summaries summaries;
    private SummaryLog[] tierLogs;
    private SummaryLog eventLog;
    private boolean kept;
    /** Non-null while the files are read back: the inputs that arrived meanwhile, replayed after. */
    private List<Function<Summaries, List<Summaries.Closed>>> pending;
    private long pendingDropped;
    private int maxPendingInputs = MAX_PENDING_INPUTS;
    private boolean closed;
    private long writeFailures;

    private PageHistory(Summaries.Limits limits) {
        this.limits = limits;
        this.summaries = new Summaries(limits);
    }

    /** Summaries in memory only. */
    static PageHistory inMemory(Summaries.Limits limits) {
        return new PageHistory(limits);
    }

    /**
     * Opens the summaries kept in {@code journalDir}/{@value #DIR}, reading them back on {@code restorer} (a
     * thread of its own in clockd, so publishing does not wait for it; {@code Runnable::run} in tests). Until
     * that is done, {@link #answer} returns null (the page says 503) and inputs are held, then replayed. If the
     * files cannot be read, the summaries go on in memory and the failure is logged.
     */
    static PageHistory open(Path journalDir, Summaries.Limits limits, Executor restorer) {
        return open(journalDir, limits, Long.MIN_VALUE, restorer);
    }

    /**
     * As {@link #open(Path, Summaries.Limits, Executor)}; and if there are no summaries yet (the first start
     * with them), first builds them from the journal's entries in the {@value #BACKFILL_SECONDS} s before
     * {@code nowEpochNanos} (at most {@value #BACKFILL_MAX_ENTRIES}); {@code Long.MIN_VALUE}: do not.
     */
    static PageHistory open(Path journalDir, Summaries.Limits limits, long nowEpochNanos, Executor restorer) {
        return open(journalDir, limits, nowEpochNanos, MAX_PENDING_INPUTS, restorer);
    }

    /** As above, holding at most {@code maxPendingInputs} inputs meanwhile (tests run at the limit with a small one). */
    static PageHistory open(Path journalDir, Summaries.Limits limits, long nowEpochNanos, int maxPendingInputs,
                            Executor restorer) {
        if (maxPendingInputs < 0) {
            throw new IllegalArgumentException("maxPendingInputs must be at least 0, was " + maxPendingInputs);
        }
        PageHistory h = new PageHistory(limits);
        h.maxPendingInputs = maxPendingInputs;
        h.pending = new ArrayList<>();
        restorer.execute(() -> h.restore(journalDir, nowEpochNanos));
        return h;
    }

    /** How much of the journal the first start with summaries reads into them: a day (the page's longest button). */
    static final long BACKFILL_SECONDS = 86_400;
    static final long BACKFILL_MAX_ENTRIES = 3_000_000;

    /** Why {@link #answer} is null, in words for a 503. */
    String notReadyReason() {
        return backfilling ? "building the page's summaries from the last day of the journal (the first start with them)"
                : "reading back the page's summaries after a start";
    }

    private volatile boolean backfilling;

    private void restore(Path journalDir, long nowEpochNanos) {
        Path dir = journalDir.resolve(DIR);
        Summaries s = new Summaries(limits);
        int tiers = limits.tierWidthNanos().size();
        SummaryLog[] logs = new SummaryLog[tiers];
        SummaryLog events = null;
        try {
            for (int k = 0; k < tiers; k++) {
                List<SummaryLog.Record> records = new ArrayList<>();
                long widthNanos = limits.tierWidthNanos().get(k);
                logs[k] = SummaryLog.open(dir, "tier-" + widthNanos / 1_000_000 + "ms", widthNanos,
                        limits.bucketsKept(), Integer.MAX_VALUE, records);
                for (SummaryLog.Record r : records) {
                    s.restore(k, decodeBucket(r, s));
                }
            }
            List<SummaryLog.Record> records = new ArrayList<>();
            events = SummaryLog.open(dir, "events", 0, limits.maxEventAgeNanos() / 1_000_000, limits.maxEvents(), records);
            for (SummaryLog.Record r : records) {
                s.restore(decodeEvent(r));
            }
            boolean fresh = records.isEmpty() && s.isEmpty();
            // before any input: the coarser buckets the finer ones complete (the daemon stopped while they were open)
            write(logs, events, s.catchUp(), List.of(), s.sourceNames());
            if (fresh && nowEpochNanos != Long.MIN_VALUE) {
                backfilling = true;
                backfill(journalDir, nowEpochNanos, s, logs, events);
            }
        } catch (IOException | RuntimeException e) {
            log.error("page: cannot keep its summaries in {} ({}); earlier ranges show only what this run saw", dir, e.toString());
            closeQuietly(logs, events);
            synchronized (this) {
                replayPending(); // into the in-memory summaries, not kept
            }
            return;
        }
        synchronized (this) {
            backfilling = false;
            if (closed) {
                closeQuietly(logs, events);
                return;
            }
            summaries = s;
            tierLogs = logs;
            eventLog = events;
            kept = true;
            replayPending();
        }
        if (pendingDropped > 0) {
            log.warn("page: {} inputs arrived while its summaries were read back and did not fit ({} kept)",
                    pendingDropped, maxPendingInputs);
        }
    }

    /** Reads the journal's last day into {@code s}, writing what closes; before any live input is applied. */
    private void backfill(Path journalDir, long nowEpochNanos, Summaries s, SummaryLog[] logs, SummaryLog events) {
        long fromEpochNanos = nowEpochNanos - BACKFILL_SECONDS * 1_000_000_000L;
        JournalBackfill b = new JournalBackfill(s);
        long started = System.nanoTime(); // elapsed time for the log line only
        IOException[] failed = {null};
        long read;
        try {
            read = Journal.read(journalDir, fromEpochNanos, BACKFILL_MAX_ENTRIES, (fields, epochNanos) -> {
                if (epochNanos >= nowEpochNanos) {
                    return false; // from here on the live inputs have it
                }
                if (epochNanos >= fromEpochNanos) {
                    b.entry(fields, epochNanos);
                    List<Summaries.Closed> closedBuckets = b.drainClosed();
                    List<PageEvents.Event> newEvents = b.drainEvents();
                    try {
                        if (!closedBuckets.isEmpty() || !newEvents.isEmpty()) { // most entries close nothing
                            write(logs, events, closedBuckets, newEvents, s.sourceNames());
                        }
                    } catch (IOException e) {
                        failed[0] = e;
                        return false;
                    }
                }
                return true;
            });
        } catch (IOException e) { // no journal yet: nothing to build from
            log.info("page: no journal to build its summaries from ({})", e.getMessage());
            return;
        }
        if (failed[0] != null) {
            throw new UncheckedIOException(failed[0]);
        }
        log.info("page: built its summaries from {} journal entries of the last day in {} ms", read,
                (System.nanoTime() - started) / 1_000_000);
    }

    private static void write(SummaryLog[] logs, SummaryLog events, List<Summaries.Closed> closedBuckets,
                              List<PageEvents.Event> newEvents, List<String> names) throws IOException {
        for (Summaries.Closed c : closedBuckets) {
            logs[c.tier()].append(c.bucket().index, encodeBucket(c.bucket(), names));
        }
        for (PageEvents.Event e : newEvents) {
            events.append(e.epochMillis(), encodeEvent(e));
        }
    }

    private void replayPending() {
        List<Function<Summaries, List<Summaries.Closed>>> inputs = pending;
        pending = null;
        for (Function<Summaries, List<Summaries.Closed>> in : inputs) {
            persist(in.apply(summaries));
        }
    }

    private static void closeQuietly(SummaryLog[] logs, SummaryLog events) {
        List<SummaryLog> all = new ArrayList<>(Arrays.asList(logs));
        all.add(events);
        for (SummaryLog l : all) {
            try {
                if (l != null) {
                    l.close();
                }
            } catch (IOException e) {
                log.warn("page: closing a summary log: {}", e.toString());
            }
        }
    }

    // --- the daemon's core thread ---

    void estimate(long epochNanos, long boundNanos, long offsetNanos, List<Summaries.SourceMark> marks) {
        input(s -> s.estimate(epochNanos, boundNanos, offsetNanos, marks));
    }

    void measurement(long epochNanos, String source, long offsetNanos, long boundNanos) {
        input(s -> s.measurement(epochNanos, source, offsetNanos, boundNanos));
    }

    void event(PageEvents.Event e) {
        input(s -> {
            s.event(e);
            if (kept) {
                try {
                    eventLog.append(e.epochMillis(), encodeEvent(e));
                } catch (IOException ex) {
                    failed(ex);
                }
            }
            return List.of();
        });
    }

    private synchronized void input(Function<Summaries, List<Summaries.Closed>> in) {
        if (pending == null) {
            persist(in.apply(summaries));
        } else if (pending.size() < maxPendingInputs) {
            pending.add(in);
        } else {
            pendingDropped++;
        }
    }

    private void persist(List<Summaries.Closed> closedBuckets) {
        if (!kept || closed) {
            return;
        }
        for (Summaries.Closed c : closedBuckets) {
            try {
                tierLogs[c.tier()].append(c.bucket().index, encodeBucket(c.bucket(), summaries.sourceNames()));
            } catch (IOException e) {
                failed(e);
            }
        }
    }

    private void failed(IOException e) {
        if (writeFailures++ % 1000 == 0) {
            log.warn("page summaries: cannot write ({} failures so far); earlier ranges will miss it after a restart: {}",
                    writeFailures, e.toString());
        }
    }

    // --- HTTP threads ---

    /**
     * The history answer for {@code [toEpochNanos - rangeNanos, toEpochNanos]}, JSON built outside the lock;
     * null while the summaries are still read back.
     */
    ObjectNode answer(long rangeNanos, long toEpochNanos) {
        Summaries.View v;
        boolean k;
        synchronized (this) {
            if (pending != null) {
                return null;
            }
            v = summaries.view(rangeNanos, toEpochNanos);
            k = kept;
        }
        return v.json(k);
    }

    /** Inputs dropped because they arrived while the files were read back and the list was full. */
    synchronized long pendingDropped() {
        return pendingDropped;
    }

    /** Bytes on disk (0 in memory). */
    synchronized long sizeBytes() throws IOException {
        if (!kept) {
            return 0;
        }
        long n = eventLog.sizeBytes();
        for (SummaryLog l : tierLogs) {
            n += l.sizeBytes();
        }
        return n;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        if (pending == null) {
            persist(summaries.flush()); // tier 0's open bucket: a clean stop loses none of it
        }
        closed = true;
        if (kept) {
            closeQuietly(tierLogs, eventLog);
        }
    }

    // --- records (docs/dashboards.md, "Summary files") ---

    /**
     * A bucket: ε's and the offset's (min, max, last, count), the number of sources that follow, and per source
     * its name (modified UTF-8), a flags byte (1: offset statistics follow, 2: bound statistics follow), its state
     * word (last state code << 8 | worst state code, 0 none) and the statistics the flags name.
     */
    static byte[] encodeBucket(Summaries.Bucket b, List<String> names) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + b.sourceCount() * 96);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            for (long v : b.daemon) {
                out.writeLong(v);
            }
            int present = 0;
            for (int i = 0; i < b.sourceCount(); i++) {
                present += b.hasSource(i) ? 1 : 0;
            }
            out.writeInt(present);
            for (int i = 0; i < b.sourceCount(); i++) {
                if (!b.hasSource(i)) {
                    continue;
                }
                int at = i * Summaries.SRC_LONGS;
                boolean offset = b.sources[at + Summaries.SRC_OFFSET + Summaries.COUNT] > 0;
                boolean bound = b.sources[at + Summaries.SRC_BOUND + Summaries.COUNT] > 0;
                out.writeUTF(names.get(i));
                out.writeByte((offset ? 1 : 0) | (bound ? 2 : 0));
                out.writeLong(b.sources[at + Summaries.SRC_STATE]);
                for (int j = 0; offset && j < Summaries.STAT; j++) {
                    out.writeLong(b.sources[at + Summaries.SRC_OFFSET + j]);
                }
                for (int j = 0; bound && j < Summaries.STAT; j++) {
                    out.writeLong(b.sources[at + Summaries.SRC_BOUND + j]);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e); // in memory: cannot happen
        }
        return bytes.toByteArray();
    }

    static Summaries.Bucket decodeBucket(SummaryLog.Record r, Summaries s) throws IOException {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(r.payload()))) {
            long[] daemon = new long[Summaries.DAEMON_LONGS];
            for (int i = 0; i < daemon.length; i++) {
                daemon[i] = in.readLong();
            }
            Summaries.Bucket b = new Summaries.Bucket(r.key(), daemon, new long[0]);
            int present = in.readInt();
            if (present < 0 || present > 100_000) {
                throw new IOException("bucket " + r.key() + " claims " + present + " sources");
            }
            for (int n = 0; n < present; n++) {
                String name = in.readUTF();
                int flags = in.readUnsignedByte();
                long state = in.readLong();
                long[] offset = new long[Summaries.STAT];
                long[] bound = new long[Summaries.STAT];
                for (int j = 0; (flags & 1) != 0 && j < Summaries.STAT; j++) {
                    offset[j] = in.readLong();
                }
                for (int j = 0; (flags & 2) != 0 && j < Summaries.STAT; j++) {
                    bound[j] = in.readLong();
                }
                int id = s.sourceId(name);
                if (id < 0) {
                    continue; // past the limit of sources
                }
                b.ensureSources(id + 1);
                int at = id * Summaries.SRC_LONGS;
                System.arraycopy(offset, 0, b.sources, at + Summaries.SRC_OFFSET, Summaries.STAT);
                System.arraycopy(bound, 0, b.sources, at + Summaries.SRC_BOUND, Summaries.STAT);
                b.sources[at + Summaries.SRC_STATE] = state;
            }
            return b;
        }
    }

    /** An event: its kind and its text (modified UTF-8); the key is its realtime in ms. */
    static byte[] encodeEvent(PageEvents.Event e) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeUTF(e.kind());
            String text = e.text();
            out.writeUTF(text.length() > MAX_TEXT_CHARS ? text.substring(0, MAX_TEXT_CHARS) : text);
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        return bytes.toByteArray();
    }

    static PageEvents.Event decodeEvent(SummaryLog.Record r) throws IOException {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(r.payload()))) {
            return new PageEvents.Event(r.key(), in.readUTF(), in.readUTF());
        }
    }
}
