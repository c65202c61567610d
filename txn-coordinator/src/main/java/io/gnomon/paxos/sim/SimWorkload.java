package io.gnomon.paxos.sim;

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

    /** Replica {@code node} applied a decided value, in slot order, each once per incarnation. */
    void applied(int node, long slot, byte[] value);

    /**
     * Replica {@code node} replaced its state with a snapshot's (the application part as {@link #state} gave it)
     * covering slots below {@code nextSlot}.
     */
    void restored(int node, long nextSlot, byte[] state);

    /** Replica {@code node}'s application state, for a snapshot through its last applied slot. */
    byte[] state(int node);

    /**
     * Replica {@code node} became leader ({@code true}; its log end is the read fence) or stepped down from
     * leading or from a candidacy that never led ({@code false}): what it was asked to append may never be applied.
     */
    void leadership(int node, boolean leader);

    /** Replica {@code node}'s process died: its memory is gone, replies it owed are never sent. */
    void crashed(int node);
}
