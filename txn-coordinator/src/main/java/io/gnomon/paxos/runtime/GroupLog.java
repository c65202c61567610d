package io.gnomon.paxos.runtime;

import io.gnomon.paxos.PersistWrite;

import java.util.List;

/**
 * Where a {@link ReplicaDriver} writes its core's durable writes: {@link DurableStateStore} over a log file in a
 * replica process, a simulated disk that loses unsynced writes in the simulator.
 */
public interface GroupLog extends AutoCloseable {
    /** Applies {@code writes} in order without syncing; a later {@link #sync()} makes them durable. */
    void write(List<PersistWrite> writes);

    /** Makes every write so far durable. Throws if it cannot (the caller must then stop and recover). */
    void sync();

    @Override
    void close();
}
