package io.gnomon.txn.server;

import io.gnomon.paxos.cluster.Key;
import io.gnomon.txn.TxnLimits;
import io.gnomon.txn.grpc.LockingReadRequest;
import io.gnomon.txn.grpc.Query;
import io.gnomon.txn.grpc.Refusal;
import io.gnomon.txn.grpc.SnapshotReadRequest;
import io.gnomon.txn.grpc.TxnId;
import io.gnomon.txn.grpc.TxnKvGrpc;
import io.gnomon.txn.server.TxnTestCluster.Raw;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The transactional key-value service end to end: three replica processes of the transaction machine with four
 * groups, driven through {@link TxnClient} and the raw gRPC stub.
 */
class TxnServerTest {
    private static final long TIMEOUT = TimeUnit.SECONDS.toNanos(20);
    /** Long enough that only an explicit Abort (not the idle timeout) can free a lock within a test. */
    private static final TxnLimits LIMITS = TxnTestCluster.testLimits(TimeUnit.SECONDS.toNanos(10));

    @TempDir
    Path tmp;
    private TxnTestCluster cluster;
    private TxnClient client;

    @BeforeEach
    void start() throws Exception {
        cluster = new TxnTestCluster(tmp, 3, 4, LIMITS);
        cluster.startAll();
        client = cluster.client();
    }

