package io.gnomon.spanner.check;

import java.util.List;
import java.util.Map;

/**
 * The timestamp rules (issue 20, docs/history-format.md): for histories that record commit and read timestamps,
 * <ul>
 *   <li><b>external consistency</b>: if T1 completed ok before T2 was invoked, ts(T1) &lt; ts(T2) when T2 is
 *       read-write, ts(T1) &le; ts(T2) when T2 is read-only (a strong read at exactly T1's commit timestamp sees
 *       T1; two reads at one timestamp are not ordered by anything). Found by one sweep: the ok completions in
 *       time order with a running maximum of their timestamps, and for each invocation a binary search for the
 *       last completion strictly before it; O(n log n), not all pairs.</li>
 *   <li><b>the snapshot rule</b>: a read of key k at timestamp t (a read-only transaction's read timestamp, or a
 *       read-write transaction's commit timestamp) returns exactly the appends of the other transactions committed
 *       at or below t, in commit-timestamp order, followed by its own transaction's appends to k made before the
 *       read (the internal check already holds a read to those). Checked as three parts, each its own class:
 *       no element whose writer committed above t ({@code timestamp-future-read}); no append of another
 *       transaction committed at or below t missing ({@code timestamp-missed-write}); and each key's version
 *       order in strictly increasing commit-timestamp order between different writers ({@code timestamp-order}).</li>
 * </ul>
 * Only transactions with a recorded timestamp take part. "Committed" is what the graph says: ok, or info with an
 * append some read returned; such an info transaction with a recorded commit timestamp counts as committed at it.
 * An info transaction whose appends no read returned may or may not have committed, so nothing requires a read to
 * include it. Stale read-only transactions are left out of external consistency (real time does not bind them)
 * and judged by the snapshot rule like every other read.
 */
final class TimestampRules {
    private final HistoryIndex h;
    private final boolean[] committed;
    private final Findings findings;

    private TimestampRules(HistoryIndex h, boolean[] committed, Findings findings) {
        this.h = h;
        this.committed = committed;
        this.findings = findings;
    }

    /** Applies the rules; does nothing for a history without timestamps. */
    static void check(HistoryIndex h, boolean[] committed, Findings findings) {
        if (h.timestamped == 0) {
            return;
        }
        TimestampRules rules = new TimestampRules(h, committed, findings);
        rules.externalConsistency();
        // The reads by key (a counting sort), so that each key's pass visits only its own reads.
        int[] firstRead = new int[h.keys.size() + 1];
        for (int r = 0; r < h.readTxn.size(); r++) {
            firstRead[h.readKey.get(r) + 1]++;
        }
        for (int kid = 0; kid < h.keys.size(); kid++) {
            firstRead[kid + 1] += firstRead[kid];
        }
        int[] fill = firstRead.clone();
        int[] reads = new int[h.readTxn.size()];
        for (int r = 0; r < h.readTxn.size(); r++) {
            reads[fill[h.readKey.get(r)]++] = r;
        }
        for (int kid = 0; kid < h.keys.size(); kid++) {
            rules.snapshots(kid, reads, firstRead[kid], firstRead[kid + 1]);
        }
    }

    private boolean hasTs(int t) {
        return h.tsKind.get(t) != HistoryIndex.NO_TS;
    }

    private long ts(int t) {
        assert hasTs(t) : "transaction " + t + " has no timestamp";
        return h.tsEpochNanos.get(t);
    }

    /** Whether {@code t} committed with a known commit timestamp, so the snapshot rule places it. */
    private boolean placed(int t) {
        return t >= 0 && committed[t] && h.tsKind.get(t) == HistoryIndex.COMMIT_TS;
    }

