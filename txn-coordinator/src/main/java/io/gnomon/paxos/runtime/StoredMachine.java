package io.gnomon.paxos.runtime;

/**
 * The application a replica applies decided commands to, with its state possibly larger than memory: the target
 * shape of {@link StateMachine} (issue 19), declared under its own name until
 * the runtime moves onto it; at that merge it is renamed {@code StateMachine}. The state is streamed in chunks
 * ({@link #openSnapshot}, {@link #beginInstall}), never one {@code byte[]}; the machine keeps its own applied index
 * and makes it durable together with the data ({@link #flush}), so the host replays only the log's tail.
 *
 * <p>Every replica applies the same commands in the same order, so {@link #apply} must be deterministic.
 * {@link #validate} runs on transport threads, concurrently with the rest, so it must look at the command alone.
 */
public interface StoredMachine extends AutoCloseable {
    /** Returns {@code null} when the command is well formed, otherwise the reason; looks at the command alone, any thread. */
    String validate(byte[] command);

    /** Applies decided slot `slot` (strictly increasing). command == null: a slot with no command for the
     *  machine (configuration entry, untagged value): only the applied index moves. Returns the result. */
    byte[] apply(long slot, byte[] command);

    /** Answers a read-only query from the current state; throws IllegalArgumentException if malformed. */
    byte[] query(byte[] query);

    /** The next slot to apply: every slot below it is applied (0 when empty). */
    long appliedIndex();

    /** Makes everything applied so far durable and returns the applied index that is now durable; the
     *  group's Paxos log may be compacted below it. After a crash the machine reopens at (at least) the last
     *  index flush() returned, never at a state that is not a prefix of the decided log. */
    long flush();

    /** A consistent read of the whole state at appliedIndex() at the time of the call, as chunks. */
    SnapshotSource openSnapshot(int maxChunkBytes);

    /** Starts replacing the whole state with a snapshot taken at endIndex (must be > appliedIndex()). */
    SnapshotSink beginInstall(long endIndex);

    @Override
    default void close() {
    }

    /** One snapshot being read: chunks in order, opaque to the host. */
    interface SnapshotSource extends AutoCloseable {
        /** The state is the decided prefix [0, endIndex). */
        long endIndex();

        /** The next chunk; null after the last chunk; one chunk in memory at a time. */
        byte[] nextChunk();

        @Override
        void close();
    }

    /** One snapshot being installed. */
    interface SnapshotSink {
        /** Takes the next chunk (in order). */
        void add(byte[] chunk);

        /** After the last chunk: the machine now holds the snapshot's state, durably (flushed), and
         *  appliedIndex() == endIndex. A crash before finish() returns reopens the machine either with its
         *  old state or as "install incomplete" (the host must then fetch a snapshot again). */
        void finish();
    }
}