    @AfterEach
    void stop() {
        if (client != null) {
            client.close();
        }
        cluster.close();
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aOneGroupCommitIsReadAtItsTimestampOnEveryReplica() {
        byte[] key = cluster.keyIn(1, "k");
        TxnClient.Committed<Void> c = client.readWrite(txn -> {
            assertThat(txn.get(key)).isNull();
            txn.put(key, utf8("v1"));
            return null;
        }, TIMEOUT);
        assertThat(c.commitTimestamp()).isPositive();
        // with ε = 1 ms the leader must wait until TT.after(s), about 2ε after choosing s: never nothing
        assertThat(c.commitWaitNanos()).isPositive();
        // the coordinator leader counted it: one committed commit and one commit-wait, on exactly one process
        assertThat(cluster.nodes.values().stream().map(n -> n.metrics().scrape()).filter(m ->
                m.contains("gnomon_txn_commit_seconds_count{outcome=\"committed\"} 1")
                        && m.contains("gnomon_txn_commit_wait_seconds_count 1"))).hasSize(1);
        TxnClient.Snapshot strong = client.get(key, TxnClient.Bound.strong(), 0, TIMEOUT);
        assertThat(strong.valueOrNull()).isEqualTo(utf8("v1"));
        assertThat(strong.readTimestamp()).isGreaterThanOrEqualTo(c.commitTimestamp());
        for (int replica = 1; replica <= 3; replica++) {
            // read-my-write on followers too: each waits until its safe time reaches the commit timestamp
            TxnClient.Snapshot mine = client.get(key, TxnClient.Bound.minReadTimestamp(c.commitTimestamp()), replica,
                    TIMEOUT);
            assertThat(mine.valueOrNull()).as("replica %d", replica).isEqualTo(utf8("v1"));
            TxnClient.Snapshot before = client.get(key, TxnClient.Bound.exactTimestamp(c.commitTimestamp() - 1),
                    replica, TIMEOUT);
            assertThat(before.valueOrNull()).as("replica %d just below the commit", replica).isNull();
        }
    }

    @Test
    void aTransactionOverTwoGroupsCommitsAtomicallyAtOneTimestamp() {
        byte[] a = cluster.keyIn(1, "a");
        byte[] b = cluster.keyIn(3, "b");
        long ts = client.readWrite(txn -> {
            txn.put(a, utf8("A"));
            txn.put(b, utf8("B"));
            return null;
        }, TIMEOUT).commitTimestamp();
        Map<Key, TxnClient.Snapshot> at = client.getAll(List.of(a, b), TxnClient.Bound.exactTimestamp(ts), 2, TIMEOUT);
        assertThat(at.get(Key.of(a)).valueOrNull()).isEqualTo(utf8("A"));
        assertThat(at.get(Key.of(b)).valueOrNull()).isEqualTo(utf8("B"));
        Map<Key, TxnClient.Snapshot> before = client.getAll(List.of(a, b), TxnClient.Bound.exactTimestamp(ts - 1), 3,
                TIMEOUT);
        assertThat(before.get(Key.of(a)).valueOrNull()).isNull();
        assertThat(before.get(Key.of(b)).valueOrNull()).isNull();
        // a scan over the whole key space crosses every group and sees both at one timestamp
        TxnClient.SnapshotRows rows = client.scan(new byte[0], null, 100, TxnClient.Bound.strong(), 0, TIMEOUT);
        assertThat(rows.rows()).extracting(r -> new String(r.value(), StandardCharsets.UTF_8))
                .containsExactly("A", "B");
        assertThat(rows.rows()).allSatisfy(r -> assertThat(r.timestamp()).isEqualTo(ts));
    }

    @Test
    void concurrentTransfersBetweenGroupsKeepTheTotal() throws Exception {
        List<byte[]> accounts = List.of(cluster.keyIn(1, "acct"), cluster.keyIn(2, "acct"), cluster.keyIn(3, "acct"),
                cluster.keyIn(4, "acct"));
        client.readWrite(txn -> {
            accounts.forEach(k -> txn.put(k, encode(100)));
            return null;
        }, TIMEOUT);
        int threads = 4;
        int transfersEach = 8;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<Integer>> done = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int seed = t;
            done.add(pool.submit(() -> {
                java.util.Random random = new java.util.Random(seed);
                int attempts = 0;
                for (int i = 0; i < transfersEach; i++) {
                    byte[] from = accounts.get(random.nextInt(accounts.size()));
                    byte[] to = accounts.get(random.nextInt(accounts.size()));
                    attempts += client.readWrite(txn -> {
                        long f = decode(txn.get(from));
                        long g = decode(txn.get(to));
                        if (!java.util.Arrays.equals(from, to)) {
                            txn.put(from, encode(f - 1));
                            txn.put(to, encode(g + 1));
                        }
                        return null;
                    }, TIMEOUT).attempts();
                }
                return attempts;
            }));
        }
        try {
            for (Future<Integer> f : done) {
                assertThat(f.get(2, TimeUnit.MINUTES)).isGreaterThanOrEqualTo(transfersEach);
            }
        } catch (Exception | AssertionError e) {
            throw new AssertionError(cluster.describe(), e);
        }
        pool.shutdown();
        // every snapshot of the accounts sums to the total, on every replica, and so does a locking read
        for (int replica = 1; replica <= 3; replica++) {
            Map<Key, TxnClient.Snapshot> snap = client.getAll(accounts, TxnClient.Bound.strong(), replica, TIMEOUT);
            assertThat(snap.values().stream().mapToLong(s -> decode(s.valueOrNull())).sum()).isEqualTo(400);
        }
        long total = client.readWrite(txn -> accounts.stream().mapToLong(k -> decode(txn.get(k))).sum(),
                TIMEOUT).value();
        assertThat(total).isEqualTo(400);
    }

    @Test
    void anAbortReleasesTheLocksAtOnce() {
        byte[] key = cluster.keyIn(2, "locked");
        // An older transaction reads (a shared lock), then aborts; a younger writer would otherwise wait for it
        // (wound-wait: the younger waits) until the idle timeout, two minutes here.
        TxnId old = TxnId.newBuilder().setPriorityEpochNanos(1).setClientId(7).build();
        LockingReadRequest lockingRead = LockingReadRequest.newBuilder().setGroup(2).setTxn(old)
                .setQuery(TxnProto.key(key)).build();
        int leader = leaderAnswering(2, lockingRead); // its read takes the shared lock
        try (Raw raw = raw(leader)) {
            assertThat(raw.stub().abort(io.gnomon.txn.grpc.AbortRequest.newBuilder().setGroup(2).setTxn(old).build())
                    .getAborted()).isTrue();
        }
        long ts = client.readWrite(txn -> {
            txn.put(key, utf8("x"));
            return null;
        }, TimeUnit.SECONDS.toNanos(15)).commitTimestamp();
        assertThat(ts).isPositive();
    }

