package io.gnomon.spanner.check;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The transaction dependency graph (Adya's DSG, inferred as in Elle): nodes are the transactions that
 * committed (every {@code ok}, and each {@code info} whose append some read saw); edges are ww, wr, rw from the
 * version orders, rw and ww edges to committed appends no read returned (see {@link #addUnreadAppendEdges}),
 * and a transitive reduction of the real-time order. Edges live in primitive arrays with a compressed adjacency
 * index, so a 100,000-transaction history stays within a few tens of megabytes.
 *
 * <p>Node ids {@code 0 .. txnCount() - 1} are transactions (by checker id); the ids after them are hubs, which
 * stand for no transaction: they only let a few edges stand for "every reader of a key precedes every
 * transaction with an append no read returned", which would otherwise take readers times appenders edges. An
 * edge into a hub carries the reader's (or writer's) fact; edges out of hubs are of the internal kind
 * {@link #HUB_BIT}, carry only the unread element, and do not count as a dependency of their own: a path from a
 * transaction through hubs to a transaction is one rw (or ww) edge, which {@link #dependencies} reports as one.
 */
final class DependencyGraph {
    private static final EdgeType[] TYPES = EdgeType.values();
    private static final int HAS_PREV = 8;
    /** The flags' kind for an edge out of a hub (after the {@link EdgeType} ordinals). */
    private static final int HUB = TYPES.length;
    /** {@link #typeBit} of an edge out of a hub; no {@link EdgeType} has it. */
    static final int HUB_BIT = 1 << HUB;

    final HistoryIndex history;
    /** Per transaction: whether it committed, so is a node; hubs are nodes too, after the transactions. */
    final boolean[] isNode;
    private int hubs;
    private final Growable.Ints from = new Growable.Ints();
    private final Growable.Ints to = new Growable.Ints();
    // The facts behind ww, wr and rw edges. Real-time edges, the most numerous, are added last and carry none:
    // edge ids from dataEdges on are real-time, so they cost 12 bytes each with the adjacency index.
    private int dataEdges = -1;
    /** Edge type ordinal, plus {@link #HAS_PREV}. */
    private final Growable.Ints flags = new Growable.Ints();
    private final Growable.Ints key = new Growable.Ints();
    private final Growable.Longs value = new Growable.Longs();
    private final Growable.Longs prevValue = new Growable.Longs();
    final long[] edgesByType = new long[TYPES.length];
    private int[] firstOut;
    private int[] outEdges;

    private DependencyGraph(HistoryIndex history) {
        this.history = history;
        this.isNode = new boolean[history.txnCount()];
    }

    /** Builds the graph and reports the anomalies visible without cycles: G1a, G1b and garbage. */
    static DependencyGraph build(HistoryIndex h, Findings findings) {
        DependencyGraph g = new DependencyGraph(h);
        for (int t = 0; t < h.txnCount(); t++) {
            g.isNode[t] = h.outcome.get(t) == HistoryIndex.OK;
        }
        g.resolveObservedWriters(findings);
        g.findIntermediateReads(findings);
        g.addWriteWriteEdges();
        g.addReadEdges();
        g.addUnreadAppendEdges();
        g.addRealtimeEdges();
        g.index();
        return g;
    }

    /** Every element of a version order was seen by some read: its writer committed, or the read was wrong. */
    private void resolveObservedWriters(Findings findings) {
        for (HistoryIndex.KeyState k : history.keys) {
            for (int i = 0; i < k.order.size(); i++) {
                long v = k.order.get(i);
                int w = k.writer(v);
                int reader = k.firstReader.get(i);
                if (w < 0) {
                    String why = "read " + k.name + " with element " + v + ", which no transaction appended";
                    findings.add(AnomalyType.GARBAGE, () -> new Anomaly(AnomalyType.GARBAGE, List.of(reader), List.of(), k.name, why));
                } else if (history.outcome.get(w) == HistoryIndex.FAIL) {
                    String why = "read " + k.name + " with element " + v + ", appended by a transaction that failed";
                    findings.add(AnomalyType.G1A, () -> new Anomaly(AnomalyType.G1A, List.of(w, reader), List.of(), k.name, why));
                } else {
                    isNode[w] = true; // an info transaction whose append was seen did commit
                }
            }
        }
    }

    private void findIntermediateReads(Findings findings) {
        for (int r = 0; r < history.readTxn.size(); r++) {
            if (history.readLength.get(r) == 0) {
                continue;
            }
            HistoryIndex.KeyState k = history.keys.get(history.readKey.get(r));
            long last = history.readLast.get(r);
            int w = k.writer(last);
            int reader = history.readTxn.get(r);
            if (w >= 0 && w != reader && k.intermediate(last)) {
                String why = "read " + k.name + " ending at " + last + ", which its writer followed with another append to "
                        + k.name + " in the same transaction";
                findings.add(AnomalyType.G1B, () -> new Anomaly(AnomalyType.G1B, List.of(w, reader), List.of(), k.name, why));
            }
        }
    }

    private void addWriteWriteEdges() {
        for (int kid = 0; kid < history.keys.size(); kid++) {
            HistoryIndex.KeyState k = history.keys.get(kid);
            for (int i = 1; i < k.order.size(); i++) {
                int a = k.writer(k.order.get(i - 1));
                int b = k.writer(k.order.get(i));
                if (a >= 0 && b >= 0 && a != b && isNode[a] && isNode[b]) {
                    add(a, b, EdgeType.WW, kid, k.order.get(i), true, k.order.get(i - 1));
                }
            }
        }
    }

    private void addReadEdges() {
        for (int r = 0; r < history.readTxn.size(); r++) {
            int reader = history.readTxn.get(r);
            int kid = history.readKey.get(r);
            HistoryIndex.KeyState k = history.keys.get(kid);
            int length = history.readLength.get(r);
            long last = history.readLast.get(r);
            if (length > 0) {
                int w = k.writer(last);
                if (w >= 0 && w != reader && isNode[w]) {
                    add(w, reader, EdgeType.WR, kid, last, false, 0);
                }
            }
            if (length < k.order.size()) {
                long next = k.order.get(length);
                int w = k.writer(next);
                if (w >= 0 && w != reader && isNode[w]) {
                    add(reader, w, EdgeType.RW, kid, next, length > 0, last);
                }
            }
        }
    }

    /**
     * Lists only grow, so a committed append whose element no read returned comes, in any serial order, after
     * every read of its key (none of them has it) and after the append of the version order's last element (the
     * longest read has that one and not this): rw edges from each reader, a ww edge from that writer. Without
     * them, read skew whose skipped append is never read back (T0 appends to x and y; T1 reads x = [] and y =
     * [T0's]) has no rw edge and passes. Committed means a node: ok, or info with some append seen (it took
     * effect, so all its appends did); an info append no read saw proves nothing and a failed one never
     * happened, so neither gets an edge. A transaction never precedes itself: one that read the key (before its
     * own append) or wrote the last element and also has an unread append gets edges to the others only.
     *
     * <p>A read that missed an element of the version order needs no edge of its own when every writer from that
     * element to the last is a node: its rw edge to the next element's writer (or it is that writer) and the ww
     * chain after it already lead to the last writer, and from there to the unread appenders, with as many rw
     * edges. So only reads of the whole order (and reads before a gap in the chain) get one, which keeps a long
     * history's edge count close to what it was without these edges.
     *
     * <p>The edges go through hubs to stay linear in readers plus appenders: for a key's unread appenders
     * {@code u[0] < … < u[n-1]}, suffix hub {@code S[i]} reaches {@code u[i..n-1]} ({@code S[i] -> u[i]},
     * {@code S[i] -> S[i+1]}) and prefix hub {@code P[i]} reaches {@code u[0..i]}. A predecessor that is not an
     * unread appender enters {@code S[0]}; unread appender {@code u[i]} enters {@code S[i+1]} and {@code P[i-1]}.
     */
    private void addUnreadAppendEdges() {
        int txnCount = isNode.length;
        List<TreeMap<Integer, Long>> unread = new ArrayList<>(); // per key: appender -> its least unread element
        for (HistoryIndex.KeyState k : history.keys) {
            TreeMap<Integer, Long> appenders = null;
            for (Map.Entry<Long, Integer> w : k.writers.entrySet()) {
                int t = w.getValue() >>> 1;
                if (isNode[t] && !k.position.containsKey(w.getKey())) {
                    if (appenders == null) {
                        appenders = new TreeMap<>();
                    }
                    appenders.merge(t, w.getKey(), Math::min);
                }
            }
            unread.add(appenders);
        }
        // Per key with unread appends: from which position on every writer of the version order is a node.
        int[] chainFrom = new int[history.keys.size()];
        for (int kid = 0; kid < history.keys.size(); kid++) {
            Growable.Longs order = history.keys.get(kid).order;
            int i = order.size();
            for (int w; i > 0 && unread.get(kid) != null && (w = history.keys.get(kid).writer(order.get(i - 1))) >= 0
                    && isNode[w]; i--) {
                // walk back while the writers are nodes
            }
            chainFrom[kid] = i;
        }
        // Per key with unread appends: the first read of each reading transaction that the chain does not cover.
        Growable.Ints[] readsByKey = new Growable.Ints[history.keys.size()];
        Set<Long> readerKeys = new HashSet<>();
        for (int r = 0; r < history.readTxn.size(); r++) {
            int kid = history.readKey.get(r);
            int length = history.readLength.get(r);
            boolean chained = length < history.keys.get(kid).order.size() && length >= chainFrom[kid];
            if (unread.get(kid) != null && !chained && readerKeys.add((long) kid << 32 | history.readTxn.get(r))) {
                if (readsByKey[kid] == null) {
                    readsByKey[kid] = new Growable.Ints();
                }
                readsByKey[kid].add(r);
            }
        }
        for (int kid = 0; kid < history.keys.size(); kid++) {
            if (unread.get(kid) != null) {
                addUnreadAppendEdges(kid, unread.get(kid), readsByKey[kid] == null ? new Growable.Ints() : readsByKey[kid],
                        txnCount);
            }
        }
    }

    private void addUnreadAppendEdges(int kid, TreeMap<Integer, Long> unread, Growable.Ints reads, int txnCount) {
        HistoryIndex.KeyState k = history.keys.get(kid);
        int n = unread.size();
        int[] appenders = new int[n];
        long[] elements = new long[n];
        int i = 0;
        for (Map.Entry<Integer, Long> a : unread.entrySet()) {
            appenders[i] = a.getKey();
            elements[i++] = a.getValue();
        }
        int lastWriter = -1;
        long lastElement = 0;
        if (k.order.size() > 0) {
            lastElement = k.order.get(k.order.size() - 1);
            int w = k.writer(lastElement);
            lastWriter = w >= 0 && isNode[w] ? w : -1;
        }
        boolean insiderAfterFirst = lastWriter >= 0 && Arrays.binarySearch(appenders, lastWriter) > 0;
        for (int r = 0; r < reads.size() && !insiderAfterFirst; r++) {
            insiderAfterFirst = Arrays.binarySearch(appenders, history.readTxn.get(reads.get(r))) > 0;
        }
        int suffix = txnCount + hubs;
        hubs += n;
        for (i = 0; i < n; i++) {
            add(suffix + i, appenders[i], null, kid, elements[i], false, 0);
            if (i + 1 < n) {
                add(suffix + i, suffix + i + 1, null, kid, 0, false, 0);
            }
        }
        int prefix = -1;
        if (insiderAfterFirst) {
            prefix = txnCount + hubs;
            hubs += n;
            for (i = 0; i < n; i++) {
                add(prefix + i, appenders[i], null, kid, elements[i], false, 0);
                if (i > 0) {
                    add(prefix + i, prefix + i - 1, null, kid, 0, false, 0);
                }
            }
        }
        for (int j = 0; j < reads.size(); j++) {
            int r = reads.get(j);
            int length = history.readLength.get(r);
            enterHubs(history.readTxn.get(r), EdgeType.RW, kid, length > 0, history.readLast.get(r), appenders,
                    suffix, prefix);
        }
        if (lastWriter >= 0) {
            enterHubs(lastWriter, EdgeType.WW, kid, true, lastElement, appenders, suffix, prefix);
        }
    }

    /** Edges from {@code t} to the hubs that reach every unread appender of the key but {@code t} itself. */
    private void enterHubs(int t, EdgeType type, int kid, boolean hasPrev, long prev, int[] appenders, int suffix,
                           int prefix) {
        int i = Arrays.binarySearch(appenders, t);
        if (i < 0) {
            add(t, suffix, type, kid, 0, hasPrev, prev);
            return;
        }
        if (i + 1 < appenders.length) {
            add(t, suffix + i + 1, type, kid, 0, hasPrev, prev);
        }
        if (i > 0) {
            assert prefix >= 0 : "prefix hubs exist when an unread appender after the first precedes others";
            add(t, prefix + i - 1, type, kid, 0, hasPrev, prev);
        }
    }

    /**
     * A transitive reduction of "completed ok before invoked" (Elle's realtime graph): sweeping the history in
     * order, keep the frontier of ok completions not yet implied by a later one; an invocation gets an edge from
     * each, and an ok completion retires the frontier entries that completed before it was invoked. info and
     * never-completed transactions get no outgoing edges: their completion time is unknown. Stale read-only
     * transactions ({@code readMode} stale) get none either way: real time does not bind a read at an older
     * timestamp, so only the timestamp rules ({@link TimestampRules}) and the data edges judge them.
     */
    private void addRealtimeEdges() {
        dataEdges = from.size();
        Growable.Ints frontier = new Growable.Ints();
        for (int e = 0; e < history.events.size(); e++) {
            int event = history.events.get(e);
            int t = event >>> 1;
            long invokedNanos = history.invokeTimeNanos.get(t);
            if (history.stale(t)) {
                continue;
            }
            if ((event & 1) == 0) {
                if (isNode[t]) {
                    for (int i = 0; i < frontier.size(); i++) {
                        int f = frontier.get(i);
                        if (history.completeTimeNanos.get(f) < invokedNanos) {
                            add(f, t, EdgeType.REALTIME, -1, 0, false, 0); // carries no facts
                        }
                    }
                }
            } else if (history.outcome.get(t) == HistoryIndex.OK) {
                for (int i = frontier.size() - 1; i >= 0; i--) {
                    if (history.completeTimeNanos.get(frontier.get(i)) < invokedNanos) {
                        frontier.removeSwap(i);
                    }
                }
                frontier.add(t);
            }
        }
    }

    /** Adds an edge; {@code type} null for an edge out of a hub. */
    private void add(int a, int b, EdgeType type, int keyId, long v, boolean hasPrev, long prev) {
        assert (type == EdgeType.REALTIME) == (dataEdges >= 0) : "real-time edges come after all data edges";
        assert (type == null) == isHub(a) : "exactly the edges out of hubs have no type";
        assert a != b : "no transaction depends on itself";
        from.add(a);
        to.add(b);
        if (type != EdgeType.REALTIME) {
            flags.add((type == null ? HUB : type.ordinal()) | (hasPrev ? HAS_PREV : 0));
            key.add(keyId);
            value.add(v);
            prevValue.add(prev);
        }
        if (type != null) {
            edgesByType[type.ordinal()]++;
        }
    }

    private void index() {
        int n = nodeCount();
        firstOut = new int[n + 1];
        for (int e = 0; e < from.size(); e++) {
            firstOut[from.get(e) + 1]++;
        }
        for (int i = 0; i < n; i++) {
            firstOut[i + 1] += firstOut[i];
        }
        int[] fill = firstOut.clone();
        outEdges = new int[from.size()];
        for (int e = 0; e < from.size(); e++) {
            outEdges[fill[from.get(e)]++] = e;
        }
    }

    /** Transactions and hubs: node ids are below this. */
    int nodeCount() {
        return isNode.length + hubs;
    }

    /** Transactions: node ids below this are transactions, the others hubs. */
    int txnCount() {
        return isNode.length;
    }

    boolean isHub(int node) {
        return node >= isNode.length;
    }

    int edgeCount() {
        return from.size();
    }

    int firstOut(int node) {
        return firstOut[node];
    }

    int endOut(int node) {
        return firstOut[node + 1];
    }

    int outEdge(int i) {
        return outEdges[i];
    }

    int from(int edge) {
        return from.get(edge);
    }

    int to(int edge) {
        return to.get(edge);
    }

    /** The type of an edge that does not leave a hub. */
    EdgeType type(int edge) {
        assert !isHub(from(edge)) : "an edge out of a hub has no type of its own";
        return edge >= dataEdges ? EdgeType.REALTIME : TYPES[flags.get(edge) & 7];
    }

    /** {@link EdgeType#bit()} of the edge's type, or {@link #HUB_BIT} for an edge out of a hub. */
    int typeBit(int edge) {
        return edge >= dataEdges ? EdgeType.REALTIME.bit() : 1 << (flags.get(edge) & 7);
    }

    /**
     * A cycle's edges, which start at a transaction, as the dependencies that justify them: an edge into a hub and
     * the hub edges after it up to the next transaction are one dependency, on an append no read returned.
     */
    List<Dependency> dependencies(List<Integer> cycle) {
        assert !isHub(from(cycle.get(0))) : "a cycle is reported from a transaction";
        List<Dependency> deps = new ArrayList<>(cycle.size());
        for (int i = 0; i < cycle.size(); i++) {
            int e = cycle.get(i);
            if (!isHub(to(e))) {
                deps.add(dependency(e, e, false));
                continue;
            }
            int last = e;
            while (isHub(to(last))) {
                last = cycle.get(++i);
            }
            deps.add(dependency(e, last, true));
        }
        return deps;
    }

    /** The dependency from {@code first}'s source to {@code last}'s target; one edge when they are the same. */
    private Dependency dependency(int first, int last, boolean unread) {
        if (first >= dataEdges) {
            return new Dependency(from(first), to(first), EdgeType.REALTIME, null, null, null, false);
        }
        boolean hasPrev = (flags.get(first) & HAS_PREV) != 0;
        return new Dependency(from(first), to(last), type(first), history.keys.get(key.get(first)).name,
                value.get(last), hasPrev ? prevValue.get(first) : null, unread);
    }
}
