package io.gnomon.paxos.wal;

import io.gnomon.paxos.Ballot;
import io.gnomon.paxos.DurableState;
import io.gnomon.paxos.Entry;
import io.gnomon.paxos.PersistWrite;
import io.gnomon.paxos.PersistWrite.PersistAccepted;
import io.gnomon.paxos.PersistWrite.PersistConfig;
import io.gnomon.paxos.PersistWrite.PersistDecided;
import io.gnomon.paxos.PersistWrite.PersistLeaseGrant;
import io.gnomon.paxos.PersistWrite.PersistPromise;
import io.gnomon.paxos.PersistWrite.PersistSnapshot;
import io.gnomon.paxos.Snapshot;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The frames of a {@link ProcessLog} segment (docs/process-log.md), little-endian:
 * <pre>
 *   u32 length (of type + payload)   u32 crc32c(type + payload)   u8 type   payload
 *   payload = i64 groupId, then by type:
 *   PROMISE     (1): i64 configId, ballot
 *   LEASE_GRANT (2): i64 grantedLeaseEndEpochNanos
 *   ACCEPTED    (3): i64 configId, ballot acceptedRound, i64 fromSlot, i32 count, count x entry
 *   DECIDED     (4): i64 decidedIndex
 *   SNAPSHOT    (5): snapshot
 *   CONFIG      (6): i64 configId, members, i64 configStartIndex, i64 truncateLogAt
 *   CHECKPOINT  (7): i64 configId, members, i64 configStartIndex, ballot promised, ballot acceptedRound,
 *                    u8 hasSnapshot [snapshot], i64 firstSlot, i64 decidedIndex, i64 grantedLeaseEndEpochNanos,
 *                    i32 count, count x entry
 *   FORGET      (8): nothing more
 *   ballot   = i64 round, i32 replicaId
 *   members  = i32 count, count x i32
 *   entry    = i64 nextConfigId, members nextMembers, i32 valueLength, value
 *   snapshot = i64 lastIncludedSlot, i64 configId, members, i64 configStartIndex, i32 stateLength (0), state
 * </pre>
 * A snapshot is metadata only (the state lives in the group's state machine): its state is written empty, and the
 * state bytes of a log written before that are read and ignored (the machine, not the log, holds the state).
 * Types 1-6 are the core's {@link PersistWrite}s one to one (their replay is {@link DurableState}); 7 is the whole
 * durable state of a group, after which its earlier frames are not needed; 8 says the process no longer holds the
 * group: replay drops what it had of it (a later frame of the group starts it afresh). Every count and length is checked
 * against the bytes that remain before anything is allocated.
 */
final class WalCodec {
    static final byte PROMISE = 1;
    static final byte LEASE_GRANT = 2;
    static final byte ACCEPTED = 3;
    static final byte DECIDED = 4;
    static final byte SNAPSHOT = 5;
    static final byte CONFIG = 6;
    static final byte CHECKPOINT = 7;
    static final byte FORGET = 8;

    /** length and crc32c. */
    static final int FRAME_HEADER_BYTES = 8;
    /** The smallest type + payload: a type byte and a group id. */
    static final int MIN_BODY_BYTES = 1 + 8;

    private WalCodec() {
    }

    /** One decoded frame. */
    sealed interface WalRecord {
        long groupId();
    }

    /** A core write of group {@code groupId}. */
    record Write(long groupId, PersistWrite write) implements WalRecord {
    }

    /** The whole durable state of group {@code groupId}: replay restarts the group from it. */
    record Checkpoint(long groupId, DurableState.Recovered state) implements WalRecord {
    }

    /** Group {@code groupId} left the process: its state so far is gone. */
    record Forget(long groupId) implements WalRecord {
    }

    /** A frame body that does not decode; the message says why. */
    static final class CorruptFrameException extends Exception {
        CorruptFrameException(String message) {
            super(message);
        }
    }

    // ---------------------------------------------------------------- encoding

    /** Appends frames into one reusable, growing buffer (a batch is written with one channel write). */
    static final class Encoder {
        private final int maxFrameBytes;
        private ByteBuffer buf = ByteBuffer.allocate(64 << 10).order(ByteOrder.LITTLE_ENDIAN);
        private final CRC32C crc = new CRC32C();

        Encoder(int maxFrameBytes) {
            this.maxFrameBytes = maxFrameBytes;
        }

        void reset() {
            buf.clear();
        }

        /** The frames appended since {@link #reset()}, [0, position). */
        ByteBuffer buffer() {
            return buf;
        }

        /** Appends one frame holding {@code w}; returns its size in bytes. */
        int write(long groupId, PersistWrite w) {
            int start = begin(bodyBytes(w), typeOf(w), groupId);
            if (w instanceof PersistPromise p) {
                buf.putLong(p.configId());
                putBallot(p.promised());
            } else if (w instanceof PersistLeaseGrant g) {
                buf.putLong(g.grantedLeaseEndEpochNanos());
            } else if (w instanceof PersistAccepted a) {
                buf.putLong(a.configId());
                putBallot(a.acceptedRound());
                buf.putLong(a.fromSlot());
                putEntries(a.entries());
            } else if (w instanceof PersistDecided d) {
                buf.putLong(d.decidedIndex());
            } else if (w instanceof PersistSnapshot s) {
                putSnapshot(s.snapshot());
            } else if (w instanceof PersistConfig c) {
                buf.putLong(c.configId());
                putMembers(c.members());
                buf.putLong(c.configStartIndex());
                buf.putLong(c.truncateLogAt());
            }
            return finish(start);
        }

        /** Appends one CHECKPOINT frame holding {@code r}; returns its size in bytes. */
        int checkpoint(long groupId, DurableState.Recovered r) {
            int start = begin(checkpointBodyBytes(r), CHECKPOINT, groupId);
            buf.putLong(r.configId());
            putMembers(r.members());
            buf.putLong(r.configStartIndex());
            putBallot(r.promised());
            putBallot(r.acceptedRound());
            buf.put((byte) (r.snapshot() == null ? 0 : 1));
            if (r.snapshot() != null) {
                putSnapshot(r.snapshot());
            }
            buf.putLong(r.firstSlot());
            buf.putLong(r.decidedIndex());
            buf.putLong(r.grantedLeaseEndEpochNanos());
            putEntries(r.entries());
            return finish(start);
        }

        /** Appends one FORGET frame for {@code groupId}; returns its size in bytes. */
        int forget(long groupId) {
            return finish(begin(MIN_BODY_BYTES, FORGET, groupId));
        }

        /** Any type and body bytes after the group id, framed with a correct length and crc: for tests. */
        int raw(long groupId, byte type, byte[] rest) {
            int start = begin(MIN_BODY_BYTES + (long) rest.length, type, groupId);
            buf.put(rest);
            return finish(start);
        }

        private int begin(long bodyBytes, byte type, long groupId) {
            long frameBytes = FRAME_HEADER_BYTES + bodyBytes;
            if (frameBytes > maxFrameBytes) {
                throw new IllegalArgumentException("a type " + type + " record of group " + groupId + " encodes to "
                        + frameBytes + " bytes, more than maxFrameBytes " + maxFrameBytes
                        + "; split the write (fewer entries) or raise ProcessLogOptions.maxFrameBytes");
            }
            if (buf.remaining() < frameBytes) {
                long want = Math.max(buf.position() + frameBytes, 2L * buf.capacity());
                if (want > Integer.MAX_VALUE - 8) {
                    want = buf.position() + frameBytes;
                }
                ByteBuffer bigger = ByteBuffer.allocate((int) want).order(ByteOrder.LITTLE_ENDIAN);
                buf.flip();
                bigger.put(buf);
                buf = bigger;
            }
            int start = buf.position();
            buf.putInt((int) bodyBytes);
            buf.putInt(0); // crc, filled in by finish
            buf.put(type);
            buf.putLong(groupId);
            return start;
        }

        private int finish(int start) {
            int end = buf.position();
            int bodyBytes = buf.getInt(start);
            if (end - start != FRAME_HEADER_BYTES + bodyBytes) {
                throw new IllegalStateException("frame size computed as " + (FRAME_HEADER_BYTES + bodyBytes)
                        + " bytes but " + (end - start) + " were written");
            }
            crc.reset();
            crc.update(buf.array(), start + FRAME_HEADER_BYTES, bodyBytes);
            buf.putInt(start + 4, (int) crc.getValue());
            return end - start;
        }

        private void putBallot(Ballot b) {
            buf.putLong(b.round());
            buf.putInt(b.replicaId());
        }

        private void putMembers(List<Integer> members) {
            buf.putInt(members.size());
            for (int m : members) {
                buf.putInt(m);
            }
        }

        private void putEntries(List<Entry> entries) {
            buf.putInt(entries.size());
            for (Entry e : entries) {
                buf.putLong(e.nextConfigId());
                putMembers(e.nextMembers());
                buf.putInt(e.value().length);
                buf.put(e.value());
            }
        }

        private void putSnapshot(Snapshot s) {
            buf.putLong(s.lastIncludedSlot());
            buf.putLong(s.configId());
            putMembers(s.members());
            buf.putLong(s.configStartIndex());
            buf.putInt(0); // the state's length: a snapshot is metadata only now (see the class comment)
        }
    }

    static byte typeOf(PersistWrite w) {
        if (w instanceof PersistPromise) {
            return PROMISE;
        } else if (w instanceof PersistLeaseGrant) {
            return LEASE_GRANT;
        } else if (w instanceof PersistAccepted) {
            return ACCEPTED;
        } else if (w instanceof PersistDecided) {
            return DECIDED;
        } else if (w instanceof PersistSnapshot) {
            return SNAPSHOT;
        } else if (w instanceof PersistConfig) {
            return CONFIG;
        }
        throw new IllegalArgumentException("no frame type for " + w.getClass().getName());
    }

    private static final int BALLOT_BYTES = 12;

    private static long membersBytes(List<Integer> members) {
        return 4 + 4L * members.size();
    }

    private static long entriesBytes(List<Entry> entries) {
        long n = 4;
        for (Entry e : entries) {
            n += 8 + membersBytes(e.nextMembers()) + 4 + e.value().length;
        }
        return n;
    }

    private static long snapshotBytes(Snapshot s) {
        return 8 + 8 + membersBytes(s.members()) + 8 + 4;
    }

    /** Type byte, group id and payload of {@code w}. */
    static long bodyBytes(PersistWrite w) {
        long payload;
        if (w instanceof PersistPromise) {
            payload = 8 + BALLOT_BYTES;
        } else if (w instanceof PersistLeaseGrant) {
            payload = 8;
        } else if (w instanceof PersistAccepted a) {
            payload = 8 + BALLOT_BYTES + 8 + entriesBytes(a.entries());
        } else if (w instanceof PersistDecided) {
            payload = 8;
        } else if (w instanceof PersistSnapshot s) {
            payload = snapshotBytes(s.snapshot());
        } else if (w instanceof PersistConfig c) {
            payload = 8 + membersBytes(c.members()) + 8 + 8;
        } else {
            throw new IllegalArgumentException("no frame type for " + w.getClass().getName());
        }
        return MIN_BODY_BYTES + payload;
    }

    static long checkpointBodyBytes(DurableState.Recovered r) {
        return MIN_BODY_BYTES + 8 + membersBytes(r.members()) + 8 + 2 * BALLOT_BYTES + 1
                + (r.snapshot() == null ? 0 : snapshotBytes(r.snapshot())) + 8 + 8 + 8 + entriesBytes(r.entries());
    }

    // ---------------------------------------------------------------- decoding

    /**
     * Decodes one frame body (type, group id, payload: {@code body}'s remaining bytes, checksum already verified).
     */
    static WalRecord decode(ByteBuffer body) throws CorruptFrameException {
        ByteBuffer in = body.slice().order(ByteOrder.LITTLE_ENDIAN);
        int length = in.remaining();
        if (length < MIN_BODY_BYTES) {
            throw new CorruptFrameException("a frame body of " + length + " bytes, at least " + MIN_BODY_BYTES);
        }
        byte type = in.get();
        long groupId = in.getLong();
        try {
            WalRecord r = switch (type) {
                case PROMISE -> new Write(groupId, new PersistPromise(in.getLong(), ballot(in)));
                case LEASE_GRANT -> new Write(groupId, new PersistLeaseGrant(in.getLong()));
                case ACCEPTED -> new Write(groupId, new PersistAccepted(in.getLong(), ballot(in), in.getLong(),
                        entries(in)));
                case DECIDED -> new Write(groupId, new PersistDecided(in.getLong()));
                case SNAPSHOT -> new Write(groupId, new PersistSnapshot(snapshot(in)));
                case CONFIG -> new Write(groupId, new PersistConfig(in.getLong(), members(in), in.getLong(),
                        in.getLong()));
                case CHECKPOINT -> new Checkpoint(groupId, checkpoint(in));
                case FORGET -> new Forget(groupId);
                default -> throw new CorruptFrameException("unknown frame type " + type);
            };
            if (in.hasRemaining()) {
                throw new CorruptFrameException(in.remaining() + " trailing bytes after a type " + type + " frame");
            }
            return r;
        } catch (BufferUnderflowException e) {
            throw new CorruptFrameException("a type " + type + " frame of " + length + " bytes ends inside its fields");
        } catch (IllegalArgumentException e) {
            throw new CorruptFrameException("bad field in a type " + type + " frame: " + e.getMessage());
        }
    }

    private static DurableState.Recovered checkpoint(ByteBuffer in) throws CorruptFrameException {
        long configId = in.getLong();
        List<Integer> members = members(in);
        long configStartIndex = in.getLong();
        Ballot promised = ballot(in);
        Ballot acceptedRound = ballot(in);
        byte hasSnapshot = in.get();
        if (hasSnapshot != 0 && hasSnapshot != 1) {
            throw new CorruptFrameException("hasSnapshot is " + hasSnapshot + ", not 0 or 1");
        }
        Snapshot snapshot = hasSnapshot == 1 ? snapshot(in) : null;
        long firstSlot = in.getLong();
        long decidedIndex = in.getLong();
        long grantedLeaseEnd = in.getLong();
        List<Entry> entries = entries(in);
        return new DurableState.Recovered(configId, members, configStartIndex, promised, acceptedRound, snapshot,
                firstSlot, entries, decidedIndex, grantedLeaseEnd);
    }

    private static Ballot ballot(ByteBuffer in) {
        long round = in.getLong();
        return new Ballot(round, in.getInt());
    }

    private static List<Integer> members(ByteBuffer in) throws CorruptFrameException {
        int n = count(in, 4, "members");
        List<Integer> members = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            members.add(in.getInt());
        }
        return members;
    }

    /** Each entry takes at least 16 bytes (next config id, member count, value length). */
    private static List<Entry> entries(ByteBuffer in) throws CorruptFrameException {
        int n = count(in, 16, "entries");
        List<Entry> entries = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            long nextConfigId = in.getLong();
            List<Integer> nextMembers = members(in);
            entries.add(new Entry(bytes(in, "value"), nextConfigId, nextMembers));
        }
        return entries;
    }

    private static Snapshot snapshot(ByteBuffer in) throws CorruptFrameException {
        long lastIncludedSlot = in.getLong();
        long configId = in.getLong();
        List<Integer> members = members(in);
        long configStartIndex = in.getLong();
        bytes(in, "state"); // written empty; a log written before snapshots became metadata holds state: ignored
        return new Snapshot(lastIncludedSlot, configId, members, configStartIndex);
    }

    private static int count(ByteBuffer in, int minBytesEach, String field) throws CorruptFrameException {
        int n = in.getInt();
        if (n < 0 || (long) n * minBytesEach > in.remaining()) {
            throw new CorruptFrameException(field + " count " + n + " does not fit in the " + in.remaining()
                    + " bytes left");
        }
        return n;
    }

    private static byte[] bytes(ByteBuffer in, String field) throws CorruptFrameException {
        int n = in.getInt();
        if (n < 0 || n > in.remaining()) {
            throw new CorruptFrameException(field + " length " + n + " with " + in.remaining() + " bytes left");
        }
        byte[] b = new byte[n];
        in.get(b);
        return b;
    }
}
