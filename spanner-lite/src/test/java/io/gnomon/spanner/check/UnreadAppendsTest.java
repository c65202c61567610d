package io.gnomon.spanner.check;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static io.gnomon.spanner.check.Histories.append;
import static io.gnomon.spanner.check.Histories.read;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Appends no read returned. Lists only grow, so a committed append missing from a read's list comes after that
 * read in any serial order, whether or not any read ever shows it: these histories are invalid only through
 * such edges, or must stay valid although they have such appends (info, fail, a transaction's own append).
 */
class UnreadAppendsTest {

    private static void assertOnly(CheckResult r, AnomalyType... types) {
        assertThat(r.valid()).as(() -> Report.text(r, 5)).isFalse();
        assertThat(r.counts().keySet()).as(() -> Report.text(r, 5)).isEqualTo(Set.of(types));
    }

    private static void assertValid(CheckResult r) {
        assertThat(r.valid()).as(() -> Report.text(r, 5)).isTrue();
    }

    /** Valid, and not even an edge to an append that may never have happened. */
    private static void assertValidWithoutRw(CheckResult r) {
        assertValid(r);
        assertThat(r.stats().edges().get(EdgeType.RW)).isZero();
    }

    private static List<Dependency> cycle(CheckResult r, AnomalyType type) {
        return r.examples().get(type).get(0).cycle();
    }

    @Test
    void readSkewWhoseSkippedAppendIsNeverReadBack() {
        CheckResult r = new Histories()
                .invoke(1, append("x", 1), append("y", 1)).invoke(2, read("x"), read("y"))
                .ok(1, append("x", 1), append("y", 1)).ok(2, read("x"), read("y", 1L)) // x = [] but y = [T0's]
                .check();
        assertOnly(r, AnomalyType.G_SINGLE);
        List<Dependency> cycle = cycle(r, AnomalyType.G_SINGLE);
        assertThat(cycle).extracting(Dependency::type).containsExactlyInAnyOrder(EdgeType.RW, EdgeType.WR);
        Dependency rw = cycle.stream().filter(d -> d.type() == EdgeType.RW).findFirst().orElseThrow();
        assertThat(rw).isEqualTo(new Dependency(1, 0, EdgeType.RW, "x", 1L, null, true));
        assertThat(Report.text(r, 5)).contains(
                "T1 -rw-> T0: T1 read x empty, and T0 appended 1 to x, which no read returned: lists only grow, so T0 came after");
        assertThat(Report.json(r)).contains("{\"from\":1,\"to\":0,\"type\":\"rw\",\"key\":\"x\",\"value\":1,\"unread\":true}");
    }

    @Test
    void fracturedReadAcrossKeysWithOneAppendReadAndOneNot() {
        CheckResult r = new Histories()
                .txn(3, append("x", 1), append("y", 1))
                .invoke(1, append("x", 2), append("y", 2), append("z", 2)).invoke(2, read("x"), read("y"), read("z"))
                .ok(1, append("x", 2), append("y", 2), append("z", 2))
                .ok(2, read("x", 1L, 2L), read("y", 1L), read("z"))        // sees T1's x, misses its y and z
                .check();
        assertOnly(r, AnomalyType.G_SINGLE);
        assertThat(cycle(r, AnomalyType.G_SINGLE)).filteredOn(Dependency::unread)
                .extracting(Dependency::key).containsAnyOf("y", "z");
    }

    @Test
    void aReadOfAnOlderVersionFollowsUnreadAppendsThroughTheVersionOrder() {
        CheckResult r = new Histories()
                .invoke(1, append("x", 1)).invoke(2, append("x", 2), append("y", 2))
                .invoke(3, read("x"), read("y")).invoke(4, read("x"))
                .ok(1, append("x", 1)).ok(2, append("x", 2), append("y", 2))
                .ok(3, read("x"), read("y", 2L))     // x = [], a strict prefix of x's order, but y = [T1's]
                .ok(4, read("x", 1L))                // x's order is [1]: T1's 2 is never read
                .check();
        // G-single: T2 -rw-> T0 -ww-> T1 (unread 2 after the last element read) -wr-> T2. (G2 goes through T3.)
        assertOnly(r, AnomalyType.G_SINGLE, AnomalyType.G2);
        assertThat(cycle(r, AnomalyType.G_SINGLE)).extracting(Dependency::type)
                .containsExactly(EdgeType.RW, EdgeType.WW, EdgeType.WR);
        assertThat(cycle(r, AnomalyType.G_SINGLE)).extracting(Dependency::unread).containsExactly(false, true, false);
    }

    @Test
    void withRealTimeOrderAStaleReadOfAnAppendNeverReadBackIsCaught() {
        CheckResult r = new Histories()
                .txn(1, append("x", 1))
                .txn(2, read("x"))                 // invoked after T0 completed, and misses its append
                .check();
        assertOnly(r, AnomalyType.G_SINGLE_REALTIME);
        assertThat(Report.verdict(r)).isEqualTo("not-strictly-serializable");
        assertThat(cycle(r, AnomalyType.G_SINGLE_REALTIME)).extracting(Dependency::type)
                .containsExactlyInAnyOrder(EdgeType.RW, EdgeType.REALTIME);
    }

    @Test
    void withRealTimeOrderReadSkewStillRulesOutSerializability() {
        CheckResult r = new Histories()
                .txn(1, append("x", 1), append("y", 1))
                .txn(2, read("x"), read("y", 1L))
                .check();
        assertThat(r.counts()).as(() -> Report.text(r, 5)).containsKeys(AnomalyType.G_SINGLE);
        assertThat(Report.verdict(r)).isEqualTo("not-serializable");
    }

    @Test
    void anInfoAppenderSeenOnAnotherKeyCommittedSoItsUnreadAppendCounts() {
        CheckResult r = new Histories()
                .invoke(1, append("x", 1), append("y", 1)).info(1)
                .txn(2, read("x"), read("y", 1L))        // y shows T0 took effect, so its x append did too
                .check();
        assertOnly(r, AnomalyType.G_SINGLE);
        assertThat(cycle(r, AnomalyType.G_SINGLE)).filteredOn(Dependency::unread)
                .extracting(Dependency::to).containsExactly(0);
    }

    @Test
    void anInfoAppendNoReadSawProvesNothing() {
        assertValidWithoutRw(new Histories()
                .invoke(1, append("x", 1), append("y", 1)).info(1)
                .txn(2, read("x"), read("y"))            // may run before T0 takes effect, or T0 never does
                .txn(3, read("x"))
                .check());
        assertValidWithoutRw(new Histories()
                .invoke(1, append("x", 1)).invoke(2, read("x"), append("y", 2))
                .info(1).ok(2, read("x"), append("y", 2))
                .txn(3, read("y", 2L))
                .check());
    }

    @Test
    void aFailedAppendNeverHappenedSoReadsMayMissIt() {
        assertValidWithoutRw(new Histories()
                .invoke(1, append("x", 1), append("y", 1)).fail(1)
                .txn(2, read("x"), read("y"))
                .invoke(3, read("x"), append("z", 3)).ok(3, read("x"), append("z", 3))
                .txn(2, read("z", 3L))
                .check());
    }

    @Test
    void aTransactionNeverComesBeforeItsOwnUnreadAppend() {
        assertValid(new Histories()
                .txn(1, read("x"), append("x", 1))              // reads x before its own append
                .txn(2, read("x", 1L), append("x", 2))          // reads T0's, its own append unread
                .txn(3, append("x", 3), append("y", 3))         // unread too, after both
                .txn(2, read("y", 3L))
                .check());
    }

    @Test
    void lostUpdateThatNoReadShowsIsAnAntiDependencyCycle() {
        CheckResult r = new Histories()
                .invoke(1, read("x"), append("x", 1)).invoke(2, read("x"), append("x", 2))
                .ok(1, read("x"), append("x", 1)).ok(2, read("x"), append("x", 2))  // both read [], neither read back
                .check();
        assertOnly(r, AnomalyType.G2);
        assertThat(cycle(r, AnomalyType.G2)).extracting(Dependency::type).containsExactly(EdgeType.RW, EdgeType.RW);
        assertThat(cycle(r, AnomalyType.G2)).allMatch(Dependency::unread);
    }

    @Test
    void aCutShortSearchCountsTransactionsNotHubs() throws Exception {
        String lostUpdate = new Histories()
                .invoke(1, read("x"), append("x", 1)).invoke(2, read("x"), append("x", 2))
                .ok(1, read("x"), append("x", 1)).ok(2, read("x"), append("x", 2))
                .text();
        CheckResult r = new Checker(new Checker.Limits(10, 0), System::nanoTime).check(HistorySource.ofString(lostUpdate));
        assertOnly(r, AnomalyType.UNCLASSIFIED_CYCLE);
        Anomaly a = r.examples().get(AnomalyType.UNCLASSIFIED_CYCLE).get(0);
        assertThat(a.txns()).containsExactly(0, 1);
        assertThat(a.explanation()).startsWith("cyclic component of 2 transactions left unclassified");
    }

    @Test
    void anUnreadAppendComesAfterTheLastElementReadAsAWriteDependency() {
        CheckResult r = new Histories()
                .invoke(1, append("x", 1), append("y", 2)).invoke(2, append("x", 2), append("y", 1))
                .ok(1, append("x", 1), append("y", 2)).ok(2, append("x", 2), append("y", 1))
                .txn(3, read("x", 1L), read("y", 1L, 2L))     // x: T0 then T1 (unread); y: T1 then T0
                .check();
        assertThat(r.counts()).as(() -> Report.text(r, 5)).containsKey(AnomalyType.G0);
        assertThat(cycle(r, AnomalyType.G0)).extracting(Dependency::type).containsExactly(EdgeType.WW, EdgeType.WW);
        assertThat(Report.text(r, 5)).contains("T0 appended 1, the last element any read of x returned, and T1 appended 2"
                + " to x, which no read returned: lists only grow, so T1 came after");
    }

    @Test
    void edgesStayLinearInReadersAndUnreadAppenders() {
        int n = 300;
        Histories h = new Histories();
        for (int p = 0; p < n; p++) {
            h.invoke(p, read("x")).invoke(n + p, append("x", p));
        }
        for (int p = 0; p < n; p++) {
            h.ok(p, read("x")).ok(n + p, append("x", p));
        }
        h.txn(1, append("y", 1)).txn(0, read("y"));       // one stale read to show the edges exist
        CheckResult r = h.check();
        assertOnly(r, AnomalyType.G_SINGLE_REALTIME);     // every reader before every appender is a valid order
        long rw = r.stats().edges().get(EdgeType.RW);
        assertThat(rw).isPositive().isLessThanOrEqualTo(2L * n + 1); // not n * n
    }

    @Test
    void edgesStayLinearWhenEveryReaderAlsoHasAnUnreadAppend() {
        int n = 300;
        Histories h = new Histories();
        for (int p = 0; p < n; p++) {
            h.invoke(p, read("x"), append("x", p));
        }
        for (int p = 0; p < n; p++) {
            h.ok(p, read("x"), append("x", p));       // all read [], none read back: lost updates
        }
        CheckResult r = h.check();
        assertOnly(r, AnomalyType.G2);
        assertThat(r.stats().cyclicComponents()).isEqualTo(1);
        assertThat(r.stats().edges().get(EdgeType.RW)).isLessThanOrEqualTo(2L * n); // not n * (n - 1)
    }
}
