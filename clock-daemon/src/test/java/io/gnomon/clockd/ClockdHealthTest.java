package io.gnomon.clockd;

import io.gnomon.clockd.config.Settings;
import io.gnomon.clockd.testing.FakeNtpServer;
import io.gnomon.truetime.ClockStatus;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * clockd's gRPC health, as a readiness probe sees it: NOT_SERVING while its sources do not answer (the clock is
 * not usable), SERVING once they agree, for the server ({@code ""}) and the TrueTime service alike.
 */
class ClockdHealthTest {
    private static final List<String> NAMES = List.of("", "gnomon.truetime.v1.TrueTime");

    @Test
    void notServingUntilTheSourcesAnswerThenServing(@TempDir Path dir) throws Exception {
        List<FakeNtpServer> servers = new ArrayList<>();
        ManagedChannel channel = null;
        try {
            for (int i = 0; i < 3; i++) {
                FakeNtpServer s = FakeNtpServer.start();
                s.setFault(FakeNtpServer.Fault.SILENT);
                servers.add(s);
            }
            Settings settings = ClockdEndToEndTest.settings(dir,
                    servers.stream().map(s -> "127.0.0.1:" + s.port()).toList());
            try (Clockd clockd = Clockd.start(settings, SystemClocks.SYSTEM)) {
                channel = ManagedChannelBuilder.forAddress("127.0.0.1", clockd.grpcPort()).usePlaintext().build();
                HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(channel);
                assertThat(clockd.daemon().latest().snapshot().status()).isEqualTo(ClockStatus.UNSYNCHRONIZED);
                assertThat(statuses(health)).containsOnly(ServingStatus.NOT_SERVING);

                servers.forEach(s -> s.setFault(FakeNtpServer.Fault.NONE));
                await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20))
                        .until(() -> statuses(health).equals(List.of(ServingStatus.SERVING, ServingStatus.SERVING)));
                assertThat(clockd.daemon().latest().snapshot().status().isUsable()).isTrue();
            }
        } finally {
            if (channel != null) {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
            servers.forEach(FakeNtpServer::close);
        }
    }

    private static List<ServingStatus> statuses(HealthGrpc.HealthBlockingStub health) {
        return NAMES.stream().map(name -> health.withDeadlineAfter(5, TimeUnit.SECONDS)
                .check(HealthCheckRequest.newBuilder().setService(name).build()).getStatus()).toList();
    }
}
