package io.gnomon.paxos.sim;

import io.gnomon.paxos.cli.VersionProvider;
import io.gnomon.truetime.testing.Progress;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Runs the Paxos simulator over many seeds (each seed single-threaded and deterministic; seeds run side by
 * side on {@code --threads}), or replays one seed with its trace hash. Progress (seeds done, failures, rate, time
 * left) goes to standard error while it runs; standard output has only the FAIL lines and the summary.
 */
@Command(name = "paxos-sim", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Deterministic simulation of the Multi-Paxos core with TrueTime leases.")
public final class PaxosSimMain implements Callable<Integer> {
    @Option(names = "--seeds", paramLabel = "N", description = "how many seeds to run (default ${DEFAULT-VALUE})")
    int seeds = 100;

    @Option(names = "--from-seed", paramLabel = "SEED", description = "the first seed (default ${DEFAULT-VALUE})")
    long fromSeed = 1;

    @Option(names = "--replicas", paramLabel = "N", description = "3 or 5 (default ${DEFAULT-VALUE})")
    int replicas = 3;

    @Option(names = "--groups", paramLabel = "N", description = "Paxos groups, each with a replica on every process, "
            + "dealt over its loops (up to 2), sharing its log and transport (default ${DEFAULT-VALUE})")
    int groups = 1;

    @Option(names = "--steps", paramLabel = "N", description = "events per seed (default 20000 for one group, "
            + "40000 for more)")
    Integer steps;

    @Option(names = "--scenario", paramLabel = "random|shorter-lease-restart|shorter-lease-restart-reconfig",
            description = "the fault schedule: random (default); shorter-lease-restart (issue 16: a replica that "
                    + "granted the leader's lease restarts with a shorter lease as the leader is cut off); "
                    + "shorter-lease-restart-reconfig (the same with membership changes)")
    String scenarioName = "random";

    @Option(names = "--replay", paramLabel = "SEED", description = "run only this seed and print its result and trace hash")
    Long replay;

    @Option(names = "--threads", paramLabel = "N", description = "seeds run in parallel (default: available processors)")
    int threads = Runtime.getRuntime().availableProcessors();

    @Override
    public Integer call() throws Exception {
        int steps = this.steps != null ? this.steps : groups == 1 ? 20_000 : 40_000;
        String wrong = replicas != 3 && replicas != 5 ? "--replicas must be 3 or 5, was " + replicas
                : groups < 1 || groups > 1024 ? "--groups must be 1 to 1024, was " + groups
                : seeds < 1 ? "--seeds must be >= 1, was " + seeds
                : steps < 1 ? "--steps must be >= 1, was " + steps
                : threads < 1 ? "--threads must be >= 1, was " + threads
                : null;
        if (wrong != null) {
            System.err.println("paxos-sim: " + wrong);
            return 2;
        }
        Simulator.Scenario scenario;
        try {
            scenario = Simulator.Scenario.named(scenarioName);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            return 2;
        }
        if (replay != null) {
            try {
                System.out.println(new Simulator(replay, replicas, groups, steps, ReplicaFactory.REAL, scenario).run());
                return 0;
            } catch (SimulationFailure f) {
                f.printStackTrace(System.out);
                return 1;
            }
        }
        long startNanos = System.nanoTime();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        Progress progress = Progress.onStandardError("paxos-sim", "seed", seeds);
        List<Future<Simulator.Result>> results = new ArrayList<>();
        for (long s = fromSeed; s < fromSeed + seeds; s++) {
            long seed = s;
            results.add(pool.submit(() -> {
                // Counted as each seed ends, in whatever order, so the rate is the pool's; FAIL lines keep seed order.
                boolean failed = true;
                try {
                    Simulator.Result r = new Simulator(seed, replicas, groups, steps, ReplicaFactory.REAL, scenario).run();
                    failed = false;
                    return r;
                } finally {
                    progress.completed(failed);
                }
            }));
        }
        long decided = 0;
        long simulatedNanos = 0;
        long leaderships = 0;
        long reads = 0;
        long crashes = 0;
        long configChanges = 0;
        int failures = 0;
        for (Future<Simulator.Result> f : results) {
            try {
                Simulator.Result r = f.get();
                decided += r.decidedSlots();
                simulatedNanos += r.simulatedNanos();
                leaderships += r.leaderships();
                reads += r.leaseReads();
                crashes += r.crashes();
                configChanges += r.configChanges();
            } catch (java.util.concurrent.ExecutionException e) {
                failures++;
                progress.above(() -> {
                    System.out.println("FAIL " + e.getCause().getMessage());
                    System.out.flush();
                });
            }
        }
        pool.shutdown();
        progress.finish();
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        System.out.printf("%s: %d seeds [%d, %d), %d replicas, %d group%s, %d steps each: %d failed; %.1f s wall, %.0f s"
                        + " simulated; decided %d slots, %d leaderships, %d lease reads, %d crashes, %d config changes%n",
                scenario.cliName(), seeds, fromSeed, fromSeed + seeds, replicas, groups, groups == 1 ? "" : "s", steps,
                failures, seconds, simulatedNanos / 1e9,
                decided, leaderships, reads, crashes, configChanges);
        return failures == 0 ? 0 : 1;
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new PaxosSimMain()).execute(args));
    }
}
