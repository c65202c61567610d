package io.gnomon.paxos;

import io.gnomon.paxos.Message.Accept;
import io.gnomon.paxos.Message.AcceptSync;
import io.gnomon.paxos.Message.Accepted;
import io.gnomon.paxos.Message.Decide;
import io.gnomon.paxos.Message.InstallSnapshot;
import io.gnomon.paxos.Message.Nack;
import io.gnomon.paxos.Message.PreVote;
import io.gnomon.paxos.Message.PreVoteReply;
import io.gnomon.paxos.Message.Prepare;
import io.gnomon.paxos.Message.Promise;
import io.gnomon.paxos.Output.Decided;
import io.gnomon.paxos.Output.Diagnostic;
import io.gnomon.paxos.Output.Diagnostic.Code;
import io.gnomon.paxos.Output.Effect;
import io.gnomon.paxos.PersistWrite.PersistSnapshot;
import io.gnomon.paxos.ReplicaState.Out;
import io.gnomon.paxos.ReplicaState.Role;
import io.gnomon.truetime.TimeInterval;

import java.util.List;

import static io.gnomon.paxos.ReplicaState.check;
import static io.gnomon.paxos.ReplicaState.invariantBroken;

/**
 * One replica of a Multi-Paxos group: leader-based Sequence Paxos (lecture notes arXiv 2008.13456, as in
 * OmniPaxos) with TrueTime leader leases (Spanner, OSDI 2012 section 4.1.1). A pure state machine: every
 * input ({@link #step}, {@link #tick}, {@link #propose}, {@link #proposeMembership}, {@link #compact}) is
 * given the monotonic time and a TrueTime reading and returns an {@link Output}; nothing inside reads a clock,
 * sleeps, does I/O or draws unseeded randomness. Not thread-safe: one caller at a time.
 *
 * <p>Persistence contract (etcd raft's Ready): the runtime makes an output's {@code toPersist} durable before
 * any of its messages leave, including messages to this replica itself. The leader counts its own acceptance
 * and promise only through such loopback messages, so nothing is decided on an unsynced write.
 *
 * <p>Lease rule: a grant (in a Promise or Accepted) promises the grantor will not promise any other replica's
 * ballot until {@code TrueTime.after(grant end)}. The leader holds a lease until the end that a majority of the
 * current configuration granted, and may serve lease reads while {@code TrueTime.before(that end)}. Grants are
 * persisted before they are sent ({@link PersistWrite.PersistLeaseGrant}, written ahead of the grant so renewals rarely
 * need a write): a restarted replica promises no other ballot until TrueTime is after the persisted end, and after
 * {@code now.latest + leaseDuration} (for logs written before grants were persisted).
 *
 * <p>Pre-vote (Ongaro's thesis, section 9.6; etcd raft's PreVote): when its election timer fires, a replica first
 * asks whether a majority would promise its next ballot, and Prepares only if they would. A replica refuses while
 * it has heard from a leader within its election timeout (or leads). Pre-votes change nothing at the receiver,
 * so a replica that cannot hear the answers (a deaf leader, a deaf follower) never Prepares, and so never collects
 * lease grants that keep every other candidate waiting.
 *
 * <p>Layout (issue 19): this class is the facade. It checks each input, routes a message to the part of the
 * protocol it belongs to, and checks the invariants on the way out. The parts are package-private, one per seam of
 * the protocol (as OmniPaxos' {@code leader.rs}, {@code follower.rs} and ballot leader election): {@link Follower}
 * (promise and accept at a follower), {@link Election} (pre-vote, candidacy, the Promise quorum), {@link Leader}
 * (adopting the log, proposals, accept tracking, decide, retransmission and catch-up), {@link Lease} (grants made
 * and held, lease reads) and {@link Membership} (configurations and the membership lease wait). What they share
 * (durable state, role, the call in progress) is {@link ReplicaState}; each part keeps its own state private.
 *
 * <pre>{@code
 * PaxosReplica r = new PaxosReplica(PaxosConfig.defaults(1, List.of(1, 2, 3), seed), nowNanos, tt.now());
 * Output out = r.tick(nowNanos, tt.now());
 * log.persist(out.toPersist()); log.sync(); transport.send(out.messages()); app.apply(out.decided());
 * }</pre>
 */
public final class PaxosReplica {
    private final ReplicaState st;

    /** The restarted replica's snapshot and decided entries, for its first output. */
    private Out replay;

