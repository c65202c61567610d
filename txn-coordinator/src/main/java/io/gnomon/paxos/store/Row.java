package io.gnomon.paxos.store;

/**
 * A key's visible version at a read timestamp: the newest version at or below it that is not a tombstone.
 *
 * @param key       the user key
 * @param timestamp the version's timestamp (epoch nanoseconds), at or below the read timestamp
 * @param value     the value
 */
public record Row(byte[] key, long timestamp, byte[] value) {
}
