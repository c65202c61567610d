package io.gnomon.paxos;

import io.gnomon.paxos.Output.Diagnostic.Code;
import io.gnomon.paxos.Output.Effect;
import io.gnomon.paxos.PersistWrite.PersistConfig;
import io.gnomon.paxos.ReplicaState.Role;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

import static io.gnomon.paxos.ReplicaState.invariantBroken;

/**
 * Single-server membership change (one replica added or removed per change): the configuration entry ends the
 * current configuration (the Sequence Paxos "StopSign", lecture notes arXiv 2008.13456 section 6) and the next one
 * starts at the following slot with its own ballots. Keeps the configurations this replica has been in (a snapshot
 * names the one in force at its end) and the membership lease wait: a change waits until TrueTime is after any
 * lease this replica held two configurations back (issue 16).
 */
final class Membership {
    /** A configuration and the first slot it decides. */
    record ConfigRecord(long configId, List<Integer> members, long startIndex) {
    }

    private final ReplicaState st;
    /** Negative control only: see {@link PaxosReplica#skipMembershipLeaseWaitForNegativeControl()}. */
    private boolean skipMembershipLeaseWait;
    private final ArrayList<ConfigRecord> configHistory = new ArrayList<>();
    /** The highest configuration heard of that this replica has not entered (0: none). */
    private long knownNewerConfigId;
    /**
     * The latest end of a lease this replica held as leader in the current configuration (recorded when it steps
     * down), and in any configuration before it. A membership change waits until TrueTime is after the second:
     * the grantors of the current configuration cover a lease held in the one just before it (a majority of
     * either meets a majority of the other), but not one held two changes back, which a shorter lease in between
     * may outlast ({@link #nextConfigEntry}).
     */
    private long leaseEndHeldInConfigEpochNanos = Long.MIN_VALUE;
    private long leaseEndHeldBeforeConfigEpochNanos = Long.MIN_VALUE;

    /** The configurations of the recovered state: the snapshot's (if it differs) and the current one. */
    Membership(ReplicaState st) {
        this.st = st;
        Snapshot snapshot = st.snapshot;
        if (snapshot != null && snapshot.configId() != st.configId) {
            configHistory.add(new ConfigRecord(snapshot.configId(), snapshot.members(), snapshot.configStartIndex()));
        }
        configHistory.add(new ConfigRecord(st.configId, st.members, st.configStartIndex));
    }

    /** Negative control (issue 16): see {@link PaxosReplica#skipMembershipLeaseWaitForNegativeControl()}. */
    void skipMembershipLeaseWait() {
        this.skipMembershipLeaseWait = true;
    }

    /**
     * The configuration entry that changes the members to {@code nextMembers}, or null (with a diagnostic) when the
     * change adds or removes other than exactly one replica, or must wait out a lease held in an earlier configuration.
     */
    Entry nextConfigEntry(List<Integer> nextMembers) {
        TreeSet<Integer> next = new TreeSet<>(nextMembers);
        TreeSet<Integer> current = new TreeSet<>(st.members);
        TreeSet<Integer> added = new TreeSet<>(next);
        added.removeAll(current);
        TreeSet<Integer> removed = new TreeSet<>(current);
        removed.removeAll(next);
        if (added.size() + removed.size() != 1 || next.isEmpty() || next.first() < 1) {
            st.diag(Code.BAD_MEMBERSHIP_CHANGE, "from " + current + " to " + next
                    + ": exactly one replica may be added or removed per change (ids >= 1)");
            return null;
        }
        if (!skipMembershipLeaseWait && st.tt.earliestEpochNanos() <= leaseEndHeldBeforeConfigEpochNanos) {
            // The next configuration's majorities need not meet the ones that granted that lease: its leader could
            // hold a lease while ours still runs. It ends at most a (grantor's) lease after we left that configuration.
            st.diag(Code.LEASE_WAIT, "membership change to " + next + " refused: this replica held a lease in an "
                    + "earlier configuration until " + leaseEndHeldBeforeConfigEpochNanos + ", TrueTime earliest "
                    + st.tt.earliestEpochNanos() + "; retry in "
                    + ((leaseEndHeldBeforeConfigEpochNanos - st.tt.earliestEpochNanos()) / 1_000_000 + 1) + " ms");
            return null;
        }
        return Entry.config(st.configId + 1, List.copyOf(next));
    }

    /** This replica stepped down holding a lease until {@code leaseEndEpochNanos} ({@link Long#MIN_VALUE}: none). */
    void noteLeaseHeld(long leaseEndEpochNanos) {
        leaseEndHeldInConfigEpochNanos = Math.max(leaseEndHeldInConfigEpochNanos, leaseEndEpochNanos);
    }

    /** A message named configuration {@code id}, ahead of ours, without bringing us into it. */
    void noteNewerConfig(long id) {
        knownNewerConfigId = Math.max(knownNewerConfigId, id);
    }

    /** Whether a later configuration than ours exists: ours is over, and this replica must not campaign in it. */
    boolean newerConfigKnown() {
        return knownNewerConfigId > st.configId;
    }

    /** The configuration in force for slot {@code slot} (what a snapshot ending there names). */
    ConfigRecord configInForceAt(long slot) {
        ConfigRecord c = configHistory.get(0);
        for (ConfigRecord r : configHistory) {
            if (r.startIndex() <= slot) {
                c = r;
            }
        }
        return c;
    }

    /**
     * Enters configuration {@code id} (a decided configuration entry, or a leader's Prepare naming it): its
     * ballots start from zero, nothing undecided of the old configuration survives, and a lease held in the old one
     * now counts as held before it.
     */
    void enterConfiguration(long id, List<Integer> nextMembers, long startIndex) {
        if (st.role != Role.FOLLOWER) {
            st.leader.stepDown("configuration " + id + " starts");
        }
        if (id <= st.configId) {
            throw invariantBroken("configuration " + id + " is not after " + st.configId);
        }
        leaseEndHeldBeforeConfigEpochNanos = Math.max(leaseEndHeldBeforeConfigEpochNanos,
                leaseEndHeldInConfigEpochNanos);
        leaseEndHeldInConfigEpochNanos = Long.MIN_VALUE;
        st.configId = id;
        st.members = List.copyOf(nextMembers);
        st.configStartIndex = startIndex;
        st.promised = Ballot.ZERO;
        st.acceptedRound = Ballot.ZERO;
        st.maxRoundSeen = 0;
        st.follower.losePlace();
        st.leaderId = -1;
        st.truncate(st.decidedIndex); // nothing undecided of the old configuration may be adopted in the new one
        st.persist(new PersistConfig(st.configId, st.members, st.configStartIndex, st.decidedIndex));
        configHistory.add(new ConfigRecord(st.configId, st.members, st.configStartIndex));
        if (knownNewerConfigId <= st.configId) {
            knownNewerConfigId = 0;
        }
        st.out.effects.add(new Effect.ConfigChanged(st.configId, st.members, st.configStartIndex));
        st.resetElectionTimer();
    }
}
