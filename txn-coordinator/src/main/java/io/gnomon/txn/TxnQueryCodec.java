package io.gnomon.txn;

import io.gnomon.paxos.store.Row;

import java.io.ByteArrayOutputStream;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The bytes of {@link TxnMachine#query} and of its answers: reads at a timestamp, no locks. Pure. Little-endian:
 * <pre>
 *   query  = u8 version (1)  u8 type  body
 *     GET  (1) body = i64 readTs, i32 keyLength, key
 *     SCAN (2) body = i64 readTs, i32 limit, i32 fromLength, from, i32 toLength (-1: to the group's end), to
 *   answer = u8 version (1)  u8 status  body
 *     VALUE           (0) body = i32 valueLength (-1: no visible version), value
 *     ROWS            (1) body = i32 count, count x (i32 keyLength, key, i64 versionTs, i32 valueLength, value)
 *     BELOW_RETENTION (2) body = i64 gcWatermark, i32 length, message (UTF-8)
 * </pre>
 * A query that does not decode is refused with {@link IllegalArgumentException} naming the offset and field
 * ({@code StateMachine#query}'s contract: the server answers INVALID_ARGUMENT); a read below the GC watermark is an
 * answer ({@link BelowRetention}, with {@code ReadBelowRetentionException}'s message), never wrong data.
 */
public final class TxnQueryCodec {
    static final byte VERSION = 1;
    private static final byte GET = 1;
    private static final byte SCAN = 2;
    private static final byte VALUE = 0;
    private static final byte ROWS = 1;
    private static final byte BELOW_RETENTION = 2;

    private TxnQueryCodec() {
    }

    /** A read at {@code readTimestampEpochNanos} ({@code >= 0}). */
    public sealed interface Query {
        long readTimestampEpochNanos();
    }

    /** The value of {@code key} at the read timestamp: its newest version at or below it. */
    public record Get(byte[] key, long readTimestampEpochNanos) implements Query {
        public Get {
            if (key == null) {
                throw new IllegalArgumentException("get: key must not be null");
            }
            checkTimestamp(readTimestampEpochNanos);
        }
    }

    /** The visible rows {@code from <= key < to} at the read timestamp, at most {@code limit}; {@code to == null}: to the end. */
    public record Scan(byte[] from, byte[] toOrNull, long readTimestampEpochNanos, int limit) implements Query {
        public Scan {
            if (from == null) {
                throw new IllegalArgumentException("scan: from must not be null (an empty key is the start)");
            }
            checkTimestamp(readTimestampEpochNanos);
            if (limit <= 0) {
                throw new IllegalArgumentException("scan: limit must be >= 1, was " + limit);
            }
        }
    }

    public sealed interface Answer {
    }

    /** A get's answer: the value, or null if the key has no visible version at the read timestamp. */
    public record Value(byte[] valueOrNull) implements Answer {
    }

    /** A scan's answer, in key order (user keys, each with its version's timestamp). */
    public record Rows(List<Row> rows) implements Answer {
        public Rows {
            rows = List.copyOf(rows);
        }
    }

    /** The read timestamp is below the group's GC watermark: retry at or above it. */
    public record BelowRetention(long gcWatermark, String message) implements Answer {
    }

    public static byte[] encode(Query q) {
        ByteBuffer b;
        if (q instanceof Get g) {
            b = buffer(2 + 8 + 4 + g.key().length).put(VERSION).put(GET).putLong(g.readTimestampEpochNanos());
            putBytes(b, g.key());
        } else {
            Scan s = (Scan) q;
            b = buffer(2 + 8 + 4 + 4 + s.from().length + 4 + (s.toOrNull() == null ? 0 : s.toOrNull().length))
                    .put(VERSION).put(SCAN).putLong(s.readTimestampEpochNanos()).putInt(s.limit());
            putBytes(b, s.from());
            if (s.toOrNull() == null) {
                b.putInt(-1);
            } else {
                putBytes(b, s.toOrNull());
            }
        }
        return b.array();
    }

    /** @throws IllegalArgumentException naming what is wrong if {@code bytes} is not a query */
    public static Query decodeQuery(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        try {
            checkVersion(b, "query", "this machine");
            byte type = b.get();
            long ts = b.getLong();
            if (ts < 0) {
                throw new IllegalArgumentException("read timestamp at offset 2 is " + ts + ": must be >= 0 (epoch nanoseconds)");
            }
            Query q;
            if (type == GET) {
                q = new Get(takeBytes(b, "key", false), ts);
            } else if (type == SCAN) {
                int at = b.position();
                int limit = b.getInt();
                if (limit <= 0) {
                    throw new IllegalArgumentException("scan limit at offset " + at + " is " + limit + ": must be >= 1");
                }
                q = new Scan(takeBytes(b, "from", false), takeBytes(b, "to", true), ts, limit);
            } else {
                throw new IllegalArgumentException("query type " + type + " at offset 1: 1 (get) or 2 (scan)");
            }
            if (b.hasRemaining()) {
                throw new IllegalArgumentException(b.remaining() + " trailing bytes after the query at offset " + b.position());
            }
            return q;
        } catch (BufferUnderflowException e) {
            throw new IllegalArgumentException("query of " + bytes.length + " bytes is truncated at offset " + b.position());
        }
    }

    public static byte[] encode(Answer a) {
        Out o = new Out();
        o.b.write(VERSION);
        if (a instanceof Value v) {
            o.b.write(VALUE);
            o.bytesOrNull(v.valueOrNull());
        } else if (a instanceof Rows r) {
            o.b.write(ROWS);
            o.i32(r.rows().size());
            for (Row row : r.rows()) {
                o.bytesOrNull(row.key());
                o.i64(row.timestamp());
                o.bytesOrNull(row.value());
            }
        } else {
            BelowRetention br = (BelowRetention) a;
            o.b.write(BELOW_RETENTION);
            o.i64(br.gcWatermark());
            o.bytesOrNull(br.message().getBytes(StandardCharsets.UTF_8));
        }
        return o.b.toByteArray();
    }

    /** @throws IllegalArgumentException if {@code bytes} is not an answer */
    public static Answer decodeAnswer(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        try {
            checkVersion(b, "answer", "this reader");
            byte status = b.get();
            Answer a;
            if (status == VALUE) {
                a = new Value(takeBytes(b, "value", true));
            } else if (status == ROWS) {
                int n = b.getInt();
                if (n < 0 || n > b.remaining() / 16) {
                    throw new IllegalArgumentException("row count " + n + " does not fit the " + b.remaining() + " bytes left");
                }
                List<Row> rows = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    byte[] key = takeBytes(b, "row key", false);
                    long ts = b.getLong();
                    rows.add(new Row(key, ts, takeBytes(b, "row value", false)));
                }
                a = new Rows(rows);
            } else if (status == BELOW_RETENTION) {
                long w = b.getLong();
                a = new BelowRetention(w, new String(takeBytes(b, "message", false), StandardCharsets.UTF_8));
            } else {
                throw new IllegalArgumentException("answer status " + status + " at offset 1: 0, 1 or 2");
            }
            if (b.hasRemaining()) {
                throw new IllegalArgumentException(b.remaining() + " trailing bytes after the answer");
            }
            return a;
        } catch (BufferUnderflowException e) {
            throw new IllegalArgumentException("answer of " + bytes.length + " bytes is truncated at offset " + b.position());
        }
    }

    private static void checkVersion(ByteBuffer b, String what, String reader) {
        byte version = b.get();
        if (version != VERSION) {
            throw new IllegalArgumentException(what + " version " + version + " (" + reader + " reads version " + VERSION + ")");
        }
    }

    private static byte[] takeBytes(ByteBuffer b, String field, boolean nullable) {
        int at = b.position();
        int n = b.getInt();
        if (n == -1 && nullable) {
            return null;
        }
        if (n < 0 || n > b.remaining()) {
            throw new IllegalArgumentException(field + " length at offset " + at + " is " + n + ", "
                    + b.remaining() + " bytes follow");
        }
        byte[] v = new byte[n];
        b.get(v);
        return v;
    }

    private static ByteBuffer buffer(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static void putBytes(ByteBuffer b, byte[] v) {
        b.putInt(v.length).put(v);
    }

    private static void checkTimestamp(long ts) {
        if (ts < 0) {
            throw new IllegalArgumentException("read timestamp must be >= 0 (epoch nanoseconds), was " + ts);
        }
    }

    private static final class Out {
        final ByteArrayOutputStream b = new ByteArrayOutputStream();
        private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

        void i64(long v) {
            b.write(scratch.clear().putLong(v).array(), 0, 8);
        }

        void i32(int v) {
            b.write(scratch.clear().putInt(v).array(), 0, 4);
        }

        void bytesOrNull(byte[] v) {
            if (v == null) {
                i32(-1);
            } else {
                i32(v.length);
                b.write(v, 0, v.length);
            }
        }
    }
}
