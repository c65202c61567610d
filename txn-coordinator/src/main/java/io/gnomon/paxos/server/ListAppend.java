package io.gnomon.paxos.server;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The wire form of list-append transactions (docs/paxos.md, "The list-append machine"): a transaction is a list
 * of micro-ops, each an append of a long to a key's list or a read of a key's whole list. Big-endian:
 * <pre>
 *   txn    = i32 count, count x op
 *   op     = u8 kind (1 append, 2 read), i32 keyLength, key (UTF-8), [i64 value if append]
 *   result = i32 count, count x (i32 n, n x i64)   one list per op; appends get an empty list
 *   query  = key (UTF-8, the whole body); its answer is one list (i32 n, n x i64)
 * </pre>
 */
public final class ListAppend {
    public static final int MAX_OPS = 1024;
    public static final int MAX_KEY_BYTES = 256;

    private ListAppend() {
    }

    /** One micro-op: {@code append(key, value)} or {@code read(key)} (value ignored). */
    public record Op(boolean append, String key, long value) {
        public static Op append(String key, long value) {
            return new Op(true, key, value);
        }

        public static Op read(String key) {
            return new Op(false, key, 0);
        }
    }

    /** Why {@code command} is not an encoded transaction, or null if it is ({@link #decodeTxn} accepts it). */
    public static String whyNotATxn(byte[] command) {
        try {
            decodeTxn(command);
            return null;
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
    }

    public static byte[] encodeTxn(List<Op> ops) {
        int size = 4;
        List<byte[]> keys = new ArrayList<>(ops.size());
        for (Op op : ops) {
            byte[] k = op.key().getBytes(StandardCharsets.UTF_8);
            keys.add(k);
            size += 1 + 4 + k.length + (op.append() ? 8 : 0);
        }
        ByteBuffer b = ByteBuffer.allocate(size);
        b.putInt(ops.size());
        for (int i = 0; i < ops.size(); i++) {
            Op op = ops.get(i);
            b.put(op.append() ? (byte) 1 : (byte) 2).putInt(keys.get(i).length).put(keys.get(i));
            if (op.append()) {
                b.putLong(op.value());
            }
        }
        return b.array();
    }

    /** Decodes a transaction; IllegalArgumentException says what is wrong. */
    public static List<Op> decodeTxn(byte[] bytes) {
        try {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            int n = b.getInt();
            if (n < 1 || n > MAX_OPS) {
                throw new IllegalArgumentException("transaction has " + n + " ops; 1 to " + MAX_OPS + " allowed");
            }
            List<Op> ops = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                byte kind = b.get();
                if (kind != 1 && kind != 2) {
                    throw new IllegalArgumentException("op " + i + " has kind " + kind + "; 1 (append) or 2 (read)");
                }
                int len = b.getInt();
                if (len < 1 || len > MAX_KEY_BYTES || len > b.remaining()) {
                    throw new IllegalArgumentException("op " + i + " key length " + len + "; 1 to " + MAX_KEY_BYTES);
                }
                byte[] k = new byte[len];
                b.get(k);
                String key = new String(k, StandardCharsets.UTF_8);
                ops.add(kind == 1 ? Op.append(key, b.getLong()) : Op.read(key));
            }
            if (b.hasRemaining()) {
                throw new IllegalArgumentException(b.remaining() + " trailing bytes after " + n + " ops");
            }
            return ops;
        } catch (BufferUnderflowException e) {
            throw new IllegalArgumentException("transaction truncated (" + bytes.length + " bytes)");
        }
    }

    public static byte[] encodeResult(List<List<Long>> lists) {
        int size = 4;
        for (List<Long> l : lists) {
            size += 4 + 8 * l.size();
        }
        ByteBuffer b = ByteBuffer.allocate(size);
        b.putInt(lists.size());
        for (List<Long> l : lists) {
            putList(b, l);
        }
        return b.array();
    }

    public static List<List<Long>> decodeResult(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        int n = b.getInt();
        List<List<Long>> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(getList(b));
        }
        return out;
    }

    public static byte[] encodeList(List<Long> list) {
        ByteBuffer b = ByteBuffer.allocate(4 + 8 * list.size());
        putList(b, list);
        return b.array();
    }

    public static List<Long> decodeList(byte[] bytes) {
        return getList(ByteBuffer.wrap(bytes));
    }

    static void putList(ByteBuffer b, List<Long> l) {
        b.putInt(l.size());
        for (long v : l) {
            b.putLong(v);
        }
    }

    static List<Long> getList(ByteBuffer b) {
        int n = b.getInt();
        List<Long> l = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            l.add(b.getLong());
        }
        return l;
    }
}
