package io.gnomon.spanner.torture;

import java.util.ArrayList;
import java.util.List;

/** The faults the harness injects (docs/reliability.md, "Fault kinds"); the name is the command-line spelling. */
enum FaultKind {
    /** No fault: the workload alone, as a baseline. */
    NONE("none"),
    /** SIGKILL of a follower, restarted at heal. */
    KILL_FOLLOWER("kill-follower"),
    /** SIGKILL of the leader, restarted at heal. */
    KILL_LEADER("kill-leader"),
    /** SIGSTOP of the leader for longer than its lease, SIGCONT at heal. */
    PAUSE_LEADER("pause-leader"),
    /** The leader and fewer than half of the others cut off from the majority. */
    PARTITION_MAJORITY("partition-majority"),
    /** Two sides that cannot hear each other, and one replica in the middle that hears both. */
    PARTITION_BRIDGE("partition-bridge"),
    /** The leader cut off from every other replica; clients still reach it. */
    ISOLATE_LEADER("isolate-leader"),
    /** Links cut in one direction only: a deaf leader, a mute leader or a deaf follower ({@link OneWayCut}). */
    PARTITION_ONE_WAY("partition-one-way"),
    /** Every replica's TrueTime drifts at 200 ppm (Spanner's assumed worst case), the leader one way, the rest the other. */
    CLOCK_DRIFT("clock-drift"),
    /** The leader's TrueTime steps 200 ms forward and a follower's 200 ms back. */
    CLOCK_STEP("clock-step"),
    /** The leader's TrueTime is unavailable for the whole fault window, as while its clock daemon restarts. */
    CLOCK_RESTART("clock-restart"),
    /**
     * Every link between replicas loses {@link #LOSSY_LOSS_RATE} of its messages, duplicates
     * {@link #LOSSY_DUPLICATE_RATE} of the rest and delays each copy by up to {@link #LOSSY_MAX_DELAY_MILLIS}
     * (so messages reorder); clients still reach every replica.
     */
    LOSSY_NETWORK("lossy-network"),
    /** clock-drift on every replica plus one process or network fault at random, each window. */
    MIXED("mixed"),
    /**
     * Transactions only ({@code --backend txn}): SIGKILL of the leader of group 1 while a read-write transaction
     * that group coordinates is in its commit (two-phase commit across groups), restarted at heal.
     */
    KILL_COORDINATOR("kill-coordinator");

    static final double LOSSY_LOSS_RATE = 0.2;
    static final double LOSSY_DUPLICATE_RATE = 0.1;
    static final long LOSSY_MAX_DELAY_MILLIS = 50;

    /** What {@code mixed} adds to clock-drift, one chosen by the seed each window (the same on every backend). */
    static final List<FaultKind> MIXED_WITH = List.of(KILL_FOLLOWER, KILL_LEADER, PAUSE_LEADER, PARTITION_MAJORITY,
            PARTITION_BRIDGE, ISOLATE_LEADER, PARTITION_ONE_WAY, CLOCK_STEP, LOSSY_NETWORK);

    private final String cli;

    FaultKind(String cli) {
        this.cli = cli;
    }

    String cli() {
        return cli;
    }

    static FaultKind parse(String s) {
        for (FaultKind k : values()) {
            if (k.cli.equals(s)) {
                return k;
            }
        }
        List<String> all = new ArrayList<>(names());
        all.add(KILL_COORDINATOR.cli);
        throw new IllegalArgumentException("fault " + s + ": use one of " + all);
    }

    /** The kinds every backend injects (the list-append tables' rows): all but {@link #KILL_COORDINATOR}. */
    static List<String> names() {
        List<String> out = new ArrayList<>();
        for (FaultKind k : values()) {
            if (k != KILL_COORDINATOR) {
                out.add(k.cli);
            }
        }
        return out;
    }

    boolean isClock() {
        return this == CLOCK_DRIFT || this == CLOCK_STEP || this == CLOCK_RESTART;
    }

    boolean isPartition() {
        return this == PARTITION_MAJORITY || this == PARTITION_BRIDGE || this == ISOLATE_LEADER
                || this == PARTITION_ONE_WAY;
    }
}
