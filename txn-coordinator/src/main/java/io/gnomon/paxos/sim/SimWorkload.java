package io.gnomon.paxos.sim;

import io.gnomon.paxos.runtime.StateMachine;
import io.gnomon.paxos.store.StoreLimits;
import io.gnomon.txn.TxnHost;
import io.gnomon.txn.TxnLimits;

import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * An application run on top of a simulated Paxos group in place of the simulator's own random client, faults
 * and lease reads: the verification harness's list-append workload runs here, so the same workload and checker
 * run in deterministic simulation as against real processes. The simulator calls these on its one thread, in
 * simulated time; the workload acts through the {@link SimWorld} it gets at {@link #start}.
 */
public interface SimWorkload {
    /** Once, before the first event: schedule the first client and fault events. */
    void start(SimWorld world);

    /** Whether the run is over; checked after every event. */
    boolean finished();

    /**
     * A new, empty state machine for a group's replica on a process that starts for the first time; its host
     * applies decided commands to it, flushes and snapshots it, as a replica server's host does. It must be an
     * {@link io.gnomon.paxos.runtime.InMemoryMachine}: a crash of the process takes it back to what it flushed and
     * the restarted host goes on with it.
     */
    StateMachine newMachine();

    /** The stale-lease-reads negative control: hosts answer lease reads without checking their lease. */
    default boolean staleLeaseReads() {
        return false;
    }

    /**
     * A transactional run (issue 20), or null (the default): every group's replica on every process is a {@link
     * TxnHost} over a {@link io.gnomon.txn.TxnMachine} in the process's versioned store, attached to the process's
     * loop as a replica server attaches it, and {@link #newMachine} is not asked. The workload then talks to
     * replicas through {@link SimWorld}'s transaction methods.
     */
    default Transactions transactional() {
        return null;
    }

    /**
     * How a transactional run's groups are set up.
     *
     * @param limits       the cores' limits
     * @param options      the transaction hosts' options
     * @param storeLimits  each process's versioned store's limits (keys, values, batches)
     * @param dataDir      where each process's store lives (a directory per process under it; removed at the end)
     * @param hostHook     run on every transaction host as it starts: a negative control's test-only switch, or
     *                     {@link #NO_HOOK}
     */
    record Transactions(TxnLimits limits, TxnHost.Options options, StoreLimits storeLimits, Path dataDir,
                        Consumer<TxnHost<?>> hostHook) {
        /** The hook of a real run: hosts as the product runs them. */
        public static final Consumer<TxnHost<?>> NO_HOOK = h -> { };
    }
}
