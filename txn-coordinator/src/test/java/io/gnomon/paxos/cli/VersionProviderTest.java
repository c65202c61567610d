package io.gnomon.paxos.cli;

import io.gnomon.paxos.bench.FailoverMain;
import io.gnomon.paxos.bench.LogLoadMain;
import io.gnomon.paxos.bench.TxnLoadMain;
import io.gnomon.paxos.server.ReplicaMain;
import io.gnomon.paxos.sim.PaxosSimMain;
import io.gnomon.paxos.LaunchScripts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code -V} of every txn-coordinator command (bin/replica, bin/paxos-sim, bin/bench-log, bin/bench-failover, bin/bench-txn). */
class VersionProviderTest {
    @Test
    void everyCommandPrintsItsNameAndTheVersionAndExitsZero() {
        Map<String, Object> commands = Map.of("replica", new ReplicaMain(), "paxos-sim", new PaxosSimMain(),
                "bench-log", new LogLoadMain(), "bench-failover", new FailoverMain(), "bench-txn", new TxnLoadMain());
        commands.forEach((name, command) -> {
            for (String flag : new String[] {"-V", "--version"}) {
                StringWriter out = new StringWriter();
                StringWriter err = new StringWriter();
                CommandLine cli = new CommandLine(command);
                cli.setOut(new PrintWriter(out, true));
                cli.setErr(new PrintWriter(err, true));
                int exitCode = cli.execute(flag);
                assertThat(exitCode).as(name + " " + flag + ": " + err).isZero();
                assertThat(out.toString()).as(name + " " + flag).matches(name + " \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?\\R");
                assertThat(err.toString()).isEmpty();
            }
        });
    }

    /** As an operator runs them: the scripts find the version on their classpath (truetime-api's filtered resource). */
    @Test
    void theScriptsPrintTheVersion(@TempDir Path dir) throws Exception {
        for (String script : new String[] {"replica", "paxos-sim"}) {
            LaunchScripts.Run r = LaunchScripts.run(dir, script, "-V");
            assertThat(r.exitCode()).as(script + " -V: " + r.stderr()).isZero();
            assertThat(r.stdout()).isEqualTo(script + " " + io.gnomon.truetime.ProjectVersion.get() + "\n");
        }
    }
}
