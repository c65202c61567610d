package io.gnomon.paxos.cluster;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * The file as a tree of mappings, lists and scalars, each with its line, read from Jackson's YAML token stream.
 * Data binding (what clockd uses) forgets where a value came from; the rules between items need the line of each.
 */
final class YamlTree {
    private YamlTree() {
    }

    /** This format nests four deep (groups, a group, its range, a key); deeper is a broken file. */
    static final int MAX_DEPTH = 8;

    sealed interface Node permits Scalar, Mapping, Sequence {
        int line();
    }

    /** A scalar: its token says how YAML typed it (a quoted value is always a string). */
    record Scalar(JsonToken token, String text, int line) implements Node {
    }

    record Field(String key, int line, Node value) {
    }

    record Mapping(List<Field> fields, int line) implements Node {
        Field get(String key) {
            for (Field f : fields) {
                if (f.key().equals(key)) {
                    return f;
                }
            }
            return null;
        }
    }

    record Sequence(List<Node> items, int line) implements Node {
    }

    /**
     * The file's one document, or null when it has none.
     *
     * @param listLimits the most items of the root's list under each key (processes, groups); other lists are held
     *                   to the largest of these
     */
    static Node read(String text, String name, int maxChars, Map<String, Integer> listLimits)
            throws ClusterFileException {
        LoaderOptions options = new LoaderOptions();
        options.setCodePointLimit(maxChars);
        YAMLFactory factory = YAMLFactory.builder().loaderOptions(options).build();
        int otherListLimit = listLimits.values().stream().max(Integer::compare).orElse(1);
        try (JsonParser p = factory.createParser(text)) {
            Reader reader = new Reader(p, name, listLimits, otherListLimit);
            if (reader.next() == null) {
                return null;
            }
            Node root = reader.node(0, null);
            if (reader.next() != null) {
                throw new ClusterFileException(name + " line " + reader.line() + ": a second YAML document; a "
                        + "cluster file holds one", reader.line());
            }
            return root;
        } catch (JsonProcessingException e) {
            throw syntax(name, e);
        } catch (YAMLException e) {
            throw new ClusterFileException(name + ": not valid YAML: " + e.getMessage(), 0);
        } catch (IOException e) {
            throw new ClusterFileException(name + ": cannot read: " + e.getMessage(), 0);
        }
    }

    private static ClusterFileException syntax(String name, JsonProcessingException e) {
        for (Throwable t = e; t != null && t.getCause() != t; t = t.getCause()) {
            if (t instanceof MarkedYAMLException m && m.getProblemMark() != null) {
                int line = m.getProblemMark().getLine() + 1;
                return new ClusterFileException(name + " line " + line + ", column "
                        + (m.getProblemMark().getColumn() + 1) + ": not valid YAML: " + YamlProblems.plainWords(m),
                        line);
            }
        }
        JsonLocation at = e.getLocation();
        int line = at == null ? 0 : Math.max(0, at.getLineNr());
        String first = String.valueOf(e.getOriginalMessage()).lines().findFirst().orElse("invalid");
        return new ClusterFileException(name + (line > 0 ? " line " + line : "") + ": not valid YAML: " + first, line);
    }

    private static final class Reader {
        private final JsonParser p;
        private final String name;
        private final Map<String, Integer> listLimits;
        private final int otherListLimit;

        Reader(JsonParser p, String name, Map<String, Integer> listLimits, int otherListLimit) {
            this.p = p;
            this.name = name;
            this.listLimits = listLimits;
            this.otherListLimit = otherListLimit;
        }

        JsonToken next() throws IOException {
            return p.nextToken();
        }

        int line() {
            return Math.max(1, p.currentTokenLocation().getLineNr());
        }

        ClusterFileException refuse(String message) {
            return new ClusterFileException(name + " line " + line() + ": " + message, line());
        }

        /** The node at the current token; leaves the parser on its last token. */
        Node node(int depth, String rootKey) throws IOException, ClusterFileException {
            if (depth > MAX_DEPTH) {
                throw refuse("nested deeper than a cluster file goes (" + MAX_DEPTH + " levels)");
            }
            if (p instanceof YAMLParser y && y.isCurrentAlias()) {
                throw refuse("an alias (*name); a cluster file writes every value out");
            }
            JsonToken t = p.currentToken();
            int line = line();
            if (t == JsonToken.START_OBJECT) {
                List<Field> fields = new ArrayList<>();
                Map<String, Integer> seen = new HashMap<>();
                for (JsonToken field = next(); field != JsonToken.END_OBJECT; field = next()) {
                    if (field != JsonToken.FIELD_NAME) {
                        throw refuse("the file ends inside a mapping");
                    }
                    String key = p.currentName();
                    int keyLine = line();
                    Integer first = seen.putIfAbsent(key, keyLine);
                    if (first != null) {
                        throw refuse("'" + key + "' is given twice in one mapping (first on line " + first + ")");
                    }
                    next();
                    fields.add(new Field(key, keyLine, node(depth + 1, depth == 0 ? key : null)));
                }
                return new Mapping(List.copyOf(fields), line);
            }
            if (t == JsonToken.START_ARRAY) {
                int limit = rootKey != null && listLimits.containsKey(rootKey) ? listLimits.get(rootKey)
                        : otherListLimit;
                List<Node> items = new ArrayList<>();
                for (JsonToken item = next(); item != JsonToken.END_ARRAY; item = next()) {
                    if (item == null) {
                        throw refuse("the file ends inside a list");
                    }
                    if (items.size() == limit) {
                        throw refuse("more than " + limit + " items in '" + (rootKey == null ? "this list" : rootKey)
                                + "', the limit (a generator gone wrong?)");
                    }
                    items.add(node(depth + 1, null));
                }
                return new Sequence(List.copyOf(items), line);
            }
            String text = t == JsonToken.VALUE_NULL ? "" : p.getText();
            return new Scalar(t, text == null ? "" : text, line);
        }
    }
}
