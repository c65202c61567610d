package io.gnomon.paxos.server;

import io.gnomon.paxos.store.GroupStore;
import io.gnomon.paxos.store.Mutation;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * {@link KeyValueMachine} on the versioned store: the same commands, results and query answers, with the values
 * on disk instead of in a map. A put of {@code key} at slot {@code s} writes the user key {@code 'k' | key} at
 * version timestamp {@code s}; a query reads the newest version. Older versions stay (as etcd keeps old
 * revisions until compaction) until a GC policy comes with commit timestamps (issue 20).
 *
 * <pre>{@code
 * try (StoredMachines machines = StoredMachines.open(dataDir)) {
 *     StoredKeyValueMachine m = machines.keyValue(7);
 *     m.apply(m.appliedIndex(), KeyValueMachine.put(key, value));   // result: the slot, 8 bytes
 *     m.query(key);                                                 // [1, value...]
 * }
 * }</pre>
 */
public final class StoredKeyValueMachine extends StoredGroupMachine {
    static final byte KIND = 'k';

    StoredKeyValueMachine(StoredMachines owner, GroupStore group) {
        super(owner, group, KIND);
    }

    /** As {@link KeyValueMachine#validate}, and the value within the store's {@code maxValueBytes}. */
    @Override
    public String validate(byte[] command) {
        String bad = KeyValueMachine.checkPut(command);
        if (bad != null) {
            return bad;
        }
        int keyBytes = ByteBuffer.wrap(command).getInt();
        int valueBytes = command.length - 4 - keyBytes;
        if (valueBytes > limits.maxValueBytes() || 1 + keyBytes > limits.maxKeyBytes()) {
            return "a put of a " + keyBytes + "-byte key and a " + valueBytes + "-byte value exceeds the store's limits"
                    + " (maxKeyBytes " + limits.maxKeyBytes() + " with a 1-byte tag, maxValueBytes " + limits.maxValueBytes() + ")";
        }
        return null;
    }

    @Override
    protected byte[] applyCommand(long slot, byte[] command) {
        String bad = validate(command);
        if (bad != null) {
            throw new IllegalArgumentException(bad);
        }
        int keyBytes = ByteBuffer.wrap(command).getInt();
        byte[] key = key(Arrays.copyOfRange(command, 4, 4 + keyBytes));
        write(slot, List.of(Mutation.put(key, slot, Arrays.copyOfRange(command, 4 + keyBytes, command.length))));
        return ByteBuffer.allocate(8).putLong(slot).array();
    }

    @Override
    protected byte[] answer(byte[] query) {
        KeyValueMachine.checkQuery(query);
        if (1 + query.length > limits.maxKeyBytes()) {
            return new byte[] {0}; // no put of so long a key passes validate
        }
        Optional<byte[]> v = group.get(key(query), LATEST);
        return KeyValueMachine.answer(v.orElse(null));
    }
}
