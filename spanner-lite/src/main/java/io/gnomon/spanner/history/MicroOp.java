package io.gnomon.spanner.history;

import java.util.List;
import java.util.Objects;

/**
 * One step of a list-append transaction: append a value to the list at a key, or read the whole list.
 * In JSON a micro-op is {@code ["append", key, value]} or {@code ["r", key, list-or-null]}.
 *
 * <pre>{@code
 * List<MicroOp> txn = List.of(new MicroOp.Append("x", 1), new MicroOp.Read("y", null));
 * }</pre>
 */
public sealed interface MicroOp permits MicroOp.Append, MicroOp.Read {
    /** The key this micro-op touches. */
    String key();

    /**
     * Appends {@code value} to the list at {@code key}; values are unique per key across the history.
     *
     * @param key   the list's key
     * @param value the appended element
     */
    record Append(String key, long value) implements MicroOp {
        public Append {
            Objects.requireNonNull(key, "key");
        }
    }

    /**
     * Reads the list at {@code key}.
     *
     * @param key    the list's key
     * @param values the whole list as read ({@code []} for a key never appended to), or {@code null} when not
     *               known (in an invocation, or in a completion that is not {@code ok})
     */
    record Read(String key, List<Long> values) implements MicroOp {
        public Read {
            Objects.requireNonNull(key, "key");
            values = values == null ? null : List.copyOf(values);
        }

        /** This read with its result forgotten, as it appears in an invocation. */
        public Read unknown() {
            return new Read(key, null);
        }
    }
}
