package io.gnomon.paxos.storage;

import io.gnomon.paxos.Ballot;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The bytes of one log record, carried as the whole body of one Chronicle document (docs/paxos-log.md).
 * Little-endian:
 * <pre>
 *   u8  version (1)   u8 type   i32 payloadLength   payload[payloadLength]   i32 crc32c(version..payload)
 *   PROMISE  (1): i64 round, i32 replicaId, i64 leaseEndEpochNanos
 *   ACCEPTED (2): i32 count, count x (i64 slot, i64 round, i32 replicaId, i32 valueLength, value)
 *   DECIDED  (3): i64 decidedUpToSlot
 *   SNAPSHOT (4): i64 lastIncludedSlot, i64 round, i32 replicaId, i32 stateLength, state,
 *                 i32 membershipLength, membership
 * </pre>
 * Chronicle already skips a document whose write never completed; the length and checksum catch the rest
 * (bytes damaged on disk, garbage that happens to look like a complete document), so a record either decodes
 * to exactly what was written or is reported as corrupt.
 */
final class RecordCodec {
    static final byte VERSION = 1;
    static final byte PROMISE = 1;
    static final byte ACCEPTED = 2;
    static final byte DECIDED = 3;
    static final byte SNAPSHOT = 4;

    static final int FRAME_OVERHEAD_BYTES = 1 + 1 + 4 + 4;
    static final int ENTRY_OVERHEAD_BYTES = 8 + 8 + 4 + 4;
    static final int SNAPSHOT_OVERHEAD_BYTES = 8 + 8 + 4 + 4 + 4;

    private RecordCodec() {
    }

    /** A record as read back. */
    sealed interface Decoded permits Promise, Accepted, Decided, SnapshotRecord {
    }

    record Promise(Ballot ballot, long leaseEndEpochNanos) implements Decoded {
    }

    record Accepted(List<DurableLog.Entry> entries) implements Decoded {
    }

    record Decided(long decidedUpToSlot) implements Decoded {
    }

    record SnapshotRecord(DurableLog.Snapshot snapshot) implements Decoded {
    }

    /** A record that does not decode; the message says why, for the recovery log line. */
    static final class CorruptRecordException extends Exception {
        CorruptRecordException(String message) {
            super(message);
        }
    }

    /** Encodes into one reusable, growing buffer: the log writes one record at a time. */
    static final class Encoder {
        private ByteBuffer buf = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
        private final CRC32C crc = new CRC32C();

        byte[] array() {
            return buf.array();
        }

        /** Encodes a promise; returns the record length in {@link #array()}. */
        int promise(Ballot b, long leaseEndEpochNanos) {
            begin(PROMISE, 20);
            putBallot(b);
            buf.putLong(leaseEndEpochNanos);
            return finish();
        }

        int accepted(List<DurableLog.Entry> entries, int from, int to) {
            long payload = 4;
            for (int i = from; i < to; i++) {
                payload += ENTRY_OVERHEAD_BYTES + entries.get(i).value().length;
            }
            begin(ACCEPTED, payload);
            buf.putInt(to - from);
            for (int i = from; i < to; i++) {
                DurableLog.Entry e = entries.get(i);
                buf.putLong(e.slot());
                putBallot(e.ballot());
                buf.putInt(e.value().length);
                buf.put(e.value());
            }
            return finish();
        }

        int decided(long decidedUpToSlot) {
            begin(DECIDED, 8);
            buf.putLong(decidedUpToSlot);
            return finish();
        }

        int snapshot(DurableLog.Snapshot s) {
            begin(SNAPSHOT, SNAPSHOT_OVERHEAD_BYTES + (long) s.state().length + s.membership().length);
            buf.putLong(s.lastIncludedSlot());
            putBallot(s.lastIncludedBallot());
            buf.putInt(s.state().length);
            buf.put(s.state());
            buf.putInt(s.membership().length);
            buf.put(s.membership());
            return finish();
        }

        /** Any type and payload, framed with a correct length and checksum: lets tests write bad layouts. */
        int raw(byte type, byte[] payload) {
            begin(type, payload.length);
            buf.put(payload);
            return finish();
        }

        private void begin(byte type, long payloadBytes) {
            long total = payloadBytes + FRAME_OVERHEAD_BYTES;
            if (total > LogLimits.MAX_RECORD_BYTES) {
                throw new IllegalStateException("record of " + total + " bytes exceeds " + LogLimits.MAX_RECORD_BYTES);
            }
            if (buf.capacity() < total) {
                buf = ByteBuffer.allocate((int) Math.max(total, Math.min(2L * buf.capacity(), LogLimits.MAX_RECORD_BYTES)))
                        .order(ByteOrder.LITTLE_ENDIAN);
            }
            buf.clear();
            buf.put(VERSION).put(type).putInt((int) payloadBytes);
        }

