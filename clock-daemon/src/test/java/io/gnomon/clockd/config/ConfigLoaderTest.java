package io.gnomon.clockd.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.gnomon.clockd.source.NtpSource;

import java.nio.file.Files;
import java.time.Duration;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConfigLoaderTest {
    @TempDir Path dir;

    Settings load(String yaml) throws Exception {
        Path f = dir.resolve("clockd.yaml");
        Files.writeString(f, yaml);
        return ConfigLoader.validate(ConfigLoader.read(f));
    }

    @Test
    void defaultsBindLoopbackAndUseSpannersDrift() throws Exception {
        Settings s = load("");
        assertThat(s.servers()).isEmpty();
        assertThat(s.grpcAddress().getAddress().isLoopbackAddress()).isTrue();
        assertThat(s.metricsAddress().getAddress().isLoopbackAddress()).isTrue();
        assertThat(s.grpcAddress().getPort()).isEqualTo(7360);
        // 200 ppm against true time is 200.04 ppb-per-local-ns after the d/(1-d) inflation, rounded up
        assertThat(s.maxDriftPpb()).isEqualTo(200_041);
    }

    @Test
    void theClockBoundSegmentIsOffByDefaultAndNeedsItsOwnFile() throws Exception {
        assertThat(load("").clockBoundPath()).isNull();
        assertThat(load("publish:\n  clockbound: {enabled: true}\n").clockBoundPath())
                .isEqualTo(Path.of("/var/run/clockbound/shm0"));
        assertThatThrownBy(() -> load("publish:\n  segmentPath: /tmp/x\n  clockbound: {enabled: true, path: /tmp/x}\n"))
                .hasMessage("publish.clockbound.path: '/tmp/x' is publish.segmentPath too; the two segments need two files");
    }

    @Test
    void serversAreResolvedAndNamed() throws Exception {
        Settings s = load("servers: [127.0.0.1:12123, 127.0.0.2, '[::1]:1234']\n");
        assertThat(s.serverNames()).containsExactly("ntp:127.0.0.1:12123", "ntp:127.0.0.2:123", "ntp:0:0:0:0:0:0:0:1:1234");
    }

    @Test
    void serversArePolledPolitelyUnlessTheyHaveTheirOwnShortPoll() throws Exception {
        Settings s = load("servers:\n  - 127.0.0.1:12123\n  - host: 127.0.0.2\n    pollIntervalMillis: 2000\n");
        assertThat(s.servers()).extracting(NtpSource.Server::pollIntervalNanos)
                .containsExactly(Duration.ofSeconds(64).toNanos(), Duration.ofSeconds(2).toNanos());
        assertThat(s.serverNames()).containsExactly("ntp:127.0.0.1:12123", "ntp:127.0.0.2:123");
        // the top-level interval is the default of servers without their own
        assertThat(load("pollIntervalMillis: 128000\nservers: [127.0.0.1]\n").servers().get(0).pollIntervalNanos())
                .isEqualTo(Duration.ofSeconds(128).toNanos());
        assertThatThrownBy(() -> load("servers:\n  - host: 127.0.0.1\n    pollIntervalMillis: 0\n"))
                .hasMessage("servers[0].pollIntervalMillis: 0 must be > 0");
        assertThatThrownBy(() -> load("servers:\n  - pollIntervalMillis: 2000\n"))
                .hasMessage("servers[0]: empty server");
        assertThatThrownBy(() -> load("servers:\n  - host: 127.0.0.1\n    poll: 2s\n"))
                .hasMessageContaining("unknown key 'poll'").hasMessageContaining("pollIntervalMillis");
    }

    /** The documented example parses, and its pool servers get the polite default poll (no lookup at validation). */
    @Test
    void theDeployExampleIsValid() throws Exception {
        Settings s = ConfigLoader.validate(ConfigLoader.read(Path.of("../deploy/clockd.example.yaml")));
        assertThat(s.serverNames()).containsExactly("ntp:0.debian.pool.ntp.org:123", "ntp:1.debian.pool.ntp.org:123",
                "ntp:2.debian.pool.ntp.org:123");
        assertThat(s.servers()).allMatch(server -> server.pollIntervalNanos() == Duration.ofSeconds(64).toNanos());
    }

    @Test
    void aHostNameIsLeftForClockdToResolveAndRetry() throws Exception {
        Settings s = load("servers: [Time.Gnomon.INVALID:1123]\n");
        assertThat(s.servers().get(0).address().isUnresolved()).isTrue();
        assertThat(s.serverNames()).containsExactly("ntp:time.gnomon.invalid:1123");
    }

    @Test
    void unknownKeyIsOneLineNamingTheKeyAndLine() {
        assertThatThrownBy(() -> load("servers: []\npollIntervalMilis: 5\n"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("line 2").hasMessageContaining("unknown key 'pollIntervalMilis'")
                .hasMessageContaining("pollIntervalMillis")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    @Test
    void badPortIsRejected() {
        assertThatThrownBy(() -> load("grpc:\n  port: 70000\n"))
                .hasMessage("grpc.port: 70000 is not a port (0-65535; 0 picks a free one)");
        assertThatThrownBy(() -> load("servers: ['127.0.0.1:0']\n"))
                .hasMessageContaining("servers[0]: port 0 in '127.0.0.1:0' is not a port");
        assertThatThrownBy(() -> load("servers: ['127.0.0.1:ntp']\n"))
                .hasMessageContaining("servers[0]: bad port 'ntp'");
    }

    @Test
    void aSyntacticallyInvalidHostIsRejected() {
        assertThatThrownBy(() -> load("servers: ['-bad-.example.org']\n"))
                .hasMessageStartingWith("servers[0]: '-bad-.example.org' is not a host name or IP address");
        assertThatThrownBy(() -> load("servers: ['ntp_1.example.org']\n"))
                .hasMessageStartingWith("servers[0]: 'ntp_1.example.org' is not a host name or IP address");
        assertThatThrownBy(() -> load("servers: ['[::1::2]:123']\n"))
                .hasMessage("servers[0]: '::1::2' is not an IP address");
    }

    @Test
    void badValuesAreRejected() {
        assertThatThrownBy(() -> load("maxDriftPpm: 0\n")).hasMessageContaining("maxDriftPpm: 0.0 must be > 0");
        assertThatThrownBy(() -> load("publish:\n  voidAfterMillis: 500\n  intervalMillis: 1000\n"))
                .hasMessageContaining("publish.voidAfterMillis: 500 must exceed publish.intervalMillis");
        assertThatThrownBy(() -> load("servers: [a, a]\n")).isInstanceOf(ConfigException.class);
        assertThatThrownBy(() -> load("maxDriftPpm: lots\n")).hasMessageContaining("line 1");
    }

    @Test
    void aValueOfTheWrongShapeSaysTheRuleAndTheLine() {
        assertThatThrownBy(() -> load("pollIntervalMillis: 500\nservers: 127.0.0.1\n"))
                .hasMessageEndingWith("clockd.yaml line 2: 'servers' must be a list (one '- host' per line, or [a, b]), "
                        + "got a scalar ('127.0.0.1')");
        assertThatThrownBy(() -> load("servers:\n  - a\n  - [b]\n"))
                .hasMessageEndingWith("line 3: 'servers[1]' must be a host (host or host:port), or a mapping with "
                        + "'host' and 'pollIntervalMillis', got a list");
        assertThatThrownBy(() -> load("publish:\n  intervalMillis: [1]\n"))
                .hasMessageEndingWith("line 2: 'publish.intervalMillis' must be a whole number, got a list");
        assertThatThrownBy(() -> load("maxDriftPpm: lots\n")).hasMessageEndingWith("line 1: 'maxDriftPpm' must be a number, got 'lots'");
        // once read as an Endpoint(int) constructor, starting clockd on a port nobody asked for
        assertThatThrownBy(() -> load("grpc: 7360\n"))
                .hasMessageEndingWith("line 1: 'grpc' must be a mapping (indented 'key: value' lines below it), got a scalar (7360)");
    }

    @Test
    void aYamlSyntaxErrorGivesLineColumnAndTheProblemInWords() {
        assertThatThrownBy(() -> load("publish:\n  segmentPath: /tmp/x\n intervalMillis: 200\n"))
                .hasMessageContaining("clockd.yaml line 3, column 2: not valid YAML: this line's indentation does not "
                        + "match the lines above it")
                .hasMessageContaining("[while parsing a block mapping: expected <block end>")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
        assertThatThrownBy(() -> load("servers:\n  - a\n\t- b\n"))
                .hasMessageContaining("line 3, column 1: not valid YAML: a tab character; YAML indents with spaces only");
        assertThatThrownBy(() -> load("servers: [a, b\n"))
                .hasMessageContaining("not valid YAML: an unclosed '[' or '{'");
    }

    @Test
    void serversFromAFlagAreNamedByTheFlag() {
        DaemonConfig c = new DaemonConfig();
        c.servers = java.util.List.of(new DaemonConfig.Server("127.0.0.1:ntp"));
        c.serversFlag = "--server";
        assertThatThrownBy(() -> ConfigLoader.validate(c)).hasMessage("--server '127.0.0.1:ntp': bad port 'ntp' in '127.0.0.1:ntp'");
    }

    @Test
    void missingFileIsClear() {
        assertThatThrownBy(() -> ConfigLoader.read(dir.resolve("nope.yaml")))
                .hasMessageEndingWith("nope.yaml: no such file");
    }
}
