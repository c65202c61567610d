package io.gnomon.paxos.server;

import io.gnomon.paxos.grpc.ClockFaultRequest;
import io.gnomon.paxos.grpc.FaultAdminGrpc;
import io.gnomon.paxos.grpc.FaultReply;
import io.gnomon.paxos.grpc.NetworkFaultRequest;
import io.gnomon.paxos.grpc.PartitionRequest;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The {@code FaultAdmin} gRPC service (replica started with {@code --fault-admin}): the verification harness's
 * partitions and lossy links, carried out by the {@link FaultyTransport} in front of the replica's transport,
 * and its clock faults, carried out by the {@link FaultableTrueTime} under its TrueTime. The replica's own
 * classes hold no fault hooks; both decorators exist only in a replica that serves this.
 */
final class FaultAdminService extends FaultAdminGrpc.FaultAdminImplBase {
    // Logged under ReplicaServer's name, where operators and the harness's logs have always found these lines.
    private static final Logger LOG = LoggerFactory.getLogger(ReplicaServer.class);

    private final int id;
    private final FaultyTransport network;
    private final FaultableTrueTime clock;

    FaultAdminService(int id, FaultyTransport network, FaultableTrueTime clock) {
        this.id = id;
        this.network = network;
        this.clock = clock;
    }

    @Override
    public void setPartition(PartitionRequest request, StreamObserver<FaultReply> reply) {
        network.setBlocked(Set.copyOf(request.getBlockedList()), Set.copyOf(request.getBlockedOutboundList()));
        String d = "blocked " + request.getBlockedList() + ", sending to none of " + request.getBlockedOutboundList();
        LOG.info("replica {}: partition: {}", id, d);
        reply.onNext(FaultReply.newBuilder().setDetail(d).build());
        reply.onCompleted();
    }

    @Override
    public void setNetworkFault(NetworkFaultRequest request, StreamObserver<FaultReply> reply) {
        FaultyTransport.NetworkFault f;
        try {
            f = new FaultyTransport.NetworkFault(request.getLossRate(), request.getDuplicateRate(),
                    TimeUnit.MILLISECONDS.toNanos(request.getMaxDelayMillis()), request.getSeed());
        } catch (IllegalArgumentException e) {
            reply.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
            return;
        }
        network.setNetworkFault(f);
        String d = f.none() ? "network healed" : "loss " + f.lossRate() + ", duplicates " + f.duplicateRate()
                + ", delay up to " + request.getMaxDelayMillis() + " ms";
        LOG.info("replica {}: network fault: {}", id, d);
        reply.onNext(FaultReply.newBuilder().setDetail(d).build());
        reply.onCompleted();
    }

    @Override
    public void setClockFault(ClockFaultRequest request, StreamObserver<FaultReply> reply) {
        String d = clock.inject(request.getStepNanos(), request.getDriftPpm(), request.getUnavailableMillis(),
                request.getClear());
        LOG.info("replica {}: clock fault: {}", id, d);
        reply.onNext(FaultReply.newBuilder().setDetail(d).build());
        reply.onCompleted();
    }
}
