package io.gnomon.spanner.torture;

import java.util.List;

/**
 * Where each negative control can show (docs/reliability.md, "The negative controls"). Both bugs let a lease read
 * be answered from a replica that is no longer the only leader; the checker can only see that as a stale read, which
 * needs an old leader that still answers after a new leader has committed a write that a client saw. Whether a fault
 * kind can produce that at the default lease (1 s) and election timeout (300 ms) follows from two rules of the
 * correct code that the controls leave alone: a leader that has heard no majority for twice the election timeout
 * steps down (about 0.9 s after it last heard one, before the 1 s lease it was granted runs out), and a replica that
 * hears a higher ballot steps down.
 */
final class NegativeControls {
    static final String STALE_LEASE_READS = "stale-lease-reads";
    static final String SKIP_LEASE_WAIT = "skip-lease-wait";
    static final List<String> ALL = List.of(STALE_LEASE_READS, SKIP_LEASE_WAIT);
    /**
     * The transaction host's controls ({@code --backend txn}, {@link TxnCluster}): each run under its own condition
     * for the whole run, which a fault schedule may add to. {@code skip-commit-wait}: one replica's TrueTime reads
     * {@link TxnCluster#FAST_CLOCK_NANOS} fast within its ε (the interval widened by as much), so a commit it
     * timestamps lies ahead of true time when its client hears of it, and a transaction or strong read that starts
     * next at another replica gets a smaller timestamp. {@code skip-safe-time}: every link between replicas lossy
     * (as {@link FaultKind#LOSSY_NETWORK}), so followers lag and a snapshot read served before its safe time misses
     * writes committed at or below its timestamp.
     */
    static final String SKIP_COMMIT_WAIT = "skip-commit-wait";
    static final String SKIP_SAFE_TIME = "skip-safe-time";
    static final List<String> TXN = List.of(SKIP_COMMIT_WAIT, SKIP_SAFE_TIME);

    private NegativeControls() {
    }

    /**
     * Why {@code control} cannot show under {@code kind} at the default timeouts and schedule, or null if it can.
     * The report still runs every kind in simulation, so a catch where this says "cannot" would show in the table.
     */
    static String whyCannotShow(String control, FaultKind kind) {
        boolean stale = control.equals(STALE_LEASE_READS);
        return switch (kind) {
            case NONE -> "no fault: the leader never changes";
            case KILL_FOLLOWER, PARTITION_BRIDGE, CLOCK_DRIFT, CLOCK_STEP ->
                    "the leader keeps a majority and its lease (clock faults are truthful), so no second leader is elected";
            case KILL_LEADER -> "the old leader is dead, and restarts as a follower";
            case PAUSE_LEADER -> stale ? null
                    : "the old leader answers nothing while stopped, and its lease is over when it resumes (the hold, "
                    + "2.5 s, is longer than the 1 s lease)";
            case PARTITION_MAJORITY, ISOLATE_LEADER -> stale
                    ? "the cut-off leader steps down (no majority heard for 2 x 300 ms) before its 1 s lease ends, and "
                    + "the others wait out that lease before electing anyone"
                    : null;
            case PARTITION_ONE_WAY -> stale ? null
                    : "a deaf leader is still heard, so no one campaigns until it steps down; a mute leader hears the "
                    + "new ballot and, with the lease wait skipped, steps down at once";
            case CLOCK_RESTART -> stale ? null
                    : "the old leader answers no read while its TrueTime is unavailable, and its lease is over when the "
                    + "clock returns (hold 2.5 s, lease 1 s)";
            case LOSSY_NETWORK -> stale
                    ? "a leader that loses its majority steps down before its lease ends, and no one else is elected "
                    + "before that lease ends"
                    : "20 % loss almost never silences the leader to both followers for an election timeout "
                    + "(3 heartbeats in a row to each), so no second leader is elected";
            case MIXED -> null;
            case KILL_COORDINATOR -> "a transactional fault (--backend txn), which has no lease negative control";
        };
    }
}
