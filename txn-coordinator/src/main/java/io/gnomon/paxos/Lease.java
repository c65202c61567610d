package io.gnomon.paxos;

import io.gnomon.paxos.PersistWrite.PersistLeaseGrant;
import io.gnomon.paxos.ReplicaState.Role;
import io.gnomon.truetime.TimeInterval;

import java.util.ArrayList;
import java.util.TreeMap;

import static io.gnomon.paxos.ReplicaState.invariantBroken;
import static io.gnomon.paxos.ReplicaState.saturatedAdd;

/**
 * TrueTime leader leases (Spanner, OSDI 2012 section 4.1.1), both sides of them: the grant this replica made
 * (to whom, until when, how far it is persisted) and, while it leads, the grants it holds. A grant promises the
 * grantor will not promise any other replica's ballot until {@code TrueTime.after(grant end)}; the leader holds a
 * lease until the end a majority of the current configuration granted. Grants are persisted ahead of themselves
 * ({@link PaxosConfig#grantPersistAheadNanos()}) before they leave, and a restarted replica waits out the
 * persisted end (see {@link PaxosReplica#recover}).
 */
final class Lease {
    private final ReplicaState st;
    /** Negative control only: see {@link PaxosReplica#skipLeaseWaitForNegativeControl()}. */
    private boolean skipLeaseWait;
    private long grantedLeaseEndEpochNanos = Long.MIN_VALUE;
    private int grantedLeaseHolder = -1;
    /**
     * The largest grant end this replica has asked to persist (or recovered): a grant ending at or before it is
     * covered on a restart; one beyond it is persisted first ({@link #grant}). Durable state in that sense, though
     * it only grows and says nothing about the holder.
     */
    private long durableGrantEndEpochNanos;
    /**
     * The running grant is to this replica itself, made as a candidate, and it has not led since: no lease read
     * or timestamp ever relied on it, so promising a higher ballot may release it at once. A grant this replica
     * held as leader (or recovered after a crash) is never released early: it waits out its end.
     */
    private boolean selfGrantUnserved;
    /** While a candidate or leader: the latest grant end each replica gave this replica's ballot. */
    private final TreeMap<Integer, Long> leaseGrants = new TreeMap<>();

    /**
     * @param recoveredGrantEndEpochNanos the persisted grant end the replica recovered (0 if none)
     * @param restarted                   whether the replica restarted: then it waits out its earlier grants
     */
    Lease(ReplicaState st, long recoveredGrantEndEpochNanos, boolean restarted, TimeInterval trueTimeNow) {
        this.st = st;
        this.durableGrantEndEpochNanos = recoveredGrantEndEpochNanos;
        if (restarted) {
            // Either bound alone can fall short: the persisted end when the log predates persisted grants (0), the
            // old rule when this incarnation runs with a shorter lease than the one that granted (issue 16).
            grantedLeaseEndEpochNanos = Math.max(recoveredGrantEndEpochNanos,
                    saturatedAdd(trueTimeNow.latestEpochNanos(), st.config.leaseDurationNanos()));
        }
    }

    /** Negative control (issue 10): see {@link PaxosReplica#skipLeaseWaitForNegativeControl()}. */
    void skipLeaseWait() {
        this.skipLeaseWait = true;
    }

    /** Negative control (issue 16): see {@link PaxosReplica#forgetPersistedGrantForNegativeControl}. */
    void forgetPersistedGrant(TimeInterval trueTimeNow) {
        this.grantedLeaseEndEpochNanos = saturatedAdd(trueTimeNow.latestEpochNanos(), st.config.leaseDurationNanos());
    }

    // ------------------------------------------------------------------ the lease this replica holds as leader

    /** Whether this replica leads with a lease: {@code TrueTime.before(leaseEnd)}. */
    boolean canServeLeaseRead(TimeInterval trueTimeNow) {
        return st.role == Role.LEADER && st.members.contains(st.me)
                && trueTimeNow.latestEpochNanos() < leaseEndEpochNanos();
    }

