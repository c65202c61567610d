package io.gnomon.clockd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gnomon.clockd.config.ConfigLoader;
import io.gnomon.clockd.config.DaemonConfig;
import io.gnomon.clockd.testing.FakeNtpServer;
import io.gnomon.truetime.ClockStatus;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * clockd's page over plain HTTP against a running daemon fed by three fake NTP servers on loopback (one of them
 * a falseticker): the page and uPlot are served from the classpath, history and live events carry data, and bad
 * requests (unknown paths, malformed or huge queries, clients that send slowly or never read) get clear 4xx
 * answers, or are cut, while the daemon goes on publishing.
 */
class ClockdPageHttpTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    static final List<AutoCloseable> started = new ArrayList<>();
    static Clockd clockd;
    static String base;
    @TempDir static Path dir;

    @BeforeAll
    static void startClockd() throws Exception {
        List<String> servers = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            FakeNtpServer ntp = FakeNtpServer.start();
            started.add(ntp);
            servers.add("127.0.0.1:" + ntp.port());
            if (i == 2) {
                ntp.setOffset(Duration.ofSeconds(5));
            }
        }
        DaemonConfig c = LoopbackConfig.of(dir.resolve("segment"), servers);
        c.journal.dir = dir.resolve("journal").toString();
        clockd = Clockd.start(ConfigLoader.validate(c), SystemClocks.SYSTEM);
        started.add(clockd);
        base = "http://127.0.0.1:" + clockd.metricsPort();
        ClockdEndToEndTest.awaitEstimate(clockd, e -> e.snapshot().status() == ClockStatus.SYNCHRONIZED
                && e.sources().get(2).falseticker());
    }

    @AfterAll
    static void stopAll() throws Exception {
        for (int i = started.size() - 1; i >= 0; i--) {
            started.get(i).close();
        }
    }

    static HttpResponse<String> get(String pathAndQuery) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(base + pathAndQuery)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void thePageAndUplotAreServedByClockdItself() throws Exception {
        HttpResponse<String> page = get("/");
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("Content-Type")).hasValue("text/html; charset=utf-8");
        assertThat(page.body()).contains("<script src=\"/uplot/uPlot.iife.min.js\">").doesNotContain("https://");
        HttpResponse<String> uplot = get("/uplot/uPlot.iife.min.js");
        assertThat(uplot.statusCode()).isEqualTo(200);
        assertThat(uplot.body()).contains("uPlot").hasSizeGreaterThan(40_000);
        assertThat(get("/uplot/uPlot.min.css").statusCode()).isEqualTo(200);
        assertThat(get("/page.js").body()).contains("EventSource");
        assertThat(get("/page.css").statusCode()).isEqualTo(200);
    }

    @Test
    void historyComesFromTheJournalInFixedBuckets() throws Exception {
        await().atMost(Duration.ofSeconds(10)).until(() -> nonNull(JSON.readTree(get("/api/history?range=600").body())
                .path("sources").path(clockd.daemon().latest().sources().get(2).name()).path("offsetNanos")) > 0);
        JsonNode h = JSON.readTree(get("/api/history?range=hour").body());
        assertThat(h.path("journal").asBoolean()).isTrue();
        assertThat(h.path("t")).hasSize(600);
        assertThat(nonNull(h.path("boundNanos"))).isPositive();
        assertThat(h.path("sources").size()).isEqualTo(3);
        assertThat(h.path("events").toString()).contains("clockd started", "is a falseticker");
        // the falseticker's worst state per bucket; the honest sources, selected throughout, carry no state array
        String liar = clockd.daemon().latest().sources().get(2).name();
        assertThat(h.path("sources").path(liar).path("state")).anyMatch(v -> v.asText().equals("falseticker"));
        assertThat(JSON.readTree(get("/api/history?range=day").body()).path("t")).hasSize(600);
    }

    static int nonNull(JsonNode values) {
        int n = 0;
        for (JsonNode v : values) {
            n += v.isNull() ? 0 : 1;
        }
        return n;
    }

    @Test
    void liveEventsCarryTheStatusInTruetimeStatusWordsAndEachSourceState() throws Exception {
        try (Socket s = new Socket("127.0.0.1", clockd.metricsPort())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("GET /events HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            assertThat(in.readLine()).isEqualTo("HTTP/1.1 200 OK");
            String state = null;
            for (String line; state == null && (line = in.readLine()) != null; ) {
                if (line.startsWith("data: {\"t\"")) {
                    state = line.substring("data: ".length());
                }
            }
            JsonNode st = JSON.readTree(state);
            assertThat(st.path("status").asText()).isEqualTo("SYNCHRONIZED");
            assertThat(st.path("headline").asText()).isEqualTo("SYNCHRONIZED");
            assertThat(st.path("why").asText()).contains("agree");
            assertThat(st.path("meaning").asText()).startsWith("a majority of clockd's time sources agree");
            assertThat(st.path("sources")).extracting(n -> n.path("state").asText())
                    .containsExactly("selected", "selected", "falseticker");
            assertThat(st.path("sources").get(0).path("condition").asText()).isEqualTo("POLLING");
        }
    }

    @Test
    void badRequestsGetOneLineReasons() throws Exception {
        assertAnswer("/nope", 404, "not found: /nope; try / (the page), /metrics or /healthz");
        assertAnswer("/api/history?range=abc", 400, "bad request: range: 'abc' is not hour, day or a number of seconds");
        assertAnswer("/api/history?range=5", 400, "bad request: range: 5 s is outside 60..604800 s");
        assertAnswer("/api/history?range=99999999999999999999", 400,
                "bad request: range: '99999999999999999999' is not hour, day or a number of seconds");
        assertAnswer("/api/history?rnage=hour", 400, "bad request: unknown query parameter 'rnage'; this path takes range");
        assertAnswer("/api/history?range=hour&range=day", 400, "bad request: query parameter range given twice");
        assertThat(rawStatusLine("GET /api/history?range=%zz HTTP/1.1")).isEqualTo("HTTP/1.1 400 Bad Request");
        assertThat(rawStatusLine("GET /api/history?range=%25 HTTP/1.1")).isEqualTo("HTTP/1.1 400 Bad Request");
        assertAnswer("/metrics?x=1", 400, "bad request: unknown query parameter 'x'; this path takes none");
        String huge = "a".repeat(100_000);
        assertAnswer("/api/history?range=" + huge, 400, "bad request: query of 100006 characters; at most 1024");
        assertAnswer("/" + huge, 404, "not found: /" + "a".repeat(63) + "...; try / (the page), /metrics or /healthz");
        HttpResponse<String> post = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/api/history"))
                .POST(HttpRequest.BodyPublishers.ofString("x")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(post.statusCode()).isEqualTo(405);
    }

    /** The status line answered to {@code requestLine}, sent as it is (java.net.URI refuses malformed ones). */
    static String rawStatusLine(String requestLine) throws Exception {
        try (Socket s = new Socket("127.0.0.1", clockd.metricsPort())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write((requestLine + "\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII)).readLine();
        }
    }

    static void assertAnswer(String pathAndQuery, int code, String line) throws Exception {
        HttpResponse<String> r = get(pathAndQuery);
        assertThat(r.statusCode()).as(pathAndQuery).isEqualTo(code);
        assertThat(r.body()).isEqualTo(line + "\n");
    }

    /**
     * Pages past the limit are refused; clients that never read their events, and clients that send their
     * request a byte at a time, hold only HTTP threads: publishing goes on, and the port answers again once the
     * slow senders are cut.
     */
    @Test
    void manySlowClientsNeverStopThePublishing() throws Exception {
        List<Socket> idle = new ArrayList<>();
        try {
            for (int i = 0; i < 16; i++) { // the page's limit: 16 live pages; these never read
                Socket s = new Socket("127.0.0.1", clockd.metricsPort());
                s.setReceiveBufferSize(1024);
                s.getOutputStream().write("GET /events HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                idle.add(s);
            }
            await().atMost(Duration.ofSeconds(10)).until(() ->
                    rawStatusLine("GET /events HTTP/1.1").startsWith("HTTP/1.1 429"));
            assertThat(get("/events").body()).isEqualTo("too many live pages open (16): close one, or raise the limit\n");
            for (int i = 0; i < 40; i++) { // more than the HTTP threads and their queue: a request line never finished
                Socket s = new Socket("127.0.0.1", clockd.metricsPort());
                s.getOutputStream().write("GET /metr".getBytes(StandardCharsets.US_ASCII));
                idle.add(s);
            }
            long asOf = clockd.daemon().latest().snapshot().asOfMonotonicNanos();
            await().atMost(Duration.ofSeconds(5)).until(() ->
                    clockd.daemon().latest().snapshot().asOfMonotonicNanos() > asOf + 2_000_000_000L);
            assertThat(clockd.daemon().latest().snapshot().status()).isEqualTo(ClockStatus.SYNCHRONIZED);
            // the JDK server cuts a request not sent within 10 s; then the port answers again
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500))
                    .until(() -> get("/healthz").statusCode() == 200);
        } finally {
            for (Socket s : idle) {
                s.close();
            }
        }
        // closed pages free their places
        await().atMost(Duration.ofSeconds(30)).until(() -> rawStatusLine("GET /events HTTP/1.1").equals("HTTP/1.1 200 OK"));
    }

}
