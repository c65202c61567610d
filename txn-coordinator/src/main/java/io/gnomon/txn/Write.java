package io.gnomon.txn;

import io.gnomon.paxos.store.Mutation;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * One buffered write of a transaction in one group: {@code key} gets {@code valueOrNull}, or is deleted when it is
 * null; or, a <b>range delete</b> ({@link #deleteRange}), every key in {@code [key, rangeEndOrNull)} that has a live
 * version at the commit timestamp is deleted (null end: to the end of the key space). It has no timestamp yet (that
 * is the commit timestamp, chosen at commit); {@link #at(long)} makes the store's {@link Mutation} of a point write.
 * A record's range deletes are applied before its point writes (TxnMachine), so a client that buffers a put after a
 * range delete over its key keeps the put, and drops its buffered writes a later range delete covers. Arrays are not
 * copied: do not change them after. Equal by content.
 *
 * @param key            the user key, any bytes (empty allowed); a range delete's first key
 * @param valueOrNull    the value, or null for a delete (always null for a range delete)
 * @param rangeDelete    whether this deletes the range {@code [key, rangeEndOrNull)}
 * @param rangeEndOrNull a range delete's end (exclusive), after {@code key}; null: to the end of the key space (and
 *                       always null for a point write)
 */
public record Write(byte[] key, byte[] valueOrNull, boolean rangeDelete, byte[] rangeEndOrNull) {
    public Write {
        if (key == null) {
            throw new IllegalArgumentException("write key must not be null");
        }
        if (rangeDelete && valueOrNull != null) {
            throw new IllegalArgumentException("a range delete has no value");
        }
        if (!rangeDelete && rangeEndOrNull != null) {
            throw new IllegalArgumentException("a point write has no range end");
        }
        if (rangeEndOrNull != null && Arrays.compareUnsigned(key, rangeEndOrNull) >= 0) {
            HexFormat hex = HexFormat.of();
            throw new IllegalArgumentException("delete range start " + hex.formatHex(key) + " is not before its end "
                    + hex.formatHex(rangeEndOrNull));
        }
    }

    /** A point write: a put, or a delete when {@code valueOrNull} is null. */
    public Write(byte[] key, byte[] valueOrNull) {
        this(key, valueOrNull, false, null);
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

    /** Deletes every key {@code from <= key < toOrNull} ({@code toOrNull} null: to the end of the key space). */
    public static Write deleteRange(byte[] from, byte[] toOrNull) {
        return new Write(from, null, true, toOrNull);
    }

    /** A point delete or a range delete. */
    public boolean isDelete() {
        return valueOrNull == null;
    }

    /** Whether {@code k} is one of the keys this write changes. */
    public boolean covers(byte[] k) {
        if (!rangeDelete) {
            return Arrays.equals(key, k);
        }
        return Arrays.compareUnsigned(key, k) <= 0
                && (rangeEndOrNull == null || Arrays.compareUnsigned(k, rangeEndOrNull) < 0);
    }

    /** The store's mutation for this point write at commit timestamp {@code commitTimestampEpochNanos}. */
    public Mutation at(long commitTimestampEpochNanos) {
        if (rangeDelete) {
            throw new IllegalStateException(this + " is a range delete: its mutations are the live keys at apply");
        }
        return new Mutation(key, commitTimestampEpochNanos, valueOrNull);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Write w && rangeDelete == w.rangeDelete && Arrays.equals(key, w.key)
                && Arrays.equals(valueOrNull, w.valueOrNull) && Arrays.equals(rangeEndOrNull, w.rangeEndOrNull);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Arrays.hashCode(key) + Arrays.hashCode(valueOrNull)) + Arrays.hashCode(rangeEndOrNull)
                + (rangeDelete ? 1 : 0);
    }

    @Override
    public String toString() {
        HexFormat hex = HexFormat.of();
        if (rangeDelete) {
            return "deleteRange[" + hex.formatHex(key) + ", "
                    + (rangeEndOrNull == null ? "end" : hex.formatHex(rangeEndOrNull)) + ")";
        }
        return isDelete() ? "delete(" + hex.formatHex(key) + ")"
                : "put(" + hex.formatHex(key) + "=" + hex.formatHex(valueOrNull) + ")";
    }
}
