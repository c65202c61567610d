package io.gnomon.paxos.server;

import com.google.protobuf.ByteString;
import io.gnomon.paxos.Message;
import io.gnomon.paxos.Output;
import io.gnomon.paxos.PaxosConfig;
import io.gnomon.paxos.PaxosReplica;
import io.gnomon.paxos.grpc.AppendReply;
import io.gnomon.paxos.grpc.AppendRequest;
import io.gnomon.paxos.grpc.ClockFaultRequest;
import io.gnomon.paxos.grpc.FaultAdminGrpc;
import io.gnomon.paxos.grpc.FaultReply;
import io.gnomon.paxos.grpc.NetworkFaultRequest;
import io.gnomon.paxos.grpc.PartitionRequest;
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
import io.gnomon.paxos.runtime.MessageCodec;
import io.gnomon.paxos.runtime.ReplicaDriver;
import io.gnomon.paxos.storage.ChronicleDurableLog;
import io.gnomon.paxos.storage.LogLimits;
import io.gnomon.paxos.storage.SyncPolicy;
import io.gnomon.truetime.ClockUnavailableException;
import io.gnomon.truetime.TimeInterval;
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
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * One replica as a server process: the Paxos core behind a {@link ReplicaDriver} over a Chronicle log, peers
 * reached through {@link GrpcTransport}, clients served through the {@code Replica} gRPC service, and one event
 * loop thread that makes every call into the driver and the {@link StateMachine} (docs/paxos.md, "Replica
 * processes").
 *
 * <p>Batching: client appends that arrive while the loop is busy (typically while it waits for the log's sync)
 * are proposed together as one batch on the next turn, so one sync covers all of them.
 *
 * <p>Client outcomes: an append is acknowledged {@code APPLIED} only once its entry is decided and applied here;
 * {@code NOT_APPENDED} means it was certainly not proposed; if leadership is lost after proposing, the outcome
 * is {@code UNKNOWN} (the entry may still be decided by the next leader). Outcomes are per append, also within
 * a batch: a value the core refuses alone is {@code NOT_APPENDED} while the others of its batch go on. Each
 * proposal is tagged with this process's random incarnation and a sequence number, so a decided entry is matched
 * to its waiting client and never to a client of an earlier incarnation.
 *
 * <p>Lease reads: answered from the state machine without a log round trip while this replica leads, its lease
 * holds ({@code TrueTime.before(leaseEnd)}) and it has applied every entry of the log it took over when it
 * became leader (the read fence): entries an earlier leader had acknowledged are then visible.
 *
 * <p>Besides its own services the server answers gRPC health checks ({@link ReplicaHealth}: NOT_SERVING while
 * TrueTime is unusable or no leader is known) and server reflection, so probes and {@code grpcurl} need no
 * .proto file.
 */
public final class ReplicaServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ReplicaServer.class);
    private static final int TAG_BYTES = 16;
    private static final int MAX_INBOX = 200_000;
    private static final int MAX_DRAIN = 4096;
    /** The longest a client append waits for the batch in flight before it is proposed anyway. */
    private static final long MAX_BATCH_WAIT_NANOS = TimeUnit.MILLISECONDS.toNanos(2);

    /**
     * How to run one replica.
     *
     * @param faultAdmin      serve the {@code FaultAdmin} service (partitions, lossy links, clock faults) for the harness
     * @param negativeControl {@link NegativeControl#NONE} except in the harness's negative control, which only
     *                        a test classpath can switch on
     */
    public record Options(int id, Map<Integer, InetSocketAddress> members, Path dataDir, SyncPolicy syncPolicy,
                          PaxosConfig paxos, LogLimits logLimits, long compactEveryEntries, long tickNanos,
                          boolean faultAdmin, NegativeControl negativeControl) {
    }

    /**
     * Deliberate lease bugs that prove the verification harness can see one. Switching either on requires the
     * class {@value #NEGATIVE_CONTROL_CLASS}, which exists only in txn-coordinator's test classes: a replica
     * started from the product's classpath refuses to start with it.
     */
    public enum NegativeControl {
        NONE,
        /** A new leader does not wait out the previous leader's lease (the core's test-only hook). */
        SKIP_LEASE_WAIT,
        /** A leader answers lease reads without checking that its lease still holds. */
        STALE_LEASE_READS
    }

    static final String NEGATIVE_CONTROL_CLASS = "io.gnomon.paxos.TestOnlyNegativeControl";

    private final Options options;
    private final TrueTime trueTime;
    private final StateMachine machine;
    private final MessageCodec codec;
    private final LogLimiter limiter = new LogLimiter(LOG);
    private final BlockingQueue<Object> inbox = new LinkedBlockingQueue<>(MAX_INBOX);
    private final long incarnation = new SecureRandom().nextLong();
    private final Map<Long, AppendReplyTo> waiting = new HashMap<>();
    private final List<ClientAppend> batch = new ArrayList<>();
    private final ReplicaHealth health;

    private GrpcTransport transport;
    private ReplicaDriver driver;
    private Server server;
    private Thread loop;
    private volatile boolean running;
    private boolean closed;
    private long nextSeq;
    private long appliedIndex;
    private long readFence = Long.MAX_VALUE;
    private long snapshotIndex;
    private long batchStartNanos;

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
        this.trueTime = options.faultAdmin() ? new FaultableTrueTime(trueTime) : trueTime;
        this.machine = machine.get();
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
        transport = new GrpcTransport(me, targets, codec, this::offerPeerMessage, 64L << 20);
        driver = ReplicaDriver.start(options.paxos(), store, transport, trueTime, System::nanoTime,
                this::apply, this::effect);
        if (options.negativeControl() != NegativeControl.NONE) {
            switchOnNegativeControl(driver.replica());
        }
        InetSocketAddress bind = options.members().get(me);
        // Handlers only decode and hand over to the loop (never block), so they run on the transport threads:
        // no executor hop per call.
        NettyServerBuilder b = NettyServerBuilder.forAddress(bind).directExecutor()
                .maxInboundMessageSize(64 << 20)
                .addService(new PeerService())
                .addService(new ClientService())
                .addService(health.service())
                .addService(ProtoReflectionServiceV1.newInstance());
        if (options.faultAdmin()) {
            b.addService(new FaultAdminService());
        }
        server = b.build().start();
        running = true;
        loop = new Thread(this::runLoop, "replica-" + me + "-loop");
        loop.start();
        LOG.info("replica {} serving on {}:{} (members {}, sync {}, lease {} ms, data {}, incarnation {})", me,
                bind.getHostString(), server.getPort(), options.members(), options.syncPolicy(),
                TimeUnit.NANOSECONDS.toMillis(options.paxos().leaseDurationNanos()), options.dataDir(),
                Long.toHexString(incarnation));
        return this;
    }

    /**
     * The test-only switch that makes a core skip waiting out the previous leader's lease: {@value
     * #NEGATIVE_CONTROL_CLASS}, loaded by name because it exists only in txn-coordinator's test classes (and the
     * simulated harness's negative control uses it too). Throws IllegalStateException, naming {@code control},
     * when it is not on this classpath.
     */
    @SuppressWarnings("unchecked")
    public static java.util.function.Consumer<PaxosReplica> testOnlyLeaseSwitch(String control) {
        try {
            return (java.util.function.Consumer<PaxosReplica>) Class.forName(NEGATIVE_CONTROL_CLASS)
                    .getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new IllegalStateException("negative control " + control + " is test-only: "
                    + NEGATIVE_CONTROL_CLASS + " is not on this classpath (it lives in txn-coordinator's test classes)");
        }
    }

    private void switchOnNegativeControl(PaxosReplica core) {
        java.util.function.Consumer<PaxosReplica> enabler = testOnlyLeaseSwitch(options.negativeControl().toString());
        if (options.negativeControl() == NegativeControl.SKIP_LEASE_WAIT) {
            enabler.accept(core);
        }
        LOG.warn("replica {}: NEGATIVE CONTROL {} is on: this replica is deliberately unsafe", options.id(),
                options.negativeControl());
    }

    public int port() {
        return server.getPort();
    }

    // ------------------------------------------------------------------ the event loop

    private void runLoop() {
        long nextTick = System.nanoTime();
        List<Object> drained = new ArrayList<>(MAX_DRAIN);
        try {
            while (running) {
                long wake = batch.isEmpty() ? nextTick : Math.min(nextTick, batchStartNanos + MAX_BATCH_WAIT_NANOS);
                long wait = wake - System.nanoTime();
                Object first = wait > 0 ? inbox.poll(wait, TimeUnit.NANOSECONDS) : inbox.poll();
                // One turn = one group commit: everything handled now is synced once, then sent and applied.
                driver.beginBatch();
                if (first != null) {
                    handle(first);
                    inbox.drainTo(drained, MAX_DRAIN);
                    for (Object o : drained) {
                        handle(o);
                    }
                    drained.clear();
                }
                flushBatch();
                if (System.nanoTime() - nextTick >= 0) {
                    Output ticked = call(driver::onTick); // null: TrueTime did not answer
                    health.onTick(ticked != null, driver.replica().leaderHint() >= 1);
                    nextTick = System.nanoTime() + options.tickNanos();
                }
                maybeCompact();
                driver.endBatch();
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
            failAllWaiting("replica stopped: " + e);
        }
    }

    private void handle(Object o) {
        if (o instanceof Message m) {
            call(() -> driver.onMessage(m));
        } else if (o instanceof ClientAppend a) {
            if (driver.replica().isLeader()) {
                if (batch.isEmpty()) {
                    batchStartNanos = System.nanoTime();
                }
                batch.add(a);
            } else {
                reply(a.reply(), notAppended("replica " + options.id() + " does not lead"));
            }
        } else if (o instanceof ClientRead r) {
            serveRead(r);
        } else if (o instanceof StatusQuery q) {
            q.reply().onNext(status());
            q.reply().onCompleted();
        }
    }

    // Loop statistics, logged at DEBUG every 5 s (io.gnomon.paxos.server.ReplicaServer): how big batches are
    // and what a core call costs, the first things to look at when throughput disappoints.
    private long statCalls;
    private long statCallNanos;
    private long statProposals;
    private long statProposed;
    private long statMessagesOut;
    private long statLastPrint = System.nanoTime();

    /** Calls the driver; a clock that cannot answer drops this input (the protocol treats it as lost). */
    private Output call(Supplier<Output> input) {
        try {
            long t0 = System.nanoTime();
            Output out = input.get();
            statCalls++;
            statCallNanos += System.nanoTime() - t0;
            statMessagesOut += out.messages().size();
            if (LOG.isDebugEnabled() && System.nanoTime() - statLastPrint > 5_000_000_000L) {
                statLastPrint = System.nanoTime();
                LOG.debug("replica {}, last 5 s: {} core calls, {} us each on average; {} batches proposed, {} entries; "
                                + "{} messages sent", options.id(), statCalls,
                        statCalls == 0 ? 0 : statCallNanos / statCalls / 1000, statProposals, statProposed, statMessagesOut);
                statCalls = statCallNanos = statProposals = statProposed = statMessagesOut = 0;
            }
            for (Output.Diagnostic d : out.diagnostics()) {
                if (d.code() != Output.Diagnostic.Code.LEASE_WAIT && d.code() != Output.Diagnostic.Code.STALE_BALLOT
                        && d.code() != Output.Diagnostic.Code.DUPLICATE && d.code() != Output.Diagnostic.Code.PRE_VOTE_REFUSED) {
                    limiter.warn(d.code().name(), "replica " + options.id() + ": " + d.code() + ": " + d.detail());
                }
            }
            return out;
        } catch (ClockUnavailableException e) {
            limiter.warn("clock", "replica " + options.id() + ": TrueTime unavailable, input dropped: "
                    + e.getMessage());
            return null;
        }
    }

    /**
     * Proposes the waiting client appends as one batch, unless an earlier batch is still undecided and this one
     * is young and small: then it keeps gathering (one round in flight, like raft's Ready loop), so under load
     * each round carries many entries and costs the followers one message and one sync, not one per append.
     * With nothing in flight (low load) it proposes at once.
     */
    private void flushBatch() {
        if (batch.isEmpty()) {
            return;
        }
        PaxosReplica core = driver.replica();
        boolean inFlight = core.isLeader() && core.logEnd() > core.decidedIndex();
        if (inFlight && batch.size() < options.paxos().limits().maxBatchEntries()
                && System.nanoTime() - batchStartNanos < MAX_BATCH_WAIT_NANOS) {
            return;
        }
        List<byte[]> values = new ArrayList<>(batch.size());
        long firstSeq = nextSeq;
        for (ClientAppend a : batch) {
            values.add(ByteBuffer.allocate(TAG_BYTES + a.command().length).putLong(incarnation).putLong(nextSeq++)
                    .put(a.command()).array());
        }
        List<ClientAppend> proposed = new ArrayList<>(batch);
        batch.clear();
        for (int i = 0; i < proposed.size(); i++) {
            waiting.put(firstSeq + i, proposed.get(i).reply());
        }
        statProposals++;
        statProposed += values.size();
        Output out = call(() -> driver.propose(values));
        String[] refused = refusedValues(out, values.size());
        for (int i = 0; i < refused.length; i++) {
            if (refused[i] != null) {
                AppendReplyTo r = waiting.remove(firstSeq + i);
                if (r != null) {
                    reply(r, notAppended(refused[i]));
                }
            }
        }
    }

    /**
     * The outcome {@code propose} settled for each of {@code values} proposed values: the reason it was certainly
     * not appended, or null when the core took it, so that it may still be decided and its client must wait for
     * {@code APPLIED} (or {@code UNKNOWN}). Per value: one value the core refuses (over its size limit) does not
     * make the others of its batch "not appended", which a client would take as leave to send them again.
     * {@code out} null means the input never reached the core (TrueTime unavailable).
     */
    static String[] refusedValues(Output out, int values) {
        String[] refused = new String[values];
        if (out == null) {
            Arrays.fill(refused, "TrueTime unavailable");
            return refused;
        }
        for (Output.Diagnostic d : out.diagnostics()) {
            if (d.valueIndex() == Output.Diagnostic.WHOLE_INPUT) {
                Arrays.fill(refused, d.detail()); // the core took none of the batch
                return refused;
            }
            if (d.valueIndex() >= values) {
                throw new IllegalStateException("propose refused value " + d.valueIndex() + " of a batch of " + values);
            }
            refused[d.valueIndex()] = d.detail();
        }
        return refused;
    }

    private void apply(Output.Decided d) {
        appliedIndex = d.slot() + 1;
        if (d.entry().isConfig()) {
            return;
        }
        byte[] v = d.entry().value();
        if (v.length < TAG_BYTES) {
            limiter.warn("untagged", "replica " + options.id() + ": slot " + d.slot() + " holds " + v.length
                    + " bytes, not a tagged command; skipped on every replica alike");
            return;
        }
        ByteBuffer b = ByteBuffer.wrap(v);
        long inc = b.getLong();
        long seq = b.getLong();
        byte[] command = new byte[v.length - TAG_BYTES];
        b.get(command);
        byte[] result;
        try {
            result = machine.apply(d.slot(), command);
        } catch (RuntimeException e) {
            // validate() refused nothing that reaches here unless the proposer skipped it; every replica skips alike.
            limiter.warn("apply", "replica " + options.id() + ": slot " + d.slot() + " not applicable: " + e.getMessage());
            result = new byte[0];
        }
        if (inc == incarnation) {
            AppendReplyTo r = waiting.remove(seq);
            if (r != null) {
                reply(r, AppendReply.newBuilder().setOutcome(Outcome.APPLIED).setSlot(d.slot())
                        .setResult(ByteString.copyFrom(result)).setLeaderHint(options.id()));
            }
        }
    }

    private void effect(Output.Effect e) {
        if (e instanceof Output.Effect.BecameLeader b) {
            readFence = driver.replica().logEnd();
            LOG.info("replica {}: leader in ballot {} (configuration {}); lease reads after slot {} is applied",
                    options.id(), b.ballot(), b.configId(), readFence);
        } else if (e instanceof Output.Effect.SteppedDown s) {
            readFence = Long.MAX_VALUE;
            LOG.info("replica {}: stepped down from ballot {}: {}", options.id(), s.ballot(), s.reason());
            failAllWaiting("leadership lost after proposing (" + s.reason() + ")");
        } else if (e instanceof Output.Effect.InstallSnapshot s) {
            machine.restore(s.snapshot().state());
            appliedIndex = s.snapshot().endIndex();
            snapshotIndex = appliedIndex;
        } else if (e instanceof Output.Effect.ConfigChanged c) {
            LOG.info("replica {}: configuration {} members {} from slot {}", options.id(), c.configId(), c.members(),
                    c.configStartIndex());
        }
    }

    private void failAllWaiting(String why) {
        for (AppendReplyTo r : waiting.values()) {
            reply(r, AppendReply.newBuilder().setOutcome(Outcome.UNKNOWN).setDetail(why)
                    .setLeaderHint(Math.max(0, driver.replica().leaderHint())));
        }
        waiting.clear();
    }

    private void serveRead(ClientRead r) {
        PaxosReplica core = driver.replica();
        String refused = null;
        if (!core.isLeader()) {
            refused = "replica " + options.id() + " does not lead";
        } else {
            TimeInterval now;
            try {
                now = trueTime.now();
            } catch (ClockUnavailableException e) {
                now = null;
            }
            boolean staleReadsOn = options.negativeControl() == NegativeControl.STALE_LEASE_READS;
            if (now == null || (!core.canServeLeaseRead(now) && !staleReadsOn)) {
                refused = "replica " + options.id() + " leads without a valid lease";
            } else if (appliedIndex < readFence) {
                refused = "replica " + options.id() + " has not yet applied the log it took over (slot "
                        + appliedIndex + " of " + readFence + ")";
            }
        }
        ReadReply.Builder reply = ReadReply.newBuilder().setLeaderHint(Math.max(0, core.leaderHint()));
        if (refused != null) {
            reply.setServed(false).setDetail(refused);
        } else {
            try {
                reply.setServed(true).setResult(ByteString.copyFrom(machine.query(r.query())))
                        .setAppliedIndex(appliedIndex);
            } catch (IllegalArgumentException e) {
                r.reply().onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
                return;
            }
        }
        r.reply().onNext(reply.build());
        r.reply().onCompleted();
    }

    private void maybeCompact() {
        long every = options.compactEveryEntries();
        if (every <= 0 || appliedIndex - snapshotIndex < every || appliedIndex < 1) {
            return;
        }
        long last = appliedIndex - 1;
        byte[] state = machine.snapshot();
        Output out = call(() -> driver.compact(last, state));
        if (out != null && out.diagnostics().isEmpty()) {
            snapshotIndex = appliedIndex;
        }
    }

    private StatusReply status() {
        PaxosReplica core = driver.replica();
        boolean ready = false;
        try {
            ready = core.canServeLeaseRead(trueTime.now()) && appliedIndex >= readFence;
        } catch (ClockUnavailableException ignored) {
            // not ready
        }
        return StatusReply.newBuilder().setReplicaId(options.id()).setLeader(core.isLeader())
                .setLeaderHint(Math.max(0, core.leaderHint())).setBallotRound(core.promised().round())
                .setBallotReplica(core.promised().replicaId()).setConfigId(core.configId())
                .addAllMembers(core.members()).setDecidedIndex(core.decidedIndex()).setLogEnd(core.logEnd())
                .setAppliedIndex(appliedIndex).setLeaseReadReady(ready)
                .setLeaseEndEpochNanos(core.leaseEndEpochNanos()).setIncarnation(incarnation).build();
    }

    private static AppendReply.Builder notAppended(String why) {
        return AppendReply.newBuilder().setOutcome(Outcome.NOT_APPENDED).setDetail(why);
    }

    private void reply(AppendReplyTo r, AppendReply.Builder reply) {
        try {
            if (reply.getOutcome() == Outcome.NOT_APPENDED && reply.getLeaderHint() == 0 && driver != null) {
                reply.setLeaderHint(Math.max(0, driver.replica().leaderHint()));
            }
            r.send(reply);
        } catch (RuntimeException e) {
            // the client went away (cancelled, deadline); nothing to do
        }
    }

    /** The transport to peers (tests look at what the lossy network did). */
    GrpcTransport transport() {
        return transport;
    }

    // ------------------------------------------------------------------ inbound

    private void offerPeerMessage(Message m) {
        if (!inbox.offer(m)) {
            limiter.warn("inbox", "replica " + options.id() + ": inbox full (" + MAX_INBOX + "); message dropped");
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
                    if (!transport.isBlocked(m.from())) {
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

    private final class FaultAdminService extends FaultAdminGrpc.FaultAdminImplBase {
        @Override
        public void setPartition(PartitionRequest request, StreamObserver<FaultReply> reply) {
            transport.setBlocked(java.util.Set.copyOf(request.getBlockedList()),
                    java.util.Set.copyOf(request.getBlockedOutboundList()));
            String d = "blocked " + request.getBlockedList() + ", sending to none of " + request.getBlockedOutboundList();
            LOG.info("replica {}: partition: {}", options.id(), d);
            reply.onNext(FaultReply.newBuilder().setDetail(d).build());
            reply.onCompleted();
        }

        @Override
        public void setNetworkFault(NetworkFaultRequest request, StreamObserver<FaultReply> reply) {
            GrpcTransport.NetworkFault f;
            try {
                f = new GrpcTransport.NetworkFault(request.getLossRate(), request.getDuplicateRate(),
                        TimeUnit.MILLISECONDS.toNanos(request.getMaxDelayMillis()), request.getSeed());
            } catch (IllegalArgumentException e) {
                reply.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
                return;
            }
            transport.setNetworkFault(f);
            String d = f.none() ? "network healed" : "loss " + f.lossRate() + ", duplicates " + f.duplicateRate()
                    + ", delay up to " + request.getMaxDelayMillis() + " ms";
            LOG.info("replica {}: network fault: {}", options.id(), d);
            reply.onNext(FaultReply.newBuilder().setDetail(d).build());
            reply.onCompleted();
        }

        @Override
        public void setClockFault(ClockFaultRequest request, StreamObserver<FaultReply> reply) {
            String d = ((FaultableTrueTime) trueTime).inject(request.getStepNanos(), request.getDriftPpm(),
                    request.getUnavailableMillis(), request.getClear());
            LOG.info("replica {}: clock fault: {}", options.id(), d);
            reply.onNext(FaultReply.newBuilder().setDetail(d).build());
            reply.onCompleted();
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
            return command.length + TAG_BYTES > options.paxos().limits().maxValueBytes()
                    ? "command of " + command.length + " bytes exceeds the limit of "
                    + (options.paxos().limits().maxValueBytes() - TAG_BYTES)
                    : machine.validate(command);
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
        if (transport != null) {
            transport.close();
        }
        if (driver != null) {
            driver.close();
        }
    }
}
