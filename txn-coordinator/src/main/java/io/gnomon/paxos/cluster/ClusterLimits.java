package io.gnomon.paxos.cluster;

/**
 * Bounds on a cluster file, so that a broken generator is refused before it exhausts memory.
 *
 * @param maxProcesses the most processes one file may name
 * @param maxGroups    the most groups one file may name
 * @param maxFileBytes the largest file read (100,000 groups on one line each take about 8 MiB)
 * @param maxKeyBytes  the longest range boundary, in bytes after decoding
 */
public record ClusterLimits(int maxProcesses, int maxGroups, int maxFileBytes, int maxKeyBytes) {
    /** 1,000 processes, 100,000 groups, 32 MiB, 4 KiB keys. */
    public static final ClusterLimits DEFAULT = new ClusterLimits(1_000, 100_000, 32 << 20, 4096);

    public ClusterLimits {
        if (maxProcesses < 1 || maxGroups < 1 || maxFileBytes < 1 || maxKeyBytes < 1) {
            throw new IllegalArgumentException("every cluster limit must be >= 1: " + maxProcesses + ", "
                    + maxGroups + ", " + maxFileBytes + ", " + maxKeyBytes);
        }
    }
}
