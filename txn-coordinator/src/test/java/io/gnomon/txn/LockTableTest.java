package io.gnomon.txn;

import io.gnomon.paxos.cluster.Key;
import io.gnomon.paxos.cluster.KeyRange;
import io.gnomon.txn.LockTable.Grant;
import io.gnomon.txn.LockTable.Lock;
import io.gnomon.txn.LockTable.Refusal;
import io.gnomon.txn.LockTable.Refused;
import io.gnomon.txn.LockTable.Result;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.gnomon.txn.LockTable.GRANTED;
import static io.gnomon.txn.LockTable.WAITING;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Interaction tests of the lock table: each feeds a sequence of requests and checks the exact results, and the
 * invariants after every step (STYLE.md rule 11). T1 is the oldest transaction, T5 the youngest.
 */
class LockTableTest {
    static final TxnId T1 = new TxnId(100, 1, 0);
    static final TxnId T2 = new TxnId(200, 2, 0);
    static final TxnId T3 = new TxnId(300, 3, 0);
    static final TxnId T4 = new TxnId(400, 4, 0);
    static final TxnId T5 = new TxnId(500, 5, 0);

    LockTable t = new LockTable(TxnLimits.DEFAULTS);

    static Key k(String text) {
        return Key.ofUtf8(text);
    }

    /** {@code [start, end)}; an empty end is unbounded. */
    static KeyRange r(String start, String end) {
        return new KeyRange(k(start), k(end));
    }

    static Lock s(String key) {
        return Lock.shared(k(key));
    }

    static Lock x(String key) {
        return Lock.exclusive(k(key));
    }

    static Result granted(Grant... others) {
        return new Result(GRANTED, List.of(), List.of(others));
    }

    static Result waiting(TxnId... wounded) {
        return new Result(WAITING, List.of(wounded), List.of());
    }

    Result acquire(TxnId txn, Lock lock) {
        Result r = t.acquire(txn, lock);
        t.checkInvariants();
        return r;
    }

    List<Grant> release(TxnId txn) {
        List<Grant> g = t.release(txn);
        t.checkInvariants();
        assertThat(t.txns()).doesNotContain(txn);
        return g;
    }

    boolean markPrepared(TxnId txn) {
        boolean p = t.markPrepared(txn);
        t.checkInvariants();
        return p;
    }

    static TxnLimits limits(int maxLocksPerTxn, int maxLockedTxns, int maxWaitingRequests) {
        TxnLimits d = TxnLimits.DEFAULTS;
        return new TxnLimits(maxLocksPerTxn, maxLockedTxns, maxWaitingRequests, d.maxPreparedTxns(),
                d.maxEpsilonNanos(), d.idleTxnTimeoutNanos(), d.prepareTimeoutNanos(), d.inquireIntervalNanos());
    }

    @Test
    void sharedLocksAreSharedAndAnExclusiveOneWaitsForAllOfThem() {
        assertThat(acquire(T1, s("a"))).isEqualTo(granted());
        assertThat(acquire(T2, s("a"))).isEqualTo(granted());
        assertThat(acquire(T3, x("a"))).isEqualTo(waiting());
        assertThat(acquire(T3, x("b"))).isEqualTo(granted());
        assertThat(release(T1)).isEmpty();
        assertThat(release(T2)).containsExactly(new Grant(T3, x("a")));
        assertThat(t.held(T3)).containsExactly(x("b"), x("a"));
        assertThat(release(T3)).isEmpty();
        assertThat(t.txns()).isEmpty();
    }

    @Test
    void aYoungerRequesterWaitsForAnOlderHolder() {
        assertThat(acquire(T1, x("a"))).isEqualTo(granted());
        assertThat(acquire(T2, s("a"))).isEqualTo(waiting());
        assertThat(t.isWounded(T1)).isFalse();
        assertThat(release(T1)).containsExactly(new Grant(T2, s("a")));
    }

    @Test
    void anOlderRequesterWoundsAYoungerHolderAndWaitsForItsRelease() {
        assertThat(acquire(T2, x("a"))).isEqualTo(granted());
        assertThat(acquire(T1, s("a"))).isEqualTo(waiting(T2));
        assertThat(t.isWounded(T2)).isTrue();
        assertThat(t.held(T2)).containsExactly(x("a"));   // its host aborts it; until then it holds its locks
        Result again = acquire(T2, s("b"));
        assertThat(again.outcome()).isInstanceOf(Refused.class);
        assertThat(((Refused) again.outcome()).refusal()).isEqualTo(Refusal.WOUNDED);
        assertThat(again.outcome().toString()).contains("wounded", T2.toString());
        assertThat(release(T2)).containsExactly(new Grant(T1, s("a")));
        assertThat(t.isWounded(T2)).isFalse();   // forgotten once released
    }

