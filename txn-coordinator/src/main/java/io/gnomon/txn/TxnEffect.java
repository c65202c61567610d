package io.gnomon.txn;

import java.util.List;

/**
 * What {@link TwoPhaseCommit} asks its host to do, in order (STYLE rule 15). Only the leader gets any but
 * {@link Apply}; {@link Apply} comes on every replica as records are decided.
 */
public sealed interface TxnEffect {
    /** Propose this record through the group's Paxos log; the host feeds it back once decided. */
    record LogRecord(TxnRecord record) implements TxnEffect {
    }

    /** Send to the leader of {@code toGroup}; may be lost, duplicated or reordered. */
    record Send(long toGroup, TxnMessage message) implements TxnEffect {
    }

    /** Take exclusive locks on every key of {@code writes}; answer with locksHeld, wounded or locksRefused. */
    record AcquireLocks(TxnId txn, List<Write> writes) implements TxnEffect {
    }

    /** The transaction's locks may no longer be wounded: its outcome is up to its coordinator now. */
    record MarkPrepared(TxnId txn) implements TxnEffect {
    }

    /** Call commitWaitDone once {@code TT.after(commitTs)} is true (while the log replicates). */
    record CommitWaitUntil(TxnId txn, long commitTimestampEpochNanos) implements TxnEffect {
    }

    /** Store every write at {@code commitTs} (versioned store), on every replica. */
    record Apply(TxnId txn, List<Write> writes, long commitTimestampEpochNanos) implements TxnEffect {
    }

    /** Release every lock of the transaction, held or waited for. */
    record ReleaseLocks(TxnId txn) implements TxnEffect {
    }

    /** Answer the client (if it still waits on this host). */
    record Reply(TxnId txn, CommitOutcome outcome) implements TxnEffect {
    }
}
