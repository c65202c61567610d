package io.gnomon.spanner.torture;

import io.gnomon.paxos.cli.VersionProvider;
import io.gnomon.paxos.sim.SimulationFailure;
import io.gnomon.truetime.testing.Progress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;

/**
 * {@code bin/spanner-lite torture-report} ({@code bin/torture-report}): every fault kind in deterministic
 * simulation and against replica processes, both negative controls on both, and etcd as the reference;
 * regenerates the figures in docs/reliability.md between its markers.
 */
@Command(name = "torture-report", mixinStandardHelpOptions = true, sortOptions = false,
        versionProvider = VersionProvider.class,
        description = {"Run torture for every fault kind on every backend and rewrite the figures in --doc.",
                "Runs the torture harness for every fault kind in simulation (--sim-runs seeds each) and against replica"
                        + " processes (--runs seeds each), both negative controls on both, and the etcd reference; prints"
                        + " each run's summary line, keeps the table so far in the work directory (table.md) after every"
                        + " run, and at the end rewrites the table between the markers in --doc."})
public final class TortureReportCommand implements Callable<Integer> {
    static final String BEGIN = "<!-- torture-figures:begin -->";
    static final String END = "<!-- torture-figures:end -->";
    static final String CONTROLS_BEGIN = "<!-- torture-controls:begin -->";
    static final String CONTROLS_END = "<!-- torture-controls:end -->";

    @Spec
    CommandSpec spec;

    @Option(names = "--runs", defaultValue = "2", paramLabel = "N", description = "Runs per fault kind (default ${DEFAULT-VALUE}).")
    int runs;

    @Option(names = "--sim-runs", defaultValue = "10", paramLabel = "N",
            description = "Simulated runs per fault kind, seeds 1..N; 0 leaves simulation out (default ${DEFAULT-VALUE}).")
    int simRuns;

    @Option(names = "--duration", defaultValue = "20s", paramLabel = "DURATION", description = "Each run's workload time (default ${DEFAULT-VALUE}).")
    String duration;

    @Option(names = "--faults", split = ",", paramLabel = "KIND", description = "Fault kinds (default: all).")
    List<String> faults;

    @Option(names = "--groups", defaultValue = "1", paramLabel = "N",
            description = "Paxos groups on each replica process in the processes runs, keys spread over them (1 to 64;"
                    + " simulated and etcd runs stay one group; default ${DEFAULT-VALUE}).")
    int groups;

    @Option(names = "--no-etcd", description = "Leave out the etcd reference runs (their rows in --doc are kept, as "
            + "simulation's are with --sim-runs 0).")
    boolean noEtcd;

    @Option(names = "--no-negative-control", description = "Leave out the negative controls.")
    boolean noNegativeControl;

    @Option(names = "--controls-only", description = "Only the negative controls: each control against each fault kind"
            + " at the default timeouts, in simulation (every kind) and on processes (the kinds where it can show);"
            + " rewrites only their table in --doc.")
    boolean controlsOnly;

    @Option(names = "--txn", description = "Only the transactional runs (--backend txn: list-append transactions across"
            + " groups and the bank workload) for every fault kind and kill-coordinator, --runs seeds each, on --groups"
            + " groups (at least 2; docs/reliability.md uses 16), clients' timeout --op-timeout; rewrites only the"
            + " transactions table in --doc.")
    boolean txn;

    @Option(names = "--op-timeout", defaultValue = "5s", paramLabel = "DURATION",
            description = "With --txn: the clients' timeout (default ${DEFAULT-VALUE}).")
    String opTimeout;

    @Option(names = "--doc", paramLabel = "FILE", description = "The markdown file whose figures to rewrite (e.g. docs/reliability.md).")
    Path doc;

    @Option(names = "--commit", defaultValue = "", paramLabel = "COMMIT",
            description = "The commit measured, named beside the figures (bin/torture-report passes git's HEAD).")
    String commit;

    @Mixin
    SharedOptions shared;

