package io.gnomon.paxos.bench;

import io.gnomon.paxos.LaunchScripts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code bin/bench-log --groups}: one Gnomon row per group count, each against replicas running a generated
 * cluster file with every key routed to its group, etcd in the same run on the same keys, and a ratio per row.
 */
class LogLoadGroupsTest {

    @TempDir
    Path tmp;

    @Test
    void oneRowPerGroupCountThenEtcdThenEachRowsRatio() throws Exception {
        LaunchScripts.Run run = LaunchScripts.run(tmp, "bench-log", "--backend", "gnomon,etcd", "--groups", "1,3",
                "--gnomon-replicas", "1", "--clients", "4", "--ops", "200", "--warmup", "20", "--markdown",
                "--markdown-header", "--gnomon-dir", tmp.resolve("gnomon").toString(),
                "--etcd-dir", tmp.toString());
        assertThat(run.exitCode()).as(run.stderr()).isZero();
        assertThat(run.stdout()).containsPattern("(?m)^\\| gnomon-g1 \\| 4 \\| 100 \\| 200 \\|")
                .containsPattern("(?m)^\\| gnomon-g3 \\| 4 \\| 100 \\| 200 \\|")
                .containsPattern("(?m)^\\| etcd \\| 4 \\| 100 \\| 200 \\|")
                .contains("| ratio | ops/s | p50 | p99 | servers' CPU per op |")
                .containsPattern("(?m)^\\| gnomon-g1 / etcd \\| [\\d.]+ \\| [\\d.]+ \\| [\\d.]+ \\| [\\d.-]+ \\|$")
                .containsPattern("(?m)^\\| gnomon-g3 / etcd \\| ");
        // Every group led before the load; that the keys spread over the groups is BenchKeysTest's.
        assertThat(run.stderr()).contains("running a generated cluster file of 3 groups, each on every process")
                .contains("groups led per process 1=3")
                .contains("keys led by a hash byte (as the groups' rows)");
    }

    @Test
    void aGroupCountOutsideTheHashBytesRangeIsRefusedBeforeAnythingStarts() throws Exception {
        LaunchScripts.Run run = LaunchScripts.run(tmp, "bench-log", "--groups", "1,300");
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.stderr()).contains("--groups takes whole numbers from 1 to 256");
        LaunchScripts.Run targets = LaunchScripts.run(tmp, "bench-log", "--groups", "4",
                "--gnomon-targets", "1=127.0.0.1:1");
        assertThat(targets.exitCode()).isEqualTo(2);
        assertThat(targets.stderr()).contains("--groups starts its own replicas for each G");
    }
}