    @Test
    void aCommitWhoseReadsWereUnderAnotherLeadershipIsRefused() {
        byte[] key = cluster.keyIn(3, "read-then-write");
        TxnId txn = TxnId.newBuilder().setPriorityEpochNanos(5).setClientId(9).build();
        int leader = leaderAnswering(3, LockingReadRequest.newBuilder().setGroup(3).setTxn(txn)
                .setQuery(TxnProto.key(key)).build());
        try (Raw raw = raw(leader)) {
            var read = raw.stub().read(LockingReadRequest.newBuilder().setGroup(3).setTxn(txn)
                    .setQuery(TxnProto.key(key)).build());
            io.gnomon.txn.grpc.Ballot under = read.getLeaderBallot();
            assertThat(under.getReplica()).isEqualTo(leader);
            // as if the reads had been served by an earlier leadership: its locks are not this leader's
            io.gnomon.txn.grpc.Ballot earlier = under.toBuilder().setRound(under.getRound() - 1).build();
            var refused = raw.stub().commit(io.gnomon.txn.grpc.CommitRequest.newBuilder().setGroup(3).setTxn(txn)
                    .setCoordinatorGroup(3).setReadBallot(earlier).addWrites(io.gnomon.txn.grpc.Write.newBuilder()
                            .setKey(com.google.protobuf.ByteString.copyFrom(key))
                            .setValue(com.google.protobuf.ByteString.copyFrom(utf8("x")))).build());
            assertThat(refused.getOutcome()).isEqualTo(io.gnomon.txn.grpc.CommitReply.Outcome.ABORTED);
            assertThat(refused.getRetryable()).isTrue();
            assertThat(refused.getMessage()).contains("its read locks went with the leadership change");
            // and the abort that validates a read-only transaction says whether its locks were held until then
            assertThat(raw.stub().abort(io.gnomon.txn.grpc.AbortRequest.newBuilder().setGroup(3).setTxn(
                    txn.toBuilder().setAttempt(1)).setReadBallot(under).build()).getHeld()).isFalse();
            TxnId reader = TxnId.newBuilder().setPriorityEpochNanos(6).setClientId(9).build();
            var second = raw.stub().read(LockingReadRequest.newBuilder().setGroup(3).setTxn(reader)
                    .setQuery(TxnProto.key(key)).build());
            assertThat(raw.stub().abort(io.gnomon.txn.grpc.AbortRequest.newBuilder().setGroup(3).setTxn(reader)
                    .setReadBallot(second.getLeaderBallot()).build()).getHeld()).isTrue();
        }
    }