    /** A new member of the initial configuration {@code config.initialMembers()}, with empty durable state. */
    public PaxosReplica(PaxosConfig config, long nowMonotonicNanos, TimeInterval trueTimeNow) {
        this(config, new DurableState(config.initialMembers()).toRecovered(), nowMonotonicNanos, trueTimeNow, false);
    }

    /**
     * A replica restarted from its durable state. It will not promise any ballot until TrueTime is after both
     * the persisted grant end ({@code recovered.grantedLeaseEndEpochNanos()}: every grant it made before the crash,
     * whatever lease duration it ran with then) and {@code trueTimeNow.latest + leaseDuration} (the rule from before
     * grants were persisted, kept for logs written then, which hold no grant end); its first output re-delivers the
     * snapshot and decided entries for the application to rebuild from.
     */
    public static PaxosReplica recover(PaxosConfig config, DurableState.Recovered recovered, long nowMonotonicNanos,
                                       TimeInterval trueTimeNow) {
        return new PaxosReplica(config, recovered, nowMonotonicNanos, trueTimeNow, true);
    }

    /** A replica to be added later: it has no configuration until a leader's Prepare names one with it in it. */
    public static PaxosReplica joining(PaxosConfig config, long nowMonotonicNanos, TimeInterval trueTimeNow) {
        return new PaxosReplica(config, DurableState.joining().toRecovered(), nowMonotonicNanos, trueTimeNow, false);
    }

    private PaxosReplica(PaxosConfig config, DurableState.Recovered r, long nowMonotonicNanos,
                         TimeInterval trueTimeNow, boolean restarted) {
        this.st = new ReplicaState(config, r, restarted, trueTimeNow);
        st.now = nowMonotonicNanos;
        st.resetElectionTimer();
        if (st.decidedIndex > st.logEnd() || st.compactedIndex > st.decidedIndex) {
            throw new IllegalArgumentException("recovered state is inconsistent: compacted " + st.compactedIndex
                    + ", decided " + st.decidedIndex + ", log end " + st.logEnd());
        }
        this.replay = new Out();
        if (st.snapshot != null) {
            replay.effects.add(new Effect.InstallSnapshot(st.snapshot));
        }
        for (long slot = st.compactedIndex; slot < st.decidedIndex; slot++) {
            replay.decided.add(new Decided(slot, st.entryAt(slot)));
        }
    }

    /**
     * Negative control for tests (issue 10): promise and grant without waiting out earlier leases. Package-private
     * on purpose: no production path can reach it; only tests in {@code io.gnomon.paxos} call it.
     */
    void skipLeaseWaitForNegativeControl() {
        st.lease.skipLeaseWait();
    }

    /**
     * Negative control for tests (issue 16): propose membership changes without waiting out a lease held in an
     * earlier configuration, the rule before issue 16. Package-private like {@link #skipLeaseWaitForNegativeControl()}.
     */
    void skipMembershipLeaseWaitForNegativeControl() {
        st.membership.skipMembershipLeaseWait();
    }

    /**
     * Negative control for tests (issue 16): forget the recovered grant end and wait only {@code trueTimeNow.latest
     * + leaseDuration}, the restart rule from before grants were persisted, which a shorter lease after the restart
     * defeats. Call right after {@link #recover}. Package-private like {@link #skipLeaseWaitForNegativeControl()}.
     */
    void forgetPersistedGrantForNegativeControl(TimeInterval trueTimeNow) {
        st.lease.forgetPersistedGrant(trueTimeNow);
    }

    // ------------------------------------------------------------------ inputs

