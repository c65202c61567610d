package io.gnomon.spanner.check;

import org.junit.jupiter.api.Test;

import java.util.Set;

import static io.gnomon.spanner.check.Histories.append;
import static io.gnomon.spanner.check.Histories.read;
import static io.gnomon.spanner.history.ReadMode.STALE;
import static io.gnomon.spanner.history.ReadMode.STRONG;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The timestamp rules on small histories (the clock ticks 10 ns per line, so the n-th line, from 0, is at time
 * 10 (n + 1)): each violation is found as its own class naming its transactions, their timestamps and times.
 */
class TimestampRulesTest {

    private static void assertValid(CheckResult r) {
        assertThat(r.valid()).as(() -> Report.text(r, 5)).isTrue();
    }

    private static void assertOnly(CheckResult r, AnomalyType... types) {
        assertThat(r.valid()).isFalse();
        assertThat(r.counts().keySet()).as(() -> Report.text(r, 5)).isEqualTo(Set.of(types));
    }

    /** The one anomaly of {@code type}: its transactions by invoke index, and its explanation. */
    private static Anomaly only(CheckResult r, AnomalyType type) {
        assertThat(r.counts().get(type)).as(() -> Report.text(r, 5)).isEqualTo(1);
        return r.examples().get(type).get(0);
    }

    private static Long[] invokeIndexes(CheckResult r, Anomaly a) {
        return a.txns().stream().map(t -> r.txn(t).invokeIndex()).toArray(Long[]::new);
    }

    @Test
    void aValidTimestampedHistoryPasses() {
        CheckResult r = new Histories()
                .invoke(1, STRONG, append("x", 1)).invoke(2, STRONG, append("y", 1), read("x"))
                .okCommitted(1, 100, append("x", 1)).okCommitted(2, 110, append("y", 1), read("x", 1L))
                .rw(3, 120, read("x", 1L), append("x", 2), read("x", 1L, 2L))          // its own append counts
                .ro(1, STRONG, 130, read("x", 1L, 2L), read("y", 1L))
                .ro(2, STRONG, 130, read("x", 1L, 2L))                                  // equal read ts: allowed
                .ro(3, STALE, 105, read("x", 1L), read("y"))                             // an older snapshot
                .invoke(1, STRONG, append("y", 2)).fail(1)
                .check();
        assertValid(r);
        assertThat(r.stats().timestamped()).isEqualTo(6);
    }

    @Test
    void externalConsistencyCommitTimestampsMustFollowRealTime() {
        CheckResult r = new Histories()
                .rw(1, 100, append("x", 1))        // lines 0, 1: ok at time 20
                .rw(2, 90, append("y", 1))         // lines 2, 3: invoked at time 30, after T0 completed
                .check();
        assertOnly(r, AnomalyType.EXTERNAL_CONSISTENCY);
        Anomaly a = only(r, AnomalyType.EXTERNAL_CONSISTENCY);
        assertThat(invokeIndexes(r, a)).containsExactly(0L, 2L);
        assertThat(a.explanation()).isEqualTo("T0 (commit ts 100, invoked at time 10, ok at time 20) completed before"
                + " T2 (commit ts 90, invoked at time 30, ok at time 40) was invoked, but T2's commit ts 90 is not above 100");
        assertThat(Report.verdict(r)).isEqualTo("timestamp-violation");
        assertThat(Report.text(r, 5)).contains("T0 (commit ts 100").contains("(2 ok, 0 fail, 0 info; 2 with timestamps)");
    }

    @Test
    void externalConsistencyFindsTheHighestEarlierTimestampNotJustTheLatestCompletion() {
        CheckResult r = new Histories()
                .rw(1, 500, append("x", 1))
                .rw(2, 600, append("y", 1))
                .rw(3, 550, append("z", 1))        // above T0's 500, below T2's 600
                .check();
        assertOnly(r, AnomalyType.EXTERNAL_CONSISTENCY);
        assertThat(invokeIndexes(r, only(r, AnomalyType.EXTERNAL_CONSISTENCY))).containsExactly(2L, 4L);
    }