    @Test
    void aRetriedCommitOfACommittedTransactionIsAnsweredCommittedWhateverItsReadLeadership() {
        byte[] key = cluster.keyIn(4, "retried");
        TxnId txn = TxnId.newBuilder().setPriorityEpochNanos(cluster.trueTime.now().earliestEpochNanos())
                .setClientId(11).build();
        LockingReadRequest read = LockingReadRequest.newBuilder().setGroup(4).setTxn(txn).setQuery(TxnProto.key(key))
                .build();
        int leader = leaderAnswering(4, read);
        try (Raw raw = raw(leader)) {
            io.gnomon.txn.grpc.Ballot under = raw.stub().read(read).getLeaderBallot();
            io.gnomon.txn.grpc.CommitRequest commit = io.gnomon.txn.grpc.CommitRequest.newBuilder().setGroup(4)
                    .setTxn(txn).setCoordinatorGroup(4).setReadBallot(under).addWrites(io.gnomon.txn.grpc.Write
                            .newBuilder().setKey(com.google.protobuf.ByteString.copyFrom(key))
                            .setValue(com.google.protobuf.ByteString.copyFrom(utf8("once")))).build();
            var first = raw.stub().commit(commit);
            assertThat(first.getOutcome()).isEqualTo(io.gnomon.txn.grpc.CommitReply.Outcome.COMMITTED);
            // the client lost that answer (its leader crashed, say) and sends the request again, to a leader of
            // another ballot: it is the same transaction, committed, not a new one to refuse and retry (which would
            // apply its writes twice)
            var again = raw.stub().commit(commit.toBuilder().setReadBallot(under.toBuilder()
                    .setRound(under.getRound() - 1)).build());
            assertThat(again.getOutcome()).isEqualTo(io.gnomon.txn.grpc.CommitReply.Outcome.COMMITTED);
            assertThat(again.getCommitTimestamp()).isEqualTo(first.getCommitTimestamp());
        }
    }

    /** The process whose replica of {@code group} answers {@code read} (its leader), polling until one does. */
    private int leaderAnswering(int group, LockingReadRequest read) {
        for (int tries = 0; tries < 200; tries++) {
            for (int p = 1; p <= 3; p++) {
                try (Raw raw = raw(p)) {
                    if (!raw.stub().read(read).hasRefused()) {
                        return p;
                    }
                }
            }
        }
        throw new AssertionError("no leader of group " + group + " answered");
    }

    @Test
    void badRequestsGetTheirStatusAndTheServerServesOn() {
        try (Raw raw = raw(1)) {
            TxnKvGrpc.TxnKvBlockingStub stub = raw.stub();
            assertThatThrownBy(() -> stub.snapshotRead(SnapshotReadRequest.newBuilder().setGroup(99)
                    .setQuery(TxnProto.key(utf8("k"))).setStrong(true).build()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
                        assertThat(e.getStatus().getDescription()).contains("does not host group 99");
                    });
            assertThatThrownBy(() -> stub.read(LockingReadRequest.newBuilder().setGroup(1)
                    .setQuery(TxnProto.key(utf8("k"))).build()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                        assertThat(e.getStatus().getDescription()).contains("txn");
                    });
            assertThatThrownBy(() -> stub.snapshotRead(SnapshotReadRequest.newBuilder().setGroup(1)
                    .setQuery(Query.getDefaultInstance()).setStrong(true).build()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e ->
                            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
            assertThatThrownBy(() -> stub.snapshotRead(SnapshotReadRequest.newBuilder().setGroup(1)
                    .setQuery(TxnProto.key(utf8("k"))).build()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                        assertThat(e.getStatus().getDescription()).contains("bound");
                    });
            // a read an hour ahead cannot be served before its deadline: it fails, and nothing else does
            long hourAhead = cluster.trueTime.now().latestEpochNanos() + TimeUnit.HOURS.toNanos(1);
            var future = stub.withDeadlineAfter(300, TimeUnit.MILLISECONDS).snapshotRead(SnapshotReadRequest
                    .newBuilder().setGroup(1).setQuery(TxnProto.key(utf8("k"))).setExactTimestamp(hourAhead).build());
            assertThat(future.hasRefused()).isTrue();
        } catch (StatusRuntimeException e) {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
        }
        byte[] key = cluster.keyIn(1, "after");
        assertThat(client.readWrite(txn -> {
            txn.put(key, utf8("ok"));
            return null;
        }, TIMEOUT).commitTimestamp()).isPositive();
    }

    /** The raw service of process {@code id}, for requests the client never sends. */
    private Raw raw(int id) {
        return cluster.raw(id);
    }

    private static byte[] encode(long v) {
        return ByteBuffer.allocate(8).putLong(v).array();
    }

    private static long decode(byte[] b) {
        return b == null ? 0 : ByteBuffer.wrap(b).getLong();
    }
}
