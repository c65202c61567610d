package io.gnomon.txn;

/** What one group's leader sends another's in two-phase commit (Spanner 4.2.1). */
public sealed interface TxnMessage {
    TxnId txn();

    /** Participant to coordinator, once its Prepare record is decided. */
    record Prepared(TxnId txn, long fromGroup, long prepareTimestampEpochNanos) implements TxnMessage {
    }

    /** Participant to coordinator: it could not prepare (wounded, a limit, its clock); it logged nothing. */
    record PrepareRefused(TxnId txn, long fromGroup, String reason) implements TxnMessage {
    }

    /** Coordinator to participant, once its CommitRecord is decided and commit-wait is over. */
    record Commit(TxnId txn, long commitTimestampEpochNanos) implements TxnMessage {
    }

    /** Coordinator to participant, once its AbortRecord is decided. */
    record Abort(TxnId txn, String reason) implements TxnMessage {
    }

    /**
     * A prepared participant in doubt asks the coordinator. It carries the prepare timestamp, so a coordinator
     * still collecting prepares counts it as the {@link Prepared} that may have been lost.
     */
    record Inquire(TxnId txn, long fromGroup, long prepareTimestampEpochNanos) implements TxnMessage {
    }

    /** The coordinator's answer to {@link Inquire}, from its log (or DECIDING while it has not decided). */
    record InquireReply(TxnId txn, Decision decision, long commitTimestampEpochNanos) implements TxnMessage {
        public enum Decision { COMMITTED, ABORTED, DECIDING }
    }

    /**
     * Participant to coordinator: its committed Outcome record for {@code txn} is decided (or was, and has since been
     * forgotten, which happens only after). Sent when the Outcome is decided and again for every Commit that arrives
     * after it; the coordinator's leader collects them in memory and forgets a committed outcome only once every
     * participant acknowledged (docs/transactions.md, "Forgetting outcomes"). An abort needs none.
     */
    record OutcomeLogged(TxnId txn, long fromGroup) implements TxnMessage {
    }
}
