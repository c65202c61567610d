package io.gnomon.paxos.server;

import com.google.protobuf.ByteString;
import io.gnomon.paxos.DurableState;
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
import io.gnomon.paxos.server.ProcessTransport.Envelope;
import io.gnomon.paxos.server.ProcessTransport.GroupMessage;
import io.gnomon.paxos.server.ProcessTransport.TxnEnvelope;
import io.gnomon.paxos.storage.ChronicleDurableLog;
import io.gnomon.paxos.storage.LogLimits;
import io.gnomon.paxos.storage.SyncPolicy;
import io.gnomon.paxos.wal.ProcessLog;
import io.gnomon.paxos.wal.ProcessLogOptions;
import io.gnomon.truetime.ClockUnavailableException;
import io.gnomon.truetime.TrueTime;
import io.gnomon.txn.TxnMessage;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
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
 * over the process's one {@link ProcessLog}, or the group's own Chronicle log ({@link LogKind}), the {@link
 * StateMachine}, batching, client outcomes, the read fence, compaction); peer processes reached through one {@link
 * GrpcTransport} stream each, shared by every group (each
 * frame names its group); clients served through the {@code Replica} gRPC service (each request names its group,
 * absent = 1), on the peer port or, given {@link Options#clientAddress}, on a client port of its own; and a fixed
 * pool of loop threads ({@link ReplicaLimits#loopThreads}, one per two cores by default), each
 * owning a shard of the groups (in group id order, dealt round-robin) with its own inbox and its own {@link
 * GroupLoop} (the same turn the simulator's processes run): a group's every call is made by its loop's thread, so
 * each group stays single-threaded, and each loop syncs once per turn for its groups that wrote (docs/paxos.md,
 * "Replica processes" and "Many groups per process"). Replica id == process id in every group. The host's behaviour (what
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
 * <p>Transaction messages between groups (two-phase commit, docs/transactions.md) travel on the same peer streams as
 * the Paxos frames ({@link TxnEnvelope}, coalesced per loop turn): each hosted group sends through a {@link TxnSender}
 * and receives, on its loop's thread, through the {@link TxnHandler} that {@link #withTxnHandlers} made for it. A
 * group with no handler drops what it is sent with a rate-limited warning naming the group.
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
    /** Where the process log lives below the data dir ({@link LogKind#PROCESS}). */
    static final String PROCESS_LOG_DIR = "wal";
    /**
     * The process log's truncation: once it holds more segments than this, every group still needing an older
     * segment than the current one is checkpointed from its core and the old segments go (docs/process-log.md).
     */
    static final int KEEP_SEGMENTS = 2;

    /** Which durable log the groups of a process write to. */
    public enum LogKind {
        /**
         * One {@link ProcessLog} for every group, in {@code dataDir/wal/}: one sync per loop turn whatever the
         * number of groups; each group truncated by checkpoints of its own. The default.
         */
        PROCESS,
        /**
         * A Chronicle Queue log per group ({@link ChronicleDurableLog} under {@link DurableStateStore}): group 1's in
         * {@code dataDir}, every other group's in {@code dataDir/group-<id>/}; one sync per group that wrote. What
         * data dirs written before the process log hold.
         */
        CHRONICLE
    }

    /** Where the groups' state machines keep their state. */
    public enum StoreKind {
        /**
         * One {@link StoredMachines} (RocksDB) per process in {@code dataDir/store}, a machine per group (its key
         * prefix): a restart replays each group's log only from what its machine flushed, and the state may be
         * larger than the heap (docs/versioned-store.md). What {@code bin/replica} runs by default.
         */
        ROCKS,
        /** In-memory machines: a restart rebuilds each from its group's log (snapshot and tail). */
        MEMORY
    }

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
     *                            {@code dataDir/group-<id>/} (with {@link LogKind#CHRONICLE})
     * @param log                 the durable log: one process log in {@code dataDir/wal/} (the other constructors'
     *                            default) or a Chronicle log per group; a data dir written with one is refused by
     *                            the other
     * @param clientAddress       where clients reach this process (a cluster file's {@code client} address): the
     *                            {@code Replica}, health, reflection and {@code FaultAdmin} services there, only
     *                            {@code Peer} (and health) on {@code members.get(id)}; null (the other
     *                            constructors): every service on the one address in {@code members}, as before
     * @param store               where the machines keep their state: {@link StoreKind#MEMORY} (the other
     *                            constructors' default) or {@link StoreKind#ROCKS} in {@code dataDir/store}, which
     *                            needs the machine-kind constructor of the server
     */
    public record Options(int id, Map<Integer, InetSocketAddress> members, Path dataDir, SyncPolicy syncPolicy,
                          PaxosConfig paxos, LogLimits logLimits, long compactEveryEntries, long tickNanos,
                          boolean faultAdmin, Consumer<PaxosReplica> coreHook, boolean leaseChecksOnReads,
                          ReplicaLimits limits, Map<Long, List<Integer>> groups, LogKind log,
                          InetSocketAddress clientAddress, StoreKind store) {
        /** With in-memory machines. */
        public Options(int id, Map<Integer, InetSocketAddress> members, Path dataDir, SyncPolicy syncPolicy,
                       PaxosConfig paxos, LogLimits logLimits, long compactEveryEntries, long tickNanos,
                       boolean faultAdmin, Consumer<PaxosReplica> coreHook, boolean leaseChecksOnReads,
                       ReplicaLimits limits, Map<Long, List<Integer>> groups, LogKind log,
                       InetSocketAddress clientAddress) {
            this(id, members, dataDir, syncPolicy, paxos, logLimits, compactEveryEntries, tickNanos, faultAdmin,
                    coreHook, leaseChecksOnReads, limits, groups, log, clientAddress, StoreKind.MEMORY);
        }

        /** With the process log, every service on the peer address (no separate client port). */
        public Options(int id, Map<Integer, InetSocketAddress> members, Path dataDir, SyncPolicy syncPolicy,
                       PaxosConfig paxos, LogLimits logLimits, long compactEveryEntries, long tickNanos,
                       boolean faultAdmin, Consumer<PaxosReplica> coreHook, boolean leaseChecksOnReads,
                       ReplicaLimits limits, Map<Long, List<Integer>> groups) {
            this(id, members, dataDir, syncPolicy, paxos, logLimits, compactEveryEntries, tickNanos, faultAdmin,
                    coreHook, leaseChecksOnReads, limits, groups, LogKind.PROCESS, null);
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
            Objects.requireNonNull(log, "log");
            Objects.requireNonNull(store, "store");
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

        /** The same options with {@code kind} of log. */
        public Options withLog(LogKind kind) {
            return new Options(id, members, dataDir, syncPolicy, paxos, logLimits, compactEveryEntries, tickNanos,
                    faultAdmin, coreHook, leaseChecksOnReads, limits, groups, kind, clientAddress, store);
        }

        /** The same options with the machines' state kept in {@code kind}. */
        public Options withStore(StoreKind kind) {
            return new Options(id, members, dataDir, syncPolicy, paxos, logLimits, compactEveryEntries, tickNanos,
                    faultAdmin, coreHook, leaseChecksOnReads, limits, groups, log, clientAddress, kind);
        }
    }

    private final Options options;
    private final TrueTime trueTime;
    /** {@link StoreKind#MEMORY}: a new machine per group. */
    private final Supplier<StateMachine> machine;
    /** {@link StoreKind#ROCKS}: the {@code --machine} kind of every group's machine ({@link StoredMachines#machine}). */
    private final String machineKind;
    /** {@link StoreKind#ROCKS}: the process's machines, open from {@link #start} until {@link #close}. */
    private StoredMachines machines;
    private final MessageCodec codec;
    private final LogLimiter limiter = new LogLimiter(LOG);
    private final ReplicaHealth health;

    private GrpcTransport transport;
    /** Only with {@code faultAdmin}: the harness's partitions and lossy links, wrapped around {@link #transport}. */
    private FaultyTransport faults;
    /** The hosted groups, by id; filled by {@link #start} and unchanged after, so transport threads may read it. */
    private final Map<Long, GroupHost<AppendClient>> hosts = new TreeMap<>();
    /** {@link LogKind#CHRONICLE}: each group's log. */
    private final Map<Long, DurableStateStore> stores = new TreeMap<>();
    /** {@link LogKind#PROCESS}: every group's log. */
    private ProcessLog wal;
    /** The loop threads. */
    private final Loop[] loops;
    /**
     * Which loop drives each group (the groups in id order, dealt round-robin, so no loop is left without one);
     * filled by {@link #start} and unchanged after, so transport threads may read it.
     */
    private final Map<Long, Loop> owners = new HashMap<>();
    private Server server;
    /** The client port's server, or {@link #server} itself without {@link Options#clientAddress}. */
    private Server clientServer;
    private volatile boolean running;
    private boolean closed;

    /**
     * What a hosted group does with the transaction messages other groups send it (its transaction host). Called on
     * the group's loop thread only, so it may call the group's host and its {@link TxnSender} directly. It must not
     * block; one that throws stops the loop, as a host's bug does (messages are the protocol's, already decoded and
     * checked: a bad one from a peer never reaches it).
     */
    @FunctionalInterface
    public interface TxnHandler extends GroupLoop.TurnHook {
        void onTxnMessage(int fromProcess, long fromGroup, TxnMessage message);

        /**
         * As a {@link GroupLoop.TurnHook} of its group (a transaction host settles here): called before the group ends
         * every turn that touched it. Nothing by default.
         */
        @Override
        default void beforeEnd() {
        }

        /** Its own next timer, which counts as the group's; none by default. */
        @Override
        default long nextTickNanos() {
            return Long.MAX_VALUE;
        }
    }

    /**
     * How a hosted group sends a transaction message to group {@code toGroup} on process {@code toProcess} (whose
     * replica of that group should lead it; the choice is the caller's). Call it on the group's loop thread only (from
     * its handler or its host's step): what it sends leaves at the end of the loop's turn, in the same frame as the
     * turn's Paxos messages to that process. Fire and forget.
     */
    @FunctionalInterface
    public interface TxnSender {
        void send(int toProcess, long toGroup, TxnMessage message);
    }

    /**
     * Makes each hosted group's {@link TxnHandler}, given the group's host (whose appends' clients are {@link
     * AppendClient}s) and {@link TxnSender}; null: the group has none. Called on the starting thread, before any loop
     * runs; the handler is then the group's turn hook too.
     */
    @FunctionalInterface
    public interface TxnHandlers {
        TxnHandler forGroup(long groupId, GroupHost<AppendClient> host, TxnSender sender);
    }

    /**
     * Who hears what became of an append to a hosted group: a client's {@code Append} call or stream, or whoever else
     * appends on the group's loop (a transaction host's record). Called on the group's loop thread.
     */
    @FunctionalInterface
    public interface AppendClient {
        void outcome(GroupHost.AppendOutcome outcome);
    }

    /** From {@link #withTls}; null: plaintext ports and peer channels. */
    private io.grpc.ServerCredentials serverCredentials;
    private io.grpc.ChannelCredentials peerCredentials;
    /** Until {@link #withTxnHandlers}: no group has a handler. */
    private TxnHandlers txnHandlers = (group, host, sender) -> null;
    /** Closed first when the server closes ({@link #closeWith}). */
    private final List<AutoCloseable> closeFirst = new ArrayList<>();
    /** Services served on the client port beside the log's ({@link #withClientService}). */
    private final List<io.grpc.BindableService> extraClientServices = new ArrayList<>();
    /** Each hosted group's handler, if it has one; filled by {@link #start} and unchanged after (loop threads read it). */
    private final Map<Long, TxnHandler> groupTxnHandlers = new HashMap<>();

    private record ClientAppend(long group, byte[] command, AppendReplyTo reply) {
    }

    /** Where one append's outcome goes: a unary {@code Append} call, or one reply on a client's {@code AppendStream}. */
    private interface AppendReplyTo extends AppendClient {
        /** Sends the outcome; a client that went away (cancelled, deadline, stream closed) is ignored. */
        void send(AppendReply.Builder reply);

        @Override
        default void outcome(GroupHost.AppendOutcome o) {
            AppendReply.Builder reply = AppendReply.newBuilder().setLeaderHint(o.leaderHint());
            switch (o.outcome()) {
                case APPLIED -> reply.setOutcome(Outcome.APPLIED).setSlot(o.slot())
                        .setResult(ByteString.copyFrom(o.result()));
                case NOT_APPENDED -> reply.setOutcome(Outcome.NOT_APPENDED).setDetail(o.detail());
                case UNKNOWN -> reply.setOutcome(Outcome.UNKNOWN).setDetail(o.detail());
            }
            try {
                send(reply);
            } catch (RuntimeException e) {
                // the client went away (cancelled, deadline); nothing to do
            }
        }
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
    /**
     * The replies of one client's {@code AppendStream}, and its flow control: the server reads the stream's next
     * request only on credit, {@code maxAppendsPerStream} at first and one more for each reply sent, given back in
     * sixteenths of the limit (one gRPC request call per sixteenth of the replies, not one per reply) and only while
     * the client takes replies ({@code isReady}); credit earned while it does not waits for its {@code onReady}.
     * So a stream never has more appends unanswered than the limit, nor replies piling up for a client that stopped
     * reading: HTTP/2 flow control holds the client back instead.
     */
    private static final class ReplyStream {
        private final StreamObserver<AppendReply> replies;
        /** Null when the observer is not a server call's (a test's); then gRPC's automatic flow control applies. */
        private final ServerCallStreamObserver<AppendReply> call;
        private boolean closed;
        /** Requests the client may send that were not requested from gRPC yet. */
        private int owed;
        /** How much credit is given back at once. */
        private final int grantEvery;

        ReplyStream(StreamObserver<AppendReply> replies, int maxUnanswered) {
            this.replies = replies;
            this.grantEvery = Math.max(1, maxUnanswered / 16);
            this.call = replies instanceof ServerCallStreamObserver<AppendReply> c ? c : null;
            if (call != null) {
                call.disableAutoRequest();
                call.setOnReadyHandler(this::grant);
                call.request(maxUnanswered);
            }
        }

        synchronized void send(AppendReply reply) {
            if (closed) {
                return;
            }
            try {
                replies.onNext(reply);
            } catch (RuntimeException e) {
                closed = true; // the client cancelled the stream or went away; nothing to do
                return;
            }
            if (++owed >= grantEvery) {
                grant();
            }
        }

        /** Lets the client send as many more requests as replies went out, if it takes replies now. */
        private synchronized void grant() {
            if (call != null && !closed && owed > 0 && call.isReady()) {
                call.request(owed);
                owed = 0;
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

    /**
     * A server whose groups each get a new machine from {@code machine}: in-memory machines, so {@code options}
     * must say {@link StoreKind#MEMORY}.
     */
    public ReplicaServer(Options options, TrueTime trueTime, Supplier<StateMachine> machine) {
        this(options, trueTime, Objects.requireNonNull(machine, "machine"), null);
        if (options.store() != StoreKind.MEMORY) {
            throw new IllegalArgumentException("store " + options.store() + ": machines from a Supplier are in memory;"
                    + " give the machine kind instead (ReplicaServer(Options, TrueTime, String))");
        }
    }

    /**
     * A server whose groups each run a machine of {@code machineKind} ({@code list-append}, {@code counter} or
     * {@code kv}, as {@code --machine} names them), in memory or on the process's store as {@code options} say.
     */
    public ReplicaServer(Options options, TrueTime trueTime, String machineKind) {
        this(options, trueTime, options.store() == StoreKind.MEMORY ? memoryMachines(machineKind) : null,
                machineKind);
    }

    private ReplicaServer(Options options, TrueTime trueTime, Supplier<StateMachine> machine, String machineKind) {
        this.options = options;
        this.loops = new Loop[options.limits().loopThreadsFor(options.groups().size())];
        for (int i = 0; i < loops.length; i++) {
            loops[i] = new Loop(i);
        }
        this.trueTime = options.faultAdmin() ? new FaultableTrueTime(trueTime) : trueTime;
        this.machine = machine;
        this.machineKind = machineKind;
        if (machine == null) {
            StoredMachines.checkKind(machineKind);
        }
        this.codec = new MessageCodec(options.paxos().limits());
        this.health = new ReplicaHealth(options.id(), options.faultAdmin(), LOG, loops.length);
    }

    /** The in-memory machines of {@code kind}, as {@code --machine} names them. */
    static Supplier<StateMachine> memoryMachines(String kind) {
        StoredMachines.checkKind(kind);
        return switch (kind) {
            case "list-append" -> ListAppendMachine::new;
            case "counter" -> CounterMachine::new;
            case "txn" -> throw new IllegalArgumentException("machine kind txn keeps its versions on the process's"
                    + " store: run it with the rocks store (--store rocks), not in memory");
            default -> KeyValueMachine::new;
        };
    }

    /**
     * Serves {@code service} on the client port beside the log's (a transactional service over the groups, which
     * reaches them through {@link #submit}). Call it before {@link #start}.
     */
    public ReplicaServer withClientService(io.grpc.BindableService service) {
        if (transport != null) {
            throw new IllegalStateException("withClientService: replica " + options.id() + " has already started");
        }
        extraClientServices.add(Objects.requireNonNull(service, "service"));
        return this;
    }

    /** Closes {@code c} first when this server closes (a companion's background work that uses the groups). */
    public synchronized ReplicaServer closeWith(AutoCloseable c) {
        closeFirst.add(Objects.requireNonNull(c, "c"));
        return this;
    }

    /**
     * Runs {@code task} on hosted group {@code groupId}'s loop thread, inside a turn that touches the group (so its
     * handler's {@link TxnHandler#beforeEnd} runs after it, and what it appends is proposed and synced with the
     * turn). False, and {@code task} never runs, when the group is not hosted, the server is not running, or the
     * loop's inbox is full (the caller answers the client: retry later). Never blocks.
     */
    public boolean submit(long groupId, Runnable task) {
        Loop loop = owners.get(groupId);
        return running && loop != null && loop.offer(new GroupTask(groupId, Objects.requireNonNull(task, "task")));
    }

    private record GroupTask(long group, Runnable task) {
    }

    /**
     * Gives every hosted group a transaction handler made by {@code handlers} when the server starts (before any
     * message can arrive). Call it before {@link #start}.
     */
    public ReplicaServer withTxnHandlers(TxnHandlers handlers) {
        if (transport != null) {
            throw new IllegalStateException("withTxnHandlers: replica " + options.id() + " has already started");
        }
        this.txnHandlers = Objects.requireNonNull(handlers, "handlers");
        return this;
    }

    /**
     * Serves every port over TLS ({@code tls}: mutual TLS if it requires client certificates) and dials peers with
     * its certificate; the members' addresses must match their certificates. Call it before {@link #start}.
     */
    public ReplicaServer withTls(TlsConfig tls) throws TlsConfig.TlsConfigException {
        if (transport != null) {
            throw new IllegalStateException("withTls: replica " + options.id() + " has already started");
        }
        this.serverCredentials = tls.serverCredentials();
        this.peerCredentials = tls.channelCredentials();
        return this;
    }

    /** Recovers from the log, binds the port, starts the loop; returns once clients and peers can connect. */
    public ReplicaServer start() throws IOException {
        int me = options.id();
        Map<Integer, String> targets = new HashMap<>();
        options.members().forEach((id, a) -> targets.put(id, a.getHostString() + ":" + a.getPort()));
        transport = new GrpcTransport(me, targets, codec, this::offerPeerMessage, options.limits(), peerCredentials);
        ProcessTransport outbound = transport;
        if (options.faultAdmin()) {
            // The harness may hold back as much as every peer's queue holds.
            faults = new FaultyTransport(me, transport, codec,
                    options.limits().maxQueuedBytesPerPeer() * Math.max(1, targets.size() - 1));
            outbound = faults;
        }
        for (Loop l : loops) {
            l.outbox = new TurnOutbox(me, outbound);
        }
        SecureRandom random = new SecureRandom();
        try {
            GroupHost.Options hostOptions = new GroupHost.Options(options.limits().maxBatchWaitNanos(),
                    options.compactEveryEntries(), options.leaseChecksOnReads());
            if (options.store() == StoreKind.ROCKS) {
                // Opened before the log: a locked or damaged store stops the start before anything is recovered.
                machines = StoredMachines.open(options.dataDir());
                // a stored machine's snapshot chunk holds at least one whole entry of the store's largest size
                hostOptions = new GroupHost.Options(hostOptions.maxBatchWaitNanos(), hostOptions.compactEveryEntries(),
                        hostOptions.leaseChecksOnReads(), Math.max(hostOptions.snapshotChunkBytes(),
                        machines.minSnapshotChunkBytes()));
            }
            if (options.log() == LogKind.PROCESS) {
                startOnProcessLog(hostOptions, random);
            } else {
                startOnChronicle(hostOptions, random);
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
        extraClientServices.forEach(clients::addService);
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
        for (Loop l : loops) {
            l.start();
        }
        LOG.info("replica {} serving on {}:{}{} (processes {}, groups {}, {} loop threads, {} log, {} machines, sync {},"
                        + " lease {} ms, data {})", me, bind.getHostString(), server.getPort(), clientServer == server
                        ? "" : ", clients on " + options.clientAddress().getHostString() + ":" + clientServer.getPort(),
                options.members(), options.groups(), loops.length,
                options.log().name().toLowerCase(java.util.Locale.ROOT),
                options.store().name().toLowerCase(java.util.Locale.ROOT), options.syncPolicy(),
                TimeUnit.NANOSECONDS.toMillis(options.paxos().leaseDurationNanos()), options.dataDir());
        return this;
    }

    /**
     * Every group on one {@link ProcessLog} in {@code dataDir/wal/}: recovered from it in one pass, one sync of it
     * per turn. Refuses a data dir that holds Chronicle logs.
     */
    private void startOnProcessLog(GroupHost.Options hostOptions, SecureRandom random)
            throws IOException {
        Path dataDir = options.dataDir();
        List<Path> chronicle = chronicleLogsIn(dataDir);
        if (!chronicle.isEmpty()) {
            throw new IOException("data dir " + dataDir + " holds Chronicle logs (" + chronicle + ", written with"
                    + " --log chronicle); start this process with --log chronicle, or move them aside to start"
                    + " afresh on the process log (this does not convert them)");
        }
        wal = ProcessLog.open(dataDir.resolve(PROCESS_LOG_DIR),
                ProcessLogOptions.DEFAULTS.withSyncPolicy(options.syncPolicy()));
        Map<Long, DurableState.Recovered> recovered = wal.recover(g -> new DurableState(
                options.groups().getOrDefault(g, List.of())));
        List<Long> unhosted = new ArrayList<>(new TreeMap<>(recovered).keySet());
        unhosted.removeAll(options.groups().keySet());
        if (!unhosted.isEmpty()) {
            LOG.warn("replica {}: the process log {} holds groups {} that this process no longer hosts: their frames"
                            + " are kept (they keep old segments on disk) until a start that hosts them again",
                    options.id(), dataDir.resolve(PROCESS_LOG_DIR), unhosted);
        }
        for (Map.Entry<Long, List<Integer>> g : options.groups().entrySet()) {
            long groupId = g.getKey();
            PaxosConfig config = groupConfig(options.paxos(), groupId, g.getValue());
            DurableState.Recovered state = recovered.remove(groupId); // held once: by the core from here on
            if (state == null) {
                state = new DurableState(g.getValue()).toRecovered();
            }
            PaxosReplica core = PaxosReplica.recover(config, state, System.nanoTime(), trueTime.now());
            Loop owner = nextOwner();
            addGroup(groupId, owner, GroupHost.of(core, config, wal.group(groupId), owner.outbox.forGroup(groupId), trueTime,
                    System::nanoTime, newMachine(groupId), random.nextLong(), hostOptions, new HostListener(groupId)));
        }
    }

    /** A Chronicle log per group. Refuses a data dir that holds a process log. */
    private void startOnChronicle(GroupHost.Options hostOptions, SecureRandom random)
            throws IOException {
        Path walDir = options.dataDir().resolve(PROCESS_LOG_DIR);
        if (Files.isDirectory(walDir)) {
            throw new IOException("data dir " + options.dataDir() + " holds a process log (" + walDir + ", written"
                    + " with --log process); start this process with --log process, or move it aside");
        }
        for (Map.Entry<Long, List<Integer>> g : options.groups().entrySet()) {
            long groupId = g.getKey();
            ChronicleDurableLog log = ChronicleDurableLog.open(groupDir(options.dataDir(), groupId),
                    options.syncPolicy(), options.logLimits());
            DurableStateStore store = new DurableStateStore(log, options.logLimits(), options.paxos().limits(),
                    g.getValue(), false);
            stores.put(groupId, store);
            Loop owner = nextOwner();
            addGroup(groupId, owner, GroupHost.start(groupConfig(options.paxos(), groupId, g.getValue()), store,
                    owner.outbox.forGroup(groupId), trueTime, System::nanoTime, newMachine(groupId), random.nextLong(),
                    hostOptions, new HostListener(groupId)));
        }
    }

    /**
     * Group {@code groupId}'s machine: a new in-memory one, or the group's on the process's store, which must hold
     * a state of the group (its own kind, no install cut short by a crash).
     */
    private StateMachine newMachine(long groupId) throws IOException {
        if (machines == null) {
            return machine.get();
        }
        StateMachine m;
        try {
            m = machines.machine(machineKind, groupId);
        } catch (IllegalStateException e) {
            throw new IOException("group " + groupId + " in " + machines.store().directory() + ": " + e.getMessage()
                    + " (this process runs --machine " + machineKind + ")", e);
        }
        // A machine whose snapshot install a crash cut short (IncompleteInstallException) starts too: its host
        // applies nothing and fetches the state from a peer, as for any machine behind the compacted log.
        return m;
    }

    /** The loop the next group goes to: groups in id order, dealt round-robin, so no loop is left without one. */
    private Loop nextOwner() {
        return loops[owners.size() % loops.length];
    }

    private void addGroup(long groupId, Loop owner, GroupHost<AppendClient> host) {
        hosts.put(groupId, host);
        options.coreHook().accept(host.replica());
        owners.put(groupId, owner);
        owner.groups.add(groupId, host);
        TxnSender sender = (toProcess, toGroup, message) ->
                owner.outbox.send(toProcess, new TxnEnvelope(options.id(), groupId, toGroup, message));
        TxnHandler handler = txnHandlers.forGroup(groupId, host, sender);
        if (handler != null) {
            groupTxnHandlers.put(groupId, handler);
            owner.groups.hook(groupId, handler);
        }
    }

    /** The Chronicle logs (their writer locks) in {@code dataDir} and its {@code group-N} directories. */
    private static List<Path> chronicleLogsIn(Path dataDir) throws IOException {
        List<Path> found = new ArrayList<>();
        if (!Files.isDirectory(dataDir)) {
            return found;
        }
        try (var list = Files.list(dataDir)) {
            for (Path p : (Iterable<Path>) list::iterator) {
                String name = p.getFileName().toString();
                if (name.equals(ChronicleDurableLog.LOCK_FILE) || name.endsWith(".cq4")
                        || (name.startsWith("group-") && Files.isDirectory(p)
                        && Files.exists(p.resolve(ChronicleDurableLog.LOCK_FILE)))) {
                    found.add(p);
                }
            }
        }
        found.sort(null);
        return found;
    }

    /** A server on {@code address} with health and reflection, whose handlers run on the transport threads. */
    private NettyServerBuilder serverOn(InetSocketAddress address) {
        // Handlers only decode and hand over to the loop (never block), so they run on the transport threads:
        // no executor hop per call.
        return (serverCredentials == null ? NettyServerBuilder.forAddress(address)
                : NettyServerBuilder.forAddress(address, serverCredentials)).directExecutor()
                .maxInboundMessageSize(options.limits().maxMessageBytes())
                .addService(health.service())
                .addService(ProtoReflectionServiceV1.newInstance());
    }

    /** Where group {@code groupId}'s log lives: group 1 in {@code dataDir} itself (the one-group layout), others below. */
    static Path groupDir(Path dataDir, long groupId) {
        return groupId == GROUP ? dataDir : dataDir.resolve("group-" + groupId);
    }

    /**
     * The process's Paxos settings for one group: its members, a seed of its own, and a preferred leader that spreads
     * leadership over the members ({@link PaxosConfig#spreadPreferredLeader}), so that a process leads its share of the groups, not all of them (PaxosConfig's {@code preferredLeader} says why they
     * piled up: with all leaders in one process, its event loop did every leader's work while the others' idled).
     */
    static PaxosConfig groupConfig(PaxosConfig p, long groupId, List<Integer> members) {
        int preferred = PaxosConfig.spreadPreferredLeader(groupId, members);
        return new PaxosConfig(p.replicaId(), members, p.electionTimeoutNanos(), p.heartbeatIntervalNanos(),
                p.retransmitIntervalNanos(), p.leaseDurationNanos(), p.limits(),
                groupId == GROUP ? p.randomSeed() : p.randomSeed() ^ (groupId * 0x9E3779B97F4A7C15L), preferred);
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

    /**
     * The TrueTime this server's groups run on: under {@link Options#faultAdmin} the {@link FaultableTrueTime} over
     * the one it was given, whose clock faults the harness sets. A transaction node takes its timestamps from it, so
     * that those faults reach commit timestamps as they reach leases.
     */
    public TrueTime trueTime() {
        return trueTime;
    }

    /** The peer port (and the client port too without {@link Options#clientAddress}). */
    public int port() {
        return server.getPort();
    }

    /** The port clients connect to: {@link #port()} unless {@link Options#clientAddress} is given. */
    public int clientPort() {
        return clientServer.getPort();
    }

    // ------------------------------------------------------------------ the loop threads

    /** The loop that drives {@code group}, a hosted group. */
    private Loop loopOf(long group) {
        return owners.get(group);
    }

    /** The number of loop threads (tests look at it). */
    int loopThreads() {
        return loops.length;
    }

    /** The name of the thread that drives hosted group {@code group} (tests look at it). */
    String loopThreadName(long group) {
        return loopThreadName(loopOf(group).index);
    }

    private String loopThreadName(int loopIndex) {
        return "replica-" + options.id() + "-loop-" + loopIndex;
    }

    /**
     * One loop thread: its inbox, and its {@link GroupLoop} over its shard of the groups, with one sync per turn for
     * the groups that wrote in it (one sync of the process log, which also covers what other loops wrote, or with
     * {@code --log chronicle} one sync of each group's log that wrote), then a checkpoint of its groups that pin old
     * process-log segments.
     */
    private final class Loop {
        final int index;
        final BlockingQueue<Object> inbox = new LinkedBlockingQueue<>(options.limits().maxInboxItems());
        /** What the loop's turns send: per peer process, one frame a turn for every group's messages. */
        TurnOutbox outbox;
        final GroupLoop<AppendClient> groups = new GroupLoop<>(written -> {
            outbox.flush(); // what left before the sync (a leader's Accepts) does not wait for it
            if (wal != null) {
                wal.sync(); // one sync of the process log covers every group that wrote (other loops' too)
            } else {
                written.forEach(g -> stores.get(g).sync());
            }
        });
        private Thread thread;
        /** {@link GroupLoop#ticks} as of the last turn, for other threads. */
        volatile long ticks;
        // Statistics, logged at DEBUG every 5 s (io.gnomon.paxos.server.ReplicaServer): how big batches are and
        // what a turn costs, the first things to look at when throughput disappoints.
        private long statTurns;
        private long statTurnNanos;
        private long statBatches;
        private long statEntries;
        private long statLastPrint = System.nanoTime();

        Loop(int index) {
            this.index = index;
        }

        void start() {
            thread = new Thread(this::run, loopThreadName(index));
            thread.start();
        }

        void stop() {
            if (thread == null) {
                return;
            }
            thread.interrupt();
            try {
                thread.join(TimeUnit.SECONDS.toMillis(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        boolean offer(Object input) {
            return inbox.offer(input);
        }

        /**
         * Turns until the server stops. Timers have the tick's granularity, as when every group was ticked every
         * tick: the loop wakes at the next tick only if some group's timer is due by then ({@link
         * GroupLoop#tickDue}), so a loop of idle followers sleeps until an input arrives.
         */
        private void run() {
            long nextTick = System.nanoTime();
            int maxDrain = options.limits().maxDrainPerTurn();
            List<Object> drained = new ArrayList<>(maxDrain);
            try {
                while (running) {
                    long wake = groups.groupIds().isEmpty() ? nextTick : later(nextTick, groups.nextTickNanos());
                    if (groups.batchWaiting()) {
                        wake = earlier(wake, groups.batchDeadlineNanos());
                    }
                    // a hook's own timer (a transaction host's commit-wait end) is kept to the nanosecond, not the tick
                    long hookAt = groups.nextHookNanos();
                    if (hookAt != Long.MAX_VALUE) {
                        wake = earlier(wake, hookAt);
                    }
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
                    long now = System.nanoTime();
                    groups.touchHooksDue(now);
                    if (now - nextTick >= 0) {
                        groups.tickDue(now);
                        health.onTick(index, clockUsable(), everyGroupKnowsALeader());
                        nextTick = now + options.tickNanos();
                    }
                    groups.endTurn();
                    outbox.flush();
                    if (wal != null) {
                        // between turns each core's state is what its frames say: a checkpoint may stand for them
                        wal.truncate(KEEP_SEGMENTS, groups.groupIds(), g -> groups.group(g).replica().durableState());
                    }
                    ticks = groups.ticks();
                    countTurn(System.nanoTime() - t0);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (RuntimeException | Error e) {
                // A failed durable write (the driver refuses further input) or a bug: this process must not go on
                // answering as if its memory matched its disk. Restarting recovers from the log.
                LOG.error("replica {}: event loop {} stopped; restart the process to recover from the log",
                        options.id(), index, e);
                running = false;
                health.stopped();
                for (long g : groups.groupIds()) {
                    groups.group(g).failAllWaiting("replica stopped: " + e);
                }
            }
        }

        private boolean everyGroupKnowsALeader() {
            for (long g : groups.groupIds()) {
                if (groups.group(g).replica().leaderHint() < 1) {
                    return false;
                }
            }
            return true;
        }

        private void handle(Object o) {
            // The group was checked against the hosted ones when the input arrived, and routed to its loop.
            if (o instanceof GroupMessage m) {
                groups.onMessage(m.groupId(), m.message());
            } else if (o instanceof TxnEnvelope t) {
                deliverTxn(t);
            } else if (o instanceof GroupTask t) {
                groups.with(t.group(), h -> t.task().run());
            } else if (o instanceof ClientAppend a) {
                groups.append(a.group(), a.command(), a.reply());
            } else if (o instanceof ClientRead r) {
                serveRead(r);
            } else if (o instanceof StatusQuery q) {
                q.reply().onNext(status(q.group()));
                q.reply().onCompleted();
            }
        }

        private void countTurn(long nanos) {
            statTurns++;
            statTurnNanos += nanos;
            if (LOG.isDebugEnabled() && System.nanoTime() - statLastPrint > 5_000_000_000L) {
                statLastPrint = System.nanoTime();
                long batches = 0;
                long entries = 0;
                for (long g : groups.groupIds()) {
                    batches += groups.group(g).batchesProposed();
                    entries += groups.group(g).entriesProposed();
                }
                LOG.debug("replica {} loop {}, last 5 s: {} turns, {} us each on average (sync included); {} batches "
                                + "proposed, {} entries, {} group ticks", options.id(), index, statTurns,
                        statTurnNanos / statTurns / 1000, batches - statBatches, entries - statEntries, groups.ticks());
                statTurns = statTurnNanos = 0;
                statBatches = batches;
                statEntries = entries;
            }
        }
    }

    /** Whether TrueTime answers now (for health: a loop whose groups are idle ticks none of them). */
    private boolean clockUsable() {
        try {
            trueTime.now();
            return true;
        } catch (ClockUnavailableException e) {
            return false;
        }
    }

    private static long earlier(long a, long b) {
        return a - b <= 0 ? a : b;
    }

    private static long later(long a, long b) {
        return a - b >= 0 ? a : b;
    }

    /** Where a host's outcomes and remarks go: client replies, the rate-limited warning log, the info log. */
    private final class HostListener implements GroupHost.Listener<AppendClient> {
        private final long group;

        HostListener(long group) {
            this.group = group;
        }

        @Override
        public void outcome(AppendClient client, GroupHost.AppendOutcome o) {
            client.outcome(o);
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
        GroupHost<AppendClient> host = hosts.get(group);
        PaxosReplica core = host.replica();
        return StatusReply.newBuilder().setReplicaId(options.id()).setLeader(core.isLeader())
                .setLeaderHint(Math.max(0, core.leaderHint())).setBallotRound(core.promised().round())
                .setBallotReplica(core.promised().replicaId()).setConfigId(core.configId())
                .addAllMembers(core.members()).setDecidedIndex(core.decidedIndex()).setLogEnd(core.logEnd())
                .setAppliedIndex(host.appliedIndex()).setLeaseReadReady(host.leaseReadReady())
                .setLeaseEndEpochNanos(core.leaseEndEpochNanos()).setIncarnation(host.incarnation())
                .setGroup(group).addAllHostedGroups(hosts.keySet()).build();
    }

    /** Frames and messages this process has sent to its peers (tests look at them). */
    long framesSent() {
        return transport.framesSent();
    }

    long messagesSent() {
        return transport.messagesSent();
    }

    /** Group ticks of every loop so far (tests look at them); read from another thread, so a rough figure. */
    long groupTicks() {
        long n = 0;
        for (Loop l : loops) {
            n += l.ticks;
        }
        return n;
    }

    /** The fault harness's network in front of the transport, or null without {@code faultAdmin} (tests look at it). */
    FaultyTransport faults() {
        return faults;
    }

    // ------------------------------------------------------------------ inbound

    /**
     * Hands a peer's message (or one this process sent itself) to its group's loop. A Paxos message's group was
     * checked when its frame was read; a transaction message's is checked here, as it may come by the loopback.
     */
    private void offerPeerMessage(int to, Envelope envelope) {
        long group;
        if (envelope instanceof TxnEnvelope t) {
            group = t.toGroup();
            if (!hosts.containsKey(group)) {
                limiter.warn("txn-group-" + group, "replica " + options.id() + ": dropped a transaction message ("
                        + describe(t) + ") for group " + group + ": this process hosts groups " + hosts.keySet());
                return;
            }
        } else {
            group = ((GroupMessage) envelope).groupId();
        }
        if (!loopOf(group).offer(envelope)) {
            limiter.warn("inbox", "replica " + options.id() + ": inbox full (maxInboxItems "
                    + options.limits().maxInboxItems() + "); message dropped");
        }
    }

    /** On the group's loop: to the group's transaction handler, or dropped (with a warning) if it has none yet. */
    private void deliverTxn(TxnEnvelope t) {
        TxnHandler handler = groupTxnHandlers.get(t.toGroup());
        if (handler == null) {
            limiter.warn("txn-no-handler-" + t.toGroup(), "group " + t.toGroup() + ": no transaction handler on replica "
                    + options.id() + " (its transaction host is not running); dropped " + describe(t));
            return;
        }
        // inside a turn that touches the group: its turn hook (the handler) acts before the group ends it
        loopOf(t.toGroup()).groups.with(t.toGroup(),
                h -> handler.onTxnMessage(t.fromProcess(), t.fromGroup(), t.message()));
    }

    private static String describe(TxnEnvelope t) {
        return t.message().getClass().getSimpleName() + " of " + t.message().txn() + " from group " + t.fromGroup()
                + " on replica " + t.fromProcess();
    }

    private final class PeerService extends PeerGrpc.PeerImplBase {
        @Override
        public StreamObserver<PeerFrame> stream(StreamObserver<PeerStreamEnd> end) {
            return new StreamObserver<>() {
                private int claimedFrom = -1;

                @Override
                public void onNext(PeerFrame frame) {
                    if (frame.getBatchCount() == 0) {
                        onMessage(frame);
                        return;
                    }
                    for (PeerFrame f : frame.getBatchList()) {
                        onMessage(f);
                    }
                }

                private void onMessage(PeerFrame frame) {
                    Envelope e;
                    try {
                        e = GrpcTransport.envelope(frame, codec);
                    } catch (GrpcTransport.MalformedFrameException ex) {
                        limiter.warn("frame", "replica " + options.id() + ": dropped a malformed frame on the stream"
                                + (claimedFrom < 0 ? "" : " from replica " + claimedFrom) + ": " + ex.getMessage());
                        return;
                    }
                    int from = e instanceof GroupMessage m ? m.message().from() : ((TxnEnvelope) e).fromProcess();
                    claimedFrom = from;
                    // A transaction message's group is checked as it is offered (it may also come by the loopback).
                    if (e instanceof GroupMessage m && !hosts.containsKey(m.groupId())) {
                        limiter.warn("frame-group-" + m.groupId(), "replica " + options.id() + ": dropped a frame for"
                                + " group " + m.groupId() + " from replica " + from + ": this process hosts groups "
                                + hosts.keySet());
                        return;
                    }
                    if (faults == null || faults.admits(from)) {
                        offerPeerMessage(options.id(), e);
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
            ReplyStream stream = new ReplyStream(replies, options.limits().maxAppendsPerStream());
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
            return running && loopOf(group).offer(new ClientAppend(group, command, reply));
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
            if (!running || !loopOf(group).offer(new ClientRead(group, request.getQuery().toByteArray(), reply))) {
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
            if (!running || !loopOf(group).offer(new StatusQuery(group, reply))) {
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
        for (AutoCloseable c : closeFirst) {
            try {
                c.close(); // before the loops and the store go: it may be using them
            } catch (Exception e) {
                LOG.warn("replica {}: closing {}: {}", options.id(), c, e.toString());
            }
        }
        if (clientServer != null && clientServer != server) {
            clientServer.shutdownNow();
        }
        if (server != null) {
            server.shutdownNow();
        }
        for (Loop l : loops) {
            l.stop();
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
        if (wal != null) {
            wal.close();
        }
        if (machines != null) {
            machines.close(); // after every host closed its machine: flushes the engine and releases its lock
        }
    }
}
