package io.gnomon.txn.server;

import io.gnomon.txn.server.TxnTestCluster.Raw;

import io.gnomon.paxos.store.Row;
import io.gnomon.txn.LockTable;
import io.gnomon.txn.TxnHost;
import io.gnomon.txn.TxnLimits;
import io.gnomon.txn.grpc.AbortRequest;
import io.gnomon.txn.grpc.CommitReply;
import io.gnomon.txn.grpc.CommitRequest;
import io.gnomon.txn.grpc.LockingReadRequest;
import io.gnomon.txn.grpc.ReadReply;
import io.gnomon.txn.grpc.TxnId;
import io.gnomon.txn.grpc.TxnKvGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Delete range through the service (issue 20, "commit with mutations (put, delete, delete range)"): three in-process
 * replica processes with four groups, the client's {@link TxnClient.ReadWrite#deleteRange} and the raw stub for the
 * transactions holding locks in its way.
 */
class TxnDeleteRangeServerTest {
    private static final long TIMEOUT = TimeUnit.SECONDS.toNanos(20);
    /** An idle timeout far past the test: only an abort or a wound frees a lock here. */
    private static final TxnLimits LIMITS = TxnTestCluster.testLimits(TimeUnit.SECONDS.toNanos(10));

    @TempDir
    Path tmp;
    private TxnTestCluster cluster;
    private TxnClient client;
    private final ExecutorService pool = Executors.newCachedThreadPool();

    @BeforeEach
    void start() throws Exception {
        cluster = new TxnTestCluster(tmp, 3, 4, LIMITS);
        cluster.startAll();
        client = cluster.client();
    }

    @AfterEach
    void stop() {
        pool.shutdownNow();
        if (client != null) {
            client.close();
        }
        cluster.close();
    }

    @Test
    void aRangeOverTwoGroupsIsDeletedAtTheCommitTimestampOnEveryReplica() {
        byte[] a1 = cluster.keyIn(1, "a");
        byte[] b1 = cluster.keyIn(1, "b");
        byte[] c1 = cluster.keyIn(1, "c");
        byte[] a2 = cluster.keyIn(2, "a");
        byte[] b2 = cluster.keyIn(2, "b");
        byte[] a3 = cluster.keyIn(3, "a");
        client.readWrite(txn -> {
            for (byte[] k : List.of(a1, b1, c1, a2, b2, a3)) {
                txn.put(k, utf8("v"));
            }
            return null;
        }, TIMEOUT);
        // [b1, b2): b1 and c1 in group 1, a2 in group 2; a put into the range after the delete stands
        TxnClient.Committed<List<String>> deleted = client.readWrite(txn -> {
            txn.put(c1, utf8("before")); // dropped: the range delete after it covers it
            txn.deleteRange(b1, b2);
            txn.put(a2, utf8("after"));
            assertThat(txn.get(b1)).as("the transaction's own range delete").isNull();
            assertThat(txn.get(c1)).isNull();
            assertThat(txn.get(a2)).isEqualTo(utf8("after"));
            return keys(txn.scan(new byte[0], null, 100));
        }, TIMEOUT);
        assertThat(deleted.value()).as("its scan sees its own deletes")
                .containsExactly(name(a1), name(a2), name(b2), name(a3));
        long s = deleted.commitTimestamp();
        for (int replica = 1; replica <= 3; replica++) {
            assertThat(keys(client.scan(new byte[0], null, 100, TxnClient.Bound.exactTimestamp(s - 1), replica,
                    TIMEOUT).rows())).as("replica %d at s - 1", replica)
                    .containsExactly(name(a1), name(b1), name(c1), name(a2), name(b2), name(a3));
            TxnClient.SnapshotRows at = client.scan(new byte[0], null, 100, TxnClient.Bound.exactTimestamp(s),
                    replica, TIMEOUT);
            assertThat(keys(at.rows())).as("replica %d at s", replica)
                    .containsExactly(name(a1), name(a2), name(b2), name(a3));
            assertThat(client.get(a2, TxnClient.Bound.exactTimestamp(s), replica, TIMEOUT).valueOrNull())
                    .isEqualTo(utf8("after"));
        }
    }