    private void externalConsistency() {
        int n = h.txnCount();
        long[] doneNanos = new long[n];
        long[] maxTs = new long[n];
        int[] maxTxn = new int[n];
        int done = 0;
        for (int e = 0; e < h.events.size(); e++) {
            int event = h.events.get(e);
            int t = event >>> 1;
            if ((event & 1) == 1 && h.outcome.get(t) == HistoryIndex.OK && hasTs(t) && !h.stale(t)) {
                doneNanos[done] = h.completeTimeNanos.get(t);
                boolean higher = done == 0 || ts(t) > maxTs[done - 1];
                maxTs[done] = higher ? ts(t) : maxTs[done - 1];
                maxTxn[done] = higher ? t : maxTxn[done - 1];
                assert done == 0 || doneNanos[done] >= doneNanos[done - 1] : "completions come in time order";
                done++;
            }
        }
        for (int t = 0; t < n; t++) {
            if (!committed[t] || !hasTs(t) || h.stale(t)) {
                continue;
            }
            int before = completedBefore(doneNanos, done, h.invokeTimeNanos.get(t));
            if (before == 0) {
                continue;
            }
            int first = maxTxn[before - 1];
            boolean writer = h.tsKind.get(t) == HistoryIndex.COMMIT_TS;
            if (ts(first) > ts(t) || (writer && ts(first) == ts(t))) {
                int second = t;
                String why = describe(first) + " completed before " + describe(second) + " was invoked, but "
                        + name(second) + "'s " + tsName(second) + " " + ts(second) + " is "
                        + (writer ? "not above " : "below ") + ts(first);
                findings.add(AnomalyType.EXTERNAL_CONSISTENCY, () -> new Anomaly(AnomalyType.EXTERNAL_CONSISTENCY,
                        List.of(first, second), List.of(), null, why));
            }
        }
    }

