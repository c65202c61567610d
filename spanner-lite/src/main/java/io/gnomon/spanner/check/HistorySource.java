package io.gnomon.spanner.check;

import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A history the checker can read more than once: the first pass builds the graph, a second pass (only when
 * anomalies were found) fetches the transactions they name, so the graph never holds read results.
 */
@FunctionalInterface
public interface HistorySource {
    /** Opens the history from its first line. */
    Reader open() throws IOException;

    /** A history file (UTF-8, JSON Lines). */
    static HistorySource of(Path file) {
        return () -> Files.newBufferedReader(file, StandardCharsets.UTF_8);
    }

    /** A history held in a string, for tests. */
    static HistorySource ofString(String jsonLines) {
        return () -> new StringReader(jsonLines);
    }
}
