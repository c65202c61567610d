package io.gnomon.paxos.cluster;

import com.fasterxml.jackson.core.JsonToken;
import io.gnomon.paxos.cluster.YamlTree.Field;
import io.gnomon.paxos.cluster.YamlTree.Mapping;
import io.gnomon.paxos.cluster.YamlTree.Node;
import io.gnomon.paxos.cluster.YamlTree.Scalar;
import io.gnomon.paxos.cluster.YamlTree.Sequence;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Reads, checks and writes cluster files (docs/cluster-file.md): which server processes a cluster has and which
 * Paxos groups they replicate. A bad file is refused with its line and the rule it breaks:
 * <pre>{@code
 * ClusterSpec cluster = ClusterFile.load(Path.of("cluster.yaml"));
 * // cluster.yaml line 14: group 4: replica 7 is not a process of this cluster (processes are 1, 2, 3)
 * Files.writeString(Path.of("bench.yaml"), ClusterFile.write(ClusterSpec.evenlySplit(3, 16, 3, "127.0.0.1", 7101)));
 * }</pre>
 */
public final class ClusterFile {
    private ClusterFile() {
    }

    static final List<String> TOP_FIELDS = List.of("processes", "groups");
    static final List<String> PROCESS_FIELDS = List.of("id", "peer", "client", "data-dir");
    static final List<String> GROUP_FIELDS = List.of("id", "range", "replicas");
    static final List<String> RANGE_FIELDS = List.of("start", "end");

    /** Reads and checks a file, named in messages by its file name. */
    public static ClusterSpec load(Path file) throws ClusterFileException {
        return load(file, ClusterLimits.DEFAULT);
    }

    /** Reads and checks a file under other limits than {@link ClusterLimits#DEFAULT} (tests at the limits). */
    public static ClusterSpec load(Path file, ClusterLimits limits) throws ClusterFileException {
        String name = file.getFileName() == null ? file.toString() : file.getFileName().toString();
        String text;
        try {
            long size = Files.size(file);
            if (size > limits.maxFileBytes()) {
                throw new ClusterFileException(file + ": " + size + " bytes, more than the limit of "
                        + limits.maxFileBytes() + " (a generator gone wrong?)", 0);
            }
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ClusterFileException(file + ": no such file", 0);
        } catch (CharacterCodingException e) {
            throw new ClusterFileException(file + ": not UTF-8 text (write other bytes in keys as hex:...)", 0);
        } catch (IOException e) {
            throw new ClusterFileException(file + ": cannot read: " + e.getMessage(), 0);
        }
        return parse(text, name, limits);
    }

    /** Reads and checks a file's text; {@code name} starts every message ("cluster.yaml line 3: ..."). */
    public static ClusterSpec parse(String text, String name) throws ClusterFileException {
        return parse(text, name, ClusterLimits.DEFAULT);
    }

    /** Reads and checks a file's text under other limits than {@link ClusterLimits#DEFAULT}. */
    public static ClusterSpec parse(String text, String name, ClusterLimits limits) throws ClusterFileException {
        if (text.length() > limits.maxFileBytes()) {
            throw new ClusterFileException(name + ": " + text.length() + " characters, more than the limit of "
                    + limits.maxFileBytes() + " (a generator gone wrong?)", 0);
        }
        Node root = YamlTree.read(text, name, limits.maxFileBytes(),
                Map.of("processes", limits.maxProcesses(), "groups", limits.maxGroups()));
        return new Reading(name, limits).cluster(root);
    }

    /** One reading of one file: the items' nodes, for the lines of messages about them. */
    private static final class Reading implements ClusterRules.Where {
        private final String name;
        private final ClusterLimits limits;
        private final List<Mapping> processNodes = new ArrayList<>();
        private final List<Mapping> groupNodes = new ArrayList<>();

        Reading(String name, ClusterLimits limits) {
            this.name = name;
            this.limits = limits;
        }

