package io.gnomon.paxos.server;

import io.gnomon.paxos.grpc.ClockFaultRequest;
import io.gnomon.paxos.grpc.FaultAdminGrpc;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.BlockingClientCall;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A replica's gRPC health and reflection as a probe or {@code grpcurl} sees them, on three in-process replicas:
 * NOT_SERVING while no leader is known or TrueTime is unusable, SERVING once a leader is elected.
 */
class ReplicaHealthTest {
    private static final Duration T = Duration.ofSeconds(20);
    private static final String REPLICA = "gnomon.paxos.v1.Replica";
    private static final String PEER = "gnomon.paxos.v1.Peer";

    @TempDir
    Path tmp;

    private LocalCluster cluster;
    private final Map<Integer, ManagedChannel> channels = new HashMap<>();

    @AfterEach
    void tearDown() throws InterruptedException {
        for (ManagedChannel c : channels.values()) {
            c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    private ManagedChannel channel(int id) {
        return channels.computeIfAbsent(id, i -> NettyChannelBuilder.forTarget(cluster.targets().get(i))
                .usePlaintext().build());
    }

    private ServingStatus health(int id, String service) {
        return HealthGrpc.newBlockingStub(channel(id)).withDeadlineAfter(5, TimeUnit.SECONDS)
                .check(HealthCheckRequest.newBuilder().setService(service).build()).getStatus();
    }

    /** What {@code ""}, the Replica and the Peer service say, in that order. */
    private List<ServingStatus> healthOf(int id) {
        return List.of(health(id, ""), health(id, REPLICA), health(id, PEER));
    }

    @Test
    void notServingBeforeALeaderIsKnownServingAfterAndNotServingWithoutTrueTime() throws Exception {
        cluster = new LocalCluster(tmp, 3).withFaultAdmin();
        cluster.start(1);
        // Alone, replica 1 cannot be elected nor hear a leader: its clock works (Peer serves), it is not ready.
        await().atMost(T).until(() -> health(1, PEER) == ServingStatus.SERVING);
        assertThat(healthOf(1)).containsExactly(ServingStatus.NOT_SERVING, ServingStatus.NOT_SERVING,
                ServingStatus.SERVING);

        cluster.start(2);
        cluster.start(3);
        List<ServingStatus> allServing = List.of(ServingStatus.SERVING, ServingStatus.SERVING, ServingStatus.SERVING);
        await("every replica knows the leader").atMost(T).pollInterval(Duration.ofMillis(20))
                .until(() -> List.of(1, 2, 3).stream().allMatch(id -> healthOf(id).equals(allServing)));

        // TrueTime unavailable on replica 1 (its daemon restarting): not ready, and its peers' messages are dropped.
        FaultAdminGrpc.FaultAdminBlockingStub admin = FaultAdminGrpc.newBlockingStub(channel(1))
                .withDeadlineAfter(5, TimeUnit.SECONDS);
        admin.setClockFault(ClockFaultRequest.newBuilder().setUnavailableMillis(T.toMillis()).build());
        await().atMost(T).pollInterval(Duration.ofMillis(20)).until(() -> healthOf(1).equals(List.of(
                ServingStatus.NOT_SERVING, ServingStatus.NOT_SERVING, ServingStatus.NOT_SERVING)));
        admin.setClockFault(ClockFaultRequest.newBuilder().setClear(true).build());
        await().atMost(T).pollInterval(Duration.ofMillis(20)).until(() -> healthOf(1).equals(allServing));
        assertThat(health(1, "gnomon.paxos.v1.FaultAdmin")).isEqualTo(ServingStatus.SERVING);

        cluster.stop(1); // on close the statuses turn NOT_SERVING before the server goes
    }

    @Test
    void reflectionListsTheReplicasServices() throws Exception {
        cluster = new LocalCluster(tmp, 3);
        cluster.start(1);
        BlockingClientCall<ServerReflectionRequest, ServerReflectionResponse> call = ServerReflectionGrpc
                .newBlockingV2Stub(channel(1)).withDeadlineAfter(10, TimeUnit.SECONDS).serverReflectionInfo();
        call.write(ServerReflectionRequest.newBuilder().setListServices("").build());
        call.halfClose();
        List<String> services = call.read(10, TimeUnit.SECONDS).getListServicesResponse().getServiceList().stream()
                .map(ServiceResponse::getName).toList();
        assertThat(services).contains(REPLICA, PEER, "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection")
                .doesNotContain("gnomon.paxos.v1.FaultAdmin"); // served only with --fault-admin
    }
}
