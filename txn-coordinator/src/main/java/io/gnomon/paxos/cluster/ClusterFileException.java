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
        super(oneLine(message));
        this.line = line;
    }

    /** Messages quote the file's values, which may hold line breaks or be huge: keep the message one short line. */
    static String oneLine(String message) {
        StringBuilder b = new StringBuilder(Math.min(message.length(), MAX_MESSAGE_CHARS + 8));
        int i = 0;
        for (; i < message.length() && b.length() < MAX_MESSAGE_CHARS; i++) {
            char c = message.charAt(i);
            switch (c) {
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (Character.isISOControl(c) || c == '\u2028' || c == '\u2029' || c == '\u0085') {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return i == message.length() ? b.toString() : b.append(" ...").toString();
    }

    static final int MAX_MESSAGE_CHARS = 1000;

    /** The 1-based line the message names; 0 when the problem belongs to no line (the file is missing or too big). */
    public int line() {
        return line;
    }
}
