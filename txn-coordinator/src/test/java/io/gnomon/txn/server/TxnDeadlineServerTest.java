package io.gnomon.txn.server;

import io.gnomon.txn.server.TxnTestCluster.Raw;

import com.google.protobuf.ByteString;
import io.gnomon.txn.LockTable;
import io.gnomon.txn.TxnHost;
import io.gnomon.txn.TxnLimits;
import io.gnomon.txn.grpc.AbortRequest;
import io.gnomon.txn.grpc.CommitReply;
import io.gnomon.txn.grpc.CommitRequest;
import io.gnomon.txn.grpc.LockingReadRequest;
import io.gnomon.txn.grpc.TxnId;
import io.gnomon.txn.grpc.TxnKvGrpc;
import io.gnomon.txn.grpc.Write;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Deadlines honoured at the server (docs/txn-service.md): a locking read or a commit still waiting for locks when its
 * gRPC deadline passes is withdrawn, so no lock is granted to a caller that left and nothing is half-committed.
 * Three in-process replica processes with four groups, raw stubs with chosen transaction ages.
 */
class TxnDeadlineServerTest {
    private static final long TIMEOUT = TimeUnit.SECONDS.toNanos(20);
    /** An idle timeout far past the test: only a deadline, an abort or a wound frees a lock here. */
    private static final TxnLimits LIMITS = TxnTestCluster.testLimits(TimeUnit.SECONDS.toNanos(60));

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
    void aReadAndACommitWaitingForLocksPastTheirDeadlinesAreWithdrawn() throws Exception {
        byte[] key = cluster.keyIn(2, "contended");
        TxnId oldest = txn(1);
        TxnId writer = txn(2);
        TxnId reader = txn(3);
        LockingReadRequest read = LockingReadRequest.newBuilder().setGroup(2).setTxn(oldest)
                .setQuery(TxnProto.key(key)).build();
        int leader = leaderReading(read); // the oldest holds a shared lock on the key
        try (Raw raw = cluster.raw(leader)) {
            // the writer's commit waits for the oldest's lock, longer than the reader's deadline below
            CommitRequest commit = CommitRequest.newBuilder().setGroup(2).setTxn(writer).setCoordinatorGroup(2)
                    .addWrites(Write.newBuilder().setKey(ByteString.copyFrom(key)).setValue(ByteString.copyFromUtf8("w")))
                    .build();
            Future<CommitReply> committing = pool.submit(() ->
                    raw.stub().withDeadlineAfter(10, TimeUnit.SECONDS).commit(commit));
            awaitOnLeader(leader, t -> !t.waiting(core(writer)).isEmpty());
            assertThat(client.status(2, core(writer), System.nanoTime() + TIMEOUT).state())
                    .isEqualTo(TxnClient.TxnState.IN_PROGRESS);
            // the reader waits behind the older writer's exclusive request until its deadline: withdrawn
            assertThatThrownBy(() -> raw.stub().withDeadlineAfter(300, TimeUnit.MILLISECONDS).read(
                    LockingReadRequest.newBuilder().setGroup(2).setTxn(reader).setQuery(TxnProto.key(key)).build()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e ->
                            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
            awaitOnLeader(leader, t -> !t.txns().contains(core(reader)));
            // and the writer's deadline passes too: its commit aborts there (an abort record), nothing written
            assertThatThrownBy(() -> committing.get(20, TimeUnit.SECONDS)).hasCauseInstanceOf(
                    StatusRuntimeException.class).cause().satisfies(e -> assertThat(((StatusRuntimeException) e)
                    .getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
            awaitOnLeader(leader, t -> !t.txns().contains(core(writer)));
            TxnClient.TxnOutcome status = client.status(2, core(writer), System.nanoTime() + TIMEOUT);
            assertThat(status.state()).as("TxnStatus: the log's outcome").isEqualTo(TxnClient.TxnState.ABORTED);
            assertThat(status.message()).contains("the client left (its deadline passed) before");
            CommitReply asked = raw.stub().commit(commit);
            assertThat(asked.getOutcome()).as("asked again: the log's answer").isEqualTo(CommitReply.Outcome.ABORTED);
            assertThat(asked.getMessage()).contains("the client left (its deadline passed) before");
            // the reader's transaction was aborted here: its next read is refused, not served
            assertThat(raw.stub().read(LockingReadRequest.newBuilder().setGroup(2).setTxn(reader)
                    .setQuery(TxnProto.key(key)).build()).hasRefused()).isTrue();
            assertThat(raw.stub().abort(AbortRequest.newBuilder().setGroup(2).setTxn(oldest).build()).getAborted())
                    .isTrue();
        }
        assertThat(client.get(key, TxnClient.Bound.strong(), 0, TIMEOUT).valueOrNull()).isNull();
        assertThat(client.readWrite(txn -> {
            txn.put(key, new byte[]{1});
            return null;
        }, TIMEOUT).commitTimestamp()).as("no lock left").isPositive();
    }

    @Test
    void txnStatusAnswersFromTheCoordinatorsLogAndNeverSaysAbortedForWhatItDoesNotKnow() {
        byte[] a = cluster.keyIn(1, "s");
        byte[] b = cluster.keyIn(4, "s");
        AtomicReference<io.gnomon.txn.TxnId> id = new AtomicReference<>();
        long ts = client.readWrite(txn -> {
            id.set(txn.id());
            txn.put(a, new byte[]{1});
            txn.put(b, new byte[]{2});
            return null;
        }, TIMEOUT).commitTimestamp();
        TxnClient.TxnOutcome committed = client.status(1, id.get(), System.nanoTime() + TIMEOUT);
        assertThat(committed.state()).isEqualTo(TxnClient.TxnState.COMMITTED);
        assertThat(committed.commitTimestamp()).isEqualTo(ts);
        TxnClient.TxnOutcome unknown = client.status(3, core(txn(42)), System.nanoTime() + TIMEOUT);
        assertThat(unknown.state()).isEqualTo(TxnClient.TxnState.NOT_KNOWN);
        assertThat(unknown.message()).contains("it is not known to be aborted");
        try (Raw raw = cluster.raw(1)) {
            assertThatThrownBy(() -> raw.stub().txnStatus(io.gnomon.txn.grpc.TxnStatusRequest.newBuilder()
                    .setGroup(1).build())).isInstanceOfSatisfying(StatusRuntimeException.class, e ->
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
        }
    }

    private static TxnId txn(long priority) {
        return TxnId.newBuilder().setPriorityEpochNanos(priority).setClientId(7).build();
    }

    private static io.gnomon.txn.TxnId core(TxnId t) {
        return new io.gnomon.txn.TxnId(t.getPriorityEpochNanos(), t.getClientId(), t.getAttempt());
    }

    /** Sends {@code read} until a replica serves it (the group's leader); that replica's process id. */
    private int leaderReading(LockingReadRequest read) {
        AtomicReference<Integer> leader = new AtomicReference<>();
        Awaitility.await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20)).until(() -> {
            for (int p : cluster.servers.keySet()) {
                try (Raw raw = cluster.raw(p)) {
                    if (!raw.stub().read(read).hasRefused()) {
                        leader.set(p);
                        return true;
                    }
                }
            }
            return false;
        });
        return leader.get();
    }

    /** Waits until {@code test} holds of process {@code process}'s lock table of group 2, read on the group's loop. */
    private void awaitOnLeader(int process, Predicate<LockTable> test) {
        Awaitility.await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20)).until(() -> {
            CompletableFuture<Boolean> f = new CompletableFuture<>();
            cluster.servers.get(process).submit(2, () -> {
                TxnHost<?> h = cluster.nodes.get(process).host(2);
                f.complete(h.lockTable() != null && test.test(h.lockTable()));
            });
            return f.get(5, TimeUnit.SECONDS);
        });
    }


}
