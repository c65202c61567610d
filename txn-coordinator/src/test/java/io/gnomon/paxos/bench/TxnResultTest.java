package io.gnomon.paxos.bench;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What {@code bin/bench-txn} makes of its runs: aborts and commit-wait, medians, the targets and the ε bound. */
class TxnResultTest {

    private static final long MS = 1_000_000;

    /** A run of {@code ops} operations in 10 s with the given p99, mean latency and ε. */
    private static TxnResult run(String row, long ops, long p99Nanos, long meanNanos, long epsilonNanos) {
        LoadResult load = new LoadResult(row, 64, 100, ops, 0, 10_000 * MS, p99Nanos / 2, p99Nanos, p99Nanos,
                p99Nanos);
        return new TxnResult(load, epsilonNanos, 0, 0, meanNanos, -1, -1);
    }

    @Test
    void statsCountAbortedAttemptsRetriedTransactionsAndCommitWaitsOfWritesOnly() {
        TxnResult.Stats stats = new TxnResult.Stats();
        stats.accept(new TxnResult.Outcome(1, 2, 2 * MS, 10 * MS));
        stats.accept(new TxnResult.Outcome(3, 2, 4 * MS, 30 * MS)); // two aborted attempts, then committed
        stats.accept(new TxnResult.Outcome(1, 0, -1, 2 * MS));      // a read: no commit-wait
        TxnResult r = stats.result(new LoadResult("gnomon-rw", 64, 100, 3, 0, 1_000 * MS, MS, MS, MS, MS), MS);
        assertThat(r.aborts()).isEqualTo(2);
        assertThat(r.retried()).isEqualTo(1);
        assertThat(r.latencyMeanNanos()).isEqualTo(14 * MS);
        // HdrHistogram at 3 significant digits: 3 ms mean, 4 ms p99, within its resolution
        assertThat(r.commitWaitMeanNanos()).isBetween(2_997_000L, 3_003_000L);
        assertThat(r.commitWaitP99Nanos()).isBetween(3_996_000L, 4_004_000L);
        assertThat(r.markdownRow()).startsWith("| gnomon-rw | 1 | 64 | 3 | 1.00 | 3 | 14.000 |")
                .contains("| 0 | 2 | 1 | 3");
        assertThatThrownBy(() -> stats.accept("not an outcome")).hasMessageContaining("not an Outcome");
    }

    @Test
    void aRowWithoutWritesHasNoCommitWaitAndEtcdNoEpsilon() {
        TxnResult r = new TxnResult.Stats().result(new LoadResult("etcd-put", 8, 100, 0, 0, 0, 0, 0, 0, 0), 0);
        assertThat(r.commitWaitMeanNanos()).isEqualTo(-1);
        assertThat(r.markdownRow()).startsWith("| etcd-put | - | 8 | 0 |").endsWith("| - | - | - |");
    }

    @Test
    void theMedianTakesEachFigureFromTheMiddleRound() {
        TxnResult m = TxnResult.median(List.of(run("gnomon-put", 100, 9 * MS, 3 * MS, MS),
                run("gnomon-put", 300, 5 * MS, 1 * MS, MS), run("gnomon-put", 200, 7 * MS, 2 * MS, MS)));
        assertThat(m.load().ops()).isEqualTo(200);
        assertThat(m.load().p99Nanos()).isEqualTo(7 * MS);
        assertThat(m.latencyMeanNanos()).isEqualTo(2 * MS);
        assertThat(m.load().backend()).isEqualTo("gnomon-put median of 3");
    }

    @Test
    void aComparisonIsMetOnlyWithTheThroughputRatioAndNoWorseP99() {
        List<String> lines = TxnLoadMain.comparisonLines(Map.of(
                "gnomon-put", run("gnomon-put", 16_000, 8 * MS, MS, MS),     // 1.6x, p99 better: met
                "etcd-put", run("etcd-put", 10_000, 10 * MS, MS, 0),
                "gnomon-rw", run("gnomon-rw", 20_000, 12 * MS, MS, MS),      // 2x, p99 worse: not met
                "etcd-txn", run("etcd-txn", 10_000, 10 * MS, MS, 0),
                "gnomon-ro", run("gnomon-ro", 90_000, 30 * MS, MS, MS)));    // 4.5x read-write: not met
        assertThat(lines).hasSize(5);
        assertThat(lines.get(2)).startsWith("| gnomon-put / etcd-put (single-key writes) | 1600 / 1000 | 1.60 |")
                .endsWith("| ≥ 1.5x, p99 ratio ≤ 1 | met |");
        assertThat(lines.get(3)).contains("| 2.00 | 12.000 / 10.000 | 1.20 |").endsWith("| not met |");
        assertThat(lines.get(4)).contains("| 4.50 |").endsWith("| ≥ 5x | not met |");
        assertThat(TxnLoadMain.comparisonLines(Map.of("gnomon-put", run("gnomon-put", 1, MS, MS, MS)))).isEmpty();
    }

    @Test
    void theSweepJudgesEachEpsilonAgainstTheBoundWithTheBaselineAsReplicationTime() {
        // baseline ε 0.01 ms, mean 2 ms = R. ε 1 ms: bound max(0, 2 - 2) + 0.2 = 0.2 ms; adds 0.15: within.
        // ε 5 ms: bound 10 - 2 + 0.2 = 8.2 ms; adds 8.5: not within.
        List<String> lines = TxnLoadMain.sweepLines(List.of(run("gnomon-put eps=5ms", 1_000, 20 * MS, 10_500_000, 5 * MS),
                run("gnomon-put", 1_000, 5 * MS, 2_150_000, MS),
                run("gnomon-put eps=0.01ms", 1_000, 5 * MS, 2 * MS, 10_000)));
        assertThat(lines).hasSize(5);
        assertThat(lines.get(0)).contains("added over ε 0.01 ms").contains("R = 2 ms");
        assertThat(lines.get(2)).isEqualTo("| 0.01 | 100 | 2.000 | 5.000 | - | - | - | 0.2 | - |");
        assertThat(lines.get(3)).isEqualTo("| 1 | 100 | 2.150 | 5.000 | - | - | 0.15 | 0.2 | yes |");
        assertThat(lines.get(4)).isEqualTo("| 5 | 100 | 10.500 | 20.000 | - | - | 8.5 | 8.2 | no |");
        assertThat(TxnLoadMain.sweepLines(List.of(run("gnomon-put", 1, MS, MS, MS)))).isEmpty();
    }

    @Test
    void nextValueCountsTheKeysWrites() {
        byte[] value = ClosedLoopLoad.value(16);
        byte[] first = TxnLoadMain.nextValue(null, value);
        byte[] second = TxnLoadMain.nextValue(first, value);
        assertThat(java.nio.ByteBuffer.wrap(first).getLong()).isEqualTo(1);
        assertThat(java.nio.ByteBuffer.wrap(second).getLong()).isEqualTo(2);
        assertThat(java.util.Arrays.copyOfRange(second, 8, 16)).isEqualTo(java.util.Arrays.copyOfRange(value, 8, 16));
        assertThat(TxnResult.millis(1_500_000)).isEqualTo("1.5");
        assertThat(TxnResult.millis(10_000)).isEqualTo("0.01");
    }
}
