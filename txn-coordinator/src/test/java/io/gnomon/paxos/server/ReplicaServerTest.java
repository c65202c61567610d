package io.gnomon.paxos.server;

import com.google.protobuf.ByteString;
import io.gnomon.paxos.Ballot;
import io.gnomon.paxos.Message;
import io.gnomon.paxos.PaxosLimits;
import io.gnomon.paxos.grpc.AppendReply;
import io.gnomon.paxos.grpc.Outcome;
import io.gnomon.paxos.grpc.PeerFrame;
import io.gnomon.paxos.grpc.PeerGrpc;
import io.gnomon.paxos.grpc.PeerStreamEnd;
import io.gnomon.paxos.grpc.StatusReply;
import io.gnomon.paxos.runtime.MessageCodec;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Three replica servers in one JVM over real gRPC on loopback: appends, lease reads, failover, bad input. */
class ReplicaServerTest {
    private static final Duration T = Duration.ofSeconds(10);

    @TempDir
    Path tmp;

    private LocalCluster cluster;
    private ReplicaClient client;

    @AfterEach
    void tearDown() {
        if (client != null) {
            client.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    private int awaitLeaseHolder() {
        awaitOrDescribe(() -> client.leaseHolder(Duration.ofSeconds(1)).isPresent(), "one lease holder");
        return client.leaseHolder(Duration.ofSeconds(1)).orElseThrow();
    }

    /** Waits for {@code done}; on timeout fails with every replica's status, which says why. */
    private void awaitOrDescribe(java.util.concurrent.Callable<Boolean> done, String what) {
        try {
            await().atMost(T).pollInterval(Duration.ofMillis(20)).until(done);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError("not within " + T + ": " + what + "; replicas: " + client.statuses(T), e);
        }
    }

    private static byte[] append(String key, long v) {
        return ListAppend.encodeTxn(List.of(ListAppend.Op.append(key, v)));
    }

    private List<Long> read(String key) {
        return ListAppend.decodeList(client.read(key.getBytes(StandardCharsets.UTF_8), T).orElseThrow()
                .getResult().toByteArray());
    }

    @Test
    void appendsAreAppliedReadUnderLeaseAndSurviveLeaderFailover() throws Exception {
        cluster = new LocalCluster(tmp, 3);
        cluster.startAll();
        client = new ReplicaClient(cluster.targets());
        int leader = awaitLeaseHolder();

        List<Long> acked = new ArrayList<>();
        for (long v = 1; v <= 50; v++) {
            AppendReply r = client.append(append("k", v), T);
            assertThat(r.getOutcome()).as(r.getDetail()).isEqualTo(Outcome.APPLIED);
            acked.add(v);
        }
        assertThat(read("k")).containsExactlyElementsOf(acked);
        assertThat(read("never")).isEmpty();
        // A transaction's read sees its own earlier append, atomically with it.
        AppendReply txn = client.append(ListAppend.encodeTxn(List.of(ListAppend.Op.append("k", 51),
                ListAppend.Op.read("k"))), T);
        assertThat(txn.getOutcome()).as(txn.getDetail()).isEqualTo(Outcome.APPLIED);
        acked.add(51L);
        assertThat(ListAppend.decodeResult(txn.getResult().toByteArray()).get(1)).containsExactlyElementsOf(acked);

        cluster.stop(leader);
        int next = awaitLeaseHolder();
        assertThat(next).isNotEqualTo(leader);
        for (long v = 52; v <= 60; v++) {
            assertThat(client.append(append("k", v), T).getOutcome()).isEqualTo(Outcome.APPLIED);
            acked.add(v);
        }
        assertThat(read("k")).containsExactlyElementsOf(acked);

        // The old leader comes back from its log (compacted every 50 entries), catches up, and could lead.
        cluster.start(leader);
        awaitOrDescribe(() -> client.status(leader, Duration.ofSeconds(1))
                .map(StatusReply::getAppliedIndex).orElse(-1L) >= acked.size(), "replica " + leader + " catches up");
        cluster.stop(next);
        awaitLeaseHolder();
        assertThat(read("k")).containsExactlyElementsOf(acked);
    }

    @Test
    void aCommandTheMachineRefusesIsNeverProposed() throws Exception {
        cluster = new LocalCluster(tmp, 3);
        cluster.startAll();
        client = new ReplicaClient(cluster.targets());
        awaitLeaseHolder();
        AppendReply r = client.append(new byte[] {0, 0, 0, 9}, T);
        assertThat(r.getOutcome()).isEqualTo(Outcome.NOT_APPENDED);
        assertThat(r.getDetail()).contains("truncated");
    }

    @Test
    void garbageFramesAndUnknownReplicasAreDroppedWhileTheGroupServes() throws Exception {
        cluster = new LocalCluster(tmp, 3);
        cluster.startAll();
        client = new ReplicaClient(cluster.targets());
        awaitLeaseHolder();
        MessageCodec codec = new MessageCodec(PaxosLimits.DEFAULTS);
        byte[] valid = codec.encode(new Message.Prepare(9, 1, 1, List.of(1, 2, 3, 9), 0, new Ballot(1_000_000, 9),
                Ballot.ZERO, 0, 0, Long.MIN_VALUE));
        ManagedChannel ch = NettyChannelBuilder.forTarget(cluster.targets().get(1)).usePlaintext().build();
        try {
            StreamObserver<PeerFrame> s = PeerGrpc.newStub(ch).stream(new StreamObserver<>() {
                @Override
                public void onNext(PeerStreamEnd value) {
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onCompleted() {
                }
            });
            for (int cut = 0; cut < valid.length; cut += 3) {
                s.onNext(PeerFrame.newBuilder().setPayload(ByteString.copyFrom(Arrays.copyOf(valid, cut))).build());
            }
            // Well-formed, but from a replica that is not a member (and with a ballot far in the future).
            s.onNext(PeerFrame.newBuilder().setPayload(ByteString.copyFrom(valid)).build());
            s.onCompleted();
        } finally {
            ch.shutdownNow();
        }
        for (long v = 1; v <= 5; v++) {
            assertThat(client.append(append("x", v), T).getOutcome()).isEqualTo(Outcome.APPLIED);
        }
        assertThat(read("x")).containsExactly(1L, 2L, 3L, 4L, 5L);
        for (StatusReply s : client.statuses(T)) {
            assertThat(s.getBallotRound()).as("no replica promised the stranger's ballot").isLessThan(1_000_000);
        }
    }
}
