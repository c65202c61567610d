package io.gnomon.paxos.sim;

import io.gnomon.paxos.LaunchScripts;
import io.gnomon.paxos.LaunchScripts.Run;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** bin/paxos-sim as a process: counts it refuses, and results on standard output apart from progress. */
class PaxosSimMainTest {
    @Test
    void countsBelowOneAreRefusedNamingTheFlag(@TempDir Path dir) throws Exception {
        for (String seeds : new String[] {"-1", "0"}) {
            Run r = LaunchScripts.run(dir, "paxos-sim", "--seeds", seeds);
            assertThat(r.exitCode()).isEqualTo(2);
            assertThat(r.stderr()).isEqualTo("paxos-sim: --seeds must be >= 1, was " + seeds + "\n");
        }
        Run steps = LaunchScripts.run(dir, "paxos-sim", "--steps", "0");
        assertThat(steps.exitCode()).isEqualTo(2);
        assertThat(steps.stderr()).isEqualTo("paxos-sim: --steps must be >= 1, was 0\n");
    }

    /** Progress goes to standard error (and not at all in a run this short); the summary line keeps its format. */
    @Test
    void standardOutputHasOnlyTheSummary(@TempDir Path dir) throws Exception {
        Run r = LaunchScripts.run(dir, "paxos-sim", "--seeds", "2", "--steps", "2000", "--threads", "1");
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        assertThat(r.stdout()).matches("random: 2 seeds \\[1, 3\\), 3 replicas, 1 group, 2000 steps each: 0 failed;"
                + " [0-9.]+ s wall, [0-9]+ s simulated; decided \\d+ slots, \\d+ leaderships, \\d+ lease reads, \\d+ crashes,"
                + " \\d+ config changes\n");
        assertThat(r.stderr()).isEmpty();
    }
}
