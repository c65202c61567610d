package io.gnomon.spanner.torture;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The harness's arguments and the report's rewrite of docs/reliability.md, without starting any cluster. */
class TortureOptionsTest {
    @Test
    void faultKindsParseByTheirCommandLineNames() {
        for (FaultKind k : FaultKind.values()) {
            assertThat(FaultKind.parse(k.cli())).isEqualTo(k);
        }
        assertThatThrownBy(() -> FaultKind.parse("kill-everyone"))
                .hasMessageContaining("fault kill-everyone: use one of [none, kill-follower");
    }

    @Test
    void theHelpTextListsEveryFaultKind() {
        String help = new picocli.CommandLine(new TortureCommand()).getUsageMessage(picocli.CommandLine.Help.Ansi.OFF)
                .replaceAll("\\s+", " ");
        for (FaultKind k : FaultKind.values()) {
            assertThat(help).as("torture --help names --fault " + k.cli())
                    .containsPattern("[ ,]" + java.util.regex.Pattern.quote(k.cli()) + "[ ,]");
        }
    }

    @Test
    void durationsTakeMillisecondsSecondsAndMinutes() {
        assertThat(TortureCommand.Durations.parse("--hold", "2500ms")).isEqualTo(Duration.ofMillis(2500));
        assertThat(TortureCommand.Durations.parse("--duration", "1.5s")).isEqualTo(Duration.ofMillis(1500));
        assertThat(TortureCommand.Durations.parse("--duration", "2m")).isEqualTo(Duration.ofMinutes(2));
        assertThatThrownBy(() -> TortureCommand.Durations.parse("--duration", "ten"))
                .hasMessage("--duration ten: use a number with ms, s or m, e.g. 30s");
    }

    @Test
    void setupRefusesWhatTheBackendsCannotDo() {
        assertThatThrownBy(() -> setup("processes", 4, null)).hasMessage("--replicas 4: use 3 or 5");
        assertThatThrownBy(() -> setup("etcd", 3, "stale-lease-reads"))
                .hasMessage("--backend etcd runs 3 members and has no negative control");
        assertThatThrownBy(() -> setup("processes", 3, "no-leases"))
                .hasMessageContaining("--negative-control no-leases");
        assertThatThrownBy(() -> setup("zookeeper", 3, null)).hasMessageContaining("--backend zookeeper");
        assertThat(setup("sim", 5, "skip-lease-wait").backend()).isEqualTo("sim");
        assertThat(setup("processes", 3, null).withGroups(16).groups()).isEqualTo(16);
        assertThatThrownBy(() -> setup("etcd", 3, null).withGroups(16))
                .hasMessage("--groups 16: etcd is one group; use --backend processes or sim");
        assertThatThrownBy(() -> new TortureSetup("sim", 3, 4, FaultKind.NONE, Duration.ofSeconds(5),
                Duration.ofSeconds(1), Duration.ofSeconds(1), 1000, 300, 1, null, "", TortureSetup.DEFAULT_OP_TIMEOUT, 65))
                .hasMessage("--groups 65: 1 to 64");
        assertThatThrownBy(() -> new TortureSetup("processes", 3, 4, FaultKind.KILL_LEADER, Duration.ofSeconds(3),
                Duration.ofSeconds(1), Duration.ofSeconds(2), 1000, 300, 1, null, ""))
                .hasMessage("--duration 3000ms: fault kill-leader needs more than quiet + hold (3000 ms) to inject it once");
    }

    private static TortureSetup setup(String backend, int replicas, String control) {
        return new TortureSetup(backend, replicas, 4, FaultKind.NONE, Duration.ofSeconds(5), Duration.ofSeconds(1),
                Duration.ofSeconds(1), 1000, 300, 1, control, "");
    }

