package io.gnomon.paxos.runtime;

/**
 * The application a replica applies decided commands to. Every replica applies the same commands in the same
 * order, so {@link #apply} must be deterministic: the same state and command give the same state and result
 * on every replica, whatever the host. {@link #apply}, {@link #query}, {@link #snapshot} and {@link #restore}
 * are called from the thread driving its group (one at a time); {@link #validate} runs on gRPC's transport threads,
 * concurrently with them, so it must look at the command alone, never at the state.
 */
public interface StateMachine {
    /**
     * Checks a command before it is proposed; a command this refuses is never decided. Returns {@code null}
     * when the command is well formed, otherwise the reason (sent back to the client).
     */
    String validate(byte[] command);

    /** Applies one decided command (slot order, each once per process lifetime) and returns its result. */
    byte[] apply(long slot, byte[] command);

    /** Answers a read-only query from the current state; throws IllegalArgumentException if malformed. */
    byte[] query(byte[] query);

    /** The whole state, for a snapshot. */
    byte[] snapshot();

    /** Replaces the state with a snapshot's. */
    void restore(byte[] snapshot);
}
