package io.gnomon.paxos.bench;

import java.util.Locale;

/**
 * One closed-loop run: {@code ops} appends completed successfully in the measured window of
 * {@code measuredNanos}; latencies (issue to completion, successful appends only) in nanoseconds.
 */
public record LoadResult(String backend, int clients, int valueBytes, long ops, long errors, long measuredNanos,
                         long p50Nanos, long p99Nanos, long p999Nanos, long maxNanos) {

    public LoadResult {
        if (clients < 1 || valueBytes < 0 || ops < 0 || errors < 0 || measuredNanos < 0) {
            throw new IllegalArgumentException("invalid result: clients=" + clients + " valueBytes=" + valueBytes
                    + " ops=" + ops + " errors=" + errors + " measuredNanos=" + measuredNanos);
        }
        if (ops > 0 && !(p50Nanos <= p99Nanos && p99Nanos <= p999Nanos && p999Nanos <= maxNanos)) {
            throw new IllegalArgumentException("percentiles must not decrease: p50=" + p50Nanos + " p99=" + p99Nanos
                    + " p99.9=" + p999Nanos + " max=" + maxNanos);
        }
    }

    public double seconds() {
        return measuredNanos / 1e9;
    }

    /** Successful appends per second of the measured window (0 if the window is empty). */
    public double opsPerSecond() {
        return measuredNanos == 0 ? 0 : ops / seconds();
    }

    /**
     * The median of several runs of one backend, field by field (throughput as measured nanos for the median
     * ops/s; each percentile its own median), named "BACKEND median of N". Errors are summed.
     */
    public static LoadResult median(java.util.List<LoadResult> runs) {
        if (runs.isEmpty()) {
            throw new IllegalArgumentException("no runs");
        }
        LoadResult first = runs.get(0);
        java.util.List<LoadResult> byRate = new java.util.ArrayList<>(runs);
        byRate.sort(java.util.Comparator.comparingDouble(LoadResult::opsPerSecond));
        LoadResult mid = byRate.get(byRate.size() / 2);
        return new LoadResult(first.backend() + " median of " + runs.size(), first.clients(), first.valueBytes(),
                mid.ops(), runs.stream().mapToLong(LoadResult::errors).sum(), mid.measuredNanos(),
                medianOf(runs, LoadResult::p50Nanos), medianOf(runs, LoadResult::p99Nanos),
                medianOf(runs, LoadResult::p999Nanos), medianOf(runs, LoadResult::maxNanos));
    }

    private static long medianOf(java.util.List<LoadResult> runs, java.util.function.ToLongFunction<LoadResult> f) {
        long[] v = runs.stream().mapToLong(f).sorted().toArray();
        return v[v.length / 2];
    }

    public static String markdownHeader() {
        return "| backend | clients | value bytes | ops | seconds | ops/s | p50 (ms) | p99 (ms) | p99.9 (ms) | max (ms) | errors |\n"
                + "|---|---|---|---|---|---|---|---|---|---|---|";
    }

    public String markdownRow() {
        return String.format(Locale.ROOT, "| %s | %d | %d | %d | %.2f | %.0f | %.3f | %.3f | %.3f | %.3f | %d |",
                backend, clients, valueBytes, ops, seconds(), opsPerSecond(),
                millis(p50Nanos), millis(p99Nanos), millis(p999Nanos), millis(maxNanos), errors);
    }

    /** One line for a terminal. */
    public String summary() {
        return String.format(Locale.ROOT,
                "%s clients=%d value=%dB ops=%d in %.2f s: %.0f ops/s p50=%.3fms p99=%.3fms p99.9=%.3fms max=%.3fms errors=%d",
                backend, clients, valueBytes, ops, seconds(), opsPerSecond(),
                millis(p50Nanos), millis(p99Nanos), millis(p999Nanos), millis(maxNanos), errors);
    }

    private static double millis(long nanos) {
        return nanos / 1e6;
    }
}
