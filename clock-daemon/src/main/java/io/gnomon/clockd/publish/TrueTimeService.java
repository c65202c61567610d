package io.gnomon.clockd.publish;

import io.gnomon.clockd.select.Estimate;
import io.gnomon.clockd.select.SourceState;
import io.gnomon.truetime.ClockSnapshot;
import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.MonotonicClock;
import io.gnomon.truetime.TimeInterval;
import io.gnomon.truetime.grpc.v1.BooleanResponse;
import io.gnomon.truetime.grpc.v1.NowRequest;
import io.gnomon.truetime.grpc.v1.NowResponse;
import io.gnomon.truetime.grpc.v1.SourceStatus;
import io.gnomon.truetime.grpc.v1.StatusRequest;
import io.gnomon.truetime.grpc.v1.StatusResponse;
import io.gnomon.truetime.grpc.v1.TimestampRequest;
import io.gnomon.truetime.grpc.v1.TrueTimeGrpc;
import io.gnomon.truetime.grpc.v1.WatchRequest;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;

import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;

/**
 * The daemon's gRPC TrueTime service: every answer is the latest {@link Estimate}'s snapshot extrapolated
 * to the monotonic instant the call is handled. Unlike {@link io.gnomon.truetime.TrueTime#now()}, the
 * service never refuses: it returns the interval with its status (also UNVERIFIED, UNSYNCHRONIZED or
 * UNKNOWN) and the client decides what it accepts.
 *
 * <p>Threads: the daemon calls {@link #onEstimate} from its estimator thread; gRPC calls arrive on the
 * server's threads. The estimate is one volatile reference, so a call sees one whole estimate.
 * Watchers are bounded ({@link #DEFAULT_MAX_WATCHERS}); each gets the current status at once, then one
 * message per change of the status value.
 */
public final class TrueTimeService extends TrueTimeGrpc.TrueTimeImplBase {

    /** Concurrent Watch streams allowed by default; one more gets RESOURCE_EXHAUSTED. */
    public static final int DEFAULT_MAX_WATCHERS = 1024;

    private final MonotonicClock clock;
    private final int maxWatchers;
    private volatile Estimate latest;

    /** Guards the watcher set together with {@link #lastBroadcastStatus}, so that a new watcher's first
     *  message and a concurrent change are delivered in order. Sends under it only enqueue (non-blocking). */
    private final Object watchLock = new Object();
    private final Set<Watcher> watchers = ConcurrentHashMap.newKeySet();
    private ClockStatus lastBroadcastStatus = ClockStatus.UNKNOWN;
    private boolean closing;
    /** Told of each change of the status value, under {@link #watchLock}; must not block. */
    private Consumer<ClockStatus> statusListener = status -> { };

    private final ConcurrentHashMap<String, LongAdder> rejectedBySource = new ConcurrentHashMap<>();

    public TrueTimeService(MonotonicClock clock) {
        this(clock, DEFAULT_MAX_WATCHERS);
    }

    public TrueTimeService(MonotonicClock clock, int maxWatchers) {
        if (maxWatchers < 1) {
            throw new IllegalArgumentException("maxWatchers must be >= 1, was " + maxWatchers);
        }
        this.clock = Objects.requireNonNull(clock, "clock");
        this.maxWatchers = maxWatchers;
    }

    /** Publishes {@code e}; watchers hear of it only if the status value changed. */
    public void onEstimate(Estimate e) {
        latest = Objects.requireNonNull(e, "estimate");
        broadcastIfChanged();
    }

    /** Counts a rejected sample of {@code sourceName}, reported as {@code samples_rejected} by Status. */
    public void onRejected(String sourceName) {
        rejectedBySource.computeIfAbsent(sourceName, k -> new LongAdder()).increment();
    }

