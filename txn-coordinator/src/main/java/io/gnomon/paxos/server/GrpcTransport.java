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
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Sends Paxos messages to peer replicas over one long-lived gRPC client stream per peer. Fire and forget: a
 * message that cannot be sent now (no stream, the peer's queue over its byte budget, the peer partitioned off
 * by {@link #setBlocked}) is dropped (a full queue with a rate-limited warning), and the protocol's
 * retransmission covers it. Sending never blocks the caller (the replica's event loop): frames wait in a
 * bounded per-peer queue drained whenever gRPC says the stream is ready. A broken stream is reopened on the next send after a short backoff.
 *
 * <p>For the fault harness, {@link #setNetworkFault} makes the outgoing links lossy, duplicating and slow: each
 * message is dropped, sent once or twice, each copy after its own random delay, so messages also reorder (the
 * kernel here has no netem; this is the transport doing it, by a seed).
 */
public final class GrpcTransport implements Transport, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GrpcTransport.class);

    private final int me;
    private final MessageCodec codec;
    private final Consumer<Message> loopback;
    private final long maxQueuedBytesPerPeer;
    private final int maxMessageBytes;
    private final long reconnectBackoffNanos;
    private final Map<Integer, PeerSender> peers = new TreeMap<>();
    private final LogLimiter limiter = new LogLimiter(LOG);
    private volatile Set<Integer> blocked = Set.of();
    /** {@link #blocked} and the one-way cuts: peers nothing is sent to. */
    private volatile Set<Integer> blockedOutbound = Set.of();
    private volatile LinkFaults linkFaults;
    private ScheduledThreadPoolExecutor delayer;
    private final AtomicLong delayedBytes = new AtomicLong();
    private final AtomicLong faultDropped = new AtomicLong();
    private final AtomicLong faultDuplicated = new AtomicLong();
    private final AtomicLong faultDelayed = new AtomicLong();

    /**
     * @param peerTargets  replica id to "host:port" of every other member
     * @param loopback     where a message to this replica itself goes (the replica's own inbox)
     * @param limits       its per-peer queue bytes, largest message and reconnect backoff
     */
    public GrpcTransport(int me, Map<Integer, String> peerTargets, MessageCodec codec, Consumer<Message> loopback,
                         ReplicaLimits limits) {
        this.me = me;
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
        if (blockedOutbound.contains(to)) {
            return;
        }
        byte[] frame = codec.encode(message);
        LinkFaults f = linkFaults;
        if (f == null) {
            p.send(frame);
        } else {
            f.send(to, p, frame);
        }
    }

    /**
     * What the harness's lossy network does to each message this replica sends to another replica.
     *
     * @param lossRate       probability a message is dropped, 0 to 1
     * @param duplicateRate  probability a message that is not dropped is sent twice, 0 to 1
     * @param maxDelayNanos  each copy waits a delay drawn uniformly from [0, maxDelayNanos] before it is sent
     * @param seed           seeds the draws
     */
    public record NetworkFault(double lossRate, double duplicateRate, long maxDelayNanos, long seed) {
        /** The most a message may be held: longer is a partition, which {@link #setBlocked} makes. */
        public static final long MAX_DELAY_NANOS = TimeUnit.SECONDS.toNanos(10);

        public NetworkFault {
            if (!(lossRate >= 0 && lossRate <= 1)) {
                throw new IllegalArgumentException("loss rate " + lossRate + ": must be from 0 to 1");
            }
            if (!(duplicateRate >= 0 && duplicateRate <= 1)) {
                throw new IllegalArgumentException("duplicate rate " + duplicateRate + ": must be from 0 to 1");
            }
            if (maxDelayNanos < 0 || maxDelayNanos > MAX_DELAY_NANOS) {
                throw new IllegalArgumentException("max delay " + maxDelayNanos + " ns: must be from 0 to "
                        + MAX_DELAY_NANOS + " ns");
            }
        }

        boolean none() {
            return lossRate == 0 && duplicateRate == 0 && maxDelayNanos == 0;
        }
    }

    /**
     * Makes this replica's links to other replicas lossy from now on ({@code null} or all zero heals; messages
     * already held still go out after their delay). Messages to itself are not affected.
     */
    public synchronized void setNetworkFault(NetworkFault fault) {
        if (fault == null || fault.none()) {
            linkFaults = null;
            return;
        }
        if (fault.maxDelayNanos() > 0 && delayer == null) {
            delayer = new ScheduledThreadPoolExecutor(1, r -> {
                Thread t = new Thread(r, "replica-" + me + "-link-delay");
                t.setDaemon(true);
                return t;
            });
            delayer.setRemoveOnCancelPolicy(true);
        }
        linkFaults = new LinkFaults(fault, new SplittableRandom(fault.seed()), delayer);
    }

    /** What the lossy network has done to messages so far, over every fault: dropped, sent twice, held back. */
    public record NetworkFaultCounts(long dropped, long duplicated, long delayed) {
    }

    public NetworkFaultCounts networkFaultCounts() {
        return new NetworkFaultCounts(faultDropped.get(), faultDuplicated.get(), faultDelayed.get());
    }

    /** Draws each message's fate; called from the replica's event loop, so one lock is uncontended. */
    private final class LinkFaults {
        private final NetworkFault spec;
        private final SplittableRandom random;
        private final ScheduledThreadPoolExecutor delayer;

        LinkFaults(NetworkFault spec, SplittableRandom random, ScheduledThreadPoolExecutor delayer) {
            this.spec = spec;
            this.random = random;
            this.delayer = delayer;
        }

        synchronized void send(int to, PeerSender p, byte[] frame) {
            if (random.nextDouble() < spec.lossRate()) {
                faultDropped.incrementAndGet();
                return;
            }
            int copies = 1;
            if (random.nextDouble() < spec.duplicateRate()) {
                copies = 2;
                faultDuplicated.incrementAndGet();
            }
            for (int i = 0; i < copies; i++) {
                long delayNanos = spec.maxDelayNanos() == 0 ? 0 : random.nextLong(spec.maxDelayNanos() + 1);
                if (delayNanos == 0) {
                    p.send(frame);
                    continue;
                }
                // Held frames are bounded like a peer's queue; past that the lossy link drops them.
                if (delayedBytes.addAndGet(frame.length) > maxQueuedBytesPerPeer * Math.max(1, peers.size())) {
                    delayedBytes.addAndGet(-frame.length);
                    faultDropped.incrementAndGet();
                    continue;
                }
                faultDelayed.incrementAndGet();
                try {
                    delayer.schedule(() -> {
                        delayedBytes.addAndGet(-frame.length);
                        if (!blockedOutbound.contains(to)) {
                            p.send(frame);
                        }
                    }, delayNanos, TimeUnit.NANOSECONDS);
                } catch (java.util.concurrent.RejectedExecutionException closed) {
                    delayedBytes.addAndGet(-frame.length);
                }
            }
        }
    }

    /**
     * Partitions this replica from {@code peers}: nothing is sent to them, and the inbound side
     * ({@link #isBlocked}) drops what they send; and cuts the links to {@code outboundOnly} one way: nothing is
     * sent to them, but what they send still arrives. The fault harness's partitions; empty sets heal.
     */
    public void setBlocked(Set<Integer> peers, Set<Integer> outboundOnly) {
        Set<Integer> out = new java.util.HashSet<>(peers);
        out.addAll(outboundOnly);
        this.blockedOutbound = Set.copyOf(out);
        this.blocked = Set.copyOf(peers);
    }

    /** Whether a message from {@code from} is to be dropped on arrival (a two-way partition). */
    public boolean isBlocked(int from) {
        return blocked.contains(from);
    }

    @Override
    public void close() {
        synchronized (this) {
            linkFaults = null;
            if (delayer != null) {
                delayer.shutdownNow();
            }
        }
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
                    .maxInboundMessageSize(maxMessageBytes).build();
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
                        + maxQueuedBytesPerPeer + " bytes (maxQueuedBytesPerPeer); dropping messages until it drains");
                return;
            }
            queue.add(frame);
            queuedBytes += frame.length;
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
