package io.gnomon.spanner.history;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a JSON Lines list-append history one event at a time (docs/history-format.md), checking each line's
 * shape: a bad line fails with a {@link HistoryFormatException} that names its number and the reason. Blank
 * lines are skipped; unknown fields are ignored so that writers may add their own (an error text, a node).
 * Pairing invocations with completions is the checker's job; this reader checks single lines and that
 * {@code index} strictly increases and {@code time} never decreases.
 *
 * <pre>{@code
 * try (HistoryReader in = HistoryReader.open(path)) {
 *     for (Op op = in.next(); op != null; op = in.next()) { ... }
 * }
 * }</pre>
 */
public final class HistoryReader implements Closeable {
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private final BufferedReader in;
    private long lineNumber;
    private long lastIndex = Long.MIN_VALUE;
    private long lastTimeNanos = Long.MIN_VALUE;

    public HistoryReader(Reader in) {
        this.in = in instanceof BufferedReader b ? b : new BufferedReader(in, 1 << 16);
    }

    /** Opens a history file (UTF-8). */
    public static HistoryReader open(Path file) throws IOException {
        return new HistoryReader(Files.newBufferedReader(file, StandardCharsets.UTF_8));
    }

    /** The 1-based number of the line the last {@link #next()} returned (0 before the first). */
    public long lineNumber() {
        return lineNumber;
    }

    /** The next event, or {@code null} at the end of the input. */
    public Op next() throws IOException, HistoryFormatException {
        String line;
        do {
            line = in.readLine();
            if (line == null) {
                return null;
            }
            lineNumber++;
        } while (line.isBlank());
        Op op = parse(line);
        if (op.index() <= lastIndex) {
            throw bad("index " + op.index() + " does not increase (previous line had " + lastIndex + ")");
        }
        if (op.timeNanos() < lastTimeNanos) {
            throw bad("time " + op.timeNanos() + " is before the previous line's " + lastTimeNanos
                    + " (time must come from one monotonic clock)");
        }
        lastIndex = op.index();
        lastTimeNanos = op.timeNanos();
        return op;
    }

    /** Reads every event of a history into memory; for tests and small histories. */
    public static List<Op> readAll(Reader source) throws IOException, HistoryFormatException {
        List<Op> ops = new ArrayList<>();
        try (HistoryReader in = new HistoryReader(source)) {
            for (Op op = in.next(); op != null; op = in.next()) {
                ops.add(op);
            }
        }
        return ops;
    }

