package io.gnomon.paxos.cluster;

import org.yaml.snakeyaml.error.MarkedYAMLException;

/**
 * SnakeYAML's syntax errors in words an operator acts on, as clockd's configuration reports them
 * (io.gnomon.clockd.config.YamlProblems; copied, not shared: txn-coordinator does not depend on clock-daemon).
 */
final class YamlProblems {
    private YamlProblems() {
    }

    static String plainWords(MarkedYAMLException e) {
        String problem = e.getProblem() == null ? "" : e.getProblem();
        String context = e.getContext() == null ? "" : e.getContext();
        String words;
        if (problem.contains("(TAB)") || problem.contains("'\\t'")) {
            words = "a tab character; YAML indents with spaces only";
        } else if (problem.startsWith("expected <block end>") || problem.startsWith("expected <document start>")) {
            words = "this line's indentation does not match the lines above it (the keys of one mapping start in "
                    + "the same column; a nested mapping is indented further under its key)";
        } else if (problem.startsWith("mapping values are not allowed")) {
            words = "a ':' where no key can start (check the indentation, or quote a value that contains ': ')";
        } else if (problem.startsWith("could not find expected ':'")) {
            words = "a key without ':' after it (write 'key: value')";
        } else if (problem.startsWith("expected ',' or ']'") || problem.startsWith("expected ',' or '}'")) {
            words = "an unclosed '[' or '{' (close it, or put one item per line)";
        } else if (problem.startsWith("found unexpected end of stream")) {
            words = "the file ends inside a quoted value (close the quote)";
        } else {
            words = "the YAML cannot be read here";
        }
        return words + " [" + (context.isEmpty() ? "" : context + ": ") + problem + "]";
    }
}