    /** Handles one message from another replica (or a loopback from this one). */
    public Output step(Message in, long nowMonotonicNanos, TimeInterval trueTimeNow) {
        begin(nowMonotonicNanos, trueTimeNow);
        String bad = validate(in);
        if (bad != null) {
            st.diag(Code.BAD_MESSAGE, bad);
            return finish();
        }
        if (in.to() != st.me) {
            st.diag(Code.WRONG_DESTINATION, in.getClass().getSimpleName() + " for replica " + in.to() + " reached "
                    + st.me);
            return finish();
        }
        if (in.configId() < st.configId) {
            if (!(in instanceof Nack || in instanceof Accepted || in instanceof Promise || in instanceof PreVoteReply)) {
                st.send(new Nack(st.me, in.from(), st.configId, st.promised));
            }
            st.diag(Code.STALE_CONFIG, in.getClass().getSimpleName() + " from " + in.from() + " in configuration "
                    + in.configId() + ", this replica is in " + st.configId);
            return finish();
        }
        if (in.configId() > st.configId) {
            if (in instanceof Prepare p && p.members().contains(st.me) && p.members().contains(p.from())) {
                st.membership.enterConfiguration(p.configId(), p.members(), p.configStartIndex());
            } else if (in instanceof PreVote v && v.members().contains(st.me) && v.members().contains(v.from())) {
                // Its Prepare would move us into that configuration with nothing promised in it, so we would
                // promise; a joining member must answer, or a configuration whose majority is new could not elect.
                st.send(new PreVoteReply(st.me, v.from(), v.configId(), v.ballot(), true, Ballot.ZERO));
                return finish();
            } else {
                st.membership.noteNewerConfig(in.configId());
                if (st.role != Role.FOLLOWER) {
                    st.leader.stepDown("configuration " + in.configId() + " exists");
                }
                st.diag(Code.FUTURE_CONFIG, in.getClass().getSimpleName() + " from " + in.from() + " in configuration "
                        + in.configId() + ", ahead of " + st.configId + "; waiting for its leader's Prepare");
                return finish();
            }
        }
        if (!st.members.contains(in.from())) {
            st.diag(Code.UNKNOWN_REPLICA, in.getClass().getSimpleName() + " from replica " + in.from()
                    + ", not a member of configuration " + st.configId + " " + st.members);
            return finish();
        }
        if (!st.members.contains(st.me)) {
            st.diag(Code.NOT_MEMBER, "replica " + st.me + " is not in configuration " + st.configId + " " + st.members);
            return finish();
        }
        if (in.from() != st.me) {
            st.leader.heardFrom(in.from());
        }
        if (in instanceof Prepare p) {
            st.follower.onPrepare(p);
        } else if (in instanceof Promise p) {
            st.election.onPromise(p);
        } else if (in instanceof AcceptSync a) {
            st.follower.onAcceptSync(a);
        } else if (in instanceof Accept a) {
            st.follower.onAccept(a);
        } else if (in instanceof Decide d) {
            st.follower.onDecide(d);
        } else if (in instanceof Accepted a) {
            st.leader.onAccepted(a);
        } else if (in instanceof Nack n) {
            st.leader.onNack(n);
        } else if (in instanceof InstallSnapshot s) {
            st.follower.onInstallSnapshot(s);
        } else if (in instanceof PreVote v) {
            st.election.onPreVote(v);
        } else if (in instanceof PreVoteReply v) {
            st.election.onPreVoteReply(v);
        }
        return finish();
    }

    /** Advances timers: elections, heartbeats (lease renewal), retransmissions. */
    public Output tick(long nowMonotonicNanos, TimeInterval trueTimeNow) {
        begin(nowMonotonicNanos, trueTimeNow);
        if (!st.members.contains(st.me)) {
            return finish();
        }
        switch (st.role) {
            case FOLLOWER -> st.election.followerTick();
            case CANDIDATE -> st.election.candidateTick();
            case LEADER -> st.leader.tick();
        }
        return finish();
    }

    /**
     * The monotonic time of this replica's next timer: a {@link #tick} before it sends nothing and changes no role
     * (the election timeout, a pre-vote, Prepare or heartbeat due, a leader's step-down without a majority). It
     * moves with every input, so a driver asks again after each; one that ticks a replica only when this is due
     * (an idle group costs its loop nothing between timers) behaves as one that ticks it all the time, but for a
     * leader's majority contact, which it then samples at each heartbeat rather than at each tick.
     */
    public long nextTickNanos() {
        if (!st.members.contains(st.me)) {
            return st.now + st.config.electionTimeoutNanos(); // ticks do nothing; inputs bring it back in
        }
        return switch (st.role) {
            case FOLLOWER -> st.election.nextFollowerTickNanos();
            case CANDIDATE -> st.election.nextCandidateTickNanos();
            case LEADER -> st.leader.nextTickNanos();
        };
    }

    /**
     * Proposes values, appended in order as one batch. The whole batch is refused, with one diagnostic about the
     * whole input ({@link Diagnostic#WHOLE_INPUT}) and no value taken, when this replica does not lead, the queue
     * is full or a reconfiguration is in progress. A value over {@code maxValueBytes} is refused alone, with a
     * diagnostic naming its index; every other value of the batch is taken (and may be decided).
     */
    public Output propose(List<byte[]> values, long nowMonotonicNanos, TimeInterval trueTimeNow) {
        begin(nowMonotonicNanos, trueTimeNow);
        st.leader.propose(values);
        return finish();
    }

