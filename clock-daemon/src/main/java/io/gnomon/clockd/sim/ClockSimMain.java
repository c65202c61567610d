package io.gnomon.clockd.sim;

import io.gnomon.truetime.testing.Progress;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;

/**
 * {@code clock-sim}: runs the deterministic clock simulator over many seeds and scenarios and checks every
 * published snapshot against true time. Exit codes: 0 sound (and every control that ran failed as it must),
 * 1 a violation in a scenario that keeps the assumptions or a control that found none, 2 bad arguments.
 */
@Command(name = "clock-sim", mixinStandardHelpOptions = true, versionProvider = io.gnomon.clockd.cli.Version.class,
        sortOptions = false,
        description = {"Deterministic clock simulator: drives the daemon's real NTP codec (NtpWire), estimator "
                + "(ClockEstimator) and reader extrapolation (ClockSnapshot) in simulated time, and checks that every "
                + "usable interval contains true time.",
                "Each run is single-threaded and determined by its seed and scenario; --threads only runs seeds side by side."},
        footer = {"", "Scenarios: lan, wan, liar, stepping-server, temperature, outage, ptp, ptp-trusted, chrony-step, "
                + "ptp-step, ptp-step-trusted, and the control drift-violated (expected to fail; reported separately).",
                "Exit codes: 0 sound, 1 a violation (or a control that did not fail), 2 bad arguments."})
public final class ClockSimMain implements Callable<Integer> {

    @Option(names = "--scenario", paramLabel = "NAME|all", defaultValue = "all",
            description = "scenario to run (default all)")
    String scenario;

    @Option(names = "--seeds", paramLabel = "N", defaultValue = "10", description = "seeds per scenario (default 10)")
    int seeds;

    @Option(names = "--from-seed", paramLabel = "S", defaultValue = "1", description = "first seed (default 1)")
    long fromSeed;

    @Option(names = "--duration-seconds", paramLabel = "D", defaultValue = "3600",
            description = "simulated seconds per seed (default 3600)")
    long durationSeconds;

    @Option(names = "--samples-per-publish", paramLabel = "K", defaultValue = "8",
            description = "reader instants checked per published snapshot (default 8)")
    int samplesPerPublish;

    @Option(names = "--replay", paramLabel = "SEED",
            description = "rerun exactly this seed of --scenario and print each violation")
    Long replay;

    @Option(names = "--report", paramLabel = "FILE.md", description = "write a markdown report")
    Path report;

    @Option(names = "--plot", paramLabel = "FILE.svg", description = "write an SVG plot (CDFs of ε and error)")
    Path plot;

    @Option(names = "--threads", paramLabel = "T", defaultValue = "1",
            description = "seeds run side by side (results identical for any T; default 1)")
    int threads;

    @Option(names = "--poll-interval-ms", paramLabel = "MS",
            description = "the daemon's NTP poll interval (default 2000: the short poll of servers the operator runs; "
                    + "clockd polls other servers every 64000)")
    Long pollIntervalMillis;

    @Option(names = "--max-drift-ppm", paramLabel = "PPM",
            description = "the daemon's assumed maximum drift (default 200); the simulated oscillator stays within it")
    Double maxDriftPpm;

