package io.gnomon.paxos.server;

import io.gnomon.paxos.runtime.InMemoryMachine;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Keys to values, both opaque bytes, kept in memory: each put stores its value under its key (replacing the old
 * one), a query returns a key's value. This is the state machine the etcd comparison runs (bin/bench-log), so
 * that each Gnomon append does what an etcd {@code Put} does to etcd's key-value store: decode, copy and index
 * the key and the value. It keeps the latest value per key only (etcd's MVCC store also keeps older revisions
 * until compaction; the docs say so).
 *
 * <p>Command (a put): {@code keyLength} (4 bytes, big-endian, 1..{@value #KEY_BYTES_MAX}), the key, then the value
 * (the rest). Result of a put: the slot it was decided in (8 bytes, big-endian), as etcd answers a put with its
 * revision. Query: the key's bytes; answer: {@code 1} then the value if the key is present, {@code 0} if not.
 *
 * <pre>{@code
 * byte[] put = KeyValueMachine.put("k".getBytes(UTF_8), value);
 * client.append(put, timeout);                          // through the leader
 * client.read("k".getBytes(UTF_8), timeout);            // a lease read: [1, value...]
 * }</pre>
 */
public final class KeyValueMachine extends InMemoryMachine {
    /** etcd's default limit on a key is its request size (1.5 MiB); ours is smaller and named. */
    public static final int KEY_BYTES_MAX = 64 << 10;

    // ISO-8859-1 maps each byte to one char and back, so any key bytes round-trip through the String.
    private final Map<String, byte[]> values = new HashMap<>();

    /** The put command for {@code key} and {@code value}. */
    public static byte[] put(byte[] key, byte[] value) {
        if (key.length < 1 || key.length > KEY_BYTES_MAX) {
            throw new IllegalArgumentException("key must be 1.." + KEY_BYTES_MAX + " bytes; got " + key.length);
        }
        return ByteBuffer.allocate(4 + key.length + value.length).putInt(key.length).put(key).put(value).array();
    }

    @Override
    public String validate(byte[] command) {
        return checkPut(command);
    }

    /** Why {@code command} is not a well-formed put, or null (shared with {@link StoredKeyValueMachine}). */
    static String checkPut(byte[] command) {
        if (command.length < 4) {
            return "a put needs a 4-byte key length; got " + command.length + " bytes";
        }
        int keyBytes = ByteBuffer.wrap(command).getInt();
        if (keyBytes < 1 || keyBytes > KEY_BYTES_MAX || keyBytes > command.length - 4) {
            return "key length " + keyBytes + " must be 1.." + KEY_BYTES_MAX + " and within the command's "
                    + (command.length - 4) + " bytes";
        }
        return null;
    }

    @Override
    protected byte[] applyCommand(long slot, byte[] command) {
        String bad = validate(command);
        if (bad != null) {
            throw new IllegalArgumentException(bad);
        }
        int keyBytes = ByteBuffer.wrap(command).getInt();
        String key = new String(command, 4, keyBytes, StandardCharsets.ISO_8859_1);
        values.put(key, Arrays.copyOfRange(command, 4 + keyBytes, command.length));
        return ByteBuffer.allocate(8).putLong(slot).array();
    }

    @Override
    public byte[] query(byte[] query) {
        checkQuery(query);
        return answer(values.get(new String(query, StandardCharsets.ISO_8859_1)));
    }

    /** Throws IllegalArgumentException unless {@code query} is a key of an allowed length. */
    static void checkQuery(byte[] query) {
        if (query.length < 1 || query.length > KEY_BYTES_MAX) {
            throw new IllegalArgumentException("a query is a key of 1.." + KEY_BYTES_MAX + " bytes; got " + query.length);
        }
    }

    /** A query's answer for a key holding {@code v} (null: absent). */
    static byte[] answer(byte[] v) {
        if (v == null) {
            return new byte[] {0};
        }
        byte[] out = new byte[1 + v.length];
        out[0] = 1;
        System.arraycopy(v, 0, out, 1, v.length);
        return out;
    }

    /** Count, then each (key length, key, value length, value) in key order, so equal states give equal bytes. */
    @Override
    protected byte[] encodeState() {
        TreeMap<String, byte[]> sorted = new TreeMap<>(values);
        long size = 4;
        for (Map.Entry<String, byte[]> e : sorted.entrySet()) {
            size += 8L + e.getKey().length() + e.getValue().length;
        }
        if (size > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("key-value state of " + size + " bytes is too large for one snapshot");
        }
        ByteBuffer b = ByteBuffer.allocate((int) size);
        b.putInt(sorted.size());
        for (Map.Entry<String, byte[]> e : sorted.entrySet()) {
            byte[] k = e.getKey().getBytes(StandardCharsets.ISO_8859_1);
            b.putInt(k.length).put(k).putInt(e.getValue().length).put(e.getValue());
        }
        assert !b.hasRemaining();
        return b.array();
    }

    @Override
    protected void decodeState(byte[] state) {
        values.clear();
        if (state.length == 0) {
            return;
        }
        ByteBuffer b = ByteBuffer.wrap(state);
        int n = b.getInt();
        for (int i = 0; i < n; i++) {
            byte[] k = new byte[b.getInt()];
            b.get(k);
            byte[] v = new byte[b.getInt()];
            b.get(v);
            values.put(new String(k, StandardCharsets.ISO_8859_1), v);
        }
        if (b.hasRemaining()) {
            throw new IllegalArgumentException("key-value snapshot has " + b.remaining() + " bytes after its " + n + " keys");
        }
    }

    /** Keys held (tests). */
    int size() {
        return values.size();
    }
}
