package io.gnomon.spanner.torture;

import io.gnomon.spanner.history.MicroOp;
import io.gnomon.spanner.history.ReadMode;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * A store that runs list-append transactions, so one {@link Workload} and one checker run against every backend
 * (replica processes on loopback, a 3-member etcd cluster). Thread-safe.
 */
interface TxnBackend extends AutoCloseable {
    /** Short name for the summary line, e.g. {@code processes}. */
    String name();

    /**
     * Runs one transaction. The future never completes exceptionally: an error is an outcome ({@code FAIL} when
     * the transaction certainly had no effect, {@code INFO} when it may have). A read-only transaction of one
     * read takes the backend's fast read path (a lease read for replicas), where a lease bug would show.
     */
    CompletableFuture<TxnOutcome> execute(List<MicroOp> txn);

    /**
     * How this backend will run {@code txn}: the read mode the history records at its invocation (null: none, and
     * the outcome carries no timestamp) and the call that runs it. A backend that chooses among ways (a snapshot
     * read at a random bound, say) chooses here, with the client's {@code random}; by default it is
     * {@link #execute}, no mode, and {@code random} is left untouched.
     */
    default Call plan(List<MicroOp> txn, SplittableRandom random) {
        return new Call(null, () -> execute(txn));
    }

    /** A transaction as a backend will run it: see {@link #plan}. */
    record Call(ReadMode readMode, Supplier<CompletableFuture<TxnOutcome>> run) {
    }

    /** A linearizable read of one key after the run, for counting lost acknowledged writes; empty if none. */
    Optional<List<Long>> finalRead(String key, Duration timeout);

    @Override
    void close();
}
