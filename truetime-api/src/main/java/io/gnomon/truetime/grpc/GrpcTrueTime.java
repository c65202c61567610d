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
    private final boolean acceptUnverified;

    /** Uses {@code channel} (not closed by {@link #close()}) with the given per-call deadline. */
    public GrpcTrueTime(ManagedChannel channel, Duration deadline, MonotonicClock clock) {
        this(channel, false, deadline, clock, false);
    }

    /**
     * Like {@link #GrpcTrueTime(ManagedChannel, Duration, MonotonicClock)}; with {@code acceptUnverified},
     * {@link ClockStatus#UNVERIFIED} intervals (the daemon's local default, an assumption) are returned
     * instead of refused, as {@link io.gnomon.truetime.shm.ShmTrueTime#openAcceptingUnverified} does.
     */
    public GrpcTrueTime(ManagedChannel channel, Duration deadline, MonotonicClock clock, boolean acceptUnverified) {
        this(channel, false, deadline, clock, acceptUnverified);
    }

    private GrpcTrueTime(ManagedChannel channel, boolean ownsChannel, Duration deadline, MonotonicClock clock,
                         boolean acceptUnverified) {
        if (deadline.isNegative() || deadline.isZero()) {
            throw new IllegalArgumentException("deadline must be positive, was " + deadline);
        }
        this.channel = channel;
        this.ownsChannel = ownsChannel;
        this.stub = TrueTimeGrpc.newBlockingStub(channel);
        this.clock = clock;
        this.deadlineNanos = deadline.toNanos();
        this.acceptUnverified = acceptUnverified;
    }

    /**
     * Connects in plaintext to {@code host:port} (the daemon binds loopback by default).
     *
     * @throws IllegalArgumentException if {@code target} is not {@code HOST:PORT} (see {@link #checkTarget})
     */
    public static GrpcTrueTime connect(String target) {
        return connect(target, false);
    }

    /** {@link #connect(String)}, returning UNVERIFIED intervals too when {@code acceptUnverified}. */
    public static GrpcTrueTime connect(String target, boolean acceptUnverified) {
        ManagedChannel channel = ManagedChannelBuilder.forTarget(checkTarget(target)).usePlaintext().build();
        return new GrpcTrueTime(channel, true, CONNECT_DEADLINE, MonotonicClock.SYSTEM, acceptUnverified);
    }

    /**
     * The per-call deadline of {@link #connect}: the first call also connects, which in a fresh JVM on a busy
     * host took over a second (command-line tools timed out against a running daemon). A refused connection
     * fails at once whatever the deadline; only a daemon that accepts and hangs costs the whole of it.
     */
    static final Duration CONNECT_DEADLINE = Duration.ofSeconds(5);

    /**
     * Checks that {@code target} is {@code HOST:PORT} ({@code [IPv6]:PORT} for an IPv6 address) with a port
     * from 1 to 65535, so that a typo is refused with the rule instead of a resolver's "Invalid DNS name".
     *
     * @return {@code target}, unchanged
     * @throws IllegalArgumentException naming the value and the rule
     */
    public static String checkTarget(String target) {
        int colon = target == null ? -1 : target.lastIndexOf(':');
        String host = colon < 0 ? "" : target.substring(0, colon);
        String port = colon < 0 ? "" : target.substring(colon + 1);
        boolean bracketed = host.startsWith("[") && host.endsWith("]");
        boolean hostOk = !host.isEmpty() && (bracketed || host.indexOf(':') < 0)
                && host.chars().noneMatch(c -> Character.isWhitespace(c) || c == '/');
        if (!hostOk || !port.matches("[0-9]{1,5}") || Integer.parseInt(port) < 1 || Integer.parseInt(port) > 65535) {
            throw new IllegalArgumentException("'" + target + "' is not HOST:PORT (a host name or address, then ':' "
                    + "and a port from 1 to 65535; an IPv6 address in brackets: [::1]:7360)");
        }
        return target;
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
        if (!status.isUsable() && !(acceptUnverified && status == ClockStatus.UNVERIFIED)) {
            throw new ClockUnavailableException(status, "reported by clockd over gRPC" + (status
                    == ClockStatus.UNVERIFIED ? ": no time source configured, the interval is an assumption (accept "
                    + "it with acceptUnverified, for demos and development hosts only)" : ""));
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

    /**
     * One line for a failed call: the code, the description and the root cause's message, without the stack
     * traces that {@link io.grpc.Status#toString()} carries. For messages a person reads.
     */
    public static String describe(io.grpc.Status status) {
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
