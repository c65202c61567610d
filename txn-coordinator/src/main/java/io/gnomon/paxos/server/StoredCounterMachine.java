package io.gnomon.paxos.server;

import io.gnomon.paxos.store.GroupStore;
import io.gnomon.paxos.store.Mutation;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;

/**
 * {@link CounterMachine} on the versioned store: the same results (each command's slot) and query answer
 * (commands, bytes). One user key, {@code 'c'}, holds the two counts as 16 bytes; each apply writes a new version of
 * it at timestamp = slot, and {@link #flush()} first drops the versions the newest one supersedes (a GC of one
 * key, its cost the versions written since the last flush), so the group stays a few bytes on disk. The counts are
 * also kept in two fields, read back from the group at open and after an install.
 */
public final class StoredCounterMachine extends StoredGroupMachine {
    static final byte KIND = 'c';
    private final byte[] countsKey = key();
    private long commands;
    private long bytes;
    private boolean loaded;

    StoredCounterMachine(StoredMachines owner, GroupStore group) {
        super(owner, group, KIND);
    }

    /** Any command is valid. */
    @Override
    public String validate(byte[] command) {
        return null;
    }

    @Override
    protected byte[] applyCommand(long slot, byte[] command) {
        load();
        long c = commands + 1;
        long b = bytes + command.length;
        write(slot, List.of(Mutation.put(countsKey, slot, CounterMachine.counts(c, b))));
        commands = c;
        bytes = b;
        return ByteBuffer.allocate(8).putLong(slot).array();
    }

    /** Any query: (commands, bytes) as two big-endian longs. */
    @Override
    protected byte[] answer(byte[] query) {
        load();
        return CounterMachine.counts(commands, bytes);
    }

    @Override
    protected void beforeFlush() {
        long lastSlot = group.appliedIndex();
        if (lastSlot > group.gcWatermark()) {
            group.collectGarbage(lastSlot); // reads are at the newest version only: the older ones are dead weight
        }
    }

    @Override
    protected void afterInstall() {
        loaded = false;
    }

    private void load() {
        if (loaded) {
            return;
        }
        Optional<byte[]> v = group.get(countsKey, LATEST);
        ByteBuffer b = ByteBuffer.wrap(v.orElse(new byte[16]));
        commands = b.getLong();
        bytes = b.getLong();
        loaded = true;
    }
}
