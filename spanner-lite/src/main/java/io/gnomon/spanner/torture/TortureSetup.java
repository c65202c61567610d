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
 * @param negativeControl  {@code skip-lease-wait}, {@code stale-lease-reads}, or null
 */
record TortureSetup(String backend, int replicas, int clients, FaultKind fault, Duration duration, Duration quiet,
                    Duration hold, long leaseMillis, long electionMillis, long seed, String negativeControl, String replicaClasspath) {
    TortureSetup {
        if (!backend.equals("processes") && !backend.equals("etcd") && !backend.equals("sim")) {
            throw new IllegalArgumentException("--backend " + backend + ": use processes, etcd or sim");
        }
        if (replicas != 3 && replicas != 5) {
            throw new IllegalArgumentException("--replicas " + replicas + ": use 3 or 5");
        }
        if (backend.equals("etcd") && (replicas != 3 || negativeControl != null)) {
            throw new IllegalArgumentException("--backend etcd runs 3 members and has no negative control");
        }
        if (negativeControl != null && !negativeControl.equals("skip-lease-wait")
                && !negativeControl.equals("stale-lease-reads")) {
            throw new IllegalArgumentException("--negative-control " + negativeControl
                    + ": use skip-lease-wait or stale-lease-reads");
        }
        if (leaseMillis < 100 || leaseMillis > 60_000) {
            throw new IllegalArgumentException("--lease-ms " + leaseMillis + ": 100 to 60000");
        }
        if (electionMillis < 50 || electionMillis > 60_000) {
            throw new IllegalArgumentException("--election-timeout-ms " + electionMillis + ": 50 to 60000");
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
     * A negative control (docs/reliability.md): a deliberate lease bug, the leader isolated. The isolated leader
     * steps down after hearing no majority for twice the election timeout, so the timeouts are chosen to leave it
     * a window in which it still answers reads after the others have elected a leader and committed appends.
     * {@code stale-lease-reads}: election timeout 2 s (a new leader after 2 to 4 s; the old one answers until
     * 4 s, its lease ignored). {@code skip-lease-wait}: lease 4 s, election timeout 1.5 s (a new leader after 1.5
     * to 3 s, not waiting out the old lease; the old one answers under its lease until it steps down at 3 s).
     */
    static TortureSetup negativeControl(String backend, String kind, int clients, Duration duration, long seed,
                                        String replicaClasspath) {
        boolean stale = kind.equals("stale-lease-reads");
        return new TortureSetup(backend, 3, clients, FaultKind.ISOLATE_LEADER, duration, Duration.ofMillis(1500),
                Duration.ofMillis(4500), stale ? 1000 : 4000, stale ? 2000 : 1500, seed, kind, replicaClasspath);
    }

    /** Starts the cluster in {@code dir}, runs, closes it; the history stays in {@code history}. */
    TortureRun.Summary run(Path dir, Path history, Consumer<String> log) throws IOException, InterruptedException {
        Workload.Config workload = Workload.Config.defaults(clients, seed);
        TortureRun.Schedule schedule = new TortureRun.Schedule(fault, duration, quiet, hold);
        if (backend.equals("sim")) {
            return runSimulated(workload, schedule, history, log);
        }
        try (Cluster cluster = open(dir, workload.opTimeout())) {
            // Ctrl-C or SIGTERM must not leave replica or etcd processes behind.
            Thread cleanup = new Thread(cluster::close, "torture-cleanup");
            Runtime.getRuntime().addShutdownHook(cleanup);
            try {
                log.accept("cluster up: " + cluster.name() + ", " + replicas + " members; running "
                        + duration.toSeconds() + " s with fault " + fault.cli());
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
                TortureRun.check(history), o.lostAcknowledged(), o.failovers(), o.recoveries(), o.unrecovered(), history);
    }

    /** The command line that runs this setup again (for the simulation: exactly again). */
    String replayCommand() {
        boolean testClasses = backend.equals("sim") && "skip-lease-wait".equals(negativeControl);
        return (testClasses ? "GNOMON_EXTRA_CLASSPATH=txn-coordinator/target/test-classes " : "") + "bin/spanner-lite torture --backend " + backend + " --replicas " + replicas + " --clients " + clients
                + " --fault " + fault.cli() + " --duration " + duration.toMillis() + "ms --quiet " + quiet.toMillis()
                + "ms --hold " + hold.toMillis() + "ms --lease-ms " + leaseMillis + " --election-timeout-ms "
                + electionMillis + " --seed " + seed + (negativeControl == null ? "" : " --negative-control " + negativeControl);
    }

    private Cluster open(Path dir, Duration opTimeout) throws IOException {
        if (backend.equals("etcd")) {
            return new EtcdTxnCluster(dir, opTimeout);
        }
        return new ReplicaCluster(dir, replicas, replicaClasspath, leaseMillis, electionMillis, negativeControl, opTimeout,
                hold.toMillis());
    }

    /**
     * A clean run: valid, nothing lost, every heal recovered. With a negative control the run passes when the
     * checker reports a real-time anomaly: the harness saw the bug.
     */
    boolean passed(TortureRun.Summary s) {
        if (negativeControl != null) {
            return s.realtimeAnomalies();
        }
        return s.check().valid() && s.lostAcknowledged() == 0 && s.unrecovered() == 0;
    }
}
