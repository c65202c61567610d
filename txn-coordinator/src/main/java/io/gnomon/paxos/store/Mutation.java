package io.gnomon.paxos.store;

/**
 * One write of a {@link GroupStore#apply} batch: a new version of {@code key} at {@code timestamp}, holding
 * {@code valueOrNull}, or a tombstone (a delete) when it is null. Arrays are not copied: do not change them after.
 *
 * <pre>{@code
 * group.apply(42, List.of(Mutation.put(k, ts, v), Mutation.delete(k2, ts)));
 * }</pre>
 *
 * @param key         the user key, any bytes (empty allowed)
 * @param timestamp   the version's commit timestamp, epoch nanoseconds, >= 0
 * @param valueOrNull the value, or null for a tombstone
 */
public record Mutation(byte[] key, long timestamp, byte[] valueOrNull) {
    public Mutation {
        if (key == null) {
            throw new IllegalArgumentException("mutation key must not be null");
        }
        KeyCodec.checkTimestamp(timestamp);
    }

    public static Mutation put(byte[] key, long timestamp, byte[] value) {
        if (value == null) {
            throw new IllegalArgumentException("put value must not be null; use Mutation.delete for a tombstone");
        }
        return new Mutation(key, timestamp, value);
    }

    public static Mutation delete(byte[] key, long timestamp) {
        return new Mutation(key, timestamp, null);
    }

    public boolean isTombstone() {
        return valueOrNull == null;
    }
}
