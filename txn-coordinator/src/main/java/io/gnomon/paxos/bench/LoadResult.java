package io.gnomon.paxos.bench;

import java.util.Locale;

/**
 * One closed-loop run: {@code ops} appends completed successfully in the measured window of
 * {@code measuredNanos}; latencies (issue to completion, successful appends only) in nanoseconds.
 * {@code serverCpuNanos} is the CPU time (user + system) the backend's server processes used in the window, summed
 * ({@link AppendBackend#serverPids}), {@code loadCpuNanos} the load generator's (this JVM: clients, their
 * library and the harness); -1 when not measured.
 */
public record LoadResult(String backend, int clients, int valueBytes, long ops, long errors, long measuredNanos,
                         long p50Nanos, long p99Nanos, long p999Nanos, long maxNanos,
                         long serverCpuNanos, long loadCpuNanos) {

    /** A result without CPU figures. */
    public LoadResult(String backend, int clients, int valueBytes, long ops, long errors, long measuredNanos,
                      long p50Nanos, long p99Nanos, long p999Nanos, long maxNanos) {
        this(backend, clients, valueBytes, ops, errors, measuredNanos, p50Nanos, p99Nanos, p999Nanos, maxNanos, -1, -1);
    }

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

    /** The servers' CPU milliseconds per 1,000 successful operations, or NaN if not measured. */
    public double serverCpuMillisPer1kOps() {
        return perThousandOps(serverCpuNanos);
    }

    /** The load generator's CPU milliseconds per 1,000 successful operations, or NaN if not measured. */
    public double loadCpuMillisPer1kOps() {
        return perThousandOps(loadCpuNanos);
    }

    private double perThousandOps(long cpuNanos) {
        return cpuNanos < 0 || ops == 0 ? Double.NaN : cpuNanos / 1e6 / (ops / 1000.0);
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
                medianOf(runs, LoadResult::p999Nanos), medianOf(runs, LoadResult::maxNanos),
                cpuMedianOf(runs, LoadResult::serverCpuNanos, mid.ops()), cpuMedianOf(runs, LoadResult::loadCpuNanos, mid.ops()));
    }

    /**
     * The median of the runs' CPU per operation, as CPU nanoseconds for {@code ops} operations (the median row's
     * count), so the median row's CPU per 1,000 operations is the median of the rounds'; -1 if a run has none.
     */
    private static long cpuMedianOf(java.util.List<LoadResult> runs, java.util.function.ToLongFunction<LoadResult> cpu,
                                    long ops) {
        if (runs.stream().anyMatch(r -> cpu.applyAsLong(r) < 0 || r.ops() == 0)) {
            return -1;
        }
        double[] perOp = runs.stream().mapToDouble(r -> (double) cpu.applyAsLong(r) / r.ops()).sorted().toArray();
        return Math.round(perOp[perOp.length / 2] * ops);
    }

    private static long medianOf(java.util.List<LoadResult> runs, java.util.function.ToLongFunction<LoadResult> f) {
        long[] v = runs.stream().mapToLong(f).sorted().toArray();
        return v[v.length / 2];
    }

    public static String markdownHeader() {
        return "| backend | clients | value bytes | ops | seconds | ops/s | p50 (ms) | p99 (ms) | p99.9 (ms) | max (ms) | errors "
                + "| servers' CPU ms per 1k ops | load generator's CPU ms per 1k ops |\n"
                + "|---|---|---|---|---|---|---|---|---|---|---|---|---|";
    }

    public String markdownRow() {
        return String.format(Locale.ROOT, "| %s | %d | %d | %d | %.2f | %.0f | %.3f | %.3f | %.3f | %.3f | %d | %s | %s |",
                backend, clients, valueBytes, ops, seconds(), opsPerSecond(),
                millis(p50Nanos), millis(p99Nanos), millis(p999Nanos), millis(maxNanos), errors,
                cpuText(serverCpuMillisPer1kOps()), cpuText(loadCpuMillisPer1kOps()));
    }

    /** One line for a terminal. */
    public String summary() {
        return String.format(Locale.ROOT,
                "%s clients=%d value=%dB ops=%d in %.2f s: %.0f ops/s p50=%.3fms p99=%.3fms p99.9=%.3fms max=%.3fms errors=%d"
                        + " cpu per 1k ops: servers=%sms load=%sms",
                backend, clients, valueBytes, ops, seconds(), opsPerSecond(),
                millis(p50Nanos), millis(p99Nanos), millis(p999Nanos), millis(maxNanos), errors,
                cpuText(serverCpuMillisPer1kOps()), cpuText(loadCpuMillisPer1kOps()));
    }

    private static String cpuText(double millis) {
        return Double.isNaN(millis) ? "-" : String.format(Locale.ROOT, "%.0f", millis);
    }

    private static double millis(long nanos) {
        return nanos / 1e6;
    }
}
