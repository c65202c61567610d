package io.gnomon.clockd.cli;

import io.gnomon.clockd.config.Settings;
import io.gnomon.clockd.source.NtpSource;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The {@code --server} flag takes the same per-server poll interval as the file's {@code servers} entries. */
class ClockdMainTest {

    private static Settings settings(String... args) throws Exception {
        ClockdMain main = new ClockdMain();
        new CommandLine(main).parseArgs(args);
        return main.settings();
    }

    @Test
    void aServerFlagMayCarryItsOwnShortPoll() throws Exception {
        Settings s = settings("--server", "127.0.0.1:12123,poll-interval-ms=2000", "--server", "127.0.0.2");
        assertThat(s.servers()).extracting(NtpSource.Server::pollIntervalNanos)
                .containsExactly(Duration.ofSeconds(2).toNanos(), Duration.ofSeconds(64).toNanos());
        assertThat(s.serverNames()).containsExactly("ntp:127.0.0.1:12123", "ntp:127.0.0.2:123");
    }

    @Test
    void aBadServerOptionNamesTheFlagTheOptionAndTheRule() {
        assertThatThrownBy(() -> settings("--server", "127.0.0.1,poll=2s"))
                .hasMessage("--server '127.0.0.1,poll=2s': unknown option 'poll=2s' (known: poll-interval-ms=MS)");
        assertThatThrownBy(() -> settings("--server", "127.0.0.1,poll-interval-ms=2s"))
                .hasMessage("--server '127.0.0.1,poll-interval-ms=2s': poll-interval-ms '2s' is not a whole number "
                        + "of milliseconds");
    }
}