    @Test
    void aWoundedHolderIsReportedOnceAndItsWaitersAreGrantedOldestFirstOnItsRelease() {
        assertThat(acquire(T3, x("a"))).isEqualTo(granted());
        assertThat(acquire(T2, s("a"))).isEqualTo(waiting(T3));
        assertThat(acquire(T1, s("a"))).isEqualTo(waiting());   // T3 is wounded already
        assertThat(acquire(T4, s("a"))).isEqualTo(waiting());
        assertThat(release(T3)).containsExactly(new Grant(T1, s("a")), new Grant(T2, s("a")), new Grant(T4, s("a")));
    }

    @Test
    void aPreparedHolderIsNotWoundedAndTakesNoMoreLocks() {
        assertThat(acquire(T2, x("a"))).isEqualTo(granted());
        assertThat(markPrepared(T2)).isTrue();
        assertThat(acquire(T1, x("a"))).isEqualTo(waiting());
        assertThat(t.isWounded(T2)).isFalse();
        assertThat(((Refused) acquire(T2, x("b")).outcome()).refusal()).isEqualTo(Refusal.PREPARED);
        assertThat(markPrepared(T2)).isTrue();   // again: no change
        assertThat(release(T2)).containsExactly(new Grant(T1, x("a")));
    }

    @Test
    void aTransactionWoundedBeforeItPreparesMustAbort() {
        assertThat(acquire(T2, x("a"))).isEqualTo(granted());
        assertThat(acquire(T1, x("a"))).isEqualTo(waiting(T2));
        assertThat(markPrepared(T2)).isFalse();
        assertThat(t.isPrepared(T2)).isFalse();
    }

