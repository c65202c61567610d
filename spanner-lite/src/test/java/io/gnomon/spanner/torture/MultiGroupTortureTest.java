package io.gnomon.spanner.torture;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 19: the torture harness against 3 replica processes hosting 16 groups each, started from a cluster file
 * (clients on its client addresses), keys spread over the groups and each transaction within one; a fault acts on
 * a process, so on every group of it at once. Short runs: a leader kill comes out clean, and both negative controls
 * are still caught with the keys (and so the reads) spread over 16 groups. Every run closes its cluster.
 */
class MultiGroupTortureTest {
    private static final int GROUPS = 16;

    @TempDir
    Path dir;

    private int runs;

    private TortureRun.Summary run(TortureSetup setup) throws Exception {
        Path runDir = Files.createDirectories(dir.resolve("run" + ++runs));
        TortureRun.Summary s = setup.run(runDir, runDir.resolve("history.jsonl"),
                line -> System.out.println("torture: " + line));
        System.out.println(s.line());
        return s;
    }

    @Test
    void killingAProcessThatLeadsGroupsLeavesAStrictlySerializableHistoryAndLosesNothing() throws Exception {
        TortureSetup setup = new TortureSetup("processes", 3, 6, FaultKind.KILL_LEADER, Duration.ofSeconds(12),
                Duration.ofMillis(1500), Duration.ofMillis(2500), 1000, 300, 7, null,
                TortureHarnessTest.replicaClasspath()).withGroups(GROUPS);
        TortureRun.Summary s = run(setup);

        assertThat(s.faultsInjected()).as(s.line()).isGreaterThanOrEqualTo(1);
        assertThat(s.check().stats().ok()).as(s.line()).isGreaterThan(50);
        assertThat(s.check().valid()).as(s.line()).isTrue();
        assertThat(s.lostAcknowledged()).as(s.line()).isZero();
        assertThat(s.unrecovered()).as(s.line()).isZero();
        assertThat(setup.passed(s)).isTrue();
    }

    /** Stale lease reads on, group 1's leader process paused past its lease (docs/reliability.md). */
    @Test
    void negativeControlStaleLeaseReadsIsCaughtWithSixteenGroups() throws Exception {
        assertCaught("stale-lease-reads", FaultKind.PAUSE_LEADER);
    }

    /** The lease wait skipped, group 1's leader process isolated: a new leader serves while the old one still does. */
    @Test
    void negativeControlSkipLeaseWaitIsCaughtWithSixteenGroups() throws Exception {
        assertCaught("skip-lease-wait", FaultKind.ISOLATE_LEADER);
    }

    /**
     * Whether a read reaches an old leader before it notices is timing, so up to three seeds run, stopping at the
     * first stale read in a history (as {@link TortureHarnessTest} does); never shown in three is a failure, and
     * a stale read the checker does not report is one at once. Skipped on an overloaded machine: at a load average
     * of 40 on 2 cores the 48 groups' replicas served about 20 transactions a second, spread over 32 keys, and no
     * read reached an old leader in its window in 3 of 3 runs of either control, which says nothing about the
     * checker (the clean run above still counts).
     */
    private void assertCaught(String control, FaultKind fault) throws Exception {
        double load = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        int cores = Runtime.getRuntime().availableProcessors();
        Assumptions.assumeTrue(load < 4.0 * cores, "load average " + load + " on " + cores
                + " cores: too loaded for a control to show with 16 groups");
        TortureRun.Summary s = null;
        TortureSetup setup = null;
        for (long seed = 1; seed <= 3 && (s == null || s.staleReads() == 0); seed++) {
            setup = TortureSetup.negativeControl("processes", control, fault, 8, Duration.ofSeconds(20), seed,
                    TortureHarnessTest.replicaClasspath()).withGroups(GROUPS);
            s = run(setup);
        }

        assertThat(s.faultsInjected()).as(s.line()).isGreaterThanOrEqualTo(1);
        assertThat(s.staleReads()).as(s.line()).isPositive();
        assertThat(s.realtimeAnomalies()).as(s.line()).isTrue();
        assertThat(setup.passed(s)).isTrue();
    }
}
