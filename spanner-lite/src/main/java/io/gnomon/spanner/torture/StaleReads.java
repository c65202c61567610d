package io.gnomon.spanner.torture;

import io.gnomon.spanner.history.HistoryFormatException;
import io.gnomon.spanner.history.HistoryReader;
import io.gnomon.spanner.history.MicroOp;
import io.gnomon.spanner.history.Op;
import io.gnomon.spanner.history.OpType;
import io.gnomon.spanner.history.ReadMode;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The harness's own, deliberately simple witness of what a lease bug produces: a <b>stale read</b>, an {@code ok}
 * transaction that reads a key and misses a value that an earlier transaction had already shown to be committed
 * (an {@code ok} append of it, or an {@code ok} read that returned it) before this one was invoked. Every such
 * read breaks strict serializability (the value was committed before the read began, so the read must see it),
 * whatever the checker says. It is not a checker: it sees only this one shape, and is used to tell a negative
 * control that <i>showed</i> in its history (a stale read is there) from one that did not, so that "the checker
 * missed it" and "the bug never showed" are different verdicts (docs/reliability.md, "The negative controls").
 * Read-only transactions at a stale bound (invoked with read mode {@code stale}) are left out: real time does not
 * bind them.
 */
final class StaleReads {
    private StaleReads() {
    }

    /** One completed {@code ok} transaction: invoked and completed at these times, with its completed micro-ops. */
    private record Done(long invokedNanos, long completedNanos, List<MicroOp> ops) {
    }

    /** Stale reads in the history at {@code file}: {@code ok} transactions with at least one stale read. */
    static long count(Path file) throws IOException {
        List<Op> ops = new ArrayList<>();
        try (HistoryReader in = HistoryReader.open(file)) {
            for (Op op = in.next(); op != null; op = in.next()) {
                ops.add(op);
            }
        } catch (HistoryFormatException e) {
            throw new IllegalStateException("the harness wrote an unreadable history " + file + ": " + e.getMessage(), e);
        }
        return count(ops);
    }

    /** As {@link #count(Path)}, for events already read (a history allows one transaction in flight per process). */
    static long count(List<Op> history) {
        Map<Integer, Op> inFlight = new HashMap<>();
        List<Done> done = new ArrayList<>();
        for (Op op : history) {
            if (op.type() == OpType.INVOKE) {
                inFlight.put(op.process(), op);
            } else {
                Op invoked = inFlight.remove(op.process());
                // a read at a stale bound may rightly miss what committed before it began (the checker judges it
                // by its timestamp); it can neither be stale here nor make others stale
                if (invoked != null && op.type() == OpType.OK && invoked.readMode() != ReadMode.STALE) {
                    done.add(new Done(invoked.timeNanos(), op.timeNanos(), op.value()));
                }
            }
        }
        List<Done> byCompletion = new ArrayList<>(done);
        byCompletion.sort(Comparator.comparingLong(Done::completedNanos));
        List<Done> byInvocation = new ArrayList<>(done);
        byInvocation.sort(Comparator.comparingLong(Done::invokedNanos));
        // Sweep the invocations in time order; before each, learn every transaction completed strictly earlier.
        Map<String, Set<Long>> committed = new HashMap<>();
        int learned = 0;
        long stale = 0;
        for (Done d : byInvocation) {
            while (learned < byCompletion.size() && byCompletion.get(learned).completedNanos() < d.invokedNanos()) {
                for (MicroOp m : byCompletion.get(learned).ops()) {
                    Set<Long> known = committed.computeIfAbsent(m.key(), k -> new HashSet<>());
                    if (m instanceof MicroOp.Append a) {
                        known.add(a.value());
                    } else if (m instanceof MicroOp.Read r && r.values() != null) {
                        known.addAll(r.values());
                    }
                }
                learned++;
            }
            for (MicroOp m : d.ops()) {
                if (m instanceof MicroOp.Read r && r.values() != null
                        && !new HashSet<>(r.values()).containsAll(committed.getOrDefault(r.key(), Set.of()))) {
                    stale++;
                    break;
                }
            }
        }
        return stale;
    }
}
