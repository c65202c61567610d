package io.gnomon.paxos.bench;

import io.gnomon.paxos.cli.VersionProvider;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.OptionalInt;
import java.util.concurrent.Callable;

/**
 * Closed-loop load on replicated logs, one result row per backend (issue 4: 64 clients, 100-byte
 * entries, throughput and p50/p99 commit latency, Gnomon against a 3-member etcd in the same run; issue 16: like
 * for like, i.e. both clients to the leader, the same key and value bytes stored in a key-value state machine on
 * both sides, and reads beside the writes).
 *
 * <p>Backends ({@link #BACKENDS}): {@code gnomon} (puts through the leader into the {@code kv} machine),
 * {@code etcd} (puts to the leader of the started cluster), {@code etcd-round-robin} (puts round robin over all
 * members, as jetcd does by default: two of three take a forwarding hop), {@code gnomon-lease-read} (lease reads
 * at the leader), {@code etcd-read} (linearizable gets at the leader), {@code etcd-serializable-read}
 * (serializable gets at the leader). Read backends first write {@code --read-keys-per-client} keys per client.
 *
 * <pre>
 *   bin/bench-log --backend etcd --clients 64 --value-bytes 100 --ops 50000 --warmup 5000 --markdown --markdown-header
 *   | backend | clients | value bytes | ops | seconds | ops/s | p50 (ms) | p99 (ms) | p99.9 (ms) | max (ms) | errors |
 * </pre>
 *
 * With {@code --groups 1,4,16,64} (issue 19) each Gnomon backend runs once per group count, its row named
 * {@code gnomon-g<G>}, against replicas running a generated cluster file of G groups, and every row's keys (etcd's
 * too) start with a hash byte that spreads them over the groups; the ratios compare each such row with etcd's.
 *
 * <p>Backends run one after another, each against processes it starts (unless given endpoints) and stops.
 * A new backend is a case in {@link #openBackend} plus its name in {@link #BACKENDS}.
 */
@Command(name = "bench-log", mixinStandardHelpOptions = true, sortOptions = false,
        versionProvider = VersionProvider.class,
        description = "Closed-loop append throughput and commit latency of replicated logs (one row per backend).")
public final class LogLoadMain implements Callable<Integer> {

    /** Every name {@code --backend} accepts, in the order rows are usually printed. */
    static final List<String> BACKENDS = List.of("gnomon", "etcd", "etcd-round-robin", "gnomon-lease-read", "etcd-read",
            "etcd-serializable-read");

    @Spec
    CommandSpec spec;

    @Option(names = "--backend", split = ",", defaultValue = "gnomon,etcd",
            description = "backends to run, comma-separated, in order (known: gnomon, etcd, etcd-round-robin, "
                    + "gnomon-lease-read, etcd-read, etcd-serializable-read; default ${DEFAULT-VALUE})")
    List<String> backends;

    @Option(names = "--clients", defaultValue = "64", description = "concurrent closed-loop clients (default ${DEFAULT-VALUE})")
    int clients;

    @Option(names = "--value-bytes", defaultValue = "100", description = "bytes per entry (default ${DEFAULT-VALUE})")
    int valueBytes;

    @Option(names = "--ops", description = "measured appends (default 50000 unless --duration is given)")
    Long measuredOps;

    @Option(names = "--duration", description = "measure for this long instead of --ops, e.g. 30s, 500ms, PT1M")
    String measuredDuration;

    @Option(names = "--warmup", defaultValue = "5000",
            description = "unmeasured appends first: a count (5000) or a duration (10s) (default ${DEFAULT-VALUE})")
    String warmup;

    @Option(names = "--op-timeout", defaultValue = "10s",
            description = "an append not committed after this counts as an error (default ${DEFAULT-VALUE})")
    String opTimeout;

    @Option(names = "--etcd-endpoints", split = ",",
            description = "client URLs of a running etcd cluster; default: start a cluster of --etcd-members on loopback")
    List<URI> etcdEndpoints;

    @Option(names = "--etcd-members", defaultValue = "3", description = "members of the etcd cluster started (default ${DEFAULT-VALUE})")
    int etcdMembers;

    @Option(names = "--etcd-dir", description = "directory for the started members' data (its disk sets the fsync cost); default: a temporary directory")
    Path etcdDir;

    @Option(names = "--etcd-leader-only", hidden = true,
            description = "accepted for older command lines: backend etcd now sends to the leader; etcd-round-robin does not")
    boolean etcdLeaderOnly;

    @Option(names = "--read-keys-per-client", defaultValue = "16",
            description = "read backends: keys each client writes before the run and then reads in turn (default ${DEFAULT-VALUE})")
    int readKeysPerClient;

