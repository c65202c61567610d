package io.gnomon.paxos.server;

import io.gnomon.paxos.Ballot;
import io.gnomon.paxos.Message;
import io.gnomon.paxos.PaxosLimits;
import io.gnomon.paxos.grpc.AppendReply;
import io.gnomon.paxos.grpc.Outcome;
import io.gnomon.paxos.grpc.PeerFrame;
import io.gnomon.paxos.grpc.ReadRequest;
import io.gnomon.paxos.grpc.ReplicaGrpc;
import io.gnomon.paxos.grpc.StatusRequest;
import io.gnomon.paxos.runtime.MessageCodec;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A process's groups on a pool of loop threads: three processes over real gRPC on loopback, each hosting twelve
 * groups on three loops. Every group elects, applies and serves reads whichever loop drives it; requests reach
 * their group's loop; a group no process hosts is NOT_FOUND still.
 */
class LoopPoolServerTest {
    private static final Duration T = Duration.ofSeconds(30);
    private static final int GROUPS = 12;

    @TempDir
    Path tmp;

    private LocalCluster cluster;

    @AfterEach
    void tearDown() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private ReplicaClient client(long group) {
        return cluster.client(group, ReplicaClient.AppendCalls.STREAM);
    }

    private static byte[] append(String key, long v) {
        return ListAppends.append(key, v);
    }

    @Test
    void everyGroupElectsAppliesAndServesOnItsOwnLoop() throws Exception {
        Map<Long, List<Integer>> groups = new TreeMap<>();
        for (long g = 1; g <= GROUPS; g++) {
            groups.put(g, List.of(1, 2, 3));
        }
        cluster = new LocalCluster(tmp, 3).withGroups(groups).withLimits(ReplicaLimits.DEFAULTS.withLoopThreads(3));
        cluster.startAll();
        for (ReplicaServer s : cluster.servers.values()) {
            assertThat(s.loopThreads()).isEqualTo(3);
        }
        assertThat(Thread.getAllStackTraces().keySet().stream().map(Thread::getName)
                .filter(n -> n.startsWith("replica-1-loop-")).sorted().toList())
                .containsExactly("replica-1-loop-0", "replica-1-loop-1", "replica-1-loop-2");

        // Appends to every group at once: each loop takes its groups' appends in its own turns.
        List<CompletableFuture<AppendReply>> replies = new ArrayList<>();
        for (long g = 1; g <= GROUPS; g++) {
            for (long v = 1; v <= 3; v++) {
                replies.add(client(g).appendAsync(append("k", g * 100 + v), T));
            }
        }
        for (CompletableFuture<AppendReply> f : replies) {
            // APPLIED, or (a leader change while the groups settle) UNKNOWN: not a refusal at the door
            assertThat(f.get(T.toMillis(), TimeUnit.MILLISECONDS).getRejected()).isFalse();
        }
        for (long g = 1; g <= GROUPS; g++) {
            ListAppends.appendOnce(client(g), "k", g * 100 + 9, T);
        }
        for (long g = 1; g <= GROUPS; g++) {
            long group = g;
            List<Long> read = ListAppend.decodeList(client(g).read("k".getBytes(StandardCharsets.UTF_8), T)
                    .orElseThrow().getResult().toByteArray());
            assertThat(read).as("group %d reads its own appends only", g)
                    .allMatch(v -> v / 100 == group).endsWith(g * 100 + 9);
        }
        for (int p = 1; p <= 3; p++) {
            for (long g = 1; g <= GROUPS; g++) {
                assertThat(client(g).status(p, T)).as("group %d on process %d", g, p).isPresent()
                        .hasValueSatisfying(s -> assertThat(s.getHostedGroupsCount()).isEqualTo(GROUPS));
            }
        }

        ManagedChannel ch = NettyChannelBuilder.forTarget(cluster.targets().get(2)).usePlaintext().build();
        try {
            var stub = ReplicaGrpc.newBlockingStub(ch).withDeadlineAfter(T.toMillis(), TimeUnit.MILLISECONDS);
            StatusRuntimeException status = assertThrows(StatusRuntimeException.class,
                    () -> stub.status(StatusRequest.newBuilder().setGroup(GROUPS + 1).build()));
            assertThat(status.getStatus().getCode()).isEqualTo(io.grpc.Status.Code.NOT_FOUND);
            assertThat(status.getStatus().getDescription()).contains("group " + (GROUPS + 1));
            StatusRuntimeException read = assertThrows(StatusRuntimeException.class,
                    () -> stub.read(ReadRequest.newBuilder().setGroup(GROUPS + 1).build()));
            assertThat(read.getStatus().getCode()).isEqualTo(io.grpc.Status.Code.NOT_FOUND);
        } finally {
            ch.shutdownNow();
        }
    }

