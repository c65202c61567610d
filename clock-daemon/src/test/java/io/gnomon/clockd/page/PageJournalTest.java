package io.gnomon.clockd.page;

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
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** A journal the page cannot read yet (no cycle file) is a one-line 503, not a dropped connection. */
class PageJournalTest {
    @TempDir Path dir;

    @Test
    void anUnreadableJournalIsA503WithItsReason() throws Exception {
        Page page = new Page(new TrueTimeService(SystemClocks.SYSTEM), SystemClocks.SYSTEM, dir, "test",
                Page.Limits.DEFAULT);
        try (page; HttpEndpoint http = HttpEndpoint.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                new ClockMetrics(), page)) {
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                    "http://127.0.0.1:" + http.port() + "/api/history?range=hour")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(503);
            assertThat(r.body()).startsWith("cannot read the journal: no journal in " + dir).endsWith("; retry shortly\n")
                    .containsOnlyOnce("\n");
        }
    }
}
