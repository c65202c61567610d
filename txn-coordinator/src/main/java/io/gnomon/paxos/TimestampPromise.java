package io.gnomon.paxos;

/**
 * A leader's promise about the timestamps of its group's log (Spanner's MinNextTS, OSDI 2012 section 4.1.3): no entry
 * after log index {@code afterIndex} carries a timestamp at or below {@code belowTs}. The core does not read
 * timestamps (they are inside the values); the transaction host that assigns them makes the promise
 * ({@link PaxosReplica#offerTimestampPromise}) and the core carries it to the followers on its heartbeats, so that an
 * idle group's followers can serve reads at recent timestamps without a log entry or a round trip
 * (docs/transactions.md, "SafeTime").
 *
 * <p>A promise stays true after its leader is gone: a later leader's timestamps lie inside its own lease, which
 * begins after the promising leader's lease ended, and a promise is always below the end of the promising lease.
 *
 * @param afterIndex the log index the promise starts after, {@code >= -1} ({@code -1}: the whole log, as a leader
 *                   whose log is still empty promises; {@link #NONE} has it too)
 * @param belowTs    no entry after {@code afterIndex} has a timestamp {@code <= belowTs}, epoch nanoseconds
 */
public record TimestampPromise(long afterIndex, long belowTs) {
    /** No promise known. */
    public static final TimestampPromise NONE = new TimestampPromise(-1, -1);

    public boolean isNone() {
        return belowTs < 0;
    }
}