    /**
     * Proposes the next configuration: the current members with exactly one replica added or removed (replace
     * one replica by adding the new one, then removing the old). Decided like a value; it ends the current
     * configuration, and the next one starts at the following slot with its own ballots.
     */
    public Output proposeMembership(List<Integer> nextMembers, long nowMonotonicNanos, TimeInterval trueTimeNow) {
        begin(nowMonotonicNanos, trueTimeNow);
        if (!st.leader.refuseProposal("membership change " + nextMembers)) {
            Entry change = st.membership.nextConfigEntry(nextMembers);
            if (change != null) {
                st.leader.enqueue(change);
            }
        }
        return finish();
    }

    /**
     * The application's snapshot of slots {@code [0, lastIncludedSlot]}: the log below it is dropped and
     * replicas that need those slots get the snapshot instead. {@code lastIncludedSlot} must be decided.
     */
    public Output compact(long lastIncludedSlot, long nowMonotonicNanos, TimeInterval trueTimeNow) {
        begin(nowMonotonicNanos, trueTimeNow);
        if (lastIncludedSlot >= st.decidedIndex || lastIncludedSlot < st.compactedIndex) {
            st.diag(Code.BAD_SNAPSHOT, "snapshot through slot " + lastIncludedSlot + " refused: must be in ["
                    + st.compactedIndex + ", " + (st.decidedIndex - 1) + "] (decided, not yet compacted)");
            return finish();
        }
        long end = lastIncludedSlot + 1;
        Membership.ConfigRecord c = st.membership.configInForceAt(end);
        Snapshot s = new Snapshot(lastIncludedSlot, c.configId(), c.members(), c.startIndex());
        st.log.subList(0, (int) (end - st.compactedIndex)).clear();
        st.compactedIndex = end;
        st.snapshot = s;
        st.persist(new PersistSnapshot(s));
        return finish();
    }

    // ------------------------------------------------------------------ queries for the runtime and harness

    /** Whether this replica leads with a lease: {@code TrueTime.before(leaseEnd)}. */
    public boolean canServeLeaseRead(TimeInterval trueTimeNow) {
        return st.lease.canServeLeaseRead(trueTimeNow);
    }

    /** The end of the lease a majority granted to this leader's ballot; {@link Long#MIN_VALUE} if none. */
    public long leaseEndEpochNanos() {
        return st.lease.leaseEndEpochNanos();
    }

    public int replicaId() {
        return st.me;
    }

    /**
     * A leader's promise that no value it is handed from now on carries a timestamp at or below
     * {@code promisedBelowTs} (the transaction host's {@code TimestampOracle.promiseBelow}, which must stay below this
     * leader's lease end). The core makes it a {@link TimestampPromise} after the last slot of the values it holds
     * (in its log or queued) and carries it on its Decides (heartbeats) to the followers. Values the host gathers
     * but has not proposed yet are not covered: offer a promise only when none are waiting. False, and nothing
     * kept, if this replica does not lead or the promise is not above the one known.
     */
    public boolean offerTimestampPromise(long promisedBelowTs) {
        return st.leader.offerTimestampPromise(promisedBelowTs);
    }

    /**
     * The latest timestamp promise this replica knows: its own as leader, or the one its leader's Decides carried
     * (only Decides it accepted, from the leader of its promised ballot); {@link TimestampPromise#NONE} if none.
     * Not durable: after a restart the next heartbeat brings it again.
     */
    public TimestampPromise timestampPromise() {
        return st.timestampPromise;
    }

    public boolean isLeader() {
        return st.role == Role.LEADER;
    }

    /** The replica this one follows or leads as, or -1. */
    public int leaderHint() {
        return st.leaderId;
    }

    public Ballot promised() {
        return st.promised;
    }

    public long configId() {
        return st.configId;
    }

    public List<Integer> members() {
        return st.members;
    }

    public long decidedIndex() {
        return st.decidedIndex;
    }

    public long compactedIndex() {
        return st.compactedIndex;
    }

    public long logEnd() {
        return st.logEnd();
    }

    /**
     * The decided entry of {@code slot}, which must be in {@code [compactedIndex, decidedIndex)}: a host whose state
     * machine was behind the compacted prefix re-reads from here the decided entries above the snapshot it fetched.
     */
    public Entry decidedEntry(long slot) {
        if (slot < st.compactedIndex || slot >= st.decidedIndex) {
            throw new IllegalArgumentException("slot " + slot + " is not in the decided log [" + st.compactedIndex
                    + ", " + st.decidedIndex + ")");
        }
        return st.entryAt(slot);
    }

