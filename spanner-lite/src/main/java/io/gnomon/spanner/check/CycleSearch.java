package io.gnomon.spanner.check;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/**
 * Finds and classifies cycles (Elle section 5): strongly connected components first (iterative Tarjan, so a
 * 100,000-node component does not overflow the stack), then, inside each component of the subgraph a class
 * allows, a shortest cycle of that class through a candidate edge, by breadth-first search over (transaction,
 * path state) where the state counts rw edges (0, 1, 2+) and notes whether a wr and a real-time edge were used.
 * Effort is bounded: a few candidate edges per component and a total number of steps. Within the steps every
 * component of the whole graph gets at least one classified cycle; a component left unclassified when the steps
 * run out is still reported, as {@link AnomalyType#UNCLASSIFIED_CYCLE}: a cycle exists, so the history is never
 * valid.
 */
final class CycleSearch {
    /** Candidate edges tried per component and class before giving up on that class there. */
    static final int ATTEMPTS_PER_COMPONENT = 8;
    /** Transactions named in an unclassified component's report; its size is always given in full. */
    static final int UNCLASSIFIED_TXNS_SHOWN = 20;

    private static final int WW = EdgeType.WW.bit();
    private static final int WR = EdgeType.WR.bit();
    private static final int RW = EdgeType.RW.bit();
    private static final int RT = EdgeType.REALTIME.bit();
    /** Edges out of hubs: allowed in every class, they only continue the rw or ww edge that entered the hub. */
    private static final int HUB = DependencyGraph.HUB_BIT;
    private static final int STATES = 12; // rw count 0..2 (2 = two or more) x wr seen x realtime seen

    /** What a cycle of one class may use and must contain. */
    private record Spec(AnomalyType type, int mask, EdgeType candidate, int minRw, int maxRw, boolean needWr, boolean needRt) {
    }

    private static final List<Spec> SPECS = List.of(
            new Spec(AnomalyType.G0, WW | HUB, EdgeType.WW, 0, 0, false, false),
            new Spec(AnomalyType.G1C, WW | WR | HUB, EdgeType.WR, 0, 0, true, false),
            new Spec(AnomalyType.G_SINGLE, WW | WR | RW | HUB, EdgeType.RW, 1, 1, false, false),
            new Spec(AnomalyType.G2, WW | WR | RW | HUB, EdgeType.RW, 2, 2, false, false),
            new Spec(AnomalyType.G0_REALTIME, WW | RT | HUB, EdgeType.REALTIME, 0, 0, false, true),
            new Spec(AnomalyType.G1C_REALTIME, WW | WR | RT | HUB, EdgeType.REALTIME, 0, 0, true, true),
            new Spec(AnomalyType.G_SINGLE_REALTIME, WW | WR | RW | RT | HUB, EdgeType.RW, 1, 1, false, true),
            new Spec(AnomalyType.G2_REALTIME, WW | WR | RW | RT | HUB, EdgeType.RW, 2, 2, false, true));
    private static final int ALL = WW | WR | RW | RT | HUB;
    private static final Spec ANY = new Spec(null, ALL, null, 0, 2, false, false);

    private final DependencyGraph g;
    private final Findings findings;
    private final long stepBudget;
    private final Map<Integer, int[]> componentsByMask = new HashMap<>();
    private long steps;
    private boolean truncated;
    private int cyclicComponents;

    // Breadth-first search over (node, state), reused between searches by stamping.
    private int[] seen;
    private int[] parentEdge;
    private int[] parentState;
    private int[] queue;
    private int stamp;

    CycleSearch(DependencyGraph g, Findings findings, long stepBudget) {
        this.g = g;
        this.findings = findings;
        this.stepBudget = stepBudget;
    }

    /** Whether the step budget ran out before every class was searched in every component. */
    boolean truncated() {
        return truncated;
    }

    /** Strongly connected components of the whole graph with more than one transaction. */
    int cyclicComponents() {
        return cyclicComponents;
    }