    @Test
    void concurrentTransactionsMayCommitInEitherTimestampOrder() {
        CheckResult r = new Histories()
                .invoke(1, STRONG, append("x", 1)).invoke(2, STRONG, append("y", 1))
                .okCommitted(1, 100, append("x", 1)).okCommitted(2, 90, append("y", 1))
                .check();
        assertValid(r);
    }

    @Test
    void equalTimestampsAreAViolationOnlyWhenTheLaterTransactionWrites() {
        assertValid(new Histories().rw(1, 100, append("x", 1)).ro(2, STRONG, 100, read("x", 1L)).check());
        CheckResult r = new Histories().ro(2, STRONG, 100, read("x")).rw(1, 100, append("x", 1)).check();
        assertThat(r.counts().keySet()).as(() -> Report.text(r, 5)).contains(AnomalyType.EXTERNAL_CONSISTENCY);
        assertThat(only(r, AnomalyType.EXTERNAL_CONSISTENCY).explanation()).endsWith("is not above 100");
    }

    @Test
    void aStrongReadBelowAnEarlierCommitIsJudgedByBothRules() {
        // T2's strong read misses T0's committed append: a real-time cycle, and its timestamp is below T0's.
        CheckResult r = new Histories()
                .rw(1, 100, append("x", 1))
                .ro(2, STRONG, 90, read("x"))
                .check();
        assertOnly(r, AnomalyType.EXTERNAL_CONSISTENCY, AnomalyType.G_SINGLE_REALTIME);
        assertThat(only(r, AnomalyType.EXTERNAL_CONSISTENCY).explanation()).contains("T2's read ts 90 is below 100");
    }

    @Test
    void aStaleReadIsJudgedOnlyByTheTimestampRule() {
        // The same read, stale: a snapshot at 90 rightly misses the commit at 100; real time does not bind it.
        assertValid(new Histories()
                .rw(1, 100, append("x", 1))
                .ro(2, STALE, 90, read("x"))
                .check());
        // A stale read at 150 must see the commit at 100: the timestamp rule catches it, real time does not.
        CheckResult r = new Histories()
                .rw(1, 100, append("x", 1))
                .ro(2, STALE, 150, read("x"))
                .check();
        assertOnly(r, AnomalyType.TIMESTAMP_MISSED_WRITE);
        Anomaly a = only(r, AnomalyType.TIMESTAMP_MISSED_WRITE);
        assertThat(invokeIndexes(r, a)).containsExactly(2L, 0L);
        assertThat(a.key()).isEqualTo("x");
        assertThat(a.explanation()).isEqualTo("T2 (read ts 150, stale, invoked at time 30, ok at time 40) read x ="
                + " empty, without 1, appended by T0 (commit ts 100, invoked at time 10, ok at time 20): committed at"
                + " or below the read's timestamp 150");
    }

    @Test
    void realTimeDoesNotOrderAStaleReadBeforeALaterTransactionEither() {
        // A stale read (at an exact timestamp, say) completes at 20 with read ts 500; a commit invoked after it at 100.
        assertValid(new Histories()
                .ro(1, STALE, 500, read("y"))
                .rw(2, 100, append("x", 1))
                .check());
    }

    @Test
    void anInfoTransactionKnownToHaveCommittedIsHeldToExternalConsistency() {
        // T2's outcome is unknown but T4 saw its append, so it committed, at 90: below T0's 100, which completed first.
        CheckResult r = new Histories()
                .rw(1, 100, append("x", 1))
                .invoke(2, STRONG, append("y", 1)).infoCommitted(2, 90)
                .ro(3, STALE, 95, read("y", 1L))
                .check();
        assertOnly(r, AnomalyType.EXTERNAL_CONSISTENCY);
        assertThat(invokeIndexes(r, only(r, AnomalyType.EXTERNAL_CONSISTENCY))).containsExactly(0L, 2L);
        // Not seen, it may never have committed: nothing to hold it to.
        assertValid(new Histories()
                .rw(1, 100, append("x", 1))
                .invoke(2, STRONG, append("y", 1)).infoCommitted(2, 90)
                .ro(3, STALE, 95, read("y"))
                .check());
    }

