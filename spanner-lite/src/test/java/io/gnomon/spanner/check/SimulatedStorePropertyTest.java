package io.gnomon.spanner.check;

import io.gnomon.spanner.history.HistoryReader;
import io.gnomon.spanner.history.Op;
import io.gnomon.spanner.history.OpType;
import io.gnomon.spanner.tools.SerialStoreSimulation;
import io.gnomon.spanner.tools.SerialStoreSimulation.Fault;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A simulated strictly serializable store (one global order, each transaction applied at an instant between its
 * invocation and completion, fail never applied, info applied or not) always yields valid histories; the same
 * store made to misbehave once always yields that anomaly class. jqwik prints the seed of a failing try; rerun
 * it with {@code @Property(seed = "...")}.
 */
class SimulatedStorePropertyTest {
    private static final Map<Fault, AnomalyType> EXPECTED = Map.of(
            Fault.G0, AnomalyType.G0,
            Fault.G1A, AnomalyType.G1A,
            Fault.G1B, AnomalyType.G1B,
            Fault.G1C, AnomalyType.G1C,
            Fault.G_SINGLE, AnomalyType.G_SINGLE,
            Fault.G2, AnomalyType.G2,
            Fault.STALE_READ, AnomalyType.G_SINGLE_REALTIME,
            Fault.INCOMPATIBLE_ORDER, AnomalyType.INCOMPATIBLE_ORDER,
            Fault.INTERNAL, AnomalyType.INTERNAL);

    private static String record(SerialStoreSimulation.Config config) throws IOException {
        StringWriter out = new StringWriter();
        SerialStoreSimulation.run(config, out);
        return out.toString();
    }

    @Property(tries = 60)
    void strictlySerializableStoreAlwaysYieldsValidHistories(@ForAll long seed,
                                                              @ForAll @IntRange(min = 1, max = 12) int processes,
                                                              @ForAll @IntRange(min = 1, max = 6) int keys,
                                                              @ForAll @IntRange(min = 1, max = 16) int maxAppendsPerKey,
                                                              @ForAll @IntRange(min = 0, max = 25) int failPercent,
                                                              @ForAll @IntRange(min = 0, max = 25) int infoPercent)
            throws IOException {
        String history = record(new SerialStoreSimulation.Config(seed, 300, processes, keys, maxAppendsPerKey, 4,
                failPercent, infoPercent, Fault.NONE));
        CheckResult r = Histories.check(history);
        assertThat(r.valid()).as(() -> Report.text(r, 3)).isTrue();
        assertThat(r.stats().txns()).isEqualTo(300);
    }

    @Property(tries = 120)
    void oneInjectedAnomalyIsAlwaysFoundAndClassified(@ForAll Fault fault, @ForAll long seed,
                                                      @ForAll @IntRange(min = 1, max = 12) int processes,
                                                      @ForAll @IntRange(min = 1, max = 6) int keys,
                                                      @ForAll @IntRange(min = 0, max = 20) int failPercent,
                                                      @ForAll @IntRange(min = 0, max = 20) int infoPercent)
            throws IOException {
        String history = record(new SerialStoreSimulation.Config(seed, 200, processes, keys, 8, 4, failPercent,
                infoPercent, fault));
        CheckResult r = Histories.check(history);
        if (fault == Fault.NONE) {
            assertThat(r.valid()).as(() -> Report.text(r, 3)).isTrue();
            return;
        }
        assertThat(r.counts()).as(() -> Report.text(r, 3)).containsKey(EXPECTED.get(fault));
        if (fault == Fault.STALE_READ) {
            assertThat(Report.verdict(r)).isEqualTo("not-strictly-serializable");
        }
    }

    @Example
    void everyFaultIsFoundAtFixedSeeds() throws IOException {
        for (Fault fault : EXPECTED.keySet()) {
            for (long seed = 1; seed <= 5; seed++) {
                CheckResult r = Histories.check(record(new SerialStoreSimulation.Config(seed, 200, 6, 3, 8, 4, 10, 10, fault)));
                assertThat(r.counts()).as(fault + " seed " + seed).containsKey(EXPECTED.get(fault));
            }
        }
    }

    @Example
    void theHundredThousandTransactionBenchmarkHistoryIsValid() throws IOException {
        // The shape of docs/benchmarks.md's run, smaller: the generator's defaults must stay valid.
        String history = record(new SerialStoreSimulation.Config(1, 20_000, 50, 100, 64, 4, 5, 5, Fault.NONE));
        CheckResult r = Histories.check(history);
        assertThat(r.valid()).as(() -> Report.text(r, 3)).isTrue();
        assertThat(r.stats().cyclicComponents()).isZero();
    }

    // With timestamps: the store assigns them from one increasing clock as transactions take effect.

