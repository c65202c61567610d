package io.gnomon.txn;

import java.util.List;

/**
 * What {@link TwoPhaseCommit} puts in its group's Paxos log (bytes: {@link TxnRecordCodec}). Every replica applies
 * the decided records in log order; for one transaction the <b>first</b> outcome record in a group's log is the
 * outcome there, and a later one is ignored, so every replica of a group agrees whatever leaders proposed.
 */
public sealed interface TxnRecord {
    TxnId txn();

    /** A participant prepared: its writes are locked and will commit at a timestamp {@code >= prepareTs}. */
    record Prepare(TxnId txn, long prepareTimestampEpochNanos, long coordinatorGroup, List<Write> writes)
            implements TxnRecord {
        public Prepare {
            nonNegative("prepareTimestampEpochNanos", prepareTimestampEpochNanos);
            writes = List.copyOf(writes);
        }
    }

    /** The coordinator's decision to commit at {@code commitTs}, with its own writes and who must be told. */
    record CommitRecord(TxnId txn, long commitTimestampEpochNanos, List<Long> participantGroups, List<Write> writes)
            implements TxnRecord {
        public CommitRecord {
            nonNegative("commitTimestampEpochNanos", commitTimestampEpochNanos);
            participantGroups = List.copyOf(participantGroups);
            writes = List.copyOf(writes);
        }
    }

    /** The coordinator's decision to abort, why, and whether the client may retry. */
    record AbortRecord(TxnId txn, List<Long> participantGroups, String reason, boolean retryable)
            implements TxnRecord {
        public AbortRecord {
            participantGroups = List.copyOf(participantGroups);
            if (reason == null) {
                throw new IllegalArgumentException("abort reason must not be null");
            }
        }
    }

    /** A participant learned the outcome: committed at {@code commitTs}, or aborted ({@code commitTs == -1}). */
    record Outcome(TxnId txn, boolean committed, long commitTimestampEpochNanos) implements TxnRecord {
        public Outcome {
            if (committed) {
                nonNegative("commitTimestampEpochNanos", commitTimestampEpochNanos);
            } else if (commitTimestampEpochNanos != -1) {
                throw new IllegalArgumentException("an aborted outcome has commitTimestampEpochNanos -1, was "
                        + commitTimestampEpochNanos);
            }
        }

        public static Outcome committedAt(TxnId txn, long commitTimestampEpochNanos) {
            return new Outcome(txn, true, commitTimestampEpochNanos);
        }

        public static Outcome aborted(TxnId txn) {
            return new Outcome(txn, false, -1);
        }
    }

    /** A one-group transaction, committed without two-phase commit. */
    record Commit(TxnId txn, long commitTimestampEpochNanos, List<Write> writes) implements TxnRecord {
        public Commit {
            nonNegative("commitTimestampEpochNanos", commitTimestampEpochNanos);
            writes = List.copyOf(writes);
        }
    }

    /**
     * The leader's decision that its group forgets the outcomes of {@code txns} (docs/transactions.md, "Forgetting
     * outcomes"): each is older than the outcome retention ({@code TxnLimits.outcomeRetentionNanos}) and, for a
     * coordinator's commit, acknowledged by every participant. Every replica drops them at this record's index, from
     * its core and its store alike. {@link #txn()} is the first of them (the record is about all).
     */
    record Forget(List<TxnId> txns) implements TxnRecord {
        public Forget {
            txns = List.copyOf(txns);
            if (txns.isEmpty()) {
                throw new IllegalArgumentException("a Forget names at least one transaction");
            }
        }

        @Override
        public TxnId txn() {
            return txns.get(0);
        }
    }

    private static void nonNegative(String name, long value) {
        if (value < 0) {
            throw new IllegalArgumentException(name + " must be >= 0, was " + value);
        }
    }
}
