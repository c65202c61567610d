package io.gnomon.spanner.tools;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gnomon.paxos.cli.VersionProvider;
import io.gnomon.spanner.check.AnomalyType;
import io.gnomon.spanner.check.CheckResult;
import io.gnomon.spanner.check.Checker;
import io.gnomon.spanner.check.HistorySource;
import io.gnomon.spanner.check.Report;
import io.gnomon.spanner.history.HistoryFormatException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.Callable;

/**
 * {@code spanner-lite check FILE}: exit 0 valid, 1 anomalies found, 2 unreadable or empty input or bad option, 3 a
 * cyclic component the cycle search ran out of steps to classify (never valid).
 */
@Command(name = "check", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = {"Check a list-append history for strict serializability.",
                "The history is JSON Lines (docs/history-format.md); FILE - reads standard input.",
                "When it records commit and read timestamps, they are checked too: against real time (external"
                        + " consistency) and against what each read returned.",
                "Exit status: 0 valid, 1 anomalies found, 2 unreadable or empty input or bad option, 3 a cycle left"
                        + " unclassified when the search ran out of steps (invalid; rerun with a larger --max-search-steps)."})
final class CheckCommand implements Callable<Integer> {
    static final int VALID = 0;
    static final int ANOMALIES = 1;
    static final int UNREADABLE = 2;
    static final int UNCLASSIFIED = 3;

    @Spec
    CommandSpec spec;

    /** What {@code FILE} names to read standard input instead. */
    static final String STDIN = "-";

    @Parameters(paramLabel = "FILE", description = "the history, or - for standard input")
    String file;

    @Option(names = "--json", description = "print a machine-readable report")
    boolean json;

    @Option(names = "--max-per-class", paramLabel = "N",
            description = "anomalies shown per class (all are counted; default ${DEFAULT-VALUE})")
    int maxPerClass = 5;

    @Option(names = "--max-search-steps", paramLabel = "N",
            description = "edge visits the cycle classification may spend in total; a cyclic component left"
                    + " unclassified when they run out is reported as unclassified-cycle, exit 3 (default ${DEFAULT-VALUE})")
    long maxSearchSteps = Checker.Limits.DEFAULT.cycleSearchSteps();

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (maxPerClass < 0) {
            err.println("spanner-lite check: --max-per-class must be >= 0, was " + maxPerClass);
            return UNREADABLE;
        }
        if (maxSearchSteps < 0) {
            err.println("spanner-lite check: --max-search-steps must be >= 0, was " + maxSearchSteps);
            return UNREADABLE;
        }
        Checker checker = new Checker(new Checker.Limits(maxPerClass, maxSearchSteps), System::nanoTime);
        CheckResult result;
        Path stdinCopy = null;
        try {
            Path path;
            if (file.equals(STDIN)) {
                // The checker reads a history twice when it finds anomalies (HistorySource); a pipe reads once.
                stdinCopy = path = Files.createTempFile("spanner-lite-check", ".jsonl");
                Files.copy(System.in, path, StandardCopyOption.REPLACE_EXISTING);
            } else {
                path = Path.of(file);
            }
            result = checker.check(HistorySource.of(path));
        } catch (HistoryFormatException e) {
            return unreadable(out, err, e.lineNumber(), e.reason());
        } catch (NoSuchFileException e) {
            String reason = "history file '" + file + "' not found";
            return unreadable(out, err, reason, 0, reason);
        } catch (IOException e) {
            String reason = "cannot read history file '" + file + "': " + SpannerLiteMain.reasonOf(e);
            return unreadable(out, err, reason, 0, reason);
        } finally {
            deleteQuietly(stdinCopy);
        }
        if (result.stats().ops() == 0) {
            // No operations is no evidence: a run that recorded nothing must not pass as a clean one.
            return unreadable(out, err, 0, "the history has no operations; an empty history shows nothing");
        }
        out.print(json ? Report.json(result) + "\n" : Report.text(result, maxPerClass));
        if (result.valid()) {
            return VALID;
        }
        // A cut-short search says less than a classified one: its own status, so scripts can rerun with more steps.
        return result.counts().containsKey(AnomalyType.UNCLASSIFIED_CYCLE) ? UNCLASSIFIED : ANOMALIES;
    }

    private int unreadable(PrintWriter out, PrintWriter err, long line, String reason) {
        return unreadable(out, err, displayName() + (line > 0 ? ":" + line + ": " : ": ") + reason, line, reason);
    }

    /** {@code message} on standard error and, with {@code --json}, an "unreadable" verdict on standard output. */
    private int unreadable(PrintWriter out, PrintWriter err, String message, long line, String reason) {
        err.println("spanner-lite check: " + message);
        if (json) {
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.put("valid", false);
            o.put("verdict", "unreadable");
            o.putObject("error").put("line", line).put("reason", reason);
            out.println(o);
        }
        return UNREADABLE;
    }

    private String displayName() {
        return file.equals(STDIN) ? "standard input" : file;
    }

    private static void deleteQuietly(Path p) {
        if (p == null) {
            return;
        }
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            // a temporary file left behind is not worth failing a check over
        }
    }
}
