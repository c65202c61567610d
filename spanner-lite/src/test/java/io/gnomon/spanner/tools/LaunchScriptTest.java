package io.gnomon.spanner.tools;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** bin/spanner-lite as an operator runs it: a separate process, real exit codes. */
class LaunchScriptTest {
    static final Path SCRIPT = Path.of("..", "bin", "spanner-lite").toAbsolutePath().normalize();

    record Run(int exitCode, String stdout, String stderr) {
    }

    static Run run(Path dir, String... args) throws Exception {
        return runWithInput(dir, null, args);
    }

    /** Runs the script with {@code input} (or nothing) as its standard input. */
    static Run runWithInput(Path dir, Path input, String... args) throws Exception {
        String[] cmd = new String[args.length + 1];
        cmd[0] = SCRIPT.toString();
        System.arraycopy(args, 0, cmd, 1, args.length);
        Path out = Files.createTempFile(dir, "out", ".txt");
        Path err = Files.createTempFile(dir, "err", ".txt");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = (input == null ? pb : pb.redirectInput(input.toFile())).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", cmd) + " did not finish");
        }
        return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    @Test
    void generateCheckAndHelp(@TempDir Path dir) throws Exception {
        Path valid = dir.resolve("valid.jsonl");
        Path broken = dir.resolve("broken.jsonl");
        assertThat(run(dir, "gen-history", "--txns", "300", "-o", valid.toString()).exitCode()).isZero();
        assertThat(run(dir, "gen-history", "--txns", "300", "--fault", "G1a", "-o", broken.toString()).exitCode()).isZero();

        Run ok = run(dir, "check", valid.toString());
        assertThat(ok.exitCode()).as(ok.stderr()).isZero();
        Run bad = run(dir, "check", broken.toString(), "--json");
        assertThat(bad.exitCode()).isEqualTo(1);
        assertThat(bad.stdout()).startsWith("{\"valid\":false,\"verdict\":\"not-serializable\",\"counts\":{\"G1a\":1}");
        Path writeSkew = dir.resolve("g2.jsonl");
        Files.writeString(writeSkew, SpannerLiteMainTest.WRITE_SKEW);
        Run cut = run(dir, "check", writeSkew.toString(), "--max-search-steps", "1");
        assertThat(cut.exitCode()).as(cut.stdout()).isEqualTo(3);
        assertThat(cut.stdout()).startsWith("INVALID (unclassified-cycle)");
        Files.writeString(dir.resolve("junk.jsonl"), "{}\nnot json\n");
        Run junk = run(dir, "check", dir.resolve("junk.jsonl").toString());
        assertThat(junk.exitCode()).isEqualTo(2);
        assertThat(junk.stderr()).contains("junk.jsonl:1: field 'index' must be an integer");

        Run piped = runWithInput(dir, broken, "check", "-");
        assertThat(piped.exitCode()).as(piped.stderr()).isEqualTo(1);
        assertThat(piped.stdout()).as("- reads standard input, twice when it names anomalies")
                .startsWith("INVALID (not-serializable)").contains("T");
        Run missing = run(dir, "check", dir.resolve("nope.jsonl").toString());
        assertThat(missing.exitCode()).isEqualTo(2);
        assertThat(missing.stderr()).isEqualTo("spanner-lite check: history file '" + dir.resolve("nope.jsonl")
                + "' not found\n");

        Run help = run(dir, "check", "--help");
        assertThat(help.exitCode()).isZero();
        assertThat(help.stdout()).startsWith("Usage: spanner-lite check");
        assertThat(run(dir, "--help").stdout()).startsWith("Usage: spanner-lite");

        Run torture = run(dir, "torture", "--replicas", "4");
        assertThat(torture.exitCode()).isEqualTo(2);
        assertThat(torture.stderr()).isEqualTo("torture: --replicas 4: use 3 or 5\n");
    }
}
