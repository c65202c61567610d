package io.gnomon.clockd.testing;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

class ChronyServerTest {
    @Test
    void startsAnswersAndStops(@TempDir Path dir) throws Exception {
        ChronyServer s = ChronyServer.start(dir, "127.0.0.2");
        try (s) {
            assertThat(s.answers(Duration.ofSeconds(1))).isTrue();
        }
        assertThat(s.answers(Duration.ofMillis(300))).isFalse();
    }
}
