package io.gnomon.txn.server;

import com.google.protobuf.ByteString;
import io.gnomon.paxos.runtime.GroupHost;
import io.gnomon.paxos.server.ReplicaServer;
import io.gnomon.paxos.server.ReplicaServer.AppendClient;
import io.gnomon.paxos.server.ReplicaServer.TxnSender;
import io.gnomon.truetime.ClockUnavailableException;
import io.gnomon.truetime.TimeInterval;
import io.gnomon.truetime.TrueTime;
import io.gnomon.txn.CommitOutcome;
import io.gnomon.txn.TxnHost;
import io.gnomon.txn.TxnId;
import io.gnomon.txn.TxnLimits;
import io.gnomon.txn.TxnMessage;
import io.gnomon.txn.TxnQueryCodec;
import io.gnomon.txn.Write;
import io.gnomon.txn.grpc.AbortReply;
import io.gnomon.txn.grpc.AbortRequest;
import io.gnomon.txn.grpc.CommitReply;
import io.gnomon.txn.grpc.LockingReadRequest;
import io.gnomon.txn.grpc.NowReply;
import io.gnomon.txn.grpc.NowRequest;
import io.gnomon.txn.grpc.PointValue;
import io.gnomon.txn.grpc.Query;
import io.gnomon.txn.grpc.ReadReply;
import io.gnomon.txn.grpc.Refusal;
import io.gnomon.txn.grpc.Row;
import io.gnomon.txn.grpc.Rows;
import io.gnomon.txn.grpc.SnapshotReadRequest;
import io.gnomon.txn.grpc.TxnKvGrpc;
import io.gnomon.txn.grpc.TxnStatusReply;
import io.gnomon.txn.grpc.TxnStatusRequest;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The transactional side of one replica process (issue 20; docs/txn-service.md): a {@link TxnHost} for every hosted
 * group, driven by the group's loop as its turn hook ({@link ReplicaServer.TxnHandler}), and the {@code TxnKv} gRPC
 * service on the client port, which hands each request to its group's loop ({@link ReplicaServer#submit}) and
 * answers from there. The groups' machines must be the transaction machine ({@code --machine txn}).
 *
 * <p>Transaction messages go to the process that leads the target group as this process last saw it: its own
 * replica's leader hint for a group it hosts (published by the group's loop at the end of every turn that touched
 * the group), else the process a message from that group last came from, else every replica of the group (a
 * follower's core ignores them).
 *
 * <pre>{@code
 * TxnNode txn = new TxnNode(id, groupReplicas, trueTime, TxnLimits.DEFAULTS, TxnHost.Options.DEFAULTS);
 * ReplicaServer server = txn.attach(new ReplicaServer(options, trueTime, "txn")).start();
 * }</pre>
 */
public final class TxnNode implements ReplicaServer.TxnHandlers {
    private static final Logger LOG = LoggerFactory.getLogger(TxnNode.class);
    /** How long a snapshot read waits for safe time when its call has no deadline. */
    static final long DEFAULT_READ_WAIT_NANOS = TimeUnit.SECONDS.toNanos(30);
    /** A scan's row limit when the request gives none. */
    public static final int DEFAULT_SCAN_LIMIT = 10_000;

    /** A waiting client of a group's transaction host: a commit's or a read's gRPC reply. */
    interface Caller {
        default void committed(CommitOutcome outcome) {
            throw new IllegalStateException("a read's caller got a commit outcome: " + outcome);
        }

        default void read(TxnHost.ReadResult result) {
            throw new IllegalStateException("a commit's caller got a read result: " + result);
        }
    }

    private final int processId;
    private final Map<Long, List<Integer>> groupReplicas;
    private final TrueTime trueTime;
    private final TxnLimits limits;
    private final TxnHost.Options options;
    /** Group: the process believed to lead it (see the class comment). */
    private final ConcurrentHashMap<Long, Integer> leaderHints = new ConcurrentHashMap<>();
    /** Hosted groups' transaction hosts: each called only on its group's loop thread. */
    private final ConcurrentHashMap<Long, TxnHost<Caller>> hosts = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Long, Handler> handlers = new ConcurrentHashMap<>();
    private final TxnMetrics metrics;
    private ReplicaServer server;
    /** Versions are kept this long (issue 20: one hour by default); older reads are refused. */
    private long retentionNanos = TimeUnit.HOURS.toNanos(1);
    private long gcIntervalNanos = TimeUnit.MINUTES.toNanos(1);
    /** Collects old versions of every hosted group off the loops ({@link #collectGarbage}). */
    private java.util.concurrent.ScheduledExecutorService gc;
    /** Run on each host as it starts: nothing, or a negative control's switch. */
    private Consumer<TxnHost<?>> hostHook = host -> { };

    /**
     * @param processId     this process's replica id
     * @param groupReplicas every group of the cluster (not only the hosted ones) with its replicas' process ids
     */
    public TxnNode(int processId, Map<Long, List<Integer>> groupReplicas, TrueTime trueTime, TxnLimits limits,
                   TxnHost.Options options) {
        this.processId = processId;
        this.groupReplicas = Map.copyOf(groupReplicas);
        this.trueTime = Objects.requireNonNull(trueTime);
        this.limits = Objects.requireNonNull(limits);
        this.options = Objects.requireNonNull(options);
        this.metrics = new TxnMetrics(trueTime);
    }

    /** This process's transaction metrics (serve {@link TxnMetrics#scrape} to Prometheus). */
    public TxnMetrics metrics() {
        return metrics;
    }

    /**
     * Keeps versions for {@code retentionNanos} and collects older ones every {@code intervalNanos} (defaults: one
     * hour, every minute). Call before {@link #attach}.
     */
    public TxnNode withVersionRetention(long retentionNanos, long intervalNanos) {
        if (retentionNanos < 0 || intervalNanos <= 0) {
            throw new IllegalArgumentException("version retention must be >= 0 and the GC interval > 0, were "
                    + retentionNanos + " and " + intervalNanos + " ns");
        }
        this.retentionNanos = retentionNanos;
        this.gcIntervalNanos = intervalNanos;
        return this;
    }

    /**
     * Runs {@code hook} on each group's transaction host as it starts: a negative control's test-only switch
     * ({@code bin/replica --negative-control skip-commit-wait|skip-safe-time}, which resolves it; docs/reliability.md,
     * "The negative controls"), nothing otherwise. Call before {@link #attach}.
     */
    public TxnNode withHostHookForNegativeControl(Consumer<TxnHost<?>> hook) {
        this.hostHook = Objects.requireNonNull(hook);
        return this;
    }

    /**
     * Gives {@code server} (not started, running the {@code txn} machine) this node's handlers and service, and
     * collects old versions in the background while it runs (stopped when it closes).
     */
    public ReplicaServer attach(ReplicaServer server) {
        this.server = Objects.requireNonNull(server);
        gc = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "replica-" + processId + "-version-gc");
            t.setDaemon(true);
            return t;
        });
        gc.scheduleWithFixedDelay(this::collectGarbage, gcIntervalNanos, gcIntervalNanos, TimeUnit.NANOSECONDS);
        return server.withTxnHandlers(this).withClientService(new Service()).closeWith(() -> {
            gc.shutdownNow();
            gc.awaitTermination(10, TimeUnit.SECONDS);
        });
    }

    /**
     * One GC pass: per hosted group, its loop says how far versions may go ({@link TxnHost#gcWatermarkAllowed}: at
     * or below safe time, the retention and reads waiting), then this thread deletes below it (the store orders it
     * with the loop's applies and reads; a read that comes later below the watermark is refused by name).
     */
    void collectGarbage() {
        for (Map.Entry<Long, TxnHost<Caller>> e : hosts.entrySet()) {
            long group = e.getKey();
            java.util.concurrent.CompletableFuture<Long> allowed = new java.util.concurrent.CompletableFuture<>();
            if (!server.submit(group, () -> allowed.complete(e.getValue().gcWatermarkAllowed(retentionNanos)))) {
                continue;
            }
            try {
                long w = allowed.get(10, TimeUnit.SECONDS);
                io.gnomon.txn.TxnMachine m = ((TxnHost.Machine) e.getValue().group().machine()).txnMachine();
                if (w > 0 && w > m.gcWatermark()) {
                    long deleted = m.collectGarbage(w);
                    LOG.debug("replica {} group {}: GC watermark {}, {} versions deleted", processId, group, w,
                            deleted);
                }
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                return;
            } catch (Exception ex) {
                // a snapshot being installed, the server stopping: the next pass tries again
                LOG.debug("replica {} group {}: no GC this pass: {}", processId, group, ex.toString());
            }
        }
    }

    @Override
    public ReplicaServer.TxnHandler forGroup(long groupId, GroupHost<AppendClient> host, TxnSender sender) {
        if (!(host.machine() instanceof TxnHost.Machine machine)) {
            throw new IllegalStateException("group " + groupId + " runs " + host.machine().getClass().getSimpleName()
                    + ", not the transaction machine: start the replica with --machine txn");
        }
        Handler handler = new Handler(groupId, sender);
        handler.txn = TxnHost.start(groupId, host, p -> o -> handler.txn.proposalOutcome(p, o), machine, limits,
                options, trueTime, System::nanoTime, handler);
        hostHook.accept(handler.txn);
        hosts.put(groupId, handler.txn);
        handlers.put(groupId, handler);
        return handler;
    }

    /** Group {@code groupId}'s transaction host (tests look at it; call it on the group's loop only). */
    TxnHost<Caller> host(long groupId) {
        return hosts.get(groupId);
    }

    /** The process believed to lead {@code groupId}, 0 if none is known. */
    public int leaderHint(long groupId) {
        Integer hint = leaderHints.get(groupId);
        return hint == null ? 0 : hint;
    }

    /** A hosted group's hook and outputs: runs on the group's loop thread only. */
    private final class Handler implements ReplicaServer.TxnHandler, TxnHost.Outputs<Caller> {
        private final long groupId;
        private final TxnSender sender;
        private final TxnMetrics.GroupGauges gauges;
        TxnHost<Caller> txn;
        /** Commit-wait durations of commits about to be answered here (taken by the answer). */
        final Map<TxnId, Long> commitWaits = new java.util.HashMap<>();

        Handler(long groupId, TxnSender sender) {
            this.groupId = groupId;
            this.sender = sender;
            this.gauges = metrics.group(groupId);
        }

        @Override
        public void onTxnMessage(int fromProcess, long fromGroup, TxnMessage message) {
            if (!hosts.containsKey(fromGroup)) {
                leaderHints.put(fromGroup, fromProcess); // sent by that group's leader (followers send none)
            }
            txn.message(message, fromGroup);
        }

        @Override
        public void beforeEnd() {
            txn.beforeEnd();
            gauges.lockWaits = txn.lockTable() == null ? 0 : txn.lockTable().waitingRequests();
            gauges.prepared = txn.safeTime().preparedCount();
            gauges.outcomes = txn.core().rememberedOutcomes();
            gauges.safeTime = txn.safeTime().safeTime();
            if (gauges.leader != txn.isLeader()) {
                gauges.leader = txn.isLeader();
                gauges.leaderChanges.increment();
            }
            int hint = txn.group().replica().leaderHint();
            if (hint > 0 && leaderHint(groupId) != hint) {
                leaderHints.put(groupId, hint);
            }
        }

        @Override
        public long nextTickNanos() {
            return txn.nextTickNanos();
        }

        @Override
        public void send(long toGroup, TxnMessage message) {
            int hint = leaderHint(toGroup);
            if (hint > 0) {
                sender.send(hint, toGroup, message);
                return;
            }
            for (int p : groupReplicas.getOrDefault(toGroup, List.of())) {
                sender.send(p, toGroup, message);
            }
        }

        @Override
        public void reply(Caller client, CommitOutcome outcome) {
            client.committed(outcome);
        }

        @Override
        public void readDone(Caller client, TxnHost.ReadResult result) {
            client.read(result);
        }

        @Override
        public void warn(String message) {
            LOG.warn("replica {}: {}", processId, message);
        }

        @Override
        public void commitWaited(TxnId txnId, long commitTs, long waitedNanos) {
            if (commitWaits.size() >= 10_000) {
                commitWaits.clear(); // answers that never came (clients gone): statistics only
            }
            commitWaits.put(txnId, waitedNanos);
            metrics.commitWaited(waitedNanos);
        }
    }

    // ------------------------------------------------------------------ the gRPC service

    private final class Service extends TxnKvGrpc.TxnKvImplBase {
        @Override
        public void read(LockingReadRequest request, StreamObserver<ReadReply> reply) {
            long group = request.getGroup();
            TxnId txn;
            TxnQueryCodec.Query query;
            try {
                checkHosted(group);
                txn = TxnProto.txnId(request.hasTxn() ? request.getTxn() : null);
                query = TxnProto.query(request.getQuery(), 0);
            } catch (IllegalArgumentException e) {
                fail(reply, e);
                return;
            }
            Context call = Context.current();
            onLoop(group, reply, () -> {
                TxnHost<Caller> h = hosts.get(group);
                if (!h.isLeader()) {
                    reply(reply, notLeaderRead(group));
                    return;
                }
                boolean[] answered = {false};
                // a read still waiting for its lock when its caller leaves (its deadline passed) is withdrawn: the
                // transaction aborts here (as the client's Abort), so no lock is granted to a caller that left
                Runnable answering = onCallerLeft(call, group, answered, () -> h.abort(txn));
                h.lockingRead(txn, query, new Caller() {
                    @Override
                    public void read(TxnHost.ReadResult result) {
                        answering.run();
                        ReadReply r = readReply(group, result, 0, true);
                        io.gnomon.paxos.Ballot b = h.leadership();
                        if (result.served() && b != null) { // answered by this leadership's lock table
                            r = r.toBuilder().setLeaderBallot(TxnProto.ballot(b)).build();
                        }
                        reply(reply, r);
                    }
                });
            });
        }

        @Override
        public void commit(io.gnomon.txn.grpc.CommitRequest request, StreamObserver<CommitReply> reply) {
            long group = request.getGroup();
            io.gnomon.txn.CommitRequest req;
            try {
                checkHosted(group);
                List<Write> writes = new ArrayList<>(request.getWritesCount());
                for (int i = 0; i < request.getWritesCount(); i++) {
                    writes.add(TxnProto.write(request.getWrites(i), i));
                }
                req = new io.gnomon.txn.CommitRequest(TxnProto.txnId(request.hasTxn() ? request.getTxn() : null),
                        request.getCoordinatorGroup(), request.getParticipantGroupsList(), writes);
                checkTakesPart(group, req);
            } catch (IllegalArgumentException e) {
                fail(reply, e);
                return;
            }
            boolean participant = req.coordinatorGroup() != group && req.participantGroups().contains(group);
            io.gnomon.paxos.Ballot readUnder = request.hasReadBallot() ? TxnProto.ballot(request.getReadBallot())
                    : null;
            long arrived = System.nanoTime();
            Context call = Context.current();
            onLoop(group, reply, () -> {
                TxnHost<Caller> h = hosts.get(group);
                if (!h.isLeader()) {
                    reply(reply, CommitReply.newBuilder().setOutcome(CommitReply.Outcome.NOT_LEADER)
                            .setLeaderHint(leaderHint(group)).setMessage("replica " + processId + " does not lead group "
                                    + group).build());
                    return;
                }
                String invalid = h.requestRefusal(req);
                if (invalid != null) {
                    // the client's error, refused before anything is logged; a participant's host still tells the
                    // coordinator, whose abort frees the other groups at once
                    if (participant) {
                        h.commit(req, new Caller() {
                            @Override
                            public void committed(CommitOutcome outcome) {
                                // this caller is answered INVALID_ARGUMENT below
                            }
                        }, readUnder);
                    }
                    metrics.commitAnswered("aborted", System.nanoTime() - arrived, invalid);
                    fail(reply, new IllegalArgumentException(invalid));
                    return;
                }
                boolean[] answered = {false};
                // a commit still waiting for locks or participants when its caller leaves aborts; once its outcome
                // record is proposed the log decides (and answers the client that asks again). A participant's
                // caller is answered at once.
                Runnable answering = participant ? () -> { } : onCallerLeft(call, group, answered,
                        () -> h.commitCallerLeft(req.txn()));
                h.commitChecked(req, new Caller() { // requestRefusal(req) was null just above
                    @Override
                    public void committed(CommitOutcome outcome) {
                        answering.run();
                        Long waited = handlers.get(group).commitWaits.remove(req.txn());
                        metrics.commitAnswered(outcome instanceof CommitOutcome.Committed ? "committed"
                                        : outcome instanceof CommitOutcome.Aborted ? "aborted" : "unknown",
                                System.nanoTime() - arrived,
                                outcome instanceof CommitOutcome.Aborted a ? a.reason() : null);
                        reply(reply, TxnProto.commitReply(outcome).setLeaderHint(leaderHint(group))
                                .setCommitWaitNanos(waited == null ? 0 : waited).build());
                    }
                }, readUnder);
                if (participant) {
                    // (its refusal, if any, went to the coordinator, whose answer is the outcome)
                    reply(reply, CommitReply.newBuilder().setOutcome(CommitReply.Outcome.ACCEPTED)
                            .setLeaderHint(processId).build());
                }
            });
        }

        @Override
        public void abort(AbortRequest request, StreamObserver<AbortReply> reply) {
            long group = request.getGroup();
            TxnId txn;
            try {
                checkHosted(group);
                txn = TxnProto.txnId(request.hasTxn() ? request.getTxn() : null);
            } catch (IllegalArgumentException e) {
                fail(reply, e);
                return;
            }
            io.gnomon.paxos.Ballot readUnder = request.hasReadBallot() ? TxnProto.ballot(request.getReadBallot())
                    : null;
            onLoop(group, reply, () -> {
                TxnHost<Caller> h = hosts.get(group);
                boolean held = h.readLocksHeld(txn, readUnder);
                reply(reply, AbortReply.newBuilder().setAborted(h.abort(txn)).setHeld(held)
                        .setLeaderHint(leaderHint(group)).build());
            });
        }

        @Override
        public void snapshotRead(SnapshotReadRequest request, StreamObserver<ReadReply> reply) {
            long group = request.getGroup();
            Query query = request.getQuery();
            try {
                checkHosted(group);
                TxnProto.query(query, 0); // checks it before it reaches the loop
                if (request.getBoundCase() == SnapshotReadRequest.BoundCase.BOUND_NOT_SET) {
                    throw new IllegalArgumentException("snapshot read: give a bound (strong, exact_timestamp, "
                            + "exact_staleness_nanos, max_staleness_nanos or min_read_timestamp)");
                }
            } catch (IllegalArgumentException e) {
                fail(reply, e);
                return;
            }
            Deadline deadline = Context.current().getDeadline();
            long deadlineNanos = System.nanoTime() + (deadline == null ? DEFAULT_READ_WAIT_NANOS
                    : Math.max(0, deadline.timeRemaining(TimeUnit.NANOSECONDS)));
            onLoop(group, reply, () -> {
                TxnHost<Caller> h = hosts.get(group);
                long t;
                try {
                    t = TxnProto.readTimestamp(request, trueTime.now(), h.safeTime().safeTime());
                } catch (ClockUnavailableException e) {
                    reply.onError(Status.UNAVAILABLE.withDescription("replica " + processId + ": TrueTime is not"
                            + " usable, so no strong or staleness bound can be resolved: " + e.getMessage())
                            .asRuntimeException());
                    return;
                } catch (IllegalArgumentException e) {
                    fail(reply, e);
                    return;
                }
                h.read(TxnProto.query(query, t), new Caller() {
                    @Override
                    public void read(TxnHost.ReadResult result) {
                        reply(reply, readReply(group, result, t, false));
                    }
                }, deadlineNanos);
            });
        }

        @Override
        public void now(NowRequest request, StreamObserver<NowReply> reply) {
            try {
                TimeInterval now = trueTime.now();
                reply(reply, NowReply.newBuilder().setEarliestEpochNanos(now.earliestEpochNanos())
                        .setLatestEpochNanos(now.latestEpochNanos()).build());
            } catch (ClockUnavailableException e) {
                reply.onError(Status.UNAVAILABLE.withDescription("replica " + processId + ": TrueTime is not usable: "
                        + e.getMessage()).asRuntimeException());
            }
        }

        private void checkHosted(long group) {
            if (!hosts.containsKey(group)) {
                throw new UnknownGroupException("replica " + processId + " does not host group " + group
                        + " (it hosts groups " + new java.util.TreeSet<>(hosts.keySet()) + ")");
            }
        }

        /**
         * Runs {@code left} on the group's loop once the call's context is cancelled (its deadline passed, the client
         * cancelled or went away) if {@code answered[0]} is still false there (a context is cancelled when its call
         * completes too). {@code answered} is read and written on the loop only.
         */
        private Runnable onCallerLeft(Context call, long group, boolean[] answered, Runnable left) {
            Context.CancellationListener l = c -> server.submit(group, () -> {
                if (!answered[0]) {
                    answered[0] = true;
                    left.run();
                }
            });
            call.addListener(l, Runnable::run);
            return () -> {
                answered[0] = true;
                call.removeListener(l); // before the reply completes the call: no loop task for an answered call
            };
        }

        @Override
        public void txnStatus(TxnStatusRequest request, StreamObserver<TxnStatusReply> reply) {
            long group = request.getGroup();
            TxnId txn;
            try {
                checkHosted(group);
                txn = TxnProto.txnId(request.hasTxn() ? request.getTxn() : null);
            } catch (IllegalArgumentException e) {
                fail(reply, e);
                return;
            }
            onLoop(group, reply, () -> {
                TxnHost<Caller> h = hosts.get(group);
                TxnStatusReply.Builder b = TxnStatusReply.newBuilder().setLeaderHint(leaderHint(group));
                CommitOutcome decided = h.core().outcome(txn);
                if (decided instanceof CommitOutcome.Committed c) {
                    b.setStatus(TxnStatusReply.Status.COMMITTED).setCommitTimestamp(c.commitTimestampEpochNanos());
                } else if (decided instanceof CommitOutcome.Aborted a) {
                    b.setStatus(TxnStatusReply.Status.ABORTED).setMessage(a.reason()).setRetryable(a.retryable());
                } else if (!h.isLeader()) {
                    b.setStatus(TxnStatusReply.Status.NOT_LEADER).setMessage("replica " + processId
                            + " does not lead group " + group + " and has no outcome of " + txn + " applied");
                } else if (h.core().knows(txn)) {
                    b.setStatus(TxnStatusReply.Status.IN_PROGRESS).setMessage("group " + group + " is deciding "
                            + txn + "; ask again");
                } else {
                    b.setStatus(TxnStatusReply.Status.NOT_KNOWN).setMessage("group " + group + " has no record of "
                            + txn + ": never seen here (its request may still be on its way), or its outcome"
                            + " forgotten past the outcome retention; it is not known to be aborted");
                }
                reply(reply, b.build());
            });
        }

        private void onLoop(long group, StreamObserver<?> reply, Runnable task) {
            if (!server.submit(group, task)) {
                reply.onError(Status.UNAVAILABLE.withDescription("replica " + processId + ": group " + group
                        + "'s loop takes no more requests now (its inbox is full, or the server is stopping); retry")
                        .asRuntimeException());
            }
        }

        private ReadReply notLeaderRead(long group) {
            return ReadReply.newBuilder().setRefused(Refusal.newBuilder().setReason(Refusal.Reason.NOT_LEADER)
                    .setMessage("replica " + processId + " does not lead group " + group + " (a read in a read-write"
                            + " transaction goes to the leader)").setRetryable(true))
                    .setLeaderHint(leaderHint(group)).build();
        }

        private ReadReply readReply(long group, TxnHost.ReadResult result, long readTs, boolean locking) {
            ReadReply.Builder b = ReadReply.newBuilder().setReadTimestamp(readTs).setLeaderHint(leaderHint(group));
            if (!result.served()) {
                // A locking read fails only when its transaction is aborted (wounded, idle, a lock refused by a
                // limit); a snapshot read when safe time did not come in time or too many reads wait.
                String why = result.failure();
                boolean retryable = !locking || !why.startsWith("aborted:");
                return b.setRefused(Refusal.newBuilder().setReason(locking ? Refusal.Reason.ABORTED
                        : Refusal.Reason.UNAVAILABLE).setMessage(why).setRetryable(retryable)).build();
            }
            TxnQueryCodec.Answer a = result.answer();
            if (a instanceof TxnQueryCodec.Value v) {
                PointValue.Builder p = PointValue.newBuilder().setFound(v.valueOrNull() != null);
                if (v.valueOrNull() != null) {
                    p.setValue(ByteString.copyFrom(v.valueOrNull()));
                }
                b.setValue(p);
            } else if (a instanceof TxnQueryCodec.Rows rows) {
                Rows.Builder r = Rows.newBuilder();
                for (var row : rows.rows()) {
                    r.addRows(Row.newBuilder().setKey(ByteString.copyFrom(row.key()))
                            .setValue(ByteString.copyFrom(row.value())).setTimestamp(row.timestamp()));
                }
                b.setRows(r);
            } else if (a instanceof TxnQueryCodec.BelowRetention br) {
                b.setRefused(Refusal.newBuilder().setReason(Refusal.Reason.BELOW_RETENTION)
                        .setMessage(br.message()).setRetryable(false));
            }
            return b.build();
        }
    }

    private static <T> void reply(StreamObserver<T> reply, T message) {
        try {
            reply.onNext(message);
            reply.onCompleted();
        } catch (RuntimeException e) {
            // the client went away (cancelled, deadline): nothing to do
        }
    }

    /**
     * A commit request's groups: {@code group} coordinates or is among the participants, and every group it names is
     * the cluster's; each write's key is not empty.
     */
    private void checkTakesPart(long group, io.gnomon.txn.CommitRequest req) {
        if (req.coordinatorGroup() != group && !req.participantGroups().contains(group)) {
            throw new IllegalArgumentException("commit to group " + group + ": the group is neither the"
                    + " coordinator_group " + req.coordinatorGroup() + " nor among participant_groups "
                    + req.participantGroups());
        }
        if (!groupReplicas.containsKey(req.coordinatorGroup())) {
            throw new IllegalArgumentException("coordinator_group " + req.coordinatorGroup() + " is not a group of"
                    + " this cluster (groups " + new java.util.TreeSet<>(groupReplicas.keySet()) + ")");
        }
        for (long p : req.participantGroups()) {
            if (!groupReplicas.containsKey(p)) {
                throw new IllegalArgumentException("participant_groups: " + p + " is not a group of this cluster"
                        + " (groups " + new java.util.TreeSet<>(groupReplicas.keySet()) + ")");
            }
        }
        for (int i = 0; i < req.writes().size(); i++) {
            io.gnomon.txn.Write w = req.writes().get(i);
            if (!w.rangeDelete() && w.key().length == 0) {
                throw new IllegalArgumentException("writes[" + i + "].key is empty: give the key to write");
            }
        }
    }

    private static void fail(StreamObserver<?> reply, IllegalArgumentException e) {
        Status status = e instanceof UnknownGroupException ? Status.NOT_FOUND : Status.INVALID_ARGUMENT;
        reply.onError(status.withDescription(e.getMessage()).asRuntimeException());
    }

    /** A request for a group this process does not host: NOT_FOUND. */
    static final class UnknownGroupException extends IllegalArgumentException {
        UnknownGroupException(String message) {
            super(message);
        }
    }
}