    @Property(tries = 40)
    void timestampedStoreAlwaysYieldsValidHistories(@ForAll long seed,
                                                    @ForAll @IntRange(min = 1, max = 12) int processes,
                                                    @ForAll @IntRange(min = 1, max = 6) int keys,
                                                    @ForAll @IntRange(min = 1, max = 16) int maxAppendsPerKey,
                                                    @ForAll @IntRange(min = 0, max = 25) int failPercent,
                                                    @ForAll @IntRange(min = 0, max = 25) int infoPercent,
                                                    @ForAll @IntRange(min = 0, max = 100) int stalePercent)
            throws Exception {
        String history = record(new SerialStoreSimulation.Config(seed, 300, processes, keys, maxAppendsPerKey, 4,
                failPercent, infoPercent, Fault.NONE, true, stalePercent));
        CheckResult r = Histories.check(history);
        assertThat(r.valid()).as(() -> Report.text(r, 3)).isTrue();
        assertThat(r.stats().timestamped()).isPositive();
    }

    @Property(tries = 60)
    void oneInjectedAnomalyIsFoundInTimestampedHistoriesToo(@ForAll Fault fault, @ForAll long seed,
                                                            @ForAll @IntRange(min = 1, max = 12) int processes,
                                                            @ForAll @IntRange(min = 0, max = 20) int infoPercent)
            throws IOException {
        String history = record(new SerialStoreSimulation.Config(seed, 200, processes, 3, 8, 4, 5, infoPercent,
                fault, true, 30));
        CheckResult r = Histories.check(history);
        if (fault == Fault.NONE) {
            assertThat(r.valid()).as(() -> Report.text(r, 3)).isTrue();
        } else {
            assertThat(r.counts()).as(() -> Report.text(r, 3)).containsKey(EXPECTED.get(fault));
        }
    }

    private static final SerialStoreSimulation.Config BIGGER =
            new SerialStoreSimulation.Config(7, 5_000, 16, 10, 32, 4, 5, 5, Fault.NONE, true, 30);

    @Example
    void aBiggerTimestampedHistoryIsValidAndSwappingOneTimestampIsCaught() throws Exception {
        String history = record(BIGGER);
        CheckResult r = Histories.check(history);
        assertThat(r.valid()).as(() -> Report.text(r, 3)).isTrue();
        assertThat(r.stats().timestamped()).isGreaterThan(4_000);

        // Swap the commit timestamps of the first and the last committed read-write transactions: real time
        // orders them (the first completed long before the last was invoked), so external consistency breaks.
        List<Op> ops = HistoryReader.readAll(new StringReader(history));
        List<Op> commits = ops.stream().filter(o -> o.type() == OpType.OK && o.commitTsEpochNanos() != null).toList();
        Op first = commits.get(0);
        Op last = commits.get(commits.size() - 1);
        String swapped = history
                .replace("\"commitTs\":" + first.commitTsEpochNanos() + "}", "\"commitTs\":FIRST}")
                .replace("\"commitTs\":" + last.commitTsEpochNanos() + "}", "\"commitTs\":" + first.commitTsEpochNanos() + "}")
                .replace("\"commitTs\":FIRST}", "\"commitTs\":" + last.commitTsEpochNanos() + "}");
        assertThat(swapped).isNotEqualTo(history);
        CheckResult bad = Histories.check(swapped);
        assertThat(bad.counts()).as(() -> Report.text(bad, 3)).containsKey(AnomalyType.EXTERNAL_CONSISTENCY);
        Anomaly a = bad.examples().get(AnomalyType.EXTERNAL_CONSISTENCY).get(0);
        assertThat(bad.txn(a.txns().get(0)).completeIndex()).isEqualTo(first.index());
        assertThat(Report.verdict(bad)).isNotEqualTo("valid");
    }

    @Example
    void staleReadsThatRealTimeWouldCallStaleAreJudgedByTheirTimestamps() throws Exception {
        SerialStoreSimulation.Config allStale = new SerialStoreSimulation.Config(3, 2_000, 8, 4, 32, 2, 0, 0,
                Fault.NONE, true, 100);
        String history = record(allStale);
        CheckResult r = Histories.check(history);
        assertThat(r.valid()).as(() -> Report.text(r, 3)).isTrue();
        // The same history without its timestamps and modes: real time binds every read, and some stale ones show.
        String untimed = history.replaceAll(",\"(readMode|commitTs|readTs)\":(\"[a-z]+\"|[0-9]+)", "");
        assertThat(untimed).doesNotContain("readTs");
        CheckResult old = Histories.check(untimed);
        assertThat(old.counts()).as(() -> Report.text(old, 3)).containsKey(AnomalyType.G_SINGLE_REALTIME);
        assertThat(old.serializabilityViolated()).isFalse();
    }
}
