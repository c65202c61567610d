package io.gnomon.paxos.bench;

import io.etcd.jetcd.Client;
import io.gnomon.paxos.cli.VersionProvider;
import io.gnomon.truetime.testing.FaultScript;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/**
 * Closed-loop transactional load (issue 20, "Benchmark"): read-modify-write, single-key write and read-only
 * transactions on Gnomon's transactional key-value service against etcd's puts and {@code Txn}, with YCSB's and
 * Paxi's knobs (key space, read ratio, uniform or zipfian keys, keys per transaction, share of transactions spanning
 * groups, concurrency, duration), one markdown row per backend: throughput, latency percentiles, aborts and retries,
 * commit-wait and ε; then the comparisons and, with {@code --sweep-epsilon}, commit latency and commit-wait
 * against ε and the bound.
 *
 * <pre>
 *   bin/bench-txn --backend gnomon-rw,etcd-txn --clients 64 --keys-per-txn 2 --groups 4 --cross-group 0.5
 * </pre>
 *
 * <p>Backends ({@link #BACKENDS}): {@code gnomon-rw}, {@code gnomon-put}, {@code gnomon-ro}
 * ({@link GnomonTxnBackend}), {@code etcd-put}, {@code etcd-txn} ({@link EtcdTxnBackend}). The load is
 * {@link ClosedLoopLoad}'s, as {@code bin/bench-log}'s. In each round the Gnomon backends at one ε share one set of
 * replica processes, started for the round and stopped after it, and the etcd backends share one 3-member etcd;
 * rounds alternate the backends and the medians are printed after them.
 */
@Command(name = "bench-txn", mixinStandardHelpOptions = true, sortOptions = false,
        versionProvider = VersionProvider.class,
        description = "Closed-loop transactions on Gnomon against etcd's puts and Txn (one row per backend).")
public final class TxnLoadMain implements Callable<Integer> {

    /** Every name {@code --backend} accepts. */
    static final List<String> BACKENDS = List.of("gnomon-rw", "gnomon-put", "gnomon-ro", "etcd-put", "etcd-txn");

    /** The comparisons: the first row against the second, with the throughput ratio the issue asks for. */
    record Comparison(String row, String against, double throughputTarget, boolean p99NoWorse, String what) {
    }

    static final List<Comparison> COMPARISONS = List.of(
            new Comparison("gnomon-put", "etcd-put", 1.5, true, "single-key writes"),
            new Comparison("gnomon-rw", "etcd-txn", 1.5, true, "read-modify-write transactions"),
            new Comparison("gnomon-ro", "gnomon-rw", 5, false, "read-only against read-write, equal concurrency"));

    /** The slack in commit-wait's bound, {@code max(0, 2ε - replication time) + 0.2 ms}. */
    static final long COMMIT_WAIT_SLACK_NANOS = 200_000;

    @Spec
    CommandSpec spec;

    @Option(names = "--backend", split = ",", defaultValue = "gnomon-rw,etcd-txn",
            description = "backends to run, comma-separated, in order (known: gnomon-rw, gnomon-put, gnomon-ro, "
                    + "etcd-put, etcd-txn; default ${DEFAULT-VALUE})")
    List<String> backends;

    @Option(names = "--keys", defaultValue = "100000", description = "the key space: ids 0..N-1 (default ${DEFAULT-VALUE})")
    int keys;

    @Option(names = "--read-ratio", defaultValue = "0",
            description = "share of the operations of gnomon-rw, gnomon-put, etcd-put and etcd-txn that only read "
                    + "their keys (gnomon: a read-only transaction at a strong bound; etcd: a linearizable get or a "
                    + "Txn of gets); gnomon-ro always reads (default ${DEFAULT-VALUE})")
    double readRatio;

    @Option(names = "--distribution", defaultValue = "uniform",
            description = "how keys are drawn: uniform or zipfian (rank 0 hottest) (default ${DEFAULT-VALUE})")
    String distribution;

    @Option(names = "--zipf-theta", defaultValue = "0.99",
            description = "zipfian skew, above 0 and below 1 (YCSB's default ${DEFAULT-VALUE})")
    double zipfTheta;

    @Option(names = "--keys-per-txn", defaultValue = "2",
            description = "keys of each gnomon-rw, gnomon-ro and etcd-txn transaction (puts have one) (default ${DEFAULT-VALUE})")
    int keysPerTxn;

