package io.gnomon.spanner.torture;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A short sample of the transactional torture run ({@code --backend txn}): three replica processes of the
 * transaction machine with four groups, list-append transactions across groups and the bank workload, one SIGKILL of
 * the coordinator group's leader during a two-phase commit. The checker must find the history strictly serializable
 * with its timestamp rules applied (commit and read timestamps recorded), the bank must balance in every snapshot,
 * and after the heal every transaction must resolve: the cluster serves again, every acknowledged append reads back,
 * and one read-write transaction over every key of both workloads commits (no lock left held, no transaction in
 * doubt). A leader change once lost the locks its locking reads took (docs/reliability.md, "Transactions"); the
 * leadership rule (read replies carry the leader's ballot, a commit under another leadership is refused) fixed it,
 * and this test is where a return of it would show. The negative controls that this valid verdict is the other half
 * of are in {@link TxnNegativeControlsTest}.
 */
class TxnTortureTest {
    @TempDir
    Path tmp;

    @Test
    void listAppendAndBankSurviveAKilledCoordinator() throws Exception {
        TortureSetup setup = new TortureSetup("txn", 3, 4, FaultKind.KILL_COORDINATOR, Duration.ofSeconds(6),
                Duration.ofSeconds(1), Duration.ofMillis(1500), 1000, 300, 7, null,
                System.getProperty("java.class.path"), Duration.ofSeconds(5), 4);
        List<String> log = new ArrayList<>();
        TortureRun.Summary s = setup.run(tmp, tmp.resolve("history.jsonl"), log::add);
        String context = s.line() + "\n" + String.join("\n", log) + "\nreplay: " + setup.replayCommand()
                + keptHistory(s, setup.passed(s));
        assertThat(s.faultsInjected()).as(context).isEqualTo(1);
        assertThat(s.txn().coordinatorKills()).as(context).isEqualTo(1);
        assertThat(s.unrecovered()).as(context).isZero();
        assertThat(s.check().valid()).as("the checker's verdict: " + s.check().counts() + "\n" + context).isTrue();
        assertThat(s.check().stats().ok()).as(context).isPositive();
        assertThat(s.check().stats().timestamped()).as("the timestamp rules applied: " + context).isPositive();
        assertThat(s.staleReads()).as("the harness's own stale-read witness: " + context).isZero();
        assertThat(s.lostAcknowledged()).as("every acknowledged append read back after the heal: " + context).isZero();
        assertThat(s.txn().bank().transfersOk()).as(context).isPositive();
        assertThat(s.txn().bank().snapshotsOk()).as(context).isPositive();
        assertThat(s.txn().bank().violationCount()).as("bank snapshots that do not balance: " + context).isZero();
        assertThat(s.txn().bankFinal()).as("the final sum: " + context).isNull();
        assertThat(s.txn().everyKey()).as("the transaction over every key: " + context).isNull();
        assertThat(setup.passed(s)).as(context).isTrue();
    }

    /** A failed run's history outlives the temporary directory: copied under target/ and named in the message. */
    static String keptHistory(TortureRun.Summary s, boolean passed) throws IOException {
        if (passed) {
            return "";
        }
        Path kept = Path.of("target", "torture-histories", s.fault().cli() + "-" + System.currentTimeMillis() + ".jsonl");
        Files.createDirectories(kept.getParent());
        Files.copy(s.history(), kept);
        return "\nhistory kept in " + kept.toAbsolutePath() + " (check it with bin/spanner-lite check " + kept.toAbsolutePath()
                + ")";
    }

    @Test
    void theTransactionalBackendAndFaultAreCheckedUpFront() {
        assertThatThrownBy(() -> new TortureSetup("txn", 3, 4, FaultKind.NONE, Duration.ofSeconds(5),
                Duration.ofSeconds(1), Duration.ofSeconds(1), 1000, 300, 1, null, "", TortureSetup.DEFAULT_OP_TIMEOUT, 1))
                .hasMessageContaining("--groups 1 must be at least 2");
        assertThatThrownBy(() -> new TortureSetup("processes", 3, 4, FaultKind.KILL_COORDINATOR, Duration.ofSeconds(5),
                Duration.ofSeconds(1), Duration.ofSeconds(1), 1000, 300, 1, null, "", TortureSetup.DEFAULT_OP_TIMEOUT, 4))
                .hasMessageContaining("use --backend txn");
        assertThatThrownBy(() -> new TortureSetup("txn", 3, 4, FaultKind.NONE, Duration.ofSeconds(5),
                Duration.ofSeconds(1), Duration.ofSeconds(1), 1000, 300, 1, "stale-lease-reads", "",
                TortureSetup.DEFAULT_OP_TIMEOUT, 4))
                .hasMessage("--negative-control stale-lease-reads with --backend txn: use skip-commit-wait or "
                        + "skip-safe-time (the lease controls run with --backend processes or sim)");
        assertThatThrownBy(() -> new TortureSetup("processes", 3, 4, FaultKind.NONE, Duration.ofSeconds(5),
                Duration.ofSeconds(1), Duration.ofSeconds(1), 1000, 300, 1, "skip-commit-wait", "",
                TortureSetup.DEFAULT_OP_TIMEOUT, 4))
                .hasMessage("--negative-control skip-commit-wait: use skip-lease-wait or stale-lease-reads "
                        + "(skip-commit-wait is a transaction host's bug: use --backend txn)");
    }
}
