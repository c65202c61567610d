package io.gnomon.paxos.runtime;

import io.gnomon.paxos.PersistWrite;

import java.util.List;

/**
 * Where a {@link ReplicaDriver} writes its core's durable writes: in a replica process, a group's view of the
 * process's one {@link io.gnomon.paxos.wal.ProcessLog} (or, with {@code --log chronicle}, a {@link DurableStateStore}
 * over the group's own log file); in the simulator, a simulated disk that loses unsynced writes.
 */
public interface GroupLog extends AutoCloseable {
    /** Applies {@code writes} in order without syncing; a later {@link #sync()} makes them durable. */
    void write(List<PersistWrite> writes);

    /** Makes every write so far durable. Throws if it cannot (the caller must then stop and recover). */
    void sync();

    @Override
    void close();
}
