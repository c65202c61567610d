package io.gnomon.paxos.store;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;

/**
 * The engine's key layout (docs/versioned-store.md). RocksDB's default comparator orders keys as unsigned bytes;
 * every encoding here is chosen so that this order is the order the store needs:
 * <pre>
 *   store metadata  0x00 | name                                        (format version)
 *   group metadata  0x01 | groupId (8, big-endian) | tag (1)           (applied index, GC watermark, install mark)
 *   group data      0x02 | groupId (8, big-endian) | escape(userKey) 0x00 0x01 | ~timestamp (8, big-endian)
 *   group state     0x03 | groupId (8, big-endian) | stateKey           (unversioned rows beside the data: the
 *                                                                        transaction state of io.gnomon.txn.TxnMachine)
 * </pre>
 * The escape (FoundationDB's tuple layer and CockroachDB's key encoding do the same) writes 0x00 as 0x00 0xFF and
 * ends the key with 0x00 0x01: the terminator sorts below every escaped byte, so a key sorts before every key it
 * is a proper prefix of, and the timestamp after it never takes part in comparing two different user keys.
 * {@code ~timestamp} (bitwise not) of a non-negative timestamp puts newer versions first.
 */
final class KeyCodec {
    static final byte STORE_META = 0x00;
    static final byte GROUP_META = 0x01;
    static final byte GROUP_DATA = 0x02;
    static final byte GROUP_STATE = 0x03;

    static final byte META_APPLIED_INDEX = 'a';
    static final byte META_GC_WATERMARK = 'w';
    static final byte META_INSTALLING = 'i';

    static final int GROUP_PREFIX_BYTES = 9;
    static final int TIMESTAMP_BYTES = 8;

    /** Value tags: the first byte of every data value. */
    static final byte VALUE_PUT = 1;
    static final byte VALUE_TOMBSTONE = 0;

    private KeyCodec() {
    }

    static byte[] groupPrefix(byte tag, long groupId) {
        checkGroupId(groupId);
        byte[] b = new byte[GROUP_PREFIX_BYTES];
        b[0] = tag;
        putLong(b, 1, groupId);
        return b;
    }

    /** The first key past every key of {@code groupId} under {@code tag}; groupId + 1 never overflows past the tag. */
    static byte[] groupPrefixEnd(byte tag, long groupId) {
        checkGroupId(groupId);
        byte[] b = new byte[GROUP_PREFIX_BYTES];
        b[0] = tag;
        if (groupId == Long.MAX_VALUE) {
            b[1] = (byte) 0x80; // 0x80 00.. sorts after 0x7F FF..: still under this tag, after every group id
        } else {
            putLong(b, 1, groupId + 1);
        }
        return b;
    }

    static byte[] metaKey(long groupId, byte metaTag) {
        byte[] p = groupPrefix(GROUP_META, groupId);
        byte[] b = Arrays.copyOf(p, GROUP_PREFIX_BYTES + 1);
        b[GROUP_PREFIX_BYTES] = metaTag;
        return b;
    }

