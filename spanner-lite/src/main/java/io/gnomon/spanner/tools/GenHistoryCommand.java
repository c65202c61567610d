package io.gnomon.spanner.tools;

import io.gnomon.paxos.cli.VersionProvider;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.concurrent.Callable;

/** {@code spanner-lite gen-history}: a history of a simulated strictly serializable store, for benchmarks and demos. */
@Command(name = "gen-history", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = {"Record the history of a simulated strictly serializable list-append store (seeded).",
                "--fault makes the store misbehave once, producing that anomaly class (named as check reports it)."})
final class GenHistoryCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--txns", paramLabel = "N", description = "transactions (default ${DEFAULT-VALUE})")
    int txns = 10_000;

    @Option(names = "--processes", paramLabel = "N", description = "concurrent clients (default ${DEFAULT-VALUE})")
    int processes = 10;

    @Option(names = "--keys", paramLabel = "N", description = "keys in use at a time (default ${DEFAULT-VALUE})")
    int keys = 10;

    @Option(names = "--max-appends-per-key", paramLabel = "N",
            description = "appends before a key is retired (default ${DEFAULT-VALUE})")
    int maxAppendsPerKey = 64;

    @Option(names = "--max-micro-ops", paramLabel = "N",
            description = "micro-ops per transaction, at most (default ${DEFAULT-VALUE})")
    int maxMicroOps = 4;

    @Option(names = "--fail-percent", paramLabel = "PERCENT",
            description = "transactions that fail (default ${DEFAULT-VALUE})")
    int failPercent = 5;

    @Option(names = "--info-percent", paramLabel = "PERCENT",
            description = "transactions that end info (default ${DEFAULT-VALUE})")
    int infoPercent = 5;

    @Option(names = "--timestamps", description = "record commit and read timestamps and read modes, as Spanner"
            + " returns them (off: the history has none, as before)")
    boolean timestamps;

    @Option(names = "--stale-percent", paramLabel = "PERCENT",
            description = "with --timestamps: read-only transactions that read an older snapshot (default ${DEFAULT-VALUE})")
    int stalePercent = 30;

    @Option(names = "--seed", paramLabel = "N", description = "the seed (default ${DEFAULT-VALUE})")
    long seed = 1;

    @Option(names = "--fault", paramLabel = "CLASS", defaultValue = "none", converter = FaultName.class, completionCandidates = FaultName.class,
            description = "one of ${COMPLETION-CANDIDATES}, in any case (default ${DEFAULT-VALUE})")
    SerialStoreSimulation.Fault fault;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "where to write (default: standard output)")
    Path output;

    @Override
    public Integer call() throws IOException {
        SerialStoreSimulation.Config config;
        try {
            config = new SerialStoreSimulation.Config(seed, txns, processes, keys, maxAppendsPerKey, maxMicroOps,
                    failPercent, infoPercent, fault, timestamps, stalePercent);
        } catch (IllegalArgumentException e) {
            spec.commandLine().getErr().println("spanner-lite gen-history: " + e.getMessage());
            return 2;
        }
        if (output != null) {
            try (Writer out = Files.newBufferedWriter(output, StandardCharsets.UTF_8)) {
                SerialStoreSimulation.run(config, out);
            } catch (IOException e) {
                spec.commandLine().getErr().println("spanner-lite gen-history: cannot write '" + output + "': "
                        + SpannerLiteMain.reasonOf(e));
                return 2;
            }
        } else {
            Writer out = new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), 1 << 16);
            SerialStoreSimulation.run(config, new java.io.FilterWriter(out) {
                @Override
                public void close() throws IOException {
                    flush(); // leave standard output open
                }
            });
        }
        return 0;
    }

    /** {@code --fault} by the checker's class names ({@code G1a}, {@code G-single-realtime}), in any case. */
    static final class FaultName implements ITypeConverter<SerialStoreSimulation.Fault>, Iterable<String> {
        @Override
        public SerialStoreSimulation.Fault convert(String value) {
            try {
                return SerialStoreSimulation.Fault.named(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }

        @Override
        public Iterator<String> iterator() {
            return Arrays.stream(SerialStoreSimulation.Fault.values()).map(SerialStoreSimulation.Fault::cliName).iterator();
        }
    }
}
