package io.gnomon.spanner.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
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
        assertThat(run("check", dir.resolve("missing").toString()).exitCode()).isEqualTo(2);
    }

    @Test
    void helpListsTheSubcommands() {
        Run r = run("--help");
        assertThat(r.exitCode()).isZero();
        assertThat(r.stdout()).startsWith("Usage: spanner-lite").contains("check").contains("gen-history");
        assertThat(run().exitCode()).isEqualTo(2);
    }
}
