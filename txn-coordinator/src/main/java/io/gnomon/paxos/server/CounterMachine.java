package io.gnomon.paxos.server;

import io.gnomon.paxos.runtime.StateMachine;

import java.nio.ByteBuffer;

/**
 * The smallest state machine: counts the commands applied and the bytes they carried; any command is valid.
 * Used where only the log matters (the replication benchmark). The result of each command is its slot.
 */
public final class CounterMachine implements StateMachine {
    private long commands;
    private long bytes;

    @Override
    public String validate(byte[] command) {
        return null;
    }

    @Override
    public byte[] apply(long slot, byte[] command) {
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
    public byte[] snapshot() {
        return query(new byte[0]);
    }

    @Override
    public void restore(byte[] snapshot) {
        ByteBuffer b = ByteBuffer.wrap(snapshot);
        commands = b.getLong();
        bytes = b.getLong();
    }
}