    private Op parse(String line) throws HistoryFormatException {
        JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw bad("not JSON: " + e.getOriginalMessage());
        }
        if (node == null || !node.isObject()) {
            throw bad("expected a JSON object, found " + (node == null ? "nothing" : node.getNodeType()));
        }
        long index = longField(node, "index");
        long process = longField(node, "process");
        if (process < 0 || process > Integer.MAX_VALUE) {
            throw bad("process " + process + " is out of range (0.." + Integer.MAX_VALUE + ")");
        }
        String typeName = textField(node, "type");
        OpType type = OpType.ofJson(typeName);
        if (type == null) {
            throw bad("unknown type '" + typeName + "' (expected invoke, ok, fail or info)");
        }
        String f = textField(node, "f");
        if (!Op.TXN.equals(f)) {
            throw bad("unknown f '" + f + "' (list-append histories use \"txn\")");
        }
        long timeNanos = longField(node, "time");
        JsonNode value = node.get("value");
        if (value == null || !value.isArray()) {
            throw bad("field 'value' must be an array of micro-ops");
        }
        List<MicroOp> mops = new ArrayList<>(value.size());
        for (int i = 0; i < value.size(); i++) {
            mops.add(microOp(value.get(i), i, type));
        }
        return timestamped(new Op(index, (int) process, type, f, mops, timeNanos), node);
    }

    /**
     * The optional {@code readMode}, {@code commitTs} and {@code readTs} fields, checked against the line they are
     * on; whether an ok that needs a timestamp has one is the checker's check (its mode is on the invoke line).
     */
    private Op timestamped(Op op, JsonNode node) throws HistoryFormatException {
        ReadMode mode = null;
        JsonNode m = node.get("readMode");
        if (m != null) {
            mode = m.isTextual() ? ReadMode.ofJson(m.asText()) : null;
            if (mode == null) {
                throw bad("unknown readMode " + m + " (expected \"strong\" or \"stale\")");
            }
        }
        Long commitTs = optionalLong(node, "commitTs");
        Long readTs = optionalLong(node, "readTs");
        if (commitTs == null && readTs == null) {
            return mode == null ? op : new Op(op.index(), op.process(), op.type(), op.f(), op.value(), op.timeNanos(),
                    mode, null, null);
        }
        String field = commitTs != null ? "commitTs" : "readTs";
        if (commitTs != null && readTs != null) {
            throw bad("has both commitTs and readTs; a read-write transaction has a commit timestamp, a read-only one a"
                    + " read timestamp");
        }
        if (op.type() == OpType.INVOKE || op.type() == OpType.FAIL) {
            throw bad(field + " on " + (op.type() == OpType.INVOKE ? "an invoke" : "a fail")
                    + "; timestamps belong on ok and info completions");
        }
        if (readTs != null && op.appends()) {
            throw bad("readTs on a transaction that appends; a read-write transaction records its commitTs");
        }
        if (commitTs != null && mode == ReadMode.STALE) {
            throw bad("commitTs with readMode \"stale\"; a read-write transaction reads at its commit timestamp");
        }
        return new Op(op.index(), op.process(), op.type(), op.f(), op.value(), op.timeNanos(), mode, commitTs, readTs);
    }

    private Long optionalLong(JsonNode node, String name) throws HistoryFormatException {
        return node.has(name) ? longField(node, name) : null;
    }

    private MicroOp microOp(JsonNode m, int i, OpType type) throws HistoryFormatException {
        String where = "micro-op " + i;
        if (!m.isArray() || m.size() != 3) {
            throw bad(where + " must be [f, key, value], found " + m);
        }
        String f = m.get(0).isTextual() ? m.get(0).asText() : null;
        JsonNode k = m.get(1);
        if (!(k.isTextual() || k.isIntegralNumber())) {
            throw bad(where + " key must be a string or an integer, found " + k);
        }
        String key = k.asText();
        JsonNode v = m.get(2);
        if ("append".equals(f)) {
            if (!v.isIntegralNumber() || !v.canConvertToLong()) {
                throw bad(where + " appends " + v + "; appended values must be 64-bit integers");
            }
            return new MicroOp.Append(key, v.longValue());
        }
        if (!"r".equals(f)) {
            throw bad(where + " has unknown f " + m.get(0) + " (expected \"append\" or \"r\")");
        }
        if (v.isNull()) {
            return new MicroOp.Read(key, null);
        }
        if (type == OpType.INVOKE) {
            throw bad(where + " is a read whose value is known at invocation; write null");
        }
        if (!v.isArray()) {
            throw bad(where + " read value must be a list of integers or null, found " + v);
        }
        List<Long> values = new ArrayList<>(v.size());
        for (JsonNode e : v) {
            if (!e.isIntegralNumber() || !e.canConvertToLong()) {
                throw bad(where + " read a non-integer element " + e);
            }
            values.add(e.longValue());
        }
        return new MicroOp.Read(key, values);
    }

    private long longField(JsonNode node, String name) throws HistoryFormatException {
        JsonNode f = node.get(name);
        if (f == null || !f.isIntegralNumber() || !f.canConvertToLong()) {
            throw bad("field '" + name + "' must be an integer, found " + (f == null ? "nothing" : f));
        }
        return f.longValue();
    }

    private String textField(JsonNode node, String name) throws HistoryFormatException {
        JsonNode f = node.get(name);
        if (f == null || !f.isTextual()) {
            throw bad("field '" + name + "' must be a string, found " + (f == null ? "nothing" : f));
        }
        return f.asText();
    }

    private HistoryFormatException bad(String reason) {
        return new HistoryFormatException(lineNumber, reason);
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
