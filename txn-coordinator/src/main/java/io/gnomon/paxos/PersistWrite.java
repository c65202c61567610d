package io.gnomon.paxos;

import java.util.List;

/**
 * A durable write the runtime must make (and, under the sync policy, force) before the messages of the same
 * {@link Output} leave. Writes are applied in order; {@link DurableState} is their reference meaning.
 */
public sealed interface PersistWrite {

    /** The promised ballot in {@code configId}. */
    record PersistPromise(long configId, Ballot promised) implements PersistWrite {
    }

    /**
     * Every lease this replica granted, or grants in the messages of the same output, ends at or before
     * {@code grantedLeaseEndEpochNanos} (TrueTime epoch nanoseconds). A restarted replica promises no other ballot
     * until TrueTime is after it, whatever lease duration it restarts with. The core writes an end ahead of the
     * grant it makes ({@link PaxosConfig#grantPersistAheadNanos()}), so renewals inside it need no write; only the
     * largest value ever written matters (a later, smaller one changes nothing).
     */
    record PersistLeaseGrant(long grantedLeaseEndEpochNanos) implements PersistWrite {
        public PersistLeaseGrant {
            if (grantedLeaseEndEpochNanos <= 0) {
                throw new IllegalArgumentException("grantedLeaseEndEpochNanos must be > 0 (TrueTime epoch nanos), was "
                        + grantedLeaseEndEpochNanos);
            }
        }
    }

    /**
     * Truncate the log at {@code fromSlot}, append {@code entries} (accepted in {@code acceptedRound}) from
     * there, and record {@code acceptedRound}.
     */
    record PersistAccepted(long configId, Ballot acceptedRound, long fromSlot, List<Entry> entries)
            implements PersistWrite {
        public PersistAccepted {
            entries = List.copyOf(entries);
        }
    }

    /** Slots below {@code decidedIndex} are decided. */
    record PersistDecided(long decidedIndex) implements PersistWrite {
    }

    /** Drop the log below {@code snapshot.endIndex()}; the snapshot replaces it. */
    record PersistSnapshot(Snapshot snapshot) implements PersistWrite {
    }

    /**
     * Enter configuration {@code configId} (its slots start at {@code configStartIndex}): promised and accepted
     * round reset to zero, log truncated at {@code truncateLogAt} (nothing undecided survives a configuration).
     */
    record PersistConfig(long configId, List<Integer> members, long configStartIndex, long truncateLogAt)
            implements PersistWrite {
        public PersistConfig {
            members = List.copyOf(members);
        }
    }
}