        private void putBallot(Ballot b) {
            buf.putLong(b.round());
            buf.putInt(b.replicaId());
        }

        private int finish() {
            int len = buf.position();
            crc.reset();
            crc.update(buf.array(), 0, len);
            buf.putInt((int) crc.getValue());
            return buf.position();
        }
    }

    /** Decodes {@code bytes[0, length)}: exactly one whole record, or a {@link CorruptRecordException} saying why not. */
    static Decoded decode(byte[] bytes, int length) throws CorruptRecordException {
        if (length < FRAME_OVERHEAD_BYTES) {
            throw new CorruptRecordException("truncated: " + length + " bytes, a record has at least " + FRAME_OVERHEAD_BYTES);
        }
        ByteBuffer in = ByteBuffer.wrap(bytes, 0, length).order(ByteOrder.LITTLE_ENDIAN);
        byte version = in.get();
        byte type = in.get();
        int payloadLength = in.getInt();
        if (version != VERSION) {
            throw new CorruptRecordException("unknown format version " + version + " (this build reads " + VERSION + ")");
        }
        if (payloadLength < 0 || payloadLength != length - FRAME_OVERHEAD_BYTES) {
            throw new CorruptRecordException("length mismatch: header says " + payloadLength + " payload bytes, document holds "
                    + (length - FRAME_OVERHEAD_BYTES));
        }
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, length - 4);
        int stored = ByteBuffer.wrap(bytes, length - 4, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
        if (stored != (int) crc.getValue()) {
            throw new CorruptRecordException("checksum mismatch: stored crc32c " + Integer.toHexString(stored)
                    + ", computed " + Integer.toHexString((int) crc.getValue()));
        }
        in.limit(length - 4);
        try {
            Decoded d = switch (type) {
                case PROMISE -> new Promise(ballot(in), nonNegative(in.getLong(), "leaseEndEpochNanos"));
                case ACCEPTED -> accepted(in);
                case DECIDED -> new Decided(in.getLong());
                case SNAPSHOT -> snapshot(in);
                default -> throw new CorruptRecordException("unknown record type " + type);
            };
            if (in.hasRemaining()) {
                throw new CorruptRecordException("bad layout: " + in.remaining() + " trailing bytes after a type " + type + " record");
            }
            return d;
        } catch (BufferUnderflowException e) {
            throw new CorruptRecordException("truncated fields in a type " + type + " record of " + length + " bytes");
        } catch (IllegalArgumentException e) {
            throw new CorruptRecordException("bad field in a type " + type + " record: " + e.getMessage());
        }
    }

    private static Accepted accepted(ByteBuffer in) throws CorruptRecordException {
        int count = in.getInt();
        if (count < 0 || (long) count * ENTRY_OVERHEAD_BYTES > in.remaining()) {
            throw new CorruptRecordException("bad layout: entry count " + count + " does not fit in " + in.remaining() + " bytes");
        }
        List<DurableLog.Entry> entries = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            long slot = nonNegative(in.getLong(), "slot");
            Ballot b = ballot(in);
            entries.add(new DurableLog.Entry(slot, b, bytes(in, "value")));
        }
        return new Accepted(List.copyOf(entries));
    }

    private static SnapshotRecord snapshot(ByteBuffer in) throws CorruptRecordException {
        long slot = nonNegative(in.getLong(), "lastIncludedSlot");
        Ballot b = ballot(in);
        byte[] state = bytes(in, "state");
        byte[] membership = bytes(in, "membership");
        return new SnapshotRecord(new DurableLog.Snapshot(slot, b, state, membership));
    }

    private static Ballot ballot(ByteBuffer in) {
        long round = in.getLong();
        int replicaId = in.getInt();
        return new Ballot(round, replicaId);
    }

    private static byte[] bytes(ByteBuffer in, String field) throws CorruptRecordException {
        int n = in.getInt();
        if (n < 0 || n > in.remaining()) {
            throw new CorruptRecordException("bad layout: " + field + " length " + n + " with " + in.remaining() + " bytes left");
        }
        byte[] b = new byte[n];
        in.get(b);
        return b;
    }

    private static long nonNegative(long v, String field) {
        if (v < 0) {
            throw new IllegalArgumentException(field + " is negative: " + v);
        }
        return v;
    }
}
