package io.gnomon.txn;

import io.gnomon.paxos.store.Mutation;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * One buffered write of a transaction in one group: {@code key} gets {@code valueOrNull}, or is deleted when it is
 * null. It has no timestamp yet (that is the commit timestamp, chosen at commit); {@link #at(long)} makes the
 * store's {@link Mutation}. Arrays are not copied: do not change them after. Equal by content.
 *
 * @param key         the user key, any bytes (empty allowed)
 * @param valueOrNull the value, or null for a delete
 */
public record Write(byte[] key, byte[] valueOrNull) {
    public Write {
        if (key == null) {
            throw new IllegalArgumentException("write key must not be null");
        }
    }

    public static Write put(byte[] key, byte[] value) {
        if (value == null) {
            throw new IllegalArgumentException("put value must not be null; use Write.delete for a delete");
        }
        return new Write(key, value);
    }

    public static Write delete(byte[] key) {
        return new Write(key, null);
    }

    public boolean isDelete() {
        return valueOrNull == null;
    }

    /** The store's mutation for this write at commit timestamp {@code commitTimestampEpochNanos}. */
    public Mutation at(long commitTimestampEpochNanos) {
        return new Mutation(key, commitTimestampEpochNanos, valueOrNull);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Write w && Arrays.equals(key, w.key) && Arrays.equals(valueOrNull, w.valueOrNull);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(key) + Arrays.hashCode(valueOrNull);
    }

    @Override
    public String toString() {
        HexFormat hex = HexFormat.of();
        return isDelete() ? "delete(" + hex.formatHex(key) + ")"
                : "put(" + hex.formatHex(key) + "=" + hex.formatHex(valueOrNull) + ")";
    }
}