    @Test
    void preparingNeedsLocksAndNoWaitingRequest() {
        assertThatThrownBy(() -> t.markPrepared(T1)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("holds no locks");
        assertThat(acquire(T1, x("a"))).isEqualTo(granted());
        assertThat(acquire(T2, x("b"))).isEqualTo(granted());
        assertThat(acquire(T2, x("a"))).isEqualTo(waiting());
        assertThatThrownBy(() -> t.markPrepared(T2)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("still waits for");
    }

    @Test
    void aWoundedTransactionsWaitingRequestsAreDroppedAtOnce() {
        assertThat(acquire(T1, x("a"))).isEqualTo(granted());
        assertThat(acquire(T3, x("b"))).isEqualTo(granted());
        assertThat(acquire(T3, x("a"))).isEqualTo(waiting());          // behind the older T1
        assertThat(acquire(T2, x("b"))).isEqualTo(waiting(T3));        // wounds T3: its wait for "a" is gone
        assertThat(t.waiting(T3)).isEmpty();
        assertThat(t.waitingRequests()).isEqualTo(1);
        assertThat(release(T1)).isEmpty();                              // nobody waits for "a" any more
        assertThat(release(T3)).containsExactly(new Grant(T2, x("b")));
    }

    @Test
    void droppingAWoundedTransactionsWaitingRequestGrantsThoseItHeldBack() {
        assertThat(acquire(T5, s("a"))).isEqualTo(granted());
        assertThat(markPrepared(T5)).isTrue();
        assertThat(acquire(T3, x("b"))).isEqualTo(granted());
        assertThat(acquire(T3, x("a"))).isEqualTo(waiting());           // behind prepared T5
        assertThat(acquire(T4, s("a"))).isEqualTo(waiting());           // shares with T5, but older T3 is ahead
        assertThat(acquire(T2, x("b")))                                   // wounds T3; T4 no longer held back
                .isEqualTo(new Result(WAITING, List.of(T3), List.of(new Grant(T4, s("a")))));
        assertThat(t.held(T4)).containsExactly(s("a"));
    }

    @Test
    void anOlderWaiterIsNotOvertakenByYoungerCompatibleRequests() {
        assertThat(acquire(T3, s("a"))).isEqualTo(granted());
        assertThat(markPrepared(T3)).isTrue();
        assertThat(acquire(T1, x("a"))).isEqualTo(waiting());           // prepared T3: wait
        assertThat(acquire(T2, s("a"))).isEqualTo(waiting());           // shares with T3 but not ahead of T1
        assertThat(acquire(T4, s("a"))).isEqualTo(waiting());
        assertThat(release(T3)).containsExactly(new Grant(T1, x("a")));
        assertThat(release(T1)).containsExactly(new Grant(T2, s("a")), new Grant(T4, s("a")));
    }

    @Test
    void anOlderWaiterArrivingBehindAYoungerOneGoesAheadOfIt() {
        assertThat(acquire(T4, x("a"))).isEqualTo(granted());
        assertThat(markPrepared(T4)).isTrue();
        assertThat(acquire(T3, x("a"))).isEqualTo(waiting());
        assertThat(acquire(T1, x("a"))).isEqualTo(waiting());
        assertThat(release(T4)).containsExactly(new Grant(T1, x("a")));
        assertThat(t.waiting(T3)).containsExactly(x("a"));
        assertThat(release(T1)).containsExactly(new Grant(T3, x("a")));
    }

    @Test
    void reentrantRequestsAreGrantedAtOnceAndALoneHolderUpgrades() {
        assertThat(acquire(T1, s("a"))).isEqualTo(granted());
        assertThat(acquire(T1, s("a"))).isEqualTo(granted());
        assertThat(acquire(T1, x("a"))).isEqualTo(granted());
        assertThat(acquire(T1, s("a"))).isEqualTo(granted());           // exclusive covers shared
        assertThat(t.held(T1)).containsExactly(x("a"));
        assertThat(acquire(T2, x("a"))).isEqualTo(waiting());
        assertThat(acquire(T2, x("a"))).isEqualTo(waiting());           // asked again: nothing changes
        assertThat(acquire(T2, s("a"))).isEqualTo(waiting());
        assertThat(t.waitingRequests()).isEqualTo(1);
        assertThat(t.waiting(T2)).containsExactly(x("a"));
    }

    @Test
    void aWaitingSharedRequestAskedAgainAsExclusiveBecomesExclusiveAndWounds() {
        assertThat(acquire(T1, x("a"))).isEqualTo(granted());
        assertThat(acquire(T4, s("b"))).isEqualTo(granted());
        assertThat(acquire(T3, s("b"))).isEqualTo(granted());
        assertThat(acquire(T3, s("a"))).isEqualTo(waiting());
        assertThat(acquire(T3, x("a"))).isEqualTo(waiting());
        assertThat(t.waiting(T3)).containsExactly(x("a"));
        assertThat(acquire(T2, x("b"))).isEqualTo(waiting(T3, T4));
        assertThat(t.waiting(T3)).isEmpty();
    }

    @Test
    void twoSharedHoldersUpgradingResolveByWoundWait() {
        assertThat(acquire(T1, s("a"))).isEqualTo(granted());
        assertThat(acquire(T2, s("a"))).isEqualTo(granted());
        assertThat(acquire(T2, x("a"))).isEqualTo(waiting());           // behind the older T1's shared lock
        assertThat(acquire(T1, x("a"))).isEqualTo(waiting(T2));         // wounds T2, whose upgrade request goes
        assertThat(t.waiting(T2)).isEmpty();
        assertThat(release(T2)).containsExactly(new Grant(T1, x("a")));
        assertThat(t.held(T1)).containsExactly(x("a"));
    }

    @Test
    void twoSharedHoldersUpgradingOlderFirst() {
        assertThat(acquire(T1, s("a"))).isEqualTo(granted());
        assertThat(acquire(T2, s("a"))).isEqualTo(granted());
        assertThat(acquire(T1, x("a"))).isEqualTo(waiting(T2));
        assertThat(((Refused) acquire(T2, x("a")).outcome()).refusal()).isEqualTo(Refusal.WOUNDED);
        assertThat(release(T2)).containsExactly(new Grant(T1, x("a")));
    }

    @Test
    void anUpgradeWaitsForAPreparedYoungerSharer() {
        assertThat(acquire(T1, s("a"))).isEqualTo(granted());
        assertThat(acquire(T2, s("a"))).isEqualTo(granted());
        assertThat(markPrepared(T2)).isTrue();
        assertThat(acquire(T1, x("a"))).isEqualTo(waiting());
        assertThat(t.held(T1)).containsExactly(s("a"));                  // it keeps its shared lock meanwhile
        assertThat(release(T2)).containsExactly(new Grant(T1, x("a")));
        assertThat(t.held(T1)).containsExactly(x("a"));
    }

    @Test
    void rangesConflictWithThePointsAndRangesTheyCover() {
        assertThat(acquire(T1, Lock.shared(r("b", "d")))).isEqualTo(granted());
        assertThat(acquire(T2, x("a"))).isEqualTo(granted());            // before the range
        assertThat(acquire(T2, x("d"))).isEqualTo(granted());            // the end is exclusive
        assertThat(acquire(T2, x("c"))).isEqualTo(waiting());            // inside
        assertThat(acquire(T2, s("b"))).isEqualTo(granted());            // shared with shared
        assertThat(acquire(T3, Lock.exclusive(r("c", "")))).isEqualTo(waiting());   // unbounded: meets T1 and "d"
        assertThat(acquire(T4, Lock.shared(r("", "b")))).isEqualTo(waiting());      // meets T2's "a"
        assertThat(acquire(T4, Lock.shared(r("bb", "bc")))).isEqualTo(granted());   // inside T1's shared range
        assertThat(release(T1)).containsExactly(new Grant(T2, x("c")));
        assertThat(acquire(T1.retry(), Lock.exclusive(r("a", "b")))).isEqualTo(waiting(T2));   // same age: older
        assertThat(release(T2)).containsExactly(new Grant(T1.retry(), Lock.exclusive(r("a", "b"))),
                new Grant(T3, Lock.exclusive(r("c", ""))));                     // T4's range meets T1's now
        assertThat(release(T1.retry())).containsExactly(new Grant(T4, Lock.shared(r("", "b"))));
    }

    @Test
    void aWoundingRangeRequestWoundsEveryYoungerHolderInside() {
        assertThat(acquire(T2, s("b"))).isEqualTo(granted());
        assertThat(acquire(T3, x("c"))).isEqualTo(granted());
        assertThat(acquire(T4, Lock.shared(r("c", "e")))).isEqualTo(waiting());
        assertThat(acquire(T5, x("e"))).isEqualTo(granted());
        assertThat(acquire(T1, Lock.exclusive(r("b", "e")))).isEqualTo(waiting(T2, T3));
        assertThat(release(T3)).isEmpty();                               // T2 still holds "b"
        assertThat(release(T2)).containsExactly(new Grant(T1, Lock.exclusive(r("b", "e"))));
        assertThat(release(T1)).containsExactly(new Grant(T4, Lock.shared(r("c", "e"))));
    }

    @Test
    void aDeleteRangesExclusiveRangeAndSharedLocksConflictBothWaysUnderWoundWait() {
        // a younger range delete waits for an older reader inside its range, and a younger reader of a range meeting
        // it waits behind it (an older waiter is not overtaken)
        assertThat(acquire(T1, s("c"))).isEqualTo(granted());
        assertThat(acquire(T3, Lock.exclusive(r("b", "e")))).isEqualTo(waiting());
        assertThat(acquire(T4, Lock.shared(r("d", "f")))).isEqualTo(waiting());
        assertThat(release(T1)).containsExactly(new Grant(T3, Lock.exclusive(r("b", "e"))));
        // an older reader of a key inside the held range wounds it; its release grants both readers, oldest first
        assertThat(acquire(T2, s("d"))).isEqualTo(waiting(T3));
        assertThat(release(T3)).containsExactly(new Grant(T2, s("d")), new Grant(T4, Lock.shared(r("d", "f"))));
        // an older range delete wounds every younger reader it meets, key or range, and waits for them
        assertThat(acquire(T1, Lock.exclusive(r("e", "")))).isEqualTo(waiting(T4));
        assertThat(acquire(T5, s("z"))).isEqualTo(waiting());             // younger: waits behind T1, unbounded
        assertThat(release(T4)).containsExactly(new Grant(T1, Lock.exclusive(r("e", ""))));
        assertThat(release(T1)).containsExactly(new Grant(T5, s("z")));
    }

    @Test
    void keysCompareAsUnsignedBytes() {
        Key high = Key.of(new byte[] {(byte) 0x7f, (byte) 0xff});
        KeyRange below80 = new KeyRange(Key.of(new byte[] {0x7f}), Key.of(new byte[] {(byte) 0x80}));
        assertThat(acquire(T1, Lock.shared(below80))).isEqualTo(granted());
        assertThat(acquire(T2, Lock.exclusive(high))).isEqualTo(waiting());
        assertThat(acquire(T2, Lock.exclusive(Key.of(new byte[] {(byte) 0x80})))).isEqualTo(granted());
    }

    @Test
    void releasingAnUnknownTransactionReleasesNothing() {
        assertThat(release(T1)).isEmpty();
        assertThat(acquire(T2, x("a"))).isEqualTo(granted());
        assertThat(release(T1)).isEmpty();
        assertThat(t.held(T2)).containsExactly(x("a"));
    }

    @Test
    void releasingAWaitingTransactionDropsItsRequests() {
        assertThat(acquire(T1, x("a"))).isEqualTo(granted());
        assertThat(acquire(T2, x("a"))).isEqualTo(waiting());
        assertThat(acquire(T3, s("a"))).isEqualTo(waiting());
        assertThat(release(T2)).isEmpty();                               // T1 still holds "a"
        assertThat(release(T1)).containsExactly(new Grant(T3, s("a")));
    }

    @Test
    void maxLocksPerTxnAtTheLimitAndOnePast() {
        t = new LockTable(limits(2, 100, 100));
        assertThat(acquire(T2, s("a"))).isEqualTo(granted());
        assertThat(acquire(T1, x("b"))).isEqualTo(granted());
        assertThat(acquire(T2, x("b"))).isEqualTo(waiting());            // two: at the limit (a held, b waited)
        Result past = acquire(T2, s("c"));
        assertThat(past.outcome()).isEqualTo(new Refused(Refusal.MAX_LOCKS_PER_TXN,
                T2 + " already holds or waits for maxLocksPerTxn=2 locks in this group; cannot add S \"c\""));
        assertThat(past.wounded()).isEmpty();
        assertThat(t.held(T2)).containsExactly(s("a"));
        assertThat(t.waiting(T2)).containsExactly(x("b"));
        assertThat(acquire(T2, x("a"))).isEqualTo(granted());            // an upgrade adds no lock
        assertThat(acquire(T2, s("b"))).isEqualTo(waiting());            // nor does asking again
        assertThat(acquire(T1, s("c"))).isEqualTo(granted());            // the limit is per transaction
    }

    @Test
    void maxLockedTxnsAtTheLimitAndOnePast() {
        t = new LockTable(limits(100, 2, 100));
        assertThat(acquire(T2, x("a"))).isEqualTo(granted());
        assertThat(acquire(T3, x("b"))).isEqualTo(granted());            // two: at the limit
        Result past = acquire(T1, x("a"));                               // would wound T2, but is refused
        assertThat(past.outcome()).isEqualTo(new Refused(Refusal.MAX_LOCKED_TXNS, "this group already has "
                + "maxLockedTxns=2 transactions holding or waiting for locks; " + T1 + " must retry later"));
        assertThat(past.wounded()).isEmpty();
        assertThat(t.isWounded(T2)).isFalse();
        assertThat(t.txns()).containsExactly(T2, T3);
        assertThat(acquire(T2, x("c"))).isEqualTo(granted());            // those in the table go on
        assertThat(release(T3)).isEmpty();
        assertThat(acquire(T1, x("b"))).isEqualTo(granted());
    }

    @Test
    void maxWaitingRequestsAtTheLimitAndOnePast() {
        t = new LockTable(limits(100, 100, 1));
        assertThat(acquire(T3, x("a"))).isEqualTo(granted());
        assertThat(acquire(T4, x("a"))).isEqualTo(waiting());            // one: at the limit
        Result past = acquire(T2, x("a"));                               // would wound T3 and wait
        assertThat(past.outcome()).isEqualTo(new Refused(Refusal.MAX_WAITING_REQUESTS, "this group already has "
                + "maxWaitingRequests=1 lock requests waiting; " + T2 + " cannot wait for X \"a\""));
        assertThat(past.wounded()).isEmpty();
        assertThat(t.isWounded(T3)).isFalse();
        assertThat(t.txns()).containsExactly(T3, T4);
        assertThat(acquire(T4, x("a"))).isEqualTo(waiting());            // asking again is no new wait
        assertThat(acquire(T2, x("b"))).isEqualTo(granted());            // a grant needs no room in the queue
    }
}