    void run() {
        int[] whole = components(ALL);
        int[] sizes = sizes(whole);
        for (int size : sizes) {
            if (size > 1) {
                cyclicComponents++;
            }
        }
        if (cyclicComponents == 0) {
            return;
        }
        int n = g.nodeCount();
        seen = new int[n * STATES];
        parentEdge = new int[n * STATES];
        parentState = new int[n * STATES];
        queue = new int[n * STATES];
        boolean[] covered = new boolean[sizes.length];
        for (Spec spec : SPECS) {
            int[] comp = components(spec.mask());
            int[] compSizes = sizes(comp);
            int[] attempts = new int[compSizes.length];
            boolean[] done = new boolean[compSizes.length];
            for (int e = 0; e < g.edgeCount() && !truncated; e++) {
                int a = g.from(e);
                int c = comp[a];
                if (g.typeBit(e) != spec.candidate().bit() || c != comp[g.to(e)] || compSizes[c] < 2 || done[c]
                        || attempts[c] >= ATTEMPTS_PER_COMPONENT) {
                    continue;
                }
                attempts[c]++;
                List<Integer> cycle = search(e, spec, comp, c);
                if (cycle != null) {
                    done[c] = true;
                    covered[whole[a]] = true;
                    report(spec.type(), cycle);
                }
            }
        }
        // A component where the bounded searches found nothing still holds a cycle: report one, classified. A
        // cycle is reported from a transaction, so the search starts on an edge that leaves one.
        for (int e = 0; e < g.edgeCount() && !truncated; e++) {
            int c = whole[g.from(e)];
            if (!covered[c] && c == whole[g.to(e)] && sizes[c] > 1 && !g.isHub(g.from(e))) {
                List<Integer> cycle = search(e, ANY, whole, c);
                if (cycle != null) {
                    covered[c] = true;
                    report(classify(cycle), cycle);
                }
            }
        }
        assert truncated || allCovered(covered, sizes) : "a search within budget classifies every cyclic component";
        reportUnclassified(whole, sizes, covered);
    }

    private static boolean allCovered(boolean[] covered, int[] sizes) {
        for (int c = 0; c < sizes.length; c++) {
            if (sizes[c] > 1 && !covered[c]) {
                return false;
            }
        }
        return true;
    }

    /**
     * The components the step budget left without a classified cycle: each is a cycle of unknown class, with its
     * size and its first transactions by id, so that a cut-short search never reads as a valid history.
     */
    private void reportUnclassified(int[] whole, int[] sizes, boolean[] covered) {
        Map<Integer, List<Integer>> shown = new java.util.TreeMap<>();
        int[] txnCounts = new int[sizes.length]; // hubs are not transactions
        for (int t = 0; t < g.txnCount(); t++) {
            int c = whole[t];
            if (sizes[c] > 1 && !covered[c]) {
                txnCounts[c]++;
                List<Integer> txns = shown.computeIfAbsent(c, x -> new ArrayList<>());
                if (txns.size() < UNCLASSIFIED_TXNS_SHOWN) {
                    txns.add(t);
                }
            }
        }
        shown.forEach((c, txns) -> findings.add(AnomalyType.UNCLASSIFIED_CYCLE, () -> new Anomaly(
                AnomalyType.UNCLASSIFIED_CYCLE, txns, List.of(), null, "cyclic component of " + txnCounts[c]
                + " transactions" + (txnCounts[c] > txns.size() ? " (the first " + txns.size() + " by invocation listed)" : "")
                + " left unclassified: the cycle search stopped at its budget of " + stepBudget
                + " steps; rerun with a larger --max-search-steps to classify it")));
    }

    private void report(AnomalyType type, List<Integer> cycleEdges) {
        findings.add(type, () -> {
            List<Dependency> deps = g.dependencies(cycleEdges);
            List<Integer> txns = new ArrayList<>();
            StringJoiner kinds = new StringJoiner(", ");
            for (Dependency d : deps) {
                txns.add(d.from());
                kinds.add(d.type().label());
            }
            return new Anomaly(type, txns, deps, null, "cycle of " + txns.size() + " transactions: " + kinds);
        });
    }

    private AnomalyType classify(List<Integer> cycleEdges) {
        int rw = 0;
        boolean wr = false;
        boolean rt = false;
        for (int e : cycleEdges) {
            int bit = g.typeBit(e);
            rw += bit == RW ? 1 : 0;
            wr |= bit == WR;
            rt |= bit == RT;
        }
        if (rw >= 2) {
            return rt ? AnomalyType.G2_REALTIME : AnomalyType.G2;
        }
        if (rw == 1) {
            return rt ? AnomalyType.G_SINGLE_REALTIME : AnomalyType.G_SINGLE;
        }
        if (wr) {
            return rt ? AnomalyType.G1C_REALTIME : AnomalyType.G1C;
        }
        return rt ? AnomalyType.G0_REALTIME : AnomalyType.G0;
    }

    private static int step(int state, int typeBit) {
        int rw = state >> 2;
        if (typeBit == RW) {
            rw = Math.min(2, rw + 1);
        }
        return rw << 2 | (state & 3) | (typeBit == WR ? 2 : 0) | (typeBit == RT ? 1 : 0);
    }

