package io.gnomon.clockd.cli;

import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.shm.ShmTrueTime;
import io.gnomon.truetime.testing.StopSignals;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The scripts in bin/ as an operator runs them: separate processes, real exit codes and messages. */
class LaunchScriptsTest {
    /** The embedded default's ε as printed: its assumed 1,000 ms, widened by at most a few milliseconds. */
    private static final java.util.regex.Pattern ASSUMED_BOUND = java.util.regex.Pattern.compile(" ± 100\\d\\.\\d{3} ms");

    static final Path BIN = Path.of("..", "bin").toAbsolutePath().normalize();

    record Run(int exitCode, String stdout, String stderr) {
    }

    static Run run(Path dir, String... command) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(command));
        cmd.set(0, BIN.resolve(command[0]).toString());
        Path out = Files.createTempFile(dir, "out", ".txt");
        Path err = Files.createTempFile(dir, "err", ".txt");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " did not finish");
        }
        return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    @Test
    void everyScriptHasHelp(@TempDir Path dir) throws Exception {
        for (String script : List.of("clockd", "truetime", "clockd-journal", "clock-sim")) {
            Run r = run(dir, script, "--help");
            assertThat(r.exitCode()).as(script + " --help: " + r.stderr()).isZero();
            assertThat(r.stdout()).startsWith("Usage: " + script);
        }
    }

    /** Counts below one are refused; progress stays off standard output, whose lines keep their format. */
    @Test
    void clockSimRefusesEmptyRunsAndKeepsItsResultsOnStandardOutput(@TempDir Path dir) throws Exception {
        for (String seeds : List.of("-1", "0")) {
            Run r = run(dir, "clock-sim", "--seeds", seeds);
            assertThat(r.exitCode()).isEqualTo(2);
            assertThat(r.stderr()).isEqualTo("clock-sim: --seeds must be >= 1, was " + seeds + "\n");
        }
        Run ok = run(dir, "clock-sim", "--scenario", "lan", "--seeds", "1", "--duration-seconds", "60");
        assertThat(ok.exitCode()).as(ok.stderr()).isZero();
        assertThat(ok.stdout()).matches("lan +1 seeds +[0-9,]+ samples +0 violations\n"
                + "total: [0-9,]+ samples checked, 0 violations \\(controls excluded\\)\n");
        assertThat(ok.stderr()).matches("clock-sim: [0-9.]+ s wall time\n");
    }

    @Test
    void badConfigurationIsOneLineAndExitCode2(@TempDir Path dir) throws Exception {
        Path conf = dir.resolve("bad.yaml");
        Files.writeString(conf, "servers: []\nmaxDrift: 100\n");
        Run r = run(dir, "clockd", "--config", conf.toString());
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.stderr().strip()).startsWith("clockd: config ").contains("unknown key 'maxDrift'")
                .doesNotContain("\n");
        Run scalar = run(dir, "clockd", "--config", Files.writeString(dir.resolve("scalar.yaml"), "servers: 127.0.0.1\n")
                .toString());
        assertThat(scalar.exitCode()).isEqualTo(2);
        assertThat(scalar.stderr().strip()).endsWith("line 1: 'servers' must be a list (one '- host' per line, or [a, b]), "
                + "got a scalar ('127.0.0.1')");
        Run flag = run(dir, "clockd", "--server", "127.0.0.1:ntp", "--segment", dir.resolve("segment").toString());
        assertThat(flag.exitCode()).isEqualTo(2);
        assertThat(flag.stderr().strip()).isEqualTo("clockd: --server '127.0.0.1:ntp': bad port 'ntp' in '127.0.0.1:ntp'");
        assertThat(dir.resolve("segment")).doesNotExist();
        Run port = run(dir, "clockd", "--grpc-port", "65536");
        assertThat(port.exitCode()).isEqualTo(2);
        assertThat(port.stderr().strip()).isEqualTo("clockd: grpc.port: 65536 is not a port (0-65535; 0 picks a free one)");
    }

    @Test
    void theMainJobPublishesTheEmbeddedDefaultAndTruetimeReadsIt(@TempDir Path dir) throws Exception {
        Path segment = dir.resolve("segment");
        Path clockBound = dir.resolve("clockbound/shm0");
        Path ready = dir.resolve("ready");
        Path log = dir.resolve("clockd.log");
        // wait, started before clockd: it retries a source that does not exist yet
        Process waiting = new ProcessBuilder(BIN.resolve("truetime").toString(), "wait", "--timeout", "60s",
                "--accept-unverified", "--segment", segment.toString()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("wait.log").toFile()).start();
        Process clockd = new ProcessBuilder(BIN.resolve("clockd").toString(), "--print", "--grpc-port", "0",
                "--metrics-port", "0", "--segment", segment.toString(), "--journal-dir", dir.resolve("journal").toString(),
                "--clockbound-segment", clockBound.toString(),
                "--ready-file", ready.toString()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(ready) || !clockd.isAlive());
            assertThat(clockd.isAlive()).as(() -> read(log)).isTrue();
            await().atMost(Duration.ofSeconds(10)).until(() -> read(log).contains("UNVERIFIED  ("));
            String grpcPort = Files.readAllLines(ready).get(0).replace("grpcPort=", "");

            // Refused by default: an assumption is not a measurement.
            Run refused = run(dir, "truetime", "now", "--segment", segment.toString());
            assertThat(refused.exitCode()).isEqualTo(3);
            assertThat(refused.stderr()).contains("UNVERIFIED").contains("no time source configured");

            Run accepted = run(dir, "truetime", "now", "--segment", segment.toString(), "--accept-unverified");
            assertThat(accepted.exitCode()).isZero();
            // The assumed 1 s, plus the daemon's clock-read bracket and drift since the snapshot: milliseconds at
            // most on a busy machine (once 1001.885 ms while a JVM started beside it), never less than 1000.
            assertThat(accepted.stdout()).containsPattern(ASSUMED_BOUND).endsWith("UNVERIFIED\n");

            // The same over gRPC: refused, unless accepted (the flag was once ignored there)
            Run refusedGrpc = run(dir, "truetime", "now", "--grpc", "127.0.0.1:" + grpcPort);
            assertThat(refusedGrpc.exitCode()).as(refusedGrpc.stderr()).isEqualTo(3);
            assertThat(refusedGrpc.stderr()).contains("UNVERIFIED").contains("no time source configured");
            Run acceptedGrpc = run(dir, "truetime", "now", "--grpc", "127.0.0.1:" + grpcPort, "--accept-unverified");
            assertThat(acceptedGrpc.exitCode()).as(acceptedGrpc.stderr()).isZero();
            assertThat(acceptedGrpc.stdout()).endsWith("UNVERIFIED\n");
            Run waitGrpc = run(dir, "truetime", "wait", "--timeout", "10s", "--source", "grpc:127.0.0.1:" + grpcPort,
                    "--accept-unverified");
            assertThat(waitGrpc.exitCode()).as(waitGrpc.stderr()).isZero();

            Run status = run(dir, "truetime", "status", "--grpc", "127.0.0.1:" + grpcPort);
            assertThat(status.exitCode()).isEqualTo(3);
            assertThat(status.stdout()).contains("status: UNVERIFIED  (not usable)").contains("why:    no time source configured");

            // The ClockBound segment says "unknown" (0) for an assumption, and the reader refuses it.
            Run clockBoundNow = run(dir, "truetime", "now", "--source", "clockbound:" + clockBound);
            assertThat(clockBoundNow.exitCode()).as(clockBoundNow.stderr()).isEqualTo(3);
            assertThat(clockBoundNow.stderr()).contains("ClockBound status 0");

            // wait: usable (accepting the local default) within its timeout, exit 0
            assertThat(waiting.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(waiting.exitValue()).as(() -> read(dir.resolve("wait.log"))).isZero();
            assertThat(read(dir.resolve("wait.log"))).containsPattern(ASSUMED_BOUND).contains("UNVERIFIED");
            // not usable, or not tight enough, within the timeout: exit 3, naming the last status and ε
            Run unverified = run(dir, "truetime", "wait", "--timeout", "300ms", "--segment", segment.toString());
            assertThat(unverified.exitCode()).isEqualTo(3);
            // the timeout asked for, not what was left of it after opening the segment; no "ε <= 9223372036.9 s"
            assertThat(unverified.stderr()).startsWith("truetime: TrueTime not usable within 300.0 ms: ")
                    .contains("last status UNVERIFIED, ε none");
            Run wide = run(dir, "truetime", "wait", "--timeout", "300ms", "--max-epsilon", "1ms", "--accept-unverified",
                    "--source", "gnomon:" + segment);
            assertThat(wide.exitCode()).isEqualTo(3);
            assertThat(wide.stderr()).contains("last status UNVERIFIED, ε 1.0 s (ε 1.0 s above the maximum 1.0 ms)");
        } finally {
            waiting.destroyForcibly();
            clockd.destroy();
            assertThat(clockd.waitFor(15, TimeUnit.SECONDS)).isTrue();
        }
        Run journal = run(dir, "clockd-journal", dir.resolve("journal").toString());
        assertThat(journal.exitCode()).isZero();
        assertThat(journal.stdout()).contains("snapshot").contains("status=UNVERIFIED");
    }

    @Test
    void sigtermAndSigintAreACleanStopWithExitCode0(@TempDir Path dir) throws Exception {
        for (String signal : List.of("TERM", "INT")) {
            Path segment = dir.resolve(signal + ".segment");
            Path journalDir = dir.resolve(signal + ".journal");
            Path ready = dir.resolve(signal + ".ready");
            Path log = dir.resolve(signal + ".log");
            Process clockd = new ProcessBuilder(BIN.resolve("clockd").toString(), "--grpc-port", "0",
                    "--metrics-port", "0", "--segment", segment.toString(), "--journal-dir", journalDir.toString(),
                    "--ready-file", ready.toString()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(ready) || !clockd.isAlive());
            StopSignals.stopCleanly(clockd, signal, Duration.ofSeconds(30), () -> read(log));
            assertThat(read(log)).contains("clockd: stopped; segment " + segment);
            // Closed, not cut off: the segment keeps its last snapshot (until its void-after) and the journal reads.
            assertThat(ShmTrueTime.openAcceptingUnverified(segment).status()).isEqualTo(ClockStatus.UNVERIFIED);
            Run journal = run(dir, "clockd-journal", journalDir.toString());
            assertThat(journal.exitCode()).as(journal.stderr()).isZero();
            assertThat(journal.stdout()).contains("status=UNVERIFIED");
        }
    }

    @Test
    void waitSaysWhenTheSourceNeverAppearsAndRejectsBadArguments(@TempDir Path dir) throws Exception {
        Run missing = run(dir, "truetime", "wait", "--timeout", "200ms", "--source", "clockbound:" + dir.resolve("none"));
        assertThat(missing.exitCode()).isEqualTo(1);
        assertThat(missing.stderr()).startsWith("truetime: source unavailable for 200.000 ms: ").contains("no ClockBound segment");
        Run unreachable = run(dir, "truetime", "wait", "--timeout", "300ms", "--source", "grpc:127.0.0.1:1");
        assertThat(unreachable.exitCode()).isEqualTo(1);
        assertThat(unreachable.stderr()).contains("cannot reach clockd");
        Run bad = run(dir, "truetime", "wait", "--timeout", "5 parsecs");
        assertThat(bad.exitCode()).isEqualTo(2);
        assertThat(bad.stderr()).contains("'5 parsecs' is not a duration");
        Run help = run(dir, "truetime", "wait", "--help");
        assertThat(help.stdout()).contains("Exit codes: 0 usable within the timeout, 1 source unavailable");
    }

    @Test
    void failuresAUserCanCauseAreOneLineWithTheRuleAndTheRightExitCode(@TempDir Path dir) throws Exception {
        String nobody;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            nobody = "127.0.0.1:" + s.getLocalPort(); // closed again: nothing listens there
        }
        for (List<String> cmd : List.of(List.of("status", "--grpc", nobody), List.of("watch", "--grpc", nobody),
                List.of("now", "--grpc", nobody), List.of("wait", "--timeout", "200ms", "--grpc", nobody))) {
            Run r = run(dir, concat("truetime", cmd));
            assertThat(r.exitCode()).as(cmd + ": " + r.stderr()).isEqualTo(1);
            assertThat(r.stderr()).as(cmd.toString()).contains("cannot reach clockd").doesNotContain("\tat ")
                    .doesNotContain("Caused by").hasLineCount(1);
        }
        Run noSegment = run(dir, "truetime", "status", "--segment", dir.resolve("none").toString());
        assertThat(noSegment.exitCode()).isEqualTo(1);
        assertThat(noSegment.stderr()).isEqualTo("truetime: " + dir.resolve("none") + ": no TrueTime segment (is clockd "
                + "running, and is this its segment path?)\n");
        Run verbose = run(dir, "truetime", "status", "--verbose", "--grpc", nobody);
        assertThat(verbose.stderr()).contains("\tat ").contains("Caused by");

        Run bare = run(dir, "truetime");
        assertThat(bare.exitCode()).isEqualTo(2);
        assertThat(bare.stderr()).startsWith("truetime: a command is required").contains("Usage: truetime");
        for (String script : List.of("truetime", "clockd", "clockd-journal", "clock-sim")) {
            Run version = run(dir, script, "-V");
            assertThat(version.exitCode()).isZero();
            assertThat(version.stdout()).matches(script + " \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?\n");
        }

        Run subcommand = run(dir, "truetime", "now", "-V");
        assertThat(subcommand.stdout()).isEqualTo(run(dir, "truetime", "-V").stdout());

        Run kind = run(dir, "truetime", "now", "--source", "foo:bar");
        assertThat(kind.exitCode()).isEqualTo(2);
        assertThat(kind.stderr()).startsWith("truetime: --source: unknown TrueTime source kind 'foo' in 'foo:bar' "
                + "(known: gnomon, clockbound, grpc;");
        Run port = run(dir, "truetime", "now", "--grpc", "host:notaport");
        assertThat(port.exitCode()).isEqualTo(2);
        assertThat(port.stderr()).startsWith("truetime: --grpc: 'host:notaport' is not HOST:PORT (").contains("1 to 65535")
                .doesNotContain("Invalid DNS name");
        Run watchPort = run(dir, "truetime", "watch", "--grpc", "host:notaport");
        assertThat(watchPort.exitCode()).isEqualTo(2);
        assertThat(watchPort.stderr()).startsWith("truetime: --grpc: 'host:notaport' is not HOST:PORT (");
    }

    private static String[] concat(String first, List<String> rest) {
        List<String> all = new ArrayList<>(List.of(first));
        all.addAll(rest);
        return all.toArray(String[]::new);
    }

    @Test
    void readersStopTrustingADaemonKilledWithSigkillAtItsVoidAfter(@TempDir Path dir) throws Exception {
        try (io.gnomon.clockd.testing.FakeNtpServer ntp = io.gnomon.clockd.testing.FakeNtpServer.start()) {
            Path segment = dir.resolve("segment");
            Path conf = dir.resolve("clockd.yaml");
            Files.writeString(conf, String.join("\n",
                    "servers: ['127.0.0.1:" + ntp.port() + "']",
                    "pollIntervalMillis: 200",
                    "publish:",
                    "  segmentPath: " + segment,
                    "  intervalMillis: 200",
                    "  voidAfterMillis: 1500",
                    "grpc: {port: 0}",
                    "metrics: {port: 0}",
                    "journal: {dir: ''}", ""));
            Path log = dir.resolve("clockd.log");
            Process clockd = new ProcessBuilder(BIN.resolve("clockd").toString(), "--config", conf.toString())
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            try {
                await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(segment) || !clockd.isAlive());
                io.gnomon.truetime.shm.ShmTrueTime shm = io.gnomon.truetime.shm.ShmTrueTime.open(segment);
                await().atMost(Duration.ofSeconds(30)).until(
                        () -> shm.status() == io.gnomon.truetime.ClockStatus.SYNCHRONIZED || !clockd.isAlive());
                assertThat(shm.status()).as(() -> read(log)).isEqualTo(io.gnomon.truetime.ClockStatus.SYNCHRONIZED);

                clockd.destroyForcibly(); // SIGKILL: no shutdown hook, no last words in the segment
                assertThat(clockd.waitFor(10, TimeUnit.SECONDS)).isTrue();
                // Until void-after the last snapshot still holds (its bound grows); after it, nothing vouches for it.
                await().atMost(Duration.ofSeconds(5)).until(() -> shm.status() == io.gnomon.truetime.ClockStatus.UNKNOWN);
                org.assertj.core.api.Assertions.assertThatThrownBy(shm::now)
                        .hasMessageContaining("snapshot is void");
                // the diagnosis a person reads: clockd stopped, how long ago, and which segment
                Run now = run(dir, "truetime", "now", "--segment", segment.toString());
                assertThat(now.exitCode()).isEqualTo(3);
                assertThat(now.stderr()).contains(segment + ": snapshot is void: clockd (pid " + clockd.pid()
                        + ") stopped publishing; its last update is ").contains(" s old, void after 1.5 s (last status "
                        + "SYNCHRONIZED); is clockd running?").doesNotContain("\tat ");
                Run status = run(dir, "truetime", "status", "--segment", segment.toString());
                assertThat(status.exitCode()).isEqualTo(3);
                assertThat(status.stdout()).contains("is void: clockd pid " + clockd.pid() + " stopped publishing ")
                        .contains("why:    clockd stopped publishing (dead or hung)");
            } finally {
                clockd.destroyForcibly();
            }
        }
    }

    static String read(Path p) {
        try {
            return Files.readString(p, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }
}
