package io.gnomon.spanner.check;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/** Anomalies as they are found: every one is counted, the first {@code examplesPerClass} of each class kept. */
final class Findings {
    private final int examplesPerClass;
    private final Map<AnomalyType, Integer> counts = new EnumMap<>(AnomalyType.class);
    private final Map<AnomalyType, List<Anomaly>> examples = new EnumMap<>(AnomalyType.class);

    Findings(int examplesPerClass) {
        if (examplesPerClass < 0) {
            throw new IllegalArgumentException("examplesPerClass must be >= 0, was " + examplesPerClass);
        }
        this.examplesPerClass = examplesPerClass;
    }

    /** Counts one anomaly; {@code detail} builds it only when it will be kept. */
    void add(AnomalyType type, java.util.function.Supplier<Anomaly> detail) {
        int n = counts.merge(type, 1, Integer::sum);
        if (n <= examplesPerClass) {
            examples.computeIfAbsent(type, t -> new ArrayList<>()).add(detail.get());
        }
    }

    Map<AnomalyType, Integer> counts() {
        return counts;
    }

    Map<AnomalyType, List<Anomaly>> examples() {
        return examples;
    }
}
