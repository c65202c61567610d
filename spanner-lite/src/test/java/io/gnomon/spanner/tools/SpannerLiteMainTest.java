package io.gnomon.spanner.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The command line in-process: exit codes, the text and JSON reports. */
class SpannerLiteMainTest {
    record Run(int exitCode, String stdout, String stderr) {
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = SpannerLiteMain.run(new PrintWriter(out), new PrintWriter(err), args);
        return new Run(code, out.toString(), err.toString());
    }

    static Path generate(Path dir, String name, String... extra) {
        Path file = dir.resolve(name);
        String[] args = new String[4 + extra.length];
        args[0] = "gen-history";
        args[1] = "--txns=500";
        args[2] = "-o";
        args[3] = file.toString();
        System.arraycopy(extra, 0, args, 4, extra.length);
        assertThat(run(args).exitCode()).isZero();
        return file;
    }

    /** picocli gives each subcommand its own -V: all of them print the tool's name and version. */
    @Test
    void everyCommandPrintsTheVersionAndExitsZero() {
        for (String[] args : new String[][] {{"-V"}, {"--version"}, {"check", "-V"}, {"gen-history", "-V"},
                {"torture", "-V"}, {"torture-report", "-V"}}) {
            Run r = run(args);
            assertThat(r.exitCode()).as(String.join(" ", args) + ": " + r.stderr()).isZero();
            assertThat(r.stdout()).as(String.join(" ", args)).matches("spanner-lite \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?\\R");
            assertThat(r.stderr()).isEmpty();
        }
    }

    @Test
    void validHistoryExitsZero(@TempDir Path dir) {
        Run r = run("check", generate(dir, "h.jsonl").toString());
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        assertThat(r.stdout()).startsWith("valid: no anomalies found\n").contains("1000 ops, 500 transactions");
    }

    @Test
    void anomaliesExitOneAndNameTheClassTransactionsAndEdges(@TempDir Path dir) {
        Run r = run("check", generate(dir, "h.jsonl", "--fault=G_SINGLE").toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.stdout()).startsWith("INVALID (not-serializable)").contains("\nG-single: 1 found")
                .containsPattern("T\\d+ -rw-> T\\d+: T\\d+ read \\d+ empty, and T\\d+ appended the next element")
                .containsPattern("T\\d+ -ww-> T\\d+");
    }

    @Test
    void jsonReportIsMachineReadable(@TempDir Path dir) throws Exception {
        Run r = run("check", "--json", generate(dir, "h.jsonl", "--fault=STALE_READ").toString());
        assertThat(r.exitCode()).isEqualTo(1);
        JsonNode report = new ObjectMapper().readTree(r.stdout());
        assertThat(report.get("valid").asBoolean()).isFalse();
        assertThat(report.get("verdict").asText()).isEqualTo("not-strictly-serializable");
        assertThat(report.get("counts").get("G-single-realtime").asInt()).isEqualTo(1);
        JsonNode anomaly = report.get("anomalies").get(0);
        assertThat(anomaly.get("type").asText()).isEqualTo("G-single-realtime");
        assertThat(anomaly.get("cycle")).hasSize(2);
        for (JsonNode txn : anomaly.get("txns")) {
            assertThat(report.get("txns").has(txn.asText())).isTrue();
        }
        assertThat(report.get("stats").get("txns").asInt()).isEqualTo(503);
        assertThat(report.get("stats").get("edges").get("realtime").asLong()).isPositive();
    }

    /** Write skew (G2): T0 and T1 each read what the other appends to, T4 reads both appends. */
    static final String WRITE_SKEW = """
            {"index":0,"process":1,"type":"invoke","f":"txn","value":[["r","x",null],["append","y",1]],"time":10}
            {"index":1,"process":2,"type":"invoke","f":"txn","value":[["r","y",null],["append","x",1]],"time":20}
            {"index":2,"process":1,"type":"ok","f":"txn","value":[["r","x",[]],["append","y",1]],"time":30}
            {"index":3,"process":2,"type":"ok","f":"txn","value":[["r","y",[]],["append","x",1]],"time":40}
            {"index":4,"process":3,"type":"invoke","f":"txn","value":[["r","x",null],["r","y",null]],"time":50}
            {"index":5,"process":3,"type":"ok","f":"txn","value":[["r","x",[1]],["r","y",[1]]],"time":60}
            """;

