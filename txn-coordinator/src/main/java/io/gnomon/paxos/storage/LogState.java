package io.gnomon.paxos.storage;

import io.gnomon.paxos.Ballot;

import java.util.Collections;
import java.util.List;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * The live state of the log, rebuilt by replaying records in order ({@link #apply}) and kept current by the
 * persist calls. Replay is lenient and deterministic (the maximum wins), the {@code check*} methods that guard
 * the persist calls are strict: a record the checks refuse is never written, so replay never has to choose.
 */
final class LogState {
    Ballot promised = Ballot.ZERO;
    long grantedLeaseEndEpochNanos;
    long decidedUpTo = DurableLog.NO_SLOT;
    DurableLog.Snapshot snapshot;
    final TreeMap<Long, DurableLog.Entry> entries = new TreeMap<>();

    long snapshotSlot() {
        return snapshot == null ? DurableLog.NO_SLOT : snapshot.lastIncludedSlot();
    }

    void apply(RecordCodec.Decoded d) {
        if (d instanceof RecordCodec.Promise p) {
            applyPromise(p.ballot(), p.leaseEndEpochNanos());
        } else if (d instanceof RecordCodec.Accepted a) {
            applyAccepted(a.entries());
        } else if (d instanceof RecordCodec.Decided x) {
            decidedUpTo = Math.max(decidedUpTo, x.decidedUpToSlot());
        } else if (d instanceof RecordCodec.SnapshotRecord s) {
            applySnapshot(s.snapshot());
        } else {
            throw new AssertionError("unhandled record " + d);
        }
    }

    void applyPromise(Ballot b, long leaseEndEpochNanos) {
        if (b.compareTo(promised) >= 0) {
            promised = b;
        }
        grantedLeaseEndEpochNanos = Math.max(grantedLeaseEndEpochNanos, leaseEndEpochNanos);
    }

    void applyAccepted(List<DurableLog.Entry> batch) {
        long covered = snapshotSlot();
        for (DurableLog.Entry e : batch) {
            if (e.slot() <= covered) {
                continue;
            }
            DurableLog.Entry old = entries.get(e.slot());
            if (old == null || e.ballot().compareTo(old.ballot()) >= 0) {
                entries.put(e.slot(), e);
            }
        }
    }

    void applySnapshot(DurableLog.Snapshot s) {
        if (s.lastIncludedSlot() >= snapshotSlot()) {
            snapshot = s;
            entries.headMap(s.lastIncludedSlot(), true).clear();
            decidedUpTo = Math.max(decidedUpTo, s.lastIncludedSlot());
        }
    }

    void checkPromise(Ballot b, long leaseEndEpochNanos) {
        if (b.compareTo(promised) < 0) {
            throw new IllegalArgumentException("promise " + b + " is below the stored promise " + promised
                    + ": an acceptor's promise only grows (a bug in the core)");
        }
        if (leaseEndEpochNanos < 0) {
            throw new IllegalArgumentException("leaseEndEpochNanos must be >= 0 (0 = no lease), was " + leaseEndEpochNanos);
        }
    }

    void checkAccepted(List<DurableLog.Entry> batch, LogLimits limits) {
        if (batch.size() > limits.maxBatchEntries()) {
            throw new IllegalArgumentException("batch of " + batch.size() + " entries exceeds maxBatchEntries="
                    + limits.maxBatchEntries() + "; split it into several persistAccepted calls");
        }
        long covered = snapshotSlot();
        long totalBytes = 0;
        for (int i = 0; i < batch.size(); i++) {
            DurableLog.Entry e = batch.get(i);
            if (e == null) {
                throw new NullPointerException("entry " + i + " of the batch is null");
            }
            if (e.value().length > limits.maxEntryValueBytes()) {
                throw new IllegalArgumentException("entry for slot " + e.slot() + " has a " + e.value().length
                        + "-byte value, above maxEntryValueBytes=" + limits.maxEntryValueBytes()
                        + "; the proposer must refuse or split such values");
            }
            totalBytes += e.value().length;
            if (e.slot() < 0) {
                throw new IllegalArgumentException("entry slot must be >= 0, was " + e.slot());
            }
            if (e.slot() <= covered) {
                throw new IllegalArgumentException("entry for slot " + e.slot() + " is covered by the snapshot through slot "
                        + covered + ": the core must not accept below its snapshot");
            }
            Ballot stored = storedBallot(batch, i);
            if (stored != null && e.ballot().compareTo(stored) < 0) {
                throw new IllegalArgumentException("entry for slot " + e.slot() + " at ballot " + e.ballot()
                        + " is below the stored ballot " + stored + " for that slot: it would undo an accept (a bug in the core)");
            }
        }
        if (totalBytes > limits.maxBatchValueBytes()) {
            throw new IllegalArgumentException("batch holds " + totalBytes + " value bytes, above maxBatchValueBytes="
                    + limits.maxBatchValueBytes() + "; split it into several persistAccepted calls");
        }
    }

    /** The ballot stored for the slot of {@code batch[i]}, counting earlier entries of the same batch. */
    private Ballot storedBallot(List<DurableLog.Entry> batch, int i) {
        long slot = batch.get(i).slot();
        for (int j = i - 1; j >= 0; j--) {
            if (batch.get(j).slot() == slot) {
                return batch.get(j).ballot();
            }
        }
        DurableLog.Entry old = entries.get(slot);
        return old == null ? null : old.ballot();
    }

    void checkDecided(long decidedUpToSlot) {
        if (decidedUpToSlot < decidedUpTo) {
            throw new IllegalArgumentException("decidedUpToSlot " + decidedUpToSlot + " is below the stored "
                    + decidedUpTo + ": what is decided stays decided (a bug in the core)");
        }
    }

    void checkSnapshot(DurableLog.Snapshot s, LogLimits limits) {
        long bytes = (long) s.state().length + s.membership().length;
        if (bytes > limits.maxSnapshotBytes()) {
            throw new IllegalArgumentException("snapshot through slot " + s.lastIncludedSlot() + " holds " + bytes
                    + " bytes of state and membership, above maxSnapshotBytes=" + limits.maxSnapshotBytes()
                    + "; raise the limit or make the state smaller");
        }
        if (s.lastIncludedSlot() < snapshotSlot()) {
            throw new IllegalArgumentException("snapshot through slot " + s.lastIncludedSlot()
                    + " is older than the stored snapshot through slot " + snapshotSlot());
        }
    }

    DurableLog.Recovered toRecovered() {
        NavigableMap<Long, DurableLog.Entry> copy = Collections.unmodifiableNavigableMap(new TreeMap<>(entries));
        return new DurableLog.Recovered(promised, grantedLeaseEndEpochNanos, decidedUpTo, snapshot, copy);
    }
}
