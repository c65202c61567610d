package io.gnomon.clockd.testing;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** Stopping the server processes that test fixtures start. */
final class Processes {
    private static final long KILL_WAIT_SECONDS = 5;

    private Processes() {
    }

    /** SIGTERM, up to {@code grace} for a clean exit, then SIGKILL; an interrupt kills at once and is kept. */
    static void stop(Process process, Duration grace) {
        process.destroy();
        try {
            if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly().waitFor(KILL_WAIT_SECONDS, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }
}