    @Option(names = "--cross-group", defaultValue = "0",
            description = "share of multi-key transactions whose keys span groups (needs --groups 2 or more) "
                    + "(default ${DEFAULT-VALUE})")
    double crossGroup;

    @Option(names = "--clients", defaultValue = "64", description = "concurrent closed-loop clients (default ${DEFAULT-VALUE})")
    int clients;

    @Option(names = "--duration", defaultValue = "15s", description = "measured window per backend, e.g. 15s (default ${DEFAULT-VALUE})")
    String duration;

    @Option(names = "--warmup", defaultValue = "10s", description = "unmeasured load first, per backend (default ${DEFAULT-VALUE})")
    String warmup;

    @Option(names = "--groups", defaultValue = "1",
            description = "Paxos groups of the generated cluster, each on every replica, splitting the key space "
                    + "(1 to 256; etcd stores the same key bytes) (default ${DEFAULT-VALUE})")
    int groups;

    @Option(names = "--value-bytes", defaultValue = "100", description = "bytes per value, at least 8 (default ${DEFAULT-VALUE})")
    int valueBytes;

    @Option(names = "--epsilon", defaultValue = "1ms",
            description = "the Gnomon replicas' clock bound: they run --truetime system:EPSILON (default ${DEFAULT-VALUE})")
    String epsilon;

    @Option(names = "--sweep-epsilon", split = ",", paramLabel = "EPS",
            description = "also run gnomon-put at each of these ε (rows 'gnomon-put eps=0.1ms', ...) and print "
                    + "commit latency and commit-wait against ε and the issue's bound; the smallest ε is the baseline")
    List<String> sweepEpsilon;

    @Option(names = "--gnomon-replicas", defaultValue = "3", description = "replica processes (default ${DEFAULT-VALUE})")
    int replicas;

    @Option(names = "--gnomon-sync", defaultValue = "each-batch",
            description = "the replicas' --sync policy: each-batch (fdatasync before replying, as etcd's WAL fsync) "
                    + "or none (default ${DEFAULT-VALUE})")
    String sync;

    @CommandLine.Mixin
    ReplicaJvmOptions replicaJvm = new ReplicaJvmOptions();

    @Option(names = "--gnomon-dir", description = "directory for the replicas' data (its disk sets the sync cost); default: a temporary directory")
    Path gnomonDir;

    @Option(names = "--etcd-dir", description = "directory for the etcd members' data; default: a temporary directory")
    Path etcdDir;

    @Option(names = "--op-timeout", defaultValue = "10s",
            description = "a transaction not done after this counts as an error (default ${DEFAULT-VALUE})")
    String opTimeout;

    @Option(names = "--seed", defaultValue = "1", description = "seed of the clients' key choices (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--verify",
            description = "after each gnomon-rw and etcd-txn run, read every key and check that the write counts rose "
                    + "by exactly the keys the committed read-modify-writes counted (no lost update); exit status 3 if "
                    + "not. Reads the whole key space twice per such run: for small --keys")
    boolean verify;

    @Option(names = "--rounds", defaultValue = "1",
            description = "run the backends this many times, alternating, then print each row's median (default ${DEFAULT-VALUE})")
    int rounds;

    public static void main(String[] args) {
        CommandLine cli = new CommandLine(new TxnLoadMain());
        // bin/bench-txn --quick and --report put their defaults first; options the user gives after them win.
        cli.setOverwrittenOptionsAllowed(true);
        System.exit(cli.execute(args));
    }

    /** One backend run per round: the backend and the ε of the replicas (0 for etcd); {@code row} names it. */
    record Run(String backend, long epsilonNanos, String row) {
        boolean gnomon() {
            return backend.startsWith("gnomon");
        }

        /** What the run needs started: "etcd", or the Gnomon replicas at its ε. */
        String cluster() {
            return gnomon() ? "gnomon eps=" + epsilonNanos + "ns" : "etcd";
        }
    }