    @Test
    void reportRewritesOnlyBetweenItsMarkers(@TempDir Path dir) throws Exception {
        Path doc = dir.resolve("reliability.md");
        Files.writeString(doc, "# Title\n" + TortureReportCommand.BEGIN + "\nold table\n" + TortureReportCommand.END
                + "\n## After\n");
        TortureReportCommand.rewrite(doc, "| new | table |\n");
        assertThat(Files.readString(doc)).isEqualTo("# Title\n" + TortureReportCommand.BEGIN + "\n| new | table |\n"
                + TortureReportCommand.END + "\n## After\n");

        Files.writeString(doc, "no markers\n");
        assertThatThrownBy(() -> TortureReportCommand.rewrite(doc, "x")).hasMessageContaining("markers");
    }

    /** A report of processes alone ({@code --sim-runs 0 --no-etcd}) leaves the other backends' rows in place. */
    @Test
    void aReportOfSomeBackendsKeepsTheOthersRows() {
        String header = "| backend | fault | verdict |\n|---|---|---|\n";
        String old = "Measured at A.\n\n" + header + "| sim | none | clean |\n| sim | kill-leader | clean |\n"
                + "| processes | none | clean |\n| etcd | none | clean |\n";
        String fresh = "Measured at B.\n\n" + header + "| processes | none | NOT CLEAN |\n";
        String merged = TortureReportCommand.merge(old, fresh, Set.of("processes"), 0,
                Comparator.comparingInt(row -> TortureReportCommand.BACKENDS.indexOf(row.get(0))));
        assertThat(merged).isEqualTo("Measured at B.\n\nThe rows of etcd, sim are kept from an earlier report: "
                + "Measured at A.\n\n" + header + "| sim | none | clean |\n| sim | kill-leader | clean |\n"
                + "| processes | none | NOT CLEAN |\n| etcd | none | clean |\n");
        assertThat(TortureReportCommand.merge(old, fresh, Set.of("sim", "processes", "etcd"), 0,
                Comparator.comparingInt(row -> 0))).isEqualTo(fresh);
    }

    @Test
    void theControlsTableIsRewrittenWithoutTouchingTheFigures(@TempDir Path dir) throws Exception {
        Path doc = dir.resolve("reliability.md");
        String figures = TortureReportCommand.BEGIN + "\nfigures\n" + TortureReportCommand.END + "\n";
        Files.writeString(doc, figures + TortureReportCommand.CONTROLS_BEGIN + "\nold\n" + TortureReportCommand.CONTROLS_END);
        TortureReportCommand.rewrite(doc, TortureReportCommand.CONTROLS_BEGIN, TortureReportCommand.CONTROLS_END, "new\n");
        assertThat(Files.readString(doc)).isEqualTo(figures + TortureReportCommand.CONTROLS_BEGIN + "\nnew\n"
                + TortureReportCommand.CONTROLS_END);
    }

    @Test
    void aNegativeControlRunsAtTheDefaultTimeoutsAndEachCanShowSomewhere() {
        for (String control : NegativeControls.ALL) {
            TortureSetup s = TortureSetup.negativeControl("sim", control, FaultKind.MIXED, 8, Duration.ofSeconds(20), 1, "");
            assertThat(s.leaseMillis()).isEqualTo(1000);
            assertThat(s.electionMillis()).isEqualTo(300);
            assertThat(s.hold()).isEqualTo(Duration.ofMillis(2500));
            assertThat(s.opTimeout()).isEqualTo(TortureSetup.CONTROL_OP_TIMEOUT);
            assertThat(s.replayCommand()).contains("--op-timeout 500ms");
            assertThat(FaultKind.values()).anyMatch(k -> NegativeControls.whyCannotShow(control, k) == null);
            assertThat(NegativeControls.whyCannotShow(control, FaultKind.NONE)).isNotNull();
        }
        assertThat(NegativeControls.whyCannotShow(NegativeControls.STALE_LEASE_READS, FaultKind.PAUSE_LEADER)).isNull();
        assertThat(NegativeControls.whyCannotShow(NegativeControls.SKIP_LEASE_WAIT, FaultKind.ISOLATE_LEADER)).isNull();
    }
}
