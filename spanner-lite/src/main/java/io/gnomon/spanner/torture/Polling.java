package io.gnomon.spanner.torture;

import java.time.Duration;
import java.util.Optional;

/** Waiting on a condition another process decides (an election, a restart), with a deadline. */
final class Polling {
    private Polling() {
    }

    /** Something to ask again until it answers. */
    interface Probe<T> {
        Optional<T> poll() throws Exception;
    }

    /**
     * Asks {@code probe} every {@code intervalMillis} until it answers or {@code timeout} passes; a probe that
     * throws counts as no answer (a process restarting refuses connections).
     */
    static <T> Optional<T> await(Probe<T> probe, Duration timeout, long intervalMillis) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() - deadline < 0) {
            try {
                Optional<T> answer = probe.poll();
                if (answer.isPresent()) {
                    return answer;
                }
            } catch (InterruptedException e) {
                throw e;
            } catch (Exception e) {
                // no answer yet; ask again until the deadline
            }
            Thread.sleep(intervalMillis);
        }
        return Optional.empty();
    }

    /** Like {@link #await}, failing with "no {@code what} within ..." at the deadline. */
    static <T> T require(Probe<T> probe, Duration timeout, String what) throws InterruptedException {
        return await(probe, timeout, 50).orElseThrow(() -> new IllegalStateException("no " + what + " within "
                + timeout.toSeconds() + " s"));
    }
}
