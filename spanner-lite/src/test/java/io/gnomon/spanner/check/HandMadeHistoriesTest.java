package io.gnomon.spanner.check;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.gnomon.spanner.check.Histories.append;
import static io.gnomon.spanner.check.Histories.read;
import static org.assertj.core.api.Assertions.assertThat;

/** One small history per anomaly class, and valid ones with concurrency, fail and info operations. */
class HandMadeHistoriesTest {

    private static void assertOnly(CheckResult r, AnomalyType... types) {
        assertThat(r.valid()).isFalse();
        assertThat(r.counts().keySet()).as(() -> Report.text(r, 5)).isEqualTo(Set.of(types));
    }

    private static List<EdgeType> cycleTypes(CheckResult r, AnomalyType type) {
        return r.examples().get(type).get(0).cycle().stream().map(Dependency::type).toList();
    }

    @Test
    void validWithConcurrencyFailAndInfo() {
        CheckResult r = new Histories()
                .invoke(1, append("x", 1)).invoke(2, read("x")).invoke(3, append("y", 1), read("x"))
                .ok(2, read("x", 1L)).ok(1, append("x", 1)).ok(3, append("y", 1), read("x", 1L))
                .invoke(4, append("x", 2)).info(4)                     // info, seen below: it committed
                .invoke(5, append("x", 3)).fail(5)                     // fail, never seen
                .invoke(6, append("y", 2)).info(6)                     // info, never seen: not in the graph
                .txn(1, read("x", 1L, 2L), read("y", 1L))
                .invoke(2, append("y", 3), read("y"))
                .ok(2, append("y", 3), read("y", 1L, 3L))
                .invoke(3, append("x", 4))                             // never completes
                .check();
        assertThat(r.valid()).as(() -> Report.text(r, 5)).isTrue();
        assertThat(r.stats().txns()).isEqualTo(9);
        assertThat(r.stats().ok()).isEqualTo(5);
        assertThat(r.stats().fail()).isEqualTo(1);
        assertThat(r.stats().info()).isEqualTo(3);
        assertThat(r.stats().nodes()).isEqualTo(6); // 5 ok and the info whose append was read
    }

    @Test
    void anInfoAppendMayTakeEffectAfterItsInfoLine() {
        CheckResult r = new Histories()
                .invoke(1, append("x", 1)).info(1)
                .txn(2, read("x"))                  // after the info line, sees nothing: fine, it had not applied yet
                .txn(3, read("x", 1L))
                .check();
        assertThat(r.valid()).as(() -> Report.text(r, 5)).isTrue();
    }

    @Test
    void g0WriteCycle() {
        CheckResult r = new Histories()
                .invoke(1, append("x", 1), append("y", 1)).invoke(2, append("x", 2), append("y", 2))
                .ok(1, append("x", 1), append("y", 1)).ok(2, append("x", 2), append("y", 2))
                .txn(3, read("x", 1L, 2L), read("y", 2L, 1L))
                .check();
        assertOnly(r, AnomalyType.G0);
        assertThat(cycleTypes(r, AnomalyType.G0)).containsExactly(EdgeType.WW, EdgeType.WW);
    }

    @Test
    void g1aAbortedRead() {
        CheckResult r = new Histories()
                .invoke(1, append("x", 1)).fail(1)
                .txn(2, read("x", 1L))
                .check();
        assertOnly(r, AnomalyType.G1A);
        Anomaly a = r.examples().get(AnomalyType.G1A).get(0);
        assertThat(a.key()).isEqualTo("x");
        assertThat(a.txns()).extracting(t -> r.txn(t).invokeIndex()).containsExactly(0L, 2L);
    }

    @Test
    void g1bIntermediateRead() {
        CheckResult r = new Histories()
                .invoke(1, append("x", 1), append("x", 2)).invoke(2, read("x"))
                .ok(1, append("x", 1), append("x", 2)).ok(2, read("x", 1L))
                .txn(3, read("x", 1L, 2L))
                .check();
        assertThat(r.counts()).containsKey(AnomalyType.G1B);
        assertThat(r.counts()).doesNotContainKeys(AnomalyType.G1A, AnomalyType.INTERNAL);
    }

