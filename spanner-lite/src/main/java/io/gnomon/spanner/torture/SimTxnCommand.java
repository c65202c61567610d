package io.gnomon.spanner.torture;

import io.gnomon.paxos.cli.VersionProvider;
import io.gnomon.paxos.sim.ReplicaFactory;
import io.gnomon.paxos.sim.SimulationFailure;
import io.gnomon.spanner.check.CheckResult;
import io.gnomon.spanner.check.Report;
import io.gnomon.truetime.testing.Progress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * {@code bin/spanner-lite sim-txn}: transactions in deterministic simulation ({@link SimulatedTxnRun}), seed after
 * seed, each history judged by the checker; a failure prints its seed, the command that replays it and the checker's
 * report. Prints one line per failure and a summary (docs/reliability.md).
 */
@Command(name = "sim-txn", mixinStandardHelpOptions = true, sortOptions = false, versionProvider = VersionProvider.class,
        description = {"Run list-append transactions across Paxos groups in deterministic simulation and check each history.",
                "Every group's replica is a transaction host over the versioned store (the server's code); clients run"
                        + " read-write transactions spanning groups (two-phase commit) and read-only reads at random"
                        + " bounds at any replica, under crashes, partitions, pauses, loss, reordering and clock drift"
                        + " within the bound. The checker judges each seed's history, timestamps included.", "",
                "Example: bin/spanner-lite sim-txn --seeds 10000", "Replay one: bin/spanner-lite sim-txn --seed 42"},
        footer = {"", "Exit status: 0 when every seed's history is strictly serializable, 1 otherwise, 2 on bad arguments."})
