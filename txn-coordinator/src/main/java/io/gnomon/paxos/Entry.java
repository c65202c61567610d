package io.gnomon.paxos;

import java.util.List;

/**
 * One log entry: an application value, or a configuration entry that ends the current configuration (the
 * Sequence Paxos "StopSign", lecture notes arXiv 2008.13456 section 6) and names the next one.
 *
 * @param value          the application's bytes; empty for a configuration entry
 * @param nextConfigId   for a configuration entry, the id of the configuration it starts; 0 for a value
 * @param nextMembers    for a configuration entry, the members of the next configuration; empty for a value
 */
public record Entry(byte[] value, long nextConfigId, List<Integer> nextMembers) {
    private static final byte[] NONE = new byte[0];

    public Entry {
        if (value == null || nextMembers == null) {
            throw new IllegalArgumentException("value and nextMembers must not be null");
        }
        nextMembers = List.copyOf(nextMembers);
    }

    public static Entry value(byte[] value) {
        return new Entry(value, 0, List.of());
    }

    public static Entry config(long nextConfigId, List<Integer> nextMembers) {
        return new Entry(NONE, nextConfigId, nextMembers);
    }

    public boolean isConfig() {
        return nextConfigId != 0;
    }

    /** Bytes this entry counts against batch and message limits. */
    public int sizeBytes() {
        return value.length + 4 * nextMembers.size();
    }
}
