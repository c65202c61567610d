package io.gnomon.spanner.torture;

import io.gnomon.spanner.tools.SpannerLiteMain;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The torture harness's third backend: the same workload, fault schedule and checker with the replicas in
 * deterministic simulation (docs/reliability.md, "Simulation"). A seed reproduces its history byte for byte;
 * every fault kind comes out clean; both negative controls are caught by the history checker alone (the
 * simulator's own lease checks are off for them).
 */
class SimulatedTortureTest {
    @TempDir
    Path dir;

    private static TortureSetup sim(int replicas, FaultKind fault, long seed) {
        return new TortureSetup("sim", replicas, 8, fault, Duration.ofSeconds(20), Duration.ofSeconds(2),
                Duration.ofMillis(2500), 1000, 300, seed, null, "");
    }

    private TortureRun.Summary run(TortureSetup setup, String name) throws Exception {
        TortureRun.Summary s = setup.run(dir, dir.resolve(name), line -> { });
        System.out.println(s.line());
        return s;
    }

    @Test
    void aSeedReproducesItsHistoryByteForByte() throws Exception {
        TortureRun.Summary a = run(sim(3, FaultKind.MIXED, 11), "a.jsonl");
        TortureRun.Summary b = run(sim(3, FaultKind.MIXED, 11), "b.jsonl");
        TortureRun.Summary c = run(sim(3, FaultKind.MIXED, 12), "c.jsonl");

        assertThat(Files.readAllBytes(b.history())).isEqualTo(Files.readAllBytes(a.history()));
        assertThat(b.line().replace("b.jsonl", "a.jsonl")).isEqualTo(a.line());
        assertThat(Files.readAllBytes(c.history())).isNotEqualTo(Files.readAllBytes(a.history()));
    }

    /** The replay command a failing simulated run prints gives the same history again, from the command line. */
    @Test
    void theReplayCommandReproducesTheRun() throws Exception {
        TortureSetup setup = sim(5, FaultKind.PAUSE_LEADER, 3);
        TortureRun.Summary s = run(setup, "setup.jsonl");
        Path again = dir.resolve("again.jsonl");
        List<String> args = new ArrayList<>(List.of(setup.replayCommand().split(" ")));
        assertThat(args.remove(0)).isEqualTo("bin/spanner-lite");
        args.addAll(List.of("--history", again.toString(), "--work-dir", dir.resolve("cli").toString()));
        StringWriter out = new StringWriter();
        int code = SpannerLiteMain.run(new PrintWriter(out), new PrintWriter(new StringWriter()), args.toArray(String[]::new));

        assertThat(code).as(out.toString()).isZero();
        assertThat(Files.readAllBytes(again)).isEqualTo(Files.readAllBytes(s.history()));
    }

    @ParameterizedTest
    @EnumSource(value = FaultKind.class, names = "KILL_COORDINATOR", mode = EnumSource.Mode.EXCLUDE) // --backend txn's
    void everyFaultKindIsCleanOnThreeReplicas(FaultKind fault) throws Exception {
        assertClean(sim(3, fault, 1), fault);
    }

    @ParameterizedTest
    @EnumSource(value = FaultKind.class, names = {"KILL_LEADER", "PARTITION_MAJORITY", "PARTITION_BRIDGE", "MIXED"})
    void faultsThatDifferWithFiveReplicasAreCleanThere(FaultKind fault) throws Exception {
        assertClean(sim(5, fault, 2), fault);
    }

    /**
     * Issue 19: sixteen groups on every process, keys spread over them and each transaction within one group; the
     * faults hit every group on a process at once. The replay command names the groups.
     */
    @ParameterizedTest
    @EnumSource(value = FaultKind.class, names = {"KILL_LEADER", "PARTITION_MAJORITY", "PAUSE_LEADER", "MIXED"})
    void sixteenGroupsPerProcessAreCleanUnderFaults(FaultKind fault) throws Exception {
        TortureSetup setup = new TortureSetup("sim", 3, 8, fault, Duration.ofSeconds(20), Duration.ofSeconds(2),
                Duration.ofMillis(2500), 1000, 300, 4, null, "", TortureSetup.DEFAULT_OP_TIMEOUT, 16);
        assertThat(setup.replayCommand()).endsWith(" --groups 16");
        assertClean(setup, fault);
    }

    private void assertClean(TortureSetup setup, FaultKind fault) throws Exception {
        TortureRun.Summary s = run(setup, "history.jsonl");
        assertThat(s.faultsInjected()).as(s.line()).isEqualTo(fault == FaultKind.NONE ? 0 : 4);
        assertThat(s.check().stats().ok()).as(s.line()).isGreaterThan(1000);
        assertThat(s.check().valid()).as(s.line()).isTrue();
        assertThat(s.lostAcknowledged()).as(s.line()).isZero();
        assertThat(s.recoveries()).as(s.line()).hasSize(s.faultsInjected());
        assertThat(setup.passed(s)).as(s.line()).isTrue();
    }

    /**
     * The deliberate lease bugs at the default lease and election timeout, each under the fault that shows it
     * (docs/reliability.md, "The negative controls"): stale-lease-reads with the leader paused past its lease,
     * skip-lease-wait with the leader isolated. Whether the bug shows in a run depends on the schedule (a seed in
     * which no read reaches the resumed leader inside its stale window shows nothing; seed 2 of stale-lease-reads
     * is such a run since issue 16's lease and Accept changes): so no run may be a miss (a stale read the harness
     * saw and the checker did not report), every run with a stale read must be caught, and most seeds must show
     * it. This is the simulated twin of TortureHarnessTest's negative control.
     */
    @ParameterizedTest
    @CsvSource({"stale-lease-reads, pause-leader", "skip-lease-wait, isolate-leader"})
    void bothNegativeControlsAreCaughtByTheChecker(String control, String fault) throws Exception {
        int seeds = 4;
        List<String> caught = new ArrayList<>();
        for (long seed = 1; seed <= seeds; seed++) {
            TortureSetup setup = TortureSetup.negativeControl("sim", control, FaultKind.parse(fault), 8,
                    Duration.ofSeconds(30), seed, "");
            TortureRun.Summary s = run(setup, control + "-" + seed + ".jsonl");

            assertThat(s.controlOutcome()).as(s.line()).isNotEqualTo(TortureRun.Summary.ControlOutcome.MISSED);
            assertThat(setup.passed(s)).as(s.line()).isEqualTo(s.realtimeAnomalies());
            if (s.controlOutcome() == TortureRun.Summary.ControlOutcome.CAUGHT) {
                assertThat(s.staleReads()).as(s.line()).isPositive();
                caught.add(s.line());
            }
        }
        assertThat(caught).as(control + " under " + fault + ": caught in most of " + seeds + " seeds")
                .hasSizeGreaterThan(seeds / 2);
    }

    /**
     * Issue 19: with 16 groups a control puts three quarters of its transactions in group 1, the faulted leader's
     * ({@link TortureSetup#CONTROL_HOT_GROUP_SHARE}); spread evenly, these seeds showed no stale read at all.
     */
    @Test
    void skipLeaseWaitIsCaughtWithSixteenGroups() throws Exception {
        for (long seed = 1; seed <= 3; seed++) {
            TortureSetup setup = TortureSetup.negativeControl("sim", "skip-lease-wait", FaultKind.ISOLATE_LEADER, 8,
                    Duration.ofSeconds(20), seed, "").withGroups(16);
            TortureRun.Summary s = run(setup, "skip-16-" + seed + ".jsonl");
            assertThat(s.controlOutcome()).as(s.line()).isEqualTo(TortureRun.Summary.ControlOutcome.CAUGHT);
            assertThat(s.staleReads()).as(s.line()).isPositive();
        }
    }
}