    @Test
    void aReadThatSeesACommitAboveItsTimestampIsAFutureRead() {
        CheckResult r = new Histories()
                .invoke(1, STRONG, append("x", 1)).invoke(2, STRONG, read("x"))
                .okCommitted(1, 100, append("x", 1)).okRead(2, 50, read("x", 1L))
                .check();
        assertOnly(r, AnomalyType.TIMESTAMP_FUTURE_READ);
        Anomaly a = only(r, AnomalyType.TIMESTAMP_FUTURE_READ);
        assertThat(invokeIndexes(r, a)).containsExactly(1L, 0L);
        assertThat(a.explanation()).isEqualTo("T1 (read ts 50, invoked at time 20, ok at time 40) read x = 1 elements"
                + " ending at 1, which includes 1, appended by T0 (commit ts 100, invoked at time 10, ok at time 30):"
                + " committed above the read's timestamp 50");
    }

    @Test
    void aConcurrentStrongReadAboveACommitMustSeeIt() {
        CheckResult r = new Histories()
                .invoke(1, STRONG, append("x", 1)).invoke(2, STRONG, read("x"))
                .okCommitted(1, 100, append("x", 1)).okRead(2, 150, read("x"))
                .check();
        assertOnly(r, AnomalyType.TIMESTAMP_MISSED_WRITE);
        assertThat(invokeIndexes(r, only(r, AnomalyType.TIMESTAMP_MISSED_WRITE))).containsExactly(1L, 0L);
    }

    @Test
    void aReadInsideAReadWriteTransactionIsAtItsCommitTimestampAndCountsItsOwnEarlierAppends() {
        // T1 reads x (before its own append to x, which must not count as missing) and y at its commit ts 200;
        // y = [] misses T0's append committed at 100.
        CheckResult r = new Histories()
                .invoke(1, STRONG, append("y", 1))
                .invoke(2, STRONG, read("x"), append("x", 5), read("x"), read("y"))
                .okCommitted(1, 100, append("y", 1))
                .okCommitted(2, 200, read("x"), append("x", 5), read("x", 5L), read("y"))
                .check();
        assertOnly(r, AnomalyType.TIMESTAMP_MISSED_WRITE);
        Anomaly a = only(r, AnomalyType.TIMESTAMP_MISSED_WRITE);
        assertThat(a.key()).isEqualTo("y");
        assertThat(invokeIndexes(r, a)).containsExactly(1L, 0L);
    }

    @Test
    void aKeysVersionOrderMustFollowCommitTimestamps() {
        CheckResult r = new Histories()
                .invoke(1, STRONG, append("x", 1)).invoke(2, STRONG, append("x", 2))
                .okCommitted(1, 200, append("x", 1)).okCommitted(2, 100, append("x", 2))
                .ro(3, STRONG, 300, read("x", 1L, 2L))
                .check();
        assertOnly(r, AnomalyType.TIMESTAMP_ORDER);
        Anomaly a = only(r, AnomalyType.TIMESTAMP_ORDER);
        assertThat(invokeIndexes(r, a)).containsExactly(0L, 1L);
        assertThat(a.explanation()).endsWith("but the commit timestamps do not increase: 200 then 100");
    }

