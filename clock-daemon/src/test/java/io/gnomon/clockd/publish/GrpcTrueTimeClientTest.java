package io.gnomon.clockd.publish;

import io.gnomon.clockd.select.Estimate;
import io.gnomon.truetime.ClockSnapshot;
import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.ClockUnavailableException;
import io.gnomon.truetime.MonotonicClock;
import io.gnomon.truetime.TimeInterval;
import io.gnomon.truetime.grpc.GrpcTrueTime;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static io.gnomon.clockd.publish.Estimates.AS_OF_MONOTONIC_NANOS;
import static io.gnomon.clockd.publish.Estimates.estimate;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The truetime-api gRPC client against the daemon's service, over loopback. */
class GrpcTrueTimeClientTest {

    private final Estimates.SettableClock serverClock = new Estimates.SettableClock(AS_OF_MONOTONIC_NANOS + 1_000_000);
    private TrueTimeService service;
    private GrpcEndpoint endpoint;
    private ManagedChannel channel;

    @BeforeEach
    void start() throws IOException {
        service = new TrueTimeService(serverClock);
        endpoint = GrpcEndpoint.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), service);
        channel = NettyChannelBuilder.forAddress("127.0.0.1", endpoint.port()).usePlaintext().build();
    }

    @AfterEach
    void stop() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        endpoint.close();
    }

    @Test
    void theClientsIntervalContainsTheServicesAndIsWidenedByTheRoundTrip() {
        Estimate e = estimate(ClockStatus.SYNCHRONIZED);
        service.onEstimate(e);
        TimeInterval served = e.snapshot().intervalAt(serverClock.nanoTime());
        // The client's clock advances 3 ms between its send and its receive: the round trip it measures.
        long rttNanos = 3_000_000;
        AtomicLong clientReads = new AtomicLong();
        MonotonicClock clientClock = () -> clientReads.getAndIncrement() % 2 == 0 ? 0 : rttNanos;
        GrpcTrueTime tt = new GrpcTrueTime(channel, Duration.ofSeconds(5), clientClock);

        TimeInterval now = tt.now();

        assertThat(now.earliestEpochNanos()).isEqualTo(served.earliestEpochNanos());
        assertThat(now.latestEpochNanos()).isGreaterThanOrEqualTo(served.latestEpochNanos() + rttNanos);
        // rtt plus its drift at 15 ppm: 3 ms + 45 ns
        assertThat(now.latestEpochNanos()).isEqualTo(served.latestEpochNanos() + rttNanos
                + ClockSnapshot.boundAt(0, Estimates.MAX_DRIFT_PPB, rttNanos));
    }

    @Test
    void withRealClocksTheClientsIntervalContainsTrueTimeAsTheServiceSawIt() throws Exception {
        // Both sides read the system clock; the service's interval at any instant during the call lies within.
        TrueTimeService real = new TrueTimeService(MonotonicClock.SYSTEM);
        long nowMonotonicNanos = System.nanoTime();
        ClockSnapshot s = new ClockSnapshot(nowMonotonicNanos, 1_777_636_800_000_000_000L - nowMonotonicNanos,
                10_000, 15_000, nowMonotonicNanos + 60_000_000_000L, ClockStatus.SYNCHRONIZED);
        real.onEstimate(new Estimate(s, 0, List.of(), "test"));
        try (GrpcEndpoint ep = GrpcEndpoint.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), real)) {
            ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", ep.port()).usePlaintext().build();
            try {
                GrpcTrueTime tt = new GrpcTrueTime(ch, Duration.ofSeconds(5), MonotonicClock.SYSTEM);
                tt.now(); // connect
                long before = System.nanoTime();
                TimeInterval now = tt.now();
                long after = System.nanoTime();
                assertThat(now.earliestEpochNanos()).isLessThanOrEqualTo(s.intervalAt(after).earliestEpochNanos());
                assertThat(now.latestEpochNanos()).isGreaterThanOrEqualTo(s.intervalAt(before).latestEpochNanos());
            } finally {
                ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void anUnsynchronizedServiceMakesNowThrow() {
        service.onEstimate(estimate(ClockStatus.UNSYNCHRONIZED));
        GrpcTrueTime tt = new GrpcTrueTime(channel, Duration.ofSeconds(5), MonotonicClock.SYSTEM);

        assertThatThrownBy(tt::now).isInstanceOfSatisfying(ClockUnavailableException.class,
                ex -> assertThat(ex.status()).isEqualTo(ClockStatus.UNSYNCHRONIZED));
        assertThat(tt.status()).isEqualTo(ClockStatus.UNSYNCHRONIZED);
    }

    @Test
    void anUnverifiedIntervalIsRefusedUnlessAcceptedAsTheSegmentReaderDoes() {
        Estimate e = estimate(ClockStatus.UNVERIFIED);
        service.onEstimate(e);
        GrpcTrueTime strict = new GrpcTrueTime(channel, Duration.ofSeconds(5), MonotonicClock.SYSTEM);
        assertThatThrownBy(strict::now).isInstanceOfSatisfying(ClockUnavailableException.class,
                ex -> assertThat(ex.status()).isEqualTo(ClockStatus.UNVERIFIED))
                .hasMessageContaining("no time source configured");

        GrpcTrueTime lenient = new GrpcTrueTime(channel, Duration.ofSeconds(5), MonotonicClock.SYSTEM, true);
        TimeInterval now = lenient.now();
        assertThat(now.earliestEpochNanos()).isEqualTo(e.snapshot().intervalAt(serverClock.nanoTime()).earliestEpochNanos());
        assertThat(lenient.status()).isEqualTo(ClockStatus.UNVERIFIED);
    }

    @Test
    void aServerThatIsDownIsUnknown() throws InterruptedException {
        service.onEstimate(estimate(ClockStatus.SYNCHRONIZED));
        GrpcTrueTime tt = new GrpcTrueTime(channel, Duration.ofSeconds(5), MonotonicClock.SYSTEM);
        assertThat(tt.status()).isEqualTo(ClockStatus.SYNCHRONIZED);

        endpoint.close();

        assertThat(tt.status()).isEqualTo(ClockStatus.UNKNOWN);
        assertThatThrownBy(tt::now).isInstanceOfSatisfying(ClockUnavailableException.class,
                ex -> assertThat(ex.status()).isEqualTo(ClockStatus.UNKNOWN));
    }
}
