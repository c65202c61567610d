package io.gnomon.paxos.bench;

import io.gnomon.paxos.LaunchScripts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code bin/bench-idle-groups} as an operator runs it (real replica processes from generated cluster files), its
 * failure when a limit stops a cluster, and the per-group arithmetic.
 */
class IdleGroupsMainTest {

    @TempDir
    Path tmp;

    @Test
    void oneRowPerProcessAndNThenTheCostOfOneMoreGroup() throws Exception {
        LaunchScripts.Run run = LaunchScripts.run(tmp, "bench-idle-groups", "--groups", "1,5", "--processes", "1",
                "--idle", "200ms", "--markdown-header", "--dir", tmp.resolve("data").toString());
        assertThat(run.exitCode()).as(run.stderr()).isZero();
        List<String> lines = run.stdout().lines().toList();
        assertThat(lines.get(0)).startsWith("| groups | process | groups hosted | threads | RSS (MiB) | open fds "
                + "| regular files | heap after full GC (MiB) | CPU % idle |");
        assertThat(lines).anySatisfy(l -> assertThat(l).matches("\\| 1 \\| 1 \\| 1 \\| \\d+ \\| [\\d.]+ \\| \\d+ \\| \\d+ \\| [\\d.]+ \\| [\\d.]+ \\|"));
        assertThat(lines).anySatisfy(l -> assertThat(l).matches("\\| 5 \\| 1 \\| 5 \\| \\d+ \\| [\\d.]+ \\| \\d+ \\| \\d+ \\| [\\d.]+ \\| [\\d.]+ \\|"));
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("| per group: (N=5 - N=1) / 4 | threads |"));
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("| mean over processes | "));
        assertThat(run.stderr()).contains("N=5: every group led");
        try (var left = Files.list(tmp.resolve("data"))) {
            assertThat(left).as("each N's directory removed after it").isEmpty();
        }
    }

    @Test
    void aClusterStoppedByTheOpenFilesLimitFailsNamingThatLimitAndKeepsTheLogs() throws Exception {
        // With --log chronicle every group holds files of its own log: 200 groups need more than 200 descriptors.
        Path out = tmp.resolve("out.txt");
        Path err = tmp.resolve("err.txt");
        Process p = new ProcessBuilder("bash", "-c", "ulimit -n 200 && exec \"$0\" \"$@\"",
                LaunchScripts.BIN.resolve("bench-idle-groups").toString(), "--groups", "1,200", "--processes", "1",
                "--idle", "100ms", "--dir", tmp.resolve("data").toString(), "--replica-arg=--log",
                "--replica-arg=chronicle")
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("finished").isTrue();
        String stderr = Files.readString(err);
        assertThat(p.exitValue()).as(stderr).isEqualTo(1);
        assertThat(stderr).contains("N=200: the cluster did not come up")
                .contains("the open-files limit (ulimit -n, RLIMIT_NOFILE) is 200")
                .contains("Too many open files")
                .contains("(the processes' directories are kept: ");
        assertThat(Files.readString(out)).as("N=1 measured before").contains("| 1 | 1 | 1 |");
    }

    @Test
    void onTheProcessLogTwoHundredGroupsFitUnderTheSameOpenFilesLimit() throws Exception {
        // The process log (the default) is one set of files for every group: an idle group costs no descriptor.
        Path out = tmp.resolve("out.txt");
        Path err = tmp.resolve("err.txt");
        Process p = new ProcessBuilder("bash", "-c", "ulimit -n 200 && exec \"$0\" \"$@\"",
                LaunchScripts.BIN.resolve("bench-idle-groups").toString(), "--groups", "1,200", "--processes", "1",
                "--idle", "100ms", "--dir", tmp.resolve("data").toString())
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("finished").isTrue();
        assertThat(p.exitValue()).as(Files.readString(err)).isZero();
        assertThat(Files.readString(out)).contains("| 200 | 1 | 200 |");
    }

    @Test
    void perGroupIsTheDifferenceOfMeansOverTheDifferenceInGroups() {
        List<IdleGroupsMain.Row> rows = List.of(
                new IdleGroupsMain.Row(1, 1, 1, new ProcessFootprint(20, 1000, 100, 80), 10_000, 1.0),
                new IdleGroupsMain.Row(1, 2, 1, new ProcessFootprint(22, 1200, 100, 80), 12_000, 3.0),
                new IdleGroupsMain.Row(11, 1, 11, new ProcessFootprint(21, 2000, 130, 110), 12_000, 2.0),
                new IdleGroupsMain.Row(11, 2, 11, new ProcessFootprint(23, 2200, 130, 110), 14_000, 4.0));
        assertThat(IdleGroupsMain.perGroup(rows)).containsExactly(
                "| per group: (N=11 - N=1) / 10 | threads | RSS (KiB) | open fds | regular files | heap after full GC (KiB) | CPU % idle |",
                "|---|---|---|---|---|---|---|",
                "| mean over processes | 0.100 | 100.0 | 3.000 | 3.000 | 200.0 | 0.1000 |");
        assertThat(IdleGroupsMain.perGroup(rows.subList(0, 2))).as("one N: nothing to divide").isEmpty();
    }

    @Test
    void theLimitALogPointsAtIsNamedWithItsValue() {
        assertThat(Limits.diagnose("cannot start: group-37: Too many open files")).contains("ulimit -n");
        assertThat(Limits.diagnose("java.lang.OutOfMemoryError: Map failed")).contains("vm.max_map_count");
        assertThat(Limits.diagnose("OutOfMemoryError: unable to create native thread: possibly out of memory"))
                .contains("ulimit -u");
        assertThat(Limits.diagnose("java.lang.OutOfMemoryError: Java heap space")).contains("-Xmx256m");
        assertThat(Limits.diagnose("replica 1: cannot start: --lease-ms must be positive")).isNull();
        assertThat(Limits.describe()).contains("open files (ulimit -n) ").doesNotContain("unknown");
    }
}
