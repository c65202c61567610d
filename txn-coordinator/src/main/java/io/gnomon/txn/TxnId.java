package io.gnomon.txn;

/**
 * One attempt of a transaction. {@code priorityEpochNanos} is TrueTime's earliest when the client first began
 * the transaction and is kept across retries ({@code attempt} counts them), so a retried transaction keeps its
 * age and, under wound-wait, eventually wins. Ordered oldest first: priority, then client, then attempt.
 *
 * @param priorityEpochNanos the transaction's age: earliest epoch nanos of its first begin, {@code >= 0}
 * @param clientId           the client that runs it (unique per client process and session)
 * @param attempt            0 for the first attempt, then 1, 2, ... for each retry
 */
public record TxnId(long priorityEpochNanos, long clientId, int attempt) implements Comparable<TxnId> {
    public TxnId {
        if (priorityEpochNanos < 0) {
            throw new IllegalArgumentException("priorityEpochNanos must be >= 0, was " + priorityEpochNanos);
        }
        if (attempt < 0) {
            throw new IllegalArgumentException("attempt must be >= 0, was " + attempt);
        }
    }

    /** Wound-wait's question: whether this transaction may wound {@code other} (it is older). */
    public boolean olderThan(TxnId other) {
        return compareTo(other) < 0;
    }

    /** The next attempt of the same transaction, with the same age. */
    public TxnId retry() {
        return new TxnId(priorityEpochNanos, clientId, attempt + 1);
    }

    @Override
    public int compareTo(TxnId o) {
        int c = Long.compare(priorityEpochNanos, o.priorityEpochNanos);
        if (c == 0) {
            c = Long.compare(clientId, o.clientId);
        }
        return c != 0 ? c : Integer.compare(attempt, o.attempt);
    }

    @Override
    public String toString() {
        return "txn(" + priorityEpochNanos + "/" + clientId + "#" + attempt + ")";
    }
}
