package io.gnomon.spanner.check;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.gnomon.spanner.history.MicroOp;
import io.gnomon.spanner.history.ReadMode;

import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/**
 * Renders a {@link CheckResult} for people (text) or programs (JSON, docs/history-format.md). Both name a
 * transaction by the {@code index} of its invoke line, written {@code T<index>} in text.
 */
public final class Report {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Report() {
    }

    /**
     * One word for the result: {@code valid}, {@code not-serializable}, {@code not-strictly-serializable},
     * {@code unclassified-cycle} when, short of a class that rules out serializability, the cycle search ran out
     * of steps on a cyclic component (not strictly serializable; whether serializable is unknown), or
     * {@code timestamp-violation} when only timestamp rules are broken (the recorded timestamps contradict real
     * time or what the reads returned).
     */
    public static String verdict(CheckResult r) {
        if (r.valid()) {
            return "valid";
        }
        if (r.serializabilityViolated()) {
            return "not-serializable";
        }
        if (r.counts().containsKey(AnomalyType.UNCLASSIFIED_CYCLE)) {
            return "unclassified-cycle";
        }
        return r.counts().keySet().stream().anyMatch(AnomalyType::realtimeOnly) ? "not-strictly-serializable"
                : "timestamp-violation";
    }

    /** A readable report showing at most {@code maxPerClass} anomalies of each class. */
    public static String text(CheckResult r, int maxPerClass) {
        StringBuilder out = new StringBuilder();
        CheckResult.Stats s = r.stats();
        if (r.valid()) {
            out.append("valid: no anomalies found\n");
        } else {
            int total = r.counts().values().stream().mapToInt(Integer::intValue).sum();
            int classes = r.counts().size();
            out.append("INVALID (").append(verdict(r)).append("): ").append(total)
                    .append(total == 1 ? " anomaly in " : " anomalies in ").append(classes)
                    .append(classes == 1 ? " class\n" : " classes\n");
            r.counts().forEach((type, count) -> {
                List<Anomaly> shown = r.examples().getOrDefault(type, List.of());
                out.append('\n').append(type.label()).append(": ").append(count).append(" found — ")
                        .append(type.definition()).append('\n');
                for (Anomaly a : shown.subList(0, Math.min(maxPerClass, shown.size()))) {
                    anomalyText(r, a, out);
                }
                if (count > Math.min(maxPerClass, shown.size())) {
                    out.append("  … and ").append(count - Math.min(maxPerClass, shown.size())).append(" more\n");
                }
            });
            out.append('\n');
        }
        out.append(String.format("%d ops, %d transactions (%d ok, %d fail, %d info%s), %d keys; graph: %d transactions,"
                        + " %d ww, %d wr, %d rw, %d realtime edges, %d cyclic components%s; %.2f s%n",
                s.ops(), s.txns(), s.ok(), s.fail(), s.info(),
                s.timestamped() == 0 ? "" : "; " + s.timestamped() + " with timestamps", s.keys(), s.nodes(),
                s.edges().get(EdgeType.WW), s.edges().get(EdgeType.WR), s.edges().get(EdgeType.RW),
                s.edges().get(EdgeType.REALTIME),
                s.cyclicComponents(), s.searchTruncated() ? " (cycle search truncated: some classes may be missing)" : "",
                s.elapsedNanos() / 1e9));
        return out.toString();
    }

    private static void anomalyText(CheckResult r, Anomaly a, StringBuilder out) {
        out.append("  - ").append(a.key() == null ? "" : "key " + a.key() + ": ").append(a.explanation()).append('\n');
        for (int t : new java.util.LinkedHashSet<>(a.txns())) {
            CheckResult.Txn txn = r.txn(t);
            if (txn != null) {
                out.append("    ").append(name(txn)).append(" = process ").append(txn.process()).append(", ")
                        .append(txn.outcome() == null ? "never completed" : txn.outcome().json())
                        .append(txn.completeIndex() == null ? "" : " at index " + txn.completeIndex())
                        .append(txn.commitTs() == null ? "" : ", commit ts " + txn.commitTs())
                        .append(txn.readTs() == null ? "" : ", " + (txn.readMode() == ReadMode.STALE ? "stale " : "")
                                + "read ts " + txn.readTs())
                        .append(": ").append(microOps(txn.value())).append('\n');
            }
        }
        for (Dependency d : a.cycle()) {
            out.append("    ").append(name(r, d.from())).append(" -").append(d.type().label()).append("-> ")
                    .append(name(r, d.to())).append(": ").append(why(r, d)).append('\n');
        }
    }

    private static String why(CheckResult r, Dependency d) {
        String a = name(r, d.from());
        String b = name(r, d.to());
        if (d.unread()) {
            String after = " appended " + d.value() + " to " + d.key() + ", which no read returned: lists only grow, so "
                    + b + " came after";
            return d.type() == EdgeType.WW
                    ? a + " appended " + d.prevValue() + ", the last element any read of " + d.key() + " returned, and " + b + after
                    : a + " read " + d.key() + (d.prevValue() == null ? " empty" : " ending at " + d.prevValue()) + ", and "
                    + b + after;
        }
        return switch (d.type()) {
            case WW -> a + " appended " + d.prevValue() + " to " + d.key() + ", and " + b + " appended " + d.value()
                    + " right after it";
            case WR -> b + " read " + d.key() + " ending at " + d.value() + ", which " + a + " appended";
            case RW -> a + " read " + d.key() + (d.prevValue() == null ? " empty" : " ending at " + d.prevValue())
                    + ", and " + b + " appended the next element, " + d.value();
            case REALTIME -> a + " completed at index " + completeIndex(r, d.from()) + ", before " + b
                    + " was invoked at index " + invokeIndex(r, d.to());
        };
    }

