package io.gnomon.paxos;

import java.util.List;

/**
 * The application's state after applying slots {@code [0, lastIncludedSlot]}, with the configuration in force
 * after that slot so that a replica installing it knows its quorums.
 *
 * @param lastIncludedSlot  the last slot the state includes; the log keeps slots above it
 * @param state             the application's bytes
 * @param configId          the configuration in force for slot {@code lastIncludedSlot + 1}
 * @param members           its members
 * @param configStartIndex  the first slot of that configuration
 */
public record Snapshot(long lastIncludedSlot, byte[] state, long configId, List<Integer> members,
                       long configStartIndex) {
    public Snapshot {
        if (lastIncludedSlot < 0) {
            throw new IllegalArgumentException("lastIncludedSlot must be >= 0, was " + lastIncludedSlot);
        }
        if (state == null) {
            throw new IllegalArgumentException("state must not be null");
        }
        members = List.copyOf(members);
    }

    /** The first slot not in the snapshot. */
    public long endIndex() {
        return lastIncludedSlot + 1;
    }
}
