package io.gnomon.paxos.cluster;

/**
 * A cluster file that cannot be used, with a one-line message naming the file, the line and the rule it breaks,
 * e.g. {@code cluster.yaml line 14: group 4: replica 7 is not a process of this cluster (processes are 1, 2, 3)}.
 * The only exception {@link ClusterFile#parse} and {@link ClusterFile#load} throw.
 */
public final class ClusterFileException extends Exception {
    private static final long serialVersionUID = 1L;

    private final int line;

    ClusterFileException(String message, int line) {
        super(message);
        this.line = line;
    }

    /** The 1-based line the message names; 0 when the problem belongs to no line (the file is missing or too big). */
    public int line() {
        return line;
    }
}