    private int simulationFailures;
    private int runsFailed;
    private final List<NotRun> notRun = new ArrayList<>();

    /** One table row: the runs of one backend and fault kind (and negative control, or null). */
    private record Row(String backend, String fault, List<TortureRun.Summary> runs, String control) {
        boolean negativeControl() {
            return control != null;
        }
    }

    /** A negative control and fault kind not run on a backend, and why. */
    private record NotRun(String backend, String control, String fault, String why) {
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (txn) {
            return txnReport(out, err);
        }
        Duration d;
        List<TortureSetup> plan;
        try {
            d = TortureCommand.Durations.parse("--duration", duration);
            plan = plan(d, shared.replicaClasspath());
        } catch (IllegalArgumentException e) {
            err.println("torture-report: " + e.getMessage());
            return 2;
        }
        if (controlsOnly && noNegativeControl) {
            err.println("torture-report: --controls-only and --no-negative-control leave nothing to run");
            return 2;
        }
        if (plan.isEmpty()) {
            err.println("torture-report: these options leave no run to make (see --faults, --sim-runs, --controls-only and "
                    + "the kinds where a control can show on processes, in --help)");
            return 2;
        }
        Path dir = shared.workDir("torture-report");
        Map<String, Row> rows = new LinkedHashMap<>();
        Map<String, Row> controlRows = new LinkedHashMap<>();
        int failed = 0;
        simulationFailures = 0;
        runsFailed = 0;
        Progress progress = Progress.weightedOnStandardError("torture-report", "run", expectedCosts(plan, d));
        for (int i = 0; i < plan.size(); i++) {
            TortureSetup s = plan.get(i);
            Path runDir = Files.createDirectories(dir.resolve("run" + i + "-" + s.backend() + "-" + s.fault().cli()
                    + (s.negativeControl() == null ? "" : "-" + s.negativeControl()) + "-" + s.seed()));
            TortureRun.Summary summary;
            try {
                summary = s.run(runDir, runDir.resolve("history.jsonl"), line -> { });
            } catch (IllegalArgumentException e) {
                // A setup that cannot run (a negative control without the test classes): every like run would fail too.
                progress.finish();
                err.println("torture-report: " + e.getMessage());
                return 2;
            } catch (SimulationFailure f) {
                // The simulator's own checks stopped the run; the rest of the report still runs.
                progress.completed(true);
                printAbove(progress, out, "torture backend=sim fault=" + s.fault().cli() + " seed=" + s.seed()
                        + ": SIMULATION FAILED: " + f.getMessage());
                failed++;
                simulationFailures++;
                continue;
            } catch (IOException e) {
                // One run that cannot go on (a group that elects no leader on a loaded machine, say) must not end
                // the report: the others' figures are still worth having. It counts as a failure.
                progress.completed(true);
                printAbove(progress, out, "torture backend=" + s.backend() + " fault=" + s.fault().cli()
                        + (s.negativeControl() == null ? "" : " negative-control=" + s.negativeControl()) + " seed="
                        + s.seed() + ": RUN FAILED: " + e.getMessage() + " (" + runDir + ")");
                failed++;
                runsFailed++;
                continue;
            }
            // A control run fails the report only if the checker missed a stale read in its history; a run in
            // which the bug did not show is counted in the table, not as a failure (see controlsTable).
            boolean runFailed = s.negativeControl() == null ? !s.passed(summary)
                    : summary.controlOutcome() == TortureRun.Summary.ControlOutcome.MISSED;
            progress.completed(runFailed);
            printAbove(progress, out, summary.line()
                    + (s.negativeControl() == null ? "" : " control-outcome=" + summary.controlOutcome()));
            if (runFailed) {
                failed++;
            }
            String key = s.backend() + "/" + s.fault().cli() + "/" + s.negativeControl();
            (s.negativeControl() == null ? rows : controlRows).computeIfAbsent(key, x -> new Row(s.backend(),
                    s.fault().cli(), new ArrayList<>(), s.negativeControl())).runs().add(summary);
            // Kept as it goes: a long report cut short still leaves its figures so far.
            Files.writeString(dir.resolve("table.md"), "After " + (i + 1) + " of " + plan.size() + " runs.\n\n"
                    + (rows.isEmpty() ? "" : table(rows.values(), d) + "\n")
                    + (controlRows.isEmpty() ? "" : controlsTable(controlRows, d)), StandardCharsets.UTF_8);
        }
        progress.finish();
        for (String control : noNegativeControl ? List.<String>of() : NegativeControls.ALL) {
            // A control that no kind run here could show (a --faults selection without one) proves nothing either way.
            boolean couldShow = (faults == null ? FaultKind.names() : faults).stream()
                    .anyMatch(f -> NegativeControls.whyCannotShow(control, FaultKind.parse(f)) == null);
            boolean caughtSomewhere = controlRows.values().stream().filter(r -> r.control().equals(control))
                    .flatMap(r -> r.runs().stream())
                    .anyMatch(r -> r.controlOutcome() == TortureRun.Summary.ControlOutcome.CAUGHT);
            if (couldShow && !caughtSomewhere) {
                err.println("torture-report: negative control " + control + " was caught in no run of any fault kind");
                failed++;
            }
        }
        String table = controlsOnly ? "" : table(rows.values(), d);
        String controls = noNegativeControl ? "" : controlsTable(controlRows, d);
        out.print(table);
        out.print(controls);
        if (doc != null) {
            if (!controlsOnly) {
                rewrite(doc, BEGIN, END, old -> merge(old, table, ranBackends(), 0,
                        Comparator.comparingInt((List<String> row) -> BACKENDS.indexOf(row.get(0)))));
            }
            if (!noNegativeControl) {
                rewrite(doc, CONTROLS_BEGIN, CONTROLS_END, old -> merge(old, controls, ranBackends(), 2,
                        Comparator.comparingInt((List<String> row) -> NegativeControls.ALL.indexOf(row.get(0)))
                                .thenComparingInt(row -> FaultKind.names().indexOf(row.get(1)))
                                .thenComparingInt(row -> BACKENDS.indexOf(row.get(2)))));
            }
            err.println("torture-report: rewrote the " + (controlsOnly ? "negative controls' table"
                    : noNegativeControl ? "figures" : "figures and the negative controls' table") + " in " + doc);
        }
        return failed == 0 ? 0 : 1;
    }

