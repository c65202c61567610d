package io.gnomon.paxos.bench;

import java.util.concurrent.CompletableFuture;

/**
 * A replicated log (or a store standing in for one) that {@link ClosedLoopLoad} drives: one call appends one
 * entry and its future completes when the entry is committed, i.e. when the backend would tell a client
 * "done". Each backend documents what "committed" guarantees (replicas that hold it, fsync or not), so two
 * backends measured side by side are compared at the same durability.
 *
 * <p>Adding a backend to {@link LogLoadMain}: implement this, then add a case to {@code LogLoadMain.openBackend}
 * and its name to {@code LogLoadMain.BACKENDS}.
 *
 * <pre>{@code
 * final class InMemoryBackend implements AppendBackend {
 *     public String name() { return "memory"; }
 *     public CompletableFuture<?> append(int client, long seq, byte[] value) {
 *         return CompletableFuture.completedFuture(null);
 *     }
 *     public void close() { }
 * }
 * }</pre>
 */
public interface AppendBackend extends AutoCloseable {

    /** Short name for the result row, e.g. {@code etcd} or {@code gnomon}. */
    String name();

    /** One line for the report: what is being driven and what a completed append guarantees. */
    default String description() {
        return name();
    }

    /**
     * Appends {@code value} as one entry. Called by one client at a time per {@code client} (closed loop: the
     * next call for a client comes after this future completes), concurrently across clients. {@code seq}
     * counts that client's appends from 0. The same {@code value} array is passed to every call: do not
     * modify it. Failures complete the future exceptionally (a thrown exception counts the same).
     */
    CompletableFuture<?> append(int client, long seq, byte[] value);

    /**
     * Called once before the load, with the run's client count and value: a read backend writes the keys its
     * reads will find here (not measured). Nothing by default.
     */
    default void prepare(int clients, byte[] value) throws Exception {
    }

    /**
     * Runs {@code op} for keys 0..keysPerClient-1 of every client, 64 at a time, and waits for all: the untimed
     * writes that a read load reads back.
     */
    static void populate(int clients, int keysPerClient, java.util.function.BiFunction<Integer, Integer, CompletableFuture<?>> op)
            throws Exception {
        java.util.List<CompletableFuture<?>> wave = new java.util.ArrayList<>();
        for (int c = 0; c < clients; c++) {
            for (int n = 0; n < keysPerClient; n++) {
                wave.add(op.apply(c, n));
                if (wave.size() == 64) {
                    CompletableFuture.allOf(wave.toArray(CompletableFuture[]::new)).get(60, java.util.concurrent.TimeUnit.SECONDS);
                    wave.clear();
                }
            }
        }
        CompletableFuture.allOf(wave.toArray(CompletableFuture[]::new)).get(60, java.util.concurrent.TimeUnit.SECONDS);
    }

    /**
     * The pids of the server processes this backend started (replicas, members), whose CPU time per operation the
     * result reports; empty (the default) when it drives processes it did not start.
     */
    default java.util.List<Long> serverPids() {
        return java.util.List.of();
    }

    @Override
    void close() throws Exception;
}
