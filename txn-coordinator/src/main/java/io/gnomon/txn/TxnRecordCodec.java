package io.gnomon.txn;

import io.gnomon.txn.TxnRecord.AbortRecord;
import io.gnomon.txn.TxnRecord.Commit;
import io.gnomon.txn.TxnRecord.CommitRecord;
import io.gnomon.txn.TxnRecord.Outcome;
import io.gnomon.txn.TxnRecord.Prepare;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The bytes of one {@link TxnRecord}, a Paxos log entry of a group. Pure. Little-endian:
 * <pre>
 *   u8 version (1)  u8 type  txn = (i64 priorityEpochNanos, i64 clientId, i32 attempt)  body
 *   writes  = i32 count, count x (i32 keyLength, key, i32 valueLength (-1: delete), value)
 *   groups  = i32 count, count x i64 groupId
 *   string  = i32 length, UTF-8 bytes
 *   PREPARE       (1) body = i64 prepareTs, i64 coordinatorGroup, writes
 *   COMMIT_RECORD (2) body = i64 commitTs, groups, writes
 *   ABORT_RECORD  (3) body = groups, string reason, u8 retryable (0|1)
 *   OUTCOME       (4) body = u8 committed (0|1), i64 commitTs (-1 when aborted)
 *   COMMIT        (5) body = i64 commitTs, writes
 * </pre>
 * Decoding trusts no length: each is checked against the bytes that remain, and trailing bytes are an error, so
 * damaged bytes are reported ({@link MalformedRecordException}, naming the offset and field), never a wrong record.
 */
public final class TxnRecordCodec {
    static final byte VERSION = 1;
    private static final byte PREPARE = 1;
    private static final byte COMMIT_RECORD = 2;
    private static final byte ABORT_RECORD = 3;
    private static final byte OUTCOME = 4;
    private static final byte COMMIT = 5;

    private TxnRecordCodec() {
    }

    /** Bytes that do not decode to a record; the text says where and why. */
    public static final class MalformedRecordException extends Exception {
        public MalformedRecordException(String message) {
            super(message);
        }
    }

    public static byte[] encode(TxnRecord r) {
        Out o = new Out();
        o.b.write(VERSION);
        TxnId t = r.txn();
        if (r instanceof Prepare p) {
            o.b.write(PREPARE);
            o.txn(t).i64(p.prepareTimestampEpochNanos()).i64(p.coordinatorGroup()).writes(p.writes());
        } else if (r instanceof CommitRecord c) {
            o.b.write(COMMIT_RECORD);
            o.txn(t).i64(c.commitTimestampEpochNanos()).groups(c.participantGroups()).writes(c.writes());
        } else if (r instanceof AbortRecord a) {
            o.b.write(ABORT_RECORD);
            o.txn(t).groups(a.participantGroups()).string(a.reason()).b.write(a.retryable() ? 1 : 0);
        } else if (r instanceof Outcome oc) {
            o.b.write(OUTCOME);
            o.txn(t).b.write(oc.committed() ? 1 : 0);
            o.i64(oc.commitTimestampEpochNanos());
        } else if (r instanceof Commit c) {
            o.b.write(COMMIT);
            o.txn(t).i64(c.commitTimestampEpochNanos()).writes(c.writes());
        } else {
            throw new IllegalArgumentException("unknown record type " + r.getClass().getName());
        }
        return o.b.toByteArray();
    }

    public static TxnRecord decode(byte[] bytes) throws MalformedRecordException {
        In in = new In(bytes);
        int version = in.u8("version");
        if (version != VERSION) {
            throw new MalformedRecordException("transaction record version " + version + " at offset 0 is not "
                    + VERSION + " (written by a newer or foreign writer?)");
        }
        int type = in.u8("type");
        TxnId txn = in.txn();
        TxnRecord r;
        try {
            r = switch (type) {
                case PREPARE -> new Prepare(txn, in.i64("prepareTs"), in.i64("coordinatorGroup"), in.writes());
                case COMMIT_RECORD -> new CommitRecord(txn, in.i64("commitTs"), in.groups(), in.writes());
                case ABORT_RECORD -> new AbortRecord(txn, in.groups(), in.string("reason"), in.flag("retryable"));
                case OUTCOME -> new Outcome(txn, in.flag("committed"), in.i64("commitTs"));
                case COMMIT -> new Commit(txn, in.i64("commitTs"), in.writes());
                default -> throw new MalformedRecordException("unknown transaction record type " + type
                        + " at offset 1");
            };
        } catch (IllegalArgumentException e) {
            throw new MalformedRecordException("transaction record of type " + type + " is invalid: "
                    + e.getMessage());
        }
        if (in.buf.hasRemaining()) {
            throw new MalformedRecordException(in.buf.remaining() + " trailing bytes after the record at offset "
                    + in.buf.position());
        }
        return r;
    }

    private static final class Out {
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
                if (w.isDelete()) {
                    i32(-1);
                } else {
                    bytes(w.valueOrNull());
                }
            }
            return this;
        }
    }

    private static final class In {
        final ByteBuffer buf;

        In(byte[] bytes) {
            buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        }

        private void need(int n, String field) throws MalformedRecordException {
            if (buf.remaining() < n) {
                throw new MalformedRecordException("transaction record truncated at offset " + buf.position()
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
            long priority = i64("txn priority");
            long client = i64("txn client");
            int attempt = i32("txn attempt");
            try {
                return new TxnId(priority, client, attempt);
            } catch (IllegalArgumentException e) {
                throw new MalformedRecordException("transaction id at offset 2 is invalid: " + e.getMessage());
            }
        }

        String string(String field) throws MalformedRecordException {
            return new String(bytes(field), StandardCharsets.UTF_8);
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
                if (valueLength == -1) {
                    writes.add(Write.delete(key));
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
