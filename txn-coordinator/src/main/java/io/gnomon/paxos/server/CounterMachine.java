package io.gnomon.paxos.server;

import io.gnomon.paxos.runtime.InMemoryMachine;

import java.nio.ByteBuffer;

/**
 * The smallest state machine: counts the commands applied and the bytes they carried; any command is valid.
 * Used where only the log matters (the replication benchmark). The result of each command is its slot.
 */
public final class CounterMachine extends InMemoryMachine {
    private long commands;
    private long bytes;

    @Override
    public String validate(byte[] command) {
        return null;
    }

    @Override
    protected byte[] applyCommand(long slot, byte[] command) {
        commands++;
        bytes += command.length;
        return ByteBuffer.allocate(8).putLong(slot).array();
    }

    /** Any query: (commands, bytes) as two big-endian longs. */
    @Override
    public byte[] query(byte[] query) {
        return counts(commands, bytes);
    }

    /** The query answer (and the stored form in {@link StoredCounterMachine}): two big-endian longs. */
    static byte[] counts(long commands, long bytes) {
        return ByteBuffer.allocate(16).putLong(commands).putLong(bytes).array();
    }

    @Override
    protected byte[] encodeState() {
        return query(new byte[0]);
    }

    @Override
    protected void decodeState(byte[] state) {
        if (state.length == 0) {
            commands = 0;
            bytes = 0;
            return;
        }
        ByteBuffer b = ByteBuffer.wrap(state);
        commands = b.getLong();
        bytes = b.getLong();
    }
}
