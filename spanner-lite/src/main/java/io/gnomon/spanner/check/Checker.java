package io.gnomon.spanner.check;

import io.gnomon.spanner.history.HistoryFormatException;
import io.gnomon.spanner.history.HistoryReader;
import io.gnomon.spanner.history.Op;
import io.gnomon.spanner.history.OpType;

import java.io.IOException;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.LongSupplier;

/**
 * Checks a list-append history for strict serializability, after Elle (Kingsbury and Alvaro, VLDB 2020):
 * infers each key's version order from the lists reads return, builds ww, wr, rw and real-time edges between
 * committed transactions, and reports cycles by class plus the anomalies visible without a cycle; when the
 * history records commit and read timestamps, also checks them against real time and the reads
 * ({@link TimestampRules}; docs/history-format.md).
 *
 * <pre>{@code
 * CheckResult r = new Checker(Checker.Limits.DEFAULT, System::nanoTime).check(HistorySource.of(path));
 * if (!r.valid()) System.out.println(r.counts());
 * }</pre>
 */
public final class Checker {
    /**
     * Bounds on the checker's effort and output.
     *
     * @param examplesPerClass anomalies kept (and later described) per class; all are counted
     * @param cycleSearchSteps edge visits the cycle classification may spend in total
     */
    public record Limits(int examplesPerClass, long cycleSearchSteps) {
        public static final Limits DEFAULT = new Limits(10, 200_000_000L);

        public Limits {
            if (examplesPerClass < 0 || cycleSearchSteps < 0) {
                throw new IllegalArgumentException("limits must be >= 0: " + examplesPerClass + ", " + cycleSearchSteps);
            }
        }
    }

    private final Limits limits;
    private final LongSupplier monotonicNanos;

    /**
     * @param limits         effort and output bounds
     * @param monotonicNanos a monotonic clock, only to report the time taken
     */
    public Checker(Limits limits, LongSupplier monotonicNanos) {
        this.limits = limits;
        this.monotonicNanos = monotonicNanos;
    }

    /**
     * Checks a history.
     *
     * @throws HistoryFormatException when a line cannot be read or does not pair with its invocation
     */
    public CheckResult check(HistorySource source) throws IOException, HistoryFormatException {
        long startNanos = monotonicNanos.getAsLong();
        Findings findings = new Findings(limits.examplesPerClass());
        HistoryIndex h;
        try (HistoryReader in = new HistoryReader(source.open())) {
            h = HistoryIndex.build(in, findings);
        }
        DependencyGraph g = DependencyGraph.build(h, findings);
        TimestampRules.check(h, g.isNode, findings);
        CycleSearch cycles = new CycleSearch(g, findings, limits.cycleSearchSteps());
        cycles.run();

        Map<AnomalyType, Integer> counts = new EnumMap<>(findings.counts());
        Map<AnomalyType, List<Anomaly>> examples = new EnumMap<>(findings.examples());
        Map<Integer, CheckResult.Txn> txns = describe(source, h, examples);
        int nodes = 0;
        for (boolean b : g.isNode) {
            nodes += b ? 1 : 0;
        }
        Map<EdgeType, Long> edges = new EnumMap<>(EdgeType.class);
        for (EdgeType t : EdgeType.values()) {
            edges.put(t, g.edgesByType[t.ordinal()]);
        }
        CheckResult.Stats stats = new CheckResult.Stats(h.ops, h.txnCount(), h.oks, h.fails, h.infos, h.keys.size(),
                h.timestamped, nodes, edges, cycles.cyclicComponents(), cycles.truncated(),
                monotonicNanos.getAsLong() - startNanos);
        return new CheckResult(counts.isEmpty(), counts, examples, txns, stats);
    }

    /** The second pass: the named transactions' micro-ops, read again from the history. */
    private static Map<Integer, CheckResult.Txn> describe(HistorySource source, HistoryIndex h,
                                                          Map<AnomalyType, List<Anomaly>> examples)
            throws IOException, HistoryFormatException {
        Map<Long, Integer> wanted = new HashMap<>(); // the line index that shows a txn best -> txn
        for (List<Anomaly> list : examples.values()) {
            for (Anomaly a : list) {
                for (int t : a.txns()) {
                    long done = h.completeIndex.get(t);
                    wanted.put(done >= 0 ? done : h.invokeIndex.get(t), t);
                }
            }
        }
        Map<Integer, CheckResult.Txn> txns = new TreeMap<>();
        if (wanted.isEmpty()) {
            return txns;
        }
        try (HistoryReader in = new HistoryReader(source.open())) {
            for (Op op = in.next(); op != null && txns.size() < wanted.size(); op = in.next()) {
                Integer t = wanted.get(op.index());
                if (t != null) {
                    long done = h.completeIndex.get(t);
                    txns.put(t, new CheckResult.Txn(t, op.process(), op.type() == OpType.INVOKE ? null : op.type(),
                            h.invokeIndex.get(t), done >= 0 ? done : null, op.value(), h.readMode(t),
                            h.tsKind.get(t) == HistoryIndex.COMMIT_TS ? h.tsEpochNanos.get(t) : null,
                            h.tsKind.get(t) == HistoryIndex.READ_TS ? h.tsEpochNanos.get(t) : null));
                }
            }
        }
        return txns;
    }
}
