package io.gnomon.spanner.history;

import java.util.List;
import java.util.Objects;

/**
 * One line of a history: an event of a transaction performed by a process.
 *
 * @param index               position in the history, strictly increasing from line to line
 * @param process             the logical client that performed it; a process runs one transaction at a time
 * @param type                invoke, ok, fail or info
 * @param f                   the operation's function; list-append histories use {@link #TXN}
 * @param value               the micro-ops; in an {@code ok} completion reads carry their results
 * @param timeNanos           the test runner's monotonic clock when the event was recorded (JSON field {@code time})
 * @param readMode            how the transaction's reads are bound (JSON {@code readMode}), or {@code null} when
 *                            not recorded (older histories); on invokes, and optionally repeated on completions
 * @param commitTsEpochNanos  the commit timestamp of a read-write transaction (JSON {@code commitTs}), on its
 *                            {@code ok} or {@code info} completion, or {@code null}
 * @param readTsEpochNanos    the read timestamp of a read-only transaction (JSON {@code readTs}), on its
 *                            {@code ok} or {@code info} completion, or {@code null}
 */
public record Op(long index, int process, OpType type, String f, List<MicroOp> value, long timeNanos,
                 ReadMode readMode, Long commitTsEpochNanos, Long readTsEpochNanos) {
    /** The only function of a list-append history. */
    public static final String TXN = "txn";

    public Op {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(f, "f");
        value = List.copyOf(value);
        if (commitTsEpochNanos != null && readTsEpochNanos != null) {
            throw new IllegalArgumentException("an operation has a commit or a read timestamp, not both");
        }
    }

    /** An event without timestamps or read mode, as histories recorded them before they had any. */
    public Op(long index, int process, OpType type, String f, List<MicroOp> value, long timeNanos) {
        this(index, process, type, f, value, timeNanos, null, null, null);
    }

    /** Whether any micro-op appends: a transaction that does is read-write and cannot have a read timestamp. */
    public boolean appends() {
        return value.stream().anyMatch(m -> m instanceof MicroOp.Append);
    }
}
