package io.gnomon.paxos.server;

import io.gnomon.paxos.grpc.PeerFrame;
import io.gnomon.paxos.grpc.PeerGrpc;
import io.gnomon.paxos.grpc.PeerStreamEnd;
import io.gnomon.paxos.grpc.TxnFrame;
import io.gnomon.paxos.runtime.MessageCodec;
import io.gnomon.txn.TxnMessageCodec;
import io.gnomon.txn.TxnRecordCodec.MalformedRecordException;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import com.google.protobuf.UnsafeByteOperations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Sends Paxos messages to peer replica processes over one long-lived gRPC client stream per peer process, shared
 * by every group: each frame carries its group ({@link ProcessTransport}), or a batch of such frames ({@link
 * #sendAll}: what one loop turn sends to the peer, as few frames as {@code maxMessageBytes} allows). Transaction
 * messages between groups ({@link TxnEnvelope}) go on the same stream and the same queue, in frames whose {@code txn}
 * field holds {@link TxnMessageCodec}'s bytes with the source and destination groups. Fire and forget: a
 * message that cannot be sent now (no stream, the peer's queue over its byte budget) is dropped (a full queue
 * with a rate-limited warning), and the protocol's retransmission covers it. Sending never blocks the caller (the
 * replica's event loop): frames wait in a bounded per-peer queue drained whenever gRPC says the stream is ready.
 * A broken stream is reopened on the next send after a short backoff. Bounds come from {@link ReplicaLimits}.
 *
 * <p>The fault harness's partitions and lossy links are not here: {@link FaultyTransport} wraps this transport
 * when the replica serves {@code FaultAdmin}.
 */
public final class GrpcTransport implements ProcessTransport, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GrpcTransport.class);

    private final int me;
    /** The peer channels' credentials; null: plaintext. */
    private final io.grpc.ChannelCredentials credentials;
    private final MessageCodec codec;
    private final ProcessTransport loopback;
    private final long maxQueuedBytesPerPeer;
    private final int maxMessageBytes;
    private final long reconnectBackoffNanos;
    private final Map<Integer, PeerSender> peers = new TreeMap<>();
    private final LogLimiter limiter = new LogLimiter(LOG);
    /** Bytes a frame takes inside a batch besides its own: the field's tag and length. */
    private static final int BATCH_ENTRY_OVERHEAD = 16;

    /**
     * @param peerTargets  replica id to "host:port" of every other member
     * @param loopback     where a message to this process itself goes (the process's own inbox)
     * @param limits       its per-peer queue bytes, largest message and reconnect backoff
     */
    public GrpcTransport(int me, Map<Integer, String> peerTargets, MessageCodec codec, ProcessTransport loopback,
                         ReplicaLimits limits) {
        this(me, peerTargets, codec, loopback, limits, null);
    }

    /**
     * @param credentials the peer channels' credentials ({@link TlsConfig#channelCredentials}); null: plaintext
     */
    public GrpcTransport(int me, Map<Integer, String> peerTargets, MessageCodec codec, ProcessTransport loopback,
                         ReplicaLimits limits, io.grpc.ChannelCredentials credentials) {
        this.me = me;
        this.credentials = credentials;
        this.codec = codec;
        this.loopback = loopback;
        this.maxQueuedBytesPerPeer = limits.maxQueuedBytesPerPeer();
        this.maxMessageBytes = limits.maxMessageBytes();
        this.reconnectBackoffNanos = limits.reconnectBackoffNanos();
        peerTargets.forEach((id, target) -> {
            if (id != me) {
                peers.put(id, new PeerSender(id, target));
            }
        });
    }

    @Override
    public void send(int to, Envelope envelope) {
        if (to == me) {
            loopback.send(to, envelope);
            return;
        }
        PeerSender p = peers.get(to);
        if (p == null) {
            Object m = envelope instanceof GroupMessage g ? g.message() : ((TxnEnvelope) envelope).message();
            limiter.warn("unknown-" + to, "replica " + me + ": no address for replica " + to + "; "
                    + m.getClass().getSimpleName() + " dropped (known peers: " + peers.keySet() + ")");
            return;
        }
        p.send(frame(envelope));
    }

    /** Every group's messages to one peer in one frame, or in several if together they exceed the largest message. */
    @Override
    public void sendAll(int to, List<? extends Envelope> messages) {
        if (to == me) {
            ProcessTransport.super.sendAll(to, messages);
            return;
        }
        PeerSender p = peers.get(to);
        if (p == null) {
            messages.forEach(m -> send(to, m)); // warns
            return;
        }
        PeerFrame.Builder batch = PeerFrame.newBuilder();
        long bytes = 0;
        for (Envelope m : messages) {
            PeerFrame f = frame(m);
            int size = f.getSerializedSize() + BATCH_ENTRY_OVERHEAD;
            if (batch.getBatchCount() > 0 && bytes + size > maxMessageBytes) {
                p.send(batch.build());
                batch = PeerFrame.newBuilder();
                bytes = 0;
            }
            batch.addBatch(f);
            bytes += size;
        }
        p.send(batch.getBatchCount() == 1 ? batch.getBatch(0) : batch.build());
    }

    /** Frames written to peer streams (a batch is one) since the start, and the messages in them: tests, statistics. */
    long framesSent() {
        long n = 0;
        for (PeerSender p : peers.values()) {
            n += p.framesSent();
        }
        return n;
    }

    long messagesSent() {
        long n = 0;
        for (PeerSender p : peers.values()) {
            n += p.messagesSent();
        }
        return n;
    }

    private PeerFrame frame(Envelope envelope) {
        if (envelope instanceof TxnEnvelope t) {
            return PeerFrame.newBuilder().setTxn(TxnFrame.newBuilder().setFromProcess(t.fromProcess())
                    .setFromGroup(t.fromGroup()).setToGroup(t.toGroup())
                    .setMessage(UnsafeByteOperations.unsafeWrap(TxnMessageCodec.encode(t.message())))).build();
        }
        GroupMessage m = (GroupMessage) envelope;
        PeerFrame.Builder frame = PeerFrame.newBuilder()
                .setPayload(UnsafeByteOperations.unsafeWrap(codec.encode(m.message())));
        if (m.groupId() != 1) {
            frame.setGroup(m.groupId()); // group 1 goes untagged, as before groups were on the wire
        }
        return frame.build();
    }

    /** A frame that holds no message this process can read; the text says why. */
    static final class MalformedFrameException extends Exception {
        MalformedFrameException(String message) {
            super(message);
        }
    }

    /**
     * What one frame (not a batch: each of a batch's frames is read by itself) sent by {@link #frame} holds: a group's
     * Paxos message (an absent group is group 1) or a transaction message between groups. The receiving side's only
     * reading of the wire, so what a transport sends is what its peer reads.
     */
    static Envelope envelope(PeerFrame frame, MessageCodec codec) throws MalformedFrameException {
        if (frame.hasTxn()) {
            TxnFrame t = frame.getTxn();
            try {
                return new TxnEnvelope(t.getFromProcess(), t.getFromGroup(), t.getToGroup(),
                        TxnMessageCodec.decode(t.getMessage().toByteArray()));
            } catch (MalformedRecordException | IllegalArgumentException e) {
                throw new MalformedFrameException("transaction frame from replica " + t.getFromProcess() + ": "
                        + e.getMessage());
            }
        }
        try {
            return new GroupMessage(frame.getGroup() == 0 ? 1 : frame.getGroup(),
                    codec.decode(frame.getPayload().toByteArray()));
        } catch (MessageCodec.MalformedMessageException e) {
            throw new MalformedFrameException(e.getMessage());
        }
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
        private final ArrayDeque<PeerFrame> queue = new ArrayDeque<>();
        private long queuedBytes;
        private ClientCallStreamObserver<PeerFrame> stream;
        private long retryAfterNanos = System.nanoTime();
        private long framesSent;
        private long messagesSent;

        PeerSender(int id, String target) {
            this.id = id;
            this.target = target;
            this.channel = (credentials == null ? NettyChannelBuilder.forTarget(target).usePlaintext()
                    : NettyChannelBuilder.forTarget(target, credentials)).directExecutor()
                    .maxInboundMessageSize(maxMessageBytes).build();
        }

        synchronized void send(PeerFrame frame) {
            if (stream == null) {
                if (System.nanoTime() - retryAfterNanos < 0) {
                    return;
                }
                open();
            }
            int bytes = frame.getSerializedSize();
            if (queuedBytes + bytes > maxQueuedBytesPerPeer && !queue.isEmpty()) {
                limiter.warn("full-" + id, "replica " + me + ": send queue to replica " + id + " over "
                        + maxQueuedBytesPerPeer + " bytes (maxQueuedBytesPerPeer); dropping messages until it drains");
                return;
            }
            queue.add(frame);
            queuedBytes += bytes;
            drain();
        }

        private void open() {
            // The channel backs off exponentially (up to minutes) after failed connects, failing every new
            // stream meanwhile; our own backoff (reconnectBackoffNanos) paces reconnects, so a restarted peer is heard at once.
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
            retryAfterNanos = System.nanoTime() + reconnectBackoffNanos;
            limiter.warn("broken-" + id, "replica " + me + ": " + why + "; reconnecting on the next send");
        }

        private synchronized void drainSynchronized() {
            drain();
        }

        private void drain() {
            while (stream != null && stream.isReady() && !queue.isEmpty()) {
                PeerFrame f = queue.poll();
                queuedBytes -= f.getSerializedSize();
                framesSent++;
                messagesSent += Math.max(1, f.getBatchCount());
                stream.onNext(f);
            }
        }

        synchronized long framesSent() {
            return framesSent;
        }

        synchronized long messagesSent() {
            return messagesSent;
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