        ClusterSpec cluster(Node root) throws ClusterFileException {
            if (root == null || root instanceof Scalar s && s.text().isBlank()) {
                throw new ClusterFileException(name + ": empty; a cluster file names at least one process and one "
                        + "group (docs/cluster-file.md)", 0);
            }
            if (!(root instanceof Mapping top)) {
                throw fail(root.line(), "a cluster file is a mapping with 'processes:' and 'groups:' at the top, "
                        + "not " + kind(root));
            }
            known(top, TOP_FIELDS, "");
            Sequence processes = list(top, "processes", "a cluster has at least one process; write "
                    + "'processes:' and one '- {id: 1, peer: \"host:port\", client: \"host:port\"}' per process");
            Sequence groups = list(top, "groups", "a cluster has at least one group; write 'groups:' and one "
                    + "'- {id: 1, range: {start: \"\", end: \"\"}, replicas: [1]}' per group");
            List<ProcessSpec> ps = new ArrayList<>();
            for (int i = 0; i < processes.items().size(); i++) {
                ps.add(process(processes.items().get(i), i));
            }
            List<GroupSpec> gs = new ArrayList<>();
            for (int i = 0; i < groups.items().size(); i++) {
                gs.add(group(groups.items().get(i), i));
            }
            if (ps.isEmpty()) {
                throw fail(processes.line(), "no processes; a cluster has at least one");
            }
            if (gs.isEmpty()) {
                throw fail(groups.line(), "no groups; a cluster has at least one, and its groups hold every key");
            }
            ClusterRules.check(ps, gs, limits, this);
            return new ClusterSpec(ps, gs);
        }

        private Sequence list(Mapping top, String key, String missing) throws ClusterFileException {
            Field f = top.get(key);
            if (f == null) {
                throw fail(top.line(), "no '" + key + ":'; " + missing);
            }
            if (f.value() instanceof Scalar s && (s.token() == JsonToken.VALUE_NULL || s.text().isEmpty())) {
                throw fail(f.line(), "'" + key + ":' is empty; " + missing);
            }
            if (!(f.value() instanceof Sequence s)) {
                throw fail(f.value().line(), "'" + key + "' must be a list (one '- ...' per item), not "
                        + kind(f.value()));
            }
            return s;
        }

        private ProcessSpec process(Node node, int index) throws ClusterFileException {
            String label = "process #" + (index + 1) + " in the list";
            Mapping m = mapping(node, label, "{id: 1, peer: \"host:port\", client: \"host:port\"}");
            processNodes.add(m);
            // the id first, so that the other messages can name the process by it
            if (m.get("id") != null) {
                label = "process " + positiveInt(m.get("id").value(), label + ": id");
            }
            known(m, PROCESS_FIELDS, label + ": ");
            int id = positiveInt(required(m, "id", label, "its id, a whole number from 1"), label + ": id");
            HostPort peer = address(required(m, "peer", label, "the address other processes reach it at, "
                    + "host:port"), label + ": peer");
            HostPort client = address(required(m, "client", label, "the address clients reach it at, host:port"),
                    label + ": client");
            Optional<Path> dataDir = Optional.empty();
            Field dir = m.get("data-dir");
            if (dir != null) {
                String text = string(dir.value(), label + ": data-dir");
                if (text.isEmpty() || text.codePoints().anyMatch(Character::isISOControl)) {
                    throw fail(dir.line(), label + ": data-dir '" + text + "' must be a path: not empty, no control "
                            + "characters (leave it out for the server's default)");
                }
                try {
                    dataDir = Optional.of(Path.of(text));
                } catch (InvalidPathException e) {
                    throw fail(dir.line(), label + ": data-dir '" + text + "' is not a path: " + e.getReason());
                }
            }
            return new ProcessSpec(id, peer, client, dataDir);
        }