    /**
     * Idle groups: a leader is ticked once per heartbeat, a follower not at all, and what a loop's turn sends a peer
     * goes in one frame, so the frames between processes grow with loops and turns, not with groups.
     */
    @Test
    void idleGroupsAreNotTickedEachAndShareFramesToAPeer() throws Exception {
        int groupCount = 48;
        Map<Long, List<Integer>> groups = new TreeMap<>();
        for (long g = 1; g <= groupCount; g++) {
            groups.put(g, List.of(1, 2, 3));
        }
        cluster = new LocalCluster(tmp, 3).withGroups(groups).withLimits(ReplicaLimits.DEFAULTS.withLoopThreads(2));
        cluster.startAll();
        for (long g = 1; g <= groupCount; g++) {
            long group = g;
            await().atMost(T).pollInterval(Duration.ofMillis(20))
                    .until(() -> client(group).leaseHolder(Duration.ofSeconds(1)).isPresent());
        }
        ReplicaServer s = cluster.servers.get(1);
        long frames0 = s.framesSent();
        long messages0 = s.messagesSent();
        long ticks0 = s.groupTicks();
        long t0 = System.nanoTime();
        // Idle: every group's leader heartbeats (50 ms) and its followers answer; wait for a few thousand messages.
        await().atMost(T).pollInterval(Duration.ofMillis(50)).until(() -> s.messagesSent() - messages0 >= 3000);
        long frames = s.framesSent() - frames0;
        long messages = s.messagesSent() - messages0;
        long ticks = s.groupTicks() - ticks0;
        long elapsedTicks = (System.nanoTime() - t0) / TimeUnit.MILLISECONDS.toNanos(5) + 1;
        System.out.printf("idle %d groups, process 1: %d messages in %d frames, %d group ticks%n", groupCount,
                messages, frames, ticks);
        assertThat(frames).as("frames carry several groups' messages each").isLessThan(messages / 4);
        // Ticking every group at every 5 ms tick would be 48 group ticks per tick. Only leaders are ticked, once per
        // 50 ms heartbeat (10 ticks): at most 48 / 10 per tick even if this process leads every group, and a
        // follower is not ticked while heartbeats keep its election deadline ahead. (Not "fewer than half the
        // messages": with every group led here, each heartbeat tick sends exactly two.)
        assertThat(ticks).as("group ticks in %d ticks of 5 ms", elapsedTicks)
                .isLessThan(elapsedTicks * groupCount / 4);
    }

    /** A turn's messages to a peer go in one frame, split only where together they would exceed maxMessageBytes. */
    @Test
    void aBatchIsOneFrameUnlessItExceedsTheLargestMessage() throws Exception {
        List<Integer> frameSizes = Collections.synchronizedList(new ArrayList<>());
        List<Long> groupsSeen = Collections.synchronizedList(new ArrayList<>());
        java.util.concurrent.atomic.AtomicInteger probes = new java.util.concurrent.atomic.AtomicInteger();
        PeerStub peer = new PeerStub((stream, frame) -> {
            if (frame.getGroup() == 99) {
                probes.incrementAndGet(); // the stream is up
                return;
            }
            if (frame.getBatchCount() == 0) { // a lone message: a frame of its own
                frameSizes.add(1);
                groupsSeen.add(frame.getGroup());
            } else {
                frameSizes.add(frame.getBatchCount());
                frame.getBatchList().forEach(f -> groupsSeen.add(f.getGroup()));
            }
        });
        MessageCodec codec = new MessageCodec(PaxosLimits.DEFAULTS);
        Message m = new Message.Nack(1, 2, 1, new Ballot(1, 1));
        int oneFrame = PeerFrame.newBuilder().setGroup(2)
                .setPayload(com.google.protobuf.ByteString.copyFrom(codec.encode(m))).build().getSerializedSize();
        // Room for three messages of a batch in a frame, not four.
        ReplicaLimits limits = ReplicaLimits.DEFAULTS.withMaxMessageBytes(3 * (oneFrame + 16) + 1);
        List<ProcessTransport.GroupMessage> ten = new ArrayList<>();
        for (long g = 2; g <= 11; g++) {
            ten.add(new ProcessTransport.GroupMessage(g, m));
        }
        try (GrpcTransport t = new GrpcTransport(1, Map.of(2, peer.target()), codec,
                (to, envelope) -> { }, limits)) {
            await().atMost(T).pollInterval(Duration.ofMillis(20)).until(() -> {
                t.send(2, 99, m); // opens the stream; dropped while it connects
                return probes.get() > 0;
            });
            t.sendAll(2, ten);
            await().atMost(T).pollInterval(Duration.ofMillis(20)).until(() -> groupsSeen.size() == 10);
        } finally {
            peer.close();
        }
        assertThat(frameSizes).containsExactly(3, 3, 3, 1);
        assertThat(groupsSeen).containsExactly(2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L);
    }

    @Test
    void neverMoreLoopsThanGroups() {
        assertThat(ReplicaLimits.DEFAULTS.withLoopThreads(4).loopThreadsFor(2)).isEqualTo(2);
        assertThat(ReplicaLimits.DEFAULTS.withLoopThreads(0).loopThreadsFor(1000))
                .isEqualTo(Math.max(1, Runtime.getRuntime().availableProcessors() / 2));
        assertThat(ReplicaLimits.DEFAULTS.loopThreads()).as("one per two cores by default").isZero();
        assertThat(ReplicaLimits.defaultLoopThreads(1)).isEqualTo(1);
        assertThat(ReplicaLimits.defaultLoopThreads(2)).isEqualTo(1);
        assertThat(ReplicaLimits.defaultLoopThreads(8)).isEqualTo(4);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ReplicaLimits.DEFAULTS.withLoopThreads(-1))
                .hasMessage("loopThreads -1: must be >= 0");
    }
}