    /** The end of the lease a majority granted to this leader's ballot; {@link Long#MIN_VALUE} if none. */
    long leaseEndEpochNanos() {
        if (st.role != Role.LEADER) {
            return Long.MIN_VALUE;
        }
        ArrayList<Long> ends = new ArrayList<>();
        for (int m : st.members) {
            Long g = leaseGrants.get(m);
            if (g != null) {
                ends.add(g);
            }
        }
        int majority = st.majority();
        if (ends.size() < majority) {
            return Long.MIN_VALUE;
        }
        ends.sort((a, b) -> Long.compare(b, a));
        return ends.get(majority - 1);
    }

    /** The end a leader asks its grantors for, in every Prepare, AcceptSync, Accept, Decide and InstallSnapshot. */
    long leaseRequest() {
        return saturatedAdd(st.tt.earliestEpochNanos(), st.config.leaseDurationNanos());
    }

    /** {@code from} granted our ballot a lease until {@code endEpochNanos} ({@link Long#MIN_VALUE}: none). */
    void recordGrant(int from, long endEpochNanos) {
        if (endEpochNanos != Long.MIN_VALUE) {
            leaseGrants.merge(from, endEpochNanos, Math::max);
        }
    }

    /** A new ballot (or none): the grants held for the old one count no more. */
    void clearGrants() {
        leaseGrants.clear();
    }

    /** This replica leads now: a grant it made to itself is served from here on (see {@link #selfGrantUnserved}). */
    void startedLeading() {
        selfGrantUnserved = false;
    }

    // ------------------------------------------------------------------ the grant this replica made

    /** Whether we may promise {@code candidate}: every lease we granted to someone else is over. */
    boolean canPromise(int candidate) {
        return skipLeaseWait || (grantedLeaseHolder == candidate && grantedLeaseHolder != -1)
                || st.tt.earliestEpochNanos() > grantedLeaseEndEpochNanos || selfGrantReleasable();
    }

    /** A self-grant made as a candidate that never led under it (see {@link #selfGrantUnserved}). */
    private boolean selfGrantReleasable() {
        return grantedLeaseHolder == st.me && selfGrantUnserved && st.role != Role.LEADER;
    }

    /** Grants {@code holder} a lease; returns its end, capped at what our own TrueTime allows. */
    long grant(int holder, long requestedEndEpochNanos) {
        if (requestedEndEpochNanos == Long.MIN_VALUE) {
            return Long.MIN_VALUE;
        }
        long end = Math.min(requestedEndEpochNanos,
                saturatedAdd(st.tt.latestEpochNanos(), st.config.leaseDurationNanos()));
        if (!(skipLeaseWait || holder == grantedLeaseHolder || st.tt.earliestEpochNanos() > grantedLeaseEndEpochNanos
                || selfGrantReleasable())) {
            throw invariantBroken("granting " + holder + " while the lease of " + grantedLeaseHolder + " runs");
        }
        if (holder != grantedLeaseHolder) {
            selfGrantUnserved = holder == st.me && st.role != Role.LEADER;
        }
        grantedLeaseEndEpochNanos = holder == grantedLeaseHolder ? Math.max(grantedLeaseEndEpochNanos, end) : end;
        grantedLeaseHolder = holder;
        if (end > durableGrantEndEpochNanos) {
            // Persisted before the grant leaves (the runtime syncs an output's writes before its messages), and a
            // little ahead of it so the next renewals are covered without a write (PaxosConfig.grantPersistAheadNanos).
            durableGrantEndEpochNanos = saturatedAdd(end, st.config.grantPersistAheadNanos());
            st.persist(new PersistLeaseGrant(durableGrantEndEpochNanos));
        }
        if (end > durableGrantEndEpochNanos) {
            throw invariantBroken("grant until " + end + " beyond the persisted " + durableGrantEndEpochNanos);
        }
        return end;
    }

    /** The largest grant end persisted (or recovered; 0 if none): what a replay of the writes says. */
    long durableGrantEndEpochNanos() {
        return durableGrantEndEpochNanos;
    }

    /** The end of the running grant, for diagnostics. */
    long grantEndEpochNanos() {
        return grantedLeaseEndEpochNanos;
    }

    /** Whom the running grant is to (-1: none), for diagnostics. */
    int grantHolder() {
        return grantedLeaseHolder;
    }
}
