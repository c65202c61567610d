package io.gnomon.paxos.server;

import io.gnomon.paxos.Message;
import io.gnomon.paxos.runtime.MessageCodec;
import io.gnomon.paxos.runtime.Transport;
import io.gnomon.txn.TxnMessageCodec;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The fault harness's network between replicas, as a decorator around the transport that really sends (the way
 * clockd's {@code FaultingSink} wraps a sink): {@link ReplicaServer} puts it in front of its {@link GrpcTransport}
 * only when the {@code FaultAdmin} service is on, and the service drives it. The plain transport knows nothing
 * of faults.
 *
 * <ul>
 *   <li>Partitions ({@link #setBlocked}): nothing is sent to a blocked replica, and the server's inbound side asks
 *       {@link #admits} before it hands a peer's message to the loop, so nothing from it arrives either; a one-way
 *       cut only stops what this replica sends.</li>
 *   <li>Lossy links ({@link #setNetworkFault}): each message to another replica is dropped, sent once or twice,
 *       each copy after its own random delay (on one scheduler thread), so messages also reorder. The kernel
 *       here has no netem; this is the transport doing it, by a seed.</li>
 * </ul>
 *
 * <p>Faults are between processes: a partition or a lossy link applies to every group's messages between the two
 * processes alike, as a real network fault would, and to transaction messages between groups ({@link TxnEnvelope})
 * exactly as to Paxos ones: every {@link Envelope} takes the same path here. Messages to this replica itself (its
 * loopback) pass untouched.
 */
final class FaultyTransport implements ProcessTransport, Transport, AutoCloseable {
    private final int me;
    private final ProcessTransport inner;
    private final MessageCodec codec;
    private final long maxHeldBytes;
    private volatile Set<Integer> blocked = Set.of();
    /** {@link #blocked} and the one-way cuts: replicas nothing is sent to. */
    private volatile Set<Integer> blockedOutbound = Set.of();
    private volatile LinkFaults linkFaults;
    private ScheduledThreadPoolExecutor delayer;
    private final AtomicLong heldBytes = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong duplicated = new AtomicLong();
    private final AtomicLong delayed = new AtomicLong();

    /**
     * @param inner         the transport that sends
     * @param codec         measures a held Paxos message, for {@code maxHeldBytes}
     * @param maxHeldBytes  most encoded bytes the lossy links may hold back at once; a copy past it is dropped
     */
    FaultyTransport(int me, ProcessTransport inner, MessageCodec codec, long maxHeldBytes) {
        if (maxHeldBytes < 1) {
            throw new IllegalArgumentException("maxHeldBytes " + maxHeldBytes + ": must be >= 1");
        }
        this.me = me;
        this.inner = inner;
        this.codec = codec;
        this.maxHeldBytes = maxHeldBytes;
    }

    /** Over a transport that knows one group (tests): every message goes to it whatever its group. */
    FaultyTransport(int me, Transport inner, MessageCodec codec, long maxHeldBytes) {
        this(me, (ProcessTransport) (to, envelope) -> {
            if (!(envelope instanceof GroupMessage m)) {
                throw new IllegalArgumentException("a one-group transport carries Paxos messages only, not " + envelope);
            }
            inner.send(to, m.message());
        }, codec, maxHeldBytes);
    }

    /** A message of group 1. */
    @Override
    public void send(int to, Message message) {
        send(to, 1, message);
    }

    @Override
    public void send(int to, Envelope envelope) {
        if (to == me) {
            inner.send(to, envelope);
            return;
        }
        if (blockedOutbound.contains(to)) {
            return;
        }
        LinkFaults f = linkFaults;
        if (f == null) {
            inner.send(to, envelope);
        } else {
            f.send(to, envelope);
        }
    }

    /**
     * A turn's messages to one process: together when the link is whole, one by one (each dropped, repeated or
     * held on its own) when it is lossy, none when it is cut.
     */
    @Override
    public void sendAll(int to, List<? extends Envelope> messages) {
        if (to == me || linkFaults != null) {
            ProcessTransport.super.sendAll(to, messages);
        } else if (!blockedOutbound.contains(to)) {
            inner.sendAll(to, messages);
        }
    }

    /**
     * Partitions this replica from {@code peers}: nothing is sent to them, and {@link #admits} refuses what they
     * send; and cuts the links to {@code outboundOnly} one way: nothing is sent to them, but what they send still
     * arrives. Empty sets heal.
     */
    void setBlocked(Set<Integer> peers, Set<Integer> outboundOnly) {
        Set<Integer> out = new HashSet<>(peers);
        out.addAll(outboundOnly);
        this.blockedOutbound = Set.copyOf(out);
        this.blocked = Set.copyOf(peers);
    }

    /** Whether a message that arrived from {@code from} may go on to the replica (false across a two-way partition). */
    boolean admits(int from) {
        return !blocked.contains(from);
    }

    /**
     * What the harness's lossy network does to each message this replica sends to another replica.
     *
     * @param lossRate       probability a message is dropped, 0 to 1
     * @param duplicateRate  probability a message that is not dropped is sent twice, 0 to 1
     * @param maxDelayNanos  each copy waits a delay drawn uniformly from [0, maxDelayNanos] before it is sent
     * @param seed           seeds the draws
     */
    record NetworkFault(double lossRate, double duplicateRate, long maxDelayNanos, long seed) {
        /** The most a message may be held: longer is a partition, which {@link #setBlocked} makes. */
        static final long MAX_DELAY_NANOS = TimeUnit.SECONDS.toNanos(10);

        NetworkFault {
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
     * already held still go out after their delay).
     */
    synchronized void setNetworkFault(NetworkFault fault) {
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
    record NetworkFaultCounts(long dropped, long duplicated, long delayed) {
    }

    NetworkFaultCounts networkFaultCounts() {
        return new NetworkFaultCounts(dropped.get(), duplicated.get(), delayed.get());
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

        synchronized void send(int to, Envelope envelope) {
            if (random.nextDouble() < spec.lossRate()) {
                dropped.incrementAndGet();
                return;
            }
            int copies = 1;
            if (random.nextDouble() < spec.duplicateRate()) {
                copies = 2;
                duplicated.incrementAndGet();
            }
            for (int i = 0; i < copies; i++) {
                long delayNanos = spec.maxDelayNanos() == 0 ? 0 : random.nextLong(spec.maxDelayNanos() + 1);
                if (delayNanos == 0) {
                    inner.send(to, envelope);
                    continue;
                }
                // Held messages are bounded like the peers' queues; past that the lossy link drops them.
                int size = encodedBytes(envelope);
                if (heldBytes.addAndGet(size) > maxHeldBytes) {
                    heldBytes.addAndGet(-size);
                    dropped.incrementAndGet();
                    continue;
                }
                delayed.incrementAndGet();
                try {
                    delayer.schedule(() -> {
                        heldBytes.addAndGet(-size);
                        if (!blockedOutbound.contains(to)) {
                            inner.send(to, envelope);
                        }
                    }, delayNanos, TimeUnit.NANOSECONDS);
                } catch (RejectedExecutionException closed) {
                    heldBytes.addAndGet(-size);
                }
            }
        }
    }

    private int encodedBytes(Envelope envelope) {
        return envelope instanceof GroupMessage m ? codec.encode(m.message()).length
                : TxnMessageCodec.encode(((TxnEnvelope) envelope).message()).length;
    }

    /** Stops the lossy links; held messages are not sent. Does not close the transport it wraps. */
    @Override
    public synchronized void close() {
        linkFaults = null;
        if (delayer != null) {
            delayer.shutdownNow();
        }
    }
}
