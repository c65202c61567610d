package io.gnomon.spanner.torture;

import io.gnomon.spanner.check.AnomalyType;
import io.gnomon.spanner.check.CheckResult;
import io.gnomon.spanner.check.Checker;
import io.gnomon.spanner.check.HistorySource;
import io.gnomon.spanner.check.Report;
import io.gnomon.spanner.history.HistoryFormatException;
import io.gnomon.spanner.history.HistoryWriter;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * One torture run: the workload against a cluster for a set time, a fault injected on a schedule (quiet, fault
 * held, heal, wait for recovery, repeat), then final reads of every key and the checker on the kept history.
 */
final class TortureRun {
    /** How long recovery may take before the run says so (and stops injecting). */
    static final Duration RECOVERY_TIMEOUT = Duration.ofSeconds(30);

    /**
     * @param fault    the fault kind injected every window
     * @param duration the whole workload time, faults included
     * @param quiet    fault-free time before each fault
     * @param hold     how long each fault stays before healing
     */
    record Schedule(FaultKind fault, Duration duration, Duration quiet, Duration hold) {
    }

    /**
     * What one run measured; {@link #line()} is the summary line.
     *
     * @param lostAcknowledged acknowledged appends missing from the final reads; -1 if a key could not be read
     * @param failovers        for each fault window in which the cluster served again before the heal (a new
     *                         leader elected, say), the time from the injection until it did
     * @param recoveries       time from each heal until the cluster served again
     * @param unrecovered      heals after which it did not serve within {@link #RECOVERY_TIMEOUT}
     * @param staleReads       {@code ok} transactions that missed a value known committed before they began
     *                         ({@link StaleReads}): the harness's own witness that a lease bug showed
     * @param txn              the transactional backend's own checks (bank, every key committable), or null
     */
    record Summary(String backend, int replicas, int clients, FaultKind fault, String negativeControl, long seed,
                   int faultsInjected, CheckResult check, long lostAcknowledged, List<Duration> failovers,
                   List<Duration> recoveries, int unrecovered, Path history, long staleReads, TxnTorture.Checks txn) {

        /** A run without the transactional backend's checks. */
        Summary(String backend, int replicas, int clients, FaultKind fault, String negativeControl, long seed,
                int faultsInjected, CheckResult check, long lostAcknowledged, List<Duration> failovers,
                List<Duration> recoveries, int unrecovered, Path history, long staleReads) {
            this(backend, replicas, clients, fault, negativeControl, seed, faultsInjected, check, lostAcknowledged,
                    failovers, recoveries, unrecovered, history, staleReads, null);
        }

        /** This summary with the transactional backend's checks. */
        Summary withTxn(TxnTorture.Checks checks) {
            return new Summary(backend, replicas, clients, fault, negativeControl, seed, faultsInjected, check,
                    lostAcknowledged, failovers, recoveries, unrecovered, history, staleReads, checks);
        }

        /** What a negative control's run came to (docs/reliability.md, "The negative controls"). */
        enum ControlOutcome {
            /** The checker reported a real-time or timestamp anomaly ({@link #controlCaught}): the harness saw the bug. */
            CAUGHT,
            /** A stale read is in the history, but the checker reported no real-time anomaly: a miss. */
            MISSED,
            /** No stale read in the history and nothing reported: the bug did not show in this run. */
            NOT_SHOWN
        }

        ControlOutcome controlOutcome() {
            return controlCaught() ? ControlOutcome.CAUGHT
                    : staleReads > 0 ? ControlOutcome.MISSED : ControlOutcome.NOT_SHOWN;
        }

        int anomalies() {
            return check.counts().values().stream().mapToInt(Integer::intValue).sum();
        }

        /** Whether a real-time class was found; a cycle left unclassified is not one (a negative control fails). */
        boolean realtimeAnomalies() {
            return check.counts().keySet().stream().anyMatch(AnomalyType::realtimeOnly);
        }

        /**
         * Whether a negative control was caught: a real-time class, or a broken timestamp rule (external consistency,
         * a read at t that misses or sees too much), which only histories with timestamps (--backend txn, sim-txn)
         * can show. A cycle left unclassified is neither.
         */
        boolean controlCaught() {
            return realtimeAnomalies() || check.counts().keySet().stream().anyMatch(AnomalyType::timestampRule);
        }

        Optional<Duration> maxRecovery() {
            return recoveries.stream().max(Duration::compareTo);
        }

        String line() {
            Map<String, Integer> classes = new TreeMap<>();
            check.counts().forEach((t, n) -> classes.put(t.label(), n));
            return String.format("torture backend=%s replicas=%d clients=%d fault=%s%s seed=%d: faults=%d ops=%d "
                            + "ok=%d fail=%d info=%d anomalies=%d%s verdict=%s lost-acknowledged=%s recovery-max=%s "
                            + "recovery-median=%s%s serving-during-fault=%d/%d failover-max=%s stale-reads=%d history=%s",
                    backend, replicas, clients, fault.cli(),
                    negativeControl == null ? "" : " negative-control=" + negativeControl, seed, faultsInjected,
                    check.stats().txns(), check.stats().ok(), check.stats().fail(), check.stats().info(), anomalies(),
                    classes.isEmpty() ? "" : " " + classes, Report.verdict(check),
                    lostAcknowledged < 0 ? "unknown" : Long.toString(lostAcknowledged),
                    maxRecovery().map(TortureRun::seconds).orElse("-"), median(recoveries),
                    unrecovered > 0 ? " UNRECOVERED=" + unrecovered : "", failovers.size(), faultsInjected,
                    failovers.stream().max(Duration::compareTo).map(TortureRun::seconds).orElse("-"), staleReads, history)
                    + (txn == null ? "" : " " + txn.line());
        }
    }

