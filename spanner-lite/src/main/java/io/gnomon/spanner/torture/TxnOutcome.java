package io.gnomon.spanner.torture;

import io.gnomon.spanner.history.MicroOp;

import java.util.List;

/**
 * What a backend answered for one transaction.
 *
 * @param type               {@code OK} (committed; {@code completed} carries the reads), {@code FAIL} (certainly no
 *                           effect) or {@code INFO} (may or may not have taken effect)
 * @param completed          the micro-ops with read results filled in when {@code OK}; otherwise the invocation's
 * @param detail             why, for {@code FAIL} and {@code INFO}
 * @param commitTsEpochNanos an {@code OK} read-write transaction's commit timestamp, when the backend has one
 * @param readTsEpochNanos   an {@code OK} read-only transaction's read timestamp, when the backend has one
 */
record TxnOutcome(Type type, List<MicroOp> completed, String detail, Long commitTsEpochNanos, Long readTsEpochNanos) {
    enum Type { OK, FAIL, INFO }

    static TxnOutcome ok(List<MicroOp> completed) {
        return new TxnOutcome(Type.OK, List.copyOf(completed), "", null, null);
    }

    /** A read-write transaction committed at {@code commitTsEpochNanos}. */
    static TxnOutcome okCommitted(List<MicroOp> completed, long commitTsEpochNanos) {
        return new TxnOutcome(Type.OK, List.copyOf(completed), "", commitTsEpochNanos, null);
    }

    /** A read-only transaction read at {@code readTsEpochNanos}. */
    static TxnOutcome okRead(List<MicroOp> completed, long readTsEpochNanos) {
        return new TxnOutcome(Type.OK, List.copyOf(completed), "", null, readTsEpochNanos);
    }

    static TxnOutcome fail(List<MicroOp> txn, String why) {
        return new TxnOutcome(Type.FAIL, txn, why, null, null);
    }

    static TxnOutcome info(List<MicroOp> txn, String why) {
        return new TxnOutcome(Type.INFO, txn, why, null, null);
    }
}