public final class SimTxnCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--seeds", defaultValue = "100", paramLabel = "N", description = "Seeds to run, from --first-seed (default ${DEFAULT-VALUE}).")
    int seeds;

    @Option(names = "--first-seed", defaultValue = "1", paramLabel = "N", description = "The first seed (default ${DEFAULT-VALUE}).")
    long firstSeed;

    @Option(names = "--seed", paramLabel = "N", description = "Run this one seed only (a replay), keeping its history.")
    Long seed;

    @Option(names = "--groups", defaultValue = "4", paramLabel = "N", description = "Paxos groups, 1 to 64 (default ${DEFAULT-VALUE}).")
    int groups;

    @Option(names = "--replicas", defaultValue = "3", paramLabel = "N", description = "3 or 5 (default ${DEFAULT-VALUE}).")
    int replicas;

    @Option(names = "--clients", defaultValue = "6", paramLabel = "N", description = "Simulated clients (default ${DEFAULT-VALUE}).")
    int clients;

    @Option(names = "--keys", defaultValue = "12", paramLabel = "N", description = "Keys, spread over the groups (default ${DEFAULT-VALUE}).")
    int keys;

    @Option(names = "--duration-ms", defaultValue = "4000", paramLabel = "MS",
            description = "Simulated time clients start transactions in (default ${DEFAULT-VALUE}).")
    long durationMillis;

    @Option(names = "--data-dir", paramLabel = "DIR",
            description = "Where simulated processes keep their stores (default: /dev/shm if present, else the temporary directory).")
    Path dataDir;

    @Option(names = "--history-dir", paramLabel = "DIR",
            description = "Keep failing seeds' histories here (and --seed's; default: a new temporary directory).")
    Path historyDir;

    @Option(names = "--threads", defaultValue = "1", paramLabel = "N",
            description = "Seeds run at once (each alone on its thread, so each still replays exactly; default ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--negative-control", paramLabel = "skip-commit-wait|skip-safe-time",
            description = "Switch a deliberate bug on in every transaction host (needs txn-coordinator's test classes:"
                    + " GNOMON_EXTRA_CLASSPATH=txn-coordinator/target/test-classes); no faults. A seed passes only if"
                    + " the checker catches it.")
    String negativeControl;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (seeds < 1 || (replicas != 3 && replicas != 5)) {
            err.println("sim-txn: --seeds must be >= 1 and --replicas 3 or 5, were " + seeds + " and " + replicas);
            return 2;
        }
        Path data = dataDir != null ? dataDir
                : Files.isDirectory(Path.of("/dev/shm")) ? Path.of("/dev/shm") : Path.of(System.getProperty("java.io.tmpdir"));
        Path histories = historyDir != null ? Files.createDirectories(historyDir) : Files.createTempDirectory("sim-txn");
        long first = seed != null ? seed : firstSeed;
        int count = seed != null ? 1 : seeds;
        long started = System.nanoTime();
        // seeds done, failures, rate and time left on standard error (a line every 10 s when it is not a terminal)
        Progress progress = count > 1 ? Progress.onStandardError("sim-txn", "seed", count) : null;
        SimulatedTxnRun.Control control;
        try {
            control = negativeControl == null ? SimulatedTxnRun.Control.NONE
                    : SimulatedTxnRun.Control.named(negativeControl);
            control.hostHook();
            new SimulatedTxnRun.Config(first, replicas, groups, clients, keys, Duration.ofMillis(durationMillis), data,
                    control);
        } catch (IllegalArgumentException e) {
            err.println("sim-txn: " + e.getMessage());
            return 2;
        }
        if (threads < 1) {
            err.println("sim-txn: --threads must be >= 1, was " + threads);
            return 2;
        }
        // Seeds are independent (each its own simulator, stores and history): run on the pool, reported in seed order.
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<Verdict>> verdicts = new ArrayList<>();
        for (long s = first; s < first + count; s++) {
            SimulatedTxnRun.Config config = new SimulatedTxnRun.Config(s, replicas, groups, clients, keys,
                    Duration.ofMillis(durationMillis), data, control);
            Path history = histories.resolve("seed-" + s + ".jsonl");
            verdicts.add(pool.submit(() -> {
                Verdict v = null;
                try {
                    Verdict run = runSeed(config, history);
                    // a control's seed passes when the checker caught the bug
                    v = control == SimulatedTxnRun.Control.NONE ? run : run.caught();
                    return v;
                } finally {
                    if (progress != null) {
                        progress.completed(v == null || v.failure() != null);
                    }
                }
            }));
        }
        pool.shutdown();
        int failures = 0;
        long txns = 0;
        long committed = 0;
        long forgotten = 0;
        for (int i = 0; i < count; i++) {
            long s = first + i;
            Verdict v;
            try {
                v = verdicts.get(i).get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                pool.shutdownNow();
                throw new IllegalStateException("sim-txn interrupted at seed " + s, e);
            } catch (ExecutionException e) {
                Throwable cause = e.getCause();
                v = new Verdict(null, null, "the run threw " + cause, histories.resolve("seed-" + s + ".jsonl"));
            }
            txns += v.check() == null ? 0 : v.check().stats().txns();
            committed += v.outcome() == null ? 0 : v.outcome().committed();
            forgotten += v.outcome() == null ? 0 : v.outcome().forgotten();
            if (v.failure() != null) {
                failures++;
                Verdict failed = v;
                String replay = replay(new SimulatedTxnRun.Config(s, replicas, groups, clients, keys,
                        Duration.ofMillis(durationMillis), data, control));
                Runnable print = () -> {
                    err.println("sim-txn: seed " + s + " FAILED: " + failed.failure());
                    err.println("  replay: " + replay);
                    err.println("  history: " + failed.history());
                    err.flush();
                };
                if (progress != null) {
                    progress.above(print);
                } else {
                    print.run();
                }
            } else if (seed == null) {
                Files.deleteIfExists(v.history());
            }
            if (seed != null) {
                out.println("seed " + s + ": " + (v.failure() == null ? "strictly serializable" : "FAILED")
                        + (v.check() == null ? "" : ", " + v.check().stats().txns() + " transactions")
                        + (v.outcome() == null ? "" : ", " + v.outcome().committed() + " read-write committed ("
                        + v.outcome().acrossGroups() + " across groups), read-only served " + v.outcome().readOnly()
                        + ", " + v.outcome().aborts() + " aborted attempts (the last: " + v.outcome().lastAbort()
                        + "), " + v.outcome().faults() + " faults, " + v.outcome().simulation().steps() + " events, "
                        + v.outcome().forgotten() + " outcomes forgotten")
                        + "; history " + v.history());
            }
        }
        if (progress != null) {
            progress.finish();
        }
        Duration wall = Duration.ofNanos(System.nanoTime() - started);
        out.println("sim-txn: " + count + " seeds from " + first + " (" + groups + " groups, " + replicas + " replicas, "
                + clients + " clients, " + keys + " keys, " + durationMillis + " ms each, " + threads + " thread(s)): " + failures + " failed; "
                + txns + " transactions, " + committed + " read-write committed, " + forgotten
                + " outcomes forgotten; wall time " + wall.toSeconds() + " s");
        out.flush();
        return failures == 0 ? 0 : 1;
    }

    /** One seed's verdict: {@code failure} null when its history is strictly serializable and the simulator's checks held. */
    record Verdict(SimulatedTxnRun.Outcome outcome, CheckResult check, String failure, Path history) {
        /** A negative control's verdict: it fails when the checker found the history valid. */
        Verdict caught() {
            boolean caught = check != null && !check.valid();
            return new Verdict(outcome, check, caught ? null : failure != null ? failure
                    : "the checker did not catch the negative control", history);
        }
    }

    /** Runs one seed and checks its history. */
    static Verdict runSeed(SimulatedTxnRun.Config config, Path history) throws IOException {
        SimulatedTxnRun.Outcome outcome;
        try {
            outcome = SimulatedTxnRun.run(config, ReplicaFactory.REAL, replay(config), history);
        } catch (SimulationFailure | IllegalStateException e) {
            return new Verdict(null, null, "the simulation stopped: " + e.getMessage(), history);
        }
        CheckResult check = SimulatedTxnRun.check(history);
        return new Verdict(outcome, check, check.valid() ? null : "the checker found anomalies: "
                + Report.verdict(check) + "\n" + Report.text(check, 3), history);
    }

    /** The command that replays one seed. */
    static String replay(SimulatedTxnRun.Config c) {
        return "bin/spanner-lite sim-txn --seed " + c.seed() + " --groups " + c.groups() + " --replicas " + c.replicas()
                + " --clients " + c.clients() + " --keys " + c.keys() + " --duration-ms " + c.duration().toMillis()
                + (c.control() == SimulatedTxnRun.Control.NONE ? "" : " --negative-control " + c.control().cliName());
    }
}
