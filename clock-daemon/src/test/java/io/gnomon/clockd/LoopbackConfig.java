package io.gnomon.clockd;

import io.gnomon.clockd.config.DaemonConfig;

import java.nio.file.Path;
import java.util.List;

/** Daemon configurations for in-process tests against the test's own servers on loopback. */
final class LoopbackConfig {
    private LoopbackConfig() {
    }

    /**
     * {@code servers} polled every 200 ms (the explicit short poll of servers the operator runs, as the test does),
     * gRPC and metrics on ephemeral ports, no journal, the segment at {@code segment}.
     */
    static DaemonConfig of(Path segment, List<String> servers) {
        DaemonConfig c = new DaemonConfig();
        c.servers = servers.stream().map(DaemonConfig.Server::new).toList();
        c.pollIntervalMillis = 200;
        c.grpc.port = 0;
        c.metrics.port = 0;
        c.journal.dir = "";
        c.publish.segmentPath = segment.toString();
        return c;
    }
}