        private GroupSpec group(Node node, int index) throws ClusterFileException {
            String label = "group #" + (index + 1) + " in the list";
            Mapping m = mapping(node, label, "{id: 1, range: {start: \"\", end: \"\"}, replicas: [1, 2, 3]}");
            groupNodes.add(m);
            // the id first, so that the other messages can name the group by it
            if (m.get("id") != null) {
                label = "group " + positiveInt(m.get("id").value(), label + ": id");
            }
            known(m, GROUP_FIELDS, label + ": ");
            int id = positiveInt(required(m, "id", label, "its id, a whole number from 1"), label + ": id");
            Node rangeNode = required(m, "range", label, "its keys, {start: \"...\", end: \"...\"}");
            Mapping range = mapping(rangeNode, label + ": range", "{start: \"a\", end: \"k\"}");
            known(range, RANGE_FIELDS, label + ": range: ");
            Key start = key(range.get("start"), label + ": range start");
            Key end = key(range.get("end"), label + ": range end");
            if (!end.isEmpty() && start.compareTo(end) >= 0) {
                throw fail(range.get("end").line(), label + ": range start " + start + " is not before its end "
                        + end + " (keys compare as unsigned bytes; an empty end is the end of the key space)");
            }
            Node replicasNode = required(m, "replicas", label, "the ids of the processes that replicate it, "
                    + "e.g. [1, 2, 3]");
            if (!(replicasNode instanceof Sequence list)) {
                throw fail(replicasNode.line(), label + ": replicas must be a list of process ids, e.g. [1, 2, 3], "
                        + "not " + kind(replicasNode));
            }
            if (!ClusterRules.ALLOWED_REPLICAS.contains(list.items().size())) {
                throw fail(replicasNode.line(), label + ": " + ClusterRules.replicaCountRule(list.items().size()));
            }
            List<Integer> replicas = new ArrayList<>();
            for (Node r : list.items()) {
                int replica = positiveInt(r, label + ": replica");
                if (replicas.contains(replica)) {
                    throw fail(r.line(), label + ": replica " + replica + " is listed twice; a process holds one "
                            + "replica of a group");
                }
                replicas.add(replica);
            }
            return new GroupSpec(id, new KeyRange(start, end), replicas);
        }

        private Key key(Field f, String label) throws ClusterFileException {
            if (f == null || f.value() instanceof Scalar s && s.token() == JsonToken.VALUE_NULL) {
                return Key.EMPTY;
            }
            if (!(f.value() instanceof Scalar s) || s.token() != JsonToken.VALUE_STRING) {
                throw fail(f.value().line(), label + " must be text, not " + kind(f.value()) + " (quote a key "
                        + "that YAML would read as a number or true/false: \"10\")");
            }
            Key k;
            try {
                k = Key.parse(s.text());
            } catch (IllegalArgumentException e) {
                throw fail(s.line(), label + " " + e.getMessage());
            }
            if (k.length() > limits.maxKeyBytes()) {
                throw fail(s.line(), label + " is " + k.length() + " bytes, more than the limit of "
                        + limits.maxKeyBytes());
            }
            return k;
        }

        private HostPort address(Node node, String label) throws ClusterFileException {
            String text = string(node, label);
            try {
                return HostPort.parse(text);
            } catch (IllegalArgumentException e) {
                throw fail(node.line(), label + " " + e.getMessage());
            }
        }

        private String string(Node node, String label) throws ClusterFileException {
            if (!(node instanceof Scalar s) || s.token() != JsonToken.VALUE_STRING) {
                throw fail(node.line(), label + " must be text, not " + kind(node));
            }
            return s.text();
        }

        private int positiveInt(Node node, String label) throws ClusterFileException {
            if (node instanceof Scalar s && s.token() == JsonToken.VALUE_NUMBER_INT
                    && s.text().matches("\\+?[0-9]{1,10}")) {
                long v = Long.parseLong(s.text());
                if (v >= 1 && v <= Integer.MAX_VALUE) {
                    return (int) v;
                }
            }
            throw fail(node.line(), label + " must be a whole number from 1 to " + Integer.MAX_VALUE + ", not "
                    + kind(node));
        }

        private Mapping mapping(Node node, String label, String example) throws ClusterFileException {
            if (!(node instanceof Mapping m)) {
                throw fail(node.line(), label + " must be a mapping, e.g. " + example + ", not " + kind(node));
            }
            return m;
        }

        private Node required(Mapping m, String key, String label, String what) throws ClusterFileException {
            Field f = m.get(key);
            if (f == null) {
                throw fail(m.line(), label + ": no '" + key + "' (" + what + ")");
            }
            return f.value();
        }

        private void known(Mapping m, List<String> fields, String label) throws ClusterFileException {
            for (Field f : m.fields()) {
                if (!fields.contains(f.key())) {
                    String near = DidYouMean.closest(f.key(), fields);
                    throw fail(f.line(), label + "unknown field '" + f.key() + "'"
                            + (near == null ? "" : " (did you mean '" + near + "'?)") + "; fields here: "
                            + String.join(", ", fields));
                }
            }
        }

