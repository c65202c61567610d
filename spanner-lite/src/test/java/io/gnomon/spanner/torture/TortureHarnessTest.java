package io.gnomon.spanner.torture;

import io.gnomon.paxos.TestOnlyNegativeControl;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The short CI version of the torture harness against replica processes (docs/reliability.md): a run under a
 * fault comes out clean, and the negative control, a deliberate lease bug, is caught by the checker; the same with
 * 3 processes hosting 16 groups each (issue 19), started from a cluster file with clients on its client addresses,
 * keys spread over the groups and each transaction within one, a fault acting on every group of its process. Every
 * run closes its cluster (SIGKILL of each replica) before returning, failed or not.
 */
class TortureHarnessTest {
    private static final int GROUPS = 16;

    @TempDir
    Path dir;

    /** spanner-lite's runtime classpath (txn-coordinator included) plus txn-coordinator's test classes. */
    static String replicaClasspath() throws Exception {
        Path target = Path.of(System.getProperty("basedir", System.getProperty("user.dir"))).resolve("target");
        String testOnly = Path.of(TestOnlyNegativeControl.class.getProtectionDomain().getCodeSource().getLocation()
                .toURI()).toString();
        return target.resolve("classes") + File.pathSeparator + Files.readString(target.resolve("classpath.txt")).trim()
                + File.pathSeparator + testOnly;
    }

    private int runs;

    /** Runs in a directory of its own (replica data, logs, history), so a test may run several. */
    private TortureRun.Summary run(TortureSetup setup) throws Exception {
        Path runDir = Files.createDirectories(dir.resolve("run" + ++runs));
        TortureRun.Summary s = setup.run(runDir, runDir.resolve("history.jsonl"),
                line -> System.out.println("torture: " + line));
        System.out.println(s.line());
        return s;
    }

    @Test
    void killingTheLeaderLeavesAStrictlySerializableHistoryAndLosesNothing() throws Exception {
        assertCleanUnderLeaderKills(1, 100);
    }

    /** The process leading group 1 killed: every group it leads fails over, none loses anything. */
    @Test
    void killingAProcessThatLeadsGroupsLeavesAStrictlySerializableHistoryAndLosesNothing() throws Exception {
        assertCleanUnderLeaderKills(GROUPS, 50);
    }

    private void assertCleanUnderLeaderKills(int groups, int minOk) throws Exception {
        TortureSetup setup = new TortureSetup("processes", 3, 6, FaultKind.KILL_LEADER, Duration.ofSeconds(12),
                Duration.ofMillis(1500), Duration.ofMillis(2500), 1000, 300, 7, null, replicaClasspath())
                .withGroups(groups);
        TortureRun.Summary s = run(setup);

        assertThat(s.faultsInjected()).as(s.line()).isGreaterThanOrEqualTo(1);
        assertThat(s.check().stats().ok()).as(s.line()).isGreaterThan(minOk);
        assertThat(s.check().valid()).as(s.line()).isTrue();
        assertThat(s.lostAcknowledged()).as(s.line()).isZero();
        assertThat(s.unrecovered()).as(s.line()).isZero();
        assertThat(setup.passed(s)).isTrue();
    }

    /** The reference: the same workload through etcd transactions, with its leader killed, comes out clean. */
    @Test
    void etcdUnderLeaderKillsIsClean() throws Exception {
        Assumptions.assumeTrue(onPath("etcd"), "etcd is not installed (bin/test installs etcd-server)");
        TortureSetup setup = new TortureSetup("etcd", 3, 6, FaultKind.KILL_LEADER, Duration.ofSeconds(10),
                Duration.ofMillis(1500), Duration.ofMillis(2500), 1000, 300, 5, null, "");
        TortureRun.Summary s = run(setup);

        assertThat(s.faultsInjected()).as(s.line()).isGreaterThanOrEqualTo(1);
        assertThat(s.check().stats().ok()).as(s.line()).isGreaterThan(100);
        assertThat(setup.passed(s)).as(s.line()).isTrue();
    }

    private static boolean onPath(String executable) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (Files.isExecutable(Path.of(d, executable))) {
                return true;
            }
        }
        return false;
    }

    /**
     * Stale lease reads on, at the default lease and election timeout, and the leader paused (SIGSTOP) for longer
     * than its lease: the others elect a leader and commit new appends, and when it resumes it still believes it
     * leads and answers reads before it notices. The checker must see real-time anomalies, or the harness is not
     * measuring anything.
     */
    @Test
    void negativeControlStaleLeaseReadsIsCaught() throws Exception {
        assertCaught("stale-lease-reads", FaultKind.PAUSE_LEADER, 1);
    }

    /** Stale lease reads on, the process leading group 1 paused past its lease. */
    @Test
    void negativeControlStaleLeaseReadsIsCaughtWithSixteenGroups() throws Exception {
        assumeNotOverloaded();
        assertCaught("stale-lease-reads", FaultKind.PAUSE_LEADER, GROUPS);
    }

    /**
     * The lease wait skipped, the process leading group 1 isolated: new leaders serve while it still does. Three
     * quarters of the transactions are in group 1 ({@link TortureSetup#CONTROL_HOT_GROUP_SHARE}): spread evenly over
     * 16 groups, a write at a new leader and a read at the old one met in no run.
     */
    @Test
    void negativeControlSkipLeaseWaitIsCaughtWithSixteenGroups() throws Exception {
        assumeNotOverloaded();
        assertCaught("skip-lease-wait", FaultKind.ISOLATE_LEADER, GROUPS);
    }

    /**
     * A pause catches the control in most runs, not all (9 of 10 simulated seeds, docs/reliability.md): whether
     * a read reaches the resumed leader before it notices is timing. One run missed it on a loaded machine, so
     * up to three seeds run, stopping at the first stale read in a history; never shown in three is a failure,
     * and a stale read the checker does not report is one at once.
     */
    private void assertCaught(String control, FaultKind fault, int groups) throws Exception {
        TortureRun.Summary s = null;
        TortureSetup setup = null;
        for (long seed = 1; seed <= 3 && (s == null || s.staleReads() == 0); seed++) {
            setup = TortureSetup.negativeControl("processes", control, fault, 8, Duration.ofSeconds(20), seed,
                    replicaClasspath()).withGroups(groups);
            s = run(setup);
        }

        assertThat(s.faultsInjected()).as(s.line()).isGreaterThanOrEqualTo(1);
        assertThat(s.check().valid()).as(s.line()).isFalse();
        assertThat(s.realtimeAnomalies()).as(s.line()).isTrue();
        assertThat(s.staleReads()).as(s.line()).isPositive();
        assertThat(setup.passed(s)).isTrue();
    }

    /**
     * Skips a 16-group control on an overloaded machine: at a load average of 40 on 2 cores the 48 replicas served
     * about 20 transactions a second over 32 keys, and no read reached an old leader in its window in 3 of 3 runs
     * of either control (no stale read in any history: not a miss by the checker, and the clean run still counts).
     */
    private static void assumeNotOverloaded() {
        double load = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        int cores = Runtime.getRuntime().availableProcessors();
        Assumptions.assumeTrue(load < 4.0 * cores, "load average " + load + " on " + cores
                + " cores: too loaded for a control to show with 16 groups");
    }
}
