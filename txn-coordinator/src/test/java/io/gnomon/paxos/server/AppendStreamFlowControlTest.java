package io.gnomon.paxos.server;

import com.google.protobuf.ByteString;
import io.gnomon.paxos.grpc.AppendReply;
import io.gnomon.paxos.grpc.AppendRequest;
import io.gnomon.paxos.grpc.Outcome;
import io.gnomon.paxos.grpc.ReplicaGrpc;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A client that sends appends on its {@code AppendStream} and does not read the replies is held back by flow
 * control: the server stops reading its requests once the replies it cannot deliver fill the stream's window
 * ({@link ReplicaLimits#maxAppendsPerStream}), instead of taking every request and queueing every reply in memory;
 * when the client reads again, every append is answered.
 */
class AppendStreamFlowControlTest {
    private static final Duration T = Duration.ofSeconds(60);
    private static final int APPENDS = 10_000;

    @TempDir
    Path tmp;

    private LocalCluster cluster;
    private ManagedChannel channel;

    @AfterEach
    void tearDown() {
        if (channel != null) {
            channel.shutdownNow();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    private long applied(ReplicaClient client, int replica) {
        return client.status(replica, Duration.ofSeconds(5)).orElseThrow().getAppliedIndex();
    }

    @Test
    void aClientThatDoesNotReadItsRepliesIsHeldBackAndAnsweredOnceItReads() throws Exception {
        cluster = new LocalCluster(tmp, 3).withLimits(ReplicaLimits.DEFAULTS.withMaxAppendsPerStream(8));
        cluster.startAll();
        ReplicaClient client = cluster.client(ReplicaServer.GROUP, ReplicaClient.AppendCalls.UNARY);
        AtomicInteger leader = new AtomicInteger();
        await().atMost(T).pollInterval(Duration.ofMillis(20)).until(() -> {
            client.leaseHolder(Duration.ofSeconds(1)).ifPresent(leader::set);
            return leader.get() > 0;
        });
        long before = applied(client, leader.get());

        // A small window on the client: its unread replies fill it after a few hundred.
        channel = NettyChannelBuilder.forTarget(cluster.targets().get(leader.get())).usePlaintext()
                .flowControlWindow(16 * 1024).build();
        ClientCall<AppendRequest, AppendReply> call = channel.newCall(ReplicaGrpc.getAppendStreamMethod(),
                CallOptions.DEFAULT);
        AtomicInteger answered = new AtomicInteger();
        AtomicInteger appliedReplies = new AtomicInteger();
        call.start(new ClientCall.Listener<>() {
            @Override
            public void onMessage(AppendReply reply) {
                answered.incrementAndGet();
                if (reply.getOutcome() == Outcome.APPLIED) {
                    appliedReplies.incrementAndGet();
                }
            }
        }, new Metadata());
        for (int i = 0; i < APPENDS; i++) { // queued in the client; replies are not requested
            call.sendMessage(AppendRequest.newBuilder().setId(i)
                    .setCommand(ByteString.copyFrom(ListAppends.append("k" + (i % 100), i))).build());
        }

        // The server takes requests until the unread replies fill the window, then none: the applied index settles
        // far below the appends sent (it would reach them all if the server kept reading).
        long[] last = {-1};
        int[] stableFor = {0};
        await().atMost(T).pollInterval(Duration.ofMillis(200)).until(() -> {
            long now = applied(client, leader.get());
            stableFor[0] = now == last[0] ? stableFor[0] + 1 : 0;
            last[0] = now;
            return stableFor[0] >= 5; // unchanged for a second
        });
        assertThat(last[0] - before).as("appends the server took while the client read no reply")
                .isPositive().isLessThan(APPENDS / 2);
        assertThat(answered.get()).isZero();

        // The client reads: every append is taken and answered.
        call.request(Integer.MAX_VALUE);
        await().atMost(T).pollInterval(Duration.ofMillis(50)).until(() -> answered.get() == APPENDS);
        assertThat(appliedReplies.get()).isEqualTo(APPENDS);
        call.halfClose();
    }
}
