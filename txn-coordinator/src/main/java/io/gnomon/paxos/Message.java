package io.gnomon.paxos;

import java.util.List;

/**
 * The messages of Sequence Paxos (lecture notes arXiv 2008.13456, section 5; names as in OmniPaxos), plus
 * InstallSnapshot for catch-up below the compacted prefix and a pre-vote before an election (Ongaro's thesis,
 * section 9.6, as etcd raft's PreVote). Every message names its configuration; lease
 * fields are TrueTime epoch nanoseconds ({@link Long#MIN_VALUE}: none).
 */
public sealed interface Message {
    int from();

    int to();

    long configId();

    /**
     * Would-be candidate to all, before it Prepares: would you promise {@code ballot} now? Changes nothing at the
     * receiver (no promise, no lease grant), so a replica that cannot hear the answers cannot hold the group up.
     * Names the configuration's members, as a Prepare does, so members that have not entered it can answer.
     */
    record PreVote(int from, int to, long configId, List<Integer> members, long configStartIndex, Ballot ballot)
            implements Message {
        public PreVote {
            members = List.copyOf(members);
        }
    }

    /**
     * The answer to a {@link PreVote}: {@code granted} if the sender would promise {@code ballot} now and has
     * not heard from a leader within its election timeout; {@code promised} is the sender's promised ballot.
     */
    record PreVoteReply(int from, int to, long configId, Ballot ballot, boolean granted, Ballot promised)
            implements Message {
    }

    /** Leader to all: promise me ballot {@code ballot}; my log is (acceptedRound, logEnd, decidedIndex). */
    record Prepare(int from, int to, long configId, List<Integer> members, long configStartIndex, Ballot ballot,
                   Ballot acceptedRound, long logEnd, long decidedIndex, long leaseEndRequestedEpochNanos)
            implements Message {
        public Prepare {
            members = List.copyOf(members);
        }
    }

    /**
     * Follower to leader: promised; here is the part of my log the leader may lack ({@code suffix} starting at
     * {@code suffixStart}, after {@code snapshot} when the follower compacted below that start).
     */
    record Promise(int from, int to, long configId, Ballot ballot, Ballot acceptedRound, long logEnd,
                   long decidedIndex, long suffixStart, List<Entry> suffix, Snapshot snapshot,
                   long leaseEndGrantedEpochNanos) implements Message {
        public Promise {
            suffix = List.copyOf(suffix);
        }
    }

    /** Leader to follower after Prepare: truncate at {@code syncIndex} (or install snapshot) and append. */
    record AcceptSync(int from, int to, long configId, Ballot ballot, long syncIndex, List<Entry> suffix,
                      Snapshot snapshot, long decidedIndex, long leaseEndRequestedEpochNanos) implements Message {
        public AcceptSync {
            suffix = List.copyOf(suffix);
        }
    }

    /** Leader to follower: entries for slots from {@code firstSlot}, pipelined and batched. */
    record Accept(int from, int to, long configId, Ballot ballot, long firstSlot, List<Entry> entries,
                  long decidedIndex, long leaseEndRequestedEpochNanos) implements Message {
        public Accept {
            entries = List.copyOf(entries);
        }
    }

    /**
     * Leader to follower: slots below {@code decidedIndex} are decided; also the heartbeat and lease renewal. It
     * carries the latest timestamp promise the sender knows ({@link TimestampPromise}: no entry after
     * {@code promiseAfterIndex} has a timestamp at or below {@code promisedBelowTs}), both -1 when it knows none.
     */
    record Decide(int from, int to, long configId, Ballot ballot, long decidedIndex,
                  long leaseEndRequestedEpochNanos, long promiseAfterIndex, long promisedBelowTs) implements Message {
        public Decide {
            // index -1 with a timestamp: the promise covers the whole log (a leader whose log is still empty)
            if (promiseAfterIndex < -1 || (promisedBelowTs < 0 && (promiseAfterIndex != -1 || promisedBelowTs != -1))) {
                throw new IllegalArgumentException("a timestamp promise needs index >= -1 and ts >= 0, or both -1"
                        + " (none); was index " + promiseAfterIndex + ", ts " + promisedBelowTs);
            }
        }

        /** A Decide without a timestamp promise. */
        public Decide(int from, int to, long configId, Ballot ballot, long decidedIndex, long leaseEndRequestedEpochNanos) {
            this(from, to, configId, ballot, decidedIndex, leaseEndRequestedEpochNanos, -1, -1);
        }

        /** The promise it carries, {@link TimestampPromise#NONE} if none. */
        public TimestampPromise promise() {
            return promisedBelowTs < 0 ? TimestampPromise.NONE : new TimestampPromise(promiseAfterIndex, promisedBelowTs);
        }
    }

    /** Follower to leader: my log up to {@code logEnd} is accepted in {@code ballot}; lease granted until. */
    record Accepted(int from, int to, long configId, Ballot ballot, long logEnd, long leaseEndGrantedEpochNanos)
            implements Message {
    }

    /**
     * Anyone to a sender with a stale ballot or configuration: I promised {@code promised} in {@code configId}.
     * With the leader's own ballot, from a follower that restarted and lost its place in it: Prepare me again.
     */
    record Nack(int from, int to, long configId, Ballot promised) implements Message {
    }

    /** Leader to a follower whose next needed slot was compacted away. */
    record InstallSnapshot(int from, int to, long configId, Ballot ballot, Snapshot snapshot, long decidedIndex,
                           long leaseEndRequestedEpochNanos) implements Message {
    }

    /**
     * Host to host, never given to a core: a replica whose state machine lacks a snapshot's state asks a peer for
     * chunk {@code seq} of stream {@code streamId} (a new stream at {@code seq == 0}) of a snapshot ending at
     * {@code endAtLeast} or later (docs/paxos.md, "State machines and snapshots").
     */
    record SnapshotRequest(int from, int to, long configId, long streamId, long seq, long endAtLeast)
            implements Message {
    }

    /**
     * Host to host, never given to a core: chunk {@code seq} of stream {@code streamId}, a snapshot of the sender's
     * state machine ending at {@code endIndex}; {@code last} after the final chunk.
     */
    record SnapshotChunk(int from, int to, long configId, long streamId, long seq, long endIndex, byte[] data,
                         boolean last) implements Message {
        public SnapshotChunk {
            if (data == null) {
                throw new IllegalArgumentException("data must not be null");
            }
        }
    }

    /** Whether {@code m} is a host-to-host snapshot transfer message, which a core never receives. */
    static boolean forHost(Message m) {
        return m instanceof SnapshotRequest || m instanceof SnapshotChunk;
    }
}
