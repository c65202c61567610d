package io.gnomon.paxos.runtime;

import io.gnomon.paxos.Ballot;
import io.gnomon.paxos.Entry;
import io.gnomon.paxos.Message;
import io.gnomon.paxos.Message.Accept;
import io.gnomon.paxos.Message.AcceptSync;
import io.gnomon.paxos.Message.Accepted;
import io.gnomon.paxos.Message.Decide;
import io.gnomon.paxos.Message.InstallSnapshot;
import io.gnomon.paxos.Message.Nack;
import io.gnomon.paxos.Message.PreVote;
import io.gnomon.paxos.Message.PreVoteReply;
import io.gnomon.paxos.Message.Prepare;
import io.gnomon.paxos.Message.Promise;
import io.gnomon.paxos.Message.SnapshotChunk;
import io.gnomon.paxos.Message.SnapshotRequest;
import io.gnomon.paxos.PaxosLimits;
import io.gnomon.paxos.Snapshot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The bytes of one Paxos {@link Message} between replica processes (docs/paxos.md, "Wire format"). Pure: no
 * I/O. Little-endian:
 * <pre>
 *   u8 version (1)  u8 type  i32 from  i32 to  i64 configId  body
 *   ballot   = i64 round, i32 replicaId
 *   members  = i32 count, count x i32
 *   entries  = i32 count, count x (i32 valueLength, value, i64 nextConfigId, members)
 *   snapshot = u8 present (0|1) [i64 lastIncludedSlot, i64 configId, members, i64 configStartIndex]
 *   SnapshotRequest body = i64 streamId, i64 seq, i64 endAtLeast
 *   SnapshotChunk body   = i64 streamId, i64 seq, i64 endIndex, u8 last (0|1), i32 dataLength, data
 * </pre>
 * A snapshot is metadata only (the state travels in SnapshotChunks, host to host); a chunk's data is bounded by
 * {@link PaxosLimits#maxBatchBytes()}.
 * Decoding never trusts a length: every count and length is checked against the bytes that remain and
 * against {@link PaxosLimits}, and trailing bytes are an error, so a truncated or damaged frame is reported
 * ({@link MalformedMessageException}, naming the offset and field) instead of becoming a wrong message.
 */
public final class MessageCodec {
    /** 2: Decide carries a timestamp promise (a replica of version 1 refuses these frames by their version). */
    static final byte VERSION = 2;
    private static final byte PREPARE = 1;
    private static final byte PROMISE = 2;
    private static final byte ACCEPT_SYNC = 3;
    private static final byte ACCEPT = 4;
    private static final byte DECIDE = 5;
    private static final byte ACCEPTED = 6;
    private static final byte NACK = 7;
    private static final byte INSTALL_SNAPSHOT = 8;
    private static final byte PRE_VOTE = 9;
    private static final byte PRE_VOTE_REPLY = 10;
    private static final byte SNAPSHOT_REQUEST = 11;
    private static final byte SNAPSHOT_CHUNK = 12;

    private final PaxosLimits limits;

    public MessageCodec(PaxosLimits limits) {
        this.limits = limits;
    }

    /** A frame that does not decode to a message; the text says where and why. */
    public static final class MalformedMessageException extends Exception {
        public MalformedMessageException(String message) {
            super(message);
        }
    }

    // ------------------------------------------------------------------ encode

    public byte[] encode(Message m) {
        ByteBuffer b = ByteBuffer.allocate(encodedSize(m)).order(ByteOrder.LITTLE_ENDIAN);
        b.put(VERSION).put(type(m)).putInt(m.from()).putInt(m.to()).putLong(m.configId());
        if (m instanceof Prepare p) {
            putMembers(b, p.members());
            b.putLong(p.configStartIndex());
            putBallot(b, p.ballot());
            putBallot(b, p.acceptedRound());
            b.putLong(p.logEnd()).putLong(p.decidedIndex()).putLong(p.leaseEndRequestedEpochNanos());
        } else if (m instanceof Promise p) {
            putBallot(b, p.ballot());
            putBallot(b, p.acceptedRound());
            b.putLong(p.logEnd()).putLong(p.decidedIndex()).putLong(p.suffixStart());
            putEntries(b, p.suffix());
            putSnapshot(b, p.snapshot());
            b.putLong(p.leaseEndGrantedEpochNanos());
        } else if (m instanceof AcceptSync a) {
            putBallot(b, a.ballot());
            b.putLong(a.syncIndex());
            putEntries(b, a.suffix());
            putSnapshot(b, a.snapshot());
            b.putLong(a.decidedIndex()).putLong(a.leaseEndRequestedEpochNanos());
        } else if (m instanceof Accept a) {
            putBallot(b, a.ballot());
            b.putLong(a.firstSlot());
            putEntries(b, a.entries());
            b.putLong(a.decidedIndex()).putLong(a.leaseEndRequestedEpochNanos());
        } else if (m instanceof Decide d) {
            putBallot(b, d.ballot());
            b.putLong(d.decidedIndex()).putLong(d.leaseEndRequestedEpochNanos());
            b.putLong(d.promiseAfterIndex()).putLong(d.promisedBelowTs());
        } else if (m instanceof Accepted a) {
            putBallot(b, a.ballot());
            b.putLong(a.logEnd()).putLong(a.leaseEndGrantedEpochNanos());
        } else if (m instanceof Nack n) {
            putBallot(b, n.promised());
        } else if (m instanceof InstallSnapshot s) {
            putBallot(b, s.ballot());
            putSnapshot(b, s.snapshot());
            b.putLong(s.decidedIndex()).putLong(s.leaseEndRequestedEpochNanos());
        } else if (m instanceof PreVote v) {
            putMembers(b, v.members());
            b.putLong(v.configStartIndex());
            putBallot(b, v.ballot());
        } else if (m instanceof PreVoteReply v) {
            putBallot(b, v.ballot());
            b.put((byte) (v.granted() ? 1 : 0));
            putBallot(b, v.promised());
        } else if (m instanceof SnapshotRequest q) {
            b.putLong(q.streamId()).putLong(q.seq()).putLong(q.endAtLeast());
        } else if (m instanceof SnapshotChunk c) {
            b.putLong(c.streamId()).putLong(c.seq()).putLong(c.endIndex()).put((byte) (c.last() ? 1 : 0))
                    .putInt(c.data().length).put(c.data());
        }
        if (b.hasRemaining()) {
            throw new IllegalStateException("encodedSize disagrees with encode for " + m.getClass().getSimpleName());
        }
        return b.array();
    }

    private static byte type(Message m) {
        if (m instanceof Prepare) {
            return PREPARE;
        } else if (m instanceof Promise) {
            return PROMISE;
        } else if (m instanceof AcceptSync) {
            return ACCEPT_SYNC;
        } else if (m instanceof Accept) {
            return ACCEPT;
        } else if (m instanceof Decide) {
            return DECIDE;
        } else if (m instanceof Accepted) {
            return ACCEPTED;
        } else if (m instanceof Nack) {
            return NACK;
        } else if (m instanceof PreVote) {
            return PRE_VOTE;
        } else if (m instanceof PreVoteReply) {
            return PRE_VOTE_REPLY;
        } else if (m instanceof SnapshotRequest) {
            return SNAPSHOT_REQUEST;
        } else if (m instanceof SnapshotChunk) {
            return SNAPSHOT_CHUNK;
        }
        return INSTALL_SNAPSHOT;
    }

    private static final int HEADER = 1 + 1 + 4 + 4 + 8;
    private static final int BALLOT = 12;

    private static int encodedSize(Message m) {
        int body;
        if (m instanceof Prepare p) {
            body = membersSize(p.members()) + 8 + 2 * BALLOT + 24;
        } else if (m instanceof Promise p) {
            body = 2 * BALLOT + 24 + entriesSize(p.suffix()) + snapshotSize(p.snapshot()) + 8;
        } else if (m instanceof AcceptSync a) {
            body = BALLOT + 8 + entriesSize(a.suffix()) + snapshotSize(a.snapshot()) + 16;
        } else if (m instanceof Accept a) {
            body = BALLOT + 8 + entriesSize(a.entries()) + 16;
        } else if (m instanceof Decide) {
            body = BALLOT + 32;
        } else if (m instanceof Accepted) {
            body = BALLOT + 16;
        } else if (m instanceof Nack) {
            body = BALLOT;
        } else if (m instanceof PreVote v) {
            body = membersSize(v.members()) + 8 + BALLOT;
        } else if (m instanceof PreVoteReply) {
            body = BALLOT + 1 + BALLOT;
        } else if (m instanceof SnapshotRequest) {
            body = 24;
        } else if (m instanceof SnapshotChunk c) {
            body = 24 + 1 + 4 + c.data().length;
        } else {
            body = BALLOT + snapshotSize(((InstallSnapshot) m).snapshot()) + 16;
        }
        return HEADER + body;
    }

    private static int membersSize(List<Integer> members) {
        return 4 + 4 * members.size();
    }

    private static int entriesSize(List<Entry> entries) {
        int n = 4;
        for (Entry e : entries) {
            n += 4 + e.value().length + 8 + membersSize(e.nextMembers());
        }
        return n;
    }

    private static int snapshotSize(Snapshot s) {
        return s == null ? 1 : 1 + 8 + 8 + membersSize(s.members()) + 8;
    }

    private static void putBallot(ByteBuffer b, Ballot ballot) {
        b.putLong(ballot.round()).putInt(ballot.replicaId());
    }

    private static void putMembers(ByteBuffer b, List<Integer> members) {
        b.putInt(members.size());
        for (int m : members) {
            b.putInt(m);
        }
    }

    private static void putEntries(ByteBuffer b, List<Entry> entries) {
        b.putInt(entries.size());
        for (Entry e : entries) {
            b.putInt(e.value().length).put(e.value()).putLong(e.nextConfigId());
            putMembers(b, e.nextMembers());
        }
    }

    private static void putSnapshot(ByteBuffer b, Snapshot s) {
        if (s == null) {
            b.put((byte) 0);
            return;
        }
        b.put((byte) 1).putLong(s.lastIncludedSlot()).putLong(s.configId());
        putMembers(b, s.members());
        b.putLong(s.configStartIndex());
    }

    // ------------------------------------------------------------------ decode

    public Message decode(byte[] frame) throws MalformedMessageException {
        Reader r = new Reader(frame);
        byte version = r.u8("version");
        if (version != VERSION) {
            throw new MalformedMessageException("unsupported wire version " + version + " (this replica speaks "
                    + VERSION + ")");
        }
        byte type = r.u8("type");
        int from = r.i32("from");
        int to = r.i32("to");
        long configId = r.i64("configId");
        Message m;
        try {
            m = switch (type) {
                case PREPARE -> new Prepare(from, to, configId, r.members("members"), r.i64("configStartIndex"),
                        r.ballot("ballot"), r.ballot("acceptedRound"), r.i64("logEnd"), r.i64("decidedIndex"),
                        r.i64("leaseEnd"));
                case PROMISE -> new Promise(from, to, configId, r.ballot("ballot"), r.ballot("acceptedRound"),
                        r.i64("logEnd"), r.i64("decidedIndex"), r.i64("suffixStart"), r.entries("suffix"),
                        r.snapshot(), r.i64("leaseEnd"));
                case ACCEPT_SYNC -> new AcceptSync(from, to, configId, r.ballot("ballot"), r.i64("syncIndex"),
                        r.entries("suffix"), r.snapshot(), r.i64("decidedIndex"), r.i64("leaseEnd"));
                case ACCEPT -> new Accept(from, to, configId, r.ballot("ballot"), r.i64("firstSlot"),
                        r.entries("entries"), r.i64("decidedIndex"), r.i64("leaseEnd"));
                case DECIDE -> new Decide(from, to, configId, r.ballot("ballot"), r.i64("decidedIndex"),
                        r.i64("leaseEnd"), r.i64("promiseAfterIndex"), r.i64("promisedBelowTs"));
                case ACCEPTED -> new Accepted(from, to, configId, r.ballot("ballot"), r.i64("logEnd"),
                        r.i64("leaseEnd"));
                case NACK -> new Nack(from, to, configId, r.ballot("promised"));
                case INSTALL_SNAPSHOT -> new InstallSnapshot(from, to, configId, r.ballot("ballot"), r.snapshotRequired(),
                        r.i64("decidedIndex"), r.i64("leaseEnd"));
                case PRE_VOTE -> new PreVote(from, to, configId, r.members("members"), r.i64("configStartIndex"),
                        r.ballot("ballot"));
                case PRE_VOTE_REPLY -> new PreVoteReply(from, to, configId, r.ballot("ballot"), r.bool("granted"),
                        r.ballot("promised"));
                case SNAPSHOT_REQUEST -> new SnapshotRequest(from, to, configId, r.i64("streamId"), r.i64("seq"),
                        r.i64("endAtLeast"));
                case SNAPSHOT_CHUNK -> {
                    long streamId = r.i64("streamId");
                    long seq = r.i64("seq");
                    long endIndex = r.i64("endIndex");
                    boolean last = r.bool("last");
                    yield new SnapshotChunk(from, to, configId, streamId, seq, endIndex, r.bytes("data",
                            limits.maxBatchBytes()), last);
                }
                default -> throw new MalformedMessageException("unknown message type " + type);
            };
        } catch (IllegalArgumentException e) {
            throw new MalformedMessageException("type " + type + " from " + from + ": " + e.getMessage());
        }
        if (r.remaining() != 0) {
            throw new MalformedMessageException(m.getClass().getSimpleName() + " from " + from + ": "
                    + r.remaining() + " trailing bytes after offset " + r.position());
        }
        return m;
    }

    private final class Reader {
        private final ByteBuffer b;

        Reader(byte[] frame) {
            this.b = ByteBuffer.wrap(frame).order(ByteOrder.LITTLE_ENDIAN);
        }

        int remaining() {
            return b.remaining();
        }

        int position() {
            return b.position();
        }

        private void need(int n, String field) throws MalformedMessageException {
            if (b.remaining() < n) {
                throw new MalformedMessageException("truncated frame: " + field + " needs " + n + " bytes at offset "
                        + b.position() + ", " + b.remaining() + " left of " + b.capacity());
            }
        }

        byte u8(String field) throws MalformedMessageException {
            need(1, field);
            return b.get();
        }

        boolean bool(String field) throws MalformedMessageException {
            byte v = u8(field);
            if (v != 0 && v != 1) {
                throw new MalformedMessageException(field + " is " + v + ", not 0 or 1");
            }
            return v == 1;
        }

        int i32(String field) throws MalformedMessageException {
            need(4, field);
            return b.getInt();
        }

        long i64(String field) throws MalformedMessageException {
            need(8, field);
            return b.getLong();
        }

        Ballot ballot(String field) throws MalformedMessageException {
            long round = i64(field + ".round");
            int id = i32(field + ".replicaId");
            if (round < 0 || id < 0) {
                throw new MalformedMessageException(field + " (" + round + ", " + id + ") is negative");
            }
            return new Ballot(round, id);
        }

        int count(String field, int elementBytes, int max) throws MalformedMessageException {
            int n = i32(field + ".count");
            if (n < 0 || n > max || (long) n * elementBytes > b.remaining()) {
                throw new MalformedMessageException(field + " count " + n + " at offset " + (b.position() - 4)
                        + " is negative, above " + max + ", or longer than the " + b.remaining() + " bytes left");
            }
            return n;
        }

        byte[] bytes(String field, int max) throws MalformedMessageException {
            int n = count(field + " length", 1, max);
            byte[] v = new byte[n];
            b.get(v);
            return v;
        }

        List<Integer> members(String field) throws MalformedMessageException {
            int n = count(field, 4, 1 << 16);
            List<Integer> out = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                out.add(b.getInt());
            }
            return out;
        }

        List<Entry> entries(String field) throws MalformedMessageException {
            int n = count(field, 4 + 8 + 4, limits.maxEntriesPerMessage());
            List<Entry> out = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                byte[] value = bytes(field + "[" + i + "].value", limits.maxValueBytes());
                long nextConfigId = i64(field + "[" + i + "].nextConfigId");
                out.add(new Entry(value, nextConfigId, members(field + "[" + i + "].nextMembers")));
            }
            return out;
        }

        Snapshot snapshot() throws MalformedMessageException {
            byte present = u8("snapshot.present");
            if (present == 0) {
                return null;
            }
            if (present != 1) {
                throw new MalformedMessageException("snapshot.present is " + present + ", not 0 or 1");
            }
            long last = i64("snapshot.lastIncludedSlot");
            long configId = i64("snapshot.configId");
            List<Integer> members = members("snapshot.members");
            long start = i64("snapshot.configStartIndex");
            return new Snapshot(last, configId, members, start);
        }

        Snapshot snapshotRequired() throws MalformedMessageException {
            Snapshot s = snapshot();
            if (s == null) {
                throw new MalformedMessageException("InstallSnapshot without a snapshot");
            }
            return s;
        }
    }
}
