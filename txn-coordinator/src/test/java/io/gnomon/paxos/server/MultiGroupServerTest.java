package io.gnomon.paxos.server;

import io.gnomon.paxos.Ballot;
import io.gnomon.paxos.Message;
import io.gnomon.paxos.PaxosLimits;
import io.gnomon.paxos.grpc.AppendReply;
import io.gnomon.paxos.grpc.Outcome;
import io.gnomon.paxos.grpc.PeerFrame;
import io.gnomon.paxos.grpc.PeerGrpc;
import io.gnomon.paxos.grpc.PeerStreamEnd;
import io.gnomon.paxos.grpc.ReadRequest;
import io.gnomon.paxos.grpc.ReplicaGrpc;
import io.gnomon.paxos.grpc.StatusReply;
import io.gnomon.paxos.grpc.StatusRequest;
import io.gnomon.paxos.runtime.MessageCodec;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.awaitility.Awaitility.await;

/**
 * Three replica processes in one JVM over real gRPC on loopback, each hosting four groups on its one loop: every
 * group elects, takes appends and serves reads on its own; requests name their group; a process's death leaves
 * every group serving; one stream per peer process carries every group's frames.
 */
class MultiGroupServerTest {
    private static final Duration T = Duration.ofSeconds(20);
    private static final List<Long> GROUPS = List.of(1L, 2L, 3L, 4L);

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
        return cluster.client(group, ReplicaClient.AppendCalls.UNARY);
    }

    private void awaitOrDescribe(Callable<Boolean> done, String what) {
        try {
            await().atMost(T).pollInterval(Duration.ofMillis(20)).until(done);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            StringBuilder why = new StringBuilder();
            for (long g : GROUPS) {
                why.append("\n group ").append(g).append(": ").append(client(g).statuses(Duration.ofSeconds(1)));
            }
            throw new AssertionError("not within " + T + ": " + what + why, e);
        }
    }

    private int awaitLeaseHolder(long group) {
        // The holder the wait saw: asking again could miss it (a status call timing out on a loaded machine).
        AtomicInteger holder = new AtomicInteger();
        awaitOrDescribe(() -> {
            var h = client(group).leaseHolder(Duration.ofSeconds(1));
            h.ifPresent(holder::set);
            return h.isPresent();
        }, "one lease holder in group " + group);
        return holder.get();
    }

    private static byte[] append(String key, long v) {
        return ListAppends.append(key, v);
    }

    private List<Long> read(long group, String key) {
        return ListAppends.read(client(group), key, T);
    }

    @ParameterizedTest
    @EnumSource(ReplicaServer.LogKind.class)
    void everyGroupElectsAppliesAndServesReadsOnItsOwnAndSurvivesAProcessDeath(ReplicaServer.LogKind log)
            throws Exception {
        Map<Long, List<Integer>> groups = new TreeMap<>();
        GROUPS.forEach(g -> groups.put(g, List.of(1, 2, 3)));
        cluster = new LocalCluster(tmp, 3).withLog(log).withGroups(groups);
        cluster.startAll();

        Map<Long, Integer> leaders = new TreeMap<>();
        for (long g : GROUPS) {
            leaders.put(g, awaitLeaseHolder(g));
        }
        // Each group writes the same key with values of its own: a group's reads see its appends and no other's.
        for (long g : GROUPS) {
            for (long v = 1; v <= 5; v++) {
                AppendReply r = client(g).append(append("k", g * 100 + v), T);
                assertThat(r.getOutcome()).as("group %d: %s", g, r.getDetail()).isEqualTo(Outcome.APPLIED);
            }
        }
        for (long g : GROUPS) {
            assertThat(read(g, "k")).as("group %d", g)
                    .containsExactly(g * 100 + 1, g * 100 + 2, g * 100 + 3, g * 100 + 4, g * 100 + 5);
            StatusReply s = client(g).status(1, T).orElseThrow();
            assertThat(s.getGroup()).isEqualTo(g);
            assertThat(s.getHostedGroupsList()).containsExactlyElementsOf(GROUPS);
        }
        if (log == ReplicaServer.LogKind.CHRONICLE) {
            // Group 1 keeps the one-group layout in the data dir itself; the others are below it.
            assertThat(tmp.resolve("r1").resolve("group-2")).isDirectory();
            assertThat(Files.exists(tmp.resolve("r1").resolve("group-1"))).isFalse();
        } else {
            // One log for every group: no file or directory per group.
            try (var files = Files.list(tmp.resolve("r1"))) {
                assertThat(files.map(p -> p.getFileName().toString())).containsExactly("wal");
            }
        }

        // A group no process hosts: NOT_FOUND naming it and the hosted groups, for every kind of request.
        ManagedChannel ch = NettyChannelBuilder.forTarget(cluster.targets().get(1)).usePlaintext().build();
        try {
            var stub = ReplicaGrpc.newBlockingStub(ch).withDeadlineAfter(T.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
            StatusRuntimeException status = assertThrows(StatusRuntimeException.class,
                    () -> stub.status(StatusRequest.newBuilder().setGroup(9).build()));
            assertThat(status.getStatus().getCode()).isEqualTo(io.grpc.Status.Code.NOT_FOUND);
            assertThat(status.getStatus().getDescription()).contains("group 9").contains("[1, 2, 3, 4]");
            StatusRuntimeException read = assertThrows(StatusRuntimeException.class,
                    () -> stub.read(ReadRequest.newBuilder().setGroup(9).build()));
            assertThat(read.getStatus().getCode()).isEqualTo(io.grpc.Status.Code.NOT_FOUND);
        } finally {
            ch.shutdownNow();
        }
        try (ReplicaClient streamed = new ReplicaClient(cluster.targets(), ReplicaClient.AppendCalls.STREAM, 9)) {
            AppendReply unknown = streamed.appendAsync(append("k", 1), T).get();
            assertThat(unknown.getOutcome()).isEqualTo(Outcome.NOT_APPENDED);
            assertThat(unknown.getDetail()).contains("does not host group 9");
        }

        // A peer frame for a group process 1 does not host is dropped (with a warning), and nothing else changes.
        ManagedChannel peer = NettyChannelBuilder.forTarget(cluster.targets().get(1)).usePlaintext().build();
        try {
            StreamObserver<PeerFrame> frames = PeerGrpc.newStub(peer).stream(new StreamObserver<>() {
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
            byte[] nack = new MessageCodec(PaxosLimits.DEFAULTS).encode(new Message.Nack(2, 1, 1, new Ballot(99, 2)));
            frames.onNext(PeerFrame.newBuilder().setGroup(9)
                    .setPayload(com.google.protobuf.ByteString.copyFrom(nack)).build());
            frames.onCompleted();
        } finally {
            peer.shutdown();
        }
        for (long g : GROUPS) {
            assertThat(client(g).status(1, T)).as("group %d on process 1", g).isPresent();
        }

        // Process 1 dies: every group it led elects again elsewhere, and every group takes appends still.
        cluster.stop(1);
        for (long g : GROUPS) {
            int leader = awaitLeaseHolder(g);
            assertThat(leader).isNotEqualTo(1);
            // A leader elected as process 1 went may step down again on a loaded machine: appendOnce then reads
            // whether the value landed before it appends again.
            ListAppends.appendOnce(client(g), "k", g * 100 + 6, T);
            assertThat(read(g, "k")).as("group %d", g).endsWith(g * 100 + 6).hasSize(6);
        }

        // Process 1 comes back: every group recovers from its log and catches up.
        cluster.start(1);
        for (long g : GROUPS) {
            int leader = awaitLeaseHolder(g);
            long applied = client(g).status(leader, T).orElseThrow().getAppliedIndex();
            awaitOrDescribe(() -> client(g).status(1, Duration.ofSeconds(1))
                    .map(s -> s.getAppliedIndex() >= applied).orElse(false),
                    "process 1 applies what group " + g + "'s leader had applied, " + applied);
        }
    }

    @Test
    void aDataDirWrittenWithOneLogIsRefusedByTheOther() throws Exception {
        cluster = new LocalCluster(tmp, 1).withLog(ReplicaServer.LogKind.CHRONICLE);
        cluster.start(1);
        cluster.stop(1);
        cluster.withLog(ReplicaServer.LogKind.PROCESS);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> cluster.start(1))
                .isInstanceOf(java.io.IOException.class)
                .hasMessageContaining("holds Chronicle logs").hasMessageContaining("--log chronicle");
        assertThat(tmp.resolve("r1").resolve("wal")).as("nothing written by the refused start").doesNotExist();

        Path other = tmp.resolve("other");
        cluster.close();
        cluster = new LocalCluster(other, 1).withLog(ReplicaServer.LogKind.PROCESS);
        cluster.start(1);
        cluster.stop(1);
        cluster.withLog(ReplicaServer.LogKind.CHRONICLE);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> cluster.start(1))
                .isInstanceOf(java.io.IOException.class)
                .hasMessageContaining("holds a process log").hasMessageContaining("--log process");
        try (var files = Files.list(other.resolve("r1"))) {
            assertThat(files.map(p -> p.getFileName().toString())).as("nothing written by the refused start")
                    .containsExactly("wal");
        }
    }

    @Test
    void optionsRefuseAGroupWithoutThisProcessOrWithAProcessThatHasNoAddress() {
        Map<Integer, InetSocketAddress> members = Map.of(1, new InetSocketAddress("127.0.0.1", 1),
                2, new InetSocketAddress("127.0.0.1", 2));
        io.gnomon.paxos.PaxosConfig paxos = new io.gnomon.paxos.PaxosConfig(1, List.of(1, 2), 150_000_000L,
                50_000_000L, 50_000_000L, 600_000_000L, PaxosLimits.DEFAULTS, 1);
        io.gnomon.paxos.storage.LogLimits logLimits = new io.gnomon.paxos.storage.LogLimits(
                PaxosLimits.DEFAULTS.maxValueBytes() + 8192, 1024, 16 << 20, 16 << 20);
        java.util.function.Function<Map<Long, List<Integer>>, ReplicaServer.Options> options = groups ->
                new ReplicaServer.Options(1, members, tmp, io.gnomon.paxos.storage.SyncPolicy.NONE, paxos, logLimits,
                        0, 5_000_000L, false, core -> { }, true, ReplicaLimits.DEFAULTS, groups);
        assertThat(options.apply(Map.of(1L, List.of(1, 2), 2L, List.of(1))).groups()).containsOnlyKeys(1L, 2L);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> options.apply(Map.of(2L, List.of(2))))
                .hasMessage("groups: group 2's members [2] do not include this process, 1");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> options.apply(Map.of(3L, List.of(1, 2, 7))))
                .hasMessageContaining("group 3's members [1, 2, 7] are not all among the processes with an address");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> options.apply(Map.of()))
                .hasMessage("groups: process 1 must host at least one group");
        assertThat(new ReplicaServer.Options(1, members, tmp, io.gnomon.paxos.storage.SyncPolicy.NONE, paxos,
                logLimits, 0, 5_000_000L, false, core -> { }, true, ReplicaLimits.DEFAULTS).groups())
                .as("the default: group 1 of every member").containsOnlyKeys(1L)
                .hasEntrySatisfying(1L, ms -> assertThat(ms).containsExactlyInAnyOrder(1, 2));
    }

    @Test
    void oneStreamPerPeerProcessCarriesEveryGroupsFrames() throws Exception {
        List<Long> groupsSeen = Collections.synchronizedList(new ArrayList<>());
        PeerStub peer = new PeerStub((stream, frame) -> groupsSeen.add(frame.getGroup()));
        MessageCodec codec = new MessageCodec(PaxosLimits.DEFAULTS);
        List<String> loopback = Collections.synchronizedList(new ArrayList<>());
        try (GrpcTransport t = new GrpcTransport(1, Map.of(2, peer.target()), codec,
                (to, e) -> loopback.add(((ProcessTransport.GroupMessage) e).groupId() + ""), ReplicaLimits.DEFAULTS)) {
            Message m = new Message.Nack(1, 2, 1, new Ballot(1, 1));
            await().atMost(T).pollInterval(Duration.ofMillis(20)).until(() -> {
                for (long g : GROUPS) {
                    t.forGroup(g).send(2, m);
                }
                return groupsSeen.size() >= 3 * GROUPS.size();
            });
            t.forGroup(3).send(1, m);
        } finally {
            peer.close();
        }
        assertThat(peer.streams.get()).isEqualTo(1);
        // Group 1 goes untagged (0), as before groups were on the wire; the others carry their id.
        assertThat(groupsSeen).contains(0L, 2L, 3L, 4L).doesNotContain(1L);
        assertThat(loopback).containsExactly("3");
    }
}
