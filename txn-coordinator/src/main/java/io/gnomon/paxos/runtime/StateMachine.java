package io.gnomon.paxos.runtime;

/**
 * The application a replica applies decided commands to, modelled on a storage engine: it keeps its own applied
 * index, makes what it applied durable when asked ({@link #flush}), and reads or replaces its whole state as a
 * stream of chunks ({@link #openSnapshot}, {@link #beginInstall}), never as one {@code byte[]}.
 *
 * <p>Every replica applies the same commands in the same order, so {@link #apply} must be deterministic: the same
 * state and command give the same state and result on every replica, whatever the host. Every method but
 * {@link #validate} is called from the thread driving its group (one at a time); {@link #validate} runs on the
 * transport's threads, concurrently with them, so it must look at the command alone, never at the state.
 *
 * <p>The host's invariant (docs/paxos.md, "State machines and snapshots"): the group's durable log and the
 * machine's durable state together always cover the decided prefix without a gap. The host compacts the log only
 * below what {@link #flush} returned, and on a restart it applies only the decided slots at and above
 * {@link #appliedIndex}.
 *
 * <p>Chunk bytes are opaque to the host: each machine defines its own chunk format.
 */
public interface StateMachine extends AutoCloseable {
    /**
     * Checks a command before it is proposed; a command this refuses is never decided. Returns {@code null}
     * when the command is well formed, otherwise the reason (sent back to the client).
     */
    String validate(byte[] command);

    /**
     * Applies decided slot {@code slot} (strictly increasing, from {@link #appliedIndex}) and returns its result.
     * {@code command == null}: a slot with no command for the machine (a configuration entry, an untagged value):
     * only the applied index moves. A command the machine cannot apply throws IllegalArgumentException after the
     * applied index has moved past the slot (every replica skips it alike).
     */
    byte[] apply(long slot, byte[] command);

    /** Answers a read-only query from the current state; throws IllegalArgumentException if malformed. */
    byte[] query(byte[] query);

    /** The next slot to apply: every slot below it is applied (0 when empty). */
    long appliedIndex();

    /**
     * Makes everything applied so far durable and returns the applied index that is now durable; the group's
     * Paxos log may be compacted below it. After a crash the machine reopens at (at least) the last index
     * {@code flush()} returned, never at a state that is not a prefix of the decided log.
     */
    long flush();

    /** A consistent read of the whole state at {@link #appliedIndex} at the time of the call, as chunks. */
    SnapshotSource openSnapshot(int maxChunkBytes);

    /** Starts replacing the whole state with a snapshot taken at {@code endIndex} (must be > {@link #appliedIndex}). */
    SnapshotSink beginInstall(long endIndex);

    @Override
    default void close() {
    }

    /** A snapshot being read, one chunk at a time. */
    interface SnapshotSource extends AutoCloseable {
        /** The state is the decided prefix {@code [0, endIndex)}. */
        long endIndex();

        /** The next chunk (at most the {@code maxChunkBytes} asked for), or null after the last one. */
        byte[] nextChunk();

        @Override
        void close();
    }

    /** A snapshot being installed, one chunk at a time. */
    interface SnapshotSink {
        /** The next chunk, in the order the source gave them. */
        void add(byte[] chunk);

        /**
         * After the last chunk: the machine now holds the snapshot's state, durably (flushed), and
         * {@link #appliedIndex} == endIndex. A crash before {@code finish()} returns reopens the machine either with
         * its old state or as "install incomplete" (the host must then fetch a snapshot again).
         */
        void finish();
    }
}
