package io.gnomon.clockd.page;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpContext;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpPrincipal;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The publish path's side of the live pages: it never waits on a page, and a page that stops reading goes. */
class LiveClientsTest {

    @Test
    void aPageThatStopsReadingIsDroppedWithoutEverBlockingTheBroadcast() throws Exception {
        LiveClients live = new LiveClients(2, 8);
        CountDownLatch unblock = new CountDownLatch(1);
        assertThat(live.add(new Exchange(new OutputStream() { // a page whose socket is full: every write waits
            @Override
            public void write(int b) throws java.io.IOException {
                try {
                    unblock.await();
                } catch (InterruptedException e) {
                    throw new java.io.InterruptedIOException();
                }
                throw new java.io.IOException("closed");
            }
        }), "first\n\n")).isTrue();
        long started = System.nanoTime();
        for (int i = 0; i < 10_000; i++) {
            live.broadcast("event: state\ndata: {}\n\n");
        }
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(1));
        assertThat(live.count()).as("a dropped page keeps its place until its writer ends").isEqualTo(1);
        unblock.countDown(); // the server cuts the connection: the write fails, the writer ends
        await().atMost(Duration.ofSeconds(5)).until(() -> live.count() == 0);
    }

    @Test
    void pagesPastTheLimitAreRefused() throws Exception {
        LiveClients live = new LiveClients(2, 8);
        assertThat(live.add(new Exchange(OutputStream.nullOutputStream()), "")).isTrue();
        assertThat(live.add(new Exchange(OutputStream.nullOutputStream()), "")).isTrue();
        assertThat(live.add(new Exchange(OutputStream.nullOutputStream()), "")).isFalse();
        live.close();
        await().atMost(Duration.ofSeconds(5)).until(() -> live.count() == 0);
    }

    /** An exchange whose response body is {@code body}; what a stream needs and nothing else. */
    static final class Exchange extends HttpExchange {
        private final OutputStream body;
        private final Headers responseHeaders = new Headers();

        Exchange(OutputStream body) {
            this.body = body;
        }

        @Override public Headers getRequestHeaders() { return new Headers(); }
        @Override public Headers getResponseHeaders() { return responseHeaders; }
        @Override public URI getRequestURI() { return URI.create("/events"); }
        @Override public String getRequestMethod() { return "GET"; }
        @Override public HttpContext getHttpContext() { return null; }
        @Override public void close() { }
        @Override public InputStream getRequestBody() { return new ByteArrayInputStream(new byte[0]); }
        @Override public OutputStream getResponseBody() { return body; }
        @Override public void sendResponseHeaders(int code, long length) { }
        @Override public InetSocketAddress getRemoteAddress() { return new InetSocketAddress("127.0.0.1", 1); }
        @Override public int getResponseCode() { return 200; }
        @Override public InetSocketAddress getLocalAddress() { return new InetSocketAddress("127.0.0.1", 2); }
        @Override public String getProtocol() { return "HTTP/1.1"; }
        @Override public Object getAttribute(String name) { return null; }
        @Override public void setAttribute(String name, Object value) { }
        @Override public void setStreams(InputStream i, OutputStream o) { }
        @Override public HttpPrincipal getPrincipal() { return null; }
    }
}
