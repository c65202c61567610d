package io.gnomon.paxos.sim;

import io.gnomon.paxos.runtime.InMemoryMachine;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The simulator's own workload checks the log alone: its application accepts every command and keeps only a
 * digest of the commands it applied (a hash of each of the last {@link #KEPT}), so that its snapshots are a few
 * hundred bytes and, with the simulator's chunks of 1-64 bytes, move host to host in many chunks.
 */
final class NoStateMachine extends InMemoryMachine {
    static final int KEPT = 32;
    private static final byte[] NOTHING = new byte[0];

    private final long[] hashes = new long[KEPT];
    private long applied;

    @Override
    public String validate(byte[] command) {
        return null;
    }

    @Override
    protected byte[] applyCommand(long slot, byte[] command) {
        hashes[(int) (applied++ % KEPT)] = slot * 31 + Arrays.hashCode(command);
        return NOTHING;
    }

    @Override
    public byte[] query(byte[] query) {
        return NOTHING;
    }

    @Override
    protected byte[] encodeState() {
        ByteBuffer b = ByteBuffer.allocate(8 + 8 * KEPT).putLong(applied);
        for (long h : hashes) {
            b.putLong(h);
        }
        return b.array();
    }

    @Override
    protected void decodeState(byte[] state) {
        if (state.length == 0) {
            applied = 0;
            Arrays.fill(hashes, 0);
            return;
        }
        if (state.length != 8 + 8 * KEPT) {
            throw new IllegalArgumentException("a digest state is " + (8 + 8 * KEPT) + " bytes, not " + state.length);
        }
        ByteBuffer b = ByteBuffer.wrap(state);
        applied = b.getLong();
        for (int i = 0; i < KEPT; i++) {
            hashes[i] = b.getLong();
        }
    }
}
