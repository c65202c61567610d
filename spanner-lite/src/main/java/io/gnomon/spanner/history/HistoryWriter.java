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
    private final Map<Integer, List<MicroOp>> inFlight = new HashMap<>();
    private final StringBuilder line = new StringBuilder(256);
    private long nextIndex;
    private long lastTimeNanos = Long.MIN_VALUE;

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
        if (inFlight.containsKey(process)) {
            throw new IllegalStateException("process " + process + " invokes while its previous transaction is in flight");
        }
        List<MicroOp> invocation = new ArrayList<>(txn.size());
        for (MicroOp m : txn) {
            invocation.add(m instanceof MicroOp.Read r ? r.unknown() : m);
        }
        inFlight.put(process, invocation);
        return write(process, OpType.INVOKE, invocation);
    }

    /** Records that {@code process}'s transaction committed with these results (same micro-ops, reads filled in). */
    public synchronized Op ok(int process, List<MicroOp> completed) {
        List<MicroOp> invocation = pending(process);
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
        inFlight.remove(process);
        return write(process, OpType.OK, completed);
    }

    /** Records that {@code process}'s transaction certainly did not take effect. */
    public synchronized Op fail(int process) {
        return write(process, OpType.FAIL, inFlight.remove(checkedPending(process)));
    }

    /** Records that the outcome of {@code process}'s transaction is unknown (a timeout, a lost connection). */
    public synchronized Op info(int process) {
        return write(process, OpType.INFO, inFlight.remove(checkedPending(process)));
    }

    private int checkedPending(int process) {
        pending(process);
        return process;
    }

    private List<MicroOp> pending(int process) {
        List<MicroOp> invocation = inFlight.get(process);
        if (invocation == null) {
            throw new IllegalStateException("process " + process + " completes a transaction it did not invoke");
        }
        return invocation;
    }

    private Op write(int process, OpType type, List<MicroOp> value) {
        long timeNanos = Math.max(monotonicNanos.getAsLong(), lastTimeNanos == Long.MIN_VALUE ? Long.MIN_VALUE : lastTimeNanos + 1);
        Op op = new Op(nextIndex, process, type, Op.TXN, value, timeNanos);
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
        line.append("],\"time\":").append(timeNanos).append("}\n");
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