    private static boolean accepts(Spec spec, int state) {
        int rw = state >> 2;
        return rw >= spec.minRw() && rw <= spec.maxRw() && (!spec.needWr() || (state & 2) != 0)
                && (!spec.needRt() || (state & 1) != 0);
    }

    /** A shortest cycle of {@code spec}'s class through {@code first}, as edge ids in order, or null. */
    private List<Integer> search(int first, Spec spec, int[] comp, int c) {
        int a = g.from(first);
        int b = g.to(first);
        int s0 = step(0, g.typeBit(first));
        if ((s0 >> 2) > spec.maxRw()) {
            return null;
        }
        stamp++;
        int head = 0;
        int tail = 0;
        int start = b * STATES + s0;
        seen[start] = stamp;
        parentEdge[start] = first;
        parentState[start] = -1;
        queue[tail++] = start;
        while (head < tail) {
            int p = queue[head++];
            int u = p / STATES;
            int s = p % STATES;
            for (int i = g.firstOut(u); i < g.endOut(u); i++) {
                if (++steps > stepBudget) {
                    truncated = true;
                    return null;
                }
                int e = g.outEdge(i);
                int bit = g.typeBit(e);
                int w = g.to(e);
                if ((spec.mask() & bit) == 0 || comp[w] != c) {
                    continue;
                }
                int s2 = step(s, bit);
                if ((s2 >> 2) > spec.maxRw()) {
                    continue;
                }
                if (w == a) {
                    if (accepts(spec, s2)) {
                        return path(p, e);
                    }
                    continue;
                }
                int q = w * STATES + s2;
                if (seen[q] != stamp) {
                    seen[q] = stamp;
                    parentEdge[q] = e;
                    parentState[q] = p;
                    queue[tail++] = q;
                }
            }
        }
        return null;
    }

    private List<Integer> path(int p, int last) {
        List<Integer> edges = new ArrayList<>();
        edges.add(last);
        for (int q = p; q >= 0; q = parentState[q]) {
            edges.add(parentEdge[q]);
        }
        java.util.Collections.reverse(edges);
        return edges;
    }

    private int[] components(int mask) {
        return componentsByMask.computeIfAbsent(mask, this::tarjan);
    }

    private static int[] sizes(int[] comp) {
        int max = -1;
        for (int c : comp) {
            max = Math.max(max, c);
        }
        int[] sizes = new int[max + 1];
        for (int c : comp) {
            sizes[c]++;
        }
        return sizes;
    }

    /** Tarjan's algorithm with an explicit call stack, over the edges whose type is in {@code mask}. */
    private int[] tarjan(int mask) {
        int n = g.nodeCount();
        int[] order = new int[n];
        int[] low = new int[n];
        int[] comp = new int[n];
        Arrays.fill(order, -1);
        Arrays.fill(comp, -1);
        boolean[] onStack = new boolean[n];
        int[] stack = new int[n];
        int[] callNode = new int[n];
        int[] callPos = new int[n];
        int sp = 0;
        int counter = 0;
        int components = 0;
        for (int root = 0; root < n; root++) {
            if (order[root] >= 0) {
                continue;
            }
            order[root] = low[root] = counter++;
            stack[sp++] = root;
            onStack[root] = true;
            callNode[0] = root;
            callPos[0] = g.firstOut(root);
            int depth = 1;
            while (depth > 0) {
                int v = callNode[depth - 1];
                if (callPos[depth - 1] < g.endOut(v)) {
                    int e = g.outEdge(callPos[depth - 1]++);
                    if ((mask & g.typeBit(e)) == 0) {
                        continue;
                    }
                    int w = g.to(e);
                    if (order[w] < 0) {
                        order[w] = low[w] = counter++;
                        stack[sp++] = w;
                        onStack[w] = true;
                        callNode[depth] = w;
                        callPos[depth] = g.firstOut(w);
                        depth++;
                    } else if (onStack[w]) {
                        low[v] = Math.min(low[v], order[w]);
                    }
                    continue;
                }
                if (low[v] == order[v]) {
                    int w;
                    do {
                        w = stack[--sp];
                        onStack[w] = false;
                        comp[w] = components;
                    } while (w != v);
                    components++;
                }
                depth--;
                if (depth > 0) {
                    int u = callNode[depth - 1];
                    low[u] = Math.min(low[u], low[v]);
                }
            }
        }
        return comp;
    }
}