    /** {@code --txn}: the transactions table only ({@link TxnReport}). */
    private int txnReport(PrintWriter out, PrintWriter err) throws IOException, InterruptedException {
        TxnReport.Options o;
        try {
            if (runs < 1 || runs > 100) {
                throw new IllegalArgumentException("--runs " + runs + ": 1 to 100");
            }
            List<FaultKind> kinds = new ArrayList<>();
            if (faults == null) {
                kinds.addAll(TxnReport.allKinds());
            } else {
                faults.forEach(f -> kinds.add(FaultKind.parse(f)));
            }
            o = new TxnReport.Options(kinds, runs, TortureCommand.Durations.parse("--duration", duration), duration,
                    shared.clients, groups, TortureCommand.Durations.parse("--op-timeout", opTimeout),
                    shared.replicaClasspath(), commit);
            // every setup checked before any run starts
            for (FaultKind k : kinds) {
                new TortureSetup("txn", 3, o.clients(), k, o.duration(), Duration.ofSeconds(2), Duration.ofMillis(2500),
                        1000, 300, 1, null, o.classpath(), o.opTimeout(), o.groups());
            }
        } catch (IllegalArgumentException e) {
            err.println("torture-report: " + e.getMessage());
            return 2;
        }
        return TxnReport.run(o, shared.workDir("torture-report"), doc, out, err) == 0 ? 0 : 1;
    }

