package io.gnomon.clockd.publish;

import io.gnomon.clockd.select.Estimate;
import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.TimeInterval;
import io.gnomon.truetime.grpc.v1.BooleanResponse;
import io.gnomon.truetime.grpc.v1.NowRequest;
import io.gnomon.truetime.grpc.v1.NowResponse;
import io.gnomon.truetime.grpc.v1.StatusRequest;
import io.gnomon.truetime.grpc.v1.StatusResponse;
import io.gnomon.truetime.grpc.v1.SourceStatus;
import io.gnomon.truetime.grpc.v1.TimestampRequest;
import io.gnomon.truetime.grpc.v1.TrueTimeGrpc;
import io.gnomon.truetime.grpc.v1.WatchRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static io.gnomon.clockd.publish.Estimates.AS_OF_MONOTONIC_NANOS;
import static io.gnomon.clockd.publish.Estimates.EPOCH_OFFSET_NANOS;
import static io.gnomon.clockd.publish.Estimates.MAX_DRIFT_PPB;
import static io.gnomon.clockd.publish.Estimates.VOID_AFTER_MONOTONIC_NANOS;
import static io.gnomon.clockd.publish.Estimates.estimate;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

class TrueTimeServiceTest {

    private static final InetSocketAddress LOOPBACK_EPHEMERAL = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);

    private final Estimates.SettableClock clock = new Estimates.SettableClock(AS_OF_MONOTONIC_NANOS);
    private TrueTimeService service;
    private GrpcEndpoint endpoint;
    private ManagedChannel channel;
    private TrueTimeGrpc.TrueTimeBlockingStub stub;

    @BeforeEach
    void start() throws IOException {
        startWith(new TrueTimeService(clock));
    }

    private void startWith(TrueTimeService s) throws IOException {
        service = s;
        endpoint = GrpcEndpoint.start(LOOPBACK_EPHEMERAL, service);
        channel = NettyChannelBuilder.forAddress("127.0.0.1", endpoint.port()).usePlaintext().build();
        stub = TrueTimeGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS);
    }

    @AfterEach
    void stop() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        endpoint.close();
    }

    @Test
    void nowIsTheSnapshotExtrapolatedToTheCallsMonotonicInstant() {
        Estimate e = estimate(ClockStatus.SYNCHRONIZED);
        service.onEstimate(e);
        long callMonotonicNanos = AS_OF_MONOTONIC_NANOS + 2_000_000_000L;
        clock.set(callMonotonicNanos);

        NowResponse r = stub.now(NowRequest.getDefaultInstance());

        TimeInterval expected = e.snapshot().intervalAt(callMonotonicNanos);
        assertThat(r.getEarliestEpochNanos()).isEqualTo(expected.earliestEpochNanos());
        assertThat(r.getLatestEpochNanos()).isEqualTo(expected.latestEpochNanos());
        // 40 us at as-of, plus 2 s at 15 ppm = 30 us
        assertThat(r.getLatestEpochNanos() - r.getEarliestEpochNanos()).isEqualTo(2 * (40_000 + 30_000));
        assertThat(r.getEarliestEpochNanos()).isEqualTo(callMonotonicNanos + EPOCH_OFFSET_NANOS - 70_000);
        assertThat(r.getStatus()).isEqualTo(io.gnomon.truetime.grpc.v1.ClockStatus.CLOCK_STATUS_SYNCHRONIZED);
        assertThat(r.getMaxDriftPpb()).isEqualTo(MAX_DRIFT_PPB);
    }

    @Test
    void nowReportsUnknownBeforeTheFirstEstimateAndOnceTheSnapshotIsVoid() {
        assertThat(stub.now(NowRequest.getDefaultInstance()).getStatusValue()).isEqualTo(ClockStatus.UNKNOWN.code());

        service.onEstimate(estimate(ClockStatus.SYNCHRONIZED));
        clock.set(VOID_AFTER_MONOTONIC_NANOS);
        assertThat(stub.now(NowRequest.getDefaultInstance()).getStatusValue()).isEqualTo(ClockStatus.SYNCHRONIZED.code());
        clock.set(VOID_AFTER_MONOTONIC_NANOS + 1);
        NowResponse r = stub.now(NowRequest.getDefaultInstance());
        assertThat(r.getStatusValue()).isEqualTo(ClockStatus.UNKNOWN.code());
        assertThat(r.getLatestEpochNanos()).isGreaterThan(r.getEarliestEpochNanos());
    }

    @Test
    void nowReturnsTheIntervalWhateverTheStatusAndTheClientDecides() {
        for (ClockStatus s : List.of(ClockStatus.UNSYNCHRONIZED, ClockStatus.UNVERIFIED, ClockStatus.FREE_RUNNING)) {
            service.onEstimate(estimate(s));
            NowResponse r = stub.now(NowRequest.getDefaultInstance());
            assertThat(r.getStatusValue()).isEqualTo(s.code());
            assertThat(r.getEarliestEpochNanos()).isEqualTo(AS_OF_MONOTONIC_NANOS + EPOCH_OFFSET_NANOS - 40_000);
        }
    }

    @Test
    void afterAndBeforeAreDecidedByTheIntervalsEnds() {
        service.onEstimate(estimate(ClockStatus.SYNCHRONIZED));
        TimeInterval i = estimate(ClockStatus.SYNCHRONIZED).snapshot().intervalAt(AS_OF_MONOTONIC_NANOS);

        assertThat(after(i.earliestEpochNanos() - 1).getValue()).isTrue();
        assertThat(after(i.earliestEpochNanos()).getValue()).isFalse();
        assertThat(after(i.latestEpochNanos() + 1).getValue()).isFalse();
        assertThat(before(i.latestEpochNanos() + 1).getValue()).isTrue();
        assertThat(before(i.latestEpochNanos()).getValue()).isFalse();
        assertThat(before(i.earliestEpochNanos() - 1).getValue()).isFalse();
        assertThat(after(0).getStatusValue()).isEqualTo(ClockStatus.SYNCHRONIZED.code());
    }

    @Test
    void afterAndBeforeWithoutAnEstimateAreFalseAndUnknown() {
        BooleanResponse a = after(Long.MIN_VALUE);
        BooleanResponse b = before(Long.MAX_VALUE);
        assertThat(a.getValue()).isFalse();
        assertThat(b.getValue()).isFalse();
        assertThat(a.getStatusValue()).isEqualTo(ClockStatus.UNKNOWN.code());
    }

    @Test
    void statusCarriesBoundReasonAndSources() {
        service.onEstimate(estimate(ClockStatus.SYNCHRONIZED));
        service.onRejected(Estimates.SOURCE_B.name());
        service.onRejected(Estimates.SOURCE_B.name());
        clock.set(AS_OF_MONOTONIC_NANOS + 1_000_000_000L);

        StatusResponse r = stub.status(StatusRequest.getDefaultInstance());

        assertThat(r.getStatusValue()).isEqualTo(ClockStatus.SYNCHRONIZED.code());
        assertThat(r.getBoundNanos()).isEqualTo(40_000 + 15_000);
        assertThat(r.getOffsetNanos()).isEqualTo(2_000);
        assertThat(r.getMaxDriftPpb()).isEqualTo(MAX_DRIFT_PPB);
        assertThat(r.getReason()).isEqualTo("2 of 3 sources agree");
        assertThat(r.getAsOfEpochNanos()).isEqualTo(AS_OF_MONOTONIC_NANOS + EPOCH_OFFSET_NANOS);
        assertThat(r.getSourcesList()).extracting(SourceStatus::getName)
                .containsExactly(Estimates.SOURCE_A.name(), Estimates.SOURCE_B.name(), Estimates.SOURCE_C.name());
        SourceStatus b = r.getSources(1);
        assertThat(b.getKind()).isEqualTo("ntp");
        assertThat(b.getReachable()).isTrue();
        assertThat(b.getFalseticker()).isTrue();
        assertThat(b.getOffsetNanos()).isEqualTo(9_000_000);
        assertThat(b.getDelayNanos()).isEqualTo(140_000);
        assertThat(b.getBoundNanos()).isEqualTo(35_000);
        assertThat(b.getSamplesRejected()).isEqualTo(2);
        assertThat(r.getSources(2).getReachable()).isFalse();
    }

    @Test
    void statusBeforeTheFirstEstimateSaysWhy() {
        StatusResponse r = stub.status(StatusRequest.getDefaultInstance());
        assertThat(r.getStatusValue()).isEqualTo(ClockStatus.UNKNOWN.code());
        assertThat(r.getReason()).contains("no estimate yet");
        assertThat(r.getSourcesList()).isEmpty();
    }

    @Test
    void watchSendsTheStatusAtOnceThenOnlyChanges() {
        Recorder watch = watch();
        await().atMost(Duration.ofSeconds(5)).until(() -> watch.messages.size() == 1);
        assertThat(watch.messages.get(0).getStatusValue()).isEqualTo(ClockStatus.UNKNOWN.code());

        service.onEstimate(estimate(ClockStatus.SYNCHRONIZED));
        await().atMost(Duration.ofSeconds(5)).until(() -> watch.messages.size() == 2);
        // New estimates with the same status: no message. Then a change: exactly one more message.
        service.onEstimate(estimate(ClockStatus.SYNCHRONIZED, 50_000, "3 of 3 sources agree"));
        service.onEstimate(estimate(ClockStatus.SYNCHRONIZED, 60_000, "3 of 3 sources agree"));
        service.onEstimate(estimate(ClockStatus.FREE_RUNNING, 70_000, "all sources lost"));
        await().atMost(Duration.ofSeconds(5)).until(() -> watch.messages.size() >= 3);
        // The stream is ordered: a message for a same-status estimate would have come before FREE_RUNNING.
        assertThat(watch.messages).extracting(StatusResponse::getStatusValue).containsExactly(
                ClockStatus.UNKNOWN.code(), ClockStatus.SYNCHRONIZED.code(), ClockStatus.FREE_RUNNING.code());
        assertThat(watch.messages.get(1).getSourcesCount()).isEqualTo(3);
        assertThat(watch.messages.get(2).getReason()).isEqualTo("all sources lost");
    }

    @Test
    void watchReportsASnapshotTurningVoid() {
        service.onEstimate(estimate(ClockStatus.SYNCHRONIZED));
        Recorder watch = watch();
        await().atMost(Duration.ofSeconds(5)).until(() -> watch.messages.size() == 1);
        clock.set(VOID_AFTER_MONOTONIC_NANOS + 1);
        service.broadcastIfChanged();
        await().atMost(Duration.ofSeconds(5)).until(() -> watch.messages.size() == 2);
        assertThat(watch.messages.get(1).getStatusValue()).isEqualTo(ClockStatus.UNKNOWN.code());
        assertThat(watch.messages.get(1).getReason()).startsWith("estimate void");
    }

    @Test
    void aCancelledWatchIsForgotten() {
        Recorder watch = watch();
        await().atMost(Duration.ofSeconds(5)).until(() -> watch.messages.size() == 1);
        assertThat(service.watcherCount()).isEqualTo(1);
        watch.call.get().cancel("test done", null);
        await().atMost(Duration.ofSeconds(5)).until(() -> service.watcherCount() == 0);
        service.onEstimate(estimate(ClockStatus.SYNCHRONIZED)); // nobody to send to: must not throw
    }

    @Test
    void watchersPastTheLimitGetResourceExhausted() throws Exception {
        stop();
        startWith(new TrueTimeService(clock, 1));
        Recorder first = watch();
        await().atMost(Duration.ofSeconds(5)).until(() -> first.messages.size() == 1);
        Recorder second = watch();
        await().atMost(Duration.ofSeconds(5)).until(() -> second.error.get() != null);
        assertThat(Status.fromThrowable(second.error.get()).getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(first.error.get()).isNull();
    }

    @Test
    void closingTheEndpointCompletesWatchStreams() throws Exception {
        Recorder watch = watch();
        await().atMost(Duration.ofSeconds(5)).until(() -> watch.messages.size() == 1);
        endpoint.close();
        await().atMost(Duration.ofSeconds(5)).until(() -> watch.completed || watch.error.get() != null);
        assertThat(watch.completed).isTrue();
    }

    @Test
    void healthIsServingOnlyWhileTheIntervalIsUsableForTheServerAndTheService() {
        HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS);
        assertThat(servingStatus(health)).as("before the first estimate").containsOnly(ServingStatus.NOT_SERVING);
        service.onEstimate(estimate(ClockStatus.SYNCHRONIZED));
        assertThat(servingStatus(health)).containsOnly(ServingStatus.SERVING);
        for (ClockStatus s : List.of(ClockStatus.UNSYNCHRONIZED, ClockStatus.UNVERIFIED, ClockStatus.DISRUPTED)) {
            service.onEstimate(estimate(s));
            assertThat(servingStatus(health)).as(s.toString()).containsOnly(ServingStatus.NOT_SERVING);
        }
        service.onEstimate(estimate(ClockStatus.FREE_RUNNING));
        assertThat(servingStatus(health)).containsOnly(ServingStatus.SERVING);
        clock.set(VOID_AFTER_MONOTONIC_NANOS + 1);
        service.broadcastIfChanged(); // the daemon's next publish: the snapshot is past its void-after
        assertThat(servingStatus(health)).as("void").containsOnly(ServingStatus.NOT_SERVING);
        assertThatThrownBy(() -> health.check(HealthCheckRequest.newBuilder().setService("nope").build()))
                .isInstanceOf(StatusRuntimeException.class).hasMessageContaining("NOT_FOUND");
    }

    /** The status of {@code ""} and of the TrueTime service, which must agree. */
    private static List<ServingStatus> servingStatus(HealthGrpc.HealthBlockingStub health) {
        return List.of("", "gnomon.truetime.v1.TrueTime").stream()
                .map(name -> health.check(HealthCheckRequest.newBuilder().setService(name).build()).getStatus())
                .toList();
    }

    @Test
    void reflectionListsTheService() {
        List<ServerReflectionResponse> responses = new CopyOnWriteArrayList<>();
        StreamObserver<ServerReflectionRequest> requests = ServerReflectionGrpc.newStub(channel)
                .serverReflectionInfo(new StreamObserver<>() {
                    @Override
                    public void onNext(ServerReflectionResponse value) {
                        responses.add(value);
                    }

                    @Override
                    public void onError(Throwable t) {
                    }

                    @Override
                    public void onCompleted() {
                    }
                });
        requests.onNext(ServerReflectionRequest.newBuilder().setListServices("*").build());
        requests.onCompleted();
        await().atMost(Duration.ofSeconds(5)).until(() -> !responses.isEmpty());
        assertThat(responses.get(0).getListServicesResponse().getServiceList()).extracting(ServiceResponse::getName)
                .contains("gnomon.truetime.v1.TrueTime", "grpc.health.v1.Health");
    }

    @Test
    void aPortInUseIsNamedInTheError() throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            InetSocketAddress address = new InetSocketAddress("127.0.0.1", taken.getLocalPort());
            assertThatThrownBy(() -> GrpcEndpoint.start(address, new TrueTimeService(clock)))
                    .isInstanceOf(IOException.class)
                    .hasMessageStartingWith("gRPC port 127.0.0.1:" + taken.getLocalPort() + " is in use");
        }
    }

    private BooleanResponse after(long epochNanos) {
        return stub.after(TimestampRequest.newBuilder().setEpochNanos(epochNanos).build());
    }

    private BooleanResponse before(long epochNanos) {
        return stub.before(TimestampRequest.newBuilder().setEpochNanos(epochNanos).build());
    }

    private Recorder watch() {
        Recorder r = new Recorder();
        TrueTimeGrpc.newStub(channel).watch(WatchRequest.getDefaultInstance(), r);
        return r;
    }

    private static final class Recorder implements ClientResponseObserver<WatchRequest, StatusResponse> {
        final List<StatusResponse> messages = new CopyOnWriteArrayList<>();
        final AtomicReference<Throwable> error = new AtomicReference<>();
        final AtomicReference<ClientCallStreamObserver<WatchRequest>> call = new AtomicReference<>();
        volatile boolean completed;

        @Override
        public void beforeStart(ClientCallStreamObserver<WatchRequest> requestStream) {
            call.set(requestStream);
        }

        @Override
        public void onNext(StatusResponse value) {
            messages.add(value);
        }

        @Override
        public void onError(Throwable t) {
            error.set(t);
        }

        @Override
        public void onCompleted() {
            completed = true;
        }
    }
}
