package io.gnomon.spanner.torture;

import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;

/** A backend the harness can also hurt: inject a fault, heal it, and see when it serves again. */
interface Cluster extends TxnBackend {
    /** The fault kinds this cluster can inject ({@code none} always). */
    Set<FaultKind> supportedFaults();

    /** Injects one fault now; the returned heal undoes it. Chooses victims (leader, follower) with {@code random}. */
    Injected inject(FaultKind kind, SplittableRandom random) throws Exception;

    /**
     * Waits until the cluster serves again: a fast read is served and a write applied. Returns how long that
     * took, or empty if not within {@code timeout}.
     */
    Optional<Duration> awaitRecovery(Duration timeout) throws InterruptedException;

    /** A fault in place: what was done, and how to undo it. */
    record Injected(String description, Heal heal) {
    }

    /** Undoes one fault. */
    interface Heal {
        void heal() throws Exception;
    }
}