    @Override
    public Integer call() throws Exception {
        List<Run> runs = runs();
        TxnWorkload workload = workload();
        ClosedLoopLoad.Settings settings = settings();
        System.err.printf(Locale.ROOT, "bench-txn: %d cores, %s; %d clients, %d-byte values, %s; %s measured after "
                        + "%s of warm-up per backend, %d round%s%n", Runtime.getRuntime().availableProcessors(),
                System.getProperty("java.vm.version"), clients, valueBytes, workload.describe(),
                Duration.ofNanos(settings.measuredNanos()), Duration.ofNanos(settings.warmupNanos()), rounds,
                rounds == 1 ? "" : "s");
        System.out.println(TxnResult.markdownHeader());
        Map<String, List<TxnResult>> results = new LinkedHashMap<>();
        long errors = 0;
        int verifyFailures = 0;
        for (int round = 1; round <= rounds; round++) {
            // What a round started, by what it serves ("etcd", or the Gnomon replicas' ε), closed after the last
            // run that uses it, so idle processes do not share the cores with the next backend's.
            Map<String, Deque<AutoCloseable>> started = new LinkedHashMap<>();
            Map<Long, GnomonTxnBackend.Cluster> gnomons = new TreeMap<>();
            EtcdCluster etcd = null;
            Client etcdClient = null;
            try {
                for (int i = 0; i < runs.size(); i++) {
                    Run run = runs.get(i);
                    Deque<AutoCloseable> mine = started.computeIfAbsent(run.cluster(), k -> new ArrayDeque<>());
                    AppendBackend backend;
                    java.util.function.ToLongFunction<List<byte[]>> counts;
                    if (run.gnomon()) {
                        GnomonTxnBackend.Cluster c = gnomons.get(run.epsilonNanos());
                        if (c == null) {
                            c = startGnomon(run.epsilonNanos(), mine);
                            gnomons.put(run.epsilonNanos(), c);
                        }
                        GnomonTxnBackend g = new GnomonTxnBackend(c, GnomonTxnBackend.Mode.valueOf(
                                run.backend().substring("gnomon-".length()).toUpperCase(Locale.ROOT)), workload,
                                keysPerTxn, readRatio, seed + round, duration("--op-timeout", opTimeout), run.row());
                        backend = g;
                        counts = g::countSum;
                    } else {
                        if (etcd == null) {
                            etcd = startEtcd(mine);
                            etcdClient = Client.builder().endpoints(new URI[]{leaderEndpoint(etcd)}).build();
                            mine.push(etcdClient);
                        }
                        EtcdTxnBackend e = new EtcdTxnBackend(etcdClient.getKVClient(), leaderEndpoint(etcd).toString(),
                                etcd.pids(),
                                run.backend().equals("etcd-put") ? EtcdTxnBackend.Mode.PUT : EtcdTxnBackend.Mode.TXN,
                                workload, keysPerTxn, readRatio, seed + round, run.row());
                        backend = e;
                        counts = e::countSum;
                    }
                    boolean check = verify && (run.backend().equals("gnomon-rw") || run.backend().equals("etcd-txn"));
                    // Every run waits for its own stragglers (cool-down operations still in flight when the measured
                    // window closed) before the next backend starts, so none writes during the next one's run.
                    try (CountedBackend b = new CountedBackend(backend)) {
                        System.err.println("bench-txn: " + (rounds > 1 ? "round " + round + ": " : "") + b.description());
                        b.prepare(clients, ClosedLoopLoad.value(valueBytes));
                        long before = check ? counts.applyAsLong(workload.allKeys()) : 0;
                        TxnResult.Stats stats = new TxnResult.Stats();
                        LoadResult load = ClosedLoopLoad.run(b, settings, stats);
                        TxnResult r = stats.result(load, run.epsilonNanos());
                        System.out.println(r.markdownRow());
                        results.computeIfAbsent(run.row(), k -> new ArrayList<>()).add(r);
                        errors += load.errors();
                        if (check && !verified(b, before, counts, workload)) {
                            verifyFailures++;
                        } else if (!check && !b.awaitIdle(2 * duration("--op-timeout", opTimeout).toNanos())) {
                            System.err.println("bench-txn: " + b.name() + ": operations still running after twice "
                                    + "--op-timeout; the next backend may share the servers with them");
                        }
                    }
                    if (runs.subList(i + 1, runs.size()).stream().noneMatch(r -> r.cluster().equals(run.cluster()))) {
                        BenchCli.closeAll(started.remove(run.cluster()));
                    }
                }
            } finally {
                Deque<AutoCloseable> rest = new ArrayDeque<>();
                started.values().forEach(d -> d.forEach(rest::addLast));
                BenchCli.closeAll(rest);
            }
        }
        Map<String, TxnResult> medians = new LinkedHashMap<>();
        results.forEach((row, list) -> medians.put(row, rounds > 1 ? TxnResult.median(list) : list.get(0)));
        if (rounds > 1) {
            medians.values().forEach(m -> System.out.println(m.markdownRow()));
        }
        printComparisons(medians);
        printSweep(runs, medians);
        if (verifyFailures > 0) {
            System.err.println("bench-txn: " + verifyFailures + " run(s) failed --verify: updates lost or applied twice");
            return 3;
        }
        if (errors > 0) {
            System.err.println("bench-txn: " + errors + " transactions failed; the figures above are not comparable");
            return 2;
        }
        return 0;
    }

