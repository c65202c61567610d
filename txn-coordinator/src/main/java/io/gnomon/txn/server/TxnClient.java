package io.gnomon.txn.server;

import com.google.protobuf.ByteString;
import io.gnomon.paxos.cluster.ClusterSpec;
import io.gnomon.paxos.cluster.GroupSpec;
import io.gnomon.paxos.cluster.Key;
import io.gnomon.paxos.store.Row;
import io.gnomon.truetime.TimeInterval;
import io.gnomon.txn.TxnId;
import io.gnomon.txn.Write;
import io.gnomon.txn.grpc.AbortReply;
import io.gnomon.txn.grpc.AbortRequest;
import io.gnomon.txn.grpc.Ballot;
import io.gnomon.txn.grpc.CommitReply;
import io.gnomon.txn.grpc.LockingReadRequest;
import io.gnomon.txn.grpc.NowReply;
import io.gnomon.txn.grpc.NowRequest;
import io.gnomon.txn.grpc.Query;
import io.gnomon.txn.grpc.ReadReply;
import io.gnomon.txn.grpc.Refusal;
import io.gnomon.txn.grpc.SnapshotReadRequest;
import io.gnomon.txn.grpc.TxnKvGrpc;
import io.gnomon.txn.grpc.TxnStatusReply;
import io.gnomon.txn.grpc.TxnStatusRequest;
import io.grpc.ChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A client of the transactional key-value service ({@code TxnKv}, docs/txn-service.md) of a cluster: it routes keys
 * to groups by the cluster's ranges, follows leader hints, and retries a wounded read-write transaction with its
 * original age until it commits or the deadline passes. One channel per process, shared by every group; thread-safe.
 *
 * <pre>{@code
 * try (TxnClient client = TxnClient.connect(cluster, null)) {
 *     long ts = client.readWrite(txn -> {
 *         byte[] v = txn.get(key);                   // a shared lock at key's group leader
 *         txn.put(key, next(v));                     // buffered until commit
 *         return null;
 *     }, Duration.ofSeconds(5).toNanos()).commitTimestamp();
 *     TxnClient.Snapshot s = client.get(key, TxnClient.Bound.minReadTimestamp(ts), deadline); // read my write
 * }
 * }</pre>
 */
public final class TxnClient implements AutoCloseable {
    /** Retryable aborts of one transaction before {@link #readWrite} gives up (each keeps the transaction's age). */
    public static final int MAX_ATTEMPTS = 1_000;

