package io.gnomon.clockd.publish;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Plain HTTP for operators and Prometheus: {@code GET /metrics} (text exposition format 0.0.4),
 * {@code GET /healthz} ("ok" while the process serves) and, when given {@link Routes}, clockd's live page.
 * Other paths get 404, other methods 405, an over-long or malformed query 400, each with a one-line reason.
 * Nothing here runs on the daemon's publish path: a stuck client only ever holds an HTTP thread.
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
    /** A query longer than this is refused before it is parsed. */
    public static final int MAX_QUERY_CHARS = 1024;
    /** A client slower than this to send its request is disconnected (JDK property, seconds). */
    static final String MAX_REQUEST_SECONDS = "10";
    /**
     * A response (a live page's event stream included) is cut after this (JDK property, seconds): so a page
     * that stopped reading frees its slot; the browser's EventSource reconnects by itself.
     */
    static final String MAX_RESPONSE_SECONDS = "600";

    static {
        // The JDK's server reads these once, when its first instance is made; an operator's -D wins.
        if (System.getProperty("sun.net.httpserver.maxReqTime") == null) {
            System.setProperty("sun.net.httpserver.maxReqTime", MAX_REQUEST_SECONDS);
        }
        if (System.getProperty("sun.net.httpserver.maxRspTime") == null) {
            System.setProperty("sun.net.httpserver.maxRspTime", MAX_RESPONSE_SECONDS);
        }
    }

    /** More paths served beside /metrics and /healthz (clockd's page). */
    public interface Routes {
        boolean handles(String path);

        /**
         * Answers a GET of {@code path} with its parsed {@code query}, or throws {@link BadRequest} before
         * answering. Returns true if it keeps the exchange open for a stream (then it closes it itself).
         */
        boolean handle(HttpExchange exchange, String path, Map<String, String> query) throws IOException;
    }

    /** A request the client must change: answered 400 with the message as the one-line reason. */
    public static final class BadRequest extends RuntimeException {
        public BadRequest(String reason) {
            super(reason, null, false, false);
        }
    }

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
        return start(bindAddress, metrics, null);
    }

    /** As {@link #start(InetSocketAddress, ClockMetrics)}, also serving {@code routes} (null: none). */
    public static HttpEndpoint start(InetSocketAddress bindAddress, ClockMetrics metrics, Routes routes)
            throws IOException {
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
        server.createContext("/", exchange -> handle(exchange, metrics, routes));
        server.start();
        return new HttpEndpoint(server, executor);
    }

    private static void handle(HttpExchange exchange, ClockMetrics metrics, Routes routes) throws IOException {
        String path = exchange.getRequestURI().getRawPath();
        boolean routed = routes != null && routes.handles(path);
        boolean known = routed || "/metrics".equals(path) || "/healthz".equals(path);
        try {
            if (!known) {
                respond(exchange, 404, "not found: " + clip(path) + "; try " + (routes != null ? "/ (the page), " : "")
                        + "/metrics or /healthz\n");
            } else if (!"GET".equals(exchange.getRequestMethod())) {
                exchange.getResponseHeaders().set("Allow", "GET");
                respond(exchange, 405, "method not allowed: use GET\n");
            } else {
                Map<String, String> query = query(exchange.getRequestURI().getRawQuery());
                if (routed && routes.handle(exchange, path, query)) {
                    return; // a stream: the routes close it
                }
                if (routed) {
                    // answered
                } else if (!query.isEmpty()) {
                    expectQuery(query, Set.of());
                } else if ("/metrics".equals(path)) {
                    respond(exchange, 200, METRICS_CONTENT_TYPE, metrics.scrape());
                } else {
                    respond(exchange, 200, "ok\n");
                }
            }
        } catch (BadRequest e) {
            respond(exchange, 400, "bad request: " + e.getMessage() + "\n");
        }
        exchange.close();
    }

    /** Parses {@code name=value&...} (percent-decoded); a name given twice, or a query too long, is a {@link BadRequest}. */
    static Map<String, String> query(String rawQuery) {
        Map<String, String> query = new LinkedHashMap<>();
        if (rawQuery == null || rawQuery.isEmpty()) {
            return query;
        }
        if (rawQuery.length() > MAX_QUERY_CHARS) {
            throw new BadRequest("query of " + rawQuery.length() + " characters; at most " + MAX_QUERY_CHARS);
        }
        for (String pair : rawQuery.split("&")) {
            int eq = pair.indexOf('=');
            String name;
            String value;
            try {
                name = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
                value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                throw new BadRequest("query parameter '" + clip(pair) + "' is not percent-encoded correctly");
            }
            if (query.put(name, value) != null) {
                throw new BadRequest("query parameter " + clip(name) + " given twice");
            }
        }
        return query;
    }

    /** Refuses a query naming a parameter outside {@code allowed}. */
    public static void expectQuery(Map<String, String> query, Set<String> allowed) {
        for (String name : query.keySet()) {
            if (!allowed.contains(name)) {
                throw new BadRequest("unknown query parameter '" + clip(name) + "'"
                        + (allowed.isEmpty() ? "; this path takes none" : "; this path takes " + String.join(", ", allowed)));
            }
        }
    }

    /** {@code text} cut to 64 characters and stripped of control characters, fit to quote in a one-line reason. */
    public static String clip(String text) {
        String oneLine = text.replaceAll("\\p{Cntrl}", "?");
        return oneLine.length() <= 64 ? oneLine : oneLine.substring(0, 64) + "...";
    }

    /** Sends {@code body} as plain text (one line for errors); leaves the exchange open for the caller to close. */
    public static void respond(HttpExchange exchange, int code, String body) throws IOException {
        respond(exchange, code, "text/plain; charset=utf-8", body);
    }

    public static void respond(HttpExchange exchange, int code, String contentType, String body) throws IOException {
        respond(exchange, code, contentType, body.getBytes(StandardCharsets.UTF_8));
    }

    public static void respond(HttpExchange exchange, int code, String contentType, byte[] bytes) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", contentType);
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
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
