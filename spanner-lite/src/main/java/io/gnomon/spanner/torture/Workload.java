package io.gnomon.spanner.torture;

import io.gnomon.spanner.history.HistoryWriter;
import io.gnomon.spanner.history.MicroOp;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The list-append workload (Elle's, docs/history-format.md) against a real cluster: {@code clients} threads, each
 * a logical process that runs one transaction at a time against a {@link TxnBackend} and records it in the
 * history. What the transactions are and how outcomes are recorded is {@link TxnGenerator}'s, shared with the
 * simulated clients of {@link SimulatedRun}.
 */
final class Workload {
    /**
     * @param clients           concurrent logical clients (threads)
     * @param keys              key space size; keys are {@code k0..k(keys-1)}
     * @param maxOpsPerTxn      micro-ops per read-write transaction, at least 1
     * @param readOnlyFraction  share of transactions that are a single-key read
     * @param opTimeout         how long a client waits before recording {@code info}
     * @param seed              seeds each client's choices (the backend's timing is not seeded)
     * @param groups            groups the keys are spread over (key {@code k} in group {@code k % groups + 1})
     * @param hotGroupShare     with several groups, the share of transactions in group 1, the group whose leader
     *                          the faults aim at; the rest are spread evenly over all groups (0: all are)
     */
    record Config(int clients, int keys, int maxOpsPerTxn, double readOnlyFraction, Duration opTimeout, long seed,
                  int groups, double hotGroupShare) {
        Config {
            if (!(hotGroupShare >= 0 && hotGroupShare <= 1)) {
                throw new IllegalArgumentException("hot group share " + hotGroupShare + ": 0 to 1");
            }
            if (groups < 1 || groups > 64 || groups > keys) {
                throw new IllegalArgumentException("groups " + groups + ": 1 to 64, and no more than the keys (" + keys
                        + ")");
            }
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

        static Config defaults(int clients, long seed, Duration opTimeout) {
            return defaults(clients, seed, opTimeout, 1);
        }

        /**
         * The defaults with the keys spread over {@code groups} groups (key {@code k} in group {@code k % groups + 1}),
         * two keys per group at least; every transaction stays within one group.
         */
        static Config defaults(int clients, long seed, Duration opTimeout, int groups) {
            return new Config(clients, Math.max(8, 2 * groups), 4, 0.3, opTimeout, seed, groups, 0);
        }

        /** This workload with {@code share} of its transactions in group 1. */
        Config withHotGroupShare(double share) {
            return new Config(clients, keys, maxOpsPerTxn, readOnlyFraction, opTimeout, seed, groups, share);
        }
    }

    static final long FAILURE_BACKOFF_MILLIS = 20;

    private final Config config;
    private final TxnBackend backend;
    private final HistoryWriter history;
    private final TxnGenerator generator;
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean stopping;

    Workload(Config config, TxnBackend backend, HistoryWriter history) {
        this.config = config;
        this.backend = backend;
        this.history = history;
        this.generator = new TxnGenerator(config);
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
        return generator.acknowledged();
    }

    private void runClient(int client) {
        SplittableRandom random = new SplittableRandom(config.seed() * 1_000_003L + client);
        int process = client;
        while (!stopping) {
            List<MicroOp> txn = generator.next(random);
            TxnBackend.Call call = backend.plan(txn, random);
            history.invoke(process, txn, call.readMode());
            TxnOutcome outcome;
            try {
                outcome = call.run().get().get(config.opTimeout().toNanos() + 500_000_000L, TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                outcome = TxnOutcome.info(txn, "no answer within " + config.opTimeout());
            } catch (ExecutionException e) {
                outcome = TxnOutcome.info(txn, "backend error: " + e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                history.info(process);
                return;
            }
            process = generator.record(history, process, txn, outcome);
            if (outcome.type() != TxnOutcome.Type.OK) {
                backOff();
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
}
