package io.gnomon.txn;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Interaction tests of safe time (Spanner 4.1.3): each feeds a replica's applied log entries, promises and prepares
 * in order and checks {@code safeTime()} after every step (STYLE.md rule 11).
 */
class SafeTimeTest {
    static final TxnId T1 = new TxnId(100, 1, 0);
    static final TxnId T2 = new TxnId(200, 2, 0);

    SafeTime s = new SafeTime(8);

    @Test
    void nothingAppliedServesNothing() {
        assertThat(s.safeTime()).isEqualTo(SafeTime.NONE);
        assertThat(s.readyAt(0)).isFalse();
        assertThat(s.appliedIndex()).isEqualTo(-1);
    }

    @Test
    void appliedWritesRaiseSafeTimeToTheirTimestamp() {
        s.applied(1, 100);
        assertThat(s.safeTime()).isEqualTo(100);
        assertThat(s.readyAt(100)).isTrue();
        assertThat(s.readyAt(101)).isFalse();
        s.applied(2);                                     // a no-op: no timestamp of its own
        assertThat(s.safeTime()).isEqualTo(100);
        s.applied(3, 100);                                // the same timestamp again is not going back
        s.applied(7, 250);                                // indexes may skip (a snapshot, entries not reported)
        assertThat(s.safeTime()).isEqualTo(250);
        assertThat(s.appliedIndex()).isEqualTo(7);
    }

    @Test
    void aPromiseCountsOnceAppliedThroughItsIndex() {
        s.applied(1, 100);
        s.promise(3, 500);                                // heard before entries 2 and 3 are applied
        assertThat(s.safeTime()).isEqualTo(100);
        s.applied(2, 200);
        assertThat(s.safeTime()).isEqualTo(200);
        s.applied(3);
        assertThat(s.safeTime()).isEqualTo(500);
        assertThat(s.readyAt(500)).isTrue();
        s.applied(4, 501);
        assertThat(s.safeTime()).isEqualTo(501);
        s.promise(4, 900);                                // for an index already applied: counts at once
        assertThat(s.safeTime()).isEqualTo(900);
        s.promise(4, 800);                                // lower than one that counts: nothing
        assertThat(s.safeTime()).isEqualTo(900);
    }

    @Test
    void aLaterPromiseSayingNoMoreIsDroppedAndAnEarlierOneSayingMoreReplacesLaterOnes() {
        s.promise(5, 300);
        s.promise(6, 200);                                // dominated by (5, 300)
        s.promise(8, 250);                                // dominated too
        s.promise(9, 700);
        s.promise(7, 400);
        s.applied(5);
        assertThat(s.safeTime()).isEqualTo(300);
        s.applied(6);
        assertThat(s.safeTime()).isEqualTo(300);
        s.applied(7);
        assertThat(s.safeTime()).isEqualTo(400);
        s.promise(8, 900);                                // says more than (9, 700) and counts sooner
        s.applied(8);
        assertThat(s.safeTime()).isEqualTo(900);
        s.applied(9);
        assertThat(s.safeTime()).isEqualTo(900);
    }

    @Test
    void aPreparedTransactionHoldsSafeTimeBelowItsPrepareTimestampUntilResolved() {
        s.applied(1, 100);
        s.prepared(T1, 300);                              // entry 2: T1's prepare at 300
        s.applied(2, 300);
        assertThat(s.safeTime()).isEqualTo(299);
        assertThat(s.readyAt(299)).isTrue();
        assertThat(s.readyAt(300)).isFalse();
        s.promise(3, 1_000);
        s.applied(3);
        assertThat(s.safeTime()).isEqualTo(299);          // min(tPaxosSafe 1000, tTmSafe 299)
        s.prepared(T2, 1_200);
        s.applied(4, 1_200);
        assertThat(s.safeTime()).isEqualTo(299);
        assertThat(s.preparedCount()).isEqualTo(2);
        s.applied(5);                                     // T1 commits at 400: below what is applied
        s.resolved(T1);
        assertThat(s.safeTime()).isEqualTo(1_199);
        s.resolved(T2);                                   // aborted
        assertThat(s.safeTime()).isEqualTo(1_200);
        assertThat(s.preparedCount()).isZero();
    }

    @Test
    void twoTransactionsPreparedAtOneTimestampHoldItUntilBothAreResolved() {
        s.prepared(T1, 300);
        s.prepared(T2, 300);
        s.applied(1, 300);
        s.applied(2, 300);
        assertThat(s.safeTime()).isEqualTo(299);
        s.resolved(T2);
        assertThat(s.safeTime()).isEqualTo(299);
        s.resolved(T1);
        assertThat(s.safeTime()).isEqualTo(300);
    }

