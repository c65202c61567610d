package io.gnomon.spanner.torture;

import io.gnomon.spanner.history.HistoryWriter;
import io.gnomon.spanner.history.MicroOp;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The list-append workload (Elle's, docs/history-format.md): {@code clients} threads, each a logical process
 * that runs one transaction at a time against a {@link TxnBackend} and records it in the history. A transaction
 * is a single-key read (the backend's lease-read path) or 1 to {@code maxOpsPerTxn} appends and reads over
 * {@code keys} keys; appended values are unique and increasing per key. A transaction that ends {@code info}
 * leaves its process possibly still in flight, so the thread continues as a fresh process id, as Jepsen does.
 */
final class Workload {
    /**
     * @param clients           concurrent logical clients (threads)
     * @param keys              key space size; keys are {@code k0..k(keys-1)}
     * @param maxOpsPerTxn      micro-ops per read-write transaction, at least 1
     * @param readOnlyFraction  share of transactions that are a single-key read
     * @param opTimeout         how long a client waits before recording {@code info}
     * @param seed              seeds each client's choices (the backend's timing is not seeded)
     */
    record Config(int clients, int keys, int maxOpsPerTxn, double readOnlyFraction, Duration opTimeout, long seed) {
        Config {
            if (clients < 1 || clients > 1024) {
                throw new IllegalArgumentException("clients " + clients + ": 1 to 1024");
            }
            if (keys < 1 || keys > 1000) {
                throw new IllegalArgumentException("keys " + keys + ": 1 to 1000");
            }
            if (maxOpsPerTxn < 1 || maxOpsPerTxn > 64) {
                throw new IllegalArgumentException("maxOpsPerTxn " + maxOpsPerTxn + ": 1 to 64");
            }
        }

        static Config defaults(int clients, long seed) {
            return new Config(clients, 8, 4, 0.3, Duration.ofSeconds(2), seed);
        }
    }

    static final long FAILURE_BACKOFF_MILLIS = 20;

    private final Config config;
    private final TxnBackend backend;
    private final HistoryWriter history;
    private final AtomicLong[] nextValue;
    private final Map<String, Set<Long>> acknowledged = new ConcurrentHashMap<>();
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean stopping;

    Workload(Config config, TxnBackend backend, HistoryWriter history) {
        this.config = config;
        this.backend = backend;
        this.history = history;
        this.nextValue = new AtomicLong[config.keys()];
        for (int k = 0; k < config.keys(); k++) {
            nextValue[k] = new AtomicLong(1);
        }
    }

    static String key(int k) {
        return "k" + k;
    }

    List<String> keys() {
        List<String> out = new ArrayList<>();
        for (int k = 0; k < config.keys(); k++) {
            out.add(key(k));
        }
        return out;
    }

    void start() {
        for (int c = 0; c < config.clients(); c++) {
            int client = c;
            Thread t = new Thread(() -> runClient(client), "torture-client-" + c);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
    }

    /** Asks every client to stop after its current transaction and waits for them. */
    void stop() throws InterruptedException {
        stopping = true;
        long waitMillis = config.opTimeout().toMillis() * 2 + 5_000;
        for (Thread t : threads) {
            t.join(waitMillis);
            if (t.isAlive()) {
                throw new IllegalStateException(t.getName() + " did not stop within " + waitMillis + " ms");
            }
        }
    }

    /** Values each key got from appends whose transaction completed {@code ok}. */
    Map<String, Set<Long>> acknowledged() {
        return acknowledged;
    }

    private void runClient(int client) {
        SplittableRandom random = new SplittableRandom(config.seed() * 1_000_003L + client);
        int process = client;
        while (!stopping) {
            List<MicroOp> txn = nextTxn(random);
            history.invoke(process, txn);
            TxnOutcome outcome;
            try {
                outcome = backend.execute(txn).get(config.opTimeout().toNanos() + 500_000_000L, TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                outcome = TxnOutcome.info(txn, "no answer within " + config.opTimeout());
            } catch (ExecutionException e) {
                outcome = TxnOutcome.info(txn, "backend error: " + e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                history.info(process);
                return;
            }
            switch (outcome.type()) {
                case OK -> {
                    history.ok(process, outcome.completed());
                    for (MicroOp op : txn) {
                        if (op instanceof MicroOp.Append a) {
                            acknowledged.computeIfAbsent(a.key(), k -> ConcurrentHashMap.newKeySet()).add(a.value());
                        }
                    }
                }
                case FAIL -> {
                    history.fail(process);
                    backOff();
                }
                case INFO -> {
                    history.info(process);
                    process += config.clients(); // the old process may still be in flight
                    backOff();
                }
                default -> throw new IllegalStateException("outcome " + outcome.type());
            }
        }
    }

    /** After a failure, so that clients do not spin on a replica that refuses connections while it is down. */
    private static void backOff() {
        try {
            Thread.sleep(FAILURE_BACKOFF_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private List<MicroOp> nextTxn(SplittableRandom random) {
        if (random.nextDouble() < config.readOnlyFraction()) {
            return List.of(new MicroOp.Read(key(random.nextInt(config.keys())), null));
        }
        int n = 1 + random.nextInt(config.maxOpsPerTxn());
        List<MicroOp> txn = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int k = random.nextInt(config.keys());
            if (random.nextBoolean()) {
                txn.add(new MicroOp.Append(key(k), nextValue[k].getAndIncrement()));
            } else {
                txn.add(new MicroOp.Read(key(k), null));
            }
        }
        return txn;
    }
}