    @Test
    void aYoungerRangeDeleteWaitsForAnOlderReaderInsideItsRange() throws Exception {
        byte[] from = cluster.keyIn(1, "r");
        byte[] inside = cluster.keyIn(1, "r5");
        byte[] to = cluster.keyIn(1, "s");
        put(inside);
        TxnId older = TxnId.newBuilder().setPriorityEpochNanos(1).setClientId(3).build(); // older than any client's
        int leader = readUnderLock(1, older, inside);
        AtomicReference<io.gnomon.txn.TxnId> deleter = new AtomicReference<>();
        Future<Long> deleting = pool.submit(() -> client.readWrite(txn -> {
            deleter.set(txn.id());
            txn.deleteRange(from, to);
            return null;
        }, TIMEOUT).commitTimestamp());
        // the commit's exclusive range lock waits behind the older reader's shared key lock
        Awaitility.await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20)).until(() ->
                deleter.get() != null && onLeader(leader, 1, t -> t.waiting(deleter.get()).stream()
                        .anyMatch(l -> !l.target().isKey() && l.mode() == LockTable.Mode.EXCLUSIVE)));
        assertThat(deleting).isNotDone();
        try (Raw raw = cluster.raw(leader)) {
            assertThat(raw.stub().abort(AbortRequest.newBuilder().setGroup(1).setTxn(older).build()).getAborted())
                    .isTrue();
        }
        long s = deleting.get(20, TimeUnit.SECONDS);
        assertThat(client.get(inside, TxnClient.Bound.exactTimestamp(s - 1), 0, TIMEOUT).valueOrNull()).isNotNull();
        assertThat(client.get(inside, TxnClient.Bound.exactTimestamp(s), 0, TIMEOUT).valueOrNull()).isNull();
    }

    @Test
    void anOlderRangeDeleteWoundsAYoungerReaderInsideItsRange() {
        byte[] inside = cluster.keyIn(2, "r5");
        put(inside);
        TxnId younger = TxnId.newBuilder().setPriorityEpochNanos(Long.MAX_VALUE / 2).setClientId(3).build();
        int leader = readUnderLock(2, younger, inside);
        long s = client.readWrite(txn -> {
            txn.deleteRange(cluster.keyIn(2, "r"), null); // to the end of the key space: groups 2, 3 and 4
            return null;
        }, TIMEOUT).commitTimestamp();
        assertThat(client.get(inside, TxnClient.Bound.exactTimestamp(s), 0, TIMEOUT).valueOrNull()).isNull();
        try (Raw raw = cluster.raw(leader)) {
            // the wounded reader's put of the key it read is refused: it may retry, as a new attempt
            CommitReply refused = raw.stub().commit(CommitRequest.newBuilder().setGroup(2).setTxn(younger)
                    .setCoordinatorGroup(2).addWrites(io.gnomon.txn.grpc.Write.newBuilder()
                            .setKey(com.google.protobuf.ByteString.copyFrom(inside))
                            .setValue(com.google.protobuf.ByteString.copyFrom(utf8("late")))).build());
            assertThat(refused.getOutcome()).isEqualTo(CommitReply.Outcome.ABORTED);
            assertThat(refused.getRetryable()).isTrue();
        }
        assertThat(client.get(inside, TxnClient.Bound.strong(), 0, TIMEOUT).valueOrNull()).isNull();
    }

    private void put(byte[] key) {
        client.readWrite(txn -> {
            txn.put(key, utf8("v"));
            return null;
        }, TIMEOUT);
    }

    /** {@code txn} reads {@code key} in {@code group} at its leader (a shared lock there); the leader's process id. */
    private int readUnderLock(int group, TxnId txn, byte[] key) {
        LockingReadRequest read = LockingReadRequest.newBuilder().setGroup(group).setTxn(txn)
                .setQuery(TxnProto.key(key)).build();
        AtomicReference<Integer> leader = new AtomicReference<>();
        Awaitility.await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20)).until(() -> {
            for (int p : cluster.servers.keySet()) {
                try (Raw raw = cluster.raw(p)) {
                    ReadReply r = raw.stub().read(read);
                    if (!r.hasRefused()) {
                        leader.set(p);
                        return true;
                    }
                }
            }
            return false;
        });
        return leader.get();
    }

    /** {@code test} of process {@code process}'s lock table of {@code group}, on the group's loop; false if none. */
    private boolean onLeader(int process, int group, java.util.function.Predicate<LockTable> test) throws Exception {
        CompletableFuture<Boolean> f = new CompletableFuture<>();
        cluster.servers.get(process).submit(group, () -> {
            TxnHost<?> h = cluster.nodes.get(process).host(group);
            f.complete(h.lockTable() != null && test.test(h.lockTable()));
        });
        return f.get(5, TimeUnit.SECONDS);
    }



    private static List<String> keys(List<Row> rows) {
        return rows.stream().map(r -> name(r.key())).toList();
    }

    private static String name(byte[] key) {
        return java.util.HexFormat.of().formatHex(key);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
