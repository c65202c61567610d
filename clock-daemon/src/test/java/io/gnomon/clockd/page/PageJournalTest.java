package io.gnomon.clockd.page;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gnomon.clockd.SystemClocks;
import io.gnomon.clockd.publish.ClockMetrics;
import io.gnomon.clockd.publish.HttpEndpoint;
import io.gnomon.clockd.publish.TrueTimeService;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * History answers come from the page's summaries, not from reading the journal: a journal with nothing in it
 * yet is 600 empty buckets (no longer a 503), and summaries that cannot be kept beside the journal are kept in
 * memory, and the answer says they do not survive a restart.
 */
class PageJournalTest {
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir Path dir;

    JsonNode hour(Path journalDir) throws Exception {
        Page page = new Page(new TrueTimeService(SystemClocks.SYSTEM), SystemClocks.SYSTEM, journalDir, "test",
                Page.Limits.DEFAULT);
        try (page; HttpEndpoint http = HttpEndpoint.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                new ClockMetrics(), page)) {
            HttpRequest get = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http.port() + "/api/history?range=hour"))
                    .build();
            // the summaries are read back on a thread of their own: a 503 until then, which says so
            HttpResponse<String> r = await().atMost(Duration.ofSeconds(10)).until(
                    () -> HttpClient.newHttpClient().send(get, HttpResponse.BodyHandlers.ofString()), x -> {
                        if (x.statusCode() == 503) {
                            assertThat(x.body()).isIn("reading back the page's summaries after a start: retry shortly\n",
                                    "building the page's summaries from the last day of the journal (the first start"
                                            + " with them): retry shortly\n");
                        }
                        return x.statusCode() != 503;
                    });
            assertThat(r.statusCode()).isEqualTo(200);
            return JSON.readTree(r.body());
        }
    }

    @Test
    void anEmptyJournalIsSixHundredEmptyBuckets() throws Exception {
        JsonNode h = hour(dir);
        assertThat(h.path("journal").asBoolean()).isTrue();
        assertThat(h.path("boundNanos")).hasSize(600).allSatisfy(v -> assertThat(v.isNull()).isTrue());
        assertThat(dir.resolve(PageHistory.DIR).resolve("tier-6000ms.0")).exists();
    }

    @Test
    void summariesThatCannotBeKeptBesideTheJournalAreKeptInMemory() throws Exception {
        Path file = Files.writeString(dir.resolve("not-a-directory"), "x");
        JsonNode h = hour(file);
        assertThat(h.path("journal").asBoolean()).isFalse();
        assertThat(h.path("t")).hasSize(600);
    }
}