        private ClusterFileException fail(int line, String message) {
            return ClusterRules.problem(this, line, message);
        }

        @Override
        public String file() {
            return name;
        }

        @Override
        public int processLine(int index, String field) {
            if (index < 0 || index >= processNodes.size()) {
                return 0;
            }
            Field f = processNodes.get(index).get(field);
            return f != null ? f.line() : processNodes.get(index).line();
        }

        @Override
        public int groupLine(int index, String field, int element) {
            if (index < 0 || index >= groupNodes.size()) {
                return 0;
            }
            Mapping g = groupNodes.get(index);
            Field range = g.get("range");
            if ((field.equals("start") || field.equals("end")) && range != null
                    && range.value() instanceof Mapping r) {
                Field f = r.get(field);
                return f != null ? f.line() : range.line();
            }
            Field f = g.get(field);
            if (f != null && field.equals("replicas") && f.value() instanceof Sequence s
                    && element < s.items().size()) {
                return s.items().get(element).line();
            }
            return f != null ? f.line() : g.line();
        }
    }

    /** What a node is, for "must be X, not Y" messages. */
    static String kind(Node node) {
        if (node instanceof Mapping) {
            return "a mapping";
        }
        if (node instanceof Sequence) {
            return "a list";
        }
        Scalar s = (Scalar) node;
        if (s.token() == JsonToken.VALUE_NULL) {
            return "nothing (an empty value)";
        }
        return s.token() == JsonToken.VALUE_STRING ? "'" + shorten(s.text()) + "'" : shorten(s.text());
    }

    private static String shorten(String text) {
        return text.length() <= 60 ? text : text.substring(0, 57) + "...";
    }

    /**
     * The file's text for a cluster: one line per process and per group (so every message names the line of one
     * item), keys quoted as {@link Key#toText} writes them. {@link #parse} reads it back to an equal spec.
     */
    public static String write(ClusterSpec cluster) {
        StringBuilder b = new StringBuilder(64 * (cluster.processes().size() + cluster.groups().size()) + 128);
        b.append("# Gnomon cluster file (docs/cluster-file.md): ").append(cluster.processes().size())
                .append(" processes, ").append(cluster.groups().size()).append(" groups\n");
        b.append("processes:\n");
        for (ProcessSpec p : cluster.processes()) {
            b.append("  - {id: ").append(p.id()).append(", peer: ").append(quote(p.peer().toString()))
                    .append(", client: ").append(quote(p.client().toString()));
            p.dataDir().ifPresent(d -> b.append(", data-dir: ").append(quote(d.toString())));
            b.append("}\n");
        }
        b.append("groups:\n");
        for (GroupSpec g : cluster.groups()) {
            b.append("  - {id: ").append(g.id()).append(", range: {start: ").append(quote(g.range().start().toText()))
                    .append(", end: ").append(quote(g.range().end().toText())).append("}, replicas: [");
            for (int i = 0; i < g.replicas().size(); i++) {
                b.append(i == 0 ? "" : ", ").append(g.replicas().get(i));
            }
            b.append("]}\n");
        }
        return b.toString();
    }

    /** A YAML double-quoted scalar: backslash escapes for quotes, backslashes and anything not printable. */
    static String quote(String text) {
        StringBuilder b = new StringBuilder(text.length() + 2).append('"');
        text.codePoints().forEach(c -> {
            if (c == '"' || c == '\\') {
                b.append('\\').appendCodePoint(c);
            } else if (c >= 0x20 && c < 0x7f) {
                b.appendCodePoint(c);
            } else if (c < 0x20 || c == 0x7f || !printable(c)) {
                b.append(c <= 0xffff ? String.format("\\u%04x", c) : String.format("\\U%08x", c));
            } else {
                b.appendCodePoint(c);
            }
        });
        return b.append('"').toString();
    }

    static boolean printable(int c) {
        return switch (Character.getType(c)) {
            case Character.CONTROL, Character.FORMAT, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR,
                 Character.PRIVATE_USE, Character.SURROGATE, Character.UNASSIGNED -> false;
            default -> true;
        };
    }
}
