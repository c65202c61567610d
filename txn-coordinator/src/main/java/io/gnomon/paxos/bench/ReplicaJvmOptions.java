package io.gnomon.paxos.bench;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;

/**
 * The JVM settings of the {@code bin/replica} processes a benchmark starts, the same for every benchmark so that
 * figures of the log and of transactions compare: the JIT, the young generation, then any further options.
 */
final class ReplicaJvmOptions {
    @Option(names = "--gnomon-jvm-arg", paramLabel = "ARG",
            description = "one more JVM option for every started replica (repeat for several); {id} becomes the "
                    + "replica's id, e.g. -XX:StartFlightRecording=filename=/tmp/r{id}.jfr,settings=profile")
    List<String> extra;

    @Option(names = "--gnomon-jit", defaultValue = "tiered",
            description = "the replicas' JIT: tiered (the JVM's default, C1 then C2; give it a warm-up of 20 s or so, "
                    + "or fresh replicas spend the measured window compiling with C2 on 2 cores) or c1 "
                    + "(-XX:TieredStopAtLevel=1: compiled once, quickly, about a third slower in steady state) "
                    + "(default ${DEFAULT-VALUE})")
    String jit;

    @Option(names = "--gnomon-young-gen-mb", defaultValue = "24",
            description = "the replicas' young generation (-Xmn), MiB; 0 leaves the JVM's default (a third of the "
                    + "256 MiB heap). What the replicas keep live (the log in memory, the machine's maps) is copied by "
                    + "each young collection: a small young generation gives shorter, more frequent pauses, which is "
                    + "what a p99 sees (default ${DEFAULT-VALUE})")
    int youngGenMb;

    /** The JIT and young-generation settings, then the --gnomon-jvm-arg options (later options win in the JVM). */
    List<String> jvmArgs(CommandSpec spec) {
        List<String> args = new ArrayList<>();
        switch (jit) {
            case "c1" -> args.add("-XX:TieredStopAtLevel=1");
            case "tiered" -> { }
            default -> throw new CommandLine.ParameterException(spec.commandLine(),
                    "--gnomon-jit must be c1 or tiered; got '" + jit + "'");
        }
        if (youngGenMb < 0 || youngGenMb > 128) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--gnomon-young-gen-mb must be 0 (the JVM's default) to 128 (half the replicas' heap); got " + youngGenMb);
        }
        if (youngGenMb > 0) {
            args.add("-Xmn" + youngGenMb + "m");
        }
        if (extra != null) {
            args.addAll(extra);
        }
        return args;
    }
}
