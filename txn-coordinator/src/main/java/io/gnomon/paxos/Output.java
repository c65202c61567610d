package io.gnomon.paxos;

import java.util.List;
import java.util.Set;

/**
 * What one call into {@link PaxosReplica} asks the runtime to do, in this order: make {@link #toPersist()}
 * durable; then send {@link #messages()} (a message to the replica itself is a loopback and must also wait
 * for the writes; only a leader's Accept to another replica may leave before, see {@link #sendsBeforeSync}); install an {@link Effect.InstallSnapshot} first, then apply {@link #decided()} above it in slot order, then act on the other {@link #effects()}. Outputs are handled in
 * the order they were returned. {@link #diagnostics()} explain rejected input; they need no action.
 */
public record Output(List<PersistWrite> toPersist, List<Message> messages, List<Decided> decided,
                     List<Effect> effects, List<Diagnostic> diagnostics) {
    public static final Output EMPTY = new Output(List.of(), List.of(), List.of(), List.of(), List.of());

    public Output {
        toPersist = List.copyOf(toPersist);
        messages = List.copyOf(messages);
        decided = List.copyOf(decided);
        effects = List.copyOf(effects);
        diagnostics = List.copyOf(diagnostics);
    }

    /**
     * Whether {@code m} may be sent once its output's writes are written but before they are synced: a leader's
     * {@code Accept} to another replica, so the followers sync while the leader does. It is the proposer's
     * message, not an acceptor's vote: the leader's own vote (its loopback {@code Accepted}) still waits for the
     * sync, the ballot was promised durably before any {@code Prepare} of it left, and a replica that loses the
     * write in a crash restarts as a follower and leads again only in a higher ballot, so it never proposes a
     * second value in that ballot. Everything else ({@code Accepted}, {@code Promise}, {@code Decide},
     * loopbacks, ...) waits for the sync.
     */
    public static boolean sendsBeforeSync(Message m) {
        return m instanceof Message.Accept && m.to() != m.from();
    }

    /**
     * {@link #sendsBeforeSync(Message)}, and no message that places the same peer in the ballot or the log is held
     * for a sync ({@link #holdsBackAccepts}): the transport is FIFO per peer, and an {@code Accept} that overtook an
     * {@code AcceptSync}, {@code InstallSnapshot} or {@code Prepare} held for that peer would be dropped there (the
     * follower is not yet in the ballot, or sees a gap) and wait for a retransmission. Every host (the runtime's
     * driver and the simulator) asks this, with the peers of such held messages since its last sync.
     */
    public static boolean sendsBeforeSync(Message m, Set<Integer> peersWithHeldMessages) {
        return sendsBeforeSync(m) && !peersWithHeldMessages.contains(m.to());
    }

    /**
     * Whether a message held for a sync must not be overtaken by an early {@code Accept} to its peer: one the peer
     * needs before it can accept ({@code AcceptSync}, {@code InstallSnapshot}, {@code Prepare}). A held
     * {@code Decide} may be overtaken: it only carries the decided index, which every {@code Accept} carries too,
     * and a leader sends one to each follower in most turns, so holding Accepts behind it would cost every round
     * the leader's sync again.
     */
    public static boolean holdsBackAccepts(Message m) {
        return m instanceof Message.AcceptSync || m instanceof Message.InstallSnapshot || m instanceof Message.Prepare;
    }

    /** A decided entry, to apply in slot order. */
    public record Decided(long slot, Entry entry) {
    }

    /** Changes the runtime may act on. */
    public sealed interface Effect {
        /** This replica now leads {@code ballot} with a synchronized log (it may propose). */
        record BecameLeader(long configId, Ballot ballot) implements Effect {
        }

        /** This replica no longer leads. */
        record SteppedDown(long configId, Ballot ballot, String reason) implements Effect {
        }

        /** Replace the application state with the snapshot; decided entries after it follow. */
        record InstallSnapshot(Snapshot snapshot) implements Effect {
        }

        /** A configuration entry was decided (or learned) and is now in force. */
        record ConfigChanged(long configId, List<Integer> members, long configStartIndex) implements Effect {
        }
    }

    /**
     * Why an input was ignored or refused.
     *
     * @param valueIndex which value of a proposed batch this refuses, alone: {@code propose} took every other value
     *                   of the batch. {@link #WHOLE_INPUT} when it concerns the whole input: for {@code propose}, no
     *                   value of the batch was taken. A runtime tells each client its own outcome from this.
     */
    public record Diagnostic(Code code, String detail, int valueIndex) {
        /** The {@link #valueIndex} of a diagnostic about the whole input. */
        public static final int WHOLE_INPUT = -1;

        public Diagnostic {
            if (valueIndex < WHOLE_INPUT) {
                throw new IllegalArgumentException("valueIndex must be >= 0 or WHOLE_INPUT (-1), was " + valueIndex);
            }
        }

        /** A diagnostic about the whole input. */
        public Diagnostic(Code code, String detail) {
            this(code, detail, WHOLE_INPUT);
        }

        public enum Code {
            UNKNOWN_REPLICA, WRONG_DESTINATION, STALE_BALLOT, FUTURE_BALLOT, STALE_CONFIG, FUTURE_CONFIG,
            LEASE_WAIT, NOT_LEADER, VALUE_TOO_LARGE, BATCH_TOO_LARGE, BACKPRESSURE, RECONFIGURING,
            BAD_MEMBERSHIP_CHANGE, MESSAGE_TOO_LARGE, BAD_MESSAGE, BAD_SNAPSHOT, NOT_MEMBER, DUPLICATE, PRE_VOTE_REFUSED, REJOINING
        }
    }
}