    private final ClusterSpec cluster;
    private final Map<Integer, ManagedChannel> channels = new TreeMap<>();
    private final Map<Integer, TxnKvGrpc.TxnKvBlockingStub> stubs = new TreeMap<>();
    /** Group: the process this client believes leads it. */
    private final Map<Long, Integer> leaders = new ConcurrentHashMap<>();
    /**
     * Draws each transaction's {@code TxnId.clientId}: two transactions begun at the same instant (a clock of
     * microseconds, many threads) must still differ, and their order stays the priority's, then this number's.
     */
    private final SecureRandom ids = new SecureRandom();
    /** Sends a transaction's commit requests to its participant groups beside the coordinator's. */
    private final ExecutorService fanOut = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "txn-client-commit");
        t.setDaemon(true);
        return t;
    });

    private TxnClient(ClusterSpec cluster, ChannelCredentials credentials) {
        this.cluster = cluster;
        cluster.processes().forEach(p -> {
            String target = p.client().host() + ":" + p.client().port();
            ManagedChannel ch = (credentials == null ? NettyChannelBuilder.forTarget(target).usePlaintext()
                    : NettyChannelBuilder.forTarget(target, credentials)).build();
            channels.put(p.id(), ch);
            stubs.put(p.id(), TxnKvGrpc.newBlockingStub(ch));
        });
    }

    /** A client of {@code cluster}'s processes at their client addresses; {@code credentials} null: plaintext. */
    public static TxnClient connect(ClusterSpec cluster, ChannelCredentials credentials) {
        return new TxnClient(Objects.requireNonNull(cluster, "cluster"), credentials);
    }

    // ------------------------------------------------------------------ read-write transactions

    /** The body of a read-write transaction: it may run more than once (each retry after a retryable abort). */
    @FunctionalInterface
    public interface Body<T> {
        T run(ReadWrite txn);
    }

    /**
     * A committed transaction: what its body returned, its commit timestamp, the attempts it took and how long the
     * coordinator leader's commit-wait lasted (0 for a transaction without writes).
     */
    public record Committed<T>(T value, long commitTimestamp, int attempts, long commitWaitNanos) {
    }

    /** The transaction did not commit; {@link #retryable} says whether trying again (a new transaction) may work. */
    public static final class AbortedException extends RuntimeException {
        private final boolean retryable;

        public AbortedException(String message, boolean retryable) {
            super(message);
            this.retryable = retryable;
        }

        public boolean retryable() {
            return retryable;
        }
    }

    /** The commit's outcome is not known (the leader lost leadership after proposing it, or the deadline passed). */
    public static final class OutcomeUnknownException extends RuntimeException {
        public OutcomeUnknownException(String message) {
            super(message);
        }
    }

    /**
     * Runs {@code body} as a read-write transaction and commits it within {@code timeoutNanos}: reads take shared
     * locks at the groups' leaders, writes are buffered and sent at commit (two-phase commit when they span groups).
     * A retryable abort (wounded by an older transaction, a leader change) runs the body again as the next attempt of
     * the same transaction, with its original age.
     *
     * @throws AbortedException        aborted for good, or still aborted when the deadline passed
     * @throws OutcomeUnknownException the commit may or may not have happened
     */
    public <T> Committed<T> readWrite(Body<T> body, long timeoutNanos) {
        long deadline = System.nanoTime() + timeoutNanos;
        TxnId id = new TxnId(priorityNow(deadline), ids.nextLong(), 0);
        for (int attempt = 1; ; attempt++) {
            ReadWrite txn = new ReadWrite(id, deadline);
            T value;
            try {
                value = body.run(txn);
                CommitReply done = txn.commit();
                return new Committed<>(value, done.getCommitTimestamp(), attempt, done.getCommitWaitNanos());
            } catch (AbortedException e) {
                txn.release();
                if (!e.retryable() || attempt >= MAX_ATTEMPTS || System.nanoTime() - deadline >= 0) {
                    throw e;
                }
                id = id.retry();
                backOff(attempt);
            } catch (RuntimeException e) {
                txn.release();
                throw e;
            }
        }
    }

    /** After the n-th retryable abort: 1, 2, 4 ... up to 64 ms, so a transaction refused for a while does not spin. */
    private static void backOff(int attempt) {
        try {
            Thread.sleep(1L << Math.min(attempt - 1, 6));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AbortedException("interrupted while retrying", false);
        }
    }

    /** One attempt of a read-write transaction: reads under locks, buffered writes. Not thread-safe. */
    public final class ReadWrite {
        private final TxnId id;
        private final long deadline;
        /** Groups read from (their leaders hold this transaction's shared locks), in order of first read. */
        private final List<Long> readGroups = new ArrayList<>();
        /** Per group read: the leadership whose lock table holds this transaction's read locks. */
        private final Map<Long, Ballot> readBallots = new java.util.HashMap<>();
        /** Buffered writes by group, in order of each group's first write; per key, the last write wins. */
        private final Map<Long, Map<Key, io.gnomon.txn.grpc.Write>> writes = new LinkedHashMap<>();
        /**
         * Buffered range deletes by group, each clipped to its group's range. A group here is in {@link #writes} too
         * (perhaps with no point write); a range delete drops the point writes it covers, so those left came after.
         */
        private final Map<Long, List<Write>> rangeDeletes = new java.util.HashMap<>();
        private boolean finished;

        ReadWrite(TxnId id, long deadline) {
            this.id = id;
            this.deadline = deadline;
        }

        public TxnId id() {
            return id;
        }

        /** The newest committed value of {@code key} (or this transaction's own buffered write), null if none. */
        public byte[] get(byte[] key) {
            long group = cluster.groupFor(key).id();
            io.gnomon.txn.grpc.Write own = writes.getOrDefault(group, Map.of()).get(Key.of(key));
            ReadReply r = lockingRead(group, TxnProto.key(key));
            if (own != null) {
                return own.getDelete() ? null : own.getValue().toByteArray();
            }
            if (rangeDeleted(group, key)) {
                return null;
            }
            return r.getValue().getFound() ? r.getValue().getValue().toByteArray() : null;
        }

        /**
         * The committed rows {@code from <= key < to} ({@code to} null: to the end), at most {@code limit}, as this
         * transaction's buffered writes change them: rows it deleted (by key or range) are left out and rows it put
         * show its value; keys it put that are not committed yet are not listed.
         */
        public List<Row> scan(byte[] from, byte[] toOrNull, int limit) {
            List<Row> rows = new ArrayList<>();
            for (GroupSpec g : groupsOver(from, toOrNull)) {
                byte[][] part = clip(g, from, toOrNull);
                byte[] cursor = part[0];
                while (rows.size() < limit) {
                    int asked = limit - rows.size();
                    ReadReply r = lockingRead(g.id(), TxnProto.range(cursor, part[1], asked));
                    List<io.gnomon.txn.grpc.Row> got = r.getRows().getRowsList();
                    for (io.gnomon.txn.grpc.Row x : got) {
                        byte[] k = x.getKey().toByteArray();
                        io.gnomon.txn.grpc.Write own = writes.getOrDefault((long) g.id(), Map.of()).get(Key.of(k));
                        if (own != null ? !own.getDelete() : !rangeDeleted(g.id(), k)) {
                            rows.add(new Row(k, x.getTimestamp(), (own != null ? own.getValue() : x.getValue())
                                    .toByteArray()));
                        }
                    }
                    if (got.size() < asked) {
                        break; // this group's part is read to its end
                    }
                    byte[] last = got.get(got.size() - 1).getKey().toByteArray();
                    cursor = Arrays.copyOf(last, last.length + 1); // rows this transaction deleted: read on
                }
            }
            return rows;
        }

        private boolean rangeDeleted(long group, byte[] key) {
            for (Write range : rangeDeletes.getOrDefault(group, List.of())) {
                if (range.covers(key)) {
                    return true;
                }
            }
            return false;
        }

        public void put(byte[] key, byte[] value) {
            write(key, io.gnomon.txn.grpc.Write.newBuilder().setKey(ByteString.copyFrom(key))
                    .setValue(ByteString.copyFrom(value)).build());
        }

        public void delete(byte[] key) {
            write(key, io.gnomon.txn.grpc.Write.newBuilder().setKey(ByteString.copyFrom(key)).setDelete(true).build());
        }

        /**
         * Deletes every key {@code from <= key < toOrNull} ({@code toOrNull} null: to the end of the key space) at
         * the commit timestamp: buffered like writes, split by the cluster's group ranges, each group's part locked
         * exclusively at commit. Reads of this transaction after it see the keys deleted; a put after it into the
         * range stands. An empty range ({@code from} equal to {@code toOrNull}) deletes nothing.
         *
         * @throws IllegalArgumentException if {@code toOrNull} is before {@code from}
         */
        public void deleteRange(byte[] from, byte[] toOrNull) {
            Objects.requireNonNull(from, "from");
            if (toOrNull != null) {
                int c = Arrays.compareUnsigned(from, toOrNull);
                if (c > 0) {
                    throw new IllegalArgumentException("deleteRange: from " + Key.of(from) + " is after to "
                            + Key.of(toOrNull));
                } else if (c == 0) {
                    return;
                }
            }
            for (GroupSpec g : groupsOver(from, toOrNull)) {
                byte[][] part = clip(g, from, toOrNull);
                Write range = Write.deleteRange(part[0], part[1]);
                writes.computeIfAbsent((long) g.id(), x -> new LinkedHashMap<>()).keySet()
                        .removeIf(k -> range.covers(k.bytes()));
                rangeDeletes.computeIfAbsent((long) g.id(), x -> new ArrayList<>()).add(range);
            }
        }

        private void write(byte[] key, io.gnomon.txn.grpc.Write w) {
            writes.computeIfAbsent((long) cluster.groupFor(key).id(), g -> new LinkedHashMap<>()).put(Key.of(key), w);
        }

        private ReadReply lockingRead(long group, Query query) {
            if (!readGroups.contains(group)) {
                readGroups.add(group);
            }
            LockingReadRequest req = LockingReadRequest.newBuilder().setGroup(group).setTxn(TxnProto.txnId(id))
                    .setQuery(query).build();
            ReadReply r = atLeader(group, deadline, (stub) -> stub.read(req),
                    reply -> reply.hasRefused() && reply.getRefused().getReason() == Refusal.Reason.NOT_LEADER
                            ? reply.getLeaderHint() : -1);
            if (r.hasRefused()) {
                throw new AbortedException("group " + group + ": " + r.getRefused().getMessage(),
                        r.getRefused().getRetryable());
            }
            // Locks live in the leader's memory: reads of one transaction in one group must all be under one
            // leadership, else the earlier ones' locks are gone.
            Ballot earlier = readBallots.putIfAbsent(group, r.getLeaderBallot());
            if (earlier != null && !earlier.equals(r.getLeaderBallot())) {
                throw new AbortedException("group " + group + " changed leader (" + earlier.getReplica() + " to "
                        + r.getLeaderBallot().getReplica() + ") during " + id + ": its earlier read locks are gone",
                        true);
            }
            return r;
        }

        /**
         * Commits. Every group the transaction wrote or read takes part: the first written group coordinates (the
         * first read one when nothing was written), the others prepare (a group only read prepares no write: it keeps
         * its read locks until the outcome, and refuses if they went with a leadership change or it aborted the
         * transaction since the read, e.g. wounded by an older writer). A transaction that only read commits too, at
         * a timestamp, so that its reads are validated and it has a place in the serial order; one that did nothing
         * has nothing to commit.
         */
        CommitReply commit() {
            if (writes.isEmpty() && readGroups.isEmpty()) {
                finished = true;
                return CommitReply.getDefaultInstance();
            }
            List<Long> groups = new ArrayList<>(writes.keySet());
            for (long g : readGroups) {
                if (!groups.contains(g)) {
                    groups.add(g);
                }
            }
            long coordinator = groups.get(0);
            List<Long> participants = groups.subList(1, groups.size());
            // the participants' requests go at once, beside the coordinator's; one that fails (unreachable until
            // the deadline) leaves the coordinator to time the prepare out and abort
            List<Future<?>> others = new ArrayList<>();
            for (long g : participants) {
                others.add(fanOut.submit(() -> commitAt(g, coordinator, participants)));
            }
            CommitReply outcome = commitAt(coordinator, coordinator, participants);
            StatusRuntimeException invalid = null;
            for (Future<?> f : others) {
                try {
                    f.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (ExecutionException e) {
                    // the coordinator's answer is the outcome; a participant that refused the request as the
                    // client's error (INVALID_ARGUMENT, its writes over the store's limits) says why it aborted
                    if (e.getCause() instanceof StatusRuntimeException sre
                            && sre.getStatus().getCode() == Status.Code.INVALID_ARGUMENT) {
                        invalid = sre;
                    }
                } catch (TimeoutException e) {
                    // the coordinator's answer is the outcome
                }
            }
            finished = true;
            if (outcome.getOutcome() != CommitReply.Outcome.COMMITTED) {
                // a group whose commit request came after the coordinator's abort keeps its read locks: free them
                releaseLocks();
            }
            if (invalid != null && outcome.getOutcome() == CommitReply.Outcome.ABORTED) { // a retry cannot fix it
                throw invalid;
            }
            if (outcome.getOutcome() == CommitReply.Outcome.UNKNOWN) {
                outcome = resolve(coordinator, outcome.getMessage());
            }
            return switch (outcome.getOutcome()) {
                case COMMITTED -> outcome;
                case ABORTED -> throw new AbortedException(outcome.getMessage(), outcome.getRetryable());
                default -> throw new OutcomeUnknownException("transaction " + id + ": " + outcome.getMessage());
            };
        }

        /**
         * After an UNKNOWN answer (the coordinator's leader lost leadership after proposing the outcome): asks the
         * coordinator group ({@code TxnStatus}) until its log has the outcome or the deadline passes; a reply still
         * UNKNOWN then, whose message says what was last heard.
         */
        private CommitReply resolve(long coordinator, String unknownBecause) {
            String last = unknownBecause;
            for (int tries = 1; System.nanoTime() - deadline < 0; tries++) {
                TxnOutcome o;
                try {
                    o = status(coordinator, id, deadline);
                } catch (StatusRuntimeException e) {
                    last = "asking group " + coordinator + " for the outcome: " + e.getStatus();
                    continue;
                }
                switch (o.state()) {
                    case COMMITTED:
                        return CommitReply.newBuilder().setOutcome(CommitReply.Outcome.COMMITTED)
                                .setCommitTimestamp(o.commitTimestamp()).build();
                    case ABORTED:
                        return CommitReply.newBuilder().setOutcome(CommitReply.Outcome.ABORTED)
                                .setMessage(o.message()).setRetryable(o.retryable()).build();
                    default:
                        last = unknownBecause + "; then group " + coordinator + " said " + o.state() + ": "
                                + o.message();
                }
                pause(tries + replicasPause); // a new leader is being elected, or is deciding it
            }
            return CommitReply.newBuilder().setOutcome(CommitReply.Outcome.UNKNOWN).setMessage(last).build();
        }

        private CommitReply commitAt(long group, long coordinator, List<Long> participants) {
            io.gnomon.txn.grpc.CommitRequest.Builder b = io.gnomon.txn.grpc.CommitRequest.newBuilder().setGroup(group)
                    .setTxn(TxnProto.txnId(id)).setCoordinatorGroup(coordinator)
                    .addAllParticipantGroups(participants);
            for (Write range : rangeDeletes.getOrDefault(group, List.of())) {
                b.addWrites(TxnProto.deleteRange(range.key(), range.rangeEndOrNull()));
            }
            b.addAllWrites(writes.getOrDefault(group, Map.of()).values());
            Ballot read = readBallots.get(group);
            if (read != null) {
                b.setReadBallot(read);
            }
            io.gnomon.txn.grpc.CommitRequest req = b.build();
            return atLeader(group, deadline, stub -> stub.commit(req),
                    reply -> reply.getOutcome() == CommitReply.Outcome.NOT_LEADER ? reply.getLeaderHint() : -1);
        }

        /** After an abort: the locks this attempt holds go at once (else they go at the leaders' idle timeout). */
        void release() {
            if (!finished) {
                finished = true;
                releaseLocks();
            }
        }

        private void releaseLocks() {
            for (long g : readGroups) {
                abortAt(g);
            }
        }

        /**
         * Releases this transaction's locks in {@code group}; whether they were held until then (the same leadership,
         * not aborted since: {@code AbortReply.held}).
         */
        private boolean abortAt(long group) {
            try {
                AbortRequest.Builder b = AbortRequest.newBuilder().setGroup(group).setTxn(TxnProto.txnId(id));
                Ballot read = readBallots.get(group);
                if (read != null) {
                    b.setReadBallot(read);
                }
                AbortRequest req = b.build();
                AbortReply r = atLeader(group, deadline, stub -> stub.abort(req), reply -> reply.getAborted() ? -1
                        : reply.getLeaderHint() == leaderOf(group) ? -1 : reply.getLeaderHint());
                return r.getHeld();
            } catch (RuntimeException e) {
                return false; // the leader's idle timeout releases them
            }
        }
    }

    /** What a coordinator group's log says of a transaction ({@link #status}). */
    public enum TxnState {
        COMMITTED, ABORTED,
        /** Its leader is deciding it: ask again. */
        IN_PROGRESS,
        /** No record of it there: never seen (its request may be on its way), or forgotten past the outcome retention. */
        NOT_KNOWN
    }

    /** A {@link #status} answer: the state, the commit timestamp (COMMITTED), why and whether to retry (ABORTED). */
    public record TxnOutcome(TxnState state, long commitTimestamp, String message, boolean retryable) {
    }

    /**
     * What became of transaction {@code txn}'s commit, asked of its coordinator group's leader (following leader
     * hints) within the deadline; for a client told {@code OutcomeUnknownException}. {@code NOT_KNOWN} is never a
     * sign of an abort: the transaction may still commit, or its outcome was forgotten.
     *
     * <pre>{@code
     * TxnClient.TxnOutcome o = client.status(coordinatorGroup, txnId, System.nanoTime() + timeoutNanos);
     * }</pre>
     *
     * @param deadline {@link System#nanoTime()} by which to answer
     * @throws StatusRuntimeException if no replica of the group answers in time
     */
    public TxnOutcome status(long coordinatorGroup, TxnId txn, long deadline) {
        TxnStatusRequest req = TxnStatusRequest.newBuilder().setGroup(coordinatorGroup).setTxn(TxnProto.txnId(txn))
                .build();
        TxnStatusReply r = atLeader(coordinatorGroup, deadline, stub -> stub.txnStatus(req),
                reply -> reply.getStatus() == TxnStatusReply.Status.NOT_LEADER ? reply.getLeaderHint() : -1);
        TxnState state = switch (r.getStatus()) {
            case COMMITTED -> TxnState.COMMITTED;
            case ABORTED -> TxnState.ABORTED;
            case IN_PROGRESS -> TxnState.IN_PROGRESS;
            default -> TxnState.NOT_KNOWN; // NOT_LEADER when the deadline passed: nothing known
        };
        return new TxnOutcome(state, r.getCommitTimestamp(), r.getMessage(), r.getRetryable());
    }

    // ------------------------------------------------------------------ reads without locks

    /** A snapshot read's bound (docs/txn-service.md, "Reads without locks"). */
    public record Bound(SnapshotReadRequest.BoundCase kind, long value) {
        public static Bound strong() {
            return new Bound(SnapshotReadRequest.BoundCase.STRONG, 0);
        }

        public static Bound exactTimestamp(long ts) {
            return new Bound(SnapshotReadRequest.BoundCase.EXACT_TIMESTAMP, ts);
        }

        public static Bound exactStaleness(long nanos) {
            return new Bound(SnapshotReadRequest.BoundCase.EXACT_STALENESS_NANOS, nanos);
        }

        public static Bound maxStaleness(long nanos) {
            return new Bound(SnapshotReadRequest.BoundCase.MAX_STALENESS_NANOS, nanos);
        }

        public static Bound minReadTimestamp(long ts) {
            return new Bound(SnapshotReadRequest.BoundCase.MIN_READ_TIMESTAMP, ts);
        }

        void into(SnapshotReadRequest.Builder b) {
            switch (kind) {
                case STRONG -> b.setStrong(true);
                case EXACT_TIMESTAMP -> b.setExactTimestamp(value);
                case EXACT_STALENESS_NANOS -> b.setExactStalenessNanos(value);
                case MAX_STALENESS_NANOS -> b.setMaxStalenessNanos(value);
                case MIN_READ_TIMESTAMP -> b.setMinReadTimestamp(value);
                default -> throw new IllegalArgumentException("bound " + kind);
            }
        }
    }

    /** A snapshot read's value (null: none) and the timestamp it was read at. */
    public record Snapshot(byte[] valueOrNull, long readTimestamp) {
    }

    /** A snapshot scan's rows and the timestamp they were read at. */
    public record SnapshotRows(List<Row> rows, long readTimestamp) {
    }

    /** {@code key}'s value at {@code bound}, read at {@code replica} (0: the group's leader as this client knows it). */
    public Snapshot get(byte[] key, Bound bound, int replica, long timeoutNanos) {
        long group = cluster.groupFor(key).id();
        ReadReply r = snapshotRead(group, TxnProto.key(key), bound, replica, System.nanoTime() + timeoutNanos);
        return new Snapshot(r.getValue().getFound() ? r.getValue().getValue().toByteArray() : null,
                r.getReadTimestamp());
    }

    /**
     * A read-only transaction over several keys, at one timestamp for all: {@code bound} is resolved at the first
     * key's group (a strong bound: at the server's {@code TT.now().latest}) and every other key is read at exactly
     * that timestamp, at {@code replica} (0: each group's leader as this client knows it).
     */
    public Map<Key, Snapshot> getAll(List<byte[]> keys, Bound bound, int replica, long timeoutNanos) {
        long deadline = System.nanoTime() + timeoutNanos;
        Map<Key, Snapshot> out = new LinkedHashMap<>();
        Bound at = bound;
        for (byte[] key : keys) {
            ReadReply r = snapshotRead(cluster.groupFor(key).id(), TxnProto.key(key), at, replica, deadline);
            out.put(Key.of(key), new Snapshot(r.getValue().getFound() ? r.getValue().getValue().toByteArray() : null,
                    r.getReadTimestamp()));
            at = Bound.exactTimestamp(r.getReadTimestamp());
        }
        return out;
    }

    /** The rows {@code from <= key < to} at {@code bound} (one timestamp across groups), at most {@code limit}. */
    public SnapshotRows scan(byte[] from, byte[] toOrNull, int limit, Bound bound, int replica, long timeoutNanos) {
        long deadline = System.nanoTime() + timeoutNanos;
        List<Row> rows = new ArrayList<>();
        Bound at = bound;
        long ts = 0;
        for (GroupSpec g : groupsOver(from, toOrNull)) {
            if (rows.size() >= limit) {
                break;
            }
            byte[][] part = clip(g, from, toOrNull);
            ReadReply r = snapshotRead(g.id(), TxnProto.range(part[0], part[1], limit - rows.size()), at, replica,
                    deadline);
            r.getRows().getRowsList().forEach(x -> rows.add(new Row(x.getKey().toByteArray(), x.getTimestamp(),
                    x.getValue().toByteArray())));
            ts = r.getReadTimestamp();
            at = Bound.exactTimestamp(ts);
        }
        return new SnapshotRows(rows, ts);
    }

    private ReadReply snapshotRead(long group, Query query, Bound bound, int replica, long deadline) {
        SnapshotReadRequest.Builder b = SnapshotReadRequest.newBuilder().setGroup(group).setQuery(query);
        bound.into(b);
        SnapshotReadRequest req = b.build();
        // at a chosen replica: wait for its channel (a restarted process) within the deadline rather than fail
        ReadReply r = replica > 0 ? stub(replica, deadline).withWaitForReady().snapshotRead(req)
                : atLeader(group, deadline, stub -> stub.snapshotRead(req), reply -> -1);
        if (r.hasRefused()) {
            Refusal f = r.getRefused();
            Status s = f.getReason() == Refusal.Reason.BELOW_RETENTION ? Status.FAILED_PRECONDITION
                    : Status.UNAVAILABLE;
            throw s.withDescription(f.getMessage()).asRuntimeException(); // the message names the group
        }
        return r;
    }

    /** The process whose {@code Now} answered last: asked first next time. */
    private volatile int lastNowProcess;
    /** How often {@link #priorityNow} asks the cluster for its time again. */
    private static final long PRIORITY_CLOCK_REFRESH_NANOS = 10_000_000_000L;
    /** {@code TT.now().earliest} at a server minus this JVM's {@code nanoTime()} when asked; valid if fetched. */
    private volatile long priorityOffsetNanos;
    /** This JVM's {@code nanoTime()} when {@link #priorityOffsetNanos} was fetched; 0: never. */
    private volatile long priorityFetchedNanos;

    /**
     * A new transaction's age ({@code TxnId.priorityEpochNanos}): the cluster's {@code TT.now().earliest} as of the
     * last {@link #now} this client made, carried forward with its own monotonic clock. Wound-wait needs ages that
     * follow real time across clients closely enough that a retried transaction (which keeps its age) eventually is
     * the oldest, not timestamps: so one {@code Now} call per {@link #PRIORITY_CLOCK_REFRESH_NANOS}, not one per
     * transaction (a round trip, and a third of a one-key write's server work). The age errs early by the call's
     * round trip, at most.
     */
    long priorityNow(long deadline) {
        long fetched = priorityFetchedNanos;
        long local = System.nanoTime();
        if (fetched == 0 || local - fetched > PRIORITY_CLOCK_REFRESH_NANOS) {
            long sent = System.nanoTime();
            long earliest = now(deadline).earliestEpochNanos();
            priorityOffsetNanos = earliest - sent;
            priorityFetchedNanos = sent == 0 ? 1 : sent;
            return earliest;
        }
        return local + priorityOffsetNanos;
    }

    /** Each group's leader as this client last found it (from answers and leader hints), by group; a copy. */
    public Map<Long, Integer> knownLeaders() {
        return new TreeMap<>(leaders);
    }

    /** TrueTime as the server answering sees it (the one that answered last is asked first). */
    public TimeInterval now(long deadline) {
        List<Integer> order = new ArrayList<>(stubs.keySet());
        java.util.Collections.rotate(order, -Math.max(0, order.indexOf(lastNowProcess)));
        StatusRuntimeException last = null;
        for (int i = 0; i < order.size(); i++) {
            int p = order.get(i);
            // each process gets its share of what is left, so one that hangs leaves time to ask the others
            long share = (deadline - System.nanoTime()) / (order.size() - i);
            try {
                NowReply r = stub(p, System.nanoTime() + Math.max(1, share)).now(NowRequest.getDefaultInstance());
                lastNowProcess = p;
                return new TimeInterval(r.getEarliestEpochNanos(), r.getLatestEpochNanos());
            } catch (StatusRuntimeException e) {
                last = e;
            }
        }
        throw last;
    }

    // ------------------------------------------------------------------ routing

    /**
     * Calls {@code call} at the group's leader as this client knows it, following a reply's leader hint ({@code
     * redirect} answers it, -1 for a final reply) and trying the group's other replicas when one is unreachable or
     * knows no leader, until the deadline.
     */
    private <R> R atLeader(long group, long deadline, java.util.function.Function<TxnKvGrpc.TxnKvBlockingStub, R> call,
                           java.util.function.ToIntFunction<R> redirect) {
        List<Integer> replicas = replicasOf(group);
        int target = leaderOf(group);
        int tries = 0;
        while (true) {
            R reply;
            try {
                reply = call.apply(stub(target, deadline));
            } catch (StatusRuntimeException e) {
                Status.Code c = e.getStatus().getCode();
                if (c != Status.Code.UNAVAILABLE || System.nanoTime() - deadline >= 0) {
                    throw e;
                }
                target = replicas.get((replicas.indexOf(target) + 1) % replicas.size());
                pause(++tries);
                continue;
            }
            int hint = redirect.applyAsInt(reply);
            if (hint < 0) {
                leaders.put(group, target);
                return reply;
            }
            if (System.nanoTime() - deadline >= 0) {
                return reply;
            }
            target = hint > 0 && hint != target && stubs.containsKey(hint) ? hint
                    : replicas.get((replicas.indexOf(target) + 1) % replicas.size());
            leaders.put(group, target);
            pause(++tries);
        }
    }

    private static void pause(int tries) {
        if (tries > replicasPause) {
            try {
                Thread.sleep(Math.min(50, tries));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw Status.CANCELLED.withDescription("interrupted").asRuntimeException();
            }
        }
    }

    /** Redirects followed at once before pausing between tries (a leader election takes a while). */
    private static final int replicasPause = 3;

    private int leaderOf(long group) {
        return leaders.computeIfAbsent(group, g -> replicasOf(g).get(0));
    }

    private List<Integer> replicasOf(long group) {
        for (GroupSpec g : cluster.groups()) {
            if (g.id() == group) {
                return g.replicas();
            }
        }
        throw new IllegalArgumentException("group " + group + " is not in the cluster");
    }

    private TxnKvGrpc.TxnKvBlockingStub stub(int process, long deadline) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            throw Status.DEADLINE_EXCEEDED.withDescription("the transaction's deadline passed").asRuntimeException();
        }
        return stubs.get(process).withDeadlineAfter(left, TimeUnit.NANOSECONDS);
    }

    /** The groups whose ranges meet {@code [from, to)}, in key order. */
    private List<GroupSpec> groupsOver(byte[] from, byte[] toOrNull) {
        List<GroupSpec> out = new ArrayList<>();
        for (GroupSpec g : cluster.groups()) {
            Key start = g.range().start();
            Key end = g.range().end();
            boolean beforeEnd = end.isEmpty() || end.compareTo(Key.of(from)) > 0;
            boolean afterStart = toOrNull == null || start.compareTo(Key.of(toOrNull)) < 0;
            if (beforeEnd && afterStart) {
                out.add(g);
            }
        }
        out.sort((a, b) -> a.range().start().compareTo(b.range().start()));
        return out;
    }

    /** {@code [from, to)} clipped to group {@code g}'s range: {from, to or null}. */
    private static byte[][] clip(GroupSpec g, byte[] from, byte[] toOrNull) {
        byte[] lo = g.range().start().compareTo(Key.of(from)) > 0 ? g.range().start().bytes() : from;
        byte[] hi = toOrNull;
        Key end = g.range().end();
        if (!end.isEmpty() && (hi == null || end.compareTo(Key.of(hi)) < 0)) {
            hi = end.bytes();
        }
        return new byte[][]{lo, hi};
    }

    @Override
    public void close() {
        fanOut.shutdownNow();
        for (ManagedChannel ch : channels.values()) {
            ch.shutdownNow();
        }
        for (ManagedChannel ch : channels.values()) {
            try {
                ch.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    @Override
    public String toString() {
        return "TxnClient[" + Arrays.toString(channels.keySet().toArray()) + ", leaders " + leaders + "]";
    }
}
