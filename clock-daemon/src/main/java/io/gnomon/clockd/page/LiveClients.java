package io.gnomon.clockd.page;

import com.sun.net.httpserver.HttpExchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The pages listening to server-sent events. Publishing never waits on one: {@link #broadcast} only offers
 * to each client's bounded queue, and a client whose queue is full (it reads too slowly, or not at all) is
 * dropped; its own writer thread does the blocking writes, and ends when its write fails or the HTTP server
 * cuts the response ({@code HttpEndpoint.MAX_RESPONSE_SECONDS}). The number of clients is bounded, dropped
 * ones counting until their thread ends, so threads are bounded too.
 */
final class LiveClients implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LiveClients.class);
    /** A comment line now and then, so a client gone quiet is noticed by a failing write. */
    static final long KEEPALIVE_NANOS = 15_000_000_000L;

    private final int maxClients;
    private final int queueLength;
    private final Set<Client> clients = ConcurrentHashMap.newKeySet();

    LiveClients(int maxClients, int queueLength) {
        if (maxClients < 1 || queueLength < 1) {
            throw new IllegalArgumentException("maxClients and queueLength must be >= 1, were " + maxClients
                    + " and " + queueLength);
        }
        this.maxClients = maxClients;
        this.queueLength = queueLength;
    }

    int count() {
        return clients.size();
    }

    /**
     * Starts streaming to {@code exchange} (response headers sent here, events by the client's own thread),
     * the first event being {@code first}; false (and nothing sent) when {@link #maxClients} already listen.
     */
    synchronized boolean add(HttpExchange exchange, String first) throws IOException {
        if (clients.size() >= maxClients) {
            return false;
        }
        exchange.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        exchange.sendResponseHeaders(200, 0);
        Client c = new Client(exchange, new ArrayBlockingQueue<>(queueLength));
        c.queue.offer(first);
        clients.add(c);
        Thread t = new Thread(c::run, "gnomon-page-sse");
        t.setDaemon(true);
        t.start();
        return true;
    }

    /** Offers {@code event} (a whole SSE event, ending in a blank line) to every client; never blocks. */
    void broadcast(String event) {
        for (Client c : clients) {
            if (!c.dropped && !c.queue.offer(event)) {
                log.info("live page client {} too slow ({} events queued): dropped", c.exchange.getRemoteAddress(),
                        queueLength);
                c.stop();
            }
        }
    }

    @Override
    public void close() {
        for (Client c : clients) {
            c.stop();
        }
    }

    private final class Client {
        /** A marker compared by identity: a string no caller can pass (literals are interned, this is not). */
        @SuppressWarnings("StringOperationCanBeSimplified")
        private static final String STOP = new String("stop");
        final HttpExchange exchange;
        final BlockingQueue<String> queue;
        volatile boolean dropped;

        Client(HttpExchange exchange, BlockingQueue<String> queue) {
            this.exchange = exchange;
            this.queue = queue;
        }

        void run() {
            try (OutputStream out = exchange.getResponseBody()) {
                while (true) {
                    String event = queue.poll(KEEPALIVE_NANOS, TimeUnit.NANOSECONDS);
                    if (event == STOP) { // identity: the marker, not an empty event
                        break;
                    }
                    out.write((event == null ? ": keep-alive\n\n" : event).getBytes(StandardCharsets.UTF_8));
                    out.flush();
                }
            } catch (IOException | InterruptedException | RuntimeException gone) {
                // the page went away (or was dropped): nothing to tell anyone
            } finally {
                clients.remove(this);
                exchange.close();
            }
        }

        /**
         * Ends the stream from any thread without waiting: the writer stops at its next event. Closing the
         * exchange here could block (it writes the last chunk), so a writer stuck in a write stays until the
         * write fails or the server cuts the response.
         */
        void stop() {
            dropped = true;
            queue.clear();
            queue.offer(STOP);
        }
    }
}
