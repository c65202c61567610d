package io.gnomon.spanner.torture;

import io.gnomon.paxos.cli.VersionProvider;
import io.gnomon.paxos.sim.SimulationFailure;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;

/**
 * {@code bin/spanner-lite torture}: one run of the list-append workload against a cluster under one fault kind,
 * then the checker; prints one summary line (docs/reliability.md).
 */
@Command(name = "torture", mixinStandardHelpOptions = true, sortOptions = false,
        versionProvider = VersionProvider.class,
        description = {"Run the list-append workload against a cluster under one fault kind and check the history.",
                "Runs the workload against a cluster on loopback while injecting a fault on a schedule (quiet, fault,"
                        + " heal, wait for recovery, repeat), checks the history for strict serializability and counts"
                        + " acknowledged writes lost. Prints one summary line (docs/reliability.md).", "",
                "Example: bin/spanner-lite torture --fault kill-leader --duration 30s"},
        footer = {"", "Exit status: 0 when the run is clean (no anomaly, nothing lost, every heal",
                "recovered; with --negative-control: when the checker caught the bug), 1",
                "otherwise, 2 on bad arguments."})
public final class TortureCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--backend", defaultValue = "processes", paramLabel = "processes|etcd|sim|txn",
            description = "processes: Gnomon replica JVMs; etcd: a 3-member etcd cluster; sim: the replicas in deterministic simulation; "
                    + "txn: replica JVMs of the transaction machine, list-append transactions across groups and the bank "
                    + "workload through the transactional client (needs --groups 2 or more; default ${DEFAULT-VALUE}).")
    String backend;

    @Option(names = "--replicas", defaultValue = "3", paramLabel = "N",
            description = "3 or 5 replicas (processes and sim backends; default ${DEFAULT-VALUE}).")
    int replicas;

    @Option(names = "--groups", defaultValue = "1", paramLabel = "N",
            description = "Paxos groups the keys are spread over, every process hosting a replica of each and every "
                    + "transaction within one group; 1 to 64, processes and sim backends (default ${DEFAULT-VALUE}).")
    int groups;

    @Option(names = "--duration", defaultValue = "30s", paramLabel = "DURATION",
            description = "Workload time, faults included (e.g. 30s, 2m; default ${DEFAULT-VALUE}).")
    String duration;

    @Option(names = "--fault", defaultValue = "none", paramLabel = "KIND",
            description = "none, kill-follower, kill-leader, pause-leader, partition-majority, partition-bridge, "
                    + "isolate-leader, partition-one-way, clock-drift, clock-step, clock-restart, lossy-network, "
                    + "mixed, kill-coordinator (--backend txn only; default ${DEFAULT-VALUE}).")
    String fault;

    @Option(names = "--lease-ms", defaultValue = "1000", paramLabel = "MS", description = "Replicas' lease (default ${DEFAULT-VALUE}).")
    long leaseMillis;

    @Option(names = "--election-timeout-ms", defaultValue = "300", paramLabel = "MS",
            description = "Replicas' election timeout; a leader that hears no majority for twice this steps down "
                    + "(default ${DEFAULT-VALUE}).")
    long electionMillis;

    @Option(names = "--quiet", defaultValue = "2s", paramLabel = "DURATION",
            description = "Fault-free time before each fault (default ${DEFAULT-VALUE}).")
    String quiet;

    @Option(names = "--hold", defaultValue = "2500ms", paramLabel = "DURATION",
            description = "How long each fault stays (longer than the lease; default ${DEFAULT-VALUE}).")
    String hold;

    @Option(names = "--op-timeout", defaultValue = "2s", paramLabel = "DURATION",
            description = "How long a client waits for an answer before it moves on to another replica (default ${DEFAULT-VALUE}; "
                    + "a negative control in torture-report uses 500ms).")
    String opTimeout;

    @Option(names = "--seed", defaultValue = "1", paramLabel = "N",
            description = "Seeds the workload and the choice of victims (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--history", paramLabel = "FILE", description = "Where to keep the history (default: in the work directory).")
    Path history;

    @Option(names = "--negative-control", paramLabel = "skip-lease-wait|stale-lease-reads|skip-commit-wait|skip-safe-time",
            description = "Start replicas with a deliberate bug: a lease bug (processes, sim) or, with --backend txn, "
                    + "skip-commit-wait (one replica's clock reads 40 ms fast within its ε) or skip-safe-time (lossy "
                    + "links between replicas). Each needs txn-coordinator's test classes: --replica-classpath-extra for "
                    + "processes and txn, GNOMON_EXTRA_CLASSPATH for sim. The run passes only if the checker catches it.")
    String negativeControl;

    @Mixin
    SharedOptions shared;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        TortureSetup setup;
        try {
            setup = new TortureSetup(backend, replicas, shared.clients, FaultKind.parse(fault), Durations.parse("--duration", duration),
                    Durations.parse("--quiet", quiet), Durations.parse("--hold", hold), leaseMillis, electionMillis, seed,
                    negativeControl, shared.replicaClasspath(), Durations.parse("--op-timeout", opTimeout), groups);
        } catch (IllegalArgumentException e) {
            err.println("torture: " + e.getMessage());
            return 2;
        }
        Path dir = shared.workDir("torture");
        Path file = history != null ? history : dir.resolve("history.jsonl");
        TortureRun.Summary s;
        try {
            s = setup.run(dir, file, line -> err.println("torture: " + line));
        } catch (SimulationFailure f) {
            err.println("torture: the simulator's own checks stopped the run: " + f.getMessage());
            return 1;
        }
        out.println(s.line());
        out.flush();
        return setup.passed(s) ? 0 : 1;
    }

    /** Durations on the command line: {@code 500ms}, {@code 20s}, {@code 2m}. */
    static final class Durations {
        private Durations() {
        }

        static Duration parse(String option, String s) {
            try {
                if (s.endsWith("ms")) {
                    return Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2)));
                }
                if (s.endsWith("s")) {
                    return Duration.ofMillis((long) (Double.parseDouble(s.substring(0, s.length() - 1)) * 1000));
                }
                if (s.endsWith("m")) {
                    return Duration.ofSeconds(Long.parseLong(s.substring(0, s.length() - 1)) * 60);
                }
            } catch (NumberFormatException e) {
                // falls through to the message below
            }
            throw new IllegalArgumentException(option + " " + s + ": use a number with ms, s or m, e.g. 30s");
        }
    }
}
