package io.gnomon.spanner.tools;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code spanner-lite check FILE}: exit 0 valid, 1 anomalies found, 2 unreadable input or bad option, 3 a cyclic
 * component the cycle search ran out of steps to classify (never valid).
 */
@Command(name = "check", mixinStandardHelpOptions = true,
        description = {"Check a list-append history (JSON Lines, docs/history-format.md) for strict serializability.",
                "Exit status: 0 valid, 1 anomalies found, 2 unreadable input or bad option, 3 a cycle left unclassified"
                        + " when the search ran out of steps (invalid; rerun with a larger --max-search-steps)."})
final class CheckCommand implements Callable<Integer> {
    static final int VALID = 0;
    static final int ANOMALIES = 1;
    static final int UNREADABLE = 2;
    static final int UNCLASSIFIED = 3;

    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "FILE", description = "the history")
    Path file;

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
        try {
            result = checker.check(HistorySource.of(file));
        } catch (HistoryFormatException e) {
            return unreadable(out, err, e.lineNumber(), e.reason());
        } catch (IOException e) {
            return unreadable(out, err, 0, "cannot read: " + e);
        }
        out.print(json ? Report.json(result) + "\n" : Report.text(result, maxPerClass));
        if (result.valid()) {
            return VALID;
        }
        // A cut-short search says less than a classified one: its own status, so scripts can rerun with more steps.
        return result.counts().containsKey(AnomalyType.UNCLASSIFIED_CYCLE) ? UNCLASSIFIED : ANOMALIES;
    }

    private int unreadable(PrintWriter out, PrintWriter err, long line, String reason) {
        err.println("spanner-lite check: " + file + (line > 0 ? ":" + line + ": " : ": ") + reason);
        if (json) {
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.put("valid", false);
            o.put("verdict", "unreadable");
            o.putObject("error").put("line", line).put("reason", reason);
            out.println(o);
        }
        return UNREADABLE;
    }
}
