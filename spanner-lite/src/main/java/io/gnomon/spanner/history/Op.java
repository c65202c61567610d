package io.gnomon.spanner.history;

import java.util.List;
import java.util.Objects;

/**
 * One line of a history: an event of a transaction performed by a process.
 *
 * @param index     position in the history, strictly increasing from line to line
 * @param process   the logical client that performed it; a process runs one transaction at a time
 * @param type      invoke, ok, fail or info
 * @param f         the operation's function; list-append histories use {@link #TXN}
 * @param value     the micro-ops; in an {@code ok} completion reads carry their results
 * @param timeNanos the test runner's monotonic clock when the event was recorded (JSON field {@code time})
 */
public record Op(long index, int process, OpType type, String f, List<MicroOp> value, long timeNanos) {
    /** The only function of a list-append history. */
    public static final String TXN = "txn";

    public Op {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(f, "f");
        value = List.copyOf(value);
    }
}