    private TortureRun() {
    }

    /** Runs the schedule on {@code cluster} (which the caller closes), writing the history to {@code history}. */
    static Summary run(Cluster cluster, int replicas, Workload.Config workloadConfig, Schedule schedule,
                       String negativeControl, Path history, Consumer<String> log)
            throws IOException, InterruptedException {
        if (!cluster.supportedFaults().contains(schedule.fault())) {
            throw new IllegalArgumentException("fault " + schedule.fault().cli() + " is not supported by backend "
                    + cluster.name() + "; it supports " + cluster.supportedFaults());
        }
        SplittableRandom random = new SplittableRandom(workloadConfig.seed());
        List<Duration> failovers = new ArrayList<>();
        List<Duration> recoveries = new ArrayList<>();
        int injected = 0;
        int unrecovered = 0;
        Workload workload;
        try (HistoryWriter writer = HistoryWriter.open(history, System::nanoTime)) {
            workload = new Workload(workloadConfig, cluster, writer);
            long start = System.nanoTime();
            long end = start + schedule.duration().toNanos();
            workload.start();
            try {
                while (schedule.fault() != FaultKind.NONE && unrecovered == 0
                        && System.nanoTime() + schedule.quiet().plus(schedule.hold()).toNanos() - end < 0) {
                    Thread.sleep(schedule.quiet().toMillis());
                    Cluster.Injected fault = cluster.inject(schedule.fault(), random);
                    injected++;
                    long injectedAt = System.nanoTime();
                    log.accept("fault " + injected + ": " + fault.description());
                    // Probing during the fault measures failover: how soon the group serves without the victim.
                    Optional<Duration> failover = cluster.awaitRecovery(schedule.hold());
                    failover.ifPresent(failovers::add);
                    log.accept(failover.map(f -> "serving again during the fault after " + seconds(f))
                            .orElse("not serving during the fault"));
                    long leftMillis = schedule.hold().toMillis() - (System.nanoTime() - injectedAt) / 1_000_000;
                    if (leftMillis > 0) {
                        Thread.sleep(leftMillis);
                    }
                    fault.heal().heal();
                    Optional<Duration> recovery = cluster.awaitRecovery(RECOVERY_TIMEOUT);
                    if (recovery.isPresent()) {
                        recoveries.add(recovery.get());
                        log.accept("healed; serving again after " + seconds(recovery.get()));
                    } else {
                        unrecovered++;
                        log.accept("healed; NOT serving within " + RECOVERY_TIMEOUT);
                    }
                }
                long left = end - System.nanoTime();
                if (left > 0) {
                    Thread.sleep(left / 1_000_000);
                }
            } catch (Exception e) {
                workload.stop();
                throw e instanceof IOException io ? io : new IOException("fault schedule failed: " + e, e);
            }
            workload.stop();
        }
        long lost = lostAcknowledged(cluster, workload, log);
        return new Summary(cluster.name(), replicas, workloadConfig.clients(), schedule.fault(), negativeControl,
                workloadConfig.seed(), injected, check(history), lost, failovers, recoveries, unrecovered, history,
                StaleReads.count(history));
    }

    /** The checker on a history the harness wrote. */
    static CheckResult check(Path history) throws IOException {
        try {
            return new Checker(Checker.Limits.DEFAULT, System::nanoTime).check(HistorySource.of(history));
        } catch (HistoryFormatException e) {
            throw new IllegalStateException("the harness wrote an unreadable history " + history + ": " + e.getMessage(), e);
        }
    }

    /** Acknowledged appends missing from a final linearizable read of their key; -1 if a key cannot be read. */
    private static long lostAcknowledged(Cluster cluster, Workload workload, Consumer<String> log)
            throws InterruptedException {
        Optional<Duration> ready = cluster.awaitRecovery(RECOVERY_TIMEOUT);
        if (ready.isEmpty()) {
            log.accept("final reads: the cluster did not serve within " + RECOVERY_TIMEOUT);
            return -1;
        }
        long lost = 0;
        for (Map.Entry<String, Set<Long>> e : workload.acknowledged().entrySet()) {
            Optional<List<Long>> list = cluster.finalRead(e.getKey(), Duration.ofSeconds(10));
            if (list.isEmpty()) {
                log.accept("final reads: key " + e.getKey() + " not read within 10 s");
                return -1;
            }
            Set<Long> present = Set.copyOf(list.get());
            lost += e.getValue().stream().filter(v -> !present.contains(v)).count();
        }
        return lost;
    }

    static String seconds(Duration d) {
        return String.format("%.2fs", d.toNanos() / 1e9);
    }

    static String median(List<Duration> ds) {
        if (ds.isEmpty()) {
            return "-";
        }
        List<Duration> sorted = new ArrayList<>(ds);
        sorted.sort(Duration::compareTo);
        return seconds(sorted.get(sorted.size() / 2));
    }
}
