package io.gnomon.spanner.torture;

import io.gnomon.spanner.check.AnomalyType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The transactional negative controls on real processes (issue 20, "Proof"; docs/reliability.md, "The negative
 * controls"): replicas of the transaction machine started with {@code --negative-control skip-commit-wait} or {@code
 * skip-safe-time}, the workloads of {@link TxnTortureTest} with no fault schedule, only each control's own condition
 * ({@link NegativeControls#TXN}). The checker must judge each history invalid with a real-time or timestamp anomaly;
 * {@link TxnTortureTest} is the other half, the same workloads valid with no control. The replicas' classpath is
 * this JVM's, which has txn-coordinator's test classes (the test jar), where the switches live.
 */
class TxnNegativeControlsTest {
    @TempDir
    Path tmp;

    /**
     * Commit-wait off while the leader of group 1 reads 20 ms fast within its ε: its commit timestamps lie up to 40
     * ms ahead of true time when their clients hear of them, so a transaction or strong read that starts next at
     * another replica gets a smaller timestamp (external consistency broken, or a read that misses the commit).
     */
    @Test
    void commitWaitSwitchedOffWhileOneClockReadsFastIsCaught() throws Exception {
        assertCaught(NegativeControls.SKIP_COMMIT_WAIT, List.of(AnomalyType.EXTERNAL_CONSISTENCY,
                AnomalyType.TIMESTAMP_MISSED_WRITE, AnomalyType.G_SINGLE_REALTIME));
    }

    /**
     * Snapshot reads served without waiting for safe time while the links between replicas lose a fifth of their
     * messages: a lagging follower answers a read at t without writes committed at or below t.
     */
    @Test
    void readsServedWithoutWaitingForSafeTimeAreCaught() throws Exception {
        assertCaught(NegativeControls.SKIP_SAFE_TIME, List.of(AnomalyType.TIMESTAMP_MISSED_WRITE,
                AnomalyType.G_SINGLE_REALTIME, AnomalyType.EXTERNAL_CONSISTENCY));
    }

    private void assertCaught(String control, List<AnomalyType> expected) throws Exception {
        TortureSetup setup = new TortureSetup("txn", 3, 4, FaultKind.NONE, Duration.ofSeconds(12),
                Duration.ofSeconds(1), Duration.ofMillis(1500), 1000, 300, 1, control,
                System.getProperty("java.class.path"), TortureSetup.DEFAULT_OP_TIMEOUT, 4);
        List<String> log = new ArrayList<>();
        TortureRun.Summary s = setup.run(tmp, tmp.resolve("history.jsonl"), log::add);
        String context = s.line() + "\n" + String.join("\n", log) + "\nreplay: " + setup.replayCommand();
        assertThat(log).as(context).anyMatch(l -> l.startsWith("negative control " + control + ": "));
        assertThat(s.check().stats().ok()).as(context).isPositive();
        assertThat(s.check().stats().timestamped()).as(context).isPositive();
        assertThat(s.check().valid()).as("the checker must catch " + control + ": " + context).isFalse();
        assertThat(s.controlCaught()).as(context).isTrue();
        assertThat(s.controlOutcome()).as(context).isEqualTo(TortureRun.Summary.ControlOutcome.CAUGHT);
        assertThat(setup.passed(s)).as(context).isTrue();
        assertThat(s.check().counts().keySet()).as("a class this bug makes: " + context).containsAnyElementsOf(expected);
        System.out.println("TxnNegativeControlsTest " + control + ": " + s.line());
    }
}