    /**
     * Tells {@code listener} the current status at once, then every change of it (the same changes Watch
     * streams hear), on the thread that publishes estimates. The gRPC endpoint's health status follows it.
     */
    public void onStatusChange(Consumer<ClockStatus> listener) {
        Objects.requireNonNull(listener, "listener");
        synchronized (watchLock) {
            statusListener = listener;
            listener.accept(lastBroadcastStatus);
            broadcastIfChanged();
        }
    }

    /**
     * Re-evaluates the status without a new estimate (a snapshot turns void as time passes), so that
     * watchers learn of it. The daemon may call it from its timer; {@link #onEstimate} does it too.
     */
    public void broadcastIfChanged() {
        synchronized (watchLock) {
            Estimate e = latest;
            long nowMonotonicNanos = clock.nanoTime();
            ClockStatus status = statusAt(e, nowMonotonicNanos);
            if (status == lastBroadcastStatus) {
                return;
            }
            lastBroadcastStatus = status;
            statusListener.accept(status);
            if (watchers.isEmpty()) {
                return;
            }
            StatusResponse response = statusResponse(e, nowMonotonicNanos);
            for (Watcher w : watchers) {
                w.offer(response);
            }
        }
    }

    /**
     * Completes every Watch stream and refuses new ones (the daemon is shutting down), so that a graceful
     * shutdown need not wait for streams that never end.
     */
    public void completeWatchers() {
        synchronized (watchLock) {
            closing = true;
            for (Watcher w : watchers) {
                w.complete();
            }
            watchers.clear();
        }
    }

    /** Number of open Watch streams (for tests and metrics). */
    public int watcherCount() {
        return watchers.size();
    }

    @Override
    public void now(NowRequest request, StreamObserver<NowResponse> out) {
        Estimate e = latest;
        long nowMonotonicNanos = clock.nanoTime();
        NowResponse.Builder b = NowResponse.newBuilder().setStatusValue(statusAt(e, nowMonotonicNanos).code());
        if (e != null) {
            TimeInterval interval = e.snapshot().intervalAt(nowMonotonicNanos);
            b.setEarliestEpochNanos(interval.earliestEpochNanos())
                    .setLatestEpochNanos(interval.latestEpochNanos())
                    .setMaxDriftPpb(e.snapshot().maxDriftPpb());
        }
        out.onNext(b.build());
        out.onCompleted();
    }

    @Override
    public void after(TimestampRequest request, StreamObserver<BooleanResponse> out) {
        answer(request.getEpochNanos(), true, out);
    }

    @Override
    public void before(TimestampRequest request, StreamObserver<BooleanResponse> out) {
        answer(request.getEpochNanos(), false, out);
    }

    private void answer(long epochNanos, boolean after, StreamObserver<BooleanResponse> out) {
        Estimate e = latest;
        long nowMonotonicNanos = clock.nanoTime();
        boolean value = false; // without an estimate nothing is definite
        if (e != null) {
            TimeInterval interval = e.snapshot().intervalAt(nowMonotonicNanos);
            value = after ? interval.earliestEpochNanos() > epochNanos : interval.latestEpochNanos() < epochNanos;
        }
        out.onNext(BooleanResponse.newBuilder().setValue(value)
                .setStatusValue(statusAt(e, nowMonotonicNanos).code()).build());
        out.onCompleted();
    }

    @Override
    public void status(StatusRequest request, StreamObserver<StatusResponse> out) {
        out.onNext(statusResponse(latest, clock.nanoTime()));
        out.onCompleted();
    }

    @Override
    public void watch(WatchRequest request, StreamObserver<StatusResponse> out) {
        ServerCallStreamObserver<StatusResponse> call = (ServerCallStreamObserver<StatusResponse>) out;
        synchronized (watchLock) {
            if (closing) {
                call.onError(Status.UNAVAILABLE.withDescription("clockd is shutting down").asRuntimeException());
                return;
            }
            if (watchers.size() >= maxWatchers) {
                call.onError(Status.RESOURCE_EXHAUSTED
                        .withDescription("too many Watch streams: limit " + maxWatchers + "; poll Status instead")
                        .asRuntimeException());
                return;
            }
            Watcher w = new Watcher(call);
            call.setOnCancelHandler(() -> watchers.remove(w));
            call.setOnReadyHandler(w::drain);
            watchers.add(w);
            Estimate e = latest;
            long nowMonotonicNanos = clock.nanoTime();
            w.offer(statusResponse(e, nowMonotonicNanos));
        }
    }

