package io.gnomon.paxos.server;

import io.gnomon.paxos.Message;
import io.gnomon.paxos.grpc.PeerFrame;
import io.gnomon.paxos.grpc.PeerGrpc;
import io.gnomon.paxos.grpc.PeerStreamEnd;
import io.gnomon.paxos.runtime.MessageCodec;
import io.gnomon.paxos.runtime.Transport;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import com.google.protobuf.UnsafeByteOperations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Sends Paxos messages to peer replicas over one long-lived gRPC client stream per peer. Fire and forget: a
 * message that cannot be sent now (no stream, the peer's queue over its byte budget, the peer partitioned off
 * by {@link #setBlocked}) is dropped (a full queue with a rate-limited warning), and the protocol's
 * retransmission covers it. Sending never blocks the caller (the replica's event loop): frames wait in a
 * bounded per-peer queue drained whenever gRPC says the stream is ready. A broken stream is reopened on the next send after a short backoff.
 */
public final class GrpcTransport implements Transport, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GrpcTransport.class);
    private static final long RECONNECT_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private final int me;
    private final MessageCodec codec;
    private final Consumer<Message> loopback;
    private final long maxQueuedBytesPerPeer;
    private final Map<Integer, PeerSender> peers = new TreeMap<>();
    private final LogLimiter limiter = new LogLimiter(LOG);
    private volatile Set<Integer> blocked = Set.of();

    /**
     * @param peerTargets  replica id to "host:port" of every other member
     * @param loopback     where a message to this replica itself goes (the replica's own inbox)
     */
    public GrpcTransport(int me, Map<Integer, String> peerTargets, MessageCodec codec, Consumer<Message> loopback,
                         long maxQueuedBytesPerPeer) {
        this.me = me;
        this.codec = codec;
        this.loopback = loopback;
        this.maxQueuedBytesPerPeer = maxQueuedBytesPerPeer;
        peerTargets.forEach((id, target) -> {
            if (id != me) {
                peers.put(id, new PeerSender(id, target));
            }
        });
    }

    @Override
    public void send(int to, Message message) {
        if (to == me) {
            loopback.accept(message);
            return;
        }
        PeerSender p = peers.get(to);
        if (p == null) {
            limiter.warn("unknown-" + to, "replica " + me + ": no address for replica " + to + "; "
                    + message.getClass().getSimpleName() + " dropped (known peers: " + peers.keySet() + ")");
            return;
        }
        if (blocked.contains(to)) {
            return;
        }
        p.send(codec.encode(message));
    }

    /**
     * Partitions this replica from {@code peers}: nothing is sent to them, and the inbound side
     * ({@link #isBlocked}) drops what they send. The fault harness's partitions; empty heals.
     */
    public void setBlocked(Set<Integer> peers) {
        this.blocked = Set.copyOf(peers);
    }

    public boolean isBlocked(int from) {
        return blocked.contains(from);
    }

    @Override
    public void close() {
        for (PeerSender p : peers.values()) {
            p.close();
        }
    }

    private final class PeerSender {
        private final int id;
        private final String target;
        private final ManagedChannel channel;
        private final ArrayDeque<byte[]> queue = new ArrayDeque<>();
        private long queuedBytes;
        private ClientCallStreamObserver<PeerFrame> stream;
        private long retryAfterNanos = System.nanoTime();

        PeerSender(int id, String target) {
            this.id = id;
            this.target = target;
            this.channel = NettyChannelBuilder.forTarget(target).usePlaintext().directExecutor()
                    .maxInboundMessageSize(64 << 20).build();
        }

        synchronized void send(byte[] frame) {
            if (stream == null) {
                if (System.nanoTime() - retryAfterNanos < 0) {
                    return;
                }
                open();
            }
            if (queuedBytes + frame.length > maxQueuedBytesPerPeer && !queue.isEmpty()) {
                limiter.warn("full-" + id, "replica " + me + ": send queue to replica " + id + " over "
                        + maxQueuedBytesPerPeer + " bytes; dropping messages until it drains");
                return;
            }
            queue.add(frame);
            queuedBytes += frame.length;
            drain();
        }

        private void open() {
            // The channel backs off exponentially (up to minutes) after failed connects, failing every new
            // stream meanwhile; our own 100 ms backoff paces reconnects, so a restarted peer is heard at once.
            channel.resetConnectBackoff();
            ClientResponseObserver<PeerFrame, PeerStreamEnd> observer = new ClientResponseObserver<>() {
                private ClientCallStreamObserver<PeerFrame> mine;

                @Override
                public void beforeStart(ClientCallStreamObserver<PeerFrame> requestStream) {
                    mine = requestStream;
                    stream = requestStream;
                    requestStream.setOnReadyHandler(PeerSender.this::drainSynchronized);
                }

                @Override
                public void onNext(PeerStreamEnd value) {
                }

                @Override
                public void onError(Throwable t) {
                    broken(mine, "stream to replica " + id + " at " + target + " failed: " + t.getMessage());
                }

                @Override
                public void onCompleted() {
                    broken(mine, "stream to replica " + id + " at " + target + " closed by the peer");
                }
            };
            PeerGrpc.newStub(channel).stream(observer);
        }

        private synchronized void broken(ClientCallStreamObserver<PeerFrame> which, String why) {
            if (which != stream) {
                return; // an earlier stream's late news; the current one is fine
            }
            stream = null;
            queue.clear();
            queuedBytes = 0;
            retryAfterNanos = System.nanoTime() + RECONNECT_BACKOFF_NANOS;
            limiter.warn("broken-" + id, "replica " + me + ": " + why + "; reconnecting on the next send");
        }

        private synchronized void drainSynchronized() {
            drain();
        }

        private void drain() {
            while (stream != null && stream.isReady() && !queue.isEmpty()) {
                byte[] f = queue.poll();
                queuedBytes -= f.length;
                stream.onNext(PeerFrame.newBuilder().setPayload(UnsafeByteOperations.unsafeWrap(f)).build());
            }
        }

        synchronized void close() {
            if (stream != null) {
                try {
                    stream.onCompleted();
                } catch (RuntimeException ignored) {
                    // already broken
                }
                stream = null;
            }
            channel.shutdownNow();
        }
    }
}
