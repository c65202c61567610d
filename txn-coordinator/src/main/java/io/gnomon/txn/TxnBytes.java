package io.gnomon.txn;

import io.gnomon.txn.TxnRecordCodec.MalformedRecordException;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The little-endian reading and writing that {@link TxnRecordCodec} and {@link TxnMessageCodec} share: fixed-width
 * integers, length-prefixed bytes and strings, transaction ids, group lists and writes. Reading trusts no length:
 * each is checked against the bytes that remain, and a failure names the offset and the field.
 */
final class TxnBytes {
    /** A write's value length that marks a point delete (no value follows). */
    static final int DELETE = -1;
    /** A write's value length that marks a range delete from its key to the end of the key space. */
    static final int DELETE_RANGE_TO_END = -2;
    /** A write's value length that marks a range delete from its key to the end key that follows (bytes). */
    static final int DELETE_RANGE = -3;

    private TxnBytes() {
    }

    static final class Out {
        final ByteArrayOutputStream b = new ByteArrayOutputStream();
        private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

        Out i64(long v) {
            b.write(scratch.clear().putLong(v).array(), 0, 8);
            return this;
        }

        Out i32(int v) {
            b.write(scratch.clear().putInt(v).array(), 0, 4);
            return this;
        }

        Out bytes(byte[] v) {
            i32(v.length);
            b.write(v, 0, v.length);
            return this;
        }

        Out txn(TxnId t) {
            return i64(t.priorityEpochNanos()).i64(t.clientId()).i32(t.attempt());
        }

        Out string(String s) {
            return bytes(s.getBytes(StandardCharsets.UTF_8));
        }

        Out groups(List<Long> groups) {
            i32(groups.size());
            groups.forEach(this::i64);
            return this;
        }

        Out writes(List<Write> writes) {
            i32(writes.size());
            for (Write w : writes) {
                bytes(w.key());
                if (w.rangeDelete() && w.rangeEndOrNull() == null) {
                    i32(DELETE_RANGE_TO_END);
                } else if (w.rangeDelete()) {
                    i32(DELETE_RANGE);
                    bytes(w.rangeEndOrNull());
                } else if (w.isDelete()) {
                    i32(DELETE);
                } else {
                    bytes(w.valueOrNull());
                }
            }
            return this;
        }
    }

    static final class In {
        final ByteBuffer buf;
        /** What the bytes are, for messages: "transaction record", "transaction message". */
        private final String what;

        In(byte[] bytes, String what) {
            buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            this.what = what;
        }

        private void need(int n, String field) throws MalformedRecordException {
            if (buf.remaining() < n) {
                throw new MalformedRecordException(what + " truncated at offset " + buf.position()
                        + ": " + field + " needs " + n + " bytes, " + buf.remaining() + " remain");
            }
        }

        int u8(String field) throws MalformedRecordException {
            need(1, field);
            return buf.get() & 0xff;
        }

        boolean flag(String field) throws MalformedRecordException {
            int at = buf.position();
            int v = u8(field);
            if (v > 1) {
                throw new MalformedRecordException(field + " at offset " + at + " is " + v + ", not 0 or 1");
            }
            return v == 1;
        }

        long i64(String field) throws MalformedRecordException {
            need(8, field);
            return buf.getLong();
        }

        int i32(String field) throws MalformedRecordException {
            need(4, field);
            return buf.getInt();
        }

        /** A count of items of at least {@code minItemBytes} each, checked against what remains. */
        int count(String field, int minItemBytes) throws MalformedRecordException {
            int at = buf.position();
            int n = i32(field);
            if (n < 0 || (long) n * minItemBytes > buf.remaining()) {
                throw new MalformedRecordException(field + " " + n + " at offset " + at + " does not fit the "
                        + buf.remaining() + " bytes that remain");
            }
            return n;
        }

        byte[] bytes(String field) throws MalformedRecordException {
            byte[] v = new byte[count(field + " length", 1)];
            buf.get(v);
            return v;
        }

        TxnId txn() throws MalformedRecordException {
            int at = buf.position();
            long priority = i64("txn priority");
            long client = i64("txn client");
            int attempt = i32("txn attempt");
            try {
                return new TxnId(priority, client, attempt);
            } catch (IllegalArgumentException e) {
                throw new MalformedRecordException("transaction id at offset " + at + " is invalid: " + e.getMessage());
            }
        }

        String string(String field) throws MalformedRecordException {
            return new String(bytes(field), StandardCharsets.UTF_8);
        }

        /** A string of at most {@code maxBytes} UTF-8 bytes; a longer one is refused by name. */
        String string(String field, int maxBytes) throws MalformedRecordException {
            int at = buf.position();
            byte[] v = bytes(field);
            if (v.length > maxBytes) {
                throw new MalformedRecordException(field + " length " + v.length + " at offset " + at
                        + " is over the limit of " + maxBytes + " bytes");
            }
            return new String(v, StandardCharsets.UTF_8);
        }

        List<Long> groups() throws MalformedRecordException {
            int n = count("group count", 8);
            List<Long> groups = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                groups.add(i64("group id"));
            }
            return groups;
        }

        List<Write> writes() throws MalformedRecordException {
            int n = count("write count", 8);
            List<Write> writes = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                byte[] key = bytes("key");
                int at = buf.position();
                int valueLength = i32("value length");
                if (valueLength == DELETE) {
                    writes.add(Write.delete(key));
                    continue;
                }
                if (valueLength == DELETE_RANGE_TO_END || valueLength == DELETE_RANGE) {
                    byte[] end = valueLength == DELETE_RANGE ? bytes("range end") : null;
                    try {
                        writes.add(Write.deleteRange(key, end));
                    } catch (IllegalArgumentException e) {
                        throw new MalformedRecordException("delete range at offset " + at + ": " + e.getMessage());
                    }
                    continue;
                }
                if (valueLength < 0 || valueLength > buf.remaining()) {
                    throw new MalformedRecordException("value length " + valueLength + " at offset " + at
                            + " does not fit the " + buf.remaining() + " bytes that remain");
                }
                byte[] value = new byte[valueLength];
                buf.get(value);
                writes.add(Write.put(key, value));
            }
            return writes;
        }
    }
}
