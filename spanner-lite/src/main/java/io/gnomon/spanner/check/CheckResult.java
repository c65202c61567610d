package io.gnomon.spanner.check;

import io.gnomon.spanner.history.MicroOp;
import io.gnomon.spanner.history.OpType;
import io.gnomon.spanner.history.ReadMode;

import java.util.List;
import java.util.Map;

/**
 * What the checker found. {@code counts} has every anomaly found per class; {@code examples} the first few of
 * each class, whose transactions are described in {@code txns}.
 *
 * @param valid    true when no anomaly was found: the history is strictly serializable as far as the checker
 *                 can tell
 * @param counts   anomalies per class (classes not found are absent)
 * @param examples the kept anomalies per class, in the order found
 * @param txns     the transactions the examples name, by checker id
 * @param stats    sizes and effort
 */
public record CheckResult(boolean valid, Map<AnomalyType, Integer> counts, Map<AnomalyType, List<Anomaly>> examples,
                          Map<Integer, Txn> txns, Stats stats) {

    /** The description of a transaction an anomaly names. */
    public Txn txn(int id) {
        return txns.get(id);
    }

    /** Whether a class found rules out serializability (not only strict serializability). */
    public boolean serializabilityViolated() {
        return counts.keySet().stream().anyMatch(AnomalyType::breaksSerializability);
    }

    /**
     * One transaction as the history recorded it.
     *
     * @param id            the checker's id: the transaction's rank among invocations, from 0
     * @param process       the process that ran it
     * @param outcome       ok, fail or info; {@code null} if it never completed (counted as info)
     * @param invokeIndex   the {@code index} of its invoke line
     * @param completeIndex the {@code index} of its completion line, or {@code null}
     * @param value         the completion's micro-ops (reads with results when ok), else the invocation's
     * @param readMode      the read mode of its invocation, or {@code null} when none was recorded
     * @param commitTs      its commit timestamp (epoch nanoseconds), or {@code null}
     * @param readTs        its read timestamp (epoch nanoseconds), or {@code null}
     */
    public record Txn(int id, int process, OpType outcome, long invokeIndex, Long completeIndex, List<MicroOp> value,
                      ReadMode readMode, Long commitTs, Long readTs) {
    }

    /**
     * @param ops                lines read
     * @param txns               transactions (invocations)
     * @param ok                 ok completions
     * @param fail               fail completions
     * @param info               info completions plus invocations never completed
     * @param keys               distinct keys
     * @param timestamped        transactions with a recorded commit or read timestamp (the timestamp rules apply
     *                           to them)
     * @param nodes              transactions in the graph: ok, and info whose appends were seen
     * @param edges              edges per type (real time as a transitive reduction)
     * @param cyclicComponents   strongly connected components with more than one transaction
     * @param searchTruncated    whether the cycle search hit its step budget (some classes may be missing)
     * @param elapsedNanos       time the check took
     */
    public record Stats(long ops, int txns, int ok, int fail, int info, int keys, int timestamped, int nodes,
                        Map<EdgeType, Long> edges, int cyclicComponents, boolean searchTruncated, long elapsedNanos) {
    }
}
