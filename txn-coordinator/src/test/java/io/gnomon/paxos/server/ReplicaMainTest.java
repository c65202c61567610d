package io.gnomon.paxos.server;

import io.gnomon.paxos.LaunchScripts;
import io.gnomon.paxos.LaunchScripts.Run;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import io.gnomon.paxos.cluster.ClusterFile;
import io.gnomon.paxos.cluster.ClusterFileException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** bin/replica's help and its checks of the command line, as an operator meets them. */
class ReplicaMainTest {
    private static String help() {
        return new CommandLine(new ReplicaMain()).getUsageMessage(CommandLine.Help.Ansi.OFF);
    }

    /** The example, pasted into a shell: lines joined where they end with a backslash. */
    @Test
    void theHelpExamplePastedStartsTheGroupItNames() {
        List<String> lines = help().lines().toList();
        int first = lines.indexOf("Example (3 replicas on one host):") + 1;
        assertThat(first).isPositive();
        StringBuilder command = new StringBuilder();
        int i = first;
        for (; lines.get(i).endsWith("\\"); i++) {
            command.append(lines.get(i), 0, lines.get(i).length() - 1);
        }
        command.append(lines.get(i));
        assertThat(lines.get(i + 1)).as("the line after the example's last is blank, so nothing else runs on").isBlank();

        List<String> words = new ArrayList<>(Arrays.asList(command.toString().trim().split("\\s+")));
        assertThat(words.remove(0)).isEqualTo("bin/replica");
        ReplicaMain parsed = new ReplicaMain();
        new CommandLine(parsed).parseArgs(words.toArray(String[]::new));
        assertThat(parsed.memberSpecs).containsExactly("1=127.0.0.1:7401", "2=127.0.0.1:7402", "3=127.0.0.1:7403");
        assertThat(parsed.dataDir).isEqualTo(Path.of("/var/lib/gnomon/r1"));
    }

    @Test
    void everyOptionHasALabelNotAJavaFieldName() {
        assertThat(help()).doesNotContainPattern("<[a-z][A-Za-z]*>").contains("--lease-ms=MS").contains("--id=ID");
    }

    @Test
    void timingErrorsNameTheFlagsAndExitTwo(@TempDir Path dir) throws Exception {
        String[] group = {"--id", "1", "--member", "1=127.0.0.1:7401", "--data-dir", dir.resolve("r1").toString(),
                "--truetime", "system:1ms"};
        Run lease = LaunchScripts.run(dir, "replica", with(group, "--lease-ms", "100", "--heartbeat-ms", "100"));
        assertThat(lease.exitCode()).isEqualTo(2);
        assertThat(lease.stderr())
                .isEqualTo("replica: --lease-ms 100 must exceed --heartbeat-ms 100, or leases lapse while healthy\n");
        Run election = LaunchScripts.run(dir, "replica", with(group, "--election-timeout-ms", "50"));
        assertThat(election.exitCode()).isEqualTo(2);
        assertThat(election.stderr()).isEqualTo("replica: --election-timeout-ms 50 must exceed --heartbeat-ms 100,"
                + " or followers start elections under a healthy leader\n");
        Run log = LaunchScripts.run(dir, "replica", with(group, "--log", "rocks"));
        assertThat(log.exitCode()).isEqualTo(2);
        assertThat(log.stderr()).isEqualTo("replica: --log rocks: use process or chronicle\n");
        Run store = LaunchScripts.run(dir, "replica", with(group, "--store", "disk"));
        assertThat(store.exitCode()).isEqualTo(2);
        assertThat(store.stderr()).isEqualTo("replica: --store disk: use rocks or memory\n");
        Run loops = LaunchScripts.run(dir, "replica", with(group, "--loop-threads", "-1"));
        assertThat(loops.exitCode()).isEqualTo(2);
        assertThat(loops.stderr()).isEqualTo("replica: --loop-threads -1: must be >= 0 (0: one per two processors)\n");
        Run halfTls = LaunchScripts.run(dir, "replica", with(group, "--tls-cert", dir.resolve("c.pem").toString()));
        assertThat(halfTls.exitCode()).isEqualTo(2);
        assertThat(halfTls.stderr()).isEqualTo("replica: --tls-cert, --tls-key and --tls-ca go together; missing: "
                + "--tls-key --tls-ca\n");
        Run noCert = LaunchScripts.run(dir, "replica", with(group, "--tls-cert", dir.resolve("c.pem").toString(),
                "--tls-key", dir.resolve("c.key").toString(), "--tls-ca", dir.resolve("ca.pem").toString()));
        assertThat(noCert.exitCode()).isEqualTo(2);
        assertThat(noCert.stderr()).isEqualTo("replica: certificate chain " + dir.resolve("c.pem") + ": no such file\n");
        Run mutualOnly = LaunchScripts.run(dir, "replica", with(group, "--tls-require-client-cert"));
        assertThat(mutualOnly.exitCode()).isEqualTo(2);
        assertThat(mutualOnly.stderr()).isEqualTo("replica: --tls-require-client-cert needs TLS: give --tls-cert, "
                + "--tls-key and --tls-ca\n");
        Run txnControl = LaunchScripts.run(dir, "replica", with(group, "--negative-control", "skip-commit-wait"));
        assertThat(txnControl.exitCode()).isEqualTo(2);
        assertThat(txnControl.stderr()).isEqualTo("replica: --negative-control skip-commit-wait is a transaction host's"
                + " bug: it needs --machine txn, not list-append\n");
        // bin/replica runs the product's classpath, where the test-only switch is absent
        Run productControl = LaunchScripts.run(dir, "replica", with(group, "--machine", "txn", "--negative-control",
                "skip-safe-time"));
        assertThat(productControl.exitCode()).isEqualTo(2);
        assertThat(productControl.stderr()).isEqualTo("replica: negative control SKIP_SAFE_TIME is test-only: "
                + "io.gnomon.txn.TestOnlyTxnNegativeControl is not on this classpath (it lives in txn-coordinator's"
                + " test classes)\n");
    }

