package io.gnomon.clockd.sim;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A small sample of the clock simulator (the full run is bin/clock-sim, docs/clock-accuracy-sim.md): every
 * scenario that keeps the daemon's assumptions is sound, a seed replays byte for byte, and the checker does
 * fail when the bound or the drift assumption is broken on purpose.
 */
class ClockSimTest {
    static final int SEEDS = 3;
    static final long DURATION_SECONDS = 1200;
    static final int SAMPLES_PER_PUBLISH = 4;

    @Test
    void everySoundScenarioHasNoViolation() throws Exception {
        long total = 0;
        for (Scenario sc : Scenario.all()) {
            if (sc.expectViolations()) {
                continue;
            }
            RunResult r = ClockSimMain.runSeeds(sc, 1, SEEDS, DURATION_SECONDS, SAMPLES_PER_PUBLISH, 1);
            String first = r.violationDetails.isEmpty() ? "" : r.violationDetails.get(0).violation().describe()
                    + "; replay: " + SimReport.replayCommand(sc, r.violationDetails.get(0).seed(), DURATION_SECONDS,
                    SAMPLES_PER_PUBLISH);
            assertThat(r.violations()).as(sc.name() + ": " + first).isZero();
            assertThat(r.samples()).as(sc.name() + " checked samples").isGreaterThan(10_000);
            total += r.samples();
        }
        assertThat(total).isGreaterThan(100_000);
    }

    @Test
    void theSameSeedGivesAByteIdenticalReport(@TempDir Path dir) throws Exception {
        Path first = dir.resolve("first.md");
        Path second = dir.resolve("second.md");
        Path threaded = dir.resolve("threaded.md");
        Path plot1 = dir.resolve("first.svg");
        Path plot2 = dir.resolve("second.svg");
        String[] common = {"--seeds", "2", "--from-seed", "42", "--duration-seconds", "600", "--samples-per-publish", "3"};
        assertThat(quietly(concat(common, "--report", first.toString(), "--plot", plot1.toString()))).isZero();
        assertThat(quietly(concat(common, "--report", second.toString(), "--plot", plot2.toString()))).isZero();
        assertThat(quietly(concat(common, "--report", threaded.toString(), "--threads", "2"))).isZero();
        assertThat(Files.readAllBytes(second)).isEqualTo(Files.readAllBytes(first));
        assertThat(Files.readAllBytes(threaded)).isEqualTo(Files.readAllBytes(first));
        assertThat(Files.readAllBytes(plot2)).isEqualTo(Files.readAllBytes(plot1));
        assertThat(Files.readString(first)).contains("**0 violations in ").contains("| lan | 2 |");
        assertThat(Files.readString(plot1)).startsWith("<svg").contains("<polyline");
    }

    @Test
    void aRunIsDeterminedByItsSeedAndNotByHowManyReadersLook() throws Exception {
        Scenario sc = Scenario.named("liar");
        RunResult a = new ClockSim(sc, 7, 600, 2).run();
        RunResult b = new ClockSim(sc, 7, 600, 9).run();
        // the world (exchanges, measurements, publishes) is the same; only the reader instants differ
        assertThat(b.publishes).isEqualTo(a.publishes);
        assertThat(b.measurements).isEqualTo(a.measurements);
        assertThat(b.exchangesLost).isEqualTo(a.exchangesLost);
        assertThat(b.samples).isGreaterThan(4 * a.samples);
        RunResult c = new ClockSim(sc, 8, 600, 2).run();
        assertThat(c.measurements).isNotEqualTo(a.measurements);
    }

    @Test
    void negativeControlBrokenDriftAssumptionIsFound() throws Exception {
        Scenario sc = Scenario.named("drift-violated");
        RunResult r = ClockSimMain.runSeeds(sc, 1, 2, DURATION_SECONDS, SAMPLES_PER_PUBLISH, 1);
        assertThat(r.violations()).as("an oscillator at 500 ppm against an assumed 200 ppm must be caught").isPositive();
        // and the command line treats a control that fails as expected as success
        assertThat(quietly("--scenario", "drift-violated", "--seeds", "1", "--duration-seconds", "600")).isZero();
    }

    /**
     * Halved bounds are caught wherever the world pushes a majority of sources to the edge of their bound
     * (lopsided paths, servers at the edge of their advertised error). Not everywhere: the quiet lan scenario
     * keeps enough slack that it takes a larger cut (docs/clock-accuracy-sim.md, "how sharp is the checker").
     */
    @Test
    void negativeControlShrunkBoundsAreFound() throws Exception {
        for (String name : List.of("liar", "stepping-server", "temperature")) {
            Scenario broken = Scenario.named(name).withMeasurementBoundScale(0.5);
            assertThat(broken.expectViolations()).isTrue();
            RunResult r = ClockSimMain.runSeeds(broken, 1, 2, DURATION_SECONDS, SAMPLES_PER_PUBLISH, 1);
            assertThat(r.violations()).as(broken.name() + ": halved bounds must be caught").isPositive();
            assertThat(SimReport.replayCommand(broken, 1, DURATION_SECONDS, SAMPLES_PER_PUBLISH))
                    .contains("--scenario " + name + " ").endsWith("--break-bounds 0.5");
        }
    }

