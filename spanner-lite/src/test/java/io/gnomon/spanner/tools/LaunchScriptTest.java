package io.gnomon.spanner.tools;

import io.gnomon.paxos.LaunchScripts;
import io.gnomon.paxos.LaunchScripts.Run;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** bin/spanner-lite as an operator runs it: a separate process, real exit codes. */
class LaunchScriptTest {
    static Run run(Path dir, String... args) throws Exception {
        return LaunchScripts.run(dir, "spanner-lite", args);
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

        Run piped = LaunchScripts.runWithInput(dir, broken, "spanner-lite", "check", "-");
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
        Run version = run(dir, "-V");
        assertThat(version.exitCode()).as(version.stderr()).isZero();
        assertThat(version.stdout()).matches("spanner-lite \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?\n");

        Run torture = run(dir, "torture", "--replicas", "4");
        assertThat(torture.exitCode()).isEqualTo(2);
        assertThat(torture.stderr()).isEqualTo("torture: --replicas 4: use 3 or 5\n");
    }
}