    private static String name(CheckResult.Txn t) {
        return "T" + t.invokeIndex();
    }

    private static String name(CheckResult r, int id) {
        CheckResult.Txn t = r.txn(id);
        return t == null ? "T?" + id : name(t);
    }

    private static Object completeIndex(CheckResult r, int id) {
        CheckResult.Txn t = r.txn(id);
        return t == null ? "?" : t.completeIndex();
    }

    private static Object invokeIndex(CheckResult r, int id) {
        CheckResult.Txn t = r.txn(id);
        return t == null ? "?" : t.invokeIndex();
    }

    private static String microOps(List<MicroOp> value) {
        StringJoiner j = new StringJoiner(" ", "[", "]");
        for (MicroOp m : value) {
            if (m instanceof MicroOp.Append a) {
                j.add("[append " + a.key() + " " + a.value() + "]");
            } else {
                List<Long> v = ((MicroOp.Read) m).values();
                j.add("[r " + m.key() + " " + (v == null ? "nil" : HistoryIndex.brief(v).replace(",", "")) + "]");
            }
        }
        return j.toString();
    }

    /** The machine-readable report: stable field names, transactions named by their invoke index. */
    public static String json(CheckResult r) {
        ObjectNode root = JSON.createObjectNode();
        root.put("valid", r.valid());
        root.put("verdict", verdict(r));
        ObjectNode counts = root.putObject("counts");
        r.counts().forEach((type, n) -> counts.put(type.label(), n));
        ArrayNode anomalies = root.putArray("anomalies");
        r.examples().forEach((type, list) -> list.forEach(a -> {
            ObjectNode o = anomalies.addObject();
            o.put("type", type.label());
            ArrayNode txns = o.putArray("txns");
            a.txns().forEach(t -> txns.add(r.txn(t).invokeIndex()));
            if (a.key() != null) {
                o.put("key", a.key());
            }
            ArrayNode cycle = o.putArray("cycle");
            for (Dependency d : a.cycle()) {
                ObjectNode e = cycle.addObject();
                e.put("from", r.txn(d.from()).invokeIndex());
                e.put("to", r.txn(d.to()).invokeIndex());
                e.put("type", d.type().label());
                if (d.key() != null) {
                    e.put("key", d.key());
                }
                if (d.value() != null) {
                    e.put("value", d.value());
                }
                if (d.prevValue() != null) {
                    e.put("prevValue", d.prevValue());
                }
                if (d.unread()) {
                    e.put("unread", true);
                }
            }
            o.put("explanation", a.explanation());
        }));
        ObjectNode txns = root.putObject("txns");
        for (CheckResult.Txn t : r.txns().values()) {
            ObjectNode o = txns.putObject(Long.toString(t.invokeIndex()));
            o.put("process", t.process());
            o.put("outcome", t.outcome() == null ? "none" : t.outcome().json());
            o.put("invokeIndex", t.invokeIndex());
            if (t.completeIndex() != null) {
                o.put("completeIndex", t.completeIndex());
            }
            if (t.readMode() != null) {
                o.put("readMode", t.readMode().json());
            }
            if (t.commitTs() != null) {
                o.put("commitTs", t.commitTs());
            }
            if (t.readTs() != null) {
                o.put("readTs", t.readTs());
            }
            ArrayNode value = o.putArray("value");
            for (MicroOp m : t.value()) {
                ArrayNode mo = value.addArray();
                if (m instanceof MicroOp.Append a) {
                    mo.add("append").add(a.key()).add(a.value());
                } else {
                    mo.add("r").add(m.key());
                    List<Long> v = ((MicroOp.Read) m).values();
                    if (v == null) {
                        mo.addNull();
                    } else {
                        ArrayNode list = mo.addArray();
                        v.forEach(list::add);
                    }
                }
            }
        }
        CheckResult.Stats s = r.stats();
        ObjectNode stats = root.putObject("stats");
        stats.put("ops", s.ops());
        stats.put("txns", s.txns());
        stats.put("ok", s.ok());
        stats.put("fail", s.fail());
        stats.put("info", s.info());
        stats.put("keys", s.keys());
        stats.put("timestamped", s.timestamped());
        stats.put("nodes", s.nodes());
        ObjectNode edges = stats.putObject("edges");
        for (Map.Entry<EdgeType, Long> e : s.edges().entrySet()) {
            edges.put(e.getKey().label(), e.getValue());
        }
        stats.put("cyclicComponents", s.cyclicComponents());
        stats.put("searchTruncated", s.searchTruncated());
        stats.put("elapsedMillis", s.elapsedNanos() / 1_000_000);
        return root.toString();
    }
}