    @Option(names = "--break-bounds", paramLabel = "SCALE", hidden = true,
            description = "negative control: scale every measurement's bound by SCALE < 1 before the estimator sees it")
    Double breakBounds;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    public static int run(String... args) {
        CommandLine cl = new CommandLine(new ClockSimMain());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("clock-sim: " + ex.getMessage());
            return ex instanceof IllegalArgumentException ? 2 : 1;
        });
        return cl.execute(args);
    }

    @Override
    public Integer call() throws IOException, InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        List<Scenario> scenarios;
        if (replay != null) {
            if (scenario.equals("all")) {
                throw new IllegalArgumentException("--replay needs one --scenario NAME");
            }
            fromSeed = replay;
            seeds = 1;
        }
        if (seeds < 1) {
            throw new IllegalArgumentException("--seeds must be >= 1, was " + seeds);
        }
        if (durationSeconds < 1) {
            throw new IllegalArgumentException("--duration-seconds must be >= 1, was " + durationSeconds);
        }
        if (samplesPerPublish < 1) {
            throw new IllegalArgumentException("--samples-per-publish must be >= 1, was " + samplesPerPublish);
        }
        if (threads < 1 || threads > 64) {
            throw new IllegalArgumentException("--threads must be in [1, 64], was " + threads);
        }
        scenarios = scenario.equals("all") ? Scenario.all() : List.of(Scenario.named(scenario));
        if (pollIntervalMillis != null || maxDriftPpm != null) {
            scenarios = scenarios.stream().map(sc -> sc.withDaemonConfig(pollIntervalMillis, maxDriftPpm)).toList();
        }
        if (breakBounds != null) {
            if (!(breakBounds > 0 && breakBounds < 1)) {
                throw new IllegalArgumentException("--break-bounds must be in (0, 1), was " + breakBounds);
            }
            scenarios = scenarios.stream().map(sc -> sc.withMeasurementBoundScale(breakBounds)).toList();
        }

        long wallStart = System.nanoTime(); // wall time only for the operator's line below, never in results
        List<RunResult> results = new ArrayList<>();
        // Seeds of every scenario; a failure is a seed with a violation where none is expected.
        Progress progress = Progress.onStandardError("clock-sim", "seed", (long) scenarios.size() * seeds);
        for (Scenario sc : scenarios) {
            RunResult r = runSeeds(sc, fromSeed, seeds, durationSeconds, samplesPerPublish, threads,
                    seed -> progress.completed(!sc.expectViolations && seed.violations > 0));
            results.add(r);
            progress.above(() -> {
                out.println(summaryLine(r));
                int shown = 0;
                for (RunResult.SeededViolation v : r.violationDetails) {
                    if (replay == null && shown >= (sc.expectViolations ? 1 : 5)) {
                        break;
                    }
                    out.println("  VIOLATION seed " + v.seed() + " " + sc.name() + ": " + v.violation().describe());
                    out.println("    replay: " + SimReport.replayCommand(sc, v.seed(), durationSeconds, samplesPerPublish));
                    shown++;
                }
                out.flush();
            });
        }
        progress.finish();
        if (replay != null) {
            out.println("sources: " + String.join("; ",
                    new ClockSim(scenarios.get(0), replay, durationSeconds, samplesPerPublish).describeSources()));
        }

        String command = commandLine();
        if (report != null) {
            Files.writeString(report, SimReport.markdown(results, command), StandardCharsets.UTF_8);
        }
        if (plot != null) {
            Files.writeString(plot, SimReport.svg(results), StandardCharsets.UTF_8);
        }
        long sound = 0;
        long soundSamples = 0;
        boolean controlSilent = false;
        for (RunResult r : results) {
            if (r.scenario.expectViolations) {
                controlSilent |= r.violations == 0;
            } else {
                sound += r.violations;
                soundSamples += r.samples;
            }
        }
        out.println(String.format(Locale.ROOT, "total: %,d samples checked, %d violations (controls excluded)%s",
                soundSamples, sound, controlSilent ? "; a control found no violation" : ""));
        err.println(String.format(Locale.ROOT, "clock-sim: %.1f s wall time", (System.nanoTime() - wallStart) / 1e9));
        return sound > 0 || controlSilent ? 1 : 0;
    }

    private String commandLine() {
        StringBuilder b = new StringBuilder("bin/clock-sim");
        if (replay != null) {
            b.append(" --replay ").append(replay);
        } else {
            b.append(" --seeds ").append(seeds).append(" --from-seed ").append(fromSeed);
        }
        b.append(" --scenario ").append(scenario).append(" --duration-seconds ").append(durationSeconds)
                .append(" --samples-per-publish ").append(samplesPerPublish);
        if (pollIntervalMillis != null) {
            b.append(" --poll-interval-ms ").append(pollIntervalMillis);
        }
        if (maxDriftPpm != null) {
            b.append(" --max-drift-ppm ").append(maxDriftPpm);
        }
        if (breakBounds != null) {
            b.append(" --break-bounds ").append(breakBounds);
        }
        return b.toString();
    }

    static String summaryLine(RunResult r) {
        return String.format(Locale.ROOT, "%-16s %3d seeds %,12d samples %,8d violations%s", r.scenario.name(),
                r.runs, r.samples, r.violations, r.scenario.expectViolations ? "  (control: violations expected)" : "");
    }

    /**
     * Runs seeds {@code fromSeed .. fromSeed + seeds - 1} of one scenario and merges them in seed order, so the
     * result does not depend on {@code threads}.
     */
    public static RunResult runSeeds(Scenario sc, long fromSeed, int seeds, long durationSeconds,
                                     int samplesPerPublish, int threads) throws InterruptedException {
        return runSeeds(sc, fromSeed, seeds, durationSeconds, samplesPerPublish, threads, seed -> { });
    }

    /** {@link #runSeeds(Scenario, long, int, long, int, int)}, telling {@code seedDone} each seed's result as it ends. */
    static RunResult runSeeds(Scenario sc, long fromSeed, int seeds, long durationSeconds, int samplesPerPublish,
                              int threads, Consumer<RunResult> seedDone) throws InterruptedException {
        List<RunResult> runs = new ArrayList<>(seeds);
        if (threads == 1) {
            for (int i = 0; i < seeds; i++) {
                long seed = fromSeed + i;
                RunResult r;
                try {
                    r = new ClockSim(sc, seed, durationSeconds, samplesPerPublish).run();
                } catch (RuntimeException | AssertionError e) {
                    throw new IllegalStateException("run failed: " + e + "; replay: "
                            + SimReport.replayCommand(sc, seed, durationSeconds, samplesPerPublish), e);
                }
                seedDone.accept(r);
                runs.add(r);
            }
        } else {
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                List<Future<RunResult>> futures = new ArrayList<>(seeds);
                for (int i = 0; i < seeds; i++) {
                    long seed = fromSeed + i;
                    futures.add(pool.submit(() -> {
                        RunResult r = new ClockSim(sc, seed, durationSeconds, samplesPerPublish).run();
                        seedDone.accept(r);
                        return r;
                    }));
                }
                for (Future<RunResult> f : futures) {
                    runs.add(f.get());
                }
            } catch (ExecutionException e) {
                throw new IllegalStateException("a simulation run failed: " + e.getCause(), e.getCause());
            } finally {
                pool.shutdownNow();
            }
        }
        RunResult merged = runs.get(0);
        for (int i = 1; i < runs.size(); i++) {
            merged.merge(runs.get(i));
        }
        return merged;
    }
}