    @Test
    void g1cCircularInformationFlow() {
        CheckResult r = new Histories()
                .invoke(1, append("x", 1), read("y")).invoke(2, append("y", 1), read("x"))
                .ok(1, append("x", 1), read("y", 1L)).ok(2, append("y", 1), read("x", 1L))
                .check();
        assertOnly(r, AnomalyType.G1C);
        assertThat(cycleTypes(r, AnomalyType.G1C)).containsOnly(EdgeType.WR);
    }

    @Test
    void gSingleLostUpdate() {
        CheckResult r = new Histories()
                .invoke(1, append("x", 1)).invoke(2, read("x"), append("x", 2))
                .ok(1, append("x", 1)).ok(2, read("x"), append("x", 2))
                .txn(3, read("x", 1L, 2L))
                .check();
        assertOnly(r, AnomalyType.G_SINGLE);
        assertThat(cycleTypes(r, AnomalyType.G_SINGLE)).containsExactlyInAnyOrder(EdgeType.RW, EdgeType.WW);
    }

    @Test
    void g2WriteSkew() {
        CheckResult r = new Histories()
                .invoke(1, read("x"), append("y", 1)).invoke(2, read("y"), append("x", 1))
                .ok(1, read("x"), append("y", 1)).ok(2, read("y"), append("x", 1))
                .txn(3, read("x", 1L), read("y", 1L))
                .check();
        assertOnly(r, AnomalyType.G2);
        assertThat(cycleTypes(r, AnomalyType.G2)).containsExactly(EdgeType.RW, EdgeType.RW);
    }

    @Test
    void staleReadIsOnlyNotStrictlySerializable() {
        CheckResult r = new Histories()
                .txn(1, append("x", 1))
                .txn(2, read("x"))               // invoked after 1 completed, yet does not see it
                .txn(3, read("x", 1L))
                .check();
        assertOnly(r, AnomalyType.G_SINGLE_REALTIME);
        assertThat(r.serializabilityViolated()).isFalse();
        assertThat(Report.verdict(r)).isEqualTo("not-strictly-serializable");
        assertThat(cycleTypes(r, AnomalyType.G_SINGLE_REALTIME)).containsExactlyInAnyOrder(EdgeType.RW, EdgeType.REALTIME);
    }

    @Test
    void g0RealtimeLaterWriteOrderedFirst() {
        CheckResult r = new Histories()
                .txn(1, append("x", 1))
                .txn(2, append("x", 2))
                .txn(3, read("x", 2L, 1L))
                .check();
        assertOnly(r, AnomalyType.G0_REALTIME);
    }

    @Test
    void g1cRealtimeReadFromTheFuture() {
        CheckResult r = new Histories()
                .txn(1, read("x", 1L))
                .txn(2, append("x", 1))
                .check();
        assertOnly(r, AnomalyType.G1C_REALTIME);
    }

    @Test
    void g2RealtimeNeedsTwoAntiDependenciesAndRealTime() {
        CheckResult r = new Histories()
                .invoke(2, append("x", 1), read("y"))
                .txn(3, append("y", 1))
                .txn(1, read("x"))
                .ok(2, append("x", 1), read("y"))
                .txn(4, read("x", 1L), read("y", 1L))
                .check();
        assertOnly(r, AnomalyType.G2_REALTIME);
    }

    @Test
    void incompatibleOrder() {
        CheckResult r = new Histories()
                .invoke(1, append("x", 1)).invoke(2, append("x", 2))
                .ok(1, append("x", 1)).ok(2, append("x", 2))
                .txn(3, read("x", 1L, 2L))
                .txn(4, read("x", 2L, 1L))
                .check();
        assertThat(r.counts()).containsKey(AnomalyType.INCOMPATIBLE_ORDER);
        assertThat(r.examples().get(AnomalyType.INCOMPATIBLE_ORDER).get(0).txns())
                .extracting(t -> r.txn(t).invokeIndex()).containsExactly(6L, 4L);
    }

    @Test
    void internalInconsistency() {
        CheckResult r = new Histories()
                .txn(1, append("x", 1), read("x"))
                .txn(2, read("x", 1L), append("x", 2), read("x", 1L))
                .check();
        assertThat(r.counts()).containsEntry(AnomalyType.INTERNAL, 2);
    }

    @Test
    void duplicateElements() {
        CheckResult r = new Histories()
                .txn(1, append("x", 1))
                .txn(2, read("x", 1L, 1L))
                .check();
        assertOnly(r, AnomalyType.DUPLICATE_ELEMENTS);
    }

