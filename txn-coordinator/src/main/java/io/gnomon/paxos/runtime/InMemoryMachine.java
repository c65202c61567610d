package io.gnomon.paxos.runtime;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;

/**
 * A {@link StateMachine} whose state lives in memory, modelled on a storage engine: {@link #flush} keeps a durable
 * copy (the encoded state and its applied index), and {@link #crash} goes back to it, as a process crash loses an
 * engine's unflushed writes. The simulator crashes each process's machines this way; a real server's process
 * loses the whole object, so there a restarted in-memory machine starts empty (the durable copy models a disk
 * only inside one JVM).
 *
 * <p>A snapshot is the encoded state cut into chunks: the source holds one encoding of the state (the in-memory
 * state's own copy, taken at {@link #openSnapshot} so the read is consistent while applies go on), the sink
 * gathers the chunks and decodes them at {@link SnapshotSink#finish}. Machines whose state does not fit in memory
 * implement {@link StateMachine} over a storage engine instead.
 */
public abstract class InMemoryMachine implements StateMachine {
    private static final byte[] NOTHING = new byte[0];

    private long appliedIndex;
    private byte[] durableState;
    private long durableIndex;

    /** Applies one decided command (never null) to the state and returns its result. */
    protected abstract byte[] applyCommand(long slot, byte[] command);

    /** The whole state as bytes; equal states give equal bytes. */
    protected abstract byte[] encodeState();

    /**
     * Replaces the state with {@code state}, an {@link #encodeState} of some machine of this class (empty: the
     * empty state). Throws IllegalArgumentException if the bytes are not such an encoding.
     */
    protected abstract void decodeState(byte[] state);

    @Override
    public final byte[] apply(long slot, byte[] command) {
        if (slot != appliedIndex) {
            throw new IllegalStateException("slot " + slot + " applied out of order: the next slot to apply is "
                    + appliedIndex);
        }
        appliedIndex = slot + 1;
        return command == null ? NOTHING : applyCommand(slot, command);
    }

    @Override
    public final long appliedIndex() {
        return appliedIndex;
    }

    @Override
    public final long flush() {
        if (durableState == null || durableIndex != appliedIndex) {
            durableState = encodeState();
            durableIndex = appliedIndex;
        }
        return durableIndex;
    }

    /** Loses what was applied since the last {@link #flush}: the state and applied index go back to it. */
    public final void crash() {
        decodeState(durableState == null ? NOTHING : durableState);
        appliedIndex = durableState == null ? 0 : durableIndex;
    }

    @Override
    public final SnapshotSource openSnapshot(int maxChunkBytes) {
        if (maxChunkBytes < 1) {
            throw new IllegalArgumentException("maxChunkBytes must be >= 1, was " + maxChunkBytes);
        }
        byte[] state = durableState != null && durableIndex == appliedIndex ? durableState : encodeState();
        long end = appliedIndex;
        return new SnapshotSource() {
            private int offset;
            private boolean sentOne;

            @Override
            public long endIndex() {
                return end;
            }

            @Override
            public byte[] nextChunk() {
                if (offset == state.length && sentOne) {
                    return null;
                }
                sentOne = true; // an empty state is one empty chunk, so that every snapshot has a chunk
                int n = Math.min(maxChunkBytes, state.length - offset);
                byte[] chunk = Arrays.copyOfRange(state, offset, offset + n);
                offset += n;
                return chunk;
            }

            @Override
            public void close() {
            }
        };
    }

    @Override
    public final SnapshotSink beginInstall(long endIndex) {
        if (endIndex <= appliedIndex) {
            throw new IllegalArgumentException("a snapshot ending at " + endIndex + " is not ahead of applied index "
                    + appliedIndex);
        }
        ByteArrayOutputStream gathered = new ByteArrayOutputStream();
        return new SnapshotSink() {
            @Override
            public void add(byte[] chunk) {
                gathered.writeBytes(chunk);
            }

            @Override
            public void finish() {
                byte[] state = gathered.toByteArray();
                decodeState(state);
                appliedIndex = endIndex;
                durableState = state;
                durableIndex = endIndex;
            }
        };
    }
}