    @Test
    void aCycleSearchCutShortExitsThreeNamingTheComponent(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("g2.jsonl");
        Files.writeString(file, WRITE_SKEW);
        assertThat(run("check", file.toString()).exitCode()).isEqualTo(1);

        Run cut = run("check", "--max-search-steps", "1", file.toString());
        assertThat(cut.exitCode()).as(cut.stdout()).isEqualTo(3);
        assertThat(cut.stdout()).startsWith("INVALID (unclassified-cycle): 1 anomaly in 1 class")
                .contains("\nunclassified-cycle: 1 found")
                .contains("cyclic component of 2 transactions left unclassified")
                .contains("T0 = process 1, ok at index 2").contains("T1 = process 2, ok at index 3")
                .contains("cycle search truncated");
        Run json = run("check", "--json", "--max-search-steps=0", file.toString());
        assertThat(json.exitCode()).isEqualTo(3);
        JsonNode report = new ObjectMapper().readTree(json.stdout());
        assertThat(report.get("valid").asBoolean()).isFalse();
        assertThat(report.get("verdict").asText()).isEqualTo("unclassified-cycle");
        assertThat(report.get("anomalies").get(0).get("txns").toString()).isEqualTo("[0,1]");
        assertThat(report.get("stats").get("searchTruncated").asBoolean()).isTrue();

        Run bad = run("check", "--max-search-steps", "-1", file.toString());
        assertThat(bad.exitCode()).isEqualTo(2);
        assertThat(bad.stderr().strip()).isEqualTo("spanner-lite check: --max-search-steps must be >= 0, was -1");
    }

    @Test
    void timestampedHistoriesAreCheckedAgainstTheirTimestampsAndFailClosed(@TempDir Path dir) throws Exception {
        Path file = generate(dir, "ts.jsonl", "--timestamps", "--stale-percent=50");
        Run ok = run("check", "--json", file.toString());
        assertThat(ok.exitCode()).as(ok.stdout()).isZero();
        assertThat(new ObjectMapper().readTree(ok.stdout()).get("stats").get("timestamped").asInt()).isPositive();

        // Real time orders T0 before T2, their commit timestamps do not.
        Path late = Files.writeString(dir.resolve("ec.jsonl"), """
                {"index":0,"process":1,"type":"invoke","f":"txn","value":[["append","x",1]],"time":10,"readMode":"strong"}
                {"index":1,"process":1,"type":"ok","f":"txn","value":[["append","x",1]],"time":20,"commitTs":100}
                {"index":2,"process":2,"type":"invoke","f":"txn","value":[["append","y",1]],"time":30,"readMode":"strong"}
                {"index":3,"process":2,"type":"ok","f":"txn","value":[["append","y",1]],"time":40,"commitTs":90}
                """);
        Run bad = run("check", late.toString());
        assertThat(bad.exitCode()).isEqualTo(1);
        assertThat(bad.stdout()).startsWith("INVALID (timestamp-violation): 1 anomaly in 1 class")
                .contains("external-consistency: 1 found")
                .contains("T0 (commit ts 100, invoked at time 10, ok at time 20) completed before T2 (commit ts 90,");
        JsonNode report = new ObjectMapper().readTree(run("check", "--json", late.toString()).stdout());
        assertThat(report.get("verdict").asText()).isEqualTo("timestamp-violation");
        assertThat(report.get("anomalies").get(0).get("txns").toString()).isEqualTo("[0,2]");
        assertThat(report.get("txns").get("2").get("commitTs").asLong()).isEqualTo(90);
        assertThat(report.get("txns").get("2").get("readMode").asText()).isEqualTo("strong");
        assertThat(bad.stdout()).contains("T2 = process 2, ok at index 3, commit ts 90: [[append y 1]]");

        // A strong operation that lacks its timestamp is malformed, never valid.
        Files.writeString(late, Files.readString(late).replace(",\"commitTs\":90", ""));
        Run malformed = run("check", late.toString());
        assertThat(malformed.exitCode()).isEqualTo(2);
        assertThat(malformed.stderr()).startsWith("spanner-lite check: " + late + ":4: ok without commitTs or readTs");
    }

