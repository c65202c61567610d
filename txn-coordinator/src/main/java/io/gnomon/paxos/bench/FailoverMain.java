package io.gnomon.paxos.bench;

import io.gnomon.paxos.cli.VersionProvider;
import io.gnomon.paxos.grpc.AppendReply;
import io.gnomon.paxos.grpc.Outcome;
import io.gnomon.paxos.grpc.ReadReply;
import io.gnomon.paxos.server.ReplicaClient;
import io.gnomon.paxos.server.ReplicaProcesses;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * Failover time of a replica group: {@code kill -9} the lease holder, then time until another replica serves a
 * lease read. Repeated {@code --runs} times on one group of replica processes on loopback (the killed replica is
 * restarted from its log, and the group again has one lease holder, before the next kill); prints each run and
 * the median and max.
 *
 * <pre>
 *   bin/bench-failover --runs 10 --lease-ms 2000 --markdown --markdown-header
 *   | replicas | lease (ms) | election timeout (ms) | runs | median (ms) | max (ms) | min (ms) |
 * </pre>
 *
 * What bounds it: the survivors start an election after an election timeout without heartbeats, and none can
 * promise a new leader before the lease it granted the dead one has run out (the Spanner lease rule); that lease
 * was last renewed just before the kill, so failover is about one lease length (the election overlaps it) plus a
 * round trip, and it grows with {@code --lease-ms}. The clock runs from the moment the kill returned (the process is gone) to the first lease
 * read a different replica served; the poll adds up to {@value #POLL_MILLIS} ms.
 */
@Command(name = "bench-failover", mixinStandardHelpOptions = true, sortOptions = false,
        versionProvider = VersionProvider.class,
        description = "kill -9 the lease holder of a 3-replica group; time until another replica serves lease reads.")
public final class FailoverMain implements Callable<Integer> {
    static final long POLL_MILLIS = 5;

    @Option(names = "--runs", defaultValue = "5", description = "kills to time (default ${DEFAULT-VALUE})")
    int runs;

    @Option(names = "--replicas", defaultValue = "3", description = "group size (default ${DEFAULT-VALUE})")
    int replicas;

    @Option(names = "--lease-ms", defaultValue = "2000", description = "leader lease length (default ${DEFAULT-VALUE})")
    long leaseMillis;

    @Option(names = "--election-timeout-ms", defaultValue = "500",
            description = "replicas' election timeout (default ${DEFAULT-VALUE})")
    long electionTimeoutMillis;

    @Option(names = "--truetime", defaultValue = "system:1ms",
            description = "the replicas' TrueTime (bin/replica --truetime; default ${DEFAULT-VALUE})")
    String trueTime;

    @Option(names = "--timeout-s", defaultValue = "120",
            description = "longest wait for any one step (start, failover, catch-up); a step past it fails the run "
                    + "(default ${DEFAULT-VALUE})")
    long timeoutSeconds;

    @Option(names = "--dir", description = "directory for the replicas' data and logs (default: a new temporary one, "
            + "deleted afterwards)")
    Path dir;

    @Option(names = "--markdown", description = "print one markdown table row")
    boolean markdown;

    @Option(names = "--markdown-header", description = "with --markdown: print the table header first")
    boolean markdownHeader;

    private final PrintStream out = System.out;
    private final PrintStream err = System.err;

    public static void main(String[] args) {
        CommandLine cli = new CommandLine(new FailoverMain());
        // bin/bench-failover --quick puts its defaults first; options the user gives after them win.
        cli.setOverwrittenOptionsAllowed(true);
        System.exit(cli.execute(args));
    }

    @Override
    public Integer call() throws Exception {
        if (runs < 1 || replicas < 3 || leaseMillis < 1 || electionTimeoutMillis < 1 || timeoutSeconds < 1) {
            throw new CommandLine.ParameterException(new CommandLine(this), "--runs must be >= 1, --replicas >= 3, "
                    + "--lease-ms, --election-timeout-ms and --timeout-s >= 1; was runs=" + runs + ", replicas="
                    + replicas + ", lease-ms=" + leaseMillis + ", election-timeout-ms=" + electionTimeoutMillis
                    + ", timeout-s=" + timeoutSeconds);
        }
        Duration timeout = Duration.ofSeconds(timeoutSeconds);
        boolean temporary = dir == null;
        Path root = temporary ? Files.createTempDirectory("gnomon-failover") : dir;
        List<Long> failoverMillis = new ArrayList<>();
        try (ReplicaProcesses group = ReplicaProcesses.ofThisClasspath(root, replicas, List.of(
                "--truetime", trueTime, "--lease-ms", String.valueOf(leaseMillis),
                "--election-timeout-ms", String.valueOf(electionTimeoutMillis), "--machine", "counter"));
             ReplicaClient client = startAndConnect(group, timeout)) {
            for (int run = 1; run <= runs; run++) {
                int holder = awaitLeaseHolder(client, -1, timeout)
                        .orElseThrow(() -> new IllegalStateException("no lease holder within " + timeout));
                // One append through the holder, so that the failover also carries a log to take over.
                AppendReply appended = client.append(new byte[8], timeout);
                if (appended.getOutcome() != Outcome.APPLIED) {
                    throw new IllegalStateException("append before the kill: " + appended);
                }
                group.kill9(holder);
                long killedNanos = System.nanoTime();
                int next = awaitServedLeaseRead(client, holder, killedNanos, timeout);
                long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedNanos);
                failoverMillis.add(millis);
                err.printf(Locale.ROOT, "run %d: replica %d killed, replica %d served a lease read after %d ms%n",
                        run, holder, next, millis);
                group.start(holder);
                group.awaitReady(holder, timeout);
                awaitCaughtUp(client, holder, timeout);
            }
        } finally {
            if (temporary) {
                deleteTree(root);
            }
        }
        List<Long> sorted = new ArrayList<>(failoverMillis);
        Collections.sort(sorted);
        long median = sorted.get((sorted.size() - 1) / 2);
        long max = sorted.get(sorted.size() - 1);
        long min = sorted.get(0);
        if (markdown) {
            if (markdownHeader) {
                out.println("| replicas | lease (ms) | election timeout (ms) | runs | median (ms) | max (ms) | min (ms) |");
                out.println("|---:|---:|---:|---:|---:|---:|---:|");
            }
            out.printf(Locale.ROOT, "| %d | %d | %d | %d | %d | %d | %d |%n", replicas, leaseMillis,
                    electionTimeoutMillis, runs, median, max, min);
        } else {
            out.printf(Locale.ROOT, "failover after kill -9 of the lease holder (%d replicas, lease %d ms, election "
                            + "timeout %d ms), %d runs: median %d ms, max %d ms, min %d ms; each: %s%n", replicas,
                    leaseMillis, electionTimeoutMillis, runs, median, max, min, failoverMillis);
        }
        return 0;
    }

    private static ReplicaClient startAndConnect(ReplicaProcesses group, Duration timeout) throws IOException {
        group.startAll(timeout);
        return new ReplicaClient(group.targets());
    }

    /** Polls until exactly one replica other than {@code not} says it can serve lease reads. */
    private static Optional<Integer> awaitLeaseHolder(ReplicaClient client, int not, Duration timeout)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() - deadline < 0) {
            Optional<Integer> h = client.leaseHolder(Duration.ofMillis(500));
            if (h.isPresent() && h.get() != not) {
                return h;
            }
            Thread.sleep(POLL_MILLIS); // polling other processes; bounded by the deadline
        }
        return Optional.empty();
    }

    /** Waits for a lease read served by a replica other than {@code killed}; returns that replica. */
    private static int awaitServedLeaseRead(ReplicaClient client, int killed, long killedNanos, Duration timeout)
            throws InterruptedException {
        long deadline = killedNanos + timeout.toNanos();
        while (System.nanoTime() - deadline < 0) {
            Optional<Integer> h = awaitLeaseHolder(client, killed, Duration.ofNanos(deadline - System.nanoTime()));
            if (h.isEmpty()) {
                break;
            }
            // leaseHolder pointed the client at h: the read goes there (a read that redirects elsewhere serves too)
            Optional<ReadReply> r = client.read(new byte[0], Duration.ofMillis(500));
            if (r.isPresent() && r.get().getServed()) {
                return h.get();
            }
        }
        throw new IllegalStateException("no replica other than " + killed + " served a lease read within " + timeout);
    }

    /** Waits until the restarted replica has applied what the lease holder has, so that the next kill is alike. */
    private static void awaitCaughtUp(ReplicaClient client, int restarted, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() - deadline < 0) {
            Optional<Integer> holder = client.leaseHolder(Duration.ofMillis(500));
            if (holder.isPresent()) {
                long holderApplied = client.status(holder.get(), Duration.ofMillis(500))
                        .map(s -> s.getAppliedIndex()).orElse(Long.MAX_VALUE);
                long applied = client.status(restarted, Duration.ofMillis(500))
                        .map(s -> s.getAppliedIndex()).orElse(-1L);
                if (applied >= holderApplied) {
                    return;
                }
            }
            Thread.sleep(POLL_MILLIS); // polling other processes; bounded by the deadline
        }
        throw new IllegalStateException("replica " + restarted + " did not catch up within " + timeout);
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (var s = Files.walk(root)) {
            for (Path p : s.sorted(Collections.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
