package io.gnomon.clockd;

import io.gnomon.clockd.config.ConfigLoader;
import io.gnomon.clockd.config.DaemonConfig;
import io.gnomon.truetime.shm.SegmentWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A start that fails (here: the gRPC port is taken) leaves no segment it created behind. */
class ClockdStartFailureTest {
    @TempDir Path dir;

    private DaemonConfig onTakenPort(int port) {
        DaemonConfig c = new DaemonConfig();
        c.grpc.port = port;
        c.metrics.port = 0;
        c.journal.dir = "";
        c.publish.segmentPath = dir.resolve("gnomon").toString();
        c.publish.clockbound.enabled = true;
        c.publish.clockbound.path = dir.resolve("clockbound/shm0").toString();
        return c;
    }

    @Test
    void aFailedStartDeletesTheSegmentsItCreated() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            DaemonConfig c = onTakenPort(taken.getLocalPort());
            assertThatThrownBy(() -> Clockd.start(ConfigLoader.validate(c), SystemClocks.SYSTEM))
                    .isInstanceOf(IOException.class);
            assertThat(dir.resolve("gnomon")).doesNotExist();
            assertThat(dir.resolve("clockbound/shm0")).doesNotExist();
        }
    }

    @Test
    void aFailedStartLeavesASegmentThatWasThereBefore() throws Exception {
        // readers of a previous clockd's segment keep it mapped: it is not this start's to delete
        try (SegmentWriter before = SegmentWriter.open(dir.resolve("gnomon"));
             ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            DaemonConfig c = onTakenPort(taken.getLocalPort());
            assertThatThrownBy(() -> Clockd.start(ConfigLoader.validate(c), SystemClocks.SYSTEM))
                    .isInstanceOf(IOException.class);
            assertThat(Files.exists(before.path())).isTrue();
            assertThat(dir.resolve("clockbound/shm0")).doesNotExist();
        }
    }
}
