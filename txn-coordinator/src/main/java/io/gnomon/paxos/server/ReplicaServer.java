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
import java.util.Set;
import java.util.TreeMap;
import java.util.Collections;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * One replica process hosting many Paxos groups: per group a {@link GroupHost} (the Paxos core behind its driver
 * over the group's own Chronicle log, the {@link StateMachine}, batching, client outcomes, the read fence,
 * compaction); peer processes reached through one {@link GrpcTransport} stream each, shared by every group (each
 * frame names its group); clients served through the {@code Replica} gRPC service (each request names its group,
 * absent = 1), on the peer port or, given {@link Options#clientAddress}, on a client port of its own; and one event loop thread that runs every turn through a {@link GroupLoop} over all the groups (the
 * same turn the simulator's processes run) and makes every call into the hosts (docs/paxos.md, "Replica
 * processes" and "Many groups per process"). Replica id == process id in every group. The host's behaviour (what
 * an append's outcome is, when a lease read is served) is described there; this class only carries requests to
 * the loop and replies back.
 *
 * <p>Batching: client appends that arrive while the loop is busy (typically while it waits for the log's sync)
 * are handled in the next turn, and the host proposes them as one batch, so one sync covers all of them.
 *
 * <p>Besides its own services the server answers gRPC health checks ({@link ReplicaHealth}: NOT_SERVING while
 * TrueTime is unusable or some hosted group knows no leader) and server reflection, so probes and {@code grpcurl}
 * need no .proto file.
 *
 * <p>With {@link Options#faultAdmin} it also serves the harness's {@code FaultAdmin} ({@link FaultAdminService}),
 * whose faults are decorators put around the real parts here and nowhere else: a {@link FaultyTransport} in front
 * of the {@link GrpcTransport} (and asked about each inbound peer message) and a {@link FaultableTrueTime} over
 * the TrueTime.
 */
public final class ReplicaServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ReplicaServer.class);
    /** The group a request or peer frame without a group id means, and the one group of {@link Options}' default. */
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
     * @param members             every process this one talks to (itself included), by process id
     * @param paxos               the Paxos settings; each group's core gets them with its own members (and a seed
     *                            mixed with the group id)
     * @param groups              the groups this process hosts: group id to its members (process ids, this one
     *                            among them, all in {@code members}); the other constructor's default is group 1
     *                            of every member. Group 1's log is in {@code dataDir} itself (where a one-group
     *                            replica always kept it, so old data dirs stay readable), every other group's in
     *                            {@code dataDir/group-<id>/}
     * @param clientAddress       where clients reach this process (a cluster file's {@code client} address): the
     *                            {@code Replica}, health, reflection and {@code FaultAdmin} services there, only
     *                            {@code Peer} (and health) on {@code members.get(id)}; null (the other
     *                            constructors): every service on the one address in {@code members}, as before
     */
    public record Options(int id, Map<Integer, InetSocketAddress> members, Path dataDir, SyncPolicy syncPolicy,
                          PaxosConfig paxos, LogLimits logLimits, long compactEveryEntries, long tickNanos,
                          boolean faultAdmin, Consumer<PaxosReplica> coreHook, boolean leaseChecksOnReads,
                          ReplicaLimits limits, Map<Long, List<Integer>> groups, InetSocketAddress clientAddress) {
        /** These groups, every service on the peer address (no separate client port). */
        public Options(int id, Map<Integer, InetSocketAddress> members, Path dataDir, SyncPolicy syncPolicy,
                       PaxosConfig paxos, LogLimits logLimits, long compactEveryEntries, long tickNanos,
                       boolean faultAdmin, Consumer<PaxosReplica> coreHook, boolean leaseChecksOnReads,
                       ReplicaLimits limits, Map<Long, List<Integer>> groups) {
            this(id, members, dataDir, syncPolicy, paxos, logLimits, compactEveryEntries, tickNanos, faultAdmin,
                    coreHook, leaseChecksOnReads, limits, groups, null);
        }

        /** One group, {@link #GROUP}, of every member: a one-group replica as before groups. */
        public Options(int id, Map<Integer, InetSocketAddress> members, Path dataDir, SyncPolicy syncPolicy,
                       PaxosConfig paxos, LogLimits logLimits, long compactEveryEntries, long tickNanos,
                       boolean faultAdmin, Consumer<PaxosReplica> coreHook, boolean leaseChecksOnReads,
                       ReplicaLimits limits) {
            this(id, members, dataDir, syncPolicy, paxos, logLimits, compactEveryEntries, tickNanos, faultAdmin,
                    coreHook, leaseChecksOnReads, limits, Map.of(GROUP, List.copyOf(members.keySet())));
        }

        public Options {
            Objects.requireNonNull(coreHook, "coreHook");
            Objects.requireNonNull(limits, "limits");
            if (groups == null || groups.isEmpty()) {
                throw new IllegalArgumentException("groups: process " + id + " must host at least one group");
            }
            Map<Long, List<Integer>> copy = new TreeMap<>();
            groups.forEach((g, ms) -> {
                if (g < 1) {
                    throw new IllegalArgumentException("groups: group id " + g + " must be >= 1");
                }
                if (!ms.contains(id)) {
                    throw new IllegalArgumentException("groups: group " + g + "'s members " + ms
                            + " do not include this process, " + id);
                }
                if (!members.keySet().containsAll(ms)) {
                    throw new IllegalArgumentException("groups: group " + g + "'s members " + ms
                            + " are not all among the processes with an address " + members.keySet());
                }
                copy.put(g, List.copyOf(ms));
            });
            groups = Collections.unmodifiableMap(copy);
            if (clientAddress != null && clientAddress.equals(members.get(id))) {
                throw new IllegalArgumentException("clientAddress " + clientAddress + " is process " + id
                        + "'s peer address; give a different one, or null to serve clients there");
            }
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
    /** The hosted groups, by id; filled by {@link #start} and unchanged after, so transport threads may read it. */
    private final Map<Long, GroupHost<AppendReplyTo>> hosts = new TreeMap<>();
    private final Map<Long, DurableStateStore> stores = new TreeMap<>();
    /** The loop's turn over its groups: one sync per turn for every group that wrote (each group's log, today). */
    private GroupLoop<AppendReplyTo> groups;
    private Server server;
    /** The client port's server, or {@link #server} itself without {@link Options#clientAddress}. */
    private Server clientServer;
    private Thread loop;
    private volatile boolean running;
    private boolean closed;

    private record PeerMessage(long group, Message message) {
    }

    private record ClientAppend(long group, byte[] command, AppendReplyTo reply) {
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

    private record ClientRead(long group, byte[] query, StreamObserver<ReadReply> reply) {
    }

    private record StatusQuery(long group, StreamObserver<StatusReply> reply) {
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
        Map<Integer, String> targets = new HashMap<>();
        options.members().forEach((id, a) -> targets.put(id, a.getHostString() + ":" + a.getPort()));
        transport = new GrpcTransport(me, targets, codec, this::offerPeerMessage, options.limits());
        ProcessTransport outbound = transport;
        if (options.faultAdmin()) {
            // The harness may hold back as much as every peer's queue holds.
            faults = new FaultyTransport(me, transport, codec,
                    options.limits().maxQueuedBytesPerPeer() * Math.max(1, targets.size() - 1));
            outbound = faults;
        }
        GroupHost.Options hostOptions = new GroupHost.Options(options.limits().maxBatchWaitNanos(),
                options.compactEveryEntries(), options.leaseChecksOnReads());
        // Over a log per group, the turn's one sync is one sync of each log that wrote (one shared log is the
        // next step: io.gnomon.paxos.wal.ProcessLog).
        groups = new GroupLoop<>(written -> written.forEach(g -> stores.get(g).sync()));
        SecureRandom random = new SecureRandom();
        try {
            for (Map.Entry<Long, List<Integer>> g : options.groups().entrySet()) {
                long groupId = g.getKey();
                ChronicleDurableLog log = ChronicleDurableLog.open(groupDir(options.dataDir(), groupId),
                        options.syncPolicy(), options.logLimits());
                DurableStateStore store = new DurableStateStore(log, options.logLimits(), options.paxos().limits(),
                        g.getValue(), false);
                stores.put(groupId, store);
                GroupHost<AppendReplyTo> host = GroupHost.start(groupConfig(options.paxos(), groupId, g.getValue()),
                        store, outbound.forGroup(groupId), trueTime, System::nanoTime, machine.get(),
                        random.nextLong(), hostOptions, new HostListener(groupId));
                hosts.put(groupId, host);
                options.coreHook().accept(host.replica());
                groups.add(groupId, host);
            }
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
        InetSocketAddress bind = options.members().get(me);
        NettyServerBuilder peers = serverOn(bind).addService(new PeerService());
        // With a client address the peer port serves peers only (docs/cluster-file.md, "Ports").
        NettyServerBuilder clients = options.clientAddress() == null ? peers : serverOn(options.clientAddress());
        clients.addService(new ClientService());
        if (options.faultAdmin()) {
            clients.addService(new FaultAdminService(me, faults, (FaultableTrueTime) trueTime));
        }
        server = peers.build().start();
        try {
            clientServer = clients == peers ? server : clients.build().start();
        } catch (IOException e) {
            close();
            throw new IOException("client address " + options.clientAddress() + ": " + e.getMessage(), e);
        }
        running = true;
        loop = new Thread(this::runLoop, "replica-" + me + "-loop");
        loop.start();
        LOG.info("replica {} serving on {}:{}{} (processes {}, groups {}, sync {}, lease {} ms, data {})", me,
                bind.getHostString(), server.getPort(), clientServer == server ? ""
                        : ", clients on " + options.clientAddress().getHostString() + ":" + clientServer.getPort(),
                options.members(), options.groups(), options.syncPolicy(),
                TimeUnit.NANOSECONDS.toMillis(options.paxos().leaseDurationNanos()), options.dataDir());
        return this;
    }

    /** A server on {@code address} with health and reflection, whose handlers run on the transport threads. */
    private NettyServerBuilder serverOn(InetSocketAddress address) {
        // Handlers only decode and hand over to the loop (never block), so they run on the transport threads:
        // no executor hop per call.
        return NettyServerBuilder.forAddress(address).directExecutor()
                .maxInboundMessageSize(options.limits().maxMessageBytes())
                .addService(health.service())
                .addService(ProtoReflectionServiceV1.newInstance());
    }

    /** Where group {@code groupId}'s log lives: group 1 in {@code dataDir} itself (the one-group layout), others below. */
    static Path groupDir(Path dataDir, long groupId) {
        return groupId == GROUP ? dataDir : dataDir.resolve("group-" + groupId);
    }

    /** The process's Paxos settings for one group: its members, and a seed of its own so elections spread. */
    static PaxosConfig groupConfig(PaxosConfig p, long groupId, List<Integer> members) {
        return new PaxosConfig(p.replicaId(), members, p.electionTimeoutNanos(), p.heartbeatIntervalNanos(),
                p.retransmitIntervalNanos(), p.leaseDurationNanos(), p.limits(),
                groupId == GROUP ? p.randomSeed() : p.randomSeed() ^ (groupId * 0x9E3779B97F4A7C15L));
    }

    /** The groups this process hosts, by id. */
    Set<Long> hostedGroups() {
        return hosts.keySet();
    }

    private String notHosted(long group) {
        return "replica " + options.id() + " does not host group " + group + " (it hosts groups " + hosts.keySet()
                + ")";
    }

    /** A request's group: absent (0) is {@link #GROUP}. */
    private static long groupOf(long requested) {
        return requested == 0 ? GROUP : requested;
    }

    /** The peer port (and the client port too without {@link Options#clientAddress}). */
    public int port() {
        return server.getPort();
    }

    /** The port clients connect to: {@link #port()} unless {@link Options#clientAddress} is given. */
    public int clientPort() {
        return clientServer.getPort();
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
                    health.onTick(ticked, everyGroupKnowsALeader());
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
            hosts.values().forEach(h -> h.failAllWaiting("replica stopped: " + e));
        }
    }

    private boolean everyGroupKnowsALeader() {
        for (GroupHost<AppendReplyTo> h : hosts.values()) {
            if (h.replica().leaderHint() < 1) {
                return false;
            }
        }
        return true;
    }

    private static long earlier(long a, long b) {
        return a - b <= 0 ? a : b;
    }

    private void handle(Object o) {
        // The group was checked against the hosted ones when the input arrived; the set never changes.
        if (o instanceof PeerMessage m) {
            groups.onMessage(m.group(), m.message());
        } else if (o instanceof ClientAppend a) {
            groups.append(a.group(), a.command(), a.reply());
        } else if (o instanceof ClientRead r) {
            serveRead(r);
        } else if (o instanceof StatusQuery q) {
            q.reply().onNext(status(q.group()));
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
                    batchesProposed() - statBatches, entriesProposed() - statEntries);
            statTurns = statTurnNanos = 0;
            statBatches = batchesProposed();
            statEntries = entriesProposed();
        }
    }

    private long batchesProposed() {
        return hosts.values().stream().mapToLong(GroupHost::batchesProposed).sum();
    }

    private long entriesProposed() {
        return hosts.values().stream().mapToLong(GroupHost::entriesProposed).sum();
    }

    /** Where a host's outcomes and remarks go: client replies, the rate-limited warning log, the info log. */
    private final class HostListener implements GroupHost.Listener<AppendReplyTo> {
        private final long group;

        HostListener(long group) {
            this.group = group;
        }

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
            limiter.warn("group-" + group + "-" + key, "group " + group + ": " + message);
        }

        @Override
        public void info(String message) {
            LOG.info("group {}: {}", group, message);
        }
    }

    private void serveRead(ClientRead r) {
        GroupHost.ReadOutcome read;
        try {
            read = hosts.get(r.group()).read(r.query());
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

    private StatusReply status(long group) {
        GroupHost<AppendReplyTo> host = hosts.get(group);
        PaxosReplica core = host.replica();
        return StatusReply.newBuilder().setReplicaId(options.id()).setLeader(core.isLeader())
                .setLeaderHint(Math.max(0, core.leaderHint())).setBallotRound(core.promised().round())
                .setBallotReplica(core.promised().replicaId()).setConfigId(core.configId())
                .addAllMembers(core.members()).setDecidedIndex(core.decidedIndex()).setLogEnd(core.logEnd())
                .setAppliedIndex(host.appliedIndex()).setLeaseReadReady(host.leaseReadReady())
                .setLeaseEndEpochNanos(core.leaseEndEpochNanos()).setIncarnation(host.incarnation())
                .setGroup(group).addAllHostedGroups(hosts.keySet()).build();
    }

    /** The fault harness's network in front of the transport, or null without {@code faultAdmin} (tests look at it). */
    FaultyTransport faults() {
        return faults;
    }

    // ------------------------------------------------------------------ inbound

    private void offerPeerMessage(int to, long group, Message m) {
        if (!inbox.offer(new PeerMessage(group, m))) {
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
                    long group = groupOf(frame.getGroup());
                    if (!hosts.containsKey(group)) {
                        limiter.warn("frame-group-" + group, "replica " + options.id() + ": dropped a frame for group "
                                + group + " from replica " + m.from() + ": this process hosts groups " + hosts.keySet());
                        return;
                    }
                    if (faults == null || faults.admits(m.from())) {
                        offerPeerMessage(options.id(), group, m);
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
            long group = groupOf(request.getGroup());
            if (!hosts.containsKey(group)) {
                reply.onError(Status.NOT_FOUND.withDescription(notHosted(group)).asRuntimeException());
                return;
            }
            byte[] command = request.getCommand().toByteArray();
            String bad = invalidCommand(group, command);
            if (bad != null) {
                reply.onError(Status.INVALID_ARGUMENT.withDescription(bad).asRuntimeException());
                return;
            }
            if (!offerAppend(group, command, new UnaryReply(reply))) {
                reply.onError(Status.RESOURCE_EXHAUSTED.withDescription(notAccepting()).asRuntimeException());
            }
        }

        @Override
        public StreamObserver<AppendRequest> appendStream(StreamObserver<AppendReply> replies) {
            ReplyStream stream = new ReplyStream(replies);
            return new StreamObserver<>() {
                @Override
                public void onNext(AppendRequest request) {
                    long group = groupOf(request.getGroup());
                    byte[] command = request.getCommand().toByteArray();
                    String bad = hosts.containsKey(group) ? invalidCommand(group, command) : notHosted(group);
                    if (bad == null && !offerAppend(group, command, new StreamedReply(stream, request.getId()))) {
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
        private String invalidCommand(long group, byte[] command) {
            return hosts.get(group).validate(command);
        }

        private boolean offerAppend(long group, byte[] command, AppendReplyTo reply) {
            return running && inbox.offer(new ClientAppend(group, command, reply));
        }

        private String notAccepting() {
            return "replica " + options.id() + " is not accepting requests (stopped or inbox full)";
        }

        @Override
        public void read(ReadRequest request, StreamObserver<ReadReply> reply) {
            long group = groupOf(request.getGroup());
            if (!hosts.containsKey(group)) {
                reply.onError(Status.NOT_FOUND.withDescription(notHosted(group)).asRuntimeException());
                return;
            }
            if (!running || !inbox.offer(new ClientRead(group, request.getQuery().toByteArray(), reply))) {
                reply.onError(Status.RESOURCE_EXHAUSTED.withDescription("replica " + options.id()
                        + " is not accepting requests").asRuntimeException());
            }
        }

        @Override
        public void status(StatusRequest request, StreamObserver<StatusReply> reply) {
            long group = groupOf(request.getGroup());
            if (!hosts.containsKey(group)) {
                reply.onError(Status.NOT_FOUND.withDescription(notHosted(group)).asRuntimeException());
                return;
            }
            if (!running || !inbox.offer(new StatusQuery(group, reply))) {
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
        if (clientServer != null && clientServer != server) {
            clientServer.shutdownNow();
        }
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
        hosts.values().forEach(GroupHost::close);
        if (hosts.size() < stores.size()) {
            // start failed after opening this group's log and before its host took it over
            stores.forEach((g, st) -> {
                if (!hosts.containsKey(g)) {
                    st.close();
                }
            });
        }
    }
}
