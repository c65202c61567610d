package io.gnomon.paxos.bench;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What the benchmark commands share: durations as options take them, closing what a run started, removing its directory. */
final class BenchCli {
    private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m)");

    private BenchCli() {
    }

    /** {@code 500ms}, {@code 30s}, {@code 2m}, or ISO-8601 ({@code PT30S}); a usage error naming the option otherwise. */
    static Duration duration(CommandSpec spec, String option, String text) {
        Matcher m = DURATION.matcher(text.trim());
        try {
            if (m.matches()) {
                long n = Long.parseLong(m.group(1));
                return switch (m.group(2)) {
                    case "ms" -> Duration.ofMillis(n);
                    case "s" -> Duration.ofSeconds(n);
                    default -> Duration.ofMinutes(n);
                };
            }
            return Duration.parse(text.trim());
        } catch (RuntimeException e) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    option + " must be a duration like 500ms, 30s, 2m or PT30S; got '" + text + "'");
        }
    }

    /** Closes each of {@code resources}, first to last (a stack: the last pushed first), all even if some fail. */
    static void closeAll(java.util.Deque<AutoCloseable> resources) throws Exception {
        Exception first = null;
        while (!resources.isEmpty()) {
            try {
                resources.pop().close();
            } catch (Exception e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    /** Deletes {@code dir} and everything under it; nothing if it is gone. */
    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
