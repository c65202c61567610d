package io.gnomon.spanner.history;

/** A history that cannot be read: names the line (1-based) and what is wrong with it. */
public final class HistoryFormatException extends Exception {
    private final long lineNumber;
    private final String reason;

    public HistoryFormatException(long lineNumber, String reason) {
        super("line " + lineNumber + ": " + reason);
        this.lineNumber = lineNumber;
        this.reason = reason;
    }

    /** The 1-based line that could not be read. */
    public long lineNumber() {
        return lineNumber;
    }

    /** What is wrong with that line, without the line number. */
    public String reason() {
        return reason;
    }
}
