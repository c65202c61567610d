package io.gnomon.paxos.bench;

import io.gnomon.paxos.LaunchScripts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code bin/bench-txn --quick} as CI runs it: every backend against real processes (3 {@code bin/replica --machine
 * txn} processes at two ε, a 3-member etcd), a row each, the comparisons and the ε sweep; and usage errors
 * refused before anything starts.
 */
class TxnLoadMainTest {

    @TempDir
    Path tmp;

    private static final String NUMBER = "[\\d.]+";

    @Test
    void quickRunsEveryBackendThenTheComparisonsAndTheSweep() throws Exception {
        Path gnomon = Files.createDirectories(tmp.resolve("gnomon"));
        LaunchScripts.Run run = LaunchScripts.run(tmp, "bench-txn", "--quick", "--gnomon-dir", gnomon.toString(),
                "--etcd-dir", tmp.toString());
        assertThat(run.exitCode()).as(run.stderr()).isZero();
        String out = run.stdout();
        // Gnomon rows carry ε and the coordinator's commit-wait; etcd's have neither. Errors 0 everywhere.
        for (String row : new String[] {"gnomon-put", "gnomon-rw"}) {
            assertThat(out).containsPattern("(?m)^\\| " + row + " \\| 1 \\| 8 \\| [1-9]\\d* \\| " + NUMBER
                    + "( \\| " + NUMBER + "){6} \\| 0 \\| \\d+ \\| \\d+ \\| " + NUMBER + " \\| " + NUMBER + " \\| \\d+ \\|$");
        }
        assertThat(out).containsPattern("(?m)^\\| gnomon-ro \\| 1 \\| 8 \\| [1-9]\\d* \\|( " + NUMBER
                + " \\|){7} 0 \\| 0 \\| 0 \\| - \\| - \\| \\d+ \\|$");
        for (String row : new String[] {"etcd-put", "etcd-txn"}) {
            assertThat(out).containsPattern("(?m)^\\| " + row + " \\| - \\| 8 \\| [1-9]\\d* \\|( " + NUMBER
                    + " \\|){7} 0 \\| \\d+ \\| \\d+ \\| - \\| - \\| \\d+ \\|$");
        }
        assertThat(out).containsPattern("(?m)^\\| gnomon-put eps=0\\.1ms \\| 0\\.1 \\| 8 \\| [1-9]");
        assertThat(out).containsPattern("(?m)^\\| gnomon-put / etcd-put \\(single-key writes\\) \\| \\d+ / \\d+ \\| "
                        + NUMBER + " \\| " + NUMBER + " / " + NUMBER + " \\| " + NUMBER + " \\| ≥ 1\\.5x, p99 ratio ≤ 1 \\| (not )?met \\|$")
                .containsPattern("(?m)^\\| gnomon-rw / etcd-txn \\(read-modify-write transactions\\) \\| ")
                .containsPattern("(?m)^\\| gnomon-ro / gnomon-rw \\(read-only against read-write, equal concurrency\\) "
                        + "\\| .* \\| ≥ 5x \\| (not )?met \\|$");
        // the sweep: the smallest ε is the baseline, the other row is judged against the bound
        assertThat(out).containsPattern("(?m)^\\| 0\\.1 \\| \\d+ \\| " + NUMBER + " \\| " + NUMBER + " \\| " + NUMBER
                        + " \\| " + NUMBER + " \\| - \\| " + NUMBER + " \\| - \\|$")
                .containsPattern("(?m)^\\| 1 \\| \\d+ \\| " + NUMBER + " \\| " + NUMBER + " \\| " + NUMBER + " \\| "
                        + NUMBER + " \\| -?" + NUMBER + " \\| " + NUMBER + " \\| (yes|no) \\|$");
        // --verify (part of --quick): no read-modify-write lost or doubled, on either side
        assertThat(run.stderr()).contains("gnomon-rw: verified: the write counts of the 200 keys rose by ")
                .contains("etcd-txn: verified: the write counts of the 200 keys rose by ").doesNotContain("--verify");
        // a cluster per ε, one etcd, each stopped and its directory removed once its last backend ran
        assertThat(run.stderr()).contains("--truetime system:1000000ns").contains("--truetime system:100000ns")
                .contains("a generated cluster of 2 groups").contains("50% of multi-key transactions span groups");
        try (var left = Files.list(gnomon)) {
            assertThat(left).as("replica directories left behind").isEmpty();
        }
    }

    @Test
    void usageErrorsNameTheOptionAndStartNothing() throws Exception {
        LaunchScripts.Run cross = LaunchScripts.run(tmp, "bench-txn", "--cross-group", "0.5");
        assertThat(cross.exitCode()).isEqualTo(2);
        assertThat(cross.stderr()).contains("--cross-group 0.5 needs --groups 2 or more");
        LaunchScripts.Run backend = LaunchScripts.run(tmp, "bench-txn", "--backend", "gnomon-rw,mongo");
        assertThat(backend.exitCode()).isEqualTo(2);
        assertThat(backend.stderr()).contains("unknown --backend 'mongo'; known backends: gnomon-rw, gnomon-put");
        LaunchScripts.Run eps = LaunchScripts.run(tmp, "bench-txn", "--sweep-epsilon", "1ms,80ms");
        assertThat(eps.exitCode()).isEqualTo(2);
        assertThat(eps.stderr()).contains("--sweep-epsilon must be from 1ns to 50ms");
        LaunchScripts.Run value = LaunchScripts.run(tmp, "bench-txn", "--value-bytes", "4");
        assertThat(value.exitCode()).isEqualTo(2);
        assertThat(value.stderr()).contains("--value-bytes must be 8..");
    }
}
