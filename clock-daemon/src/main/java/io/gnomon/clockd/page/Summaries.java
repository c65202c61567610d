package io.gnomon.clockd.page;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the page charts for earlier ranges, summarised per bucket as the daemon runs, so answering a range
 * costs buckets × series, not journal entries. Pure: inputs in, closed buckets out (for the caller to
 * persist), time passed in; no threads, files or clocks. Not thread-safe: its owner serialises calls.
 *
 * <p>Tiers of fixed buckets aligned to the epoch ({@link Limits#DEFAULT}: 6 s, 144 s and 1008 s, each keeping
 * 600 closed buckets, so an hour, a day and a week are each 600 buckets of one tier). Samples go into tier 0's
 * open bucket; when it closes it is merged into tier 1's open bucket, and so on up, so every tier holds
 * exactly what the journal downsampled to its width would. Per bucket and series: minimum, maximum, last value
 * and count, for ε and the offset (from each estimate) and for each source's offset and bound (from each of
 * its measurements), plus each source's last and worst state over the bucket. Events are kept as they are
 * (they are rare): the newest {@link Limits#maxEvents}, none older than {@link Limits#maxEventAgeNanos}.
 *
 * <pre>{@code
 * Summaries s = new Summaries(Summaries.Limits.DEFAULT);
 * log.append(s.estimate(epochNanos, boundNanos, offsetNanos, marks)); // closed buckets, to persist
 * ObjectNode day = s.view(86_400_000_000_000L, nowEpochNanos).json(true);
 * }</pre>
 */
final class Summaries {
    /**
     * Bounds of the summaries. Memory: tiers × (bucketsKept + 1) buckets of (8 + 9 × sources) longs; for the
     * default and 100 sources, 3 × 601 × 908 × 8 bytes ≈ 13 MB, plus the events (≤ 10,000 short texts).
     *
     * @param tierWidthNanos bucket width of each tier, finest first, each a multiple of the one before
     * @param bucketsKept    closed buckets each tier keeps (and the most an answer has)
     * @param maxSources     sources summarised; later ones are left out (the live page still shows them)
     * @param maxEvents      events kept
     * @param maxEventAgeNanos events older than this (by realtime) are dropped
     * @param maxAnswerEvents the newest events of a range that one answer carries
     */
    record Limits(List<Long> tierWidthNanos, int bucketsKept, int maxSources, int maxEvents, long maxEventAgeNanos,
                  int maxAnswerEvents) {
        static final Limits DEFAULT = new Limits(List.of(6_000_000_000L, 144_000_000_000L, 1_008_000_000_000L), 600,
                200, 10_000, 7 * 86_400_000_000_000L, 500);

        Limits {
            tierWidthNanos = List.copyOf(tierWidthNanos);
            if (tierWidthNanos.isEmpty()) {
                throw new IllegalArgumentException("summaries: tierWidthNanos is empty; give at least one bucket width");
            }
            for (int k = 0; k < tierWidthNanos.size(); k++) {
                long w = tierWidthNanos.get(k);
                if (w < 1_000_000 || k > 0 && (w <= tierWidthNanos.get(k - 1) || w % tierWidthNanos.get(k - 1) != 0)) {
                    throw new IllegalArgumentException("summaries: tier width " + w + " ns must be at least 1 ms and a"
                            + " larger multiple of the tier before it");
                }
            }
            if (bucketsKept < 1 || maxSources < 1 || maxEvents < 1 || maxEventAgeNanos < 1 || maxAnswerEvents < 1) {
                throw new IllegalArgumentException("summaries: every limit must be positive: " + bucketsKept + ", "
                        + maxSources + ", " + maxEvents + ", " + maxEventAgeNanos + ", " + maxAnswerEvents);
            }
        }

        /** What the finest tier that covers {@code rangeNanos} (else the coarsest) summarises. */
        int tierFor(long rangeNanos) {
            for (int k = 0; k < tierWidthNanos.size(); k++) {
                if (tierWidthNanos.get(k) * bucketsKept >= rangeNanos) {
                    return k;
                }
            }
            return tierWidthNanos.size() - 1;
        }
    }

    /** A source's state at an estimate, in increasing order of how much it matters to see on the chart. */
    enum State {
        SELECTED, UNREACHABLE, STEPPED, FALSETICKER;

        /** 1.. for the state, 0 for none. */
        int code() {
            return ordinal() + 1;
        }

        static State ofCode(int code) {
            return code == 0 ? null : values()[code - 1];
        }
    }

    /** One source's state at an estimate. */
    record SourceMark(String name, State state) {
    }

    /** A bucket of {@code tier} that closed: persist it. */
    record Closed(int tier, Bucket bucket) {
    }

    // layout of a statistic inside a bucket's arrays
    static final int MIN = 0, MAX = 1, LAST = 2, COUNT = 3, STAT = 4;
    /** Daemon series: ε at 0, the offset at 4. */
    static final int BOUND = 0, OFFSET = 4, DAEMON_LONGS = 8;
    /** Per source: its offset at 0, its bound at 4, its state (last << 8 | worst codes) at 8. */
    static final int SRC_OFFSET = 0, SRC_BOUND = 4, SRC_STATE = 8, SRC_LONGS = 9;

    /**
     * One bucket: ε, offset and each source's numbers. Mutable only while it is a tier's open bucket and inside
     * this class; once handed out (closed, or copied into a {@link View}) nothing writes it again.
     * Sources are by index into the summaries' name table.
     */
    static final class Bucket {
        final long index;
        final long[] daemon;
        long[] sources;

        Bucket(long index) {
            this(index, new long[DAEMON_LONGS], new long[0]);
        }

        Bucket(long index, long[] daemon, long[] sources) {
            if (daemon.length != DAEMON_LONGS || sources.length % SRC_LONGS != 0) {
                throw new IllegalArgumentException("bucket arrays of " + daemon.length + " and " + sources.length + " longs");
            }
            this.index = index;
            this.daemon = daemon;
            this.sources = sources;
        }

        int sourceCount() {
            return sources.length / SRC_LONGS;
        }

        Bucket copy() {
            return new Bucket(index, daemon.clone(), sources.clone());
        }

        void ensureSources(int n) {
            if (sources.length < n * SRC_LONGS) {
                sources = Arrays.copyOf(sources, n * SRC_LONGS);
            }
        }

        /** Folds {@code later} (a bucket of the same or a finer tier, no earlier than this one's data) in. */
        void merge(Bucket later) {
            mergeStat(daemon, BOUND, later.daemon, BOUND);
            mergeStat(daemon, OFFSET, later.daemon, OFFSET);
            ensureSources(later.sourceCount());
            for (int i = 0; i < later.sourceCount(); i++) {
                int at = i * SRC_LONGS;
                mergeStat(sources, at + SRC_OFFSET, later.sources, at + SRC_OFFSET);
                mergeStat(sources, at + SRC_BOUND, later.sources, at + SRC_BOUND);
                sources[at + SRC_STATE] = mergeState(sources[at + SRC_STATE], later.sources[at + SRC_STATE]);
            }
        }

        boolean hasSource(int i) {
            int at = i * SRC_LONGS;
            return i < sourceCount() && (sources[at + SRC_OFFSET + COUNT] > 0 || sources[at + SRC_BOUND + COUNT] > 0
                    || sources[at + SRC_STATE] != 0);
        }
    }

    static void addStat(long[] a, int at, long v) {
        if (a[at + COUNT] == 0) {
            a[at + MIN] = v;
            a[at + MAX] = v;
        } else {
            a[at + MIN] = Math.min(a[at + MIN], v);
            a[at + MAX] = Math.max(a[at + MAX], v);
        }
        a[at + LAST] = v;
        a[at + COUNT]++;
    }

    static void mergeStat(long[] into, int at, long[] later, int from) {
        if (later[from + COUNT] == 0) {
            return;
        }
        if (into[at + COUNT] == 0) {
            System.arraycopy(later, from, into, at, STAT);
            return;
        }
        into[at + MIN] = Math.min(into[at + MIN], later[from + MIN]);
        into[at + MAX] = Math.max(into[at + MAX], later[from + MAX]);
        into[at + LAST] = later[from + LAST];
        into[at + COUNT] += later[from + COUNT];
    }

    static long mergeState(long earlier, long later) {
        if (later == 0) {
            return earlier;
        }
        if (earlier == 0) {
            return later;
        }
        return (later & ~0xffL) | Math.max(earlier & 0xff, later & 0xff);
    }

    private static final class Tier {
        final long widthNanos;
        final Bucket[] ring;
        Bucket open;
        long lastClosedIndex = Long.MIN_VALUE;

        Tier(long widthNanos, int kept) {
            this.widthNanos = widthNanos;
            this.ring = new Bucket[kept];
        }

        Bucket closed(long index) {
            Bucket b = ring[(int) Math.floorMod(index, (long) ring.length)];
            return b != null && b.index == index ? b : null;
        }

        void keep(Bucket b) {
            ring[(int) Math.floorMod(b.index, (long) ring.length)] = b;
            lastClosedIndex = Math.max(lastClosedIndex, b.index);
        }

        /** The kept buckets, oldest first. */
        List<Bucket> keptInOrder() {
            List<Bucket> all = new ArrayList<>();
            for (Bucket b : ring) {
                if (b != null) {
                    all.add(b);
                }
            }
            all.sort((a, b) -> Long.compare(a.index, b.index));
            return all;
        }
    }

    private final Limits limits;
    private final Tier[] tiers;
    private final List<String> names = new ArrayList<>();
    private final Map<String, Integer> ids = new HashMap<>();
    private final Deque<PageEvents.Event> events = new ArrayDeque<>();

    Summaries(Limits limits) {
        this.limits = limits;
        this.tiers = new Tier[limits.tierWidthNanos().size()];
        for (int k = 0; k < tiers.length; k++) {
            tiers[k] = new Tier(limits.tierWidthNanos().get(k), limits.bucketsKept());
        }
    }

    /** The index of source {@code name}, adding it if there is room; -1 past {@link Limits#maxSources}. */
    int sourceId(String name) {
        Integer id = ids.get(name);
        if (id != null) {
            return id;
        }
        if (names.size() >= limits.maxSources()) {
            return -1;
        }
        names.add(name);
        ids.put(name, names.size() - 1);
        return names.size() - 1;
    }

    /** Whether nothing at all is summarised yet (no bucket, no event). */
    boolean isEmpty() {
        for (Tier t : tiers) {
            if (t.open != null || t.lastClosedIndex != Long.MIN_VALUE) {
                return false;
            }
        }
        return events.isEmpty();
    }

    /** The names of sources by index (a copy). */
    List<String> sourceNames() {
        return List.copyOf(names);
    }

    // --- inputs, as the daemon runs ---

    /**
     * An estimate at {@code epochNanos} (realtime): its ε, its offset (true time minus the system clock) and
     * each source's state. Returns the buckets this closed, oldest tier first.
     */
    List<Closed> estimate(long epochNanos, long boundNanos, long offsetNanos, List<SourceMark> marks) {
        assert boundNanos >= 0 : "ε is never negative: " + boundNanos;
        List<Closed> out = new ArrayList<>(0);
        Bucket b = openFor(epochNanos, out);
        addStat(b.daemon, BOUND, boundNanos);
        addStat(b.daemon, OFFSET, offsetNanos);
        for (SourceMark m : marks) {
            int id = sourceId(m.name());
            if (id >= 0) {
                b.ensureSources(id + 1);
                long code = m.state().code();
                int at = id * SRC_LONGS + SRC_STATE;
                b.sources[at] = mergeState(b.sources[at], code << 8 | code);
            }
        }
        return out;
    }

    /** A measurement of {@code source} at {@code epochNanos}: its offset and bound. Returns the buckets closed. */
    List<Closed> measurement(long epochNanos, String source, long offsetNanos, long boundNanos) {
        List<Closed> out = new ArrayList<>(0);
        Bucket b = openFor(epochNanos, out);
        int id = sourceId(source);
        if (id >= 0) {
            b.ensureSources(id + 1);
            addStat(b.sources, id * SRC_LONGS + SRC_OFFSET, offsetNanos);
            addStat(b.sources, id * SRC_LONGS + SRC_BOUND, boundNanos);
        }
        return out;
    }

    /** An event to mark on the time axis (kept in arrival order; the oldest go past the limits). */
    void event(PageEvents.Event e) {
        events.addLast(e);
        long oldestMillis = e.epochMillis() - limits.maxEventAgeNanos() / 1_000_000;
        while (events.size() > limits.maxEvents() || events.peekFirst().epochMillis() < oldestMillis) {
            events.removeFirst();
        }
    }

    /**
     * Closes tier 0's open bucket now (a clean stop: so a restart loses none of it), folding it into the tiers
     * above. Samples after this in the same 6 s go into the next bucket: closed buckets never change.
     */
    List<Closed> flush() {
        List<Closed> out = new ArrayList<>(1);
        if (tiers[0].open != null) {
            close(0, out, true);
        }
        return out;
    }

    /**
     * Tier 0's open bucket for a sample at {@code epochNanos}, closing the one before if the sample is past it.
     * A sample earlier than the open bucket (realtime stepped back) counts in the open bucket: closed ones
     * never change.
     */
    private Bucket openFor(long epochNanos, List<Closed> out) {
        Tier t = tiers[0];
        long index = Math.floorDiv(epochNanos, t.widthNanos);
        if (t.open != null && index > t.open.index) {
            close(0, out, true);
        }
        if (t.open == null) {
            t.open = new Bucket(Math.max(index, t.lastClosedIndex + 1));
        }
        return t.open;
    }

    private void close(int k, List<Closed> out, boolean cascade) {
        Tier t = tiers[k];
        Bucket b = t.open;
        t.open = null;
        t.keep(b);
        out.add(new Closed(k, b));
        if (cascade && k + 1 < tiers.length) {
            mergeUp(k + 1, b, out, true);
        }
    }

    /** Folds a closed bucket of tier {@code k - 1} into tier {@code k}'s open bucket, closing that if it is past. */
    private void mergeUp(int k, Bucket finer, List<Closed> out, boolean cascade) {
        Tier t = tiers[k];
        long index = Math.floorDiv(finer.index * tiers[k - 1].widthNanos, t.widthNanos);
        if (t.open != null && index > t.open.index) {
            close(k, out, cascade);
        }
        if (t.open == null) {
            t.open = new Bucket(Math.max(index, t.lastClosedIndex + 1));
        }
        t.open.merge(finer);
    }

    // --- restoring after a restart ---

    /** Puts back a bucket of {@code tier} that closed before a restart (from the caller's file). */
    void restore(int tier, Bucket b) {
        if (tier < 0 || tier >= tiers.length) {
            throw new IllegalArgumentException("no tier " + tier + "; there are " + tiers.length);
        }
        Tier t = tiers[tier];
        if (t.open != null) {
            throw new IllegalStateException("restore before any input: tier " + tier + " has an open bucket");
        }
        Bucket old = t.ring[(int) Math.floorMod(b.index, (long) t.ring.length)];
        if (old == null || old.index < b.index) { // a file may hold older buckets than the ring keeps
            t.keep(b);
        }
    }

    /** Puts back an event from before a restart. */
    void restore(PageEvents.Event e) {
        event(e);
    }

    /**
     * After {@link #restore} and before any input (call it once): folds each tier's buckets newer than what the tier above closed into the tier
     * above (they were in its open bucket when the daemon stopped, or it stopped between writing the two).
     * Returns the coarser buckets this closed, to persist.
     */
    List<Closed> catchUp() {
        for (Tier t : tiers) {
            if (t.open != null) {
                throw new IllegalStateException("catch up before any input: it would fold buckets in twice");
            }
        }
        List<Closed> out = new ArrayList<>();
        for (int k = 1; k < tiers.length; k++) {
            long ratio = tiers[k].widthNanos / tiers[k - 1].widthNanos;
            long firstFinerIndex = tiers[k].lastClosedIndex == Long.MIN_VALUE ? Long.MIN_VALUE
                    : (tiers[k].lastClosedIndex + 1) * ratio;
            for (Bucket b : tiers[k - 1].keptInOrder()) {
                if (b.index >= firstFinerIndex) {
                    mergeUp(k, b, out, false); // tier k + 1 catches up from tier k's ring next
                }
            }
        }
        return out;
    }

    // --- answering ---

    /** What a page asks for: {@code [toEpochNanos - rangeNanos, toEpochNanos]}, from the finest tier that covers it. */
    View view(long rangeNanos, long toEpochNanos) {
        if (rangeNanos <= 0) {
            throw new IllegalArgumentException("range must be positive, was " + rangeNanos + " ns");
        }
        int k = limits.tierFor(rangeNanos);
        Tier t = tiers[k];
        int n = (int) Math.min(limits.bucketsKept(), (rangeNanos + t.widthNanos - 1) / t.widthNanos);
        long last = Math.floorDiv(toEpochNanos, t.widthNanos);
        long first = last - n + 1;
        Bucket[] buckets = new Bucket[n];
        for (int i = 0; i < n; i++) {
            buckets[i] = t.closed(first + i);
        }
        boolean[] copied = new boolean[n];
        // the open buckets of this tier and the finer ones are not in the ring yet: merged in, oldest first
        for (int j = k; j >= 0; j--) {
            Bucket open = tiers[j].open;
            if (open == null) {
                continue;
            }
            long index = Math.floorDiv(open.index * tiers[j].widthNanos, t.widthNanos);
            int i = (int) (index - first);
            if (i < 0 || i >= n) {
                continue;
            }
            if (buckets[i] == null) {
                buckets[i] = open.copy();
            } else {
                if (!copied[i]) {
                    buckets[i] = buckets[i].copy();
                }
                buckets[i].merge(open);
            }
            copied[i] = true;
        }
        long fromMillis = first * t.widthNanos / 1_000_000;
        List<PageEvents.Event> inRange = events.stream()
                .filter(e -> e.epochMillis() >= fromMillis && e.epochMillis() <= toEpochNanos / 1_000_000).toList();
        inRange = inRange.subList(Math.max(0, inRange.size() - limits.maxAnswerEvents()), inRange.size());
        return new View(first, t.widthNanos, toEpochNanos, buckets, sourceNames(), List.copyOf(inRange));
    }

    /**
     * An answer's buckets, taken under the owner's lock; {@link #json} may run outside it (nothing here
     * is written again). {@code buckets[i]} is null where the bucket saw nothing.
     */
    record View(long firstIndex, long widthNanos, long toEpochNanos, Bucket[] buckets, List<String> names,
                List<PageEvents.Event> events) {
        private static final ObjectMapper JSON = new ObjectMapper();

        /** The page's history answer (docs/dashboards.md); {@code journalKept}: survives restarts. */
        ObjectNode json(boolean journalKept) {
            int n = buckets.length;
            ObjectNode out = JSON.createObjectNode();
            long fromEpochNanos = firstIndex * widthNanos;
            out.put("fromEpochMillis", fromEpochNanos / 1_000_000);
            out.put("toEpochMillis", toEpochNanos / 1_000_000);
            out.put("bucketMillis", widthNanos / 1_000_000.0);
            out.put("journal", journalKept);
            out.put("truncated", false);
            ArrayNode t = out.putArray("t");
            for (int i = 0; i < n; i++) {
                t.add(Math.min(fromEpochNanos + (i + 1) * widthNanos, toEpochNanos) / 1e9); // values as of the end
            }
            daemon(out.putArray("boundNanos"), BOUND + LAST);
            daemon(out.putArray("boundMinNanos"), BOUND + MIN);
            daemon(out.putArray("boundMaxNanos"), BOUND + MAX);
            daemon(out.putArray("offsetNanos"), OFFSET + LAST);
            ObjectNode perSource = out.putObject("sources");
            TreeMap<Integer, String> present = new TreeMap<>();
            for (Bucket b : buckets) {
                for (int s = 0; b != null && s < b.sourceCount(); s++) {
                    if (!present.containsKey(s) && b.hasSource(s)) {
                        present.put(s, names.get(s));
                    }
                }
            }
            present.forEach((s, name) -> {
                ObjectNode o = perSource.putObject(name);
                source(o.putArray("offsetNanos"), s, SRC_OFFSET);
                source(o.putArray("boundNanos"), s, SRC_BOUND);
                State[] worst = new State[buckets.length];
                boolean notAlwaysSelected = false;
                for (int i = 0; i < buckets.length; i++) {
                    Bucket b = buckets[i];
                    worst[i] = b == null || s >= b.sourceCount() ? null
                            : State.ofCode((int) (b.sources[s * SRC_LONGS + SRC_STATE] & 0xff));
                    notAlwaysSelected |= worst[i] != null && worst[i] != State.SELECTED;
                }
                if (notAlwaysSelected) { // a source selected throughout has no state array: a day of 100 is 600 KB less
                    ArrayNode state = o.putArray("state");
                    for (State w : worst) {
                        if (w == null) {
                            state.addNull();
                        } else {
                            state.add(w.name().toLowerCase(java.util.Locale.ROOT));
                        }
                    }
                }
            });
            ArrayNode ev = out.putArray("events");
            events.forEach(e -> ev.add(Page.json(e)));
            return out;
        }

        private void daemon(ArrayNode a, int at) {
            int countAt = at - at % STAT + COUNT;
            for (Bucket b : buckets) {
                if (b != null && b.daemon[countAt] > 0) {
                    a.add(b.daemon[at]);
                } else {
                    a.addNull();
                }
            }
        }

        private void source(ArrayNode a, int s, int stat) {
            int at = s * SRC_LONGS + stat;
            for (Bucket b : buckets) {
                if (b != null && s < b.sourceCount() && b.sources[at + COUNT] > 0) {
                    a.add(b.sources[at + LAST]);
                } else {
                    a.addNull();
                }
            }
        }
    }
}