    @Test
    void aParticipantsCommitBelowALaterWriteIsAppliedWithoutTimestamp() {
        s.prepared(T1, 300);
        s.applied(1, 300);
        s.applied(2, 450);                                // a one-group commit at 450 after the prepare
        assertThat(s.safeTime()).isEqualTo(299);
        s.applied(3);                                     // T1 commits at 400 (the coordinator's s), below 450
        s.resolved(T1);
        assertThat(s.safeTime()).isEqualTo(450);
    }

    @Test
    void indexesOnlyGrow() {
        s.applied(3, 100);
        assertThatThrownBy(() -> s.applied(3, 200)).isInstanceOf(IllegalStateException.class)
                .hasMessage("entry 3 applied after entry 3: log indexes only grow");
        assertThatThrownBy(() -> s.applied(2)).isInstanceOf(IllegalStateException.class)
                .hasMessage("entry 2 applied after entry 3: log indexes only grow");
        assertThat(s.appliedIndex()).isEqualTo(3);
    }

    @Test
    void anAppliedTimestampBelowAnEarlierOneFailsLoudly() {
        s.applied(1, 200);
        assertThatThrownBy(() -> s.applied(2, 199)).isInstanceOf(IllegalStateException.class)
                .hasMessage("entry 2 at ts 199 is below ts 200 applied at an earlier index: the log's timestamps "
                        + "must not go back");
    }

    @Test
    void aWriteAtOrBelowAnEarlierPromiseFailsLoudly() {
        s.promise(1, 500);
        s.applied(1);
        assertThatThrownBy(() -> s.applied(2, 500)).isInstanceOf(IllegalStateException.class)
                .hasMessage("entry 2 at ts 500 breaks the leader's promise that nothing after an earlier index is at "
                        + "or below 500");
        s.promise(3, 600);
        assertThatThrownBy(() -> s.applied(4, 550)).isInstanceOf(IllegalStateException.class)
                .hasMessageEndingWith("at or below 600");  // (3, 600) binds entry 4 though entry 3 is not applied
        assertThat(s.appliedIndex()).isEqualTo(1);        // a refused input changes nothing
        assertThat(s.safeTime()).isEqualTo(500);
        s.applied(5, 601);
        assertThat(s.safeTime()).isEqualTo(601);
    }

    @Test
    void aPrepareAtOrBelowAPromiseFailsLoudly() {
        s.promise(1, 500);
        s.applied(1);
        assertThatThrownBy(() -> s.prepared(T1, 500)).isInstanceOf(IllegalStateException.class)
                .hasMessage(T1 + " prepared at 500, at or below the promise 500: reads up to it may have been served");
        assertThat(s.preparedCount()).isZero();
    }

    @Test
    void preparedTwiceOrResolvedUnpreparedFailsLoudly() {
        s.prepared(T1, 10);
        assertThatThrownBy(() -> s.prepared(T1, 20)).isInstanceOf(IllegalStateException.class)
                .hasMessage(T1 + " is already prepared here at 10");
        assertThatThrownBy(() -> s.resolved(T2)).isInstanceOf(IllegalStateException.class)
                .hasMessage(T2 + " is not prepared here; only a prepared transaction is resolved");
    }

    @Test
    void negativeInputsAreRefused() {
        assertThatThrownBy(() -> s.applied(1, -1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> s.promise(1, -1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> s.promise(-2, 5)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> s.prepared(T1, -1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new SafeTime(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("maxPendingPromises must be > 0, was 0");
    }

    @Test
    void maxPendingPromisesAtTheLimitAndOnePast() {
        s = new SafeTime(2);
        s.promise(5, 100);
        s.promise(6, 200);                                // two pending: at the limit, both kept
        s.applied(5);
        assertThat(s.safeTime()).isEqualTo(100);

        s = new SafeTime(2);
        s.promise(5, 100);
        s.promise(6, 200);
        s.promise(7, 300);                                // one past: the oldest, (5, 100), is dropped
        s.applied(5);
        assertThat(s.safeTime()).isEqualTo(SafeTime.NONE);   // lower than it could be, never wrong
        s.applied(6);
        assertThat(s.safeTime()).isEqualTo(200);
        s.applied(7);
        assertThat(s.safeTime()).isEqualTo(300);
    }
}
