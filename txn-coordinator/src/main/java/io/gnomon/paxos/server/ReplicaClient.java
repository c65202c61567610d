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

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A client of a replica group: sends appends to the replica it believes leads, follows leader hints when told
 * {@code NOT_APPENDED}, and reports everything else as it is. A call that fails in transport (the replica died,
 * the deadline passed) may or may not have been decided, so it comes back as {@link Outcome#UNKNOWN} with the
 * reason: the caller decides, and must not retry a non-idempotent command blindly. Thread-safe.
 */
public final class ReplicaClient implements AutoCloseable {
    private static final int MAX_REDIRECTS = 8;

    private final Map<Integer, ManagedChannel> channels = new TreeMap<>();
    private final List<Integer> ids;
    private volatile int leaderGuess;

    /** @param targets replica id to "host:port" */
    public ReplicaClient(Map<Integer, String> targets) {
        targets.forEach((id, t) -> channels.put(id, NettyChannelBuilder.forTarget(t).usePlaintext().directExecutor().build()));
        this.ids = List.copyOf(channels.keySet());
        this.leaderGuess = ids.get(0);
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
        attempt(AppendRequest.newBuilder().setCommand(ByteString.copyFrom(command)).build(), deadline, 0, result);
        return result;
    }

    private void attempt(AppendRequest request, long deadlineNanos, int redirects,
                         CompletableFuture<AppendReply> result) {
        int target = leaderGuess;
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) {
            result.complete(AppendReply.newBuilder().setOutcome(Outcome.NOT_APPENDED)
                    .setDetail("deadline passed before a leader accepted the command").build());
            return;
        }
        var stub = ReplicaGrpc.newFutureStub(channels.get(target)).withDeadlineAfter(left, TimeUnit.NANOSECONDS);
        Futures.addCallback(stub.append(request), new FutureCallback<>() {
            @Override
            public void onSuccess(AppendReply reply) {
                if (reply.getOutcome() == Outcome.NOT_APPENDED && redirects < MAX_REDIRECTS) {
                    redirect(target, reply.getLeaderHint());
                    attempt(request, deadlineNanos, redirects + 1, result);
                } else {
                    result.complete(reply);
                }
            }

            @Override
            public void onFailure(Throwable t) {
                redirect(target, 0);
                io.grpc.Status s = io.grpc.Status.fromThrowable(t);
                if (s.getCode() == io.grpc.Status.Code.INVALID_ARGUMENT
                        || s.getCode() == io.grpc.Status.Code.RESOURCE_EXHAUSTED) {
                    result.complete(AppendReply.newBuilder().setOutcome(Outcome.NOT_APPENDED)
                            .setDetail("replica " + target + ": " + s.getDescription()).build());
                } else {
                    result.complete(AppendReply.newBuilder().setOutcome(Outcome.UNKNOWN)
                            .setDetail("replica " + target + ": " + s.getCode() + " " + s.getDescription()).build());
                }
            }
        }, MoreExecutors.directExecutor());
    }

    /** A lease read through the leader, following hints; empty if no replica served it before the timeout. */
    public Optional<ReadReply> read(byte[] query, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        ReadRequest request = ReadRequest.newBuilder().setQuery(ByteString.copyFrom(query)).build();
        while (System.nanoTime() - deadline < 0) {
            int target = leaderGuess;
            try {
                ReadReply r = ReplicaGrpc.newBlockingStub(channels.get(target))
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
        readAttempt(ReadRequest.newBuilder().setQuery(ByteString.copyFrom(query)).build(),
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
        var stub = ReplicaGrpc.newFutureStub(channels.get(target)).withDeadlineAfter(left, TimeUnit.NANOSECONDS);
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
            return Optional.of(ReplicaGrpc.newBlockingStub(channels.get(id))
                    .withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS).status(StatusRequest.getDefaultInstance()));
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

    public List<Integer> ids() {
        return ids;
    }

    private void redirect(int from, int hint) {
        if (hint > 0 && channels.containsKey(hint) && hint != from) {
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

    @Override
    public void close() {
        for (ManagedChannel c : channels.values()) {
            c.shutdownNow();
        }
    }
}
