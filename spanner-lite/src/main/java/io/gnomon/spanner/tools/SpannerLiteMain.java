package io.gnomon.spanner.tools;

import io.gnomon.spanner.torture.TortureCommand;
import io.gnomon.spanner.torture.TortureReportCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;

/**
 * {@code bin/spanner-lite}: the store's command-line tools, one subcommand each ({@code check},
 * {@code gen-history}). A new tool (e.g. {@code torture}) is a picocli command class added to
 * {@code subcommands} below.
 */
@Command(name = "spanner-lite", mixinStandardHelpOptions = true,
        description = "spanner-lite tools: check a list-append history for strict serializability, generate one, torture a cluster.",
        subcommands = {CheckCommand.class, GenHistoryCommand.class, TortureCommand.class, TortureReportCommand.class, CommandLine.HelpCommand.class})
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

    public static void main(String[] args) {
        System.exit(run(new PrintWriter(System.out), new PrintWriter(System.err), args));
    }
}