    /** How many of the first {@code done} completion times are strictly before {@code invokedNanos}. */
    private static int completedBefore(long[] doneNanos, int done, long invokedNanos) {
        int lo = 0;
        int hi = done;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (doneNanos[mid] < invokedNanos) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /** The snapshot rule for one key, whose reads are {@code reads[from..to)}. */
    private void snapshots(int kid, int[] reads, int from, int to) {
        HistoryIndex.KeyState k = h.keys.get(kid);
        int n = k.order.size();
        // prefixMax*[i]: the highest commit timestamp among order[0..i) and where (-1: none placed).
        long[] prefixMaxTs = new long[n + 1];
        int[] prefixMaxAt = new int[n + 1];
        prefixMaxAt[0] = -1;
        int lastAt = -1;
        for (int i = 0; i < n; i++) {
            int w = k.writer(k.order.get(i));
            prefixMaxTs[i + 1] = prefixMaxTs[i];
            prefixMaxAt[i + 1] = prefixMaxAt[i];
            if (!placed(w)) {
                continue;
            }
            if (prefixMaxAt[i] < 0 || ts(w) > prefixMaxTs[i]) {
                prefixMaxTs[i + 1] = ts(w);
                prefixMaxAt[i + 1] = i;
            }
            if (lastAt >= 0) {
                int prev = k.writer(k.order.get(lastAt));
                if (prev != w && ts(w) <= ts(prev)) {
                    reportOrder(k, lastAt, i);
                }
            }
            lastAt = i;
        }
        // Appends not in order[0..i) by the two earliest-committing distinct writers: a read of length i must have
        // none of them committed at or below its timestamp, except its own transaction's (at most one of the two).
        Earliest[] suffix = new Earliest[n + 1];
        Earliest unread = new Earliest();
        for (Map.Entry<Long, Integer> a : k.writers.entrySet()) {
            int w = a.getValue() >>> 1;
            if (placed(w) && !k.position.containsKey(a.getKey())) {
                unread.offer(w, a.getKey(), ts(w));
            }
        }
        suffix[n] = unread;
        for (int i = n - 1; i >= 0; i--) {
            suffix[i] = suffix[i + 1].copy();
            int w = k.writer(k.order.get(i));
            if (placed(w)) {
                suffix[i].offer(w, k.order.get(i), ts(w));
            }
        }
        for (int j = from; j < to; j++) {
            int r = reads[j];
            if (!hasTs(h.readTxn.get(r))) {
                continue;
            }
            int reader = h.readTxn.get(r);
            int length = h.readLength.get(r);
            long t = ts(reader);
            int at = prefixMaxAt[length];
            if (at >= 0 && prefixMaxTs[length] > t) {
                int w = k.writer(k.order.get(at));
                String why = describe(reader) + " read " + k.name + " = " + length + " elements ending at "
                        + h.readLast.get(r) + ", which includes " + k.order.get(at) + ", appended by " + describe(w)
                        + ": committed above the read's timestamp " + t;
                findings.add(AnomalyType.TIMESTAMP_FUTURE_READ, () -> new Anomaly(AnomalyType.TIMESTAMP_FUTURE_READ,
                        List.of(reader, w), List.of(), k.name, why));
            }
            Earliest missing = suffix[length];
            int other = missing.writer1 != reader ? 0 : 1;
            int w = other == 0 ? missing.writer1 : missing.writer2;
            if (w >= 0 && ts(w) <= t) {
                long element = other == 0 ? missing.element1 : missing.element2;
                String why = describe(reader) + " read " + k.name + " = " + (length == 0 ? "empty" : length
                        + " elements ending at " + h.readLast.get(r)) + ", without " + element + ", appended by "
                        + describe(w) + ": committed at or below the read's timestamp " + t;
                findings.add(AnomalyType.TIMESTAMP_MISSED_WRITE, () -> new Anomaly(AnomalyType.TIMESTAMP_MISSED_WRITE,
                        List.of(reader, w), List.of(), k.name, why));
            }
        }
    }

    private void reportOrder(HistoryIndex.KeyState k, int before, int after) {
        int a = k.writer(k.order.get(before));
        int b = k.writer(k.order.get(after));
        String why = describe(a) + " appended " + k.order.get(before) + " to " + k.name + " before " + describe(b)
                + " appended " + k.order.get(after) + ", but the commit timestamps do not increase: " + ts(a)
                + " then " + ts(b);
        findings.add(AnomalyType.TIMESTAMP_ORDER, () -> new Anomaly(AnomalyType.TIMESTAMP_ORDER, List.of(a, b),
                List.of(), k.name, why));
    }

    /** The two distinct writers with the lowest commit timestamps offered, and one element of each. */
    private static final class Earliest {
        int writer1 = -1;
        long ts1;
        long element1;
        int writer2 = -1;
        long ts2;
        long element2;

        void offer(int w, long element, long ts) {
            if (w == writer1) {
                return;
            }
            if (writer1 < 0 || ts < ts1) { // w is not writer2 either: one writer has one timestamp, and ts2 >= ts1
                writer2 = writer1;
                ts2 = ts1;
                element2 = element1;
                writer1 = w;
                ts1 = ts;
                element1 = element;
            } else if (w != writer2 && (writer2 < 0 || ts < ts2)) {
                writer2 = w;
                ts2 = ts;
                element2 = element;
            }
        }

        Earliest copy() {
            Earliest e = new Earliest();
            e.writer1 = writer1;
            e.ts1 = ts1;
            e.element1 = element1;
            e.writer2 = writer2;
            e.ts2 = ts2;
            e.element2 = element2;
            return e;
        }
    }

    private String name(int t) {
        return "T" + h.invokeIndex.get(t);
    }

    private String tsName(int t) {
        return h.tsKind.get(t) == HistoryIndex.COMMIT_TS ? "commit ts" : "read ts";
    }

    /** {@code T12 (commit ts 1000, invoked at time 200, ok at time 300)}: the operation, its timestamp and real times. */
    private String describe(int t) {
        long done = h.completeTimeNanos.get(t);
        return name(t) + " (" + tsName(t) + " " + ts(t) + (h.stale(t) ? ", stale" : "") + ", invoked at time "
                + h.invokeTimeNanos.get(t) + ", " + (h.outcome.get(t) == HistoryIndex.OK ? "ok at time " + done
                : "outcome unknown") + ")";
    }
}
