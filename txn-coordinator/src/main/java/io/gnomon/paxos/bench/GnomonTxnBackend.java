package io.gnomon.paxos.bench;

import io.gnomon.paxos.cluster.ClusterSpec;
import io.gnomon.paxos.server.ReplicaProcesses;
import io.gnomon.txn.server.TxnClient;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Transactions on Gnomon's transactional key-value service ({@code TxnKv}) through {@link TxnClient}, one backend
 * of {@code bin/bench-txn}:
 * <ul>
 *   <li>{@code gnomon-rw}: read-modify-write transactions of {@code --keys-per-txn} keys: a locking read of each key
 *       at its group's leader, then a put of each (the value's first 8 bytes count the key's writes), committed with
 *       two-phase commit when the keys span groups; a wounded attempt is retried by the client with its age;</li>
 *   <li>{@code gnomon-put}: single-key write transactions (a buffered put, then commit: one group, no 2PC);</li>
 *   <li>{@code gnomon-ro}: read-only transactions of {@code --keys-per-txn} keys: {@link TxnClient#getAll} at a
 *       strong bound (one timestamp, {@code TT.now().latest} at the first key's leader), no locks.</li>
 * </ul>
 * With {@code --read-ratio} R, the first two run that share of their operations as the third does (over their own
 * keys: one for {@code gnomon-put}).
 *
 * <p>The client is blocking, so each of the closed loop's clients runs its operations on a thread of its own
 * (a pool of exactly {@code clients} threads; nothing queues for a thread).
 */
final class GnomonTxnBackend implements AppendBackend {

    /** What one operation is. */
    enum Mode { RW, PUT, RO }

    /**
     * Replica processes of the transaction machine ({@code bin/replica --machine txn}) serving a generated cluster
     * of G groups, each on every process, at one ε; several backends of a round share it.
     */
    static final class Cluster implements AutoCloseable {
        private final ReplicaProcesses processes;
        final ClusterSpec spec;
        final TxnClient client;
        final long epsilonNanos;
        final String description;

        /**
         * Starts {@code replicas} processes in {@code dir} with {@code --truetime system:<epsilon>} and waits until
         * every process is serving (every group it hosts knows a leader).
         */
        Cluster(Path dir, int replicas, int groups, long epsilonNanos, String sync, List<String> jvmArgs,
                Duration startTimeout) throws IOException {
            this.epsilonNanos = epsilonNanos;
            List<String> args = List.of("--machine", "txn", "--sync", sync, "--truetime", "system:" + epsilonNanos + "ns");
            processes = ReplicaProcesses.ofThisClasspath(dir, replicas, args, jvmArgs);
            try {
                spec = processes.withCluster(groups, replicas).cluster();
                processes.startAll(startTimeout);
                for (int id : processes.ids()) {
                    processes.awaitServing(id, startTimeout);
                }
            } catch (IOException | RuntimeException e) {
                processes.close();
                throw e;
            }
            client = TxnClient.connect(spec, null);
            description = replicas + " replica processes (bin/replica " + String.join(" ", args) + ") in " + dir
                    + ", a generated cluster of " + groups + (groups == 1 ? " group" : " groups")
                    + ", each on every process";
        }

        List<Long> pids() {
            return processes.ids().stream().map(processes::pid).toList();
        }

        /** SIGTERM first, so replicas' shutdown hooks run (a flight recording from --gnomon-jvm-arg is written). */
        @Override
        public void close() {
            client.close();
            processes.terminateAll(Duration.ofSeconds(30));
        }
    }

    private final Cluster cluster;
    private final Mode mode;
    private final TxnWorkload workload;
    private final int keysPerTxn;
    private final double readRatio;
    private final long seed;
    private final long timeoutNanos;
    private final String name;
    private SplittableRandom[] randoms;
    private ExecutorService pool;

    GnomonTxnBackend(Cluster cluster, Mode mode, TxnWorkload workload, int keysPerTxn, double readRatio, long seed,
                     Duration opTimeout, String name) {
        this.cluster = cluster;
        this.mode = mode;
        this.workload = workload;
        this.keysPerTxn = mode == Mode.PUT ? 1 : keysPerTxn;
        this.readRatio = mode == Mode.RO ? 1.0 : readRatio;
        this.seed = seed;
        this.timeoutNanos = opTimeout.toNanos();
        this.name = name;
        workload.checkKeysPerTxn(this.keysPerTxn);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String description() {
        String what = switch (mode) {
            case RW -> "read-modify-write transactions of " + keysPerTxn + " keys (locking reads at the leaders, "
                    + "then puts; 2PC across groups)";
            case PUT -> "single-key write transactions (a put, then commit)";
            case RO -> "read-only transactions of " + keysPerTxn + " keys (getAll at a strong bound, no locks)";
        };
        return name + ": " + cluster.description + "; " + what
                + (mode != Mode.RO && readRatio > 0 ? ", " + Math.round(readRatio * 100) + "% of them read-only" : "")
                + "; " + workload.describe();
    }

    @Override
    public void prepare(int clients, byte[] value) {
        randoms = TxnLoadMain.randoms(seed, clients);
        pool = Executors.newFixedThreadPool(clients, r -> {
            Thread t = new Thread(r, "bench-txn-client");
            t.setDaemon(true);
            return t;
        });
    }

    @Override
    public CompletableFuture<?> append(int client, long seq, byte[] value) {
        return CompletableFuture.supplyAsync(() -> operation(client, value), pool);
    }

    private TxnResult.Outcome operation(int client, byte[] value) {
        TxnWorkload.Op op = workload.next(randoms[client], keysPerTxn, readRatio);
        long start = System.nanoTime();
        if (op.readOnly()) {
            cluster.client.getAll(op.keys(), TxnClient.Bound.strong(), 0, timeoutNanos);
            return new TxnResult.Outcome(1, 0, -1, System.nanoTime() - start);
        }
        TxnClient.Committed<Void> c = cluster.client.readWrite(txn -> {
            List<byte[]> olds = new ArrayList<>(op.keys().size());
            if (mode == Mode.RW) {
                op.keys().forEach(k -> olds.add(txn.get(k)));
            }
            for (int i = 0; i < op.keys().size(); i++) {
                txn.put(op.keys().get(i), TxnLoadMain.nextValue(mode == Mode.RW ? olds.get(i) : null, value));
            }
            return null;
        }, timeoutNanos);
        return new TxnResult.Outcome(c.attempts(), mode == Mode.RW ? op.keys().size() : 0, c.commitWaitNanos(),
                System.nanoTime() - start);
    }

    /**
     * The sum of the write counts ({@link TxnLoadMain#nextValue}) of {@code keys} at a strong bound, read in chunks in
     * parallel on this backend's threads ({@link #prepare} first); for {@link CountedBackend}, between runs.
     */
    long countSum(List<byte[]> keys) {
        List<CompletableFuture<Long>> parts = new ArrayList<>();
        for (int from = 0; from < keys.size(); from += COUNT_CHUNK) {
            List<byte[]> chunk = keys.subList(from, Math.min(keys.size(), from + COUNT_CHUNK));
            parts.add(CompletableFuture.supplyAsync(() -> cluster.client.getAll(chunk, TxnClient.Bound.strong(), 0,
                    timeoutNanos).values().stream().mapToLong(s -> TxnLoadMain.count(s.valueOrNull())).sum(), pool));
        }
        return parts.stream().mapToLong(CompletableFuture::join).sum();
    }

    /** Keys per read-only transaction when {@link #countSum} reads the whole key space. */
    private static final int COUNT_CHUNK = 50;

    @Override
    public List<Long> serverPids() {
        return cluster.pids();
    }

    /**
     * Stops this backend's threads (the cluster is its owner's to close) and says which process led which group as the
     * client found them: runs on fresh clusters differ by where the leaders landed (docs/benchmarks.md).
     */
    @Override
    public void close() {
        if (pool != null) {
            pool.shutdownNow();
        }
        java.util.Map<Integer, java.util.List<Long>> led = new java.util.TreeMap<>();
        cluster.client.knownLeaders().forEach((g, p) -> led.computeIfAbsent(p, x -> new java.util.ArrayList<>()).add(g));
        System.err.println("bench-txn: groups led per process, as the client found them: " + led);
    }
}
