package io.gnomon.spanner.check;

import java.util.List;

/**
 * One anomaly found.
 *
 * @param type        its class
 * @param txns        the transactions involved (checker ids); for a cycle, in cycle order
 * @param cycle       the cycle's edges for cycle classes, empty otherwise
 * @param key         the key involved, for non-cycle classes; {@code null} for cycles
 * @param explanation one line in words
 */
public record Anomaly(AnomalyType type, List<Integer> txns, List<Dependency> cycle, String key, String explanation) {
    public Anomaly {
        txns = List.copyOf(txns);
        cycle = List.copyOf(cycle);
    }
}
