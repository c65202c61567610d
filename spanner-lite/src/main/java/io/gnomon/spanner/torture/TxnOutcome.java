package io.gnomon.spanner.torture;

import io.gnomon.spanner.history.MicroOp;

import java.util.List;

/**
 * What a backend answered for one transaction.
 *
 * @param type      {@code OK} (committed; {@code completed} carries the reads), {@code FAIL} (certainly no
 *                  effect) or {@code INFO} (may or may not have taken effect)
 * @param completed the micro-ops with read results filled in when {@code OK}; otherwise the invocation's
 * @param detail    why, for {@code FAIL} and {@code INFO}
 */
record TxnOutcome(Type type, List<MicroOp> completed, String detail) {
    enum Type { OK, FAIL, INFO }

    static TxnOutcome ok(List<MicroOp> completed) {
        return new TxnOutcome(Type.OK, List.copyOf(completed), "");
    }

    static TxnOutcome fail(List<MicroOp> txn, String why) {
        return new TxnOutcome(Type.FAIL, txn, why);
    }

    static TxnOutcome info(List<MicroOp> txn, String why) {
        return new TxnOutcome(Type.INFO, txn, why);
    }
}
