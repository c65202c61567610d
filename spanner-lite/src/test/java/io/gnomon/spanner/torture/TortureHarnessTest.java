package io.gnomon.spanner.torture;

import io.gnomon.paxos.TestOnlyNegativeControl;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The short CI version of the torture harness against replica processes (docs/reliability.md): a run under a
 * fault comes out clean, and the negative control, a deliberate lease bug, is caught by the checker. Every run
 * closes its cluster (SIGKILL of each replica) before returning, failed or not.
 */
class TortureHarnessTest {
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
        TortureSetup setup = new TortureSetup("processes", 3, 6, FaultKind.KILL_LEADER, Duration.ofSeconds(12),
                Duration.ofMillis(1500), Duration.ofMillis(2500), 1000, 300, 7, null, replicaClasspath());
        TortureRun.Summary s = run(setup);

        assertThat(s.faultsInjected()).as(s.line()).isGreaterThanOrEqualTo(1);
        assertThat(s.check().stats().ok()).as(s.line()).isGreaterThan(100);
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
        // A pause catches the control in most runs, not all (9 of 10 simulated seeds, docs/reliability.md): whether
        // a read reaches the resumed leader before it notices is timing. One run missed it on a loaded machine, so
        // up to three seeds run, stopping at the first catch; never caught in three is a failure.
        TortureRun.Summary s = null;
        TortureSetup setup = null;
        for (long seed = 1; seed <= 3 && (s == null || s.staleReads() == 0); seed++) {
            setup = TortureSetup.negativeControl("processes", "stale-lease-reads", FaultKind.PAUSE_LEADER, 8,
                    Duration.ofSeconds(20), seed, replicaClasspath());
            s = run(setup);
        }

        assertThat(s.faultsInjected()).as(s.line()).isGreaterThanOrEqualTo(1);
        assertThat(s.check().valid()).as(s.line()).isFalse();
        assertThat(s.realtimeAnomalies()).as(s.line()).isTrue();
        assertThat(s.staleReads()).as(s.line()).isPositive();
        assertThat(setup.passed(s)).isTrue();
    }
}
