package io.gnomon.paxos.server;

import io.gnomon.paxos.store.GroupStore;
import io.gnomon.paxos.store.VersionedStore;

import java.util.SortedMap;

/**
 * The one flusher of a process's {@link VersionedStore}, shared by every machine on it. An engine flush is
 * process-wide (one memtable holds every group's writes), so a machine's {@code flush()} flushes the engine only
 * when its own group has applied past what is durable, and a host with many groups calls {@link #flushAll()} once
 * per loop turn or period, after which each machine's {@code flush()} finds its group durable and costs nothing.
 * Callers racing on several threads are serialized here: one waiting behind a running flush re-checks its group
 * after it, and usually finds it covered (the flush captured every index applied before it began).
 */
public final class StoreFlusher {
    private final VersionedStore store;
    private long engineFlushes;

    StoreFlusher(VersionedStore store) {
        this.store = store;
    }

    /** Flushes the engine: every group's applied index so far is durable; returns them (see VersionedStore#flush). */
    public synchronized SortedMap<Long, Long> flushAll() {
        engineFlushes++;
        return store.flush();
    }

    /**
     * Makes {@code group}'s applied index durable, flushing the engine only if it is not already, and returns
     * the group's durable applied index (GroupStore's numbering: the last durable log index, -1 for none).
     */
    synchronized long flushGroup(GroupStore group) {
        long applied = group.appliedIndex();
        if (group.durableAppliedIndex() < applied) {
            flushAll();
        }
        long durable = group.durableAppliedIndex();
        if (durable < applied) {
            throw new IllegalStateException("group " + group.groupId() + ": the engine flush covered applied index "
                    + durable + ", not " + applied + " (an install began meanwhile?)");
        }
        return durable;
    }

    /** Engine flushes done through this flusher since the store opened (tests, reports). */
    public synchronized long engineFlushes() {
        return engineFlushes;
    }
}