    @Option(names = "--gnomon-replicas", defaultValue = "3", description = "replica processes of the Gnomon group (default ${DEFAULT-VALUE})")
    int gnomonReplicas;

    @Option(names = "--gnomon-machine", defaultValue = "kv",
            description = "the replicas' state machine: kv (stores each key and value, as etcd does) or counter "
                    + "(counts the bytes: the log alone) (default ${DEFAULT-VALUE})")
    String gnomonMachine;

    @Option(names = "--gnomon-replica-arg", paramLabel = "ARG",
            description = "one more argument for every started replica (repeat the option for several), e.g. a lever under test")
    List<String> gnomonReplicaArgs;

    @CommandLine.Mixin
    ReplicaJvmOptions replicaJvm = new ReplicaJvmOptions();

    @Option(names = "--gnomon-sync", defaultValue = "each-batch",
            description = "the replicas' --sync policy: each-batch (msync before replying; like etcd's WAL fsync) or none (default ${DEFAULT-VALUE})")
    String gnomonSync;

    @Option(names = "--gnomon-append-calls", defaultValue = "stream",
            description = "how the Gnomon client sends puts: unary (one Append call per put, as jetcd's one Put call "
                    + "per put) or stream (puts as messages on one AppendStream per replica) (default ${DEFAULT-VALUE})")
    String gnomonAppendCalls;

    @Option(names = "--groups", split = ",", paramLabel = "G",
            description = "run each Gnomon backend once per G in this list (e.g. 1,4,16,64; rows gnomon-g1, ...): "
                    + "the replicas run a generated cluster file of G groups, every group on every replica, and each "
                    + "key goes to its group's leader; every backend's keys (etcd's too) are then led by a hash byte "
                    + "so they spread over the groups' key ranges. Without it: one group, no cluster file, as before")
    List<Integer> groups;

    @Option(names = "--gnomon-targets", split = ",", paramLabel = "ID=HOST:PORT",
            description = "drive running replicas instead of starting --gnomon-replicas")
    java.util.Map<Integer, String> gnomonTargets;

    @Option(names = "--gnomon-dir", description = "directory for the replicas' logs (its disk sets the sync cost); default: a temporary directory")
    Path gnomonDir;

    @Option(names = "--rounds", defaultValue = "1",
            description = "run the backends this many times, alternating, and print each backend's median row "
                    + "(medians of throughput and percentiles across rounds) after the rounds (default ${DEFAULT-VALUE})")
    int rounds;

    @Option(names = "--markdown", description = "print a markdown table row per backend instead of a summary line")
    boolean markdown;

    @Option(names = "--markdown-header", description = "with --markdown, print the table header first")
    boolean markdownHeader;

    public static void main(String[] args) {
        CommandLine cli = new CommandLine(new LogLoadMain());
        // bin/bench-log --quick puts its defaults first; options the user gives after them win.
        cli.setOverwrittenOptionsAllowed(true);
        System.exit(cli.execute(args));
    }

    @Override
    public Integer call() throws Exception {
        ClosedLoopLoad.Settings settings = settings();
        System.err.printf(Locale.ROOT, "bench-log: %d cores, %s; %d clients, %d-byte values, %s%n",
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.vm.version"),
                settings.clients(), settings.valueBytes(),
                settings.measuredOps() > 0 ? settings.measuredOps() + " measured appends"
                        : Duration.ofNanos(settings.measuredNanos()) + " measured");
        List<Run> runs = runs();
        if (markdown && markdownHeader) {
            System.out.println(LoadResult.markdownHeader());
        }
        long errors = 0;
        java.util.Map<String, List<LoadResult>> results = new java.util.LinkedHashMap<>();
        for (int round = 1; round <= rounds; round++) {
            for (Run run : runs) {
                Deque<AutoCloseable> resources = new ArrayDeque<>();
                try {
                    AppendBackend backend = openBackend(run, resources);
                    System.err.println("bench-log: " + (rounds > 1 ? "round " + round + ": " : "") + backend.description());
                    backend.prepare(settings.clients(), ClosedLoopLoad.value(settings.valueBytes()));
                    LoadResult r = ClosedLoopLoad.run(backend, settings);
                    System.out.println(markdown ? r.markdownRow() : r.summary());
                    results.computeIfAbsent(run.row(), k -> new ArrayList<>()).add(r);
                    errors += r.errors();
                } finally {
                    BenchCli.closeAll(resources);
                }
            }
        }
        java.util.Map<String, LoadResult> medians = new java.util.LinkedHashMap<>();
        for (java.util.Map.Entry<String, List<LoadResult>> e : results.entrySet()) {
            medians.put(e.getKey(), rounds > 1 ? LoadResult.median(e.getValue()) : e.getValue().get(0));
        }
        if (rounds > 1) {
            for (LoadResult m : medians.values()) {
                System.out.println(markdown ? m.markdownRow() : m.summary());
            }
        }
        printRatios(runs, medians);
        if (errors > 0) {
            System.err.println("bench-log: " + errors + " appends failed; the figures above are not comparable");
            return 2;
        }
        return 0;
    }