    /** One run's line on standard output, kept clear of the progress line on standard error. */
    /**
     * What each run is expected to cost, for the progress line's time left: a simulated run of 30 s takes about
     * a second here, a run on processes or etcd its duration plus about 15 s of starting, recovering and checking.
     */
    static long[] expectedCosts(List<TortureSetup> plan, Duration d) {
        long[] costs = new long[plan.size()];
        for (int i = 0; i < plan.size(); i++) {
            costs[i] = plan.get(i).backend().equals("sim") ? Math.max(1, d.toMillis() / 30)
                    : d.toMillis() + 15_000;
        }
        return costs;
    }

    private static void printAbove(Progress progress, PrintWriter out, String line) {
        progress.above(() -> {
            out.println(line);
            out.flush();
        });
    }

    /** Every run, checked before any starts. */
    private List<TortureSetup> plan(Duration d, String cp) {
        if (runs < 1 || runs > 100) {
            throw new IllegalArgumentException("--runs " + runs + ": 1 to 100");
        }
        List<FaultKind> kinds = new ArrayList<>();
        for (String f : faults == null ? FaultKind.names() : faults) {
            kinds.add(FaultKind.parse(f));
        }
        if (groups < 1 || groups > 64) {
            throw new IllegalArgumentException("--groups " + groups + ": 1 to 64");
        }
        if (simRuns < 0 || simRuns > 1000) {
            throw new IllegalArgumentException("--sim-runs " + simRuns + ": 0 to 1000");
        }
        List<TortureSetup> plan = new ArrayList<>();
        notRun.clear();
        for (String backend : List.of("sim", "processes")) {
            int n = backend.equals("sim") ? simRuns : runs;
            if (!controlsOnly) {
                for (FaultKind k : kinds) {
                    for (int seed = 1; seed <= n; seed++) {
                        plan.add(setup(backend, k, d, seed, null, cp));
                    }
                }
            }
            if (!noNegativeControl) {
                // Every kind in simulation, where runs are cheap, so that "cannot show" is also tried there; on
                // processes only the kinds where the control can show.
                for (String control : NegativeControls.ALL) {
                    for (FaultKind k : kinds) {
                        String why = NegativeControls.whyCannotShow(control, k);
                        if (backend.equals("processes") && why != null) {
                            notRun.add(new NotRun(backend, control, k.cli(), why));
                            continue;
                        }
                        for (int seed = 1; seed <= n; seed++) {
                            plan.add(withGroups(TortureSetup.negativeControl(backend, control, k, shared.clients, d,
                                    seed, cp)));
                        }
                    }
                }
            }
        }
        if (!noEtcd && !controlsOnly) {
            for (FaultKind k : kinds) {
                if (k == FaultKind.NONE || k == FaultKind.KILL_FOLLOWER || k == FaultKind.KILL_LEADER
                        || k == FaultKind.PAUSE_LEADER) {
                    for (int seed = 1; seed <= runs; seed++) {
                        plan.add(setup("etcd", k, d, seed, null, cp));
                    }
                }
            }
        }
        return plan;
    }

    private TortureSetup setup(String backend, FaultKind k, Duration d, int seed, String control, String cp) {
        return withGroups(new TortureSetup(backend, 3, shared.clients, k, d, Duration.ofSeconds(2),
                Duration.ofMillis(2500), 1000, 300, seed, control, cp));
    }

    /** {@code --groups} for a processes run; the others stay one group. */
    private TortureSetup withGroups(TortureSetup s) {
        return s.backend().equals("processes") ? s.withGroups(groups) : s;
    }

