package io.gnomon.paxos;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a script in bin/ as an operator would: a separate process, its real exit code, standard output and
 * standard error apart (so a test can tell results from progress and messages). Run from a module's directory,
 * as surefire does.
 */
public final class LaunchScripts {
    public static final Path BIN = Path.of("..", "bin").toAbsolutePath().normalize();
    private static final long TIMEOUT_SECONDS = 120;

    private LaunchScripts() {
    }

    /** One finished run. */
    public record Run(int exitCode, String stdout, String stderr) {
    }

    /** {@code bin/<script> args...} with nothing on standard input. */
    public static Run run(Path dir, String script, String... args) throws Exception {
        return runWithInput(dir, null, script, args);
    }

    /** {@code bin/<script> args...} with {@code input} (or nothing, if null) as standard input. */
    public static Run runWithInput(Path dir, Path input, String script, String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(BIN.resolve(script).toString());
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile(dir, "out", ".txt");
        Path err = Files.createTempFile(dir, "err", ".txt");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = (input == null ? pb : pb.redirectInput(input.toFile())).start();
        if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            // Its own children too (the replica and etcd processes a benchmark started): left alone, they ran on as
            // orphans after bin/bench-txn timed out here, still holding two cores' worth of CPU half an hour later.
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", cmd) + " did not finish in " + TIMEOUT_SECONDS
                    + " s; its standard error:\n" + Files.readString(err));
        }
        return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
    }
}