    @Test
    void unreadableInputExitsTwoWithTheLine(@TempDir Path dir) throws Exception {
        Path file = generate(dir, "h.jsonl");
        java.util.List<String> lines = new java.util.ArrayList<>(Files.readAllLines(file));
        lines.set(4, lines.get(4).replace("\"type\":", "\"type\":1,\"x\":"));
        Files.write(file, lines);
        Run r = run("check", file.toString());
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.stderr().strip()).isEqualTo("spanner-lite check: " + file + ":5: field 'type' must be a string, found 1");
        Run json = run("check", "--json", file.toString());
        assertThat(json.exitCode()).isEqualTo(2);
        JsonNode report = new ObjectMapper().readTree(json.stdout());
        assertThat(report.get("verdict").asText()).isEqualTo("unreadable");
        assertThat(report.get("error").get("line").asInt()).isEqualTo(5);
    }

    @Test
    void aMissingFileIsNamedWithoutAStackTrace(@TempDir Path dir) {
        Path missing = dir.resolve("missing.jsonl");
        Run r = run("check", missing.toString());
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.stderr()).isEqualTo("spanner-lite check: history file '" + missing + "' not found\n");
        Run json = run("check", "--json", missing.toString());
        assertThat(json.stdout()).contains("\"verdict\":\"unreadable\"").contains("not found");
    }

    @Test
    void anEmptyHistoryIsNotValid(@TempDir Path dir) throws Exception {
        Path empty = Files.writeString(dir.resolve("empty.jsonl"), "");
        Run r = run("check", empty.toString());
        assertThat(r.exitCode()).as("no operations is no evidence").isEqualTo(2);
        assertThat(r.stdout()).isEmpty();
        assertThat(r.stderr()).isEqualTo("spanner-lite check: " + empty
                + ": the history has no operations; an empty history shows nothing\n");
        JsonNode json = new ObjectMapper().readTree(run("check", "--json", empty.toString()).stdout());
        assertThat(json.get("valid").asBoolean()).isFalse();
        assertThat(json.get("verdict").asText()).isEqualTo("unreadable");
    }

    @Test
    void genHistoryFaultsAreNamedAsTheCheckerReportsThem(@TempDir Path dir) throws Exception {
        for (SerialStoreSimulation.Fault f : SerialStoreSimulation.Fault.values()) {
            if (f == SerialStoreSimulation.Fault.NONE) {
                continue;
            }
            // Any case; the class's name as the checker prints it.
            Run r = run("check", "--json", generate(dir, f + ".jsonl", "--fault", f.cliName().toLowerCase()).toString());
            assertThat(new ObjectMapper().readTree(r.stdout()).get("counts").fieldNames())
                    .as("--fault " + f.cliName()).toIterable().contains(f.cliName());
        }
        // The enum's spellings from before still work.
        assertThat(SerialStoreSimulation.Fault.named("STALE_READ")).isEqualTo(SerialStoreSimulation.Fault.STALE_READ);
        assertThat(SerialStoreSimulation.Fault.named("g_single")).isEqualTo(SerialStoreSimulation.Fault.G_SINGLE);
        Run bad = run("gen-history", "--fault", "G3");
        assertThat(bad.exitCode()).isEqualTo(2);
        assertThat(bad.stderr()).startsWith("Invalid value for option '--fault': unknown fault 'G3': use one of none, G0,"
                + " G1a, G1b, G1c, G-single, G2, G-single-realtime, incompatible-order, internal\n");
    }

    @Test
    void theTopLevelHelpSummarisesEachCommandInAWholeSentence() {
        String help = run("--help").stdout().replaceAll("\\s+", " ");
        for (CommandLine sub : new CommandLine(new SpannerLiteMain()).getSubcommands().values()) {
            if (sub.getCommandName().equals("help")) {
                continue; // picocli's own
            }
            String summary = sub.getCommandSpec().usageMessage().description()[0];
            assertThat(summary).as(sub.getCommandName()).endsWith(".");
            assertThat(help).contains(sub.getCommandName() + " " + summary);
        }
    }

    /** Every option of every command names its default and has a label, not a Java field name. */
    @Test
    void optionsShowTheirDefaultsAndLabels() {
        for (CommandLine sub : new CommandLine(new SpannerLiteMain()).getSubcommands().values()) {
            for (OptionSpec o : sub.getCommandSpec().options()) {
                String name = sub.getCommandName() + " " + o.longestName();
                if (o.usageHelp() || o.versionHelp() || o.arity().max() == 0) {
                    continue;
                }
                assertThat(o.paramLabel()).as(name).doesNotStartWith("<");
                String defaultValue = o.defaultValue() != null ? o.defaultValue()
                        : o.initialValue() == null ? null : String.valueOf(o.initialValue());
                String description = String.join(" ", o.description());
                if (defaultValue != null && !defaultValue.isEmpty()) {
                    assertThat(description).as(name).contains("default " + defaultValue);
                }
            }
        }
    }

    @Test
    void helpListsTheSubcommands() {
        Run r = run("--help");
        assertThat(r.exitCode()).isZero();
        assertThat(r.stdout()).startsWith("Usage: spanner-lite").contains("check").contains("gen-history");
        assertThat(run().exitCode()).isEqualTo(2);
    }
}
