package io.gnomon.paxos.server;

import com.google.protobuf.ByteString;
import io.gnomon.paxos.Message;
import io.gnomon.paxos.PaxosConfig;
import io.gnomon.paxos.PaxosReplica;
import io.gnomon.paxos.grpc.AppendReply;
import io.gnomon.paxos.grpc.AppendRequest;
import io.gnomon.paxos.grpc.Outcome;
import io.gnomon.paxos.grpc.PeerFrame;
import io.gnomon.paxos.grpc.PeerGrpc;
import io.gnomon.paxos.grpc.PeerStreamEnd;
import io.gnomon.paxos.grpc.ReadReply;
import io.gnomon.paxos.grpc.ReadRequest;
import io.gnomon.paxos.grpc.ReplicaGrpc;
import io.gnomon.paxos.grpc.StatusReply;
import io.gnomon.paxos.grpc.StatusRequest;
import io.gnomon.paxos.runtime.DurableStateStore;
import io.gnomon.paxos.runtime.GroupHost;
import io.gnomon.paxos.runtime.GroupLoop;
import io.gnomon.paxos.runtime.MessageCodec;
import io.gnomon.paxos.runtime.StateMachine;
import io.gnomon.paxos.runtime.Transport;
import io.gnomon.paxos.storage.ChronicleDurableLog;
import io.gnomon.paxos.storage.LogLimits;
import io.gnomon.paxos.storage.SyncPolicy;
import io.gnomon.truetime.TrueTime;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * One replica as a server process: one group's {@link GroupHost} (the Paxos core behind its driver over a
 * Chronicle log, the {@link StateMachine}, batching, client outcomes, the read fence, compaction), peers reached
 * through {@link GrpcTransport}, clients served through the {@code Replica} gRPC service, and one event loop
 * thread that runs every turn through a {@link GroupLoop} (the same turn the simulator's processes run, over one
 * group here) and makes every call into the host (docs/paxos.md, "Replica processes"). The host's behaviour (what
 * an append's outcome is, when a lease read is served) is described there; this class only carries requests to
 * the loop and replies back.
 *
 * <p>Batching: client appends that arrive while the loop is busy (typically while it waits for the log's sync)
 * are handled in the next turn, and the host proposes them as one batch, so one sync covers all of them.
 *
 * <p>Besides its own services the server answers gRPC health checks ({@link ReplicaHealth}: NOT_SERVING while
 * TrueTime is unusable or no leader is known) and server reflection, so probes and {@code grpcurl} need no
 * .proto file.
 *
 * <p>With {@link Options#faultAdmin} it also serves the harness's {@code FaultAdmin} ({@link FaultAdminService}),
 * whose faults are decorators put around the real parts here and nowhere else: a {@link FaultyTransport} in front
 * of the {@link GrpcTransport} (and asked about each inbound peer message) and a {@link FaultableTrueTime} over
 * the TrueTime.
 */
public final class ReplicaServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ReplicaServer.class);
    /** The one group a replica process hosts until it hosts many (issue 19; docs/paxos.md, "Many groups per process"). */
    static final long GROUP = 1;

    /**
     * How to run one replica.
     *
     * @param faultAdmin          serve the {@code FaultAdmin} service (partitions, lossy links, clock faults) for
     *                            the harness
     * @param coreHook            run once on the recovered core before the replica serves; does nothing except
     *                            under the harness's negative control ({@link NegativeControl}, which
     *                            {@link ReplicaMain} resolves)
     * @param leaseChecksOnReads  true except under the harness's negative control: false answers lease reads
     *                            without checking that the lease still holds
     * @param limits              the process's bounds: inbox, batching, message and queue sizes
     */
    public record Options(int id, Map<Integer, InetSocketAddress> members, Path dataDir, SyncPolicy syncPolicy,
                          PaxosConfig paxos, LogLimits logLimits, long compactEveryEntries, long tickNanos,
                          boolean faultAdmin, Consumer<PaxosReplica> coreHook, boolean leaseChecksOnReads,
                          ReplicaLimits limits) {
        public Options {
            Objects.requireNonNull(coreHook, "coreHook");
            Objects.requireNonNull(limits, "limits");
            if (limits.maxMessageBytes() <= paxos.limits().maxBatchBytes()) {
                throw new IllegalArgumentException("limits.maxMessageBytes " + limits.maxMessageBytes()
                        + " must exceed paxos.limits.maxBatchBytes " + paxos.limits().maxBatchBytes()
                        + ", or a full batch cannot reach the followers");
            }
        }
    }

    private final Options options;
    private final TrueTime trueTime;
    private final Supplier<StateMachine> machine;
    private final MessageCodec codec;
    private final LogLimiter limiter = new LogLimiter(LOG);
    private final BlockingQueue<Object> inbox;
    private final ReplicaHealth health;

    private GrpcTransport transport;
    /** Only with {@code faultAdmin}: the harness's partitions and lossy links, wrapped around {@link #transport}. */
    private FaultyTransport faults;
    private GroupHost<AppendReplyTo> host;
    /** The loop's turn over its groups (one today, {@link #GROUP}): one sync per turn for every group that wrote. */
    private GroupLoop<AppendReplyTo> groups;
    private Server server;
    private Thread loop;
    private volatile boolean running;
    private boolean closed;

    private record ClientAppend(byte[] command, AppendReplyTo reply) {
    }

    /** Where one append's outcome goes: a unary {@code Append} call, or one reply on a client's {@code AppendStream}. */
    private interface AppendReplyTo {
        /** Sends the outcome; a client that went away (cancelled, deadline, stream closed) is ignored. */
        void send(AppendReply.Builder reply);
    }

    private record UnaryReply(StreamObserver<AppendReply> call) implements AppendReplyTo {
        @Override
        public void send(AppendReply.Builder reply) {
            call.onNext(reply.build());
            call.onCompleted();
        }
    }

    /** Append {@code id} of a client's stream: its reply carries the id. */
    private record StreamedReply(ReplyStream stream, long id) implements AppendReplyTo {
        @Override
        public void send(AppendReply.Builder reply) {
            stream.send(reply.setId(id).build());
        }
    }

    /**
     * The reply side of one {@code AppendStream}. Replies come from the event loop and, for refusals, from the
     * transport thread reading the stream: gRPC's observer is not thread-safe, so one lock orders them.
     */
    private static final class ReplyStream {
        private final StreamObserver<AppendReply> replies;
        private boolean closed;

        ReplyStream(StreamObserver<AppendReply> replies) {
            this.replies = replies;
        }

        synchronized void send(AppendReply reply) {
            if (closed) {
                return;
            }
            try {
                replies.onNext(reply);
            } catch (RuntimeException e) {
                closed = true; // the client cancelled the stream or went away; nothing to do
            }
        }

        /** The client went away: later replies are dropped. */
        synchronized void abandon() {
            closed = true;
        }

        synchronized void complete() {
            if (!closed) {
                closed = true;
                replies.onCompleted();
            }
        }
    }

    private record ClientRead(byte[] query, StreamObserver<ReadReply> reply) {
    }

    private record StatusQuery(StreamObserver<StatusReply> reply) {
    }

    public ReplicaServer(Options options, TrueTime trueTime, Supplier<StateMachine> machine) {
        this.options = options;
        this.inbox = new LinkedBlockingQueue<>(options.limits().maxInboxItems());
        this.trueTime = options.faultAdmin() ? new FaultableTrueTime(trueTime) : trueTime;
        this.machine = machine;
        this.codec = new MessageCodec(options.paxos().limits());
        this.health = new ReplicaHealth(options.id(), options.faultAdmin(), LOG);
    }

    /** Recovers from the log, binds the port, starts the loop; returns once clients and peers can connect. */
    public ReplicaServer start() throws IOException {
        int me = options.id();
        List<Integer> memberIds = List.copyOf(options.members().keySet());
        ChronicleDurableLog log = ChronicleDurableLog.open(options.dataDir(), options.syncPolicy(), options.logLimits());
        DurableStateStore store = new DurableStateStore(log, options.logLimits(), options.paxos().limits(),
                memberIds, false);
        Map<Integer, String> targets = new HashMap<>();
        options.members().forEach((id, a) -> targets.put(id, a.getHostString() + ":" + a.getPort()));
        transport = new GrpcTransport(me, targets, codec, this::offerPeerMessage, options.limits());
        Transport outbound = transport;
        if (options.faultAdmin()) {
            // The harness may hold back as much as every peer's queue holds.
            faults = new FaultyTransport(me, transport, codec,
                    options.limits().maxQueuedBytesPerPeer() * Math.max(1, targets.size() - 1));
            outbound = faults;
        }
        GroupHost.Options hostOptions = new GroupHost.Options(options.limits().maxBatchWaitNanos(),
                options.compactEveryEntries(), options.leaseChecksOnReads());
        host = GroupHost.start(options.paxos(), store, outbound, trueTime, System::nanoTime, machine.get(),
                new SecureRandom().nextLong(), hostOptions, new HostListener());
        options.coreHook().accept(host.replica());
        groups = new GroupLoop<>(written -> store.sync());
        groups.add(GROUP, host);
        InetSocketAddress bind = options.members().get(me);
        // Handlers only decode and hand over to the loop (never block), so they run on the transport threads:
        // no executor hop per call.
        NettyServerBuilder b = NettyServerBuilder.forAddress(bind).directExecutor()
                .maxInboundMessageSize(options.limits().maxMessageBytes())
                .addService(new PeerService())
                .addService(new ClientService())
                .addService(health.service())
                .addService(ProtoReflectionServiceV1.newInstance());
        if (options.faultAdmin()) {
            b.addService(new FaultAdminService(me, faults, (FaultableTrueTime) trueTime));
        }
        server = b.build().start();
        running = true;
        loop = new Thread(this::runLoop, "replica-" + me + "-loop");
        loop.start();
        LOG.info("replica {} serving on {}:{} (members {}, sync {}, lease {} ms, data {}, incarnation {})", me,
                bind.getHostString(), server.getPort(), options.members(), options.syncPolicy(),
                TimeUnit.NANOSECONDS.toMillis(options.paxos().leaseDurationNanos()), options.dataDir(),
                Long.toHexString(host.incarnation()));
        return this;
    }

    public int port() {
        return server.getPort();
    }

    // ------------------------------------------------------------------ the event loop

    private void runLoop() {
        long nextTick = System.nanoTime();
        int maxDrain = options.limits().maxDrainPerTurn();
        List<Object> drained = new ArrayList<>(maxDrain);
        try {
            while (running) {
                long wake = groups.batchWaiting() ? earlier(nextTick, groups.batchDeadlineNanos()) : nextTick;
                long wait = wake - System.nanoTime();
                Object first = wait > 0 ? inbox.poll(wait, TimeUnit.NANOSECONDS) : inbox.poll();
                // One turn = one group commit: everything handled now is synced once, then sent and applied.
                long t0 = System.nanoTime();
                groups.beginTurn();
                if (first != null) {
                    handle(first);
                    inbox.drainTo(drained, maxDrain);
                    for (Object o : drained) {
                        handle(o);
                    }
                    drained.clear();
                }
                if (System.nanoTime() - nextTick >= 0) {
                    boolean ticked = groups.tickAll() == 0;
                    health.onTick(ticked, host.replica().leaderHint() >= 1);
                    nextTick = System.nanoTime() + options.tickNanos();
                }
                groups.endTurn();
                countTurn(System.nanoTime() - t0);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException | Error e) {
            // A failed durable write (the driver refuses further input) or a bug: this process must not go on
            // answering as if its memory matched its disk. Restarting recovers from the log.
            LOG.error("replica {}: event loop stopped; restart the process to recover from the log",
                    options.id(), e);
            running = false;
            health.stopped();
            host.failAllWaiting("replica stopped: " + e);
        }
    }

    private static long earlier(long a, long b) {
        return a - b <= 0 ? a : b;
    }

    private void handle(Object o) {
        if (o instanceof Message m) {
            groups.onMessage(GROUP, m);
        } else if (o instanceof ClientAppend a) {
            groups.append(GROUP, a.command(), a.reply());
        } else if (o instanceof ClientRead r) {
            serveRead(r);
        } else if (o instanceof StatusQuery q) {
            q.reply().onNext(status());
            q.reply().onCompleted();
        }
    }

    // Loop statistics, logged at DEBUG every 5 s (io.gnomon.paxos.server.ReplicaServer): how big batches are and
    // what a turn costs, the first things to look at when throughput disappoints.
    private long statTurns;
    private long statTurnNanos;
    private long statBatches;
    private long statEntries;
    private long statLastPrint = System.nanoTime();

    private void countTurn(long nanos) {
        statTurns++;
        statTurnNanos += nanos;
        if (LOG.isDebugEnabled() && System.nanoTime() - statLastPrint > 5_000_000_000L) {
            statLastPrint = System.nanoTime();
            LOG.debug("replica {}, last 5 s: {} turns, {} us each on average (sync included); {} batches proposed, "
                            + "{} entries", options.id(), statTurns, statTurnNanos / statTurns / 1000,
                    host.batchesProposed() - statBatches, host.entriesProposed() - statEntries);
            statTurns = statTurnNanos = 0;
            statBatches = host.batchesProposed();
            statEntries = host.entriesProposed();
        }
    }

    /** Where the host's outcomes and remarks go: client replies, the rate-limited warning log, the info log. */
    private final class HostListener implements GroupHost.Listener<AppendReplyTo> {
        @Override
        public void outcome(AppendReplyTo client, GroupHost.AppendOutcome o) {
            AppendReply.Builder reply = AppendReply.newBuilder().setLeaderHint(o.leaderHint());
            switch (o.outcome()) {
                case APPLIED -> reply.setOutcome(Outcome.APPLIED).setSlot(o.slot()).setResult(ByteString.copyFrom(o.result()));
                case NOT_APPENDED -> reply.setOutcome(Outcome.NOT_APPENDED).setDetail(o.detail());
                case UNKNOWN -> reply.setOutcome(Outcome.UNKNOWN).setDetail(o.detail());
            }
            try {
                client.send(reply);
            } catch (RuntimeException e) {
                // the client went away (cancelled, deadline); nothing to do
            }
        }

        @Override
        public void warn(String key, String message) {
            limiter.warn(key, message);
        }

        @Override
        public void info(String message) {
            LOG.info(message);
        }
    }

    private void serveRead(ClientRead r) {
        GroupHost.ReadOutcome read;
        try {
            read = host.read(r.query());
        } catch (IllegalArgumentException e) {
            r.reply().onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
            return;
        }
        ReadReply.Builder reply = ReadReply.newBuilder().setLeaderHint(read.leaderHint());
        if (read.served()) {
            reply.setServed(true).setResult(ByteString.copyFrom(read.result())).setAppliedIndex(read.appliedIndex());
        } else {
            reply.setServed(false).setDetail(read.refusal());
        }
        r.reply().onNext(reply.build());
        r.reply().onCompleted();
    }

    private StatusReply status() {
        PaxosReplica core = host.replica();
        return StatusReply.newBuilder().setReplicaId(options.id()).setLeader(core.isLeader())
                .setLeaderHint(Math.max(0, core.leaderHint())).setBallotRound(core.promised().round())
                .setBallotReplica(core.promised().replicaId()).setConfigId(core.configId())
                .addAllMembers(core.members()).setDecidedIndex(core.decidedIndex()).setLogEnd(core.logEnd())
                .setAppliedIndex(host.appliedIndex()).setLeaseReadReady(host.leaseReadReady())
                .setLeaseEndEpochNanos(core.leaseEndEpochNanos()).setIncarnation(host.incarnation()).build();
    }

    /** The fault harness's network in front of the transport, or null without {@code faultAdmin} (tests look at it). */
    FaultyTransport faults() {
        return faults;
    }

    // ------------------------------------------------------------------ inbound

    private void offerPeerMessage(Message m) {
        if (!inbox.offer(m)) {
            limiter.warn("inbox", "replica " + options.id() + ": inbox full (maxInboxItems "
                    + options.limits().maxInboxItems() + "); message dropped");
        }
    }

    private final class PeerService extends PeerGrpc.PeerImplBase {
        @Override
        public StreamObserver<PeerFrame> stream(StreamObserver<PeerStreamEnd> end) {
            return new StreamObserver<>() {
                private int claimedFrom = -1;

                @Override
                public void onNext(PeerFrame frame) {
                    Message m;
                    try {
                        m = codec.decode(frame.getPayload().toByteArray());
                    } catch (MessageCodec.MalformedMessageException e) {
                        limiter.warn("frame", "replica " + options.id() + ": dropped a malformed frame on the stream"
                                + (claimedFrom < 0 ? "" : " from replica " + claimedFrom) + ": " + e.getMessage());
                        return;
                    }
                    claimedFrom = m.from();
                    if (faults == null || faults.admits(m.from())) {
                        offerPeerMessage(m);
                    }
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onCompleted() {
                    end.onNext(PeerStreamEnd.getDefaultInstance());
                    end.onCompleted();
                }
            };
        }
    }

    private final class ClientService extends ReplicaGrpc.ReplicaImplBase {
        @Override
        public void append(AppendRequest request, StreamObserver<AppendReply> reply) {
            byte[] command = request.getCommand().toByteArray();
            String bad = invalidCommand(command);
            if (bad != null) {
                reply.onError(Status.INVALID_ARGUMENT.withDescription(bad).asRuntimeException());
                return;
            }
            if (!offerAppend(command, new UnaryReply(reply))) {
                reply.onError(Status.RESOURCE_EXHAUSTED.withDescription(notAccepting()).asRuntimeException());
            }
        }

        @Override
        public StreamObserver<AppendRequest> appendStream(StreamObserver<AppendReply> replies) {
            ReplyStream stream = new ReplyStream(replies);
            return new StreamObserver<>() {
                @Override
                public void onNext(AppendRequest request) {
                    byte[] command = request.getCommand().toByteArray();
                    String bad = invalidCommand(command);
                    if (bad == null && !offerAppend(command, new StreamedReply(stream, request.getId()))) {
                        bad = notAccepting();
                    }
                    if (bad != null) {
                        stream.send(AppendReply.newBuilder().setOutcome(Outcome.NOT_APPENDED).setRejected(true)
                                .setDetail(bad).setId(request.getId()).build());
                    }
                }

                @Override
                public void onError(Throwable t) {
                    stream.abandon(); // the client went away; appends still waiting are decided or not all the same
                }

                @Override
                public void onCompleted() {
                    stream.complete();
                }
            };
        }

        /** Why {@code command} can never be appended (its size, or the state machine refuses it), or null. */
        private String invalidCommand(byte[] command) {
            return host.validate(command);
        }

        private boolean offerAppend(byte[] command, AppendReplyTo reply) {
            return running && inbox.offer(new ClientAppend(command, reply));
        }

        private String notAccepting() {
            return "replica " + options.id() + " is not accepting requests (stopped or inbox full)";
        }

        @Override
        public void read(ReadRequest request, StreamObserver<ReadReply> reply) {
            if (!running || !inbox.offer(new ClientRead(request.getQuery().toByteArray(), reply))) {
                reply.onError(Status.RESOURCE_EXHAUSTED.withDescription("replica " + options.id()
                        + " is not accepting requests").asRuntimeException());
            }
        }

        @Override
        public void status(StatusRequest request, StreamObserver<StatusReply> reply) {
            if (!running || !inbox.offer(new StatusQuery(reply))) {
                reply.onError(Status.UNAVAILABLE.withDescription("replica " + options.id()
                        + " is not running").asRuntimeException());
            }
        }
    }

    /** Stops serving, ends the loop and closes the log; a second call does nothing. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        running = false;
        health.stopped();
        if (server != null) {
            server.shutdownNow();
        }
        if (loop != null) {
            loop.interrupt();
            try {
                loop.join(TimeUnit.SECONDS.toMillis(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (faults != null) {
            faults.close();
        }
        if (transport != null) {
            transport.close();
        }
        if (host != null) {
            host.close();
        }
    }
}
