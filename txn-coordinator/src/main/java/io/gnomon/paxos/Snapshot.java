package io.gnomon.paxos;

import java.util.List;

/**
 * That the application's state covers slots {@code [0, lastIncludedSlot]}, with the configuration in force after
 * that slot so that a replica installing it knows its quorums. Metadata only: the state itself lives in the host's
 * state machine and travels host to host in chunks, outside the core (docs/paxos.md, "State machines and
 * snapshots"); a host hands the core a message carrying a snapshot only once its machine holds that prefix.
 *
 * @param lastIncludedSlot  the last slot the state includes; the log keeps slots above it
 * @param configId          the configuration in force for slot {@code lastIncludedSlot + 1}
 * @param members           its members
 * @param configStartIndex  the first slot of that configuration
 */
public record Snapshot(long lastIncludedSlot, long configId, List<Integer> members, long configStartIndex) {
    public Snapshot {
        if (lastIncludedSlot < 0) {
            throw new IllegalArgumentException("lastIncludedSlot must be >= 0, was " + lastIncludedSlot);
        }
        members = List.copyOf(members);
    }

    /** The first slot not in the snapshot. */
    public long endIndex() {
        return lastIncludedSlot + 1;
    }
}
