package io.gnomon.truetime.grpc;

import io.gnomon.truetime.ClockSnapshot;
import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.ClockUnavailableException;
import io.gnomon.truetime.MonotonicClock;
import io.gnomon.truetime.TimeInterval;
import io.gnomon.truetime.TrueTime;
import io.gnomon.truetime.grpc.v1.NowRequest;
import io.gnomon.truetime.grpc.v1.NowResponse;
import io.gnomon.truetime.grpc.v1.StatusRequest;
import io.gnomon.truetime.grpc.v1.TrueTimeGrpc;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.StatusRuntimeException;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * TrueTime from a clock daemon's gRPC service, for hosts without a local segment. Every {@link #now()} is
 * one round trip; the daemon's interval is widened by that round trip (and the drift over it), because the
 * daemon read its clock at some unknown instant between our send and our receive:
 * <pre>
 *   earliest = daemon.earliest
 *   latest   = daemon.latest + rtt + ceil(rtt * maxDrift)
 * </pre>
 *
 * <pre>{@code
 * try (GrpcTrueTime tt = GrpcTrueTime.connect("127.0.0.1:7360")) {
 *     TimeInterval now = tt.now();
 * }
 * }</pre>
 */
public final class GrpcTrueTime implements TrueTime, AutoCloseable {

    private final ManagedChannel channel;
    private final boolean ownsChannel;
    private final TrueTimeGrpc.TrueTimeBlockingStub stub;
    private final MonotonicClock clock;
    private final long deadlineNanos;

    /** Uses {@code channel} (not closed by {@link #close()}) with the given per-call deadline. */
    public GrpcTrueTime(ManagedChannel channel, Duration deadline, MonotonicClock clock) {
        this(channel, false, deadline, clock);
    }

    private GrpcTrueTime(ManagedChannel channel, boolean ownsChannel, Duration deadline, MonotonicClock clock) {
        if (deadline.isNegative() || deadline.isZero()) {
            throw new IllegalArgumentException("deadline must be positive, was " + deadline);
        }
        this.channel = channel;
        this.ownsChannel = ownsChannel;
        this.stub = TrueTimeGrpc.newBlockingStub(channel);
        this.clock = clock;
        this.deadlineNanos = deadline.toNanos();
    }

    /** Connects in plaintext to {@code host:port} (the daemon binds loopback by default). */
    public static GrpcTrueTime connect(String target) {
        ManagedChannel channel = ManagedChannelBuilder.forTarget(target).usePlaintext().build();
        return new GrpcTrueTime(channel, true, Duration.ofSeconds(1), MonotonicClock.SYSTEM);
    }

    @Override
    public TimeInterval now() {
        long sentNanos = clock.nanoTime();
        NowResponse r;
        try {
            r = stub.withDeadlineAfter(deadlineNanos, TimeUnit.NANOSECONDS).now(NowRequest.getDefaultInstance());
        } catch (StatusRuntimeException e) {
            throw new ClockUnavailableException(ClockStatus.UNKNOWN, "cannot reach clockd over gRPC: "
                    + describe(e.getStatus()), e);
        }
        long rttNanos = clock.nanoTime() - sentNanos;
        ClockStatus status = ClockStatus.fromCode(r.getStatusValue());
        if (!status.isUsable()) {
            throw new ClockUnavailableException(status, "reported by clockd over gRPC");
        }
        long driftPpb = r.getMaxDriftPpb();
        if (driftPpb < 0 || driftPpb > ClockSnapshot.MAX_DRIFT_PPB_LIMIT
                || r.getEarliestEpochNanos() > r.getLatestEpochNanos()) {
            throw new ClockUnavailableException(ClockStatus.UNKNOWN, "clockd sent an impossible interval ["
                    + r.getEarliestEpochNanos() + ", " + r.getLatestEpochNanos() + "] or drift " + driftPpb + " ppb");
        }
        long widenNanos = ClockSnapshot.boundAt(Math.max(0, rttNanos), driftPpb, Math.max(0, rttNanos));
        long latest = r.getLatestEpochNanos() + widenNanos;
        return new TimeInterval(r.getEarliestEpochNanos(), latest < r.getLatestEpochNanos() ? Long.MAX_VALUE : latest);
    }

    /** One line: the code, the description and the root cause's message, without stack traces. */
    static String describe(io.grpc.Status status) {
        StringBuilder b = new StringBuilder(status.getCode().name());
        if (status.getDescription() != null) {
            b.append(" (").append(status.getDescription()).append(')');
        }
        Throwable root = status.getCause();
        while (root != null && root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        if (root != null && root.getMessage() != null) {
            b.append(": ").append(root.getMessage());
        }
        return b.toString();
    }

    @Override
    public ClockStatus status() {
        try {
            return ClockStatus.fromCode(stub.withDeadlineAfter(deadlineNanos, TimeUnit.NANOSECONDS)
                    .status(StatusRequest.getDefaultInstance()).getStatusValue());
        } catch (StatusRuntimeException e) {
            return ClockStatus.UNKNOWN;
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (ownsChannel) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