    @Test
    void garbageRead() {
        CheckResult r = new Histories()
                .txn(1, append("x", 1))
                .txn(2, read("x", 1L, 7L))
                .check();
        assertOnly(r, AnomalyType.GARBAGE);
    }

    @Test
    void failedAppendsNotSeenAreFine() {
        CheckResult r = new Histories()
                .invoke(1, append("x", 1)).fail(1)
                .txn(2, append("x", 2))
                .txn(3, read("x", 2L))
                .check();
        assertThat(r.valid()).isTrue();
    }

    @Test
    void aCycleSearchCutShortReportsTheComponentAndIsNeverValid() throws Exception {
        String writeSkew = new Histories()
                .invoke(1, read("x"), append("y", 1)).invoke(2, read("y"), append("x", 1))
                .ok(1, read("x"), append("y", 1)).ok(2, read("y"), append("x", 1))
                .txn(3, read("x", 1L), read("y", 1L))
                .text();
        CheckResult r = new Checker(new Checker.Limits(10, 1), System::nanoTime).check(HistorySource.ofString(writeSkew));

        assertOnly(r, AnomalyType.UNCLASSIFIED_CYCLE);
        assertThat(r.stats().searchTruncated()).isTrue();
        assertThat(Report.verdict(r)).isEqualTo("unclassified-cycle");
        Anomaly a = r.examples().get(AnomalyType.UNCLASSIFIED_CYCLE).get(0);
        assertThat(a.txns()).extracting(t -> r.txn(t).invokeIndex()).containsExactly(0L, 1L);
        assertThat(a.explanation()).startsWith("cyclic component of 2 transactions left unclassified")
                .contains("budget of 1 steps");
        assertThat(Report.text(r, 5)).startsWith("INVALID (unclassified-cycle): 1 anomaly in 1 class")
                .contains("T0 = process 1, ok at index 2").contains("T1 = process 2, ok at index 3");
    }

    @Test
    void noStepBudgetMakesACyclicHistoryValid() throws Exception {
        // Two separate write skews: two cyclic components.
        String two = new Histories()
                .invoke(1, read("x"), append("y", 1)).invoke(2, read("y"), append("x", 1))
                .ok(1, read("x"), append("y", 1)).ok(2, read("y"), append("x", 1))
                .txn(3, read("x", 1L), read("y", 1L))
                .invoke(1, read("u"), append("v", 1)).invoke(2, read("v"), append("u", 1))
                .ok(1, read("u"), append("v", 1)).ok(2, read("v"), append("u", 1))
                .txn(3, read("u", 1L), read("v", 1L))
                .text();
        assertThat(checkWithSteps(two, Checker.Limits.DEFAULT.cycleSearchSteps()).counts())
                .isEqualTo(Map.of(AnomalyType.G2, 2));
        assertThat(checkWithSteps(two, 0).counts()).isEqualTo(Map.of(AnomalyType.UNCLASSIFIED_CYCLE, 2));
        for (long steps = 0; steps <= 300; steps++) {
            CheckResult r = checkWithSteps(two, steps);
            long budget = steps;
            assertThat(r.valid()).as(() -> budget + " steps: " + Report.text(r, 5)).isFalse();
            assertThat(Report.verdict(r)).isEqualTo(r.counts().containsKey(AnomalyType.G2) ? "not-serializable"
                    : "unclassified-cycle");
        }
    }

    private static CheckResult checkWithSteps(String history, long steps) throws Exception {
        return new Checker(new Checker.Limits(10, steps), System::nanoTime).check(HistorySource.ofString(history));
    }

    @Test
    void examplesAreCappedButEverythingIsCounted() throws Exception {
        Histories h = new Histories();
        for (int i = 0; i < 30; i++) {
            h.invoke(1, append("k" + i, 1)).fail(1).txn(2, read("k" + i, 1L));
        }
        CheckResult r = new Checker(new Checker.Limits(3, 1000), System::nanoTime)
                .check(HistorySource.ofString(h.text()));
        assertThat(r.counts()).containsEntry(AnomalyType.G1A, 30);
        assertThat(r.examples().get(AnomalyType.G1A)).hasSize(3);
        assertThat(Report.text(r, 2)).contains("… and 28 more");
    }
}
