package io.gnomon.paxos.bench;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * What {@code bin/bench-txn} wraps every backend in. It knows when all of a run's operations have ended
 * ({@link #awaitIdle}: the closed loop returns when its measured window closes, with cool-down operations still in
 * flight), and it serves {@code --verify}: each read-modify-write raises its keys' write counts by one
 * ({@link TxnLoadMain#nextValue}). Over every operation the load issues (warm-up and cool-down too) it counts the
 * keys that committed read-modify-writes counted, and the operations that failed (whose outcome may be unknown).
 * With no failure, the sum of every key's count after the run minus before it must equal the keys counted: less
 * means an update was lost (two read-modify-writes of one key both committed on the same old value), more that one
 * was applied twice.
 */
final class CountedBackend implements AppendBackend {
    private final AppendBackend inner;
    private long keysCounted;
    private long failed;
    private int inFlight;

    CountedBackend(AppendBackend inner) {
        this.inner = inner;
    }

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public String description() {
        return inner.description();
    }

    @Override
    public void prepare(int clients, byte[] value) throws Exception {
        inner.prepare(clients, value);
    }

    @Override
    public CompletableFuture<?> append(int client, long seq, byte[] value) {
        synchronized (this) {
            inFlight++;
        }
        CompletableFuture<?> f;
        try {
            f = inner.append(client, seq, value);
        } catch (RuntimeException e) {
            done(null, e);
            throw e;
        }
        return f.whenComplete(this::done);
    }

    private synchronized void done(Object result, Throwable error) {
        if (error != null) {
            failed++;
        } else {
            keysCounted += ((TxnResult.Outcome) result).keysCounted();
        }
        inFlight--;
        assert inFlight >= 0;
        notifyAll();
    }

    /** Waits until no operation is in flight, or {@code timeoutNanos}; whether none is. */
    synchronized boolean awaitIdle(long timeoutNanos) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutNanos;
        while (inFlight > 0) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            wait(Math.max(1, left / 1_000_000));
        }
        return true;
    }

    synchronized long keysCounted() {
        return keysCounted;
    }

    synchronized long failed() {
        return failed;
    }

    @Override
    public List<Long> serverPids() {
        return inner.serverPids();
    }

    @Override
    public void close() throws Exception {
        inner.close();
    }
}
