package io.gnomon.spanner.check;

import io.gnomon.spanner.history.HistoryFormatException;
import io.gnomon.spanner.history.HistoryWriter;
import io.gnomon.spanner.history.MicroOp;
import io.gnomon.spanner.history.ReadMode;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.List;

/** Hand-made histories, recorded through {@link HistoryWriter} on a clock that ticks 10 ns per event. */
final class Histories {
    private final StringWriter out = new StringWriter();
    private long nowNanos;
    private final HistoryWriter writer = new HistoryWriter(out, () -> nowNanos += 10);

    static MicroOp append(String key, long value) {
        return new MicroOp.Append(key, value);
    }

    /** A read with its result, for completions; invocations drop the result. */
    static MicroOp read(String key, Long... values) {
        return new MicroOp.Read(key, Arrays.asList(values));
    }

    Histories invoke(int process, MicroOp... ops) {
        writer.invoke(process, List.of(ops));
        return this;
    }

    Histories ok(int process, MicroOp... ops) {
        writer.ok(process, List.of(ops));
        return this;
    }

    Histories invoke(int process, ReadMode mode, MicroOp... ops) {
        writer.invoke(process, List.of(ops), mode);
        return this;
    }

    /** A read-write transaction's ok with its commit timestamp. */
    Histories okCommitted(int process, long commitTs, MicroOp... ops) {
        writer.okCommitted(process, List.of(ops), commitTs);
        return this;
    }

    /** A read-only transaction's ok with its read timestamp. */
    Histories okRead(int process, long readTs, MicroOp... ops) {
        writer.okRead(process, List.of(ops), readTs);
        return this;
    }

    /** An unknown outcome whose commit timestamp, if it committed, is known. */
    Histories infoCommitted(int process, long commitTs) {
        writer.infoCommitted(process, commitTs);
        return this;
    }

    /** A strong read-write transaction that runs alone and commits at {@code commitTs}. */
    Histories rw(int process, long commitTs, MicroOp... ops) {
        return invoke(process, ReadMode.STRONG, ops).okCommitted(process, commitTs, ops);
    }

    /** A read-only transaction that runs alone and reads at {@code readTs}. */
    Histories ro(int process, ReadMode mode, long readTs, MicroOp... ops) {
        return invoke(process, mode, ops).okRead(process, readTs, ops);
    }

    Histories fail(int process) {
        writer.fail(process);
        return this;
    }

    Histories info(int process) {
        writer.info(process);
        return this;
    }

    /** A transaction that runs alone: invoke, then ok with the same micro-ops. */
    Histories txn(int process, MicroOp... ops) {
        return invoke(process, ops).ok(process, ops);
    }

    String text() {
        try {
            writer.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    CheckResult check() {
        return check(text());
    }

    static CheckResult check(String history) {
        try {
            return new Checker(Checker.Limits.DEFAULT, System::nanoTime).check(HistorySource.ofString(history));
        } catch (IOException | HistoryFormatException e) {
            throw new AssertionError(e);
        }
    }
}