    /** groupData(groupId) | escape(userKey) | 0x00 0x01 : every version of the key starts with it. */
    static byte[] versionsPrefix(long groupId, byte[] userKey) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(GROUP_PREFIX_BYTES + userKey.length + 2 + TIMESTAMP_BYTES);
        out.writeBytes(groupPrefix(GROUP_DATA, groupId));
        escapeInto(out, userKey);
        out.write(0x00);
        out.write(0x01);
        return out.toByteArray();
    }

    /** groupData(groupId) | escape(userKey), no terminator: every key >= userKey sorts at or after it. */
    static byte[] keyLowerBound(long groupId, byte[] userKey) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(GROUP_PREFIX_BYTES + userKey.length + 2);
        out.writeBytes(groupPrefix(GROUP_DATA, groupId));
        escapeInto(out, userKey);
        return out.toByteArray();
    }

    /** The first key past every version of the key whose {@link #versionsPrefix} is given (terminator 0x01 -> 0x02). */
    static byte[] afterVersions(byte[] versionsPrefix) {
        byte[] b = versionsPrefix.clone();
        assert b[b.length - 1] == 0x01 && b[b.length - 2] == 0x00 : "not a versions prefix";
        b[b.length - 1] = 0x02;
        return b;
    }

    static byte[] versionKey(long groupId, byte[] userKey, long timestamp) {
        return withTimestamp(versionsPrefix(groupId, userKey), timestamp);
    }

    static byte[] withTimestamp(byte[] versionsPrefix, long timestamp) {
        checkTimestamp(timestamp);
        byte[] b = Arrays.copyOf(versionsPrefix, versionsPrefix.length + TIMESTAMP_BYTES);
        putLong(b, versionsPrefix.length, ~timestamp);
        return b;
    }

    static long timestampOf(byte[] versionKey) {
        return ~getLong(versionKey, versionKey.length - TIMESTAMP_BYTES);
    }

    /** The versions prefix of a data key (everything but the timestamp). */
    static byte[] versionsPrefixOf(byte[] versionKey) {
        return Arrays.copyOf(versionKey, versionKey.length - TIMESTAMP_BYTES);
    }

    static long groupIdOf(byte[] key) {
        return getLong(key, 1);
    }

    /** The user key of a data key: unescape between the group prefix and the terminator. */
    static byte[] userKeyOf(byte[] versionKey) {
        return unescape(versionKey, GROUP_PREFIX_BYTES, versionKey.length - TIMESTAMP_BYTES);
    }

    /** groupState(groupId) | stateKey: one unversioned row of the group's state area. */
    static byte[] stateKey(long groupId, byte[] stateKey) {
        byte[] p = groupPrefix(GROUP_STATE, groupId);
        byte[] b = Arrays.copyOf(p, GROUP_PREFIX_BYTES + stateKey.length);
        System.arraycopy(stateKey, 0, b, GROUP_PREFIX_BYTES, stateKey.length);
        return b;
    }

    /** The state key of a group state row: everything after the group prefix. */
    static byte[] stateKeyOf(byte[] engineKey) {
        return Arrays.copyOfRange(engineKey, GROUP_PREFIX_BYTES, engineKey.length);
    }

    /**
     * What a snapshot entry carries as its key: the engine key without its 8 group id bytes ({@code space |
     * rest}, space {@link #GROUP_DATA} or {@link #GROUP_STATE}), so an installer may put it under another group id.
     */
    static byte[] snapshotKeyOf(byte[] engineKey) {
        byte[] b = new byte[engineKey.length - 8];
        b[0] = engineKey[0];
        System.arraycopy(engineKey, GROUP_PREFIX_BYTES, b, 1, engineKey.length - GROUP_PREFIX_BYTES);
        return b;
    }

    /** The engine key of a snapshot entry's key under {@code groupId} (the inverse of {@link #snapshotKeyOf}). */
    static byte[] fromSnapshotKey(long groupId, byte[] snapshotKey) {
        byte[] p = groupPrefix(snapshotKey[0], groupId);
        byte[] b = Arrays.copyOf(p, GROUP_PREFIX_BYTES + snapshotKey.length - 1);
        System.arraycopy(snapshotKey, 1, b, GROUP_PREFIX_BYTES, snapshotKey.length - 1);
        return b;
    }

    static void escapeInto(ByteArrayOutputStream out, byte[] userKey) {
        for (byte x : userKey) {
            out.write(x);
            if (x == 0x00) {
                out.write(0xFF);
            }
        }
    }

    /** Unescapes {@code b[from, to)}, which ends with the terminator 0x00 0x01. */
    static byte[] unescape(byte[] b, int from, int to) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(to - from);
        int i = from;
        while (true) {
            if (i + 1 >= to) {
                throw new IllegalStateException("malformed data key: no terminator between " + from + " and " + to);
            }
            byte x = b[i];
            if (x == 0x00) {
                byte next = b[i + 1];
                if (next == 0x01) {
                    if (i + 2 != to) {
                        throw new IllegalStateException("malformed data key: bytes after the terminator at " + i);
                    }
                    return out.toByteArray();
                }
                if (next != (byte) 0xFF) {
                    throw new IllegalStateException("malformed data key: 0x00 followed by " + (next & 0xFF) + " at " + i);
                }
                out.write(0x00);
                i += 2;
            } else {
                out.write(x);
                i++;
            }
        }
    }

    static byte[] encodeValue(byte[] valueOrNull) {
        if (valueOrNull == null) {
            return new byte[]{VALUE_TOMBSTONE};
        }
        byte[] b = new byte[valueOrNull.length + 1];
        b[0] = VALUE_PUT;
        System.arraycopy(valueOrNull, 0, b, 1, valueOrNull.length);
        return b;
    }

    static boolean isTombstone(byte[] encodedValue) {
        if (encodedValue.length == 0 || (encodedValue[0] != VALUE_PUT && encodedValue[0] != VALUE_TOMBSTONE)) {
            throw new IllegalStateException("malformed data value: tag " + (encodedValue.length == 0 ? "missing" : encodedValue[0]));
        }
        return encodedValue[0] == VALUE_TOMBSTONE;
    }

    static byte[] decodeValue(byte[] encodedValue) {
        return Arrays.copyOfRange(encodedValue, 1, encodedValue.length);
    }

    static void checkGroupId(long groupId) {
        if (groupId < 0) {
            throw new IllegalArgumentException("groupId must be >= 0, was " + groupId);
        }
    }

    static void checkTimestamp(long timestamp) {
        if (timestamp < 0) {
            throw new IllegalArgumentException("timestamp must be >= 0 (epoch nanoseconds), was " + timestamp);
        }
    }

    static void putLong(byte[] b, int at, long v) {
        for (int i = 7; i >= 0; i--) {
            b[at + i] = (byte) v;
            v >>>= 8;
        }
    }

    static long getLong(byte[] b, int at) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | (b[at + i] & 0xFFL);
        }
        return v;
    }

    static byte[] longBytes(long v) {
        byte[] b = new byte[8];
        putLong(b, 0, v);
        return b;
    }
}
