package io.gnomon.txn;

import io.gnomon.txn.TxnBytes.In;
import io.gnomon.txn.TxnBytes.Out;
import io.gnomon.txn.TxnRecord.AbortRecord;
import io.gnomon.txn.TxnRecord.Commit;
import io.gnomon.txn.TxnRecord.CommitRecord;
import io.gnomon.txn.TxnRecord.Forget;
import io.gnomon.txn.TxnRecord.Outcome;
import io.gnomon.txn.TxnRecord.Prepare;

import java.util.ArrayList;
import java.util.List;

/**
 * The bytes of one {@link TxnRecord}, a Paxos log entry of a group. Pure. Little-endian:
 * <pre>
 *   u8 version (1)  u8 type  txn = (i64 priorityEpochNanos, i64 clientId, i32 attempt)  body
 *   writes  = i32 count, count x (i32 keyLength, key, i32 valueLength, value)
 *             valueLength -1: a delete (no value); -2: a range delete [key, end of the key space);
 *             -3: a range delete [key, rangeEnd), followed by i32 rangeEndLength, rangeEnd (after key)
 *   groups  = i32 count, count x i64 groupId
 *   string  = i32 length, UTF-8 bytes
 *   PREPARE       (1) body = i64 prepareTs, i64 coordinatorGroup, writes
 *   COMMIT_RECORD (2) body = i64 commitTs, groups, writes
 *   ABORT_RECORD  (3) body = groups, string reason, u8 retryable (0|1)
 *   OUTCOME       (4) body = u8 committed (0|1), i64 commitTs (-1 when aborted)
 *   COMMIT        (5) body = i64 commitTs, writes
 *   FORGET        (6) body = i32 count (>= 1), count x txn (the header's txn is the first of them)
 * </pre>
 * Type 6 came after the others under the same version: every record written before it still decodes, and a reader
 * older than it refuses a Forget by name ("unknown transaction record type 6").
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
    private static final byte FORGET = 6;
    /** The bytes of one transaction id. */
    static final int TXN_BYTES = 8 + 8 + 4;

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
        } else if (r instanceof Forget f) {
            o.b.write(FORGET);
            o.txn(t).i32(f.txns().size());
            f.txns().forEach(o::txn);
        } else {
            throw new IllegalArgumentException("unknown record type " + r.getClass().getName());
        }
        return o.b.toByteArray();
    }

    public static TxnRecord decode(byte[] bytes) throws MalformedRecordException {
        In in = new In(bytes, "transaction record");
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
                case FORGET -> forget(txn, in);
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

    private static Forget forget(TxnId first, In in) throws MalformedRecordException {
        int at = in.buf.position();
        int n = in.count("forget count", TXN_BYTES);
        if (n < 1) {
            throw new MalformedRecordException("forget count " + n + " at offset " + at + " is not >= 1");
        }
        List<TxnId> txns = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            txns.add(in.txn());
        }
        if (!txns.get(0).equals(first)) {
            throw new MalformedRecordException("forget's first transaction " + txns.get(0) + " at offset "
                    + (at + 4) + " is not the header's " + first);
        }
        return new Forget(txns);
    }
}
