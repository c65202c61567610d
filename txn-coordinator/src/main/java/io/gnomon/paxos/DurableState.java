package io.gnomon.paxos;

import java.util.ArrayList;
import java.util.List;

/**
 * The reference meaning of {@link PersistWrite}s: applying a replica's writes in order gives the state it
 * recovers from. The simulator uses it as a replica's disk; a durable log can use it to check itself.
 */
public final class DurableState {
    private long configId;
    private List<Integer> members;
    private long configStartIndex;
    private Ballot promised = Ballot.ZERO;
    private Ballot acceptedRound = Ballot.ZERO;
    private Snapshot snapshot;
    private long firstSlot;
    private final ArrayList<Entry> entries = new ArrayList<>();
    private long decidedIndex;
    /** The largest {@link PersistWrite.PersistLeaseGrant} end written; 0 if none (a grant never shrinks). */
    private long grantedLeaseEndEpochNanos;

    /** The state of a replica that has written nothing: configuration 1 with {@code initialMembers}. */
    public DurableState(List<Integer> initialMembers) {
        this.configId = 1;
        this.members = List.copyOf(initialMembers);
    }

    /** The state of a replica that joins later: no configuration until a leader's Prepare names one. */
    public static DurableState joining() {
        DurableState s = new DurableState(List.of());
        s.configId = 0;
        return s;
    }

    public void apply(PersistWrite w) {
        if (w instanceof PersistWrite.PersistPromise p) {
            promised = p.promised();
        } else if (w instanceof PersistWrite.PersistLeaseGrant g) {
            grantedLeaseEndEpochNanos = Math.max(grantedLeaseEndEpochNanos, g.grantedLeaseEndEpochNanos());
        } else if (w instanceof PersistWrite.PersistAccepted a) {
            acceptedRound = a.acceptedRound();
            truncate(a.fromSlot());
            if (firstSlot + entries.size() != a.fromSlot()) {
                throw new IllegalStateException("append at " + a.fromSlot() + " leaves a gap after "
                        + (firstSlot + entries.size()));
            }
            entries.addAll(a.entries());
        } else if (w instanceof PersistWrite.PersistDecided d) {
            decidedIndex = Math.max(decidedIndex, d.decidedIndex());
        } else if (w instanceof PersistWrite.PersistSnapshot s) {
            long end = s.snapshot().endIndex();
            if (snapshot == null || end > snapshot.endIndex()) {
                snapshot = s.snapshot();
                long logEnd = firstSlot + entries.size();
                if (logEnd <= end) {
                    entries.clear();
                } else {
                    entries.subList(0, (int) (end - firstSlot)).clear();
                }
                firstSlot = end;
                decidedIndex = Math.max(decidedIndex, end);
            }
        } else if (w instanceof PersistWrite.PersistConfig c) {
            configId = c.configId();
            members = c.members();
            configStartIndex = c.configStartIndex();
            promised = Ballot.ZERO; // grants made in the old configuration still run: grantedLeaseEnd stays
            acceptedRound = Ballot.ZERO;
            truncate(c.truncateLogAt());
        }
    }

    private void truncate(long slot) {
        long logEnd = firstSlot + entries.size();
        if (slot < firstSlot) {
            throw new IllegalStateException("truncate at " + slot + " below compacted prefix " + firstSlot);
        }
        if (slot < logEnd) {
            entries.subList((int) (slot - firstSlot), entries.size()).clear();
        }
    }

    public Recovered toRecovered() {
        return new Recovered(configId, members, configStartIndex, promised, acceptedRound, snapshot, firstSlot,
                List.copyOf(entries), decidedIndex, grantedLeaseEndEpochNanos);
    }

    /**
     * What a replica read back from its durable log after a restart.
     *
     * @param firstSlot                 the slot of {@code entries.get(0)} (the snapshot's end, or 0)
     * @param grantedLeaseEndEpochNanos every lease granted before the restart ends at or before this (TrueTime
     *                                  epoch nanoseconds); 0 if none was written (also a log written before grants
     *                                  were persisted)
     */
    public record Recovered(long configId, List<Integer> members, long configStartIndex, Ballot promised,
                            Ballot acceptedRound, Snapshot snapshot, long firstSlot, List<Entry> entries,
                            long decidedIndex, long grantedLeaseEndEpochNanos) {
        public Recovered {
            members = List.copyOf(members);
            entries = List.copyOf(entries);
        }
    }
}
