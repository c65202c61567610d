package io.gnomon.paxos.storage;

import io.gnomon.paxos.Ballot;

import java.util.Arrays;
import java.util.NavigableMap;
import java.util.Objects;

/**
 * What a Multi-Paxos acceptor must never forget: the ballot it promised (with the lease it granted), the
 * entries it accepted, how far it knows the log is decided, and the snapshot that replaced the prefix.
 *
 * <p>Contract with the runtime (persist before send): for one core output, call the persist methods for
 * everything the output asks to persist, then {@link #sync()} once, and only then let the output's messages
 * leave. Each persist call returns once its record is in the page cache (it survives {@code kill -9});
 * {@code sync()} adds whatever the {@link SyncPolicy} promises beyond that.
 *
 * <p>The persist methods refuse (with {@link IllegalArgumentException}) what would mean a bug in the core:
 * a promise or an accepted entry below what is already stored, a decided index going back, a snapshot
 * older than the stored one. A refused call writes nothing.
 *
 * <pre>{@code
 * try (DurableLog log = ChronicleDurableLog.open(dir, SyncPolicy.SYNC_EACH_BATCH, LogLimits.DEFAULTS)) {
 *     DurableLog.Recovered r = log.recover();        // restore the acceptor from r
 *     log.persistPromise(new Ballot(7, 2), leaseEndEpochNanos);
 *     log.persistAccepted(List.of(new DurableLog.Entry(41, new Ballot(7, 2), value)));
 *     log.sync();                                     // now the Promise/Accepted reply may be sent
 * }
 * }</pre>
 *
 * Implementations are thread-safe, but the runtime is expected to drive one log from one thread.
 */
public interface DurableLog extends AutoCloseable {

    /** The decided index, or snapshot slot, of a log where nothing is decided yet. Slots are {@code >= 0}. */
    long NO_SLOT = -1;

    /**
     * Records that the acceptor promised {@code promised} and granted its leader a lease until
     * {@code leaseEndEpochNanos} (realtime, TrueTime's epoch nanoseconds; 0 if no lease was granted).
     * A repeated promise of the same ballot (a lease renewal) is allowed.
     *
     * @throws IllegalArgumentException if {@code promised} is below the stored promise, or the lease end is negative
     */
    void persistPromise(Ballot promised, long leaseEndEpochNanos);

    /**
     * Records accepted entries. For a slot, an entry with a higher ballot supersedes the stored one, and an
     * entry with the same ballot replaces it (idempotent re-accept).
     *
     * @throws IllegalArgumentException if an entry's ballot is below the one stored for its slot, its slot is
     *                                  covered by the snapshot or negative, or the batch breaks a {@link LogLimits} bound
     */
    void persistAccepted(java.util.List<Entry> entries);

    /**
     * Records that every slot {@code <= decidedUpToSlot} is decided. Repeating the stored value is a no-op.
     *
     * @throws IllegalArgumentException if {@code decidedUpToSlot} is below the stored decided index
     */
    void persistDecided(long decidedUpToSlot);

    /**
     * Records a snapshot of the state machine through {@code s.lastIncludedSlot()} and compacts: entries at or
     * below that slot are forgotten and cycle files that hold only superseded records are deleted. Also raises
     * the decided index to at least {@code s.lastIncludedSlot()} (a snapshot only covers decided slots).
     * Returns after the compacted log is in the page cache and, under {@link SyncPolicy#SYNC_EACH_BATCH},
     * forced to disk.
     *
     * @throws IllegalArgumentException if the snapshot is older than the stored one or breaks
     *                                  {@link LogLimits#maxSnapshotBytes()}
     */
    void persistSnapshot(Snapshot s);

    /** Makes everything persisted so far as durable as the {@link SyncPolicy} says. Cheap when nothing is new. */
    void sync();

    /**
     * The state the log holds: after {@code open}, what recovery rebuilt from disk; later, that plus every
     * persist call since. The returned map is an unmodifiable copy.
     */
    Recovered recover();

    /** Closes the log; the next open recovers everything persisted, synced or not (unless power was lost). */
    @Override
    void close();

    /**
     * An accepted value for a slot. The log keeps the given array: do not modify it after handing it over.
     * {@code equals} compares the value's bytes.
     */
    record Entry(long slot, Ballot ballot, byte[] value) {
        public Entry {
            Objects.requireNonNull(ballot, "ballot");
            Objects.requireNonNull(value, "value");
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Entry e && slot == e.slot && ballot.equals(e.ballot) && Arrays.equals(value, e.value);
        }

        @Override
        public int hashCode() {
            return Objects.hash(slot, ballot) * 31 + Arrays.hashCode(value);
        }

        @Override
        public String toString() {
            return "Entry[slot=" + slot + ", ballot=" + ballot + ", value=" + value.length + " bytes]";
        }
    }

    /**
     * The state machine's state after applying every slot up to {@code lastIncludedSlot}, decided at
     * {@code lastIncludedBallot}, with the membership in force at that slot (both opaque to the log).
     */
    record Snapshot(long lastIncludedSlot, Ballot lastIncludedBallot, byte[] state, byte[] membership) {
        public Snapshot {
            if (lastIncludedSlot < 0) {
                throw new IllegalArgumentException("snapshot lastIncludedSlot must be >= 0, was " + lastIncludedSlot);
            }
            Objects.requireNonNull(lastIncludedBallot, "lastIncludedBallot");
            Objects.requireNonNull(state, "state");
            Objects.requireNonNull(membership, "membership");
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Snapshot s && lastIncludedSlot == s.lastIncludedSlot
                    && lastIncludedBallot.equals(s.lastIncludedBallot)
                    && Arrays.equals(state, s.state) && Arrays.equals(membership, s.membership);
        }

        @Override
        public int hashCode() {
            return (Objects.hash(lastIncludedSlot, lastIncludedBallot) * 31 + Arrays.hashCode(state)) * 31
                    + Arrays.hashCode(membership);
        }

        @Override
        public String toString() {
            return "Snapshot[lastIncludedSlot=" + lastIncludedSlot + ", lastIncludedBallot=" + lastIncludedBallot
                    + ", state=" + state.length + " bytes, membership=" + membership.length + " bytes]";
        }
    }

    /**
     * What the acceptor restores from the log.
     *
     * @param promised                  the highest ballot promised; {@link Ballot#ZERO} if none
     * @param grantedLeaseEndEpochNanos the latest lease end ever granted with a promise (a granted lease cannot
     *                                  be taken back, so this never goes down); 0 if none
     * @param decidedUpTo               every slot {@code <=} this is decided; {@link #NO_SLOT} if none
     * @param snapshotOrNull            the newest snapshot, or null
     * @param entriesAboveSnapshot      for each slot above the snapshot, the accepted entry with the highest ballot
     */
    record Recovered(Ballot promised, long grantedLeaseEndEpochNanos, long decidedUpTo, Snapshot snapshotOrNull,
                     NavigableMap<Long, Entry> entriesAboveSnapshot) {
    }
}