    /** UNKNOWN without an estimate or past its void-after time; otherwise the snapshot's status. */
    static ClockStatus statusAt(Estimate e, long nowMonotonicNanos) {
        if (e == null || e.snapshot().isVoidAt(nowMonotonicNanos)) {
            return ClockStatus.UNKNOWN;
        }
        return e.snapshot().status();
    }

    /**
     * What {@code Status} answers for {@code e} at {@code nowMonotonicNanos}: the status, the reason (or why the
     * estimate is void), the bound, and each source with its rejected-sample count.
     */
    public StatusResponse statusResponse(Estimate e, long nowMonotonicNanos) {
        ClockStatus status = statusAt(e, nowMonotonicNanos);
        StatusResponse.Builder b = StatusResponse.newBuilder().setStatusValue(status.code());
        if (e == null) {
            return b.setReason("no estimate yet: the daemon has just started").build();
        }
        ClockSnapshot s = e.snapshot();
        b.setBoundNanos(s.boundAt(nowMonotonicNanos))
                .setOffsetNanos(e.offsetNanos())
                .setMaxDriftPpb(s.maxDriftPpb())
                .setAsOfEpochNanos(s.asOfMonotonicNanos() + s.epochOffsetNanos())
                .setReason(s.isVoidAt(nowMonotonicNanos)
                        ? "estimate void: not refreshed since its void-after time (last: " + e.reason() + ")"
                        : e.reason());
        for (SourceState src : e.sources()) {
            LongAdder rejected = rejectedBySource.get(src.name());
            b.addSources(SourceStatus.newBuilder()
                    .setName(src.name())
                    .setKind(src.kind())
                    .setReachable(src.reachable())
                    .setFalseticker(src.falseticker())
                    .setOffsetNanos(src.offsetNanos())
                    .setDelayNanos(src.delayNanos())
                    .setBoundNanos(src.boundNanos())
                    .setSamplesRejected(rejected == null ? 0 : rejected.sum()));
        }
        return b.build();
    }

    /**
     * One Watch stream. Messages are only status changes, so they are rare; still, a client that does not
     * read must not make us buffer without limit: while the transport is not ready we keep only the newest
     * message and send it when it becomes ready (intermediate states of a flapping clock are coalesced).
     */
    private final class Watcher {
        private final ServerCallStreamObserver<StatusResponse> call;
        private ClockStatus lastSent;
        private StatusResponse pending;
        private boolean done;

        Watcher(ServerCallStreamObserver<StatusResponse> call) {
            this.call = call;
        }

        synchronized void offer(StatusResponse r) {
            if (done) {
                return;
            }
            pending = r;
            drain();
        }

        synchronized void drain() {
            if (pending != null && ClockStatus.fromCode(pending.getStatusValue()) == lastSent) {
                pending = null; // back to what the client last heard: nothing changed for it
            }
            if (done || pending == null || call.isCancelled() || !call.isReady()) {
                return;
            }
            StatusResponse r = pending;
            pending = null;
            try {
                call.onNext(r);
                lastSent = ClockStatus.fromCode(r.getStatusValue());
            } catch (RuntimeException ex) { // cancelled between the check and the send
                done = true;
                watchers.remove(this);
            }
        }

        synchronized void complete() {
            if (done) {
                return;
            }
            done = true;
            try {
                call.onCompleted();
            } catch (RuntimeException ignored) { // already cancelled
            }
        }
    }
}
