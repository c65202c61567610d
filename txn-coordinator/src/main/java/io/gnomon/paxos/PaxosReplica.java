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
import io.gnomon.paxos.PersistWrite.PersistAccepted;
import io.gnomon.paxos.PersistWrite.PersistConfig;
import io.gnomon.paxos.PersistWrite.PersistDecided;
import io.gnomon.paxos.PersistWrite.PersistSnapshot;
import io.gnomon.truetime.TimeInterval;

import io.gnomon.paxos.ReplicaState.FollowerPhase;
import io.gnomon.paxos.ReplicaState.Out;
import io.gnomon.paxos.ReplicaState.Role;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.TreeSet;

import static io.gnomon.paxos.ReplicaState.check;
import static io.gnomon.paxos.ReplicaState.invariantBroken;
import static io.gnomon.paxos.ReplicaState.saturatedAdd;

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
 * persisted before they are sent ({@link PersistWrite.PersistLeaseGrant}, written ahead of the grant so renewals rarely need a
 * write): a restarted replica promises no other ballot until TrueTime is after the persisted end, and after
 * {@code now.latest + leaseDuration} (for logs written before grants were persisted).
 *
 * <p>Pre-vote (Ongaro's thesis, section 9.6; etcd raft's PreVote): when its election timer fires, a replica first
 * asks whether a majority would promise its next ballot, and Prepares only if they would. A replica refuses while
 * it has heard from a leader within its election timeout (or leads). Pre-votes change nothing at the receiver,
 * so a replica that cannot hear the answers (a deaf leader, a deaf follower) never Prepares, and so never collects
 * lease grants that keep every other candidate waiting.
 *
 * <pre>{@code
 * PaxosReplica r = new PaxosReplica(PaxosConfig.defaults(1, List.of(1, 2, 3), seed), nowNanos, tt.now());
 * Output out = r.tick(nowNanos, tt.now());
 * log.persist(out.toPersist()); log.sync(); transport.send(out.messages()); app.apply(out.decided());
 * }</pre>
 */
public final class PaxosReplica {
    private record ConfigRecord(long configId, List<Integer> members, long startIndex) {
    }

    /** What the leader knows of one follower in its ballot. */
    private static final class Progress {
        long syncSentNanos;
        long syncIndex;
        boolean ackedOnce;
        long acked;
        long nextIndex;
        long lastProgressNanos;
    }

    private final ReplicaState st;
    /** Negative control only: see {@link #skipMembershipLeaseWaitForNegativeControl()}. */
    private boolean skipMembershipLeaseWait;

    private final ArrayList<ConfigRecord> configHistory = new ArrayList<>();

    // Volatile state.
    private long knownNewerConfigId;
    /**
     * The latest end of a lease this replica held as leader in the current configuration (recorded when it steps
     * down), and in any configuration before it. A membership change waits until TrueTime is after the second:
     * the grantors of the current configuration cover a lease held in the one just before it (a majority of
     * either meets a majority of the other), but not one held two changes back, which a shorter lease in between
     * may outlast ({@link #proposeMembership}).
     */
    private long leaseEndHeldInConfigEpochNanos = Long.MIN_VALUE;
    private long leaseEndHeldBeforeConfigEpochNanos = Long.MIN_VALUE;
    /** While gathering pre-votes (as a follower): the ballot asked about, and who would promise it. */
    private Ballot preVoteBallot;
    private final TreeSet<Integer> preVotes = new TreeSet<>();
    private long lastPreVoteSentNanos;
    /** When a leader, or a candidate this replica promised, last showed it is alive; false before the first. */
    private boolean leaderContact;
    private long leaderContactNanos;

