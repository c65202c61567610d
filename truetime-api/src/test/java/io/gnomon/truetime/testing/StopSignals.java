package io.gnomon.truetime.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * Stops a daemon process the way systemd ({@code TERM}) or a terminal ({@code INT}) does, and asserts that it
 * was a clean stop: exit code 0 within a limit. For the process tests of clockd and the replica.
 */
public final class StopSignals {
    private static final int SIGINT = 2;

    private StopSignals() {
    }

    /**
     * Sends SIG{@code signal} ({@code TERM} or {@code INT}) to {@code p}, waits up to {@code limit} and asserts
     * exit code 0; {@code log} describes the process in a failure. Kills it with SIGKILL in any case. Skips the test
     * (an assumption) when {@code p} ignores SIGINT: a shell without job control starts background jobs so, and
     * children inherit it, so no handler could see it.
     */
    public static void stopCleanly(Process p, String signal, Duration limit, Supplier<String> log) throws Exception {
        try {
            assertThat(p.isAlive()).as(log).isTrue();
            if (signal.equals("TERM")) {
                p.destroy(); // SIGTERM on Linux
            } else {
                assumeFalse(ignores(p.pid(), SIGINT), "SIGINT is ignored by this test's process, hence by its children");
                assertThat(new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).start().waitFor()).isZero();
            }
            assertThat(p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)).as("stopped within " + limit).isTrue();
            assertThat(p.exitValue()).as(() -> "exit code after SIG" + signal + "; output:\n" + log.get()).isZero();
        } finally {
            p.destroyForcibly();
        }
    }

    /** Whether process {@code pid} ignores signal number {@code signal} (its SigIgn mask in /proc). */
    static boolean ignores(long pid, int signal) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith("SigIgn:")) {
                return (Long.parseUnsignedLong(line.substring("SigIgn:".length()).strip(), 16) & (1L << (signal - 1))) != 0;
            }
        }
        return false;
    }
}
