package io.gnomon.paxos.bench;

import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import io.gnomon.paxos.cli.VersionProvider;
import io.gnomon.paxos.cluster.ClusterSpec;
import io.gnomon.paxos.cluster.GroupSpec;
import io.gnomon.paxos.grpc.ReplicaGrpc;
import io.gnomon.paxos.grpc.StatusReply;
import io.gnomon.paxos.grpc.StatusRequest;
import io.gnomon.paxos.server.ReplicaProcesses;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * What an idle Paxos group costs a process (issue 19: "an idle group costs no thread and no file, and under 100 KiB
 * of heap"). For each N of {@code --groups}: starts {@code --processes} replica processes from a generated cluster
 * file of N groups (every group on every process, {@link ReplicaProcesses#withCluster}), waits until every group has
 * a lease holder (each process asked for the {@code Status} of each group it hosts), lets the cluster idle for
 * {@code --idle}, then reports per process: threads, resident memory, open descriptors and regular files among
 * them, the heap in use after a full collection, and CPU while idle ({@link ProcessFootprint}). After the last N,
 * the cost of one more group: (largest N's mean over processes minus smallest N's) / (difference in N).
 *
 * <pre>
 *   bin/bench-idle-groups --groups 1,16,64,1000 --idle 30s
 * </pre>
 *
 * A cluster that does not come up is a failure (exit 1) naming the limit the replica's log points at (open files,
 * memory maps, threads, heap) and ending the run: larger N would fail the same way.
 */
@Command(name = "bench-idle-groups", mixinStandardHelpOptions = true, sortOptions = false,
        versionProvider = VersionProvider.class,
        description = "Threads, memory and files per replica process with N idle Paxos groups, and per group.")
public final class IdleGroupsMain implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--groups", split = ",", defaultValue = "1,16,64,1000", paramLabel = "N",
            description = "group counts, one cluster each, in order (default ${DEFAULT-VALUE})")
    List<Integer> groups;

    @Option(names = "--processes", defaultValue = "3",
            description = "replica processes; every group is on all of them (1, 3 or 5; default ${DEFAULT-VALUE})")
    int processes;

    @Option(names = "--idle", defaultValue = "10s",
            description = "how long the cluster idles, every group led, before the figures are read; CPU is measured "
                    + "over this window (default ${DEFAULT-VALUE})")
    String idle;

    @Option(names = "--start-timeout", defaultValue = "180s",
            description = "for the processes to serve, and again for every group to have a leader (default ${DEFAULT-VALUE})")
    String startTimeout;

    @Option(names = "--replica-arg", paramLabel = "ARG",
            description = "one more bin/replica argument for every process (repeat for several); the tool passes "
                    + "--truetime system:1ms and --compact-every 0 first")
    List<String> replicaArgs;

    @Option(names = "--jvm-arg", paramLabel = "ARG", description = "one more JVM option for every process (repeat for several)")
    List<String> jvmArgs;

    @Option(names = "--dir", description = "directory for the processes' data (one subdirectory per N, deleted after); "
            + "default: a temporary directory")
    Path dir;

    @Option(names = "--markdown-header", description = "print the table header first")
    boolean markdownHeader;

    /** One process's figures for one N. */
    record Row(int groups, int process, int hosted, ProcessFootprint footprint, long heapKiB, double idleCpuPercent) {
    }

    public static void main(String[] args) {
        CommandLine cli = new CommandLine(new IdleGroupsMain());
        cli.setOverwrittenOptionsAllowed(true);
        System.exit(cli.execute(args));
    }

    @Override
    public Integer call() throws Exception {
        if (groups.isEmpty() || groups.stream().anyMatch(n -> n < 1 || n > 100_000)) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--groups takes whole numbers from 1 to 100000 (the cluster file's limit); got " + groups);
        }
        if (processes != 1 && processes != 3 && processes != 5) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--processes must be 1, 3 or 5 (every group is on all of them); got " + processes);
        }
        Duration idleFor = BenchCli.duration(spec, "--idle", idle);
        Duration timeout = BenchCli.duration(spec, "--start-timeout", startTimeout);
        System.err.printf(Locale.ROOT, "bench-idle-groups: %d cores, %s; %d processes, idle %s; limits: %s%n",
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.vm.version"), processes,
                idleFor, Limits.describe());
        if (markdownHeader) {
            System.out.println(markdownHeader());
        }
        List<Row> rows = new ArrayList<>();
        for (int n : groups) {
            try {
                List<Row> these = measure(n, idleFor, timeout);
                these.forEach(r -> System.out.println(markdownRow(r)));
                rows.addAll(these);
            } catch (ClusterDidNotStart e) {
                System.err.println("bench-idle-groups: " + e.getMessage());
                printPerGroup(rows);
                return 1;
            }
        }
        printPerGroup(rows);
        return 0;
    }

    /** A cluster of N groups did not come up; the message says why, as far as the logs tell. */
    static final class ClusterDidNotStart extends Exception {
        ClusterDidNotStart(String message) {
            super(message);
        }
    }

    private List<Row> measure(int n, Duration idleFor, Duration timeout) throws Exception {
        Path root = dir == null ? Files.createTempDirectory("gnomon-idle-groups-")
                : Files.createTempDirectory(Files.createDirectories(dir), "n" + n + "-");
        List<String> args = new ArrayList<>(List.of("--truetime", "system:1ms", "--compact-every", "0"));
        if (replicaArgs != null) {
            args.addAll(replicaArgs);
        }
        boolean keep = false;
        try (ReplicaProcesses cluster = ReplicaProcesses.ofThisClasspath(root, processes, args,
                jvmArgs == null ? List.of() : jvmArgs).withCluster(n, processes)) {
            long started = System.nanoTime();
            try {
                cluster.startAll(timeout);
            } catch (IllegalStateException e) {
                throw new ClusterDidNotStart(notStarted(n, cluster, "a process did not start serving"));
            }
            awaitLeaders(n, cluster, timeout);
            System.err.printf(Locale.ROOT, "bench-idle-groups: N=%d: every group led %.1f s after the start; idling %s%n",
                    n, (System.nanoTime() - started) / 1e9, idleFor);
            Map<Integer, Long> cpuBefore = new TreeMap<>();
            for (int p : cluster.ids()) {
                cpuBefore.put(p, ProcessCpu.cpuNanos(cluster.pid(p)));
            }
            long idleStart = System.nanoTime();
            Thread.sleep(idleFor.toMillis()); // the idle window the figures describe, not a wait for a condition
            long idleNanos = System.nanoTime() - idleStart;
            List<Row> rows = new ArrayList<>();
            for (int p : cluster.ids()) {
                long pid = cluster.pid(p);
                if (!cluster.isRunning(p)) {
                    throw new ClusterDidNotStart(notStarted(n, cluster, "process " + p + " exited while idle"));
                }
                long cpuAfter = ProcessCpu.cpuNanos(pid);
                double cpu = cpuBefore.get(p) < 0 || cpuAfter < 0 ? Double.NaN
                        : 100.0 * (cpuAfter - cpuBefore.get(p)) / idleNanos;
                ProcessFootprint f = ProcessFootprint.of(pid);
                rows.add(new Row(n, p, cluster.cluster().groupsOf(p).size(), f, ProcessFootprint.heapAfterFullGcKiB(pid), cpu));
            }
            return rows;
        } catch (ClusterDidNotStart e) {
            keep = true; // the logs it quotes stay for a look
            throw new ClusterDidNotStart(e.getMessage() + "\n(the processes' directories are kept: " + root + ")");
        } finally {
            if (!keep) {
                BenchCli.deleteTree(root);
            }
        }
    }

    /** Status calls in flight per process while waiting for leaders: a pass over 1,000 groups is not 3,000 round trips in a row. */
    private static final int STATUS_CALLS_IN_FLIGHT = 32;

    /**
     * Waits until every group has a process that holds its lease: each pass asks every process, {@value
     * #STATUS_CALLS_IN_FLIGHT} calls at a time, for the {@code Status} of each hosted group not yet seen led.
     */
    private void awaitLeaders(int n, ReplicaProcesses cluster, Duration timeout) throws Exception {
        ClusterSpec spec = cluster.cluster();
        Map<Integer, ManagedChannel> channels = new TreeMap<>();
        cluster.targets().forEach((p, t) -> channels.put(p, NettyChannelBuilder.forTarget(t).usePlaintext().build()));
        try {
            Set<Integer> led = ConcurrentHashMap.newKeySet();
            long deadline = System.nanoTime() + timeout.toNanos();
            while (led.size() < spec.groups().size() && System.nanoTime() - deadline < 0) {
                for (Map.Entry<Integer, ManagedChannel> c : channels.entrySet()) {
                    if (!cluster.isRunning(c.getKey())) {
                        throw new ClusterDidNotStart(notStarted(n, cluster, "process " + c.getKey()
                                + " exited while its groups elected leaders"));
                    }
                    ReplicaGrpc.ReplicaFutureStub stub = ReplicaGrpc.newFutureStub(c.getValue());
                    Semaphore inFlight = new Semaphore(STATUS_CALLS_IN_FLIGHT);
                    for (GroupSpec g : spec.groupsOf(c.getKey())) {
                        if (led.contains(g.id()) || System.nanoTime() - deadline > 0) {
                            continue;
                        }
                        inFlight.acquire();
                        ListenableFuture<StatusReply> f = stub.withDeadlineAfter(5, TimeUnit.SECONDS)
                                .status(StatusRequest.newBuilder().setGroup(g.id()).build());
                        f.addListener(() -> {
                            try {
                                if (Futures.getDone(f).getLeaseReadReady()) {
                                    led.add(g.id());
                                }
                            } catch (ExecutionException | RuntimeException e) {
                                // not serving yet, or busy: asked again on the next pass
                            } finally {
                                inFlight.release();
                            }
                        }, MoreExecutors.directExecutor());
                    }
                    inFlight.acquire(STATUS_CALLS_IN_FLIGHT); // this process's answers are all in
                }
                if (led.size() < spec.groups().size() && System.nanoTime() - deadline < 0) {
                    Thread.sleep(100); // elections in progress; bounded by the deadline
                }
            }
            if (led.size() < spec.groups().size()) {
                List<Integer> missing = spec.groups().stream().map(GroupSpec::id).filter(id -> !led.contains(id))
                        .limit(10).toList();
                throw new ClusterDidNotStart(notStarted(n, cluster, (spec.groups().size() - led.size()) + " of " + n
                        + " groups have no leader after " + timeout + " (e.g. groups " + missing + ")"));
            }
        } finally {
            channels.values().forEach(ManagedChannel::shutdownNow);
        }
    }

    /** What went wrong with the cluster of {@code n} groups, the limit its logs point at, and each log's tail. */
    private static String notStarted(int n, ReplicaProcesses cluster, String what) {
        StringBuilder b = new StringBuilder("N=" + n + ": the cluster did not come up: " + what + ".");
        StringBuilder tails = new StringBuilder();
        String cause = null;
        for (int p : cluster.ids()) {
            String log = cluster.log(p);
            if (cause == null) {
                cause = Limits.diagnose(log);
            }
            tails.append("\n--- process ").append(p).append(cluster.isRunning(p) ? " (running)" : " (exited)")
                    .append(", last lines of ").append(cluster.dir(p).resolve("replica.log")).append(":\n")
                    .append(tail(log, 15));
        }
        b.append(' ').append(cause != null ? cause : "The logs name no limit; see them below.");
        return b.append(tails).toString();
    }

    static String tail(String text, int lines) {
        String[] all = text.split("\n");
        return String.join("\n", java.util.Arrays.copyOfRange(all, Math.max(0, all.length - lines), all.length));
    }

    static String markdownHeader() {
        return "| groups | process | groups hosted | threads | RSS (MiB) | open fds | regular files | heap after full GC (MiB) | CPU % idle |\n"
                + "|---|---|---|---|---|---|---|---|---|";
    }

    static String markdownRow(Row r) {
        return String.format(Locale.ROOT, "| %d | %d | %d | %d | %.1f | %d | %d | %.1f | %.1f |", r.groups(), r.process(),
                r.hosted(), r.footprint().threads(), r.footprint().rssKiB() / 1024.0, r.footprint().openFds(),
                r.footprint().regularFiles(), r.heapKiB() / 1024.0, r.idleCpuPercent());
    }

    /**
     * One more group's cost: the mean over processes at the largest N minus the mean at the smallest, divided by
     * the difference in N; nothing when fewer than two N were measured.
     */
    static List<String> perGroup(List<Row> rows) {
        int lo = rows.stream().mapToInt(Row::groups).min().orElse(0);
        int hi = rows.stream().mapToInt(Row::groups).max().orElse(0);
        if (hi == lo) {
            return List.of();
        }
        List<Row> small = rows.stream().filter(r -> r.groups() == lo).toList();
        List<Row> large = rows.stream().filter(r -> r.groups() == hi).toList();
        double d = hi - lo;
        return List.of(
                "| per group: (N=" + hi + " - N=" + lo + ") / " + (hi - lo) + " | threads | RSS (KiB) | open fds "
                        + "| regular files | heap after full GC (KiB) | CPU % idle |",
                "|---|---|---|---|---|---|---|",
                String.format(Locale.ROOT, "| mean over processes | %.3f | %.1f | %.3f | %.3f | %.1f | %.4f |",
                        (mean(large, r -> r.footprint().threads()) - mean(small, r -> r.footprint().threads())) / d,
                        (mean(large, r -> r.footprint().rssKiB()) - mean(small, r -> r.footprint().rssKiB())) / d,
                        (mean(large, r -> r.footprint().openFds()) - mean(small, r -> r.footprint().openFds())) / d,
                        (mean(large, r -> r.footprint().regularFiles()) - mean(small, r -> r.footprint().regularFiles())) / d,
                        (mean(large, Row::heapKiB) - mean(small, Row::heapKiB)) / d,
                        (mean(large, Row::idleCpuPercent) - mean(small, Row::idleCpuPercent)) / d));
    }

    private static double mean(List<Row> rows, java.util.function.ToDoubleFunction<Row> f) {
        return rows.stream().mapToDouble(f).average().orElse(Double.NaN);
    }

    private static void printPerGroup(List<Row> rows) {
        List<String> lines = perGroup(rows);
        if (!lines.isEmpty()) {
            System.out.println();
            lines.forEach(System.out::println);
        }
    }
}
