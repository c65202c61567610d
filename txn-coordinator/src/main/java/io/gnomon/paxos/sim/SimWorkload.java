package io.gnomon.paxos.sim;

import io.gnomon.paxos.runtime.StateMachine;

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
}
