package io.gnomon.clockd.cli;

import io.gnomon.clockd.journal.Journal;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.Callable;

/** {@code clockd-journal}: prints the daemon's journal of samples, rejections and snapshots. */
@Command(name = "clockd-journal", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "Replay clockd's journal: one line per measurement, rejected sample and published snapshot.",
        footer = {"", "Exit codes: 0 printed, 1 cannot read the journal, 2 bad arguments."})
public final class JournalCli implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "DIR", description = "the journal directory (clockd's journal.dir)")
    Path dir;

    @Option(names = "--from", paramLabel = "INSTANT", description = "only entries at or after this ISO-8601 instant")
    Instant from;

    public static void main(String[] args) {
        CommandLine cl = new CommandLine(new JournalCli());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("clockd-journal: " + ex.getMessage());
            return 1;
        });
        System.exit(cl.execute(args));
    }

    @Override
    public Integer call() throws Exception {
        long fromEpochNanos = from == null ? 0 : from.getEpochSecond() * 1_000_000_000L + from.getNano();
        long n = Journal.replay(dir, System.out, fromEpochNanos);
        System.err.println("clockd-journal: " + n + " entries");
        return 0;
    }
}
