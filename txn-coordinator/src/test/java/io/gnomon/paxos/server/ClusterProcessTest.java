package io.gnomon.paxos.server;

import io.gnomon.paxos.ChildJvm;
import io.gnomon.paxos.cluster.ClusterSpec;
import io.gnomon.paxos.cluster.GroupSpec;
import io.gnomon.paxos.grpc.AppendReply;
import io.gnomon.paxos.grpc.Outcome;
import io.gnomon.paxos.grpc.ReplicaGrpc;
import io.gnomon.paxos.grpc.StatusRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * {@code bin/replica --cluster FILE --process N} as separate JVM processes on loopback: three processes of a
 * cluster file with three groups on all three of them, every group elects, takes an
 * append and serves it back, through clients of its own group reaching only its replicas at the file's client
 * addresses; the peer addresses answer peers only.
 */
class ClusterProcessTest {
    private static final Duration T = Duration.ofSeconds(60);

    @TempDir
    Path tmp;

    private ReplicaProcesses processes;
    private final List<ReplicaClient> clients = new ArrayList<>();

    @AfterEach
    void tearDown() {
        clients.forEach(ReplicaClient::close);
        if (processes != null) {
            processes.close();
        }
    }

    @Test
    void everyGroupOfTheFileServesFromTheProcessesThatReplicateIt() throws Exception {
        processes = new ReplicaProcesses(tmp, 3, ChildJvm.classpath(), List.of("--truetime", "system:1ms"))
                .withCluster(3, 3);
        processes.startAll(T);
        for (int id : processes.ids()) {
            processes.awaitServing(id, T); // health SERVING on the client address: every group knows a leader
        }
        for (GroupSpec g : processes.cluster().groups()) {
            Map<Integer, String> targets = new TreeMap<>();
            for (int p : g.replicas()) {
                targets.put(p, processes.targets().get(p));
            }
            ReplicaClient client = new ReplicaClient(targets, ReplicaClient.AppendCalls.UNARY, g.id());
            clients.add(client);
            await().atMost(T).pollInterval(Duration.ofMillis(50))
                    .until(() -> client.leaseHolder(Duration.ofSeconds(1)).isPresent());
            AppendReply r = client.append(ListAppend.encodeTxn(List.of(ListAppend.Op.append("k", g.id()))), T);
            assertThat(r.getOutcome()).as("group %d: %s", g.id(), r.getDetail()).isEqualTo(Outcome.APPLIED);
            byte[] read = client.read("k".getBytes(StandardCharsets.UTF_8), T).orElseThrow().getResult().toByteArray();
            assertThat(ListAppend.decodeList(read)).as("group %d", g.id()).containsExactly((long) g.id());
        }
        assertThat(processes.targets()).isNotEqualTo(processes.peerTargets());
        for (int id : processes.ids()) {
            ManagedChannel peer = NettyChannelBuilder.forTarget(processes.peerTargets().get(id)).usePlaintext().build();
            try {
                assertThatThrownBy(() -> ReplicaGrpc.newBlockingStub(peer).withDeadlineAfter(10, TimeUnit.SECONDS)
                        .status(StatusRequest.getDefaultInstance()))
                        .isInstanceOfSatisfying(StatusRuntimeException.class,
                                e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNIMPLEMENTED));
            } finally {
                peer.shutdownNow();
            }
        }
    }

    @Test
    void theLauncherRunsOnlyAClusterOfItsOwnProcessesOnLoopback() throws Exception {
        ReplicaProcesses three = new ReplicaProcesses(tmp, 3, ChildJvm.classpath(), List.of());
        assertThatThrownBy(() -> three.withCluster(ClusterSpec.evenlySplit(2, 4, 1, "127.0.0.1", 7101)))
                .hasMessage("cluster processes [1, 2] are not the launcher's [1, 2, 3]");
        assertThatThrownBy(() -> three.withCluster(ClusterSpec.evenlySplit(3, 4, 3, "10.1.2.3", 7101)))
                .hasMessageContaining("process 1: the launcher starts processes on this host only");
        assertThat(three.cluster()).isNull();
    }
}
