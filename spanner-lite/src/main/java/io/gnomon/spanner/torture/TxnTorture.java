package io.gnomon.spanner.torture;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * One transactional torture run ({@code --backend txn}, docs/reliability.md, "Transactions"): the list-append
 * workload as cross-group transactions and the bank workload side by side against one {@link TxnCluster}, under the
 * usual fault schedule ({@link TortureRun}); then, with the clients stopped and the cluster healed, a strong read of
 * every account sums to the total and one read-write transaction over every key of both workloads commits (no lock
 * is left held, no transaction in doubt).
 */
final class TxnTorture {
    /** How long the final transaction over every key may take: past the servers' prepare and idle timeouts (10 s). */
    static final Duration FINAL_TIMEOUT = Duration.ofSeconds(30);

    /**
     * The transactional checks of a run.
     *
     * @param bankFinal              null when the final strong read of the accounts summed to the total, else why not
     * @param everyKey               null when the final read-write transaction over every key committed, else why not
     * @param coordinatorKills       kill-coordinator faults injected
     * @param coordinatorKillsMidCommit those of them made while a commit the group coordinated was in flight
     */
    record Checks(BankWorkload.Result bank, String bankFinal, String everyKey, int coordinatorKills,
                  int coordinatorKillsMidCommit) {
        boolean passed() {
            return bank.passed() && bankFinal == null && everyKey == null;
        }

        String line() {
            return bank.line() + ", final-sum=" + (bankFinal == null ? "ok" : "WRONG") + " final-txn-over-every-key="
                    + (everyKey == null ? "committed" : "FAILED")
                    + (coordinatorKills == 0 ? "" : " coordinator-kills-mid-commit=" + coordinatorKillsMidCommit + "/"
                    + coordinatorKills);
        }

        /** What went wrong, one line each (empty when it passed). */
        List<String> problems() {
            List<String> out = new ArrayList<>(bank.violations());
            if (bank.violationCount() > bank.violations().size()) {
                out.add("... " + (bank.violationCount() - bank.violations().size()) + " more violations");
            }
            if (bank.transfersOk() == 0) {
                out.add("no transfer committed");
            }
            if (bank.snapshotsOk() == 0) {
                out.add("no snapshot of the accounts was read");
            }
            if (bankFinal != null) {
                out.add(bankFinal);
            }
            if (everyKey != null) {
                out.add("the final read-write transaction over every key did not commit: " + everyKey);
            }
            return out;
        }
    }

    private TxnTorture() {
    }

    /**
     * Runs both workloads on {@code cluster} (which the caller closes) under {@code schedule}; {@code
     * negativeControl} (or null) is the one the cluster's replicas were started with, for the summary.
     */
    static TortureRun.Summary run(TxnCluster cluster, int replicas, Workload.Config listAppend,
                                  BankWorkload.Config bankConfig, TortureRun.Schedule schedule, String negativeControl,
                                  Path history, Consumer<String> log) throws IOException, InterruptedException {
        BankWorkload bank = new BankWorkload(bankConfig, cluster);
        bank.start();
        TortureRun.Summary s;
        try {
            s = TortureRun.run(cluster, replicas, listAppend, schedule, negativeControl, history, log);
        } finally {
            bank.stop();
        }
        String bankFinal = bank.finalCheck(FINAL_TIMEOUT);
        List<byte[]> every = new ArrayList<>(bank.keys());
        for (int k = 0; k < listAppend.keys(); k++) {
            every.add(cluster.storedKey(TxnGenerator.key(k)));
        }
        String everyKey = cluster.transactionOverEveryKey(every, FINAL_TIMEOUT);
        int[] kills = cluster.coordinatorKills();
        Checks checks = new Checks(bank.result(), bankFinal, everyKey, kills[0], kills[1]);
        checks.problems().forEach(p -> log.accept("transactions: " + p));
        return s.withTxn(checks);
    }
}
