package io.gnomon.paxos.server;

import com.google.protobuf.ByteString;
import io.gnomon.paxos.grpc.AppendRequest;
import io.gnomon.paxos.grpc.ReplicaGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The replica process's bounds: each one's check names its field, and a message at the size limit gets in. */
class ReplicaLimitsTest {
    private static final ReplicaLimits D = ReplicaLimits.DEFAULTS;

    @TempDir
    Path tmp;

    @Test
    void theDefaultsAreTheDocumentedOnes() {
        assertThat(D).isEqualTo(new ReplicaLimits(200_000, 4096, TimeUnit.MILLISECONDS.toNanos(2), 64 << 20,
                64L << 20, TimeUnit.MILLISECONDS.toNanos(100)));
        assertThat(D.maxAppendsPerStream()).isEqualTo(4096);
        assertThat(D.withMaxAppendsPerStream(1).maxAppendsPerStream()).isEqualTo(1);
        assertThatThrownBy(() -> D.withMaxAppendsPerStream(0)).hasMessage("maxAppendsPerStream 0: must be >= 1");
    }

    @Test
    void eachBoundIsCheckedAtItsEdgeAndOnePastItNamingTheField() {
        new ReplicaLimits(1, 1, 0, 1, 1, 0);
        new ReplicaLimits(1, 1, ReplicaLimits.MAX_WAIT_NANOS, 1, 1, ReplicaLimits.MAX_WAIT_NANOS);
        assertThatThrownBy(() -> new ReplicaLimits(0, 1, 0, 1, 1, 0)).hasMessage("maxInboxItems 0: must be >= 1");
        assertThatThrownBy(() -> new ReplicaLimits(1, 0, 0, 1, 1, 0)).hasMessage("maxDrainPerTurn 0: must be >= 1");
        assertThatThrownBy(() -> new ReplicaLimits(1, 2, 0, 1, 1, 0)).hasMessageStartingWith(
                "maxDrainPerTurn 2 must be <= maxInboxItems 1");
        assertThatThrownBy(() -> new ReplicaLimits(1, 1, -1, 1, 1, 0))
                .hasMessage("maxBatchWaitNanos -1: must be from 0 to " + ReplicaLimits.MAX_WAIT_NANOS);
        assertThatThrownBy(() -> new ReplicaLimits(1, 1, ReplicaLimits.MAX_WAIT_NANOS + 1, 1, 1, 0))
                .hasMessageStartingWith("maxBatchWaitNanos " + (ReplicaLimits.MAX_WAIT_NANOS + 1));
        assertThatThrownBy(() -> new ReplicaLimits(1, 1, 0, 0, 1, 0)).hasMessage("maxMessageBytes 0: must be >= 1");
        assertThatThrownBy(() -> new ReplicaLimits(1, 1, 0, 1, 0, 0))
                .hasMessage("maxQueuedBytesPerPeer 0: must be >= 1");
        assertThatThrownBy(() -> new ReplicaLimits(1, 1, 0, 1, 1, ReplicaLimits.MAX_WAIT_NANOS + 1))
                .hasMessageStartingWith("reconnectBackoffNanos " + (ReplicaLimits.MAX_WAIT_NANOS + 1));
        assertThat(D.withMaxInboxItems(10).maxDrainPerTurn()).isEqualTo(10);
    }

    @Test
    void aReplicaRefusesMessageLimitsTooSmallForAFullBatch() {
        LocalCluster cluster = new LocalCluster(tmp, 1).withLimits(D.withMaxMessageBytes(4 << 20));
        assertThatThrownBy(() -> cluster.start(1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("limits.maxMessageBytes 4194304 must exceed paxos.limits.maxBatchBytes 4194304");
    }

    /**
     * A request exactly {@code maxMessageBytes} long reaches the replica (which refuses the command as too big for a
     * value); one byte more is refused by gRPC before it is read.
     */
    @Test
    void aRequestAtTheMessageLimitGetsInAndOneBytePastItDoesNot() throws Exception {
        int limit = (4 << 20) + 1;
        try (LocalCluster cluster = new LocalCluster(tmp, 1).withLimits(D.withMaxMessageBytes(limit))) {
            cluster.start(1);
            ManagedChannel channel = NettyChannelBuilder.forTarget(cluster.targets().get(1)).usePlaintext().build();
            try {
                ReplicaGrpc.ReplicaBlockingStub stub = ReplicaGrpc.newBlockingStub(channel)
                        .withDeadlineAfter(30, TimeUnit.SECONDS);
                AppendRequest atLimit = requestOfSize(limit);
                assertThat(atLimit.getSerializedSize()).isEqualTo(limit);
                assertThatThrownBy(() -> stub.append(atLimit)).isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> {
                            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                            assertThat(e.getStatus().getDescription()).contains("exceeds the limit");
                        });
                AppendRequest pastLimit = requestOfSize(limit + 1);
                assertThat(pastLimit.getSerializedSize()).isEqualTo(limit + 1);
                assertThatThrownBy(() -> stub.append(pastLimit)).isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED));
            } finally {
                channel.shutdownNow();
            }
        }
    }

    /** An append whose encoding is {@code bytes} long: a 1-byte tag, a 4-byte length, the command. */
    private static AppendRequest requestOfSize(int bytes) {
        return AppendRequest.newBuilder().setCommand(ByteString.copyFrom(new byte[bytes - 5])).build();
    }
}