    /** Gnomon's row against etcd's, for each like-for-like pair this run measured. */
    static final List<List<String>> PAIRS = List.of(List.of("gnomon", "etcd"), List.of("gnomon", "etcd-round-robin"),
            List.of("gnomon-lease-read", "etcd-read"), List.of("gnomon-lease-read", "etcd-serializable-read"));

    /**
     * One backend run per round: {@code backend} as {@code --backend} names it, {@code groups} 0 for one group
     * without a cluster file, and the result row's name.
     */
    record Run(String backend, int groups) {
        String row() {
            return groups == 0 ? backend : backend + "-g" + groups;
        }
    }

    /** The backends in order, each Gnomon one once per {@code --groups} entry. */
    List<Run> runs() {
        for (String b : backends) {
            if (!BACKENDS.contains(b)) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "unknown --backend '" + b + "'; known backends: " + String.join(", ", BACKENDS));
            }
        }
        if (groups != null) {
            if (groups.isEmpty() || groups.stream().anyMatch(g -> g < 1 || g > 256)) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "--groups takes whole numbers from 1 to 256 (the keys' hash byte spreads them over at most "
                                + "256 groups); got " + groups);
            }
            if (gnomonTargets != null && !gnomonTargets.isEmpty()) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "--groups starts its own replicas for each G; it cannot drive --gnomon-targets");
            }
        }
        List<Run> runs = new ArrayList<>();
        for (String b : backends) {
            if (groups != null && b.startsWith("gnomon")) {
                groups.forEach(g -> runs.add(new Run(b, g)));
            } else {
                runs.add(new Run(b, 0));
            }
        }
        return runs;
    }

    private void printRatios(List<Run> runs, java.util.Map<String, LoadResult> medians) {
        List<String> lines = new ArrayList<>();
        for (List<String> pair : PAIRS) {
            LoadResult e = medians.get(pair.get(1));
            if (e == null || e.opsPerSecond() == 0 || e.p50Nanos() == 0) {
                continue;
            }
            for (String row : runs.stream().filter(r -> r.backend().equals(pair.get(0))).map(Run::row).distinct().toList()) {
                LoadResult g = medians.get(row);
                if (g == null) {
                    continue;
                }
                lines.add(String.format(Locale.ROOT, markdown ? "| %s / %s | %.2f | %.2f | %.2f | %s |"
                                : "%s / %s: ops/s %.2fx, p50 %.2fx, p99 %.2fx, servers' CPU per op %sx",
                        row, pair.get(1), g.opsPerSecond() / e.opsPerSecond(),
                        (double) g.p50Nanos() / e.p50Nanos(), (double) g.p99Nanos() / e.p99Nanos(),
                        cpuRatio(g.serverCpuMillisPer1kOps(), e.serverCpuMillisPer1kOps())));
            }
        }
        if (lines.isEmpty()) {
            return;
        }
        if (markdown) {
            System.out.println();
            System.out.println("| ratio" + (rounds > 1 ? " of medians" : "") + " | ops/s | p50 | p99 | servers' CPU per op |");
            System.out.println("|---|---|---|---|---|");
        }
        lines.forEach(System.out::println);
    }

    /** {@code a / b} to two places, or {@code -} when either is unknown. */
    private static String cpuRatio(double a, double b) {
        return Double.isNaN(a) || Double.isNaN(b) || b == 0 ? "-" : String.format(Locale.ROOT, "%.2f", a / b);
    }

    /**
     * Opens the named backend; everything it starts (clusters, clients) goes on {@code resources}, closed in
     * reverse order after the run. The backend itself must be pushed last so it closes first.
     */
    private AppendBackend openBackend(Run run, Deque<AutoCloseable> resources) throws Exception {
        String name = run.row();
        return switch (run.backend()) {
            case "etcd" -> openEtcd(resources, name, EtcdAppendBackend.Mode.PUT, true);
            case "etcd-round-robin" -> openEtcd(resources, name, EtcdAppendBackend.Mode.PUT, false);
            case "etcd-read" -> openEtcd(resources, name, EtcdAppendBackend.Mode.LINEARIZABLE_GET, true);
            case "etcd-serializable-read" -> openEtcd(resources, name, EtcdAppendBackend.Mode.SERIALIZABLE_GET, true);
            case "gnomon" -> openGnomon(resources, name, run.groups(), GnomonAppendBackend.Mode.APPEND);
            case "gnomon-lease-read" -> openGnomon(resources, name, run.groups(), GnomonAppendBackend.Mode.LEASE_READ);
            default -> throw new CommandLine.ParameterException(spec.commandLine(),
                    "unknown --backend '" + name + "'; known backends: " + String.join(", ", BACKENDS));
        };
    }

    private AppendBackend openGnomon(Deque<AutoCloseable> resources, String name, int groups,
                                     GnomonAppendBackend.Mode mode) throws IOException {
        if (gnomonTargets != null && !gnomonTargets.isEmpty()) {
            GnomonAppendBackend backend = new GnomonAppendBackend(gnomonTargets, gnomonMachine, mode,
                    readKeysPerClient, name, duration("--op-timeout", opTimeout), appendCalls());
            resources.push(backend);
            return backend;
        }
        // A cluster of G groups starts from empty logs each time: under --gnomon-dir in a directory of its own.
        Path dir = gnomonDir == null ? Files.createTempDirectory("gnomon-bench-")
                : groups == 0 ? gnomonDir : Files.createTempDirectory(Files.createDirectories(gnomonDir), name + "-");
        if (gnomonDir == null || groups > 0) {
            resources.push(() -> BenchCli.deleteTree(dir));
        }
        GnomonAppendBackend backend = new GnomonAppendBackend(dir, gnomonReplicas, groups, gnomonSync, gnomonMachine, mode,
                readKeysPerClient, name, gnomonReplicaArgs == null ? List.of() : gnomonReplicaArgs,
                replicaJvm.jvmArgs(spec),
                duration("--op-timeout", opTimeout), appendCalls());
        System.err.println("bench-log: started " + gnomonReplicas + " Gnomon replicas in " + dir + " ("
                + Files.getFileStore(dir).type() + ")");
        resources.push(backend);
        return backend;
    }

    private io.gnomon.paxos.server.ReplicaClient.AppendCalls appendCalls() {
        return switch (gnomonAppendCalls) {
            case "unary" -> io.gnomon.paxos.server.ReplicaClient.AppendCalls.UNARY;
            case "stream" -> io.gnomon.paxos.server.ReplicaClient.AppendCalls.STREAM;
            default -> throw new CommandLine.ParameterException(spec.commandLine(),
                    "--gnomon-append-calls must be unary or stream; got '" + gnomonAppendCalls + "'");
        };
    }

    private AppendBackend openEtcd(Deque<AutoCloseable> resources, String name, EtcdAppendBackend.Mode mode,
                                   boolean leaderOnly) throws IOException {
        List<URI> endpoints;
        String routing;
        List<Long> pids = List.of();
        if (etcdEndpoints != null && !etcdEndpoints.isEmpty()) {
            endpoints = etcdEndpoints;
            routing = " (as given)";
        } else {
            EtcdCluster.Builder builder = EtcdCluster.builder().members(etcdMembers);
            if (etcdDir != null) {
                builder.dir(etcdDir);
            }
            EtcdCluster cluster = builder.start();
            resources.push(cluster);
            System.err.println("bench-log: started " + cluster.size() + " etcd members in " + cluster.dir()
                    + " (" + Files.getFileStore(cluster.dir()).type() + "), pids " + cluster.pids());
            endpoints = cluster.clientEndpoints();
            pids = cluster.pids();
            routing = " (round robin over all members; followers forward to the leader)";
            if (leaderOnly) {
                OptionalInt leader = cluster.leader();
                if (leader.isEmpty()) {
                    throw new IOException(name + ": no member of the started cluster reports a leader");
                }
                endpoints = List.of(cluster.clientEndpoint(leader.getAsInt()));
                routing = " (the leader, member " + leader.getAsInt() + ")";
            }
        }
        EtcdAppendBackend backend = new EtcdAppendBackend(endpoints, mode, readKeysPerClient, name, routing, pids,
                groups == null ? BenchKeys.plain() : BenchKeys.spread());
        resources.push(backend);
        return backend;
    }

    private ClosedLoopLoad.Settings settings() {
        if (measuredOps != null && measuredDuration != null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "give --ops or --duration, not both");
        }
        long ops = measuredDuration == null ? (measuredOps == null ? 50_000 : measuredOps) : 0;
        long durationNanos = measuredDuration == null ? 0 : duration("--duration", measuredDuration).toNanos();
        long warmupOps = 0;
        long warmupNanos = 0;
        if (warmup.matches("\\d+")) {
            warmupOps = Long.parseLong(warmup);
        } else {
            warmupNanos = duration("--warmup", warmup).toNanos();
        }
        try {
            return new ClosedLoopLoad.Settings(clients, valueBytes, warmupOps, warmupNanos, ops, durationNanos,
                    duration("--op-timeout", opTimeout).toNanos());
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    private Duration duration(String option, String text) {
        return BenchCli.duration(spec, option, text);
    }
}