    private String table(Iterable<Row> rows, Duration d) {
        StringBuilder b = new StringBuilder();
        b.append("Measured ").append(ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'")))
                .append(commit.isEmpty() ? "" : " at commit " + commit)
                .append(" with `bin/torture-report --runs ").append(runs).append(" --duration ").append(duration)
                .append(" --clients ").append(shared.clients).append(faults == null ? "" : " --faults " + String.join(",", faults))
                .append(" --sim-runs ").append(simRuns).append(noEtcd ? " --no-etcd" : "")
                .append(groups == 1 ? "" : " --groups " + groups)
                .append("` on ").append(Runtime.getRuntime().availableProcessors()).append(" cores, ")
                .append(System.getProperty("os.name")).append(' ').append(System.getProperty("os.version"))
                .append(", Java ").append(System.getProperty("java.version"))
                .append("; 3 replicas (lease 1000 ms, election timeout 300 ms), ")
                .append(d.toSeconds()).append(" s per run. `processes`: replica JVMs on loopback, ")
                .append(groups == 1 ? "" : groups + " groups on each process started from a cluster file (keys spread over "
                        + "them, each transaction within one, a fault hitting every group of its process), ")
                .append("TrueTime system:1ms, ")
                .append("times are wall-clock. `sim`: the same workload, schedule and checker with the replicas in ")
                .append("deterministic simulation (simulated network, disks and clocks), times are simulated; ")
                .append("each seed replays exactly (`bin/spanner-lite torture --backend sim --duration ").append(duration)
                .append(" --clients ").append(shared.clients).append(" --fault KIND --seed N`).")
                .append(simulationFailures == 0 ? "" : " " + simulationFailures
                        + " simulated runs were stopped by the simulator's own checks and are not in the table.")
                .append("\n\n");
        b.append("| backend | fault | runs | faults injected | operations | ok / fail / info | anomalies | "
                + "acknowledged writes lost | serving again during the fault: windows, median / max | "
                + "recovery after heal, median / max | verdict |\n");
        b.append("|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (Row r : rows) {
            long ops = 0;
            long ok = 0;
            long fail = 0;
            long info = 0;
            long anomalies = 0;
            long lost = 0;
            boolean lostUnknown = false;
            int faultsInjected = 0;
            int unrecovered = 0;
            List<Duration> recoveries = new ArrayList<>();
            List<Duration> failovers = new ArrayList<>();
            for (TortureRun.Summary s : r.runs()) {
                ops += s.check().stats().txns();
                ok += s.check().stats().ok();
                fail += s.check().stats().fail();
                info += s.check().stats().info();
                anomalies += s.anomalies();
                lostUnknown |= s.lostAcknowledged() < 0;
                lost += Math.max(0, s.lostAcknowledged());
                faultsInjected += s.faultsInjected();
                recoveries.addAll(s.recoveries());
                failovers.addAll(s.failovers());
                unrecovered += s.unrecovered();
            }
            String verdict = anomalies == 0 && lost == 0 && !lostUnknown && unrecovered == 0 ? "clean" : "NOT CLEAN";
            b.append("| ").append(r.backend()).append(" | ").append(r.fault()).append(" | ").append(r.runs().size())
                    .append(" | ").append(faultsInjected).append(" | ").append(ops).append(" | ").append(ok)
                    .append(" / ").append(fail).append(" / ").append(info).append(" | ").append(anomalies)
                    .append(" | ").append(lost).append(lostUnknown ? " (some keys unreadable)" : "").append(" | ")
                    .append(failovers.size()).append(" of ").append(faultsInjected).append(", ")
                    .append(medianAndMax(failovers)).append(" | ").append(medianAndMax(recoveries))
                    .append(unrecovered > 0 ? " (" + unrecovered + " not recovered)" : "").append(" | ")
                    .append(verdict).append(" |\n");
        }
        return b.toString();
    }

    private static String medianAndMax(List<Duration> ds) {
        return TortureRun.median(ds) + " / " + ds.stream().max(Duration::compareTo).map(TortureRun::seconds).orElse("-");
    }

    static void rewrite(Path doc, String table) throws IOException {
        rewrite(doc, BEGIN, END, table);
    }

    static void rewrite(Path doc, String beginMarker, String endMarker, String table) throws IOException {
        rewrite(doc, beginMarker, endMarker, old -> table);
    }

    /** Replaces the text between the markers with what {@code section} makes of the text there now. */
    static void rewrite(Path doc, String beginMarker, String endMarker, UnaryOperator<String> section)
            throws IOException {
        String text = Files.readString(doc, StandardCharsets.UTF_8);
        int begin = text.indexOf(beginMarker);
        int end = text.indexOf(endMarker);
        if (begin < 0 || end < begin) {
            throw new IllegalArgumentException(doc + " has no " + beginMarker + " ... " + endMarker + " markers");
        }
        String old = text.substring(begin + beginMarker.length(), end).strip();
        Files.writeString(doc, text.substring(0, begin + beginMarker.length()) + "\n" + section.apply(old)
                + text.substring(end), StandardCharsets.UTF_8);
    }

    /** The backends in the order of the tables' rows. */
    static final List<String> BACKENDS = List.of("sim", "processes", "etcd");

    /** The backends this report runs (and whose rows in --doc it replaces). */
    private Set<String> ranBackends() {
        Set<String> ran = new TreeSet<>(Set.of("processes"));
        if (simRuns > 0) {
            ran.add("sim");
        }
        if (!noEtcd && !controlsOnly) {
            ran.add("etcd");
        }
        return ran;
    }

    /**
     * A table section ({@code fresh}: a paragraph saying how it was measured, a blank line, a markdown table) with
     * the rows of {@code old} (the section there now) whose backend ({@code backendColumn}) this report did not run,
     * so a report of one backend (e.g. {@code --sim-runs 0 --no-etcd}) leaves the others' figures in place; the
     * paragraphs that measured the kept rows follow the fresh one. Rows are put in {@code order}.
     */
    static String merge(String old, String fresh, Set<String> ran, int backendColumn, Comparator<List<String>> order) {
        Section before = Section.parse(old);
        Section now = Section.parse(fresh);
        List<List<String>> kept = before.rows().stream().filter(r -> r.size() > backendColumn
                && !ran.contains(r.get(backendColumn))).toList();
        if (kept.isEmpty() || now.header().isEmpty()) {
            return fresh;
        }
        List<List<String>> rows = new ArrayList<>(now.rows());
        rows.addAll(kept);
        rows.sort(order);
        Set<String> keptBackends = new TreeSet<>();
        kept.forEach(r -> keptBackends.add(r.get(backendColumn)));
        StringBuilder b = new StringBuilder(now.paragraph()).append("\n\nThe rows of ")
                .append(String.join(", ", keptBackends)).append(" are kept from an earlier report: ")
                .append(before.paragraph()).append("\n\n").append(now.header()).append('\n');
        for (List<String> r : rows) {
            b.append("| ").append(String.join(" | ", r)).append(" |\n");
        }
        return b.toString();
    }

    /**
     * A table section as {@link #table} and {@link #controlsTable} write it: the text before the table, the
     * table's header and separator lines, and each row's cells.
     */
    private record Section(String paragraph, String header, List<List<String>> rows) {
        static Section parse(String text) {
            StringBuilder paragraph = new StringBuilder();
            List<String> header = new ArrayList<>();
            List<List<String>> rows = new ArrayList<>();
            for (String line : text.split("\n")) {
                if (!line.startsWith("|")) {
                    if (header.isEmpty() && !line.isBlank()) {
                        paragraph.append(paragraph.length() == 0 ? "" : "\n").append(line);
                    } else if (header.isEmpty()) {
                        paragraph.append(paragraph.length() == 0 ? "" : "\n");
                    }
                } else if (header.size() < 2) {
                    header.add(line);
                } else {
                    List<String> cells = new ArrayList<>();
                    for (String c : line.substring(1, line.endsWith("|") ? line.length() - 1 : line.length())
                            .split("\\|", -1)) {
                        cells.add(c.strip());
                    }
                    rows.add(cells);
                }
            }
            return new Section(paragraph.toString().strip(), String.join("\n", header), rows);
        }
    }

    /**
     * The negative controls' table: per control, fault kind and backend, in how many runs the checker caught the
     * bug, in how many a stale read was in the history but the checker reported nothing (a miss), and in how many
     * the bug did not show (no stale read in the history); or why the kind was not run on that backend.
     */
    private String controlsTable(Map<String, Row> controlRows, Duration d) {
        StringBuilder b = new StringBuilder();
        b.append("Measured ").append(ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'")))
                .append(commit.isEmpty() ? "" : " at commit " + commit)
                .append(" with `bin/torture-report").append(controlsOnly ? " --controls-only" : "")
                .append(" --runs ").append(runs).append(" --sim-runs ").append(simRuns).append(" --duration ").append(duration)
                .append(" --clients ").append(shared.clients).append(faults == null ? "" : " --faults " + String.join(",", faults))
                .append(groups == 1 ? "" : " --groups " + groups)
                .append("` on ").append(Runtime.getRuntime().availableProcessors()).append(" cores, Java ")
                .append(System.getProperty("java.version")).append("; 3 replicas")
                .append(groups == 1 ? "" : " (" + groups + " groups on each process in the processes runs)")
                .append(" at the default lease (1000 ms) and ")
                .append("election timeout (300 ms), the default schedule (quiet 2 s, hold 2.5 s), clients' timeout ")
                .append(TortureSetup.CONTROL_OP_TIMEOUT.toMillis()).append(" ms, ").append(d.toSeconds())
                .append(" s per run. A simulated run replays with `bin/spanner-lite torture --backend sim --duration ")
                .append(duration).append(" --clients ").append(shared.clients).append(" --op-timeout ")
                .append(TortureSetup.CONTROL_OP_TIMEOUT.toMillis()).append("ms --fault KIND --seed N --negative-control CONTROL`")
                .append(" (skip-lease-wait with `GNOMON_EXTRA_CLASSPATH=txn-coordinator/target/test-classes`).")
                .append(runsFailed == 0 ? "" : " " + runsFailed + " runs failed before their end (the report's output "
                        + "says why) and are not in the tables.")
                .append("\n\n");
        b.append("| control | fault | backend | runs | faults injected | runs with a stale read in the history | "
                + "anomalies | caught | missed (stale read, no anomaly) | did not show | why it cannot show |\n");
        b.append("|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (String control : NegativeControls.ALL) {
            for (String fault : faults == null ? FaultKind.names() : faults) {
                String why = NegativeControls.whyCannotShow(control, FaultKind.parse(fault));
                for (String backend : List.of("sim", "processes")) {
                    Row r = controlRows.get(backend + "/" + fault + "/" + control);
                    boolean skipped = notRun.stream().anyMatch(n -> n.backend().equals(backend)
                            && n.control().equals(control) && n.fault().equals(fault));
                    if (r == null && !skipped) {
                        continue;
                    }
                    b.append("| ").append(control).append(" | ").append(fault).append(" | ").append(backend).append(" | ");
                    if (r == null) {
                        b.append("not run | | | | | | | ").append(why).append(" |\n");
                        continue;
                    }
                    int injected = 0;
                    int withStale = 0;
                    long anomalies = 0;
                    int[] outcomes = new int[TortureRun.Summary.ControlOutcome.values().length];
                    for (TortureRun.Summary s : r.runs()) {
                        injected += s.faultsInjected();
                        withStale += s.staleReads() > 0 ? 1 : 0;
                        anomalies += s.anomalies();
                        outcomes[s.controlOutcome().ordinal()]++;
                    }
                    int n = r.runs().size();
                    b.append(n).append(" | ").append(injected).append(" | ").append(withStale).append(" | ")
                            .append(anomalies).append(" | ")
                            .append(outcomes[TortureRun.Summary.ControlOutcome.CAUGHT.ordinal()]).append(" of ").append(n)
                            .append(" | ").append(outcomes[TortureRun.Summary.ControlOutcome.MISSED.ordinal()])
                            .append(" | ").append(outcomes[TortureRun.Summary.ControlOutcome.NOT_SHOWN.ordinal()])
                            .append(" | ").append(why == null ? "" : why).append(" |\n");
                }
            }
        }
        return b.toString();
    }
}
