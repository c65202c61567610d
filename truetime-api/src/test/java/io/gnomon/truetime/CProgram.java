package io.gnomon.truetime;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** A C reader in src/test/c, compiled with the machine's gcc (the test is skipped without one) and run. */
public final class CProgram {
    private final Path binary;

    private CProgram(Path binary) {
        this.binary = binary;
    }

    public record Result(int exitCode, String output) {
        /** The output's space-separated numbers. */
        public List<Long> numbers() {
            List<Long> out = new ArrayList<>();
            for (String f : output.split(" ")) {
                out.add(Long.parseLong(f));
            }
            return out;
        }
    }

    /** Compiles {@code source} (a path relative to the module, or absolute) into {@code dir}. */
    public static CProgram compile(Path source, Path dir) throws Exception {
        Path abs = source.toAbsolutePath();
        assumeTrue(Files.isRegularFile(abs), "C source not found at " + abs);
        Path binary = dir.resolve(abs.getFileName().toString().replace(".c", ""));
        Result r;
        try {
            r = exec("gcc", "-O2", "-std=c11", "-Wall", "-Wextra", "-Werror", "-o", binary.toString(), abs.toString());
        } catch (IOException e) {
            assumeTrue(false, "no gcc on this host: " + e.getMessage());
            return null;
        }
        assertThat(r.exitCode()).as("gcc: %s", r.output()).isZero();
        return new CProgram(binary);
    }

    public Result run(String... args) throws IOException, InterruptedException {
        String[] command = new String[args.length + 1];
        command[0] = binary.toString();
        System.arraycopy(args, 0, command, 1, args.length);
        return exec(command);
    }

    static Result exec(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), out);
    }
}