    // Leader state, valid in CANDIDATE and LEADER.
    private Ballot prepareAcceptedRound = Ballot.ZERO;
    private long prepareLogEnd;
    private long prepareDecidedIndex;
    private long lastPrepareSentNanos;
    private final TreeMap<Integer, Promise> promises = new TreeMap<>();
    private Ballot adoptedRound = Ballot.ZERO;
    private long adoptedLogEnd;
    private final TreeMap<Integer, Progress> progress = new TreeMap<>();
    private final TreeMap<Integer, Long> lastHeardFromNanos = new TreeMap<>();
    private long selfAcked;
    private long lastHeartbeatNanos;
    private long lastMajorityContactNanos;
    private final ArrayDeque<Entry> pending = new ArrayDeque<>();

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
        this.st = new ReplicaState(config, r);
        Snapshot snapshot = st.snapshot;
        if (snapshot != null && snapshot.configId() != st.configId) {
            configHistory.add(new ConfigRecord(snapshot.configId(), snapshot.members(), snapshot.configStartIndex()));
        }
        configHistory.add(new ConfigRecord(st.configId, st.members, st.configStartIndex));
        st.maxRoundSeen = st.promised.round();
        st.lease = new Lease(st, r.grantedLeaseEndEpochNanos(), restarted, trueTimeNow);
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
        this.skipMembershipLeaseWait = true;
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
            st.diag(Code.WRONG_DESTINATION, in.getClass().getSimpleName() + " for replica " + in.to() + " reached " + st.me);
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
                enterConfiguration(p.configId(), p.members(), p.configStartIndex());
            } else if (in instanceof PreVote v && v.members().contains(st.me) && v.members().contains(v.from())) {
                // Its Prepare would move us into that configuration with nothing promised in it, so we would
                // promise; a joining member must answer, or a configuration whose majority is new could not elect.
                st.send(new PreVoteReply(st.me, v.from(), v.configId(), v.ballot(), true, Ballot.ZERO));
                return finish();
            } else {
                knownNewerConfigId = Math.max(knownNewerConfigId, in.configId());
                if (st.role != Role.FOLLOWER) {
                    stepDown("configuration " + in.configId() + " exists");
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
            lastHeardFromNanos.put(in.from(), st.now);
        }
        if (in instanceof Prepare p) {
            onPrepare(p);
        } else if (in instanceof Promise p) {
            onPromise(p);
        } else if (in instanceof AcceptSync a) {
            onAcceptSync(a);
        } else if (in instanceof Accept a) {
            onAccept(a);
        } else if (in instanceof Decide d) {
            onDecide(d);
        } else if (in instanceof Accepted a) {
            onAccepted(a);
        } else if (in instanceof Nack n) {
            onNack(n);
        } else if (in instanceof InstallSnapshot s) {
            onInstallSnapshot(s);
        } else if (in instanceof PreVote v) {
            onPreVote(v);
        } else if (in instanceof PreVoteReply v) {
            onPreVoteReply(v);
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
            case FOLLOWER -> {
                if (st.now - st.electionDeadlineNanos >= 0) {
                    startPreVote();
                } else if (preVoteBallot != null && st.now - lastPreVoteSentNanos >= st.config.retransmitIntervalNanos()) {
                    sendPreVotes();
                }
            }
            case CANDIDATE -> {
                if (st.now - lastPrepareSentNanos >= st.config.retransmitIntervalNanos()) {
                    sendPrepares(false);
                }
            }
            case LEADER -> leaderTick();
        }
        return finish();
    }

    /**
     * Proposes values, appended in order as one batch. The whole batch is refused, with one diagnostic about the
     * whole input ({@link Diagnostic#WHOLE_INPUT}) and no value taken, when this replica does not lead, the queue
     * is full or a reconfiguration is in progress. A value over {@code maxValueBytes} is refused alone, with a
     * diagnostic naming its index; every other value of the batch is taken (and may be decided).
     */
    public Output propose(List<byte[]> values, long nowMonotonicNanos, TimeInterval trueTimeNow) {
        begin(nowMonotonicNanos, trueTimeNow);
        if (refuseProposal(values.size() + " value(s)")) {
            return finish();
        }
        if (values.size() > st.limits.maxPendingProposals() - pending.size()) {
            st.diag(Code.BACKPRESSURE, values.size() + " value(s) refused: " + pending.size()
                    + " already queued, maxPendingProposals " + st.limits.maxPendingProposals());
            return finish();
        }
        for (int i = 0; i < values.size(); i++) {
            byte[] v = values.get(i);
            if (v == null || v.length > st.limits.maxValueBytes()) {
                st.diagValue(i, Code.VALUE_TOO_LARGE, "value " + i + " of " + (v == null ? "null" : v.length + " bytes")
                        + " refused: maxValueBytes " + st.limits.maxValueBytes());
                continue;
            }
            pending.add(Entry.value(v));
        }
        if (st.role == Role.LEADER) {
            flushPending();
        }
        return finish();
    }

    /**
     * Proposes the next configuration: the current members with exactly one replica added or removed (replace
     * one replica by adding the new one, then removing the old). Decided like a value; it ends the current
     * configuration, and the next one starts at the following slot with its own ballots.
     */
    public Output proposeMembership(List<Integer> nextMembers, long nowMonotonicNanos, TimeInterval trueTimeNow) {
        begin(nowMonotonicNanos, trueTimeNow);
        if (refuseProposal("membership change " + nextMembers)) {
            return finish();
        }
        TreeSet<Integer> next = new TreeSet<>(nextMembers);
        TreeSet<Integer> current = new TreeSet<>(st.members);
        TreeSet<Integer> added = new TreeSet<>(next);
        added.removeAll(current);
        TreeSet<Integer> removed = new TreeSet<>(current);
        removed.removeAll(next);
        if (added.size() + removed.size() != 1 || next.isEmpty() || next.first() < 1) {
            st.diag(Code.BAD_MEMBERSHIP_CHANGE, "from " + current + " to " + next
                    + ": exactly one replica may be added or removed per change (ids >= 1)");
            return finish();
        }
        if (!skipMembershipLeaseWait && st.tt.earliestEpochNanos() <= leaseEndHeldBeforeConfigEpochNanos) {
            // The next configuration's majorities need not meet the ones that granted that lease: its leader could
            // hold a lease while ours still runs. It ends at most a (grantor's) lease after we left that configuration.
            st.diag(Code.LEASE_WAIT, "membership change to " + next + " refused: this replica held a lease in an "
                    + "earlier configuration until " + leaseEndHeldBeforeConfigEpochNanos + ", TrueTime earliest "
                    + st.tt.earliestEpochNanos() + "; retry in "
                    + ((leaseEndHeldBeforeConfigEpochNanos - st.tt.earliestEpochNanos()) / 1_000_000 + 1) + " ms");
            return finish();
        }
        pending.add(Entry.config(st.configId + 1, List.copyOf(next)));
        if (st.role == Role.LEADER) {
            flushPending();
        }
        return finish();
    }

    /**
     * The application's snapshot of slots {@code [0, lastIncludedSlot]}: the log below it is dropped and
     * replicas that need those slots get the snapshot instead. {@code lastIncludedSlot} must be decided.
     */
    public Output compact(long lastIncludedSlot, byte[] state, long nowMonotonicNanos, TimeInterval trueTimeNow) {
        begin(nowMonotonicNanos, trueTimeNow);
        if (state == null || lastIncludedSlot >= st.decidedIndex || lastIncludedSlot < st.compactedIndex) {
            st.diag(Code.BAD_SNAPSHOT, "snapshot through slot " + lastIncludedSlot + " refused: must be in ["
                    + st.compactedIndex + ", " + (st.decidedIndex - 1) + "] (decided, not yet compacted) with state");
            return finish();
        }
        long end = lastIncludedSlot + 1;
        ConfigRecord c = configHistory.get(0);
        for (ConfigRecord r : configHistory) {
            if (r.startIndex() <= end) {
                c = r;
            }
        }
        Snapshot s = new Snapshot(lastIncludedSlot, state, c.configId(), c.members(), c.startIndex());
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

    // ------------------------------------------------------------------ follower side

    private void onPrepare(Prepare p) {
        st.maxRoundSeen = Math.max(st.maxRoundSeen, p.ballot().round());
        int c = p.ballot().compareTo(st.promised);
        if (c < 0) {
            st.send(new Nack(st.me, p.from(), st.configId, st.promised));
            st.diag(Code.STALE_BALLOT, "Prepare " + p.ballot() + " from " + p.from() + " below promised " + st.promised);
            return;
        }
        if (c == 0) {
            if (st.followerPhase == FollowerPhase.PREPARED && st.leaderId == p.from()) {
                st.send(promiseFor(p)); // our Promise was lost or is slow: the same promise again
            } else if (lostPlaceIn(p)) {
                // We promised this ballot, then restarted and lost our place in it: promise it again (the
                // promise is durable already), once every grant we may have made before the crash is over.
                if (!st.lease.canPromise(p.from())) {
                    st.diag(Code.LEASE_WAIT, "Prepare " + p.ballot() + " from " + p.from() + " (re-promise after a "
                            + "restart) deferred until TrueTime is after " + st.lease.grantEndEpochNanos());
                    return;
                }
                st.followerPhase = FollowerPhase.PREPARED;
                st.leaderId = p.from();
                st.resetElectionTimer();
                noteLeaderContact();
                st.send(promiseFor(p));
            } else {
                st.diag(Code.DUPLICATE, "Prepare " + p.ballot() + " already handled");
            }
            return;
        }
        if (!st.lease.canPromise(p.from())) {
            // A higher ballot is waiting for our grant to run out; we promise it then. Competing meanwhile would
            // only renew our own grant and keep it waiting (livelock seen with a restarted former leader whose
            // election timeout is shorter than its recovered self-grant), so hold our election timer.
            st.resetElectionTimer();
            st.diag(Code.LEASE_WAIT, "Prepare " + p.ballot() + " from " + p.from() + " deferred: lease granted to "
                    + st.lease.grantHolder() + " until " + st.lease.grantEndEpochNanos() + ", TrueTime earliest "
                    + st.tt.earliestEpochNanos());
            return;
        }
        if (st.role != Role.FOLLOWER) {
            stepDown("promised higher ballot " + p.ballot());
        }
        st.setPromised(p.ballot());
        st.followerPhase = FollowerPhase.PREPARED;
        st.leaderId = p.from();
        st.resetElectionTimer();
        noteLeaderContact();
        st.send(promiseFor(p));
    }

    /**
     * Whether {@code m}, in the ballot we promised, comes from that ballot's own replica while we have no place in
     * it (no Promise or AcceptSync since we restarted): we know the ballot, not where our log stands in it.
     */
    private boolean lostPlaceIn(Message m) {
        return st.role == Role.FOLLOWER && st.followerPhase == FollowerPhase.NONE && m.from() != st.me
                && st.promised.replicaId() == m.from();
    }

    /**
     * The leader of our promised ballot sent us what only a synchronized follower can take, but we lost our place
     * in it (we restarted): ask it to Prepare us again with a {@code Nack} carrying that same ballot (OmniPaxos'
     * PrepareReq). Before pre-vote a restarted follower rejoined by campaigning; now it would stay out.
     */
    private boolean askToBePrepared(Message m) {
        if (!lostPlaceIn(m)) {
            return false;
        }
        st.resetElectionTimer();
        noteLeaderContact();
        st.send(new Nack(st.me, m.from(), st.configId, st.promised));
        st.diag(Code.REJOINING, m.getClass().getSimpleName() + " from " + m.from() + " in our promised ballot "
                + st.promised + ", but we lost our place in it (restarted): asking to be Prepared again");
        return true;
    }

    private Promise promiseFor(Prepare p) {
        long start;
        if (st.acceptedRound.isAbove(p.acceptedRound())) {
            start = p.decidedIndex();
        } else if (st.acceptedRound.equals(p.acceptedRound()) && st.logEnd() > p.logEnd()) {
            start = p.logEnd();
        } else {
            start = st.logEnd();
        }
        start = Math.min(start, st.logEnd());
        Snapshot snap = null;
        if (start < st.compactedIndex) {
            snap = st.snapshot;
            start = st.compactedIndex;
        }
        long granted = st.lease.grant(p.from(), p.leaseEndRequestedEpochNanos());
        return new Promise(st.me, p.from(), st.configId, p.ballot(), st.acceptedRound, st.logEnd(), st.decidedIndex, start,
                st.slice(start, st.logEnd()), snap, granted);
    }

    private void onAcceptSync(AcceptSync a) {
        if (!sameBallotOrReject(a, a.ballot())) {
            return;
        }
        if (st.followerPhase == FollowerPhase.ACCEPTING && st.leaderId == a.from()) {
            noteLeaderContact();
            st.send(accepted(a.from(), a.leaseEndRequestedEpochNanos())); // a retransmission: say where we are
            return;
        }
        if (st.followerPhase != FollowerPhase.PREPARED || st.leaderId != a.from()) {
            if (askToBePrepared(a)) {
                return;
            }
            st.diag(Code.BAD_MESSAGE, "AcceptSync from " + a.from() + " without a Promise to it");
            return;
        }
        if (a.snapshot() != null && a.snapshot().endIndex() > st.decidedIndex) {
            st.installSnapshot(a.snapshot());
        }
        long start = a.syncIndex();
        List<Entry> suffix = a.suffix();
        if (start < st.decidedIndex) {
            // The leader's log agrees with ours on decided slots; never rewrite them.
            int skip = (int) Math.min(st.decidedIndex - start, suffix.size());
            suffix = suffix.subList(skip, suffix.size());
            start += skip;
        }
        if (start < st.decidedIndex || start > st.logEnd() || start < st.compactedIndex) {
            st.diag(Code.BAD_MESSAGE, "AcceptSync at " + a.syncIndex() + " does not fit log [" + st.compactedIndex
                    + ", " + st.logEnd() + ") decided " + st.decidedIndex);
            return;
        }
        st.truncate(start);
        st.log.addAll(suffix);
        st.acceptedRound = st.promised;
        st.persist(new PersistAccepted(st.configId, st.acceptedRound, start, suffix));
        st.followerPhase = FollowerPhase.ACCEPTING;
        st.resetElectionTimer();
        noteLeaderContact();
        advanceDecided(Math.min(a.decidedIndex(), st.logEnd()));
        st.send(accepted(a.from(), a.leaseEndRequestedEpochNanos()));
    }

    private void onAccept(Accept a) {
        if (!sameBallotOrReject(a, a.ballot())) {
            return;
        }
        if (st.followerPhase != FollowerPhase.ACCEPTING || st.leaderId != a.from()) {
            if (askToBePrepared(a)) {
                return;
            }
            if (st.leaderId == a.from()) {
                st.resetElectionTimer();
                noteLeaderContact();
            }
            st.diag(Code.BAD_MESSAGE, "Accept from " + a.from() + " before AcceptSync; waiting for it");
            return;
        }
        st.resetElectionTimer();
        noteLeaderContact();
        if (a.firstSlot() <= st.logEnd()) {
            long skip = st.logEnd() - a.firstSlot();
            if (skip < a.entries().size()) {
                long from = st.logEnd();
                List<Entry> fresh = a.entries().subList((int) skip, a.entries().size());
                st.log.addAll(fresh);
                st.persist(new PersistAccepted(st.configId, st.acceptedRound, from, fresh));
            }
            advanceDecided(Math.min(a.decidedIndex(), st.logEnd()));
        } // else a gap (a lost or reordered Accept): our Accepted tells the leader where to resume
        st.send(accepted(a.from(), a.leaseEndRequestedEpochNanos()));
    }

    private void onDecide(Decide d) {
        if (!sameBallotOrReject(d, d.ballot())) {
            return;
        }
        if (st.leaderId == d.from()) {
            st.resetElectionTimer();
            noteLeaderContact();
        }
        if (st.followerPhase != FollowerPhase.ACCEPTING || st.leaderId != d.from()) {
            askToBePrepared(d);
            return;
        }
        advanceDecided(Math.min(d.decidedIndex(), st.logEnd()));
        st.send(accepted(d.from(), d.leaseEndRequestedEpochNanos()));
    }

    private void onInstallSnapshot(InstallSnapshot s) {
        if (!sameBallotOrReject(s, s.ballot())) {
            return;
        }
        if (st.followerPhase != FollowerPhase.ACCEPTING || st.leaderId != s.from()) {
            askToBePrepared(s);
            return;
        }
        st.resetElectionTimer();
        noteLeaderContact();
        if (s.snapshot().endIndex() > st.decidedIndex) {
            st.installSnapshot(s.snapshot());
        }
        advanceDecided(Math.min(s.decidedIndex(), st.logEnd()));
        st.send(accepted(s.from(), s.leaseEndRequestedEpochNanos()));
    }

    /** True if {@code ballot} is the promised one; otherwise answers per protocol and returns false. */
    private boolean sameBallotOrReject(Message m, Ballot ballot) {
        st.maxRoundSeen = Math.max(st.maxRoundSeen, ballot.round());
        int c = ballot.compareTo(st.promised);
        if (c < 0) {
            st.send(new Nack(st.me, m.from(), st.configId, st.promised));
            st.diag(Code.STALE_BALLOT, m.getClass().getSimpleName() + " " + ballot + " from " + m.from()
                    + " below promised " + st.promised);
            return false;
        }
        if (c > 0) {
            // A ballot we never promised: its leader must Prepare us first (Sequence Paxos log synchronization).
            if (st.role == Role.LEADER || st.role == Role.CANDIDATE) {
                stepDown("saw higher ballot " + ballot + " from " + m.from());
            }
            st.diag(Code.FUTURE_BALLOT, m.getClass().getSimpleName() + " " + ballot + " from " + m.from()
                    + " above promised " + st.promised + "; waiting for its Prepare");
            return false;
        }
        if (m.from() == st.me || st.role != Role.FOLLOWER) {
            st.diag(Code.BAD_MESSAGE, m.getClass().getSimpleName() + " in own ballot " + ballot + " from " + m.from());
            return false;
        }
        return true;
    }

    private Accepted accepted(int leader, long leaseEndRequested) {
        return new Accepted(st.me, leader, st.configId, st.promised, st.logEnd(), st.lease.grant(leader, leaseEndRequested));
    }

    // ------------------------------------------------------------------ leader side

    /** Whether this replica may campaign now; if not, sets its election timer for the next try. */
    private boolean mayCampaign() {
        if (knownNewerConfigId > st.configId || st.decidedIndex < st.configStartIndex || !st.members.contains(st.me)) {
            st.resetElectionTimer(); // lacks the configuration's starting prefix, or the configuration is over
            return false;
        }
        if (!st.lease.canPromise(st.me)) {
            st.electionDeadlineNanos = st.now + st.config.retransmitIntervalNanos(); // our own grant has not run out yet
            return false;
        }
        return true;
    }

    /** The election timer fired: ask before Preparing (see the class comment). */
    private void startPreVote() {
        preVoteBallot = null;
        if (!mayCampaign()) {
            return;
        }
        preVoteBallot = new Ballot(Math.max(st.maxRoundSeen, st.promised.round()) + 1, st.me);
        preVotes.clear();
        preVotes.add(st.me);
        st.resetElectionTimer();
        if (preVotes.size() >= st.majority()) {
            startElection();
            return;
        }
        sendPreVotes();
    }

    private void sendPreVotes() {
        lastPreVoteSentNanos = st.now;
        for (int m : st.members) {
            if (!preVotes.contains(m)) {
                st.send(new PreVote(st.me, m, st.configId, st.members, st.configStartIndex, preVoteBallot));
            }
        }
    }

    private void onPreVote(PreVote v) {
        boolean leaderAlive = st.role == Role.LEADER
                || (leaderContact && st.now - leaderContactNanos < st.config.electionTimeoutNanos());
        boolean granted = v.ballot().isAbove(st.promised) && !leaderAlive;
        if (!granted) {
            st.diag(Code.PRE_VOTE_REFUSED, "PreVote " + v.ballot() + " from " + v.from() + " refused: "
                    + (leaderAlive ? (st.role == Role.LEADER ? "leading" : "heard from leader " + st.leaderId
                    + " " + (st.now - leaderContactNanos) + " ns ago") : "promised " + st.promised));
        }
        st.send(new PreVoteReply(st.me, v.from(), st.configId, v.ballot(), granted, st.promised));
    }

    private void onPreVoteReply(PreVoteReply r) {
        st.maxRoundSeen = Math.max(st.maxRoundSeen, r.promised().round());
        if (preVoteBallot == null || st.role != Role.FOLLOWER || !r.ballot().equals(preVoteBallot)) {
            st.diag(Code.STALE_BALLOT, "PreVoteReply " + r.ballot() + " from " + r.from() + ", asking "
                    + preVoteBallot + " as " + st.role);
            return;
        }
        if (!r.granted() || !preVotes.add(r.from())) {
            return;
        }
        if (preVotes.size() >= st.majority()) {
            startElection();
        }
    }

    /** A leader (or a candidate we promised) is alive: refuse pre-votes for an election timeout, stop our own. */
    private void noteLeaderContact() {
        leaderContact = true;
        leaderContactNanos = st.now;
        preVoteBallot = null;
    }

    private void startElection() {
        preVoteBallot = null;
        if (!mayCampaign()) {
            return;
        }
        if (st.role != Role.FOLLOWER) {
            stepDown("new election");
        }
        st.setPromised(new Ballot(Math.max(st.maxRoundSeen, st.promised.round()) + 1, st.me));
        st.role = Role.CANDIDATE;
        st.followerPhase = FollowerPhase.NONE;
        st.leaderId = st.me;
        prepareAcceptedRound = st.acceptedRound;
        prepareLogEnd = st.logEnd();
        prepareDecidedIndex = st.decidedIndex;
        promises.clear();
        progress.clear();
        st.lease.clearGrants();
        lastMajorityContactNanos = st.now;
        sendPrepares(true);
        st.resetElectionTimer();
    }

    private void sendPrepares(boolean includingSelf) {
        lastPrepareSentNanos = st.now;
        long request = st.lease.leaseRequest();
        for (int m : st.members) {
            if (promises.containsKey(m) || (m == st.me && !includingSelf)) {
                continue;
            }
            Prepare p = prepareFor(m, request);
            st.send(m == st.me ? promiseFor(p) : p); // our own promise is a loopback: it counts once persisted
        }
    }

    /** Our ballot's Prepare to {@code m}, with what we held when we started it. */
    private Prepare prepareFor(int m, long leaseEndRequestedEpochNanos) {
        return new Prepare(st.me, m, st.configId, st.members, st.configStartIndex, st.promised, prepareAcceptedRound, prepareLogEnd,
                prepareDecidedIndex, leaseEndRequestedEpochNanos);
    }

    private void onPromise(Promise p) {
        if (!p.ballot().equals(st.promised) || st.role == Role.FOLLOWER) {
            st.diag(Code.STALE_BALLOT, "Promise " + p.ballot() + " from " + p.from() + ", leading " + st.promised
                    + " as " + st.role);
            return;
        }
        if (p.suffix().size() > st.limits.maxEntriesPerMessage()) {
            st.diag(Code.MESSAGE_TOO_LARGE, "Promise from " + p.from() + " with " + p.suffix().size() + " entries");
            return;
        }
        if (promises.containsKey(p.from())) {
            if (st.role == Role.LEADER && p.from() != st.me) {
                // Promised again (it restarted and we Prepared it again, or the network repeated its Promise):
                // synchronize it from what it says now. A follower already in sync answers with where it is.
                promises.put(p.from(), p);
                st.lease.recordGrant(p.from(), p.leaseEndGrantedEpochNanos());
                progress.remove(p.from());
                sendAcceptSync(p.from());
                return;
            }
            st.diag(Code.DUPLICATE, "Promise from " + p.from() + " already counted");
            return;
        }
        promises.put(p.from(), p);
        st.lease.recordGrant(p.from(), p.leaseEndGrantedEpochNanos());
        if (st.role == Role.CANDIDATE) {
            int count = 0;
            for (int m : st.members) {
                count += promises.containsKey(m) ? 1 : 0;
            }
            if (count >= st.majority()) {
                becomeLeader();
            }
        } else if (p.from() != st.me) {
            sendAcceptSync(p.from()); // a late promise: synchronize it too
        }
    }

    private void becomeLeader() {
        Promise max = null;
        for (Promise p : promises.values()) {
            if (max == null || p.acceptedRound().isAbove(max.acceptedRound())
                    || (p.acceptedRound().equals(max.acceptedRound()) && p.logEnd() > max.logEnd())) {
                max = p;
            }
        }
        adoptedRound = max.acceptedRound();
        adoptedLogEnd = max.logEnd();
        long from = st.logEnd();
        List<Entry> suffix = List.of();
        if (max.from() != st.me && !(max.acceptedRound().equals(prepareAcceptedRound) && max.logEnd() == prepareLogEnd)) {
            if (max.snapshot() != null && max.snapshot().endIndex() > st.decidedIndex) {
                st.installSnapshot(max.snapshot());
            }
            from = max.suffixStart();
            suffix = max.suffix();
            if (!(from >= st.decidedIndex && from <= st.logEnd())) {
                throw invariantBroken("adopted suffix at " + from + " outside [decided " + st.decidedIndex
                        + ", log end " + st.logEnd() + "]");
            }
            st.truncate(from);
            st.log.addAll(suffix);
        }
        if (st.logEnd() != adoptedLogEnd) {
            throw invariantBroken("adopted log ends at " + st.logEnd() + ", promise said " + adoptedLogEnd);
        }
        st.acceptedRound = st.promised;
        st.persist(new PersistAccepted(st.configId, st.acceptedRound, from, suffix));
        st.role = Role.LEADER;
        st.lease.startedLeading();
        selfAcked = -1;
        lastHeartbeatNanos = st.now;
        st.out.effects.add(new Effect.BecameLeader(st.configId, st.promised));
        for (int f : promises.keySet()) {
            if (f != st.me) {
                sendAcceptSync(f);
            }
        }
        st.send(new Accepted(st.me, st.me, st.configId, st.promised, st.logEnd(), Long.MIN_VALUE));
        flushPending();
    }

    private void sendAcceptSync(int f) {
        Promise p = promises.get(f);
        long sync = p.acceptedRound().equals(adoptedRound) ? Math.min(p.logEnd(), adoptedLogEnd) : p.decidedIndex();
        sync = Math.min(sync, st.logEnd());
        Snapshot snap = null;
        long from = sync;
        if (sync < st.compactedIndex) {
            snap = st.snapshot;
            from = st.compactedIndex;
        }
        st.send(new AcceptSync(st.me, f, st.configId, st.promised, from, st.slice(from, st.logEnd()), snap, st.decidedIndex,
                st.lease.leaseRequest()));
        Progress pr = progress.computeIfAbsent(f, k -> new Progress());
        pr.syncSentNanos = st.now;
        pr.syncIndex = from;
        pr.ackedOnce = false;
        pr.acked = from;
        pr.nextIndex = st.logEnd();
        pr.lastProgressNanos = st.now;
    }

    private void onAccepted(Accepted a) {
        if (st.role != Role.LEADER || !a.ballot().equals(st.promised)) {
            st.diag(Code.STALE_BALLOT, "Accepted " + a.ballot() + " from " + a.from() + ", leading " + st.promised
                    + " as " + st.role);
            return;
        }
        if (a.logEnd() > st.logEnd()) {
            st.diag(Code.BAD_MESSAGE, "Accepted up to " + a.logEnd() + " from " + a.from() + " beyond log end " + st.logEnd());
            return;
        }
        if (a.from() == st.me) {
            selfAcked = Math.max(selfAcked, a.logEnd());
        } else {
            Progress p = progress.get(a.from());
            if (p == null) {
                st.diag(Code.BAD_MESSAGE, "Accepted from " + a.from() + " which was never synchronized");
                return;
            }
            if (!p.ackedOnce || a.logEnd() > p.acked) {
                p.ackedOnce = true;
                p.acked = a.logEnd();
                p.lastProgressNanos = st.now;
            }
            if (p.nextIndex < p.acked) {
                p.nextIndex = p.acked;
            }
            st.lease.recordGrant(a.from(), a.leaseEndGrantedEpochNanos());
            sendAppends(a.from());
        }
        tryDecide();
        if (st.role == Role.LEADER && !pending.isEmpty()) {
            flushPending(); // a decision made room in the pipeline for queued proposals
        }
    }

    private void tryDecide() {
        ArrayList<Long> acks = new ArrayList<>();
        for (int m : st.members) {
            if (m == st.me) {
                acks.add(selfAcked);
            } else {
                Progress p = progress.get(m);
                acks.add(p != null && p.ackedOnce ? p.acked : -1L);
            }
        }
        acks.sort((a, b) -> Long.compare(b, a));
        long chosen = acks.get(st.majority() - 1);
        if (chosen > st.decidedIndex) {
            for (var e : progress.entrySet()) {
                st.send(new Decide(st.me, e.getKey(), st.configId, st.promised, chosen, st.lease.leaseRequest()));
            }
            advanceDecided(chosen);
        }
    }

    private void leaderTick() {
        int heard = 1;
        for (int m : st.members) {
            Long t = lastHeardFromNanos.get(m);
            if (m != st.me && t != null && st.now - t < st.config.electionTimeoutNanos()) {
                heard++;
            }
        }
        if (heard >= st.majority()) {
            lastMajorityContactNanos = st.now;
        } else if (st.now - lastMajorityContactNanos > 2 * st.config.electionTimeoutNanos()) {
            stepDown("no majority heard for " + (st.now - lastMajorityContactNanos) + " ns");
            return;
        }
        if (st.now - lastHeartbeatNanos < st.config.heartbeatIntervalNanos()) {
            return;
        }
        lastHeartbeatNanos = st.now;
        long request = st.lease.leaseRequest();
        st.lease.recordGrant(st.me, st.lease.grant(st.me, request));
        for (int m : st.members) {
            if (m == st.me) {
                continue;
            }
            Progress p = progress.get(m);
            if (!promises.containsKey(m)) {
                st.send(prepareFor(m, request));
            } else if (p == null) {
                sendAcceptSync(m);
            } else if (!p.ackedOnce) {
                if (st.now - p.syncSentNanos >= st.config.retransmitIntervalNanos()) {
                    sendAcceptSync(m);
                }
            } else {
                st.send(new Decide(st.me, m, st.configId, st.promised, st.decidedIndex, request));
                if (p.acked < st.logEnd() && st.now - p.lastProgressNanos >= st.config.retransmitIntervalNanos()) {
                    p.nextIndex = p.acked; // go back: something was lost
                    p.lastProgressNanos = st.now;
                    sendAppends(m);
                }
            }
        }
    }

    private void sendAppends(int f) {
        Progress p = progress.get(f);
        if (p == null) {
            return;
        }
        long base = p.ackedOnce ? p.acked : p.syncIndex;
        if (p.ackedOnce && p.nextIndex < st.compactedIndex) {
            st.send(new InstallSnapshot(st.me, f, st.configId, st.promised, st.snapshot, st.decidedIndex, st.lease.leaseRequest()));
            p.nextIndex = st.compactedIndex;
            base = st.compactedIndex;
        }
        if (p.nextIndex < st.compactedIndex) {
            return; // not yet synchronized and already compacted past: the AcceptSync retransmission fixes it
        }
        while (p.nextIndex < st.logEnd() && p.nextIndex - base < st.limits.maxInflightEntries()) {
            ArrayList<Entry> batch = new ArrayList<>();
            long bytes = 0;
            for (long s = p.nextIndex; s < st.logEnd() && batch.size() < st.limits.maxBatchEntries(); s++) {
                Entry e = st.entryAt(s);
                if (!batch.isEmpty() && bytes + e.sizeBytes() > st.limits.maxBatchBytes()) {
                    break;
                }
                batch.add(e);
                bytes += e.sizeBytes();
            }
            st.send(new Accept(st.me, f, st.configId, st.promised, p.nextIndex, batch, st.decidedIndex, st.lease.leaseRequest()));
            p.nextIndex += batch.size();
        }
    }

    private void flushPending() {
        long from = st.logEnd();
        ArrayList<Entry> appended = new ArrayList<>();
        while (!pending.isEmpty() && st.logEnd() - st.decidedIndex < st.limits.maxInflightEntries()
                && !configEntryUndecided()) {
            Entry e = pending.poll();
            st.log.add(e);
            appended.add(e);
        }
        if (appended.isEmpty()) {
            return;
        }
        st.persist(new PersistAccepted(st.configId, st.acceptedRound, from, appended));
        st.send(new Accepted(st.me, st.me, st.configId, st.promised, st.logEnd(), Long.MIN_VALUE));
        for (int f : progress.keySet()) {
            sendAppends(f);
        }
    }

    private boolean refuseProposal(String what) {
        if (!st.members.contains(st.me)) {
            st.diag(Code.NOT_MEMBER, what + " refused: replica " + st.me + " is not in configuration " + st.configId);
            return true;
        }
        if (st.role == Role.FOLLOWER) {
            st.diag(Code.NOT_LEADER, what + " refused: not the leader; try replica " + st.leaderId);
            return true;
        }
        if (configEntryUndecided() || pending.stream().anyMatch(Entry::isConfig)) {
            st.diag(Code.RECONFIGURING, what + " refused: a membership change is in flight; retry after it");
            return true;
        }
        return false;
    }

    private boolean configEntryUndecided() {
        for (long s = Math.max(st.decidedIndex, st.compactedIndex); s < st.logEnd(); s++) {
            if (st.entryAt(s).isConfig()) {
                return true;
            }
        }
        return false;
    }

    private void onNack(Nack n) {
        st.maxRoundSeen = Math.max(st.maxRoundSeen, n.promised().round());
        if (st.role == Role.LEADER && n.promised().equals(st.promised) && n.from() != st.me) {
            // A follower promised our ballot but lost its place in it (it restarted): Prepare it again; its new
            // Promise gets a fresh AcceptSync.
            st.send(prepareFor(n.from(), st.lease.leaseRequest()));
            return;
        }
        if (st.role != Role.FOLLOWER && n.promised().isAbove(st.promised)) {
            if (st.role == Role.LEADER && st.lease.canServeLeaseRead(st.tt)) {
                // A replica that lost touch bumped the ballot; we still hold the lease, so we take the ballot
                // back at once (our grantors promise us again without waiting, we are their lease holder).
                startElection();
            } else {
                stepDown("Nack: replica " + n.from() + " promised " + n.promised());
                st.resetElectionTimer();
            }
        }
    }

    // ------------------------------------------------------------------ shared

    private void advanceDecided(long target) {
        target = Math.min(target, st.logEnd());
        if (target <= st.decidedIndex) {
            return;
        }
        Entry configEntry = null;
        long configSlot = -1;
        for (long s = st.decidedIndex; s < target; s++) {
            Entry e = st.entryAt(s);
            st.out.decided.add(new Decided(s, e));
            if (e.isConfig() && e.nextConfigId() > st.configId) {
                configEntry = e;
                configSlot = s;
            }
        }
        st.decidedIndex = target;
        st.persist(new PersistDecided(st.decidedIndex));
        if (configEntry != null) {
            if (configSlot != st.decidedIndex - 1) {
                throw invariantBroken("entries after configuration entry at " + configSlot);
            }
            boolean wasLeader = st.role == Role.LEADER;
            enterConfiguration(configEntry.nextConfigId(), configEntry.nextMembers(), configSlot + 1);
            if (wasLeader && st.members.contains(st.me)) {
                startElection();
            }
        }
    }

    private void enterConfiguration(long id, List<Integer> nextMembers, long startIndex) {
        if (st.role != Role.FOLLOWER) {
            stepDown("configuration " + id + " starts");
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
        st.followerPhase = FollowerPhase.NONE;
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

    private void stepDown(String reason) {
        leaseEndHeldInConfigEpochNanos = Math.max(leaseEndHeldInConfigEpochNanos, st.lease.leaseEndEpochNanos());
        if (st.role != Role.FOLLOWER) {
            st.out.effects.add(new Effect.SteppedDown(st.configId, st.promised, reason));
            if (!pending.isEmpty()) {
                st.diag(Code.NOT_LEADER, pending.size() + " queued proposal(s) dropped: " + reason);
                pending.clear();
            }
        }
        st.role = Role.FOLLOWER;
        st.followerPhase = FollowerPhase.NONE;
        st.leaderId = -1;
        promises.clear();
        progress.clear();
        st.lease.clearGrants();
    }

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
        } else {
            InstallSnapshot s = (InstallSnapshot) m;
            ok = s.ballot() != null && s.snapshot() != null;
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

    // ------------------------------------------------------------------ call frame and invariants

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
