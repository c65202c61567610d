package io.gnomon.paxos.server;

import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.MoreExecutors;
import com.google.protobuf.ByteString;
import io.gnomon.paxos.grpc.AppendReply;
import io.gnomon.paxos.grpc.AppendRequest;
import io.gnomon.paxos.grpc.Outcome;
import io.gnomon.paxos.grpc.ReadReply;
import io.gnomon.paxos.grpc.ReadRequest;
import io.gnomon.paxos.grpc.ReplicaGrpc;
import io.gnomon.paxos.grpc.StatusReply;
import io.gnomon.paxos.grpc.StatusRequest;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A client of a replica group: sends appends to the replica it believes leads, follows leader hints when told
 * {@code NOT_APPENDED}, and reports everything else as it is. A call that fails in transport (the replica died,
 * the deadline passed) may or may not have been decided, so it comes back as {@link Outcome#UNKNOWN} with the
 * reason: the caller decides, and must not retry a non-idempotent command blindly. Thread-safe.
 *
 * <p>Appends go as one unary {@code Append} call each ({@link AppendCalls#UNARY}, the default) or as messages on
 * one long-lived {@code AppendStream} per replica ({@link AppendCalls#STREAM}): the same outcomes, redirects and
 * deadlines, without a call's HTTP/2 headers and trailers per append.
 */
public final class ReplicaClient implements AutoCloseable {
    private static final int MAX_REDIRECTS = 8;
    /**
     * After a round of {@link #MAX_REDIRECTS} redirects found no leader (an election is on), an append waits this
     * long and starts another round, until its deadline: "not appended" is certain, so trying again is safe.
     */
    private static final long NO_LEADER_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    /** How often streamed appends are checked against their deadlines: the most a deadline is overrun by. */
    private static final long STREAM_DEADLINE_CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

    /** How {@link #appendAsync} reaches a replica. */
    public enum AppendCalls {
        /** One unary {@code Append} call per command, with its own deadline. */
        UNARY,
        /**
         * One {@code AppendStream} per replica, opened on first use and reopened after it breaks; each command is a
         * message on it with an id, its reply matched by the id. Deadlines are checked every 10 ms.
         */
        STREAM
    }

    /** The channels (and append streams) this client uses; shared with other groups' clients if made by {@link Connections#group}. */
    private final Connections connections;
    /** Whether {@link #close} closes {@link #connections}: true unless they are shared. */
    private final boolean ownsConnections;
    /** This group's replicas, in order: where redirects without a hint go next. */
    private final List<Integer> ids;
    /** The group every request names (1, the default, goes untagged as before groups). */
    private final long group;
    private volatile int leaderGuess;

    /** @param targets replica id to "host:port" */
    public ReplicaClient(Map<Integer, String> targets) {
        this(targets, AppendCalls.UNARY);
    }

    /** @param targets replica id to "host:port" */
    public ReplicaClient(Map<Integer, String> targets, AppendCalls appendCalls) {
        this(targets, appendCalls, 1);
    }

    /**
     * A client of one group of a cluster whose processes host many, with channels of its own (for clients of many
     * groups, {@link #connect} once and take each group's client from {@link Connections#group}).
     *
     * @param targets replica id to "host:port" of the group's replicas (replica id == process id)
     * @param group   the group every request names; 1 for a one-group cluster
     */
    public ReplicaClient(Map<Integer, String> targets, AppendCalls appendCalls, long group) {
        this(new Connections(targets, appendCalls), true, targets.keySet(), group);
    }

    private ReplicaClient(Connections connections, boolean ownsConnections, Collection<Integer> replicas, long group) {
        if (group < 1) {
            throw new IllegalArgumentException("group " + group + " must be >= 1");
        }
        if (replicas.isEmpty()) {
            throw new IllegalArgumentException("group " + group + ": no replicas");
        }
        for (int r : replicas) {
            if (!connections.channels.containsKey(r)) {
                throw new IllegalArgumentException("group " + group + ": replica " + r + " has no address (known: "
                        + connections.channels.keySet() + ")");
            }
        }
        this.connections = connections;
        this.ownsConnections = ownsConnections;
        this.group = group;
        this.ids = List.copyOf(new TreeSet<>(replicas));
        this.leaderGuess = ids.get(0);
    }

    /**
     * Channels to every process of a cluster, shared by the clients of its groups ({@link Connections#group}): with
     * {@link AppendCalls#STREAM}, one {@code AppendStream} per process carries every group's appends, each request
     * naming its group, as the replicas' own transport carries every group's messages on one stream per peer.
     *
     * @param processes process id to "host:port" (a replica id is its process's id)
     */
    public static Connections connect(Map<Integer, String> processes, AppendCalls appendCalls) {
        return new Connections(processes, appendCalls);
    }

    /**
     * Channels to a cluster's processes, and with {@link AppendCalls#STREAM} one append stream per process and the
     * thread that fails streamed appends past their deadlines. Closing it ends every group client made from it.
     */
    public static final class Connections implements AutoCloseable {
        private final Map<Integer, ManagedChannel> channels = new TreeMap<>();
        private final AppendCalls appendCalls;
        private final Map<Integer, AppendStream> appendStreams = new TreeMap<>();
        private final ScheduledExecutorService deadlineChecker;

        private Connections(Map<Integer, String> targets, AppendCalls appendCalls) {
            if (targets.isEmpty()) {
                throw new IllegalArgumentException("no replica addresses");
            }
            this.appendCalls = appendCalls;
            targets.forEach((id, t) -> channels.put(id, NettyChannelBuilder.forTarget(t).usePlaintext().directExecutor().build()));
            if (appendCalls == AppendCalls.STREAM) {
                channels.forEach((id, c) -> appendStreams.put(id, new AppendStream(id, c)));
                deadlineChecker = Executors.newSingleThreadScheduledExecutor(r -> {
                    Thread t = new Thread(r, "replica-client-deadlines");
                    t.setDaemon(true);
                    return t;
                });
                deadlineChecker.scheduleWithFixedDelay(this::failExpiredStreamedAppends, STREAM_DEADLINE_CHECK_NANOS,
                        STREAM_DEADLINE_CHECK_NANOS, TimeUnit.NANOSECONDS);
            } else {
                deadlineChecker = null;
            }
        }

        /**
         * The client of one group over these channels; closing it closes nothing shared.
         *
         * @param replicas the group's replicas (process ids), each with an address here
         */
        public ReplicaClient group(long group, Collection<Integer> replicas) {
            return new ReplicaClient(this, false, replicas, group);
        }

        private void failExpiredStreamedAppends() {
            long now = System.nanoTime();
            for (AppendStream s : appendStreams.values()) {
                s.failExpired(now);
            }
        }

        @Override
        public void close() {
            if (deadlineChecker != null) {
                deadlineChecker.shutdownNow();
            }
            for (AppendStream s : appendStreams.values()) {
                s.close();
            }
            for (ManagedChannel c : channels.values()) {
                c.shutdownNow();
            }
        }
    }

    /** Appends one command; blocks until it is applied, certainly refused, or its outcome is unknown. */
    public AppendReply append(byte[] command, Duration timeout) {
        return appendAsync(command, timeout).join();
    }

    /**
     * Like {@link #append}, without blocking; the future never completes exceptionally. It completes on a gRPC
     * transport thread (the channels run callbacks there, without an executor hop): stages that depend on it
     * must not block, or they stall every call on that channel.
     */
    public CompletableFuture<AppendReply> appendAsync(byte[] command, Duration timeout) {
        CompletableFuture<AppendReply> result = new CompletableFuture<>();
        long deadline = System.nanoTime() + timeout.toNanos();
        if (connections.appendCalls == AppendCalls.STREAM) {
            streamedAttempt(new StreamedAppend(this, ByteString.copyFrom(command), deadline, result));
        } else {
            attempt(AppendRequest.newBuilder().setCommand(ByteString.copyFrom(command)).setGroup(wireGroup()).build(),
                    deadline, 0, result);
        }
        return result;
    }

    private static AppendReply deadlineBeforeLeader() {
        return AppendReply.newBuilder().setOutcome(Outcome.NOT_APPENDED)
                .setDetail("deadline passed before a leader accepted the command").build();
    }

    /** What {@link #attempt}'s call failing with {@code s} means for its command: UNKNOWN unless certainly refused. */
    private static AppendReply failedCall(int target, io.grpc.Status s) {
        if (s.getCode() == io.grpc.Status.Code.INVALID_ARGUMENT || s.getCode() == io.grpc.Status.Code.RESOURCE_EXHAUSTED) {
            return AppendReply.newBuilder().setOutcome(Outcome.NOT_APPENDED)
                    .setDetail("replica " + target + ": " + s.getDescription()).build();
        }
        return AppendReply.newBuilder().setOutcome(Outcome.UNKNOWN)
                .setDetail("replica " + target + ": " + s.getCode() + " " + s.getDescription()).build();
    }

    // ------------------------------------------------------------------ streamed appends

    /** One streamed append through its redirects: its group's client, the command, its deadline, and where its outcome goes. */
    private static final class StreamedAppend {
        final ReplicaClient client;
        final ByteString command;
        final long deadlineNanos;
        final CompletableFuture<AppendReply> result;
        int redirects;
        int target;

        StreamedAppend(ReplicaClient client, ByteString command, long deadlineNanos, CompletableFuture<AppendReply> result) {
            this.client = client;
            this.command = command;
            this.deadlineNanos = deadlineNanos;
            this.result = result;
        }
    }

    private void streamedAttempt(StreamedAppend a) {
        int target = leaderGuess;
        if (a.deadlineNanos - System.nanoTime() <= 0) {
            a.result.complete(deadlineBeforeLeader());
            return;
        }
        a.target = target;
        connections.appendStreams.get(target).send(a);
    }

    /** A streamed append's reply: follow a leader hint as {@link #attempt} does, else it is the outcome. */
    private void onStreamedReply(StreamedAppend a, AppendReply reply) {
        if (reply.getOutcome() == Outcome.NOT_APPENDED && reply.getRejected()) {
            a.result.complete(reply.toBuilder().setDetail("replica " + a.target + ": " + reply.getDetail()).build());
        } else if (reply.getOutcome() == Outcome.NOT_APPENDED && a.redirects < MAX_REDIRECTS) {
            redirect(a.target, reply.getLeaderHint());
            a.redirects++;
            streamedAttempt(a);
        } else if (reply.getOutcome() == Outcome.NOT_APPENDED && backOff(a.deadlineNanos)) {
            redirect(a.target, reply.getLeaderHint());
            a.redirects = 0;
            afterBackoff(() -> streamedAttempt(a));
        } else {
            a.result.complete(reply);
        }
    }

    /** Whether an append refused by every replica it was sent to still has time for another round after a wait. */
    private static boolean backOff(long deadlineNanos) {
        return deadlineNanos - System.nanoTime() > NO_LEADER_BACKOFF_NANOS;
    }

    /** Runs {@code next} after {@link #NO_LEADER_BACKOFF_NANOS}, off the gRPC thread the reply came on. */
    private static void afterBackoff(Runnable next) {
        CompletableFuture.delayedExecutor(NO_LEADER_BACKOFF_NANOS, TimeUnit.NANOSECONDS).execute(next);
    }

    /**
     * The {@code AppendStream} to one replica process, shared by the clients of every group on it. Sending opens it
     * if needed; each append in flight waits in {@code inFlight} under its id until its reply, the stream's end (all
     * then fail as a broken call does: {@code UNKNOWN}) or its deadline.
     */
    private static final class AppendStream {
        private final int id;
        private final ManagedChannel channel;
        /** The current stream and its appends in flight; replaced when it breaks. */
        private Calls current;
        private long nextAppendId;

        private final class Calls {
            final Map<Long, StreamedAppend> inFlight = new ConcurrentHashMap<>();
            ClientCallStreamObserver<AppendRequest> requests;
            /** Why the call ended, once it has; no reply comes after. */
            volatile io.grpc.Status brokenBy;
        }

        AppendStream(int id, ManagedChannel channel) {
            this.id = id;
            this.channel = channel;
        }

        synchronized void send(StreamedAppend a) {
            Calls calls = current != null ? current : open();
            long appendId = nextAppendId++;
            calls.inFlight.put(appendId, a);
            io.grpc.Status brokenBy = calls.brokenBy;
            if (brokenBy != null) {
                // The call failed as it started: on a channel in transient failure (a replica that just died) gRPC
                // ends it on this thread, inside open(). Fail the append as broken() fails those in flight.
                if (calls.inFlight.remove(appendId) != null) {
                    a.client.redirect(id, 0);
                    a.result.complete(failedCall(id, brokenBy));
                }
                return;
            }
            calls.requests.onNext(AppendRequest.newBuilder().setCommand(a.command).setId(appendId)
                    .setGroup(a.client.wireGroup()).build());
        }

        private Calls open() {
            Calls calls = new Calls();
            current = calls;
            ReplicaGrpc.newStub(channel).appendStream(new ClientResponseObserver<AppendRequest, AppendReply>() {
                @Override
                public void beforeStart(ClientCallStreamObserver<AppendRequest> requests) {
                    calls.requests = requests;
                }

                @Override
                public void onNext(AppendReply reply) {
                    StreamedAppend a = calls.inFlight.remove(reply.getId());
                    if (a != null) { // else it passed its deadline and was answered already
                        a.client.onStreamedReply(a, reply);
                    }
                }

                @Override
                public void onError(Throwable t) {
                    broken(calls, io.grpc.Status.fromThrowable(t));
                }

                @Override
                public void onCompleted() {
                    broken(calls, io.grpc.Status.UNAVAILABLE.withDescription("the replica closed the append stream"));
                }
            });
            return calls;
        }

        /** The stream ended: every append in flight on it may or may not be decided, as for a failed call. */
        private void broken(Calls calls, io.grpc.Status why) {
            calls.brokenBy = why; // before the lock: a send holding it fails its append itself (see send)
            synchronized (this) {
                if (current == calls) {
                    current = null;
                }
            }
            for (Long appendId : List.copyOf(calls.inFlight.keySet())) {
                StreamedAppend a = calls.inFlight.remove(appendId);
                if (a != null) {
                    a.client.redirect(id, 0);
                    a.result.complete(failedCall(id, why));
                }
            }
        }

        void failExpired(long nowNanos) {
            Calls calls;
            synchronized (this) {
                calls = current;
            }
            if (calls == null) {
                return;
            }
            for (var e : calls.inFlight.entrySet()) {
                if (nowNanos - e.getValue().deadlineNanos >= 0 && calls.inFlight.remove(e.getKey(), e.getValue())) {
                    e.getValue().client.redirect(id, 0);
                    e.getValue().result.complete(failedCall(id, io.grpc.Status.DEADLINE_EXCEEDED
                            .withDescription("no reply on the append stream within the deadline")));
                }
            }
        }

        synchronized void close() {
            if (current != null && current.requests != null) {
                try {
                    current.requests.onCompleted();
                } catch (RuntimeException ignored) {
                    // already broken
                }
            }
        }
    }

    private void attempt(AppendRequest request, long deadlineNanos, int redirects,
                         CompletableFuture<AppendReply> result) {
        int target = leaderGuess;
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) {
            result.complete(deadlineBeforeLeader());
            return;
        }
        var stub = ReplicaGrpc.newFutureStub(connections.channels.get(target)).withDeadlineAfter(left, TimeUnit.NANOSECONDS);
        Futures.addCallback(stub.append(request), new FutureCallback<>() {
            @Override
            public void onSuccess(AppendReply reply) {
                if (reply.getOutcome() == Outcome.NOT_APPENDED && redirects < MAX_REDIRECTS) {
                    redirect(target, reply.getLeaderHint());
                    attempt(request, deadlineNanos, redirects + 1, result);
                } else if (reply.getOutcome() == Outcome.NOT_APPENDED && backOff(deadlineNanos)) {
                    redirect(target, reply.getLeaderHint());
                    afterBackoff(() -> attempt(request, deadlineNanos, 0, result));
                } else {
                    result.complete(reply);
                }
            }

            @Override
            public void onFailure(Throwable t) {
                redirect(target, 0);
                result.complete(failedCall(target, io.grpc.Status.fromThrowable(t)));
            }
        }, MoreExecutors.directExecutor());
    }

    /** A lease read through the leader, following hints; empty if no replica served it before the timeout. */
    public Optional<ReadReply> read(byte[] query, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        ReadRequest request = ReadRequest.newBuilder().setQuery(ByteString.copyFrom(query)).setGroup(wireGroup())
                .build();
        while (System.nanoTime() - deadline < 0) {
            int target = leaderGuess;
            try {
                ReadReply r = ReplicaGrpc.newBlockingStub(connections.channels.get(target))
                        .withDeadlineAfter(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)
                        .read(request);
                if (r.getServed()) {
                    return Optional.of(r);
                }
                redirect(target, r.getLeaderHint());
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() == io.grpc.Status.Code.INVALID_ARGUMENT) {
                    throw new IllegalArgumentException(e.getStatus().getDescription());
                }
                redirect(target, 0);
            }
            pause();
        }
        return Optional.empty();
    }

    /**
     * Like {@link #read}, without blocking: follows leader hints at once (no pause between redirects, so it is for
     * a group with a leader, like a benchmark's). The future never completes exceptionally; it holds the last
     * reply, {@code served} false if no replica served the read within the redirects and the timeout. It completes
     * on a gRPC transport thread: stages that depend on it must not block.
     */
    public CompletableFuture<ReadReply> readAsync(byte[] query, Duration timeout) {
        CompletableFuture<ReadReply> result = new CompletableFuture<>();
        readAttempt(ReadRequest.newBuilder().setQuery(ByteString.copyFrom(query)).setGroup(wireGroup()).build(),
                System.nanoTime() + timeout.toNanos(), 0, result);
        return result;
    }

    private void readAttempt(ReadRequest request, long deadlineNanos, int redirects, CompletableFuture<ReadReply> result) {
        int target = leaderGuess;
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) {
            result.complete(ReadReply.newBuilder().setServed(false).setDetail("deadline passed before a leader served the read").build());
            return;
        }
        var stub = ReplicaGrpc.newFutureStub(connections.channels.get(target)).withDeadlineAfter(left, TimeUnit.NANOSECONDS);
        Futures.addCallback(stub.read(request), new FutureCallback<>() {
            @Override
            public void onSuccess(ReadReply reply) {
                if (!reply.getServed() && redirects < MAX_REDIRECTS) {
                    redirect(target, reply.getLeaderHint());
                    readAttempt(request, deadlineNanos, redirects + 1, result);
                } else {
                    result.complete(reply);
                }
            }

            @Override
            public void onFailure(Throwable t) {
                redirect(target, 0);
                io.grpc.Status s = io.grpc.Status.fromThrowable(t);
                result.complete(ReadReply.newBuilder().setServed(false)
                        .setDetail("replica " + target + ": " + s.getCode() + " " + s.getDescription()).build());
            }
        }, MoreExecutors.directExecutor());
    }

    /** One replica's status, or empty if it does not answer within the timeout. */
    public Optional<StatusReply> status(int id, Duration timeout) {
        try {
            return Optional.of(ReplicaGrpc.newBlockingStub(connections.channels.get(id))
                    .withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS).status(StatusRequest.newBuilder().setGroup(wireGroup()).build()));
        } catch (StatusRuntimeException e) {
            return Optional.empty();
        }
    }

    /** Every replica's status that answered. */
    public List<StatusReply> statuses(Duration timeout) {
        List<StatusReply> out = new ArrayList<>();
        for (int id : ids) {
            status(id, timeout).ifPresent(out::add);
        }
        return out;
    }

    /** The replica that can serve lease reads now, if exactly one answers so. */
    public Optional<Integer> leaseHolder(Duration timeout) {
        Integer found = null;
        for (StatusReply s : statuses(timeout)) {
            if (s.getLeaseReadReady()) {
                if (found != null) {
                    return Optional.empty();
                }
                found = s.getReplicaId();
            }
        }
        if (found != null) {
            leaderGuess = found;
        }
        return Optional.ofNullable(found);
    }

    /** The group as requests carry it: 0 (absent) for group 1, so a replica that predates groups understands. */
    private long wireGroup() {
        return group == 1 ? 0 : group;
    }

    public List<Integer> ids() {
        return ids;
    }

    private void redirect(int from, int hint) {
        if (hint > 0 && ids.contains(hint) && hint != from) {
            leaderGuess = hint;
        } else if (leaderGuess == from) {
            leaderGuess = ids.get((ids.indexOf(from) + 1) % ids.size());
        }
    }

    private static void pause() {
        try {
            Thread.sleep(10); // between redirects while an election runs; bounded by the caller's timeout
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Closes the channels if this client has its own; a client from {@link Connections#group} leaves them open. */
    @Override
    public void close() {
        if (ownsConnections) {
            connections.close();
        }
    }
}