    /**
     * {@code --verify} of one run ({@link CountedBackend}): waits for the operations still in flight, reads every
     * key's count again, says on stderr what it found; false only when the counts disagree.
     */
    private boolean verified(CountedBackend b, long before, java.util.function.ToLongFunction<List<byte[]>> counts,
                             TxnWorkload workload) throws InterruptedException {
        long waitNanos = 2 * duration("--op-timeout", opTimeout).toNanos();
        if (!b.awaitIdle(waitNanos)) {
            System.err.println("bench-txn: " + b.name() + ": --verify not checked: operations still running after "
                    + Duration.ofNanos(waitNanos));
            return true;
        }
        if (b.failed() > 0) {
            System.err.println("bench-txn: " + b.name() + ": --verify not checked: " + b.failed() + " operations "
                    + "failed and may or may not have committed");
            return true;
        }
        long after = counts.applyAsLong(workload.allKeys());
        if (after - before != b.keysCounted()) {
            System.err.println("bench-txn: " + b.name() + ": --verify FAILED: the keys' write counts rose by "
                    + (after - before) + " (from " + before + " to " + after + "), but the committed "
                    + "read-modify-writes counted " + b.keysCounted() + " keys: "
                    + (after - before < b.keysCounted() ? "updates were lost" : "updates were applied twice"));
            return false;
        }
        System.err.println("bench-txn: " + b.name() + ": verified: the write counts of the " + workload.keys()
                + " keys rose by " + b.keysCounted() + ", as many as the committed read-modify-writes counted");
        return true;
    }

    /** The backends in order at {@code --epsilon}, then gnomon-put at each other {@code --sweep-epsilon}. */
    List<Run> runs() {
        for (String b : backends) {
            if (!BACKENDS.contains(b)) {
                throw usage("unknown --backend '" + b + "'; known backends: " + String.join(", ", BACKENDS));
            }
        }
        long eps = epsilonNanos("--epsilon", epsilon);
        List<Run> runs = new ArrayList<>();
        for (String b : backends.stream().distinct().toList()) {
            runs.add(new Run(b, b.startsWith("gnomon") ? eps : 0, b));
        }
        if (sweepEpsilon != null) {
            for (String s : sweepEpsilon) {
                long e = epsilonNanos("--sweep-epsilon", s);
                boolean main = e == eps && backends.contains("gnomon-put");
                if (!main && runs.stream().noneMatch(r -> r.backend().equals("gnomon-put") && r.epsilonNanos() == e)) {
                    runs.add(new Run("gnomon-put", e, "gnomon-put eps=" + TxnResult.millis(e) + "ms"));
                }
            }
        }
        return runs;
    }

    private long epsilonNanos(String option, String text) {
        long nanos;
        try {
            nanos = FaultScript.parseNanos(text);
        } catch (IllegalArgumentException e) {
            throw usage(option + ": " + e.getMessage());
        }
        // TxnLimits.DEFAULTS refuses commits when ε exceeds its ceiling; a sweep past it would measure refusals
        if (nanos < 1 || nanos > io.gnomon.txn.TxnLimits.DEFAULTS.maxEpsilonNanos()) {
            throw usage(option + " must be from 1ns to " + TxnResult.millis(io.gnomon.txn.TxnLimits.DEFAULTS
                    .maxEpsilonNanos()) + "ms (the replicas refuse commits above that ε); got '" + text + "'");
        }
        return nanos;
    }