    /**
     * This replica's durable state as a replay of every write it has returned so far would give it ({@link
     * DurableState#toRecovered()} of those writes applied in order): what a log may write as a checkpoint of the
     * replica in place of those writes. Between calls only; the entry list is copied (its references, not the
     * values).
     */
    public DurableState.Recovered durableState() {
        return new DurableState.Recovered(st.configId, st.members, st.configStartIndex, st.promised,
                st.acceptedRound, st.snapshot, st.compactedIndex, st.log, st.decidedIndex,
                st.lease.durableGrantEndEpochNanos());
    }

    // ------------------------------------------------------------------ input checks and call frame

    private String validate(Message m) {
        if (m == null) {
            return "null message";
        }
        if (m.configId() < 0) {
            return "negative configId " + m.configId();
        }
        List<Entry> entries = List.of();
        boolean ok;
        if (m instanceof Promise p) {
            ok = p.ballot() != null && p.acceptedRound() != null && p.suffixStart() >= 0 && p.logEnd() >= 0
                    && p.decidedIndex() >= 0;
            entries = p.suffix();
        } else if (m instanceof AcceptSync a) {
            ok = a.ballot() != null && a.syncIndex() >= 0 && a.decidedIndex() >= 0;
            entries = a.suffix();
        } else if (m instanceof Accept a) {
            ok = a.ballot() != null && a.firstSlot() >= 0 && a.decidedIndex() >= 0;
            entries = a.entries();
        } else if (m instanceof Prepare p) {
            ok = p.ballot() != null && p.acceptedRound() != null && p.logEnd() >= 0 && p.decidedIndex() >= 0
                    && !p.members().isEmpty() && p.ballot().round() < Long.MAX_VALUE / 2;
        } else if (m instanceof Decide d) {
            ok = d.ballot() != null && d.decidedIndex() >= 0;
        } else if (m instanceof Accepted a) {
            ok = a.ballot() != null && a.logEnd() >= 0;
        } else if (m instanceof Nack n) {
            ok = n.promised() != null;
        } else if (m instanceof PreVote v) {
            ok = v.ballot() != null && !v.members().isEmpty() && v.ballot().round() < Long.MAX_VALUE / 2;
        } else if (m instanceof PreVoteReply v) {
            ok = v.ballot() != null && v.promised() != null;
        } else if (m instanceof InstallSnapshot s) {
            ok = s.ballot() != null && s.snapshot() != null;
        } else {
            return m.getClass().getSimpleName() + " from " + m.from() + " is for the host, not the core";
        }
        if (!ok) {
            entries = null;
        }
        if (entries == null) {
            return m.getClass().getSimpleName() + " from " + m.from() + " has a missing or negative field";
        }
        if (entries.size() > st.limits.maxEntriesPerMessage()) {
            return m.getClass().getSimpleName() + " from " + m.from() + " carries " + entries.size()
                    + " entries, maxEntriesPerMessage " + st.limits.maxEntriesPerMessage();
        }
        for (Entry e : entries) {
            if (e.value().length > st.limits.maxValueBytes()) {
                return m.getClass().getSimpleName() + " from " + m.from() + " carries a value of "
                        + e.value().length + " bytes, maxValueBytes " + st.limits.maxValueBytes();
            }
        }
        return null;
    }

    private void begin(long nowMonotonicNanos, TimeInterval trueTimeNow) {
        if (trueTimeNow == null) {
            throw new IllegalArgumentException("trueTimeNow must not be null");
        }
        check(st.out == null, "re-entrant call");
        st.now = nowMonotonicNanos;
        st.tt = trueTimeNow;
        st.out = replay != null ? replay : new Out();
        replay = null;
        snapshotInvariants();
    }

    private long checkConfigId;
    private Ballot checkPromised;
    private long checkDecided;

    private void snapshotInvariants() {
        checkConfigId = st.configId;
        checkPromised = st.promised;
        checkDecided = st.decidedIndex;
    }

    private Output finish() {
        check(st.configId >= checkConfigId, "configuration went back");
        if (st.configId == checkConfigId && checkPromised.isAbove(st.promised)) {
            throw invariantBroken("promised ballot went back from " + checkPromised + " to " + st.promised);
        }
        check(st.decidedIndex >= checkDecided, "decided index went back");
        if (!(st.compactedIndex <= st.decidedIndex && st.decidedIndex <= st.logEnd())) {
            throw invariantBroken("compacted " + st.compactedIndex + " <= decided " + st.decidedIndex + " <= log end "
                    + st.logEnd() + " broken");
        }
        if (st.acceptedRound.isAbove(st.promised)) {
            throw invariantBroken("accepted round " + st.acceptedRound + " above promised " + st.promised);
        }
        Out o = st.out;
        st.out = null;
        return new Output(o.persist, o.messages, o.decided, o.effects, o.diagnostics);
    }
}
