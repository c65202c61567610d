package io.gnomon.spanner.tools;

import io.gnomon.paxos.cli.VersionProvider;
import io.gnomon.spanner.torture.SimTxnCommand;
import io.gnomon.spanner.torture.TortureCommand;
import io.gnomon.spanner.torture.TortureReportCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;

/**
 * {@code bin/spanner-lite}: the store's command-line tools, one subcommand each ({@code check},
 * {@code gen-history}). A new tool (e.g. {@code torture}) is a picocli command class added to
 * {@code subcommands} below.
 */
@Command(name = "spanner-lite", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "spanner-lite tools: check a list-append history for strict serializability, generate one, torture a cluster.",
        subcommands = {CheckCommand.class, GenHistoryCommand.class, TortureCommand.class, TortureReportCommand.class, SimTxnCommand.class, CommandLine.HelpCommand.class})
public final class SpannerLiteMain implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required");
    }

    /** Runs a command line with the given output streams and returns its exit code; for tests. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cli = new CommandLine(new SpannerLiteMain());
        cli.setOut(out);
        cli.setErr(err);
        try {
            return cli.execute(args);
        } finally {
            out.flush();
            err.flush();
        }
    }

    /** What an I/O failure was, without the exception's class name: {@code Is a directory}, {@code permission denied}. */
    static String reasonOf(IOException e) {
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof NoSuchFileException) {
            return "no such file or directory";
        }
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        return String.valueOf(e.getMessage());
    }

    public static void main(String[] args) {
        System.exit(run(new PrintWriter(System.out), new PrintWriter(System.err), args));
    }
}