    /**
     * The realtime-step scenarios are not vacuous: the realtime clock steps, the daemon's detector reports steps,
     * and realtime-based measurements spanning them are voided (without that voiding, bin/clock-sim finds
     * violations in chrony-step, ptp-step and ptp-step-trusted: docs/clock-accuracy-sim.md).
     */
    @Test
    void stepScenariosStepTheRealtimeClockAndVoidWhatTheStepsSpoil() throws Exception {
        for (String name : List.of("chrony-step", "ptp-step", "ptp-step-trusted")) {
            RunResult r = ClockSimMain.runSeeds(Scenario.named(name), 1, 1, DURATION_SECONDS, SAMPLES_PER_PUBLISH, 1);
            assertThat(r.realtimeSteps).as(name).isPositive();
            assertThat(r.realtimeStepsReported).as(name).isPositive().isLessThanOrEqualTo(r.realtimeSteps);
            assertThat(r.realtimeStepVoided).as(name).isPositive();
            assertThat(r.violations()).as(name).isZero();
        }
    }

    /**
     * Found by the full run: a PTP reading taken just after a step, used before the daemon's next 10 ms check
     * reported the step, put a wrong interval in the published estimate until that check. ClockDaemon now checks
     * for a step before it uses a realtime-based measurement; these seeds failed without that check.
     */
    @Test
    void aReadingTakenJustAfterAStepIsCheckedBeforeItIsUsed() throws Exception {
        assertThat(new ClockSim(Scenario.named("ptp-step"), 30, 1500, 8).run().violations()).isZero();
        assertThat(new ClockSim(Scenario.named("ptp-step-trusted"), 7, 60, 8).run().violations()).isZero();
    }

    /**
     * chronyd's regression keeps weighing samples from before a step it did not notice for as long as they stay in
     * its window; the chrony-like source models that, and reports from the step until the window can hold no
     * pre-step sample are refused. This seed gave 11 violations in its first 300 s without that.
     */
    @Test
    void chronysRegressionAfterAStepIsNotUsedWhilePreStepSamplesMayRemain() throws Exception {
        assertThat(new ClockSim(Scenario.named("chrony-step"), 27, 300, 8).run().violations()).isZero();
    }

    /**
     * The simulator's daemon refuses chronyd for the daemon's own horizon after a step (65 x chrony's default
     * maxpoll, ~18.5 h: longer than the run), so only chronyd's word on its windows (ChronyWindows, from what its
     * SOURCE_DATA and SOURCESTATS would say) lets it be used again: the run must still be synchronized most of the
     * time, and sound. Without that rule no publish of this scenario is SYNCHRONIZED (the NTP server alone is no
     * majority).
     */
    @Test
    void chronyIsUsedAgainAfterAStepOnceItsWindowsAreNewerThanIt() throws Exception {
        RunResult r = new ClockSim(Scenario.named("chrony-step"), 27, 600, 8).run();
        assertThat(r.violations()).isZero();
        assertThat(r.realtimeSteps).as("the run has steps").isPositive();
        assertThat(r.statusCounts[io.gnomon.truetime.ClockStatus.SYNCHRONIZED.ordinal()])
                .as("SYNCHRONIZED publishes of %d", r.publishes).isGreaterThan(r.publishes / 3);
    }

    @Test
    void aFasterPollStaysSoundAndItsReplayCommandSaysSo() throws Exception {
        Scenario fast = Scenario.named("temperature").withDaemonConfig(250L, null);
        RunResult r = ClockSimMain.runSeeds(fast, 1, 1, 600, SAMPLES_PER_PUBLISH, 1);
        assertThat(r.violations()).isZero();
        assertThat(SimReport.replayCommand(fast, 1, 600, SAMPLES_PER_PUBLISH)).endsWith("--poll-interval-ms 250");
        // a smaller drift bound keeps the oscillator within it, except in the control
        assertThat(Scenario.named("lan").withDaemonConfig(null, 50.0).oscillatorMaxDriftPpm).isEqualTo(50.0);
        assertThat(Scenario.named("drift-violated").withDaemonConfig(null, 50.0).oscillatorMaxDriftPpm).isEqualTo(500.0);
    }

    @Test
    void replayNamesOneScenarioAndBadArgumentsExitWith2() {
        assertThat(quietly("--replay", "3", "--scenario", "outage", "--duration-seconds", "300")).isZero();
        assertThat(quietly("--replay", "3")).isEqualTo(2);
        assertThat(quietly("--scenario", "nope")).isEqualTo(2);
        assertThat(quietly("--seeds", "0")).isEqualTo(2);
    }

    @Test
    void everyScenarioKeepsItsContract() {
        for (Scenario sc : Scenario.all()) {
            if (!sc.expectViolations()) {
                assertThat(2 * sc.liars).as(sc.name()).isLessThan(sc.sourceCount());
                assertThat(sc.oscillatorMaxDriftPpm).as(sc.name()).isLessThanOrEqualTo(sc.maxDriftPpm);
            }
            assertThat(Scenario.named(sc.name())).isNotNull();
        }
        assertThat(Scenario.all()).extracting(Scenario::name).contains("lan", "wan", "liar", "stepping-server",
                "temperature", "outage", "ptp", "chrony-step", "ptp-step", "ptp-step-trusted", "drift-violated");
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = new String[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** Runs the command line with its output captured (and dropped unless it fails). */
    private static int quietly(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        try (PrintStream capture = new PrintStream(buffer, true, StandardCharsets.UTF_8)) {
            System.setOut(capture);
            System.setErr(capture);
            return ClockSimMain.run(args);
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }
}
