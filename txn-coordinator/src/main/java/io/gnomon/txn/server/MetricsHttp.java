package io.gnomon.txn.server;

import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;

/** {@code GET /metrics} in Prometheus' text format on one address, from its own thread. */
public final class MetricsHttp implements AutoCloseable {
    private final HttpServer server;

    private MetricsHttp(HttpServer server) {
        this.server = server;
    }

    /** Serves {@code scrape} at {@code address}/metrics (port 0: any free port) until closed. */
    public static MetricsHttp serve(InetSocketAddress address, Supplier<String> scrape) throws IOException {
        HttpServer s = HttpServer.create(address, 16);
        s.createContext("/metrics", exchange -> {
            try (exchange) {
                if (!exchange.getRequestMethod().equals("GET")) {
                    exchange.sendResponseHeaders(405, -1);
                    return;
                }
                byte[] body = scrape.get().getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
                exchange.sendResponseHeaders(200, body.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            }
        });
        s.start();
        return new MetricsHttp(s);
    }

    public int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
