package io.gnomon.spanner.torture;

import io.gnomon.paxos.sim.ReplicaFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * Everything one torture run needs, checked up front; {@link #run} starts the cluster, runs and closes it. Shared
 * by the {@code torture} and {@code torture-report} commands and the tests.
 *
 * @param replicaClasspath the replicas' classpath (processes backend)
 * @param negativeControl  {@code skip-lease-wait} or {@code stale-lease-reads} (processes and sim backends), {@code
 *                         skip-commit-wait} or {@code skip-safe-time} (txn backend), or null
 * @param opTimeout        how long a client waits for an answer before it records {@code info} (or {@code fail}
 *                         for a read) and moves on to another replica
 * @param groups           Paxos groups the keys are spread over, each transaction within one, every process
 *                         (simulated or real) hosting a replica of each
 */
record TortureSetup(String backend, int replicas, int clients, FaultKind fault, Duration duration, Duration quiet,
                    Duration hold, long leaseMillis, long electionMillis, long seed, String negativeControl, String replicaClasspath,
                    Duration opTimeout, int groups) {
    /** The clients' default timeout ({@code --op-timeout}). */
    static final Duration DEFAULT_OP_TIMEOUT = Duration.ofSeconds(2);

    /**
     * The clients' timeout in a negative control. At the replicas' defaults an isolated leader holds every client's
     * append until it steps down (about 0.9 s after the cut), and only then stops answering lease reads; with the
     * default 2 s timeout no client can commit anything elsewhere while the buggy old leader still answers, so
     * nothing it answers can be stale. A client that gives up on a silent replica after 500 ms and tries the next
     * one (as real clients do) is what lets a write commit at a new leader inside that window. It changes no
     * replica setting.
     */
    static final Duration CONTROL_OP_TIMEOUT = Duration.ofMillis(500);

    /**
     * The share of a negative control's transactions in group 1 when the keys are spread over several groups. A
     * control shows only when a write committed at the new leader and a read of the same key at the old one meet in
     * the old leader's last fraction of a second, so spreading both evenly over G groups thins the chance by about
     * G squared: with 16 groups evenly, 0 stale reads in simulated seeds that show 37 with one group (docs/
     * reliability.md, "The negative controls"). Group 1 is the group whose leader the faults aim at.
     */
    static final double CONTROL_HOT_GROUP_SHARE = 0.75;

    TortureSetup(String backend, int replicas, int clients, FaultKind fault, Duration duration, Duration quiet,
                 Duration hold, long leaseMillis, long electionMillis, long seed, String negativeControl,
                 String replicaClasspath) {
        this(backend, replicas, clients, fault, duration, quiet, hold, leaseMillis, electionMillis, seed, negativeControl,
                replicaClasspath, DEFAULT_OP_TIMEOUT);
    }

    TortureSetup(String backend, int replicas, int clients, FaultKind fault, Duration duration, Duration quiet,
                 Duration hold, long leaseMillis, long electionMillis, long seed, String negativeControl,
                 String replicaClasspath, Duration opTimeout) {
        this(backend, replicas, clients, fault, duration, quiet, hold, leaseMillis, electionMillis, seed, negativeControl,
                replicaClasspath, opTimeout, 1);
    }

    TortureSetup {
        if (!backend.equals("processes") && !backend.equals("etcd") && !backend.equals("sim") && !backend.equals("txn")) {
            throw new IllegalArgumentException("--backend " + backend + ": use processes, etcd, sim or txn");
        }
        if (backend.equals("txn") && groups < 2) {
            throw new IllegalArgumentException("--backend txn runs transactions across groups: --groups " + groups
                    + " must be at least 2 (16 in docs/reliability.md)");
        }
        if (fault == FaultKind.KILL_COORDINATOR && !backend.equals("txn")) {
            throw new IllegalArgumentException("--fault " + fault.cli() + " kills a two-phase commit's coordinator: "
                    + "use --backend txn");
        }
        if (replicas != 3 && replicas != 5) {
            throw new IllegalArgumentException("--replicas " + replicas + ": use 3 or 5");
        }
        if (groups < 1 || groups > 64) {
            throw new IllegalArgumentException("--groups " + groups + ": 1 to 64");
        }
        if (groups > 1 && backend.equals("etcd")) {
            throw new IllegalArgumentException("--groups " + groups + ": etcd is one group; use --backend processes "
                    + "or sim");
        }
        if (backend.equals("etcd") && (replicas != 3 || negativeControl != null)) {
            throw new IllegalArgumentException("--backend etcd runs 3 members and has no negative control");
        }
        if (negativeControl != null && backend.equals("txn") && !NegativeControls.TXN.contains(negativeControl)) {
            throw new IllegalArgumentException("--negative-control " + negativeControl + " with --backend txn: use "
                    + String.join(" or ", NegativeControls.TXN) + " (the lease controls run with --backend processes"
                    + " or sim)");
        }
        if (negativeControl != null && !backend.equals("txn") && !NegativeControls.ALL.contains(negativeControl)) {
            throw new IllegalArgumentException("--negative-control " + negativeControl + ": use "
                    + "skip-lease-wait or stale-lease-reads"
                    + (NegativeControls.TXN.contains(negativeControl) ? " (" + negativeControl + " is a transaction "
                    + "host's bug: use --backend txn)" : ""));
        }
        if (leaseMillis < 100 || leaseMillis > 60_000) {
            throw new IllegalArgumentException("--lease-ms " + leaseMillis + ": 100 to 60000");
        }
        if (electionMillis < 50 || electionMillis > 60_000) {
            throw new IllegalArgumentException("--election-timeout-ms " + electionMillis + ": 50 to 60000");
        }
        if (opTimeout.compareTo(Duration.ofMillis(100)) < 0 || opTimeout.compareTo(Duration.ofSeconds(60)) > 0) {
            throw new IllegalArgumentException("--op-timeout " + opTimeout.toMillis() + "ms: 100ms to 60s");
        }
        if (duration.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new IllegalArgumentException("--duration " + duration.toMillis() + "ms: at least 1s");
        }
        if (fault != FaultKind.NONE && duration.compareTo(quiet.plus(hold)) <= 0) {
            throw new IllegalArgumentException("--duration " + duration.toMillis() + "ms: fault " + fault.cli()
                    + " needs more than quiet + hold (" + quiet.plus(hold).toMillis() + " ms) to inject it once");
        }
    }

    /**
     * A negative control (docs/reliability.md, "The negative controls"): a deliberate lease bug under one fault
     * kind, at the replicas' default lease (1 s) and election timeout (300 ms) and the default schedule (quiet 2 s,
     * hold 2.5 s), the clients' timeout {@link #CONTROL_OP_TIMEOUT}.
     */
    static TortureSetup negativeControl(String backend, String kind, FaultKind fault, int clients, Duration duration,
                                        long seed, String replicaClasspath) {
        return new TortureSetup(backend, 3, clients, fault, duration, Duration.ofSeconds(2), Duration.ofMillis(2500),
                1000, 300, seed, kind, replicaClasspath, CONTROL_OP_TIMEOUT);
    }

    /** This setup with the keys spread over {@code groups} groups. */
    TortureSetup withGroups(int groups) {
        return new TortureSetup(backend, replicas, clients, fault, duration, quiet, hold, leaseMillis, electionMillis,
                seed, negativeControl, replicaClasspath, opTimeout, groups);
    }

    /** Starts the cluster in {@code dir}, runs, closes it; the history stays in {@code history}. */
    TortureRun.Summary run(Path dir, Path history, Consumer<String> log) throws IOException, InterruptedException {
        Workload.Config workload = Workload.Config.defaults(clients, seed, opTimeout, groups);
        if (negativeControl != null && groups > 1 && !backend.equals("txn")) {
            workload = workload.withHotGroupShare(CONTROL_HOT_GROUP_SHARE);
        }
        TortureRun.Schedule schedule = new TortureRun.Schedule(fault, duration, quiet, hold);
        if (backend.equals("sim")) {
            return runSimulated(workload, schedule, history, log);
        }
        if (backend.equals("txn")) {
            // the generator picks keys over the whole key space (one "group" to it), so transactions span groups
            // under a negative control, more reads-only transactions: the snapshot reads where the bugs show
            workload = new Workload.Config(clients, Math.max(8, 2 * groups), 4, negativeControl == null ? 0.3 : 0.5,
                    opTimeout, seed, 1, 0);
        }
        try (Cluster cluster = open(dir, workload.opTimeout())) {
            // Ctrl-C or SIGTERM must not leave replica or etcd processes behind.
            Thread cleanup = new Thread(cluster::close, "torture-cleanup");
            Runtime.getRuntime().addShutdownHook(cleanup);
            try {
                log.accept("cluster up: " + cluster.name() + ", " + replicas + " members"
                        + (groups == 1 ? "" : ", " + groups + " groups on each") + "; running "
                        + duration.toSeconds() + " s with fault " + fault.cli());
                if (cluster instanceof TxnCluster txn) {
                    if (txn.controlCondition() != null) {
                        log.accept("negative control " + negativeControl + ": " + txn.controlCondition());
                    }
                    BankWorkload.Config bank = new BankWorkload.Config(2, Math.max(2, clients / 2),
                            Math.max(1, clients / 4), seed, opTimeout);
                    return TxnTorture.run(txn, replicas, workload, bank, schedule, negativeControl, history, log);
                }
                return TortureRun.run(cluster, replicas, workload, schedule, negativeControl, history, log);
            } finally {
                try {
                    Runtime.getRuntime().removeShutdownHook(cleanup);
                } catch (IllegalStateException shuttingDown) {
                    // the hook is closing the cluster already
                }
            }
        }
    }

    /** The same workload, schedule and checker in deterministic simulation (docs/reliability.md, "Simulation"). */
    private TortureRun.Summary runSimulated(Workload.Config workload, TortureRun.Schedule schedule, Path history,
                                            Consumer<String> log) throws IOException {
        long wallStart = System.nanoTime();
        SimulatedRun.Outcome o = SimulatedRun.run(replicas, workload, schedule,
                "skip-lease-wait".equals(negativeControl) ? SimulatedRun.skipLeaseWait() : ReplicaFactory.REAL,
                "stale-lease-reads".equals(negativeControl), leaseMillis * 1_000_000L, electionMillis * 1_000_000L,
                replayCommand(), history, log);
        log.accept(String.format("simulated %.1f s in %.1f s: %d events, %d slots decided, %d leaderships, %d crashes,"
                        + " trace hash %016x", o.simulation().simulatedNanos() / 1e9, (System.nanoTime() - wallStart) / 1e9,
                o.simulation().steps(), o.simulation().decidedSlots(), o.simulation().leaderships(),
                o.simulation().crashes(), o.simulation().traceHash()));
        return new TortureRun.Summary("sim", replicas, clients, fault, negativeControl, seed, o.faultsInjected(),
                TortureRun.check(history), o.lostAcknowledged(), o.failovers(), o.recoveries(), o.unrecovered(), history,
                StaleReads.count(history));
    }

    /** The command line that runs this setup again (for the simulation: exactly again). */
    String replayCommand() {
        boolean testClasses = backend.equals("sim") && "skip-lease-wait".equals(negativeControl);
        return (testClasses ? "GNOMON_EXTRA_CLASSPATH=txn-coordinator/target/test-classes " : "") + "bin/spanner-lite torture --backend " + backend + " --replicas " + replicas + " --clients " + clients
                + " --fault " + fault.cli() + " --duration " + duration.toMillis() + "ms --quiet " + quiet.toMillis()
                + "ms --hold " + hold.toMillis() + "ms --lease-ms " + leaseMillis + " --election-timeout-ms "
                + electionMillis + (opTimeout.equals(DEFAULT_OP_TIMEOUT) ? "" : " --op-timeout " + opTimeout.toMillis() + "ms")
                + " --seed " + seed + (negativeControl == null ? "" : " --negative-control " + negativeControl)
                + (groups == 1 ? "" : " --groups " + groups);
    }

    private Cluster open(Path dir, Duration opTimeout) throws IOException {
        if (backend.equals("etcd")) {
            return new EtcdTxnCluster(dir, opTimeout);
        }
        if (backend.equals("txn")) {
            return new TxnCluster(dir, replicas, replicaClasspath, leaseMillis, electionMillis, opTimeout, hold.toMillis(),
                    groups, negativeControl);
        }
        return new ReplicaCluster(dir, replicas, replicaClasspath, leaseMillis, electionMillis, negativeControl, opTimeout,
                hold.toMillis(), groups);
    }

    /**
     * A clean run: valid, nothing lost, every heal recovered, and no stale read by the harness's own witness
     * ({@link StaleReads}: a read that missed an append acknowledged before it began is a real-time violation the
     * checker must also have reported, so a valid verdict beside it is a checker miss, never a pass). With a
     * negative control the run passes when the checker reports a real-time anomaly: the harness saw the bug.
     */
    boolean passed(TortureRun.Summary s) {
        if (negativeControl != null) {
            return s.controlCaught();
        }
        return s.check().valid() && s.lostAcknowledged() == 0 && s.unrecovered() == 0 && s.staleReads() == 0
                && (s.txn() == null || s.txn().passed());
    }
}
