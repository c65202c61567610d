package io.gnomon.paxos.store;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * One row of a group's <b>state area</b>: unversioned key-value rows beside the group's versioned data (key layout
 * {@code 0x03 | groupId | key}, docs/versioned-store.md). Reads at a timestamp never see them; they are written in
 * the same batch as the data and the applied index ({@link GroupStore#apply(long, java.util.List, java.util.List)}),
 * travel in the group's snapshot and are replaced by an install, and GC leaves them alone. The transaction machine
 * keeps its prepared transactions and outcomes there.
 *
 * @param key         1 to {@code maxKeyBytes} bytes
 * @param valueOrNull the value (up to {@code maxValueBytes}); in {@code apply}, null deletes the row
 */
public record StateRow(byte[] key, byte[] valueOrNull) {
    public StateRow {
        if (key == null) {
            throw new IllegalArgumentException("state row key must not be null");
        }
    }

    public static StateRow put(byte[] key, byte[] value) {
        if (value == null) {
            throw new IllegalArgumentException("state row value must not be null; use StateRow.delete");
        }
        return new StateRow(key, value);
    }

    public static StateRow delete(byte[] key) {
        return new StateRow(key, null);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof StateRow r && Arrays.equals(key, r.key) && Arrays.equals(valueOrNull, r.valueOrNull);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(key) + Arrays.hashCode(valueOrNull);
    }

    @Override
    public String toString() {
        HexFormat hex = HexFormat.of();
        return valueOrNull == null ? "deleteState(" + hex.formatHex(key) + ")"
                : "state(" + hex.formatHex(key) + "=" + hex.formatHex(valueOrNull) + ")";
    }
}
