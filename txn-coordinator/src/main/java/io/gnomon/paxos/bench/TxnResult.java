package io.gnomon.paxos.bench;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.function.ToLongFunction;

/**
 * One run of {@code bin/bench-txn} on one backend: the closed loop's figures ({@link LoadResult}: transactions
 * committed or read in the measured window, latency issue to completion, errors) and what transactions add: aborted
 * attempts (each retried), transactions that needed more than one attempt, the coordinator leaders' commit-wait
 * (Gnomon; -1 elsewhere), the mean latency, and the ε the replicas ran with (0 for etcd, which has no clock bound).
 */
record TxnResult(LoadResult load, long epsilonNanos, long aborts, long retried,
                 long latencyMeanNanos, long commitWaitMeanNanos, long commitWaitP99Nanos) {

    /**
     * What one operation's future completes with: the attempts it took (1 when nothing aborted), the keys whose
     * write count it raised by one (a read-modify-write's keys; 0 for reads and blind writes), the commit-wait the
     * coordinator leader reported ({@code -1}: none, e.g. etcd or a read), and its latency from the backend's start
     * of the operation to its end.
     */
    record Outcome(int attempts, int keysCounted, long commitWaitNanos, long latencyNanos) {
        Outcome {
            if (attempts < 1 || keysCounted < 0 || latencyNanos < 0) {
                throw new IllegalArgumentException("attempts must be >= 1, keys and latency >= 0; got " + attempts
                        + ", " + keysCounted + ", " + latencyNanos);
            }
        }
    }

    /** Collects the measured operations' {@link Outcome}s ({@link ClosedLoopLoad#run}'s consumer); thread-safe. */
    static final class Stats implements java.util.function.Consumer<Object> {
        private final Recorder commitWaits = new Recorder(ClosedLoopLoad.HIGHEST_TRACKABLE_NANOS, 3);
        private long aborts;
        private long retried;
        private long operations;
        private long latencySumNanos;

        @Override
        public void accept(Object result) {
            if (!(result instanceof Outcome o)) {
                throw new IllegalStateException("a transactional backend completed with " + result + ", not an Outcome");
            }
            if (o.commitWaitNanos() >= 0) {
                commitWaits.recordValue(Math.min(o.commitWaitNanos(), ClosedLoopLoad.HIGHEST_TRACKABLE_NANOS));
            }
            synchronized (this) {
                aborts += o.attempts() - 1;
                retried += o.attempts() > 1 ? 1 : 0;
                operations++;
                latencySumNanos += o.latencyNanos();
            }
        }

        synchronized TxnResult result(LoadResult load, long epsilonNanos) {
            Histogram h = commitWaits.getIntervalHistogram();
            boolean any = h.getTotalCount() > 0;
            return new TxnResult(load, epsilonNanos, aborts, retried,
                    operations == 0 ? 0 : latencySumNanos / operations,
                    any ? Math.round(h.getMean()) : -1, any ? h.getValueAtPercentile(99) : -1);
        }
    }

    /** The median of several rounds of one row: {@link LoadResult#median}, and each added figure's own median. */
    static TxnResult median(List<TxnResult> rounds) {
        if (rounds.isEmpty()) {
            throw new IllegalArgumentException("no rounds");
        }
        LoadResult load = LoadResult.median(rounds.stream().map(TxnResult::load).toList());
        return new TxnResult(load, rounds.get(0).epsilonNanos(), medianOf(rounds, TxnResult::aborts),
                medianOf(rounds, TxnResult::retried),
                medianOf(rounds, TxnResult::latencyMeanNanos), medianOf(rounds, TxnResult::commitWaitMeanNanos),
                medianOf(rounds, TxnResult::commitWaitP99Nanos));
    }

    private static long medianOf(List<TxnResult> rounds, ToLongFunction<TxnResult> f) {
        List<Long> v = new ArrayList<>(rounds.stream().map(f::applyAsLong).toList());
        v.sort(Comparator.naturalOrder());
        return v.get(v.size() / 2);
    }

    static String markdownHeader() {
        return "| backend | ε (ms) | clients | txns | seconds | txns/s | mean (ms) | p50 (ms) | p99 (ms) | p99.9 (ms) "
                + "| max (ms) | errors | aborts | retried txns | commit-wait mean (ms) | commit-wait p99 (ms) "
                + "| servers' CPU ms per 1k txns |\n"
                + "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|";
    }

    String markdownRow() {
        LoadResult r = load;
        return String.format(Locale.ROOT, "| %s | %s | %d | %d | %.2f | %.0f | %.3f | %.3f | %.3f | %.3f | %.3f | %d "
                        + "| %d | %d | %s | %s | %s |",
                r.backend(), epsilonNanos == 0 ? "-" : millis(epsilonNanos), r.clients(), r.ops(), r.seconds(),
                r.opsPerSecond(), latencyMeanNanos / 1e6, r.p50Nanos() / 1e6, r.p99Nanos() / 1e6,
                r.p999Nanos() / 1e6, r.maxNanos() / 1e6, r.errors(), aborts, retried,
                commitWaitMeanNanos < 0 ? "-" : millis(commitWaitMeanNanos),
                commitWaitP99Nanos < 0 ? "-" : millis(commitWaitP99Nanos),
                Double.isNaN(r.serverCpuMillisPer1kOps()) ? "-"
                        : String.format(Locale.ROOT, "%.0f", r.serverCpuMillisPer1kOps()));
    }

    /** Milliseconds with up to three decimals and no trailing zeros: 0.1, 1, 2.345. */
    static String millis(long nanos) {
        return new java.math.BigDecimal(nanos).movePointLeft(6).setScale(3, java.math.RoundingMode.HALF_UP)
                .stripTrailingZeros().toPlainString();
    }
}