    private TxnWorkload workload() {
        TxnWorkload.Distribution d = switch (distribution) {
            case "uniform" -> TxnWorkload.Distribution.UNIFORM;
            case "zipfian" -> TxnWorkload.Distribution.ZIPFIAN;
            default -> throw usage("--distribution must be uniform or zipfian; got '" + distribution + "'");
        };
        if (!(readRatio >= 0 && readRatio <= 1)) {
            throw usage("--read-ratio is a share, 0 to 1; got " + readRatio);
        }
        if (valueBytes < Long.BYTES || valueBytes > ClosedLoopLoad.VALUE_BYTES_MAX) {
            throw usage("--value-bytes must be " + Long.BYTES + ".." + ClosedLoopLoad.VALUE_BYTES_MAX
                    + " (a value's first 8 bytes count its key's writes); got " + valueBytes);
        }
        if (replicas < 1 || replicas > 7) {
            throw usage("--gnomon-replicas must be 1..7; got " + replicas);
        }
        if (rounds < 1) {
            throw usage("--rounds must be >= 1; got " + rounds);
        }
        if (!sync.equals("each-batch") && !sync.equals("none")) {
            throw usage("--gnomon-sync must be each-batch or none; got '" + sync + "'");
        }
        try {
            TxnWorkload w = new TxnWorkload(keys, groups, d, zipfTheta, crossGroup);
            w.checkKeysPerTxn(keysPerTxn);
            return w;
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
    }

    private ClosedLoopLoad.Settings settings() {
        try {
            return new ClosedLoopLoad.Settings(clients, valueBytes, 0, duration("--warmup", warmup).toNanos(), 0,
                    duration("--duration", duration).toNanos(), duration("--op-timeout", opTimeout).toNanos());
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
    }

    private GnomonTxnBackend.Cluster startGnomon(long epsilonNanos, Deque<AutoCloseable> started) throws IOException {
        Path dir = gnomonDir == null ? Files.createTempDirectory("gnomon-bench-txn-")
                : Files.createTempDirectory(Files.createDirectories(gnomonDir), "eps" + epsilonNanos + "ns-");
        started.push(() -> BenchCli.deleteTree(dir));
        GnomonTxnBackend.Cluster c = new GnomonTxnBackend.Cluster(dir, replicas, groups, epsilonNanos, sync,
                replicaJvm.jvmArgs(spec), Duration.ofSeconds(60));
        started.push(c);
        System.err.println("bench-txn: started " + c.description + " (" + Files.getFileStore(dir).type() + ")");
        return c;
    }

    private EtcdCluster startEtcd(Deque<AutoCloseable> started) throws IOException {
        EtcdCluster.Builder builder = EtcdCluster.builder().members(3);
        if (etcdDir != null) {
            builder.dir(etcdDir);
        }
        EtcdCluster cluster = builder.start();
        started.push(cluster);
        System.err.println("bench-txn: started " + cluster.size() + " etcd members in " + cluster.dir() + " ("
                + Files.getFileStore(cluster.dir()).type() + "), pids " + cluster.pids());
        return cluster;
    }

    /** The client URL of the member leading the cluster now (as bench-log's etcd row, every request to it). */
    private static URI leaderEndpoint(EtcdCluster cluster) throws IOException {
        OptionalInt leader = cluster.leader();
        if (leader.isEmpty()) {
            throw new IOException("no member of the started etcd cluster reports a leader");
        }
        return cluster.clientEndpoint(leader.getAsInt());
    }

    /** Each comparison of {@link #COMPARISONS} whose two rows ran: ratios of the medians and whether the target holds. */
    private static void printComparisons(Map<String, TxnResult> medians) {
        List<String> lines = comparisonLines(medians);
        if (!lines.isEmpty()) {
            System.out.println();
            lines.forEach(System.out::println);
        }
    }

    /** The comparison table (header first), or nothing when no comparison's two rows ran. */
    static List<String> comparisonLines(Map<String, TxnResult> medians) {
        List<String> lines = new ArrayList<>();
        for (Comparison c : COMPARISONS) {
            TxnResult a = medians.get(c.row());
            TxnResult b = medians.get(c.against());
            if (a == null || b == null || b.load().opsPerSecond() == 0 || b.load().p99Nanos() == 0) {
                continue;
            }
            double ratio = a.load().opsPerSecond() / b.load().opsPerSecond();
            double p99 = (double) a.load().p99Nanos() / b.load().p99Nanos();
            boolean met = ratio >= c.throughputTarget() && (!c.p99NoWorse() || p99 <= 1);
            if (lines.isEmpty()) {
                lines.add("| comparison | txns/s | ratio | p99 (ms) | p99 ratio | target | target |");
                lines.add("|---|---|---|---|---|---|---|");
            }
            lines.add(String.format(Locale.ROOT, "| %s / %s (%s) | %.0f / %.0f | %.2f | %.3f / %.3f | %.2f | ≥ %sx%s | %s |",
                    c.row(), c.against(), c.what(), a.load().opsPerSecond(), b.load().opsPerSecond(), ratio,
                    a.load().p99Nanos() / 1e6, b.load().p99Nanos() / 1e6, p99,
                    new java.math.BigDecimal(c.throughputTarget()).stripTrailingZeros().toPlainString(),
                    c.p99NoWorse() ? ", p99 ratio ≤ 1" : "", met ? "met" : "not met"));
        }
        return lines;
    }

    private static void printSweep(List<Run> runs, Map<String, TxnResult> medians) {
        List<String> lines = sweepLines(runs.stream().filter(r -> r.backend().equals("gnomon-put"))
                .map(r -> medians.get(r.row())).toList());
        if (!lines.isEmpty()) {
            System.out.println();
            lines.forEach(System.out::println);
        }
    }

    /**
     * With two or more gnomon-put rows at different ε: commit latency and commit-wait at each ε, the latency each
     * adds over the smallest ε, and the bound {@code max(0, 2ε - R) + 0.2 ms}. R, the replication time, is
     * taken as the smallest ε's mean commit latency: an upper estimate (it holds the client's round trip and the
     * server's queueing besides replication), so the bound printed is no looser than the issue's. Nothing with
     * fewer rows.
     */
    static List<String> sweepLines(List<TxnResult> gnomonPuts) {
        List<TxnResult> sweep = new ArrayList<>(gnomonPuts);
        if (sweep.size() < 2) {
            return List.of();
        }
        sweep.sort(java.util.Comparator.comparingLong(TxnResult::epsilonNanos));
        TxnResult base = sweep.get(0);
        long replicationNanos = base.latencyMeanNanos();
        List<String> lines = new ArrayList<>();
        lines.add("| ε (ms) | txns/s | commit latency mean (ms) | p99 (ms) | commit-wait mean (ms) "
                + "| commit-wait p99 (ms) | added over ε " + TxnResult.millis(base.epsilonNanos()) + " ms (ms) "
                + "| bound max(0, 2ε − R) + 0.2 ms, R = " + TxnResult.millis(replicationNanos) + " ms | within |");
        lines.add("|---|---|---|---|---|---|---|---|---|");
        for (TxnResult r : sweep) {
            long added = r.latencyMeanNanos() - base.latencyMeanNanos();
            long bound = Math.max(0, 2 * r.epsilonNanos() - replicationNanos) + COMMIT_WAIT_SLACK_NANOS;
            lines.add(String.format(Locale.ROOT, "| %s | %.0f | %.3f | %.3f | %s | %s | %s | %s | %s |",
                    TxnResult.millis(r.epsilonNanos()), r.load().opsPerSecond(), r.latencyMeanNanos() / 1e6,
                    r.load().p99Nanos() / 1e6,
                    r.commitWaitMeanNanos() < 0 ? "-" : TxnResult.millis(r.commitWaitMeanNanos()),
                    r.commitWaitP99Nanos() < 0 ? "-" : TxnResult.millis(r.commitWaitP99Nanos()),
                    r == base ? "-" : TxnResult.millis(added), TxnResult.millis(bound),
                    r == base ? "-" : added <= bound ? "yes" : "no"));
        }
        return lines;
    }

    /** One random source per client, from the seed: a client's keys do not depend on the others' timing. */
    static SplittableRandom[] randoms(long seed, int clients) {
        SplittableRandom root = new SplittableRandom(seed);
        SplittableRandom[] out = new SplittableRandom[clients];
        for (int c = 0; c < clients; c++) {
            out[c] = root.split();
        }
        return out;
    }

    /**
     * The value a write stores: {@code value}'s bytes with the first 8 replaced by the key's write count, one more
     * than {@code oldOrNull}'s (1 for a key never written, or a blind write): read-modify-write reads what it writes.
     */
    static byte[] nextValue(byte[] oldOrNull, byte[] value) {
        long count = count(oldOrNull);
        byte[] out = value.clone();
        ByteBuffer.wrap(out).putLong(count + 1);
        return out;
    }

    /** A value's write count: its first 8 bytes (0 for no value). */
    static long count(byte[] valueOrNull) {
        return valueOrNull == null || valueOrNull.length < Long.BYTES ? 0 : ByteBuffer.wrap(valueOrNull).getLong();
    }

    private Duration duration(String option, String text) {
        return BenchCli.duration(spec, option, text);
    }

    private CommandLine.ParameterException usage(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }
}