    @Test
    void anInfoTransactionWithATimestampThatSomeReadSawCountsAsCommittedAtIt() {
        // T0's outcome is unknown, but T2 saw its append: it committed, at 100, so the stale read at 150 must see it.
        CheckResult r = new Histories()
                .invoke(1, STRONG, append("x", 1)).infoCommitted(1, 100)
                .ro(2, STRONG, 200, read("x", 1L))
                .ro(3, STALE, 150, read("x"))
                .check();
        assertOnly(r, AnomalyType.TIMESTAMP_MISSED_WRITE);
        Anomaly a = only(r, AnomalyType.TIMESTAMP_MISSED_WRITE);
        assertThat(invokeIndexes(r, a)).containsExactly(4L, 0L);
        assertThat(a.explanation()).contains("T0 (commit ts 100, invoked at time 10, outcome unknown)");
        // ... and a read below its timestamp must not see it.
        CheckResult future = new Histories()
                .invoke(1, STRONG, append("x", 1)).infoCommitted(1, 100)
                .ro(2, STALE, 50, read("x", 1L))
                .check();
        assertOnly(future, AnomalyType.TIMESTAMP_FUTURE_READ);
    }

    @Test
    void anInfoTransactionNoReadSawMayNotHaveCommitted() {
        CheckResult r = new Histories()
                .invoke(1, STRONG, append("x", 1)).infoCommitted(1, 100)
                .ro(2, STRONG, 200, read("x"))
                .ro(3, STALE, 150, read("x"))
                .check();
        assertValid(r);
    }

    @Test
    void anInfoTransactionSeenOnAnotherKeyCommittedAllItsAppends() {
        // T0 appended to x and y; a read saw its y, so its x committed at 100 too, and the read at 200 misses it.
        CheckResult r = new Histories()
                .invoke(1, STRONG, append("x", 1), append("y", 1)).infoCommitted(1, 100)
                .invoke(2, STRONG, read("x")).invoke(3, STRONG, read("y"))
                .okRead(2, 200, read("x")).okRead(3, 200, read("y", 1L))
                .check();
        assertOnly(r, AnomalyType.TIMESTAMP_MISSED_WRITE);
        assertThat(invokeIndexes(r, only(r, AnomalyType.TIMESTAMP_MISSED_WRITE))).containsExactly(2L, 0L);
    }

    @Test
    void historiesWithoutTimestampsCheckAsBefore() {
        // The lost update of docs/history-format.md: the report the doc shows.
        CheckResult r = Histories.check("""
                {"index":0,"process":1,"type":"invoke","f":"txn","value":[["append","x",1]],"time":1000}
                {"index":1,"process":2,"type":"invoke","f":"txn","value":[["r","x",null],["append","x",2]],"time":1100}
                {"index":2,"process":1,"type":"ok","f":"txn","value":[["append","x",1]],"time":2000}
                {"index":3,"process":2,"type":"ok","f":"txn","value":[["r","x",[]],["append","x",2]],"time":2100}
                {"index":4,"process":3,"type":"invoke","f":"txn","value":[["r","x",null]],"time":3000}
                {"index":5,"process":3,"type":"ok","f":"txn","value":[["r","x",[1,2]]],"time":3100}
                {"index":6,"process":1,"type":"invoke","f":"txn","value":[["append","y",1]],"time":4000}
                {"index":7,"process":1,"type":"info","f":"txn","value":[["append","y",1]],"time":9000}
                """);
        assertOnly(r, AnomalyType.G_SINGLE);
        assertThat(r.stats().timestamped()).isZero();
        assertThat(r.stats().edges()).containsEntry(EdgeType.WW, 1L).containsEntry(EdgeType.RW, 1L)
                .containsEntry(EdgeType.REALTIME, 2L);
        assertThat(Report.text(r, 5)).contains("8 ops, 4 transactions (3 ok, 0 fail, 1 info), 2 keys;");
        // Without a read mode, real time binds every read: one that misses an earlier commit is a stale read.
        CheckResult stale = Histories.check("""
                {"index":0,"process":1,"type":"invoke","f":"txn","value":[["append","x",1]],"time":1000}
                {"index":1,"process":1,"type":"ok","f":"txn","value":[["append","x",1]],"time":2000}
                {"index":2,"process":2,"type":"invoke","f":"txn","value":[["r","x",null]],"time":3000}
                {"index":3,"process":2,"type":"ok","f":"txn","value":[["r","x",[]]],"time":3100}
                """);
        assertOnly(stale, AnomalyType.G_SINGLE_REALTIME);
    }
}
