package io.gnomon.txn;

/** What the client is told about its commit. */
public sealed interface CommitOutcome {
    /** Committed: every write is at {@code commitTs}, and {@code TT.after(commitTs)} held before this was sent. */
    record Committed(long commitTimestampEpochNanos) implements CommitOutcome {
    }

    /** Nothing was committed. A retryable abort is retried with {@link TxnId#retry()}, never the same attempt. */
    record Aborted(String reason, boolean retryable) implements CommitOutcome {
    }

    /** This leader lost leadership after proposing the outcome record: it may or may not commit; ask again. */
    record Unknown(String reason) implements CommitOutcome {
    }
}
