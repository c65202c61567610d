package io.gnomon.spanner.torture;

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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The transactions table of docs/reliability.md ({@code bin/torture-report --txn}): {@code --backend txn} runs for
 * every fault kind and {@link FaultKind#KILL_COORDINATOR}, a row per kind, rewritten between {@link #BEGIN} and
 * {@link #END}. The other tables are left alone.
 */
final class TxnReport {
    static final String BEGIN = "<!-- torture-txn:begin -->";
    static final String END = "<!-- torture-txn:end -->";

    /**
     * What the report runs.
     *
     * @param kinds fault kinds (every kind and kill-coordinator when the caller names none)
     */
    record Options(List<FaultKind> kinds, int runs, Duration duration, String durationText, int clients, int groups,
                   Duration opTimeout, String classpath, String commit) {
    }

    private TxnReport() {
    }

    /** The kinds of a report that names none: every kind the other tables have, and kill-coordinator. */
    static List<FaultKind> allKinds() {
        List<FaultKind> kinds = new ArrayList<>();
        FaultKind.names().forEach(n -> kinds.add(FaultKind.parse(n)));
        kinds.add(FaultKind.KILL_COORDINATOR);
        return kinds;
    }

    /** Runs every setup, prints each line, keeps the table in {@code dir/txn-table.md}; returns the failed runs. */
    static int run(Options o, Path dir, Path doc, PrintWriter out, PrintWriter err) throws IOException, InterruptedException {
        Map<FaultKind, List<TortureRun.Summary>> rows = new LinkedHashMap<>();
        int failed = 0;
        for (FaultKind k : o.kinds()) {
            for (int seed = 1; seed <= o.runs(); seed++) {
                TortureSetup s = new TortureSetup("txn", 3, o.clients(), k, o.duration(), Duration.ofSeconds(2),
                        Duration.ofMillis(2500), 1000, 300, seed, null, o.classpath(), o.opTimeout(), o.groups());
                Path runDir = Files.createDirectories(dir.resolve("txn-" + k.cli() + "-" + seed));
                TortureRun.Summary summary;
                try {
                    summary = s.run(runDir, runDir.resolve("history.jsonl"), line -> { });
                } catch (IOException | RuntimeException e) {
                    out.println("torture backend=txn fault=" + k.cli() + " seed=" + seed + ": RUN FAILED: " + e
                            + " (" + runDir + ")");
                    out.flush();
                    failed++;
                    continue;
                }
                out.println(summary.line());
                out.flush();
                if (!s.passed(summary)) {
                    failed++;
                    summary.txn().problems().forEach(p -> err.println("torture-report: " + k.cli() + " seed "
                            + summary.seed() + ": " + p));
                }
                rows.computeIfAbsent(k, x -> new ArrayList<>()).add(summary);
                Files.writeString(dir.resolve("txn-table.md"), table(rows, o), StandardCharsets.UTF_8);
            }
        }
        String table = table(rows, o);
        out.print(table);
        if (doc != null) {
            TortureReportCommand.rewrite(doc, BEGIN, END, table);
            err.println("torture-report: rewrote the transactions table in " + doc);
        }
        return failed;
    }

    static String table(Map<FaultKind, List<TortureRun.Summary>> rows, Options o) {
        StringBuilder b = new StringBuilder();
        b.append("Measured ").append(ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'")))
                .append(o.commit().isEmpty() ? "" : " at commit " + o.commit())
                .append(" with `bin/torture-report --txn --runs ").append(o.runs()).append(" --duration ")
                .append(o.durationText()).append(" --clients ").append(o.clients()).append(" --groups ").append(o.groups())
                .append("` on ").append(Runtime.getRuntime().availableProcessors()).append(" cores, ")
                .append(System.getProperty("os.name")).append(' ').append(System.getProperty("os.version"))
                .append(", Java ").append(System.getProperty("java.version"))
                .append(" (the machine shared with other work: timeouts and throughput reflect its load); ")
                .append("3 replica JVMs of the transaction machine (`bin/replica --machine txn`, lease 1000 ms, election ")
                .append("timeout 300 ms, TrueTime system:1ms), ").append(o.groups())
                .append(" groups on each, clients' timeout ").append(o.opTimeout().toMillis()).append(" ms, ")
                .append(o.duration().toSeconds()).append(" s per run, quiet 2 s and hold 2.5 s per fault. List-append: ")
                .append("transactions across groups through `TxnClient`, reads-only ones half the time as snapshot reads ")
                .append("at a random bound and replica, checked with commit and read timestamps. Bank: 2 accounts per ")
                .append("group, transfers and snapshots of every account at random bounds and replicas; a violation is a ")
                .append("snapshot that does not sum to the total (or shows a negative balance). After each run, a ")
                .append("strong read of the accounts and one read-write transaction over every key of both workloads.\n\n");
        b.append("| fault | runs | faults injected | list-append ok / fail / info | anomalies | acknowledged writes lost | "
                + "transfers ok / fail / info | snapshots ok (at a chosen replica) / failed | bank violations | "
                + "final sum and transaction over every key | coordinator kills mid-commit | recovery after heal, "
                + "median / max | verdict |\n");
        b.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (Map.Entry<FaultKind, List<TortureRun.Summary>> e : rows.entrySet()) {
            long ok = 0;
            long fail = 0;
            long info = 0;
            long anomalies = 0;
            long lost = 0;
            boolean lostUnknown = false;
            int injected = 0;
            int unrecovered = 0;
            long[] bank = new long[7];
            int finalsBad = 0;
            int kills = 0;
            int killsMid = 0;
            boolean passed = true;
            List<Duration> recoveries = new ArrayList<>();
            for (TortureRun.Summary s : e.getValue()) {
                ok += s.check().stats().ok();
                fail += s.check().stats().fail();
                info += s.check().stats().info();
                anomalies += s.anomalies();
                lostUnknown |= s.lostAcknowledged() < 0;
                lost += Math.max(0, s.lostAcknowledged());
                injected += s.faultsInjected();
                unrecovered += s.unrecovered();
                recoveries.addAll(s.recoveries());
                BankWorkload.Result r = s.txn().bank();
                long[] add = {r.transfersOk(), r.transfersFail(), r.transfersInfo(), r.snapshotsOk(),
                        r.snapshotsAtReplica(), r.snapshotsFailed(), r.violationCount()};
                for (int i = 0; i < add.length; i++) {
                    bank[i] += add[i];
                }
                finalsBad += (s.txn().bankFinal() == null ? 0 : 1) + (s.txn().everyKey() == null ? 0 : 1);
                kills += s.txn().coordinatorKills();
                killsMid += s.txn().coordinatorKillsMidCommit();
                passed &= s.check().valid() && s.lostAcknowledged() == 0 && s.unrecovered() == 0 && s.txn().passed();
            }
            b.append("| ").append(e.getKey().cli()).append(" | ").append(e.getValue().size()).append(" | ")
                    .append(injected).append(" | ").append(ok).append(" / ").append(fail).append(" / ").append(info)
                    .append(" | ").append(anomalies).append(" | ").append(lost)
                    .append(lostUnknown ? " (some keys unreadable)" : "").append(" | ")
                    .append(bank[0]).append(" / ").append(bank[1]).append(" / ").append(bank[2]).append(" | ")
                    .append(bank[3]).append(" (").append(bank[4]).append(") / ").append(bank[5]).append(" | ")
                    .append(bank[6]).append(" | ").append(finalsBad == 0 ? "all passed" : finalsBad + " FAILED")
                    .append(" | ").append(kills == 0 ? "-" : killsMid + " of " + kills).append(" | ")
                    .append(TortureRun.median(recoveries)).append(" / ")
                    .append(recoveries.stream().max(Duration::compareTo).map(TortureRun::seconds).orElse("-"))
                    .append(unrecovered > 0 ? " (" + unrecovered + " not recovered)" : "").append(" | ")
                    .append(passed ? "clean" : "NOT CLEAN").append(" |\n");
        }
        return b.toString();
    }
}
