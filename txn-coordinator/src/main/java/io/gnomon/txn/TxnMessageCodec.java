package io.gnomon.txn;

import io.gnomon.txn.TxnBytes.In;
import io.gnomon.txn.TxnBytes.Out;
import io.gnomon.txn.TxnMessage.Abort;
import io.gnomon.txn.TxnMessage.Commit;
import io.gnomon.txn.TxnMessage.Inquire;
import io.gnomon.txn.TxnMessage.InquireReply;
import io.gnomon.txn.TxnMessage.InquireReply.Decision;
import io.gnomon.txn.TxnMessage.OutcomeLogged;
import io.gnomon.txn.TxnMessage.PrepareRefused;
import io.gnomon.txn.TxnMessage.Prepared;
import io.gnomon.txn.TxnRecordCodec.MalformedRecordException;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetEncoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * The bytes of one {@link TxnMessage}, what one group's leader sends another's (carried between processes in a
 * {@code PeerFrame}'s {@code txn} field, docs/paxos.md). Pure. Little-endian, with {@link TxnRecordCodec}'s
 * helpers and conventions:
 * <pre>
 *   u8 version (1)  u8 type  txn = (i64 priorityEpochNanos, i64 clientId, i32 attempt)  body
 *   string = i32 length (at most MAX_REASON_BYTES), UTF-8 bytes
 *   PREPARED        (1) body = i64 fromGroup, i64 prepareTs
 *   PREPARE_REFUSED (2) body = i64 fromGroup, string reason
 *   COMMIT          (3) body = i64 commitTs
 *   ABORT           (4) body = string reason
 *   INQUIRE         (5) body = i64 fromGroup, i64 prepareTs
 *   INQUIRE_REPLY   (6) body = u8 decision (0 COMMITTED, 1 ABORTED, 2 DECIDING), i64 commitTs (-1: none)
 *   OUTCOME_LOGGED  (7) body = i64 fromGroup
 * </pre>
 * Group ids are {@code >= 1}; prepare timestamps, and the commit timestamp of a commit or of a COMMITTED reply, are
 * {@code >= 0}. Encoding a message that breaks these rules is a bug of its sender ({@link IllegalArgumentException});
 * decoding them, or a truncation, trailing bytes or a reason over {@link #MAX_REASON_BYTES}, is refused with a
 * {@link MalformedRecordException} naming the offset and the field, never a wrong message. A reason is for people:
 * {@link #encode} shortens a longer one to the limit (on a character boundary) rather than fail a protocol step.
 */
public final class TxnMessageCodec {
    static final byte VERSION = 1;
    /** The longest reason (UTF-8 bytes) a refusal or an abort carries on the wire. */
    public static final int MAX_REASON_BYTES = 1024;
    private static final byte PREPARED = 1;
    private static final byte PREPARE_REFUSED = 2;
    private static final byte COMMIT = 3;
    private static final byte ABORT = 4;
    private static final byte INQUIRE = 5;
    private static final byte INQUIRE_REPLY = 6;
    private static final byte OUTCOME_LOGGED = 7;
    private static final Decision[] DECISIONS = Decision.values();
    private static final String WHAT = "transaction message";

    private TxnMessageCodec() {
    }

    public static byte[] encode(TxnMessage m) {
        Out o = new Out();
        o.b.write(VERSION);
        if (m instanceof Prepared p) {
            o.b.write(PREPARED);
            o.txn(p.txn()).i64(group(p.fromGroup())).i64(timestamp("prepareTs", p.prepareTimestampEpochNanos()));
        } else if (m instanceof PrepareRefused r) {
            o.b.write(PREPARE_REFUSED);
            o.txn(r.txn()).i64(group(r.fromGroup())).bytes(reason(r.reason()));
        } else if (m instanceof Commit c) {
            o.b.write(COMMIT);
            o.txn(c.txn()).i64(timestamp("commitTs", c.commitTimestampEpochNanos()));
        } else if (m instanceof Abort a) {
            o.b.write(ABORT);
            o.txn(a.txn()).bytes(reason(a.reason()));
        } else if (m instanceof Inquire q) {
            o.b.write(INQUIRE);
            o.txn(q.txn()).i64(group(q.fromGroup())).i64(timestamp("prepareTs", q.prepareTimestampEpochNanos()));
        } else if (m instanceof InquireReply r) {
            o.b.write(INQUIRE_REPLY);
            o.txn(r.txn()).b.write(r.decision().ordinal());
            o.i64(r.decision() == Decision.COMMITTED ? timestamp("commitTs", r.commitTimestampEpochNanos())
                    : r.commitTimestampEpochNanos());
        } else if (m instanceof OutcomeLogged a) {
            o.b.write(OUTCOME_LOGGED);
            o.txn(a.txn()).i64(group(a.fromGroup()));
        } else {
            throw new IllegalArgumentException("unknown transaction message type " + m.getClass().getName());
        }
        return o.b.toByteArray();
    }

    public static TxnMessage decode(byte[] bytes) throws MalformedRecordException {
        In in = new In(bytes, WHAT);
        int version = in.u8("version");
        if (version != VERSION) {
            throw new MalformedRecordException(WHAT + " version " + version + " at offset 0 is not " + VERSION
                    + " (sent by a newer or foreign process?)");
        }
        int type = in.u8("type");
        TxnId txn = in.txn();
        TxnMessage m = switch (type) {
            case PREPARED -> new Prepared(txn, group(in, "fromGroup"), timestamp(in, "prepareTs"));
            case PREPARE_REFUSED -> new PrepareRefused(txn, group(in, "fromGroup"), in.string("reason",
                    MAX_REASON_BYTES));
            case COMMIT -> new Commit(txn, timestamp(in, "commitTs"));
            case ABORT -> new Abort(txn, in.string("reason", MAX_REASON_BYTES));
            case INQUIRE -> new Inquire(txn, group(in, "fromGroup"), timestamp(in, "prepareTs"));
            case INQUIRE_REPLY -> {
                int at = in.buf.position();
                int d = in.u8("decision");
                if (d >= DECISIONS.length) {
                    throw new MalformedRecordException("decision " + d + " at offset " + at + " is not one of 0 ("
                            + DECISIONS[0] + ") to " + (DECISIONS.length - 1) + " (" + DECISIONS[DECISIONS.length - 1]
                            + ")");
                }
                Decision decision = DECISIONS[d];
                yield new InquireReply(txn, decision, decision == Decision.COMMITTED ? timestamp(in, "commitTs")
                        : in.i64("commitTs"));
            }
            case OUTCOME_LOGGED -> new OutcomeLogged(txn, group(in, "fromGroup"));
            default -> throw new MalformedRecordException("unknown " + WHAT + " type " + type + " at offset 1");
        };
        if (in.buf.hasRemaining()) {
            throw new MalformedRecordException(in.buf.remaining() + " trailing bytes after the " + WHAT
                    + " at offset " + in.buf.position());
        }
        return m;
    }

    private static long group(In in, String field) throws MalformedRecordException {
        int at = in.buf.position();
        long g = in.i64(field);
        if (g < 1) {
            throw new MalformedRecordException(field + " " + g + " at offset " + at + " is not a group id (>= 1)");
        }
        return g;
    }

    private static long timestamp(In in, String field) throws MalformedRecordException {
        int at = in.buf.position();
        long ts = in.i64(field);
        if (ts < 0) {
            throw new MalformedRecordException(field + " " + ts + " at offset " + at + " is negative");
        }
        return ts;
    }

    private static long group(long g) {
        if (g < 1) {
            throw new IllegalArgumentException("fromGroup " + g + " is not a group id (>= 1)");
        }
        return g;
    }

    private static long timestamp(String field, long ts) {
        if (ts < 0) {
            throw new IllegalArgumentException(field + " " + ts + " is negative");
        }
        return ts;
    }

    /** {@code reason}'s UTF-8 bytes, shortened to {@link #MAX_REASON_BYTES} on a character boundary. */
    static byte[] reason(String reason) {
        byte[] all = reason.getBytes(StandardCharsets.UTF_8);
        if (all.length <= MAX_REASON_BYTES) {
            return all;
        }
        CharsetEncoder encoder = StandardCharsets.UTF_8.newEncoder()
                .onMalformedInput(CodingErrorAction.REPLACE).onUnmappableCharacter(CodingErrorAction.REPLACE);
        ByteBuffer out = ByteBuffer.allocate(MAX_REASON_BYTES);
        encoder.encode(CharBuffer.wrap(reason), out, true); // stops before the first character that does not fit
        byte[] cut = new byte[out.position()];
        out.flip().get(cut);
        return cut;
    }
}