    @Test
    void aLockedStoreIsARuntimeFailureNamingTheDirectoryExitOne(@TempDir Path dir) throws Exception {
        String[] group = {"--id", "1", "--member", "1=127.0.0.1:" + ReplicaProcesses.freePort(), "--data-dir",
                dir.resolve("r1").toString(), "--truetime", "system:1ms"};
        try (StoredMachines holder = StoredMachines.open(dir.resolve("r1"))) {
            Run locked = LaunchScripts.run(dir, "replica", group);
            assertThat(locked.exitCode()).isEqualTo(1);
            assertThat(locked.stderr()).startsWith("replica 1: cannot start: ")
                    .contains(dir.resolve("r1").resolve("store").toString()).contains("locked");
        }
    }

    @Test
    void aBadClusterFileIsRefusedWithClusterFilesMessageAndExitTwo(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("cluster.yaml");
        Files.writeString(file, """
                processes:
                  - {id: 1, peer: "127.0.0.1:7101", client: "127.0.0.1:7102"}
                groups:
                  - {id: 1, range: {start: ""}, replicas: [1, 7]}
                """);
        ClusterFileException expected = org.junit.jupiter.api.Assertions.assertThrows(ClusterFileException.class,
                () -> ClusterFile.load(file));
        Run bad = LaunchScripts.run(dir, "replica", "--cluster", file.toString(), "--process", "1",
                "--truetime", "system:1ms");
        assertThat(bad.exitCode()).isEqualTo(2);
        assertThat(bad.stderr()).isEqualTo("replica: " + expected.getMessage() + "\n");
    }

    @Test
    void clusterAndProcessGoTogetherAndNotWithIdOrMember(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("cluster.yaml");
        Files.writeString(file, """
                processes:
                  - {id: 1, peer: "127.0.0.1:7101", client: "127.0.0.1:7102"}
                groups:
                  - {id: 1, replicas: [1]}
                """);
        assertThat(new CommandLine(new ReplicaMain()).execute("--cluster", file.toString())).isEqualTo(2);
        assertThat(new CommandLine(new ReplicaMain()).execute("--cluster", file.toString(), "--process", "1",
                "--id", "1")).isEqualTo(2);
        assertThat(new CommandLine(new ReplicaMain()).execute("--cluster", file.toString(), "--process", "4"))
                .isEqualTo(2);
        // No data-dir in the file and none given.
        assertThat(new CommandLine(new ReplicaMain()).execute("--cluster", file.toString(), "--process", "1"))
                .isEqualTo(2);
        assertThat(new CommandLine(new ReplicaMain()).execute("--id", "1")).isEqualTo(2);
    }

    @Test
    void theClusterHelpExampleParses() {
        List<String> lines = help().lines().toList();
        int first = lines.indexOf("Example (process 1 of a cluster file, every group it replicates):") + 1;
        assertThat(first).isPositive();
        StringBuilder command = new StringBuilder();
        int i = first;
        for (; lines.get(i).endsWith("\\"); i++) {
            command.append(lines.get(i), 0, lines.get(i).length() - 1);
        }
        command.append(lines.get(i));
        List<String> words = new ArrayList<>(Arrays.asList(command.toString().trim().split("\\s+")));
        assertThat(words.remove(0)).isEqualTo("bin/replica");
        ReplicaMain parsed = new ReplicaMain();
        new CommandLine(parsed).parseArgs(words.toArray(String[]::new));
        assertThat(parsed.clusterFile).isEqualTo(Path.of("cluster.yaml"));
        assertThat(parsed.process).isEqualTo(1);
    }

    private static String[] with(String[] base, String... more) {
        String[] all = Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, all, base.length, more.length);
        return all;
    }
}
