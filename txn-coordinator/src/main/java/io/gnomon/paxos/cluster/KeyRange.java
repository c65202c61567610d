package io.gnomon.paxos.cluster;

/**
 * The keys from {@code start} (inclusive) up to {@code end} (exclusive). An empty start is the beginning of the key
 * space; an empty end is its end, so {@code [EMPTY, EMPTY)} is every key.
 */
public record KeyRange(Key start, Key end) {
    /** Every key. */
    public static final KeyRange ALL = new KeyRange(Key.EMPTY, Key.EMPTY);

    public KeyRange {
        if (start == null || end == null) {
            throw new IllegalArgumentException("a range needs a start and an end (empty, not null, for the edges)");
        }
        if (!end.isEmpty() && start.compareTo(end) >= 0) {
            throw new IllegalArgumentException("range start " + start + " is not before its end " + end);
        }
    }

    /** Whether the range runs to the end of the key space. */
    public boolean isUnbounded() {
        return end.isEmpty();
    }

    public boolean contains(byte[] key) {
        return start.compareTo(key) <= 0 && (end.isEmpty() || end.compareTo(key) > 0);
    }

    /** {@code ["a", "k5")}, {@code ["k5", end)}. */
    @Override
    public String toString() {
        return "[" + start + ", " + (end.isEmpty() ? "end" : end.toString()) + ")";
    }
}
