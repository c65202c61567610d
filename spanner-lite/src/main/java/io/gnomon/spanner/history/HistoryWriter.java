package io.gnomon.spanner.history;

import com.fasterxml.jackson.core.io.JsonStringEncoder;

import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Records a list-append history as JSON Lines (docs/history-format.md), for test harnesses. Thread-safe: any
 * number of client threads record their own processes' events; each event gets the next {@code index} and a
 * {@code time} from the given monotonic clock, forced to increase strictly so that line order, index order and
 * time order are one order (the checker's real-time edges rely on it). Pairing is checked as events arrive: a
 * process has at most one transaction in flight, and a completion must be for the transaction it invoked.
 * Timestamps are optional: invoke with a {@link ReadMode}, then complete with {@link #okCommitted} (read-write),
 * {@link #okRead} (read-only) or {@link #infoCommitted}; a transaction invoked with a mode cannot complete with a
 * plain {@link #ok}, so a harness that records timestamps cannot leave one out by mistake.
 *
 * <pre>{@code
 * try (HistoryWriter h = HistoryWriter.open(path, System::nanoTime)) {
 *     h.invoke(3, List.of(new MicroOp.Append("x", 1), new MicroOp.Read("y", null)));
 *     h.ok(3, List.of(new MicroOp.Append("x", 1), new MicroOp.Read("y", List.of(1L, 2L))));
 * }
 * }</pre>
 */
public final class HistoryWriter implements Closeable {
    private final Writer out;
    private final LongSupplier monotonicNanos;
    private final Map<Integer, Pending> inFlight = new HashMap<>();
    private final StringBuilder line = new StringBuilder(256);
    private long nextIndex;
    private long lastTimeNanos = Long.MIN_VALUE;

    private record Pending(List<MicroOp> invocation, ReadMode readMode) {
    }

    /**
     * @param out            where lines go; closed by {@link #close()}
     * @param monotonicNanos the runner's monotonic clock in nanoseconds (e.g. {@code System::nanoTime}, or a
     *                       simulator's clock)
     */
    public HistoryWriter(Writer out, LongSupplier monotonicNanos) {
        this.out = out;
        this.monotonicNanos = monotonicNanos;
    }

    /** Creates (or truncates) a history file. */
    public static HistoryWriter open(Path file, LongSupplier monotonicNanos) throws IOException {
        return new HistoryWriter(new BufferedWriter(Files.newBufferedWriter(file, StandardCharsets.UTF_8), 1 << 16),
                monotonicNanos);
    }

    /** Records that {@code process} submits {@code txn}; read results in it, if any, are not recorded. */
    public synchronized Op invoke(int process, List<MicroOp> txn) {
        return invoke(process, txn, null);
    }

    /**
     * Records that {@code process} submits {@code txn} with its reads bound by {@code readMode} ({@code null}: not
     * recorded). With a mode, its {@code ok} must carry a timestamp ({@link #okCommitted} or {@link #okRead}).
     */
    public synchronized Op invoke(int process, List<MicroOp> txn, ReadMode readMode) {
        if (inFlight.containsKey(process)) {
            throw new IllegalStateException("process " + process + " invokes while its previous transaction is in flight");
        }
        List<MicroOp> invocation = new ArrayList<>(txn.size());
        for (MicroOp m : txn) {
            invocation.add(m instanceof MicroOp.Read r ? r.unknown() : m);
        }
        inFlight.put(process, new Pending(invocation, readMode));
        return write(process, OpType.INVOKE, invocation, readMode, null, null);
    }

    /** Records that {@code process}'s transaction committed with these results (same micro-ops, reads filled in). */
    public synchronized Op ok(int process, List<MicroOp> completed) {
        ReadMode mode = checkedCompletion(process, completed);
        if (mode != null) {
            throw new IllegalStateException("process " + process + " was invoked with readMode " + mode.json()
                    + ", so its ok needs a commit or read timestamp (okCommitted or okRead)");
        }
        inFlight.remove(process);
        return write(process, OpType.OK, completed, null, null, null);
    }

    /** Records that {@code process}'s read-write transaction committed at {@code commitTsEpochNanos}. */
    public synchronized Op okCommitted(int process, List<MicroOp> completed, long commitTsEpochNanos) {
        if (checkedCompletion(process, completed) == ReadMode.STALE) {
            throw new IllegalStateException("process " + process + " was invoked with readMode stale, which only a"
                    + " read-only transaction has: it gets a read timestamp, not a commit timestamp");
        }
        inFlight.remove(process);
        return write(process, OpType.OK, completed, null, commitTsEpochNanos, null);
    }

    /** Records that {@code process}'s read-only transaction read at {@code readTsEpochNanos}. */
    public synchronized Op okRead(int process, List<MicroOp> completed, long readTsEpochNanos) {
        if (checkedCompletion(process, completed) == null) {
            throw new IllegalStateException("process " + process + " has a read timestamp but was invoked without a"
                    + " readMode, so the checker cannot tell whether real time binds it");
        }
        if (completed.stream().anyMatch(m -> m instanceof MicroOp.Append)) {
            throw new IllegalArgumentException("process " + process + " appends, so it is read-write: okCommitted");
        }
        inFlight.remove(process);
        return write(process, OpType.OK, completed, null, null, readTsEpochNanos);
    }

    /** Records that {@code process}'s transaction certainly did not take effect. */
    public synchronized Op fail(int process) {
        return write(process, OpType.FAIL, inFlight.remove(checkedPending(process)).invocation(), null, null, null);
    }

    /** Records that the outcome of {@code process}'s transaction is unknown (a timeout, a lost connection). */
    public synchronized Op info(int process) {
        return write(process, OpType.INFO, inFlight.remove(checkedPending(process)).invocation(), null, null, null);
    }

    /**
     * Records that the outcome of {@code process}'s read-write transaction is unknown, but that if it committed,
     * it committed at {@code commitTsEpochNanos} (the client learned the timestamp, not the outcome).
     */
    public synchronized Op infoCommitted(int process, long commitTsEpochNanos) {
        Pending p = inFlight.remove(checkedPending(process));
        if (p.readMode() == ReadMode.STALE) {
            throw new IllegalStateException("process " + process + " was invoked with readMode stale, which only a"
                    + " read-only transaction has");
        }
        return write(process, OpType.INFO, p.invocation(), null, commitTsEpochNanos, null);
    }

    /** Checks a completion's micro-ops against the invocation; returns the invocation's read mode. */
    private ReadMode checkedCompletion(int process, List<MicroOp> completed) {
        Pending p = pending(process);
        List<MicroOp> invocation = p.invocation();
        if (completed.size() != invocation.size()) {
            throw new IllegalArgumentException("process " + process + " completes " + completed.size()
                    + " micro-ops but invoked " + invocation.size());
        }
        for (int i = 0; i < completed.size(); i++) {
            MicroOp done = completed.get(i);
            MicroOp asked = invocation.get(i);
            boolean same = done instanceof MicroOp.Read r ? asked.equals(r.unknown()) && r.values() != null : asked.equals(done);
            if (!same) {
                throw new IllegalArgumentException("process " + process + " micro-op " + i + " completes as " + done
                        + " but was invoked as " + asked);
            }
        }
        return p.readMode();
    }

    private int checkedPending(int process) {
        pending(process);
        return process;
    }

    private Pending pending(int process) {
        Pending invocation = inFlight.get(process);
        if (invocation == null) {
            throw new IllegalStateException("process " + process + " completes a transaction it did not invoke");
        }
        return invocation;
    }

    private Op write(int process, OpType type, List<MicroOp> value, ReadMode readMode, Long commitTsEpochNanos,
                     Long readTsEpochNanos) {
        long timeNanos = Math.max(monotonicNanos.getAsLong(), lastTimeNanos == Long.MIN_VALUE ? Long.MIN_VALUE : lastTimeNanos + 1);
        Op op = new Op(nextIndex, process, type, Op.TXN, value, timeNanos, readMode, commitTsEpochNanos, readTsEpochNanos);
        line.setLength(0);
        line.append("{\"index\":").append(op.index())
                .append(",\"process\":").append(process)
                .append(",\"type\":\"").append(type.json())
                .append("\",\"f\":\"txn\",\"value\":[");
        for (int i = 0; i < value.size(); i++) {
            if (i > 0) {
                line.append(',');
            }
            appendMicroOp(value.get(i));
        }
        line.append("],\"time\":").append(timeNanos);
        if (readMode != null) {
            line.append(",\"readMode\":\"").append(readMode.json()).append('"');
        }
        if (commitTsEpochNanos != null) {
            line.append(",\"commitTs\":").append(commitTsEpochNanos.longValue());
        }
        if (readTsEpochNanos != null) {
            line.append(",\"readTs\":").append(readTsEpochNanos.longValue());
        }
        line.append("}\n");
        try {
            out.append(line);
        } catch (IOException e) {
            throw new UncheckedIOException("writing history line " + op.index(), e);
        }
        nextIndex++;
        lastTimeNanos = timeNanos;
        return op;
    }

    private void appendMicroOp(MicroOp m) {
        line.append(m instanceof MicroOp.Append ? "[\"append\",\"" : "[\"r\",\"");
        JsonStringEncoder.getInstance().quoteAsString(m.key(), line);
        line.append("\",");
        if (m instanceof MicroOp.Append a) {
            line.append(a.value());
        } else if (((MicroOp.Read) m).values() == null) {
            line.append("null");
        } else {
            List<Long> values = ((MicroOp.Read) m).values();
            line.append('[');
            for (int i = 0; i < values.size(); i++) {
                if (i > 0) {
                    line.append(',');
                }
                line.append(values.get(i).longValue());
            }
            line.append(']');
        }
        line.append(']');
    }

    /** Pushes buffered lines to the underlying writer. */
    public synchronized void flush() throws IOException {
        out.flush();
    }

    /** The processes with a transaction in flight (invoked, not completed); the checker counts them as info. */
    public synchronized List<Integer> inFlightProcesses() {
        return List.copyOf(inFlight.keySet());
    }

    @Override
    public synchronized void close() throws IOException {
        out.close();
    }
}
