package io.gnomon.clockd.publish;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Plain HTTP for operators and Prometheus: {@code GET /metrics} (text exposition format 0.0.4) and
 * {@code GET /healthz} ("ok" while the process serves). Other paths get 404, other methods 405.
 *
 * <pre>{@code
 * try (HttpEndpoint http = HttpEndpoint.start(new InetSocketAddress("127.0.0.1", 9360), metrics)) {
 *     // curl http://127.0.0.1:9360/metrics
 * }
 * }</pre>
 */
public final class HttpEndpoint implements AutoCloseable {

    static final String METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
    /** Scrapes are rare and cheap: two threads, a short queue, and past that the accepting thread serves. */
    static final int HANDLER_THREADS = 2;
    static final int HANDLER_QUEUE_LENGTH = 16;
    static final int BACKLOG = 16;

    private final HttpServer server;
    private final ThreadPoolExecutor executor;

    private HttpEndpoint(HttpServer server, ThreadPoolExecutor executor) {
        this.server = server;
        this.executor = executor;
    }

    /**
     * Binds {@code bindAddress} (port 0 picks a free port) and starts serving {@code metrics}.
     *
     * @throws IOException if the address cannot be bound; the message names it
     */
    public static HttpEndpoint start(InetSocketAddress bindAddress, ClockMetrics metrics) throws IOException {
        Objects.requireNonNull(bindAddress, "bindAddress");
        Objects.requireNonNull(metrics, "metrics");
        HttpServer server;
        String where = bindAddress.getHostString() + ":" + bindAddress.getPort();
        try {
            server = HttpServer.create(bindAddress, BACKLOG);
        } catch (BindException e) {
            throw new IOException("HTTP metrics port " + where + " is in use (or the address is not local);"
                    + " choose another port or stop the process holding it", e);
        }
        AtomicInteger threadNumber = new AtomicInteger();
        ThreadPoolExecutor executor = new ThreadPoolExecutor(HANDLER_THREADS, HANDLER_THREADS, 0, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(HANDLER_QUEUE_LENGTH), r -> {
                    Thread t = new Thread(r, "gnomon-http-" + threadNumber.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                }, new ThreadPoolExecutor.CallerRunsPolicy());
        server.setExecutor(executor);
        server.createContext("/", exchange -> handle(exchange, metrics));
        server.start();
        return new HttpEndpoint(server, executor);
    }

    private static void handle(HttpExchange exchange, ClockMetrics metrics) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            boolean known = "/metrics".equals(path) || "/healthz".equals(path);
            if (!known) {
                respond(exchange, 404, "text/plain; charset=utf-8", "not found: try /metrics or /healthz\n");
                return;
            }
            if (!"GET".equals(exchange.getRequestMethod())) {
                exchange.getResponseHeaders().set("Allow", "GET");
                respond(exchange, 405, "text/plain; charset=utf-8", "method not allowed: use GET\n");
                return;
            }
            if ("/metrics".equals(path)) {
                respond(exchange, 200, METRICS_CONTENT_TYPE, metrics.scrape());
            } else {
                respond(exchange, 200, "text/plain; charset=utf-8", "ok\n");
            }
        }
    }

    private static void respond(HttpExchange exchange, int code, String contentType, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", contentType);
        exchange.sendResponseHeaders(code, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    /** The bound port (the chosen one if started with port 0). */
    public int port() {
        return server.getAddress().getPort();
    }

    /**
     * Stops at once: exchanges are a scrape or a health check, and JDK 17's {@code stop(delay)} may wait
     * the whole delay even when none is open.
     */
    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
