package io.gnomon.spanner.check;

import java.util.List;

/**
 * The transaction dependency graph (Adya's DSG, inferred as in Elle): nodes are the transactions that
 * committed (every {@code ok}, and each {@code info} whose append some read saw); edges are ww, wr, rw from the
 * version orders and a transitive reduction of the real-time order. Edges live in primitive arrays with a
 * compressed adjacency index, so a 100,000-transaction history stays within a few tens of megabytes.
 */
final class DependencyGraph {
    private static final EdgeType[] TYPES = EdgeType.values();
    private static final int HAS_PREV = 8;

    final HistoryIndex history;
    final boolean[] isNode;
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
     * A transitive reduction of "completed ok before invoked" (Elle's realtime graph): sweeping the history in
     * order, keep the frontier of ok completions not yet implied by a later one; an invocation gets an edge from
     * each, and an ok completion retires the frontier entries that completed before it was invoked. info and
     * never-completed transactions get no outgoing edges: their completion time is unknown.
     */
    private void addRealtimeEdges() {
        dataEdges = from.size();
        Growable.Ints frontier = new Growable.Ints();
        for (int e = 0; e < history.events.size(); e++) {
            int event = history.events.get(e);
            int t = event >>> 1;
            long invokedNanos = history.invokeTimeNanos.get(t);
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

    private void add(int a, int b, EdgeType type, int keyId, long v, boolean hasPrev, long prev) {
        assert (type == EdgeType.REALTIME) == (dataEdges >= 0) : "real-time edges come after all data edges";
        from.add(a);
        to.add(b);
        if (type != EdgeType.REALTIME) {
            flags.add(type.ordinal() | (hasPrev ? HAS_PREV : 0));
            key.add(keyId);
            value.add(v);
            prevValue.add(prev);
        }
        edgesByType[type.ordinal()]++;
    }

    private void index() {
        int n = isNode.length;
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

    int nodeCount() {
        return isNode.length;
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

    EdgeType type(int edge) {
        return edge >= dataEdges ? EdgeType.REALTIME : TYPES[flags.get(edge) & 7];
    }

    int typeBit(int edge) {
        return edge >= dataEdges ? EdgeType.REALTIME.bit() : 1 << (flags.get(edge) & 7);
    }

    Dependency dependency(int edge) {
        if (edge >= dataEdges) {
            return new Dependency(from(edge), to(edge), EdgeType.REALTIME, null, null, null);
        }
        boolean hasPrev = (flags.get(edge) & HAS_PREV) != 0;
        return new Dependency(from(edge), to(edge), type(edge), history.keys.get(key.get(edge)).name,
                value.get(edge), hasPrev ? prevValue.get(edge) : null);
    }
}
