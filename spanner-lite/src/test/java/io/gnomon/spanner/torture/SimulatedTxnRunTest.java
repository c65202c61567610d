package io.gnomon.spanner.torture;

import io.gnomon.spanner.tools.SpannerLiteMain;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Transactions in deterministic simulation (issue 20, "Proof"): CI's sample of the full run ({@code bin/spanner-lite
 * sim-txn --seeds 10000}, docs/reliability.md). Each seed runs four groups of transaction hosts under faults; the
 * checker must find every history strictly serializable, timestamps included, and a seed must replay byte for byte.
 */
class SimulatedTxnRunTest {
    @TempDir
    Path dir;

    private SimulatedTxnRun.Config config(long seed) {
        return new SimulatedTxnRun.Config(seed, 3, 4, 6, 12, Duration.ofSeconds(4), dir.resolve("stores"));
    }

    @Test
    void aSampleOfSeedsIsStrictlySerializableWithTransactionsAcrossGroupsAndReadsAtEveryBound() throws Exception {
        int committed = 0;
        int acrossGroups = 0;
        java.util.Map<String, Integer> readOnly = new java.util.TreeMap<>();
        for (long seed = 1; seed <= 6; seed++) {
            SimTxnCommand.Verdict v = SimTxnCommand.runSeed(config(seed), dir.resolve("seed-" + seed + ".jsonl"));
            assertThat(v.failure()).as("seed " + seed + "; replay: " + SimTxnCommand.replay(config(seed))).isNull();
            assertThat(v.check().stats().timestamped()).as("every ok transaction carries its timestamp").isPositive();
            committed += v.outcome().committed();
            acrossGroups += v.outcome().acrossGroups();
            v.outcome().readOnly().forEach((bound, n) -> readOnly.merge(bound, n, Integer::sum));
            assertThat(v.outcome().faults()).isPositive();
        }
        assertThat(committed).isGreaterThan(50);
        assertThat(acrossGroups).as("two-phase commits").isGreaterThan(10);
        assertThat(readOnly).containsKeys("strong", "exact_timestamp", "exact_staleness", "max_staleness",
                "min_read_timestamp");
        assertThat(Files.list(dir.resolve("stores"))).as("the run removes its stores").isEmpty();
    }

    @Test
    void aSeedReplaysByteForByte() throws Exception {
        SimTxnCommand.Verdict a = SimTxnCommand.runSeed(config(7), dir.resolve("a.jsonl"));
        SimTxnCommand.Verdict b = SimTxnCommand.runSeed(config(7), dir.resolve("b.jsonl"));
        SimTxnCommand.Verdict c = SimTxnCommand.runSeed(config(8), dir.resolve("c.jsonl"));

        assertThat(Files.readAllBytes(b.history())).isEqualTo(Files.readAllBytes(a.history()));
        assertThat(b.outcome().simulation()).isEqualTo(a.outcome().simulation());
        assertThat(Files.readAllBytes(c.history())).isNotEqualTo(Files.readAllBytes(a.history()));
    }

    @Test
    void theCommandRunsSeedsAndSummarizes() {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = SpannerLiteMain.run(new PrintWriter(out), new PrintWriter(err), "sim-txn", "--seeds", "2",
                "--first-seed", "20", "--data-dir", dir.resolve("cli").toString(), "--history-dir",
                dir.resolve("h").toString());

        assertThat(code).as(err.toString()).isZero();
        assertThat(out.toString()).contains("sim-txn: 2 seeds from 20 (4 groups, 3 replicas").contains(": 0 failed;");
        assertThat(SpannerLiteMain.run(new PrintWriter(new StringWriter()), new PrintWriter(err), "sim-txn",
                "--replicas", "4")).isEqualTo(2);
        assertThat(err.toString()).contains("--replicas 3 or 5");
    }
}
