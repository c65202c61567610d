package io.gnomon.txn.server;

import io.gnomon.txn.server.TxnTestCluster.Raw;

import com.google.protobuf.ByteString;
import io.gnomon.paxos.server.StoredMachines;
import io.gnomon.paxos.store.StoreLimits;
import io.gnomon.txn.TxnLimits;
import io.gnomon.txn.grpc.CommitRequest;
import io.gnomon.txn.grpc.Range;
import io.gnomon.txn.grpc.TxnId;
import io.gnomon.txn.grpc.TxnKvGrpc;
import io.gnomon.txn.grpc.Write;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * User-caused failures of a commit (issue 20, "Bad input and limits"): each is refused with its gRPC status, naming
 * what was wrong, before anything is logged; nothing of the transaction is visible after, no lock stays held, and
 * the server serves on. Three in-process replica processes with four groups, the transaction store's limits
 * ({@link StoredMachines#LIMITS}), the log's 1 MiB value limit and gRPC's 64 MiB message limit.
 */
class TxnRequestRefusalServerTest {
    private static final long TIMEOUT = TimeUnit.SECONDS.toNanos(20);
    /** An idle timeout far past the test: a lock left held would block the next transaction past its deadline. */
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

    @Test
    void writesOverTheStoresLimitsAreInvalidArgumentsNamingTheLimitTheValueAndTheKey() {
        StoreLimits store = StoredMachines.LIMITS;
        byte[] ok = cluster.keyIn(1, "ok");
        byte[] longKey = cluster.keyIn(1, "k".repeat(store.maxKeyBytes()));
        assertInvalid(txn -> {
            txn.put(ok, utf8("v"));
            txn.put(longKey, utf8("v"));
        }, "a key of " + longKey.length + " bytes exceeds the store's maxKeyBytes " + store.maxKeyBytes(),
                "key " + hex(longKey, 16) + "... (" + longKey.length + " bytes)");
        assertInvalid(txn -> txn.put(ok, new byte[store.maxValueBytes() + 1]), "a value of "
                + (store.maxValueBytes() + 1) + " bytes exceeds the store's maxValueBytes " + store.maxValueBytes(),
                "key " + hex(ok, ok.length));
        // a value within the store's limit whose record is past the log's
        assertInvalid(txn -> txn.put(ok, new byte[store.maxValueBytes()]), "exceeds the limit of",
                "(the log's PaxosLimits.maxValueBytes, less its tag) with 1 writes; the largest value is "
                        + store.maxValueBytes() + " bytes, key " + hex(ok, ok.length));
        assertInvalid(txn -> {
            for (int i = 0; i < store.maxBatchMutations(); i++) {
                txn.put(cluster.keyIn(1, "many" + i), utf8("v"));
            }
        }, store.maxBatchMutations() + " writes in one group exceed the store's maxBatchMutations "
                + store.maxBatchMutations());
        assertNothingLeft(ok);
    }

    @Test
    void aParticipantsWriteOverTheLimitsAbortsTheWholeTransactionAsTheClientsError() {
        byte[] coordinatorKey = cluster.keyIn(1, "fine");
        byte[] participantKey = cluster.keyIn(3, "too-big");
        assertInvalid(txn -> {
            txn.put(coordinatorKey, utf8("v"));
            txn.put(participantKey, new byte[StoredMachines.LIMITS.maxValueBytes() + 1]);
        }, "group 3 cannot log the commit", "a value of " + (StoredMachines.LIMITS.maxValueBytes() + 1)
                + " bytes exceeds the store's maxValueBytes " + StoredMachines.LIMITS.maxValueBytes());
        assertNothingLeft(coordinatorKey);
        assertNothingLeft(participantKey);
    }

    @Test
    void malformedCommitRequestsAreRefusedByNameAndTheServerServesOn() {
        TxnId txn = TxnId.newBuilder().setPriorityEpochNanos(cluster.trueTime.now().earliestEpochNanos())
                .setClientId(5).build();
        Write put = Write.newBuilder().setKey(ByteString.copyFrom(cluster.keyIn(1, "m")))
                .setValue(ByteString.copyFromUtf8("v")).build();
        CommitRequest good = CommitRequest.newBuilder().setGroup(1).setTxn(txn).setCoordinatorGroup(1).addWrites(put)
                .build();
        try (Raw raw = cluster.raw(1)) {
            refused(raw, good.toBuilder().clearTxn().build(), Status.Code.INVALID_ARGUMENT, "txn");
            refused(raw, good.toBuilder().setGroup(99).setCoordinatorGroup(99).build(), Status.Code.NOT_FOUND,
                    "does not host group 99");
            refused(raw, good.toBuilder().setCoordinatorGroup(2).build(), Status.Code.INVALID_ARGUMENT,
                    "commit to group 1: the group is neither the coordinator_group 2 nor among participant_groups []");
            refused(raw, good.toBuilder().setCoordinatorGroup(2).addParticipantGroups(3).build(),
                    Status.Code.INVALID_ARGUMENT, "nor among participant_groups [3]");
            refused(raw, good.toBuilder().addParticipantGroups(77).build(), Status.Code.INVALID_ARGUMENT,
                    "participant_groups: 77 is not a group of this cluster (groups [1, 2, 3, 4])");
            refused(raw, good.toBuilder().setGroup(2).setCoordinatorGroup(77).addParticipantGroups(2).build(),
                    Status.Code.INVALID_ARGUMENT, "coordinator_group 77 is not a group of this cluster");
            refused(raw, good.toBuilder().addParticipantGroups(1).build(), Status.Code.INVALID_ARGUMENT,
                    "must not be listed among the participants");
            refused(raw, good.toBuilder().addWrites(Write.newBuilder().setValue(ByteString.copyFromUtf8("v")))
                    .build(), Status.Code.INVALID_ARGUMENT, "writes[1].key is empty");
            refused(raw, good.toBuilder().addWrites(Write.newBuilder().setDeleteRange(Range.newBuilder()
                    .setFrom(ByteString.copyFromUtf8("b")).setTo(ByteString.copyFromUtf8("a")))).build(),
                    Status.Code.INVALID_ARGUMENT, "writes[1].delete_range: delete range start 62 is not before its end 61");
            refused(raw, good.toBuilder().addWrites(Write.newBuilder().setDeleteRange(Range.newBuilder()
                    .setFrom(ByteString.copyFromUtf8("b")))).build(),
                    Status.Code.INVALID_ARGUMENT, "writes[1].delete_range: give to, or to_end = true");
        }
        assertNothingLeft(cluster.keyIn(1, "m"));
    }

    @Test
    void aRequestOverTheMessageLimitIsRefusedByGrpcNamingTheLimit() {
        byte[] key = cluster.keyIn(2, "huge");
        assertThatThrownBy(() -> client.readWrite(txn -> {
            for (int i = 0; i < 65; i++) { // 65 values of 1 MiB: each within the store's limit, together past 64 MiB
                txn.put(cluster.keyIn(2, "huge" + i), new byte[1 << 20]);
            }
            return null;
        }, TIMEOUT)).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
            assertThat(e.getStatus().getDescription()).contains(String.valueOf(64 << 20));
        });
        assertNothingLeft(key);
    }

    /** A transaction with {@code body}'s writes is refused INVALID_ARGUMENT, its description holding each part. */
    private void assertInvalid(Consumer<TxnClient.ReadWrite> body, String... parts) {
        assertThatThrownBy(() -> client.readWrite(txn -> {
            body.accept(txn);
            return null;
        }, TIMEOUT)).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            for (String p : parts) {
                assertThat(e.getStatus().getDescription()).contains(p);
            }
        });
    }

    /**
     * Nothing of a refused transaction is visible at {@code key}, and no lock of it is left there: a write of the key
     * commits within a deadline far shorter than the idle timeout that would free a lock left behind.
     */
    private void assertNothingLeft(byte[] key) {
        assertThat(client.get(key, TxnClient.Bound.strong(), 0, TIMEOUT).valueOrNull()).isNull();
        assertThat(client.readWrite(txn -> {
            txn.put(key, utf8("after"));
            return null;
        }, TIMEOUT).commitTimestamp()).isPositive();
    }

    private static void refused(Raw raw, CommitRequest request, Status.Code code, String part) {
        assertThatThrownBy(() -> raw.stub().commit(request)).as(part)
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(code);
                    assertThat(e.getStatus().getDescription()).contains(part);
                });
    }



    private static String hex(byte[] key, int bytes) {
        return java.util.HexFormat.of().formatHex(key, 0, Math.min(bytes, key.length));
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
