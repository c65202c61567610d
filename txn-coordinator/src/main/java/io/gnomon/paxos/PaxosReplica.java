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
import io.gnomon.paxos.PersistWrite.PersistLeaseGrant;
import io.gnomon.paxos.PersistWrite.PersistPromise;
import io.gnomon.paxos.PersistWrite.PersistSnapshot;
import io.gnomon.truetime.TimeInterval;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;

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
 * persisted before they are sent ({@link PersistLeaseGrant}, written ahead of the grant so renewals rarely need a
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
    private enum Role { FOLLOWER, CANDIDATE, LEADER }

    private enum FollowerPhase { NONE, PREPARED, ACCEPTING }

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

    private final PaxosConfig config;
    private final int me;
    private final PaxosLimits limits;
    private final SplittableRandom random;
    /** Negative control only: see {@link #skipLeaseWaitForNegativeControl()}. */
    private boolean skipLeaseWait;
    /** Negative control only: see {@link #skipMembershipLeaseWaitForNegativeControl()}. */
    private boolean skipMembershipLeaseWait;

    // Durable state (mirrors what the writes returned so far say).
    private long configId;
    private List<Integer> members;
    private long configStartIndex;
    private Ballot promised;
    private Ballot acceptedRound;
    private Snapshot snapshot;
    private long compactedIndex;
    private final ArrayList<Entry> log = new ArrayList<>();
    private long decidedIndex;
    private final ArrayList<ConfigRecord> configHistory = new ArrayList<>();

    // Volatile state.
    private Role role = Role.FOLLOWER;
    private FollowerPhase followerPhase = FollowerPhase.NONE;
    private int leaderId = -1;
    private long maxRoundSeen;
    private long knownNewerConfigId;
    private long electionDeadlineNanos;
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
    private final TreeMap<Integer, Long> leaseGrants = new TreeMap<>();
    private final TreeMap<Integer, Long> lastHeardFromNanos = new TreeMap<>();
    private long selfAcked;
    private long lastHeartbeatNanos;
    private long lastMajorityContactNanos;
    private final ArrayDeque<Entry> pending = new ArrayDeque<>();

    // The inputs of the call in progress.
    private long now;
    private TimeInterval tt;
    private Out out;
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
        this.config = config;
        this.me = config.replicaId();
        this.limits = config.limits();
        this.random = new SplittableRandom(config.randomSeed());
        this.configId = r.configId();
        this.members = r.members();
        this.configStartIndex = r.configStartIndex();
        this.promised = r.promised();
        this.acceptedRound = r.acceptedRound();
        this.snapshot = r.snapshot();
        this.compactedIndex = r.firstSlot();
        this.log.addAll(r.entries());
        this.decidedIndex = r.decidedIndex();
        if (snapshot != null && snapshot.configId() != configId) {
            configHistory.add(new ConfigRecord(snapshot.configId(), snapshot.members(), snapshot.configStartIndex()));
        }
        configHistory.add(new ConfigRecord(configId, members, configStartIndex));
        this.maxRoundSeen = promised.round();
        this.durableGrantEndEpochNanos = r.grantedLeaseEndEpochNanos();
        if (restarted) {
            // Either bound alone can fall short: the persisted end when the log predates persisted grants (0), the
            // old rule when this incarnation runs with a shorter lease than the one that granted (issue 16).
            grantedLeaseEndEpochNanos = Math.max(r.grantedLeaseEndEpochNanos(),
                    saturatedAdd(trueTimeNow.latestEpochNanos(), config.leaseDurationNanos()));
        }
        this.now = nowMonotonicNanos;
        resetElectionTimer();
        if (decidedIndex > logEnd() || compactedIndex > decidedIndex) {
            throw new IllegalArgumentException("recovered state is inconsistent: compacted " + compactedIndex
                    + ", decided " + decidedIndex + ", log end " + logEnd());
        }
        this.replay = new Out();
        if (snapshot != null) {
            replay.effects.add(new Effect.InstallSnapshot(snapshot));
        }
        for (long slot = compactedIndex; slot < decidedIndex; slot++) {
            replay.decided.add(new Decided(slot, entryAt(slot)));
        }
    }

    /**
     * Negative control for tests (issue 10): promise and grant without waiting out earlier leases. Package-private
     * on purpose: no production path can reach it; only tests in {@code io.gnomon.paxos} call it.
     */
    void skipLeaseWaitForNegativeControl() {
        this.skipLeaseWait = true;
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
        this.grantedLeaseEndEpochNanos = saturatedAdd(trueTimeNow.latestEpochNanos(), config.leaseDurationNanos());
    }

    // ------------------------------------------------------------------ inputs

    /** Handles one message from another replica (or a loopback from this one). */
    public Output step(Message in, long nowMonotonicNanos, TimeInterval trueTimeNow) {
        begin(nowMonotonicNanos, trueTimeNow);
        String bad = validate(in);
        if (bad != null) {
            diag(Code.BAD_MESSAGE, bad);
            return finish();
        }
        if (in.to() != me) {
            diag(Code.WRONG_DESTINATION, in.getClass().getSimpleName() + " for replica " + in.to() + " reached " + me);
            return finish();
        }
        if (in.configId() < configId) {
            if (!(in instanceof Nack || in instanceof Accepted || in instanceof Promise || in instanceof PreVoteReply)) {
                send(new Nack(me, in.from(), configId, promised));
            }
            diag(Code.STALE_CONFIG, in.getClass().getSimpleName() + " from " + in.from() + " in configuration "
                    + in.configId() + ", this replica is in " + configId);
            return finish();
        }
        if (in.configId() > configId) {
            if (in instanceof Prepare p && p.members().contains(me) && p.members().contains(p.from())) {
                enterConfiguration(p.configId(), p.members(), p.configStartIndex());
            } else if (in instanceof PreVote v && v.members().contains(me) && v.members().contains(v.from())) {
                // Its Prepare would move us into that configuration with nothing promised in it, so we would
                // promise; a joining member must answer, or a configuration whose majority is new could not elect.
                send(new PreVoteReply(me, v.from(), v.configId(), v.ballot(), true, Ballot.ZERO));
                return finish();
            } else {
                knownNewerConfigId = Math.max(knownNewerConfigId, in.configId());
                if (role != Role.FOLLOWER) {
                    stepDown("configuration " + in.configId() + " exists");
                }
                diag(Code.FUTURE_CONFIG, in.getClass().getSimpleName() + " from " + in.from() + " in configuration "
                        + in.configId() + ", ahead of " + configId + "; waiting for its leader's Prepare");
                return finish();
            }
        }
        if (!members.contains(in.from())) {
            diag(Code.UNKNOWN_REPLICA, in.getClass().getSimpleName() + " from replica " + in.from()
                    + ", not a member of configuration " + configId + " " + members);
            return finish();
        }
        if (!members.contains(me)) {
            diag(Code.NOT_MEMBER, "replica " + me + " is not in configuration " + configId + " " + members);
            return finish();
        }
        if (in.from() != me) {
            lastHeardFromNanos.put(in.from(), now);
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
        if (!members.contains(me)) {
            return finish();
        }
        switch (role) {
            case FOLLOWER -> {
                if (now - electionDeadlineNanos >= 0) {
                    startPreVote();
                } else if (preVoteBallot != null && now - lastPreVoteSentNanos >= config.retransmitIntervalNanos()) {
                    sendPreVotes();
                }
            }
            case CANDIDATE -> {
                if (now - lastPrepareSentNanos >= config.retransmitIntervalNanos()) {
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
        if (values.size() > limits.maxPendingProposals() - pending.size()) {
            diag(Code.BACKPRESSURE, values.size() + " value(s) refused: " + pending.size()
                    + " already queued, maxPendingProposals " + limits.maxPendingProposals());
            return finish();
        }
        for (int i = 0; i < values.size(); i++) {
            byte[] v = values.get(i);
            if (v == null || v.length > limits.maxValueBytes()) {
                diagValue(i, Code.VALUE_TOO_LARGE, "value " + i + " of " + (v == null ? "null" : v.length + " bytes")
                        + " refused: maxValueBytes " + limits.maxValueBytes());
                continue;
            }
            pending.add(Entry.value(v));
        }
        if (role == Role.LEADER) {
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
        TreeSet<Integer> current = new TreeSet<>(members);
        TreeSet<Integer> added = new TreeSet<>(next);
        added.removeAll(current);
        TreeSet<Integer> removed = new TreeSet<>(current);
        removed.removeAll(next);
        if (added.size() + removed.size() != 1 || next.isEmpty() || next.first() < 1) {
            diag(Code.BAD_MEMBERSHIP_CHANGE, "from " + current + " to " + next
                    + ": exactly one replica may be added or removed per change (ids >= 1)");
            return finish();
        }
        if (!skipMembershipLeaseWait && tt.earliestEpochNanos() <= leaseEndHeldBeforeConfigEpochNanos) {
            // The next configuration's majorities need not meet the ones that granted that lease: its leader could
            // hold a lease while ours still runs. It ends at most a (grantor's) lease after we left that configuration.
            diag(Code.LEASE_WAIT, "membership change to " + next + " refused: this replica held a lease in an "
                    + "earlier configuration until " + leaseEndHeldBeforeConfigEpochNanos + ", TrueTime earliest "
                    + tt.earliestEpochNanos() + "; retry in "
                    + ((leaseEndHeldBeforeConfigEpochNanos - tt.earliestEpochNanos()) / 1_000_000 + 1) + " ms");
            return finish();
        }
        pending.add(Entry.config(configId + 1, List.copyOf(next)));
        if (role == Role.LEADER) {
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
        if (state == null || lastIncludedSlot >= decidedIndex || lastIncludedSlot < compactedIndex) {
            diag(Code.BAD_SNAPSHOT, "snapshot through slot " + lastIncludedSlot + " refused: must be in ["
                    + compactedIndex + ", " + (decidedIndex - 1) + "] (decided, not yet compacted) with state");
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
        log.subList(0, (int) (end - compactedIndex)).clear();
        compactedIndex = end;
        snapshot = s;
        persist(new PersistSnapshot(s));
        return finish();
    }

    // ------------------------------------------------------------------ queries for the runtime and harness

    /** Whether this replica leads with a lease: {@code TrueTime.before(leaseEnd)}. */
    public boolean canServeLeaseRead(TimeInterval trueTimeNow) {
        return role == Role.LEADER && members.contains(me) && trueTimeNow.latestEpochNanos() < leaseEndEpochNanos();
    }

    /** The end of the lease a majority granted to this leader's ballot; {@link Long#MIN_VALUE} if none. */
    public long leaseEndEpochNanos() {
        if (role != Role.LEADER) {
            return Long.MIN_VALUE;
        }
        ArrayList<Long> ends = new ArrayList<>();
        for (int m : members) {
            Long g = leaseGrants.get(m);
            if (g != null) {
                ends.add(g);
            }
        }
        int majority = majority();
        if (ends.size() < majority) {
            return Long.MIN_VALUE;
        }
        ends.sort((a, b) -> Long.compare(b, a));
        return ends.get(majority - 1);
    }

    public int replicaId() {
        return me;
    }

    public boolean isLeader() {
        return role == Role.LEADER;
    }

    /** The replica this one follows or leads as, or -1. */
    public int leaderHint() {
        return leaderId;
    }

    public Ballot promised() {
        return promised;
    }

    public long configId() {
        return configId;
    }

    public List<Integer> members() {
        return members;
    }

    public long decidedIndex() {
        return decidedIndex;
    }

    public long compactedIndex() {
        return compactedIndex;
    }

    public long logEnd() {
        return compactedIndex + log.size();
    }

    // ------------------------------------------------------------------ follower side

    private void onPrepare(Prepare p) {
        maxRoundSeen = Math.max(maxRoundSeen, p.ballot().round());
        int c = p.ballot().compareTo(promised);
        if (c < 0) {
            send(new Nack(me, p.from(), configId, promised));
            diag(Code.STALE_BALLOT, "Prepare " + p.ballot() + " from " + p.from() + " below promised " + promised);
            return;
        }
        if (c == 0) {
            if (followerPhase == FollowerPhase.PREPARED && leaderId == p.from()) {
                send(promiseFor(p)); // our Promise was lost or is slow: the same promise again
            } else if (lostPlaceIn(p)) {
                // We promised this ballot, then restarted and lost our place in it: promise it again (the
                // promise is durable already), once every grant we may have made before the crash is over.
                if (!canPromise(p.from())) {
                    diag(Code.LEASE_WAIT, "Prepare " + p.ballot() + " from " + p.from() + " (re-promise after a "
                            + "restart) deferred until TrueTime is after " + grantedLeaseEndEpochNanos);
                    return;
                }
                followerPhase = FollowerPhase.PREPARED;
                leaderId = p.from();
                resetElectionTimer();
                noteLeaderContact();
                send(promiseFor(p));
            } else {
                diag(Code.DUPLICATE, "Prepare " + p.ballot() + " already handled");
            }
            return;
        }
        if (!canPromise(p.from())) {
            // A higher ballot is waiting for our grant to run out; we promise it then. Competing meanwhile would
            // only renew our own grant and keep it waiting (livelock seen with a restarted former leader whose
            // election timeout is shorter than its recovered self-grant), so hold our election timer.
            resetElectionTimer();
            diag(Code.LEASE_WAIT, "Prepare " + p.ballot() + " from " + p.from() + " deferred: lease granted to "
                    + grantedLeaseHolder + " until " + grantedLeaseEndEpochNanos + ", TrueTime earliest "
                    + tt.earliestEpochNanos());
            return;
        }
        if (role != Role.FOLLOWER) {
            stepDown("promised higher ballot " + p.ballot());
        }
        setPromised(p.ballot());
        followerPhase = FollowerPhase.PREPARED;
        leaderId = p.from();
        resetElectionTimer();
        noteLeaderContact();
        send(promiseFor(p));
    }

    /**
     * Whether {@code m}, in the ballot we promised, comes from that ballot's own replica while we have no place in
     * it (no Promise or AcceptSync since we restarted): we know the ballot, not where our log stands in it.
     */
    private boolean lostPlaceIn(Message m) {
        return role == Role.FOLLOWER && followerPhase == FollowerPhase.NONE && m.from() != me
                && promised.replicaId() == m.from();
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
        resetElectionTimer();
        noteLeaderContact();
        send(new Nack(me, m.from(), configId, promised));
        diag(Code.REJOINING, m.getClass().getSimpleName() + " from " + m.from() + " in our promised ballot "
                + promised + ", but we lost our place in it (restarted): asking to be Prepared again");
        return true;
    }

    private Promise promiseFor(Prepare p) {
        long start;
        if (acceptedRound.isAbove(p.acceptedRound())) {
            start = p.decidedIndex();
        } else if (acceptedRound.equals(p.acceptedRound()) && logEnd() > p.logEnd()) {
            start = p.logEnd();
        } else {
            start = logEnd();
        }
        start = Math.min(start, logEnd());
        Snapshot snap = null;
        if (start < compactedIndex) {
            snap = snapshot;
            start = compactedIndex;
        }
        long granted = grant(p.from(), p.leaseEndRequestedEpochNanos());
        return new Promise(me, p.from(), configId, p.ballot(), acceptedRound, logEnd(), decidedIndex, start,
                slice(start, logEnd()), snap, granted);
    }

    private void onAcceptSync(AcceptSync a) {
        if (!sameBallotOrReject(a, a.ballot())) {
            return;
        }
        if (followerPhase == FollowerPhase.ACCEPTING && leaderId == a.from()) {
            noteLeaderContact();
            send(accepted(a.from(), a.leaseEndRequestedEpochNanos())); // a retransmission: say where we are
            return;
        }
        if (followerPhase != FollowerPhase.PREPARED || leaderId != a.from()) {
            if (askToBePrepared(a)) {
                return;
            }
            diag(Code.BAD_MESSAGE, "AcceptSync from " + a.from() + " without a Promise to it");
            return;
        }
        if (a.snapshot() != null && a.snapshot().endIndex() > decidedIndex) {
            installSnapshot(a.snapshot());
        }
        long start = a.syncIndex();
        List<Entry> suffix = a.suffix();
        if (start < decidedIndex) {
            // The leader's log agrees with ours on decided slots; never rewrite them.
            int skip = (int) Math.min(decidedIndex - start, suffix.size());
            suffix = suffix.subList(skip, suffix.size());
            start += skip;
        }
        if (start < decidedIndex || start > logEnd() || start < compactedIndex) {
            diag(Code.BAD_MESSAGE, "AcceptSync at " + a.syncIndex() + " does not fit log [" + compactedIndex
                    + ", " + logEnd() + ") decided " + decidedIndex);
            return;
        }
        truncate(start);
        log.addAll(suffix);
        acceptedRound = promised;
        persist(new PersistAccepted(configId, acceptedRound, start, suffix));
        followerPhase = FollowerPhase.ACCEPTING;
        resetElectionTimer();
        noteLeaderContact();
        advanceDecided(Math.min(a.decidedIndex(), logEnd()));
        send(accepted(a.from(), a.leaseEndRequestedEpochNanos()));
    }

    private void onAccept(Accept a) {
        if (!sameBallotOrReject(a, a.ballot())) {
            return;
        }
        if (followerPhase != FollowerPhase.ACCEPTING || leaderId != a.from()) {
            if (askToBePrepared(a)) {
                return;
            }
            if (leaderId == a.from()) {
                resetElectionTimer();
                noteLeaderContact();
            }
            diag(Code.BAD_MESSAGE, "Accept from " + a.from() + " before AcceptSync; waiting for it");
            return;
        }
        resetElectionTimer();
        noteLeaderContact();
        if (a.firstSlot() <= logEnd()) {
            long skip = logEnd() - a.firstSlot();
            if (skip < a.entries().size()) {
                long from = logEnd();
                List<Entry> fresh = a.entries().subList((int) skip, a.entries().size());
                log.addAll(fresh);
                persist(new PersistAccepted(configId, acceptedRound, from, fresh));
            }
            advanceDecided(Math.min(a.decidedIndex(), logEnd()));
        } // else a gap (a lost or reordered Accept): our Accepted tells the leader where to resume
        send(accepted(a.from(), a.leaseEndRequestedEpochNanos()));
    }

    private void onDecide(Decide d) {
        if (!sameBallotOrReject(d, d.ballot())) {
            return;
        }
        if (leaderId == d.from()) {
            resetElectionTimer();
            noteLeaderContact();
        }
        if (followerPhase != FollowerPhase.ACCEPTING || leaderId != d.from()) {
            askToBePrepared(d);
            return;
        }
        advanceDecided(Math.min(d.decidedIndex(), logEnd()));
        send(accepted(d.from(), d.leaseEndRequestedEpochNanos()));
    }

    private void onInstallSnapshot(InstallSnapshot s) {
        if (!sameBallotOrReject(s, s.ballot())) {
            return;
        }
        if (followerPhase != FollowerPhase.ACCEPTING || leaderId != s.from()) {
            askToBePrepared(s);
            return;
        }
        resetElectionTimer();
        noteLeaderContact();
        if (s.snapshot().endIndex() > decidedIndex) {
            installSnapshot(s.snapshot());
        }
        advanceDecided(Math.min(s.decidedIndex(), logEnd()));
        send(accepted(s.from(), s.leaseEndRequestedEpochNanos()));
    }

    /** True if {@code ballot} is the promised one; otherwise answers per protocol and returns false. */
    private boolean sameBallotOrReject(Message m, Ballot ballot) {
        maxRoundSeen = Math.max(maxRoundSeen, ballot.round());
        int c = ballot.compareTo(promised);
        if (c < 0) {
            send(new Nack(me, m.from(), configId, promised));
            diag(Code.STALE_BALLOT, m.getClass().getSimpleName() + " " + ballot + " from " + m.from()
                    + " below promised " + promised);
            return false;
        }
        if (c > 0) {
            // A ballot we never promised: its leader must Prepare us first (Sequence Paxos log synchronization).
            if (role == Role.LEADER || role == Role.CANDIDATE) {
                stepDown("saw higher ballot " + ballot + " from " + m.from());
            }
            diag(Code.FUTURE_BALLOT, m.getClass().getSimpleName() + " " + ballot + " from " + m.from()
                    + " above promised " + promised + "; waiting for its Prepare");
            return false;
        }
        if (m.from() == me || role != Role.FOLLOWER) {
            diag(Code.BAD_MESSAGE, m.getClass().getSimpleName() + " in own ballot " + ballot + " from " + m.from());
            return false;
        }
        return true;
    }

    private Accepted accepted(int leader, long leaseEndRequested) {
        return new Accepted(me, leader, configId, promised, logEnd(), grant(leader, leaseEndRequested));
    }

    // ------------------------------------------------------------------ leader side

    /** Whether this replica may campaign now; if not, sets its election timer for the next try. */
    private boolean mayCampaign() {
        if (knownNewerConfigId > configId || decidedIndex < configStartIndex || !members.contains(me)) {
            resetElectionTimer(); // lacks the configuration's starting prefix, or the configuration is over
            return false;
        }
        if (!canPromise(me)) {
            electionDeadlineNanos = now + config.retransmitIntervalNanos(); // our own grant has not run out yet
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
        preVoteBallot = new Ballot(Math.max(maxRoundSeen, promised.round()) + 1, me);
        preVotes.clear();
        preVotes.add(me);
        resetElectionTimer();
        if (preVotes.size() >= majority()) {
            startElection();
            return;
        }
        sendPreVotes();
    }

    private void sendPreVotes() {
        lastPreVoteSentNanos = now;
        for (int m : members) {
            if (!preVotes.contains(m)) {
                send(new PreVote(me, m, configId, members, configStartIndex, preVoteBallot));
            }
        }
    }

    private void onPreVote(PreVote v) {
        boolean leaderAlive = role == Role.LEADER
                || (leaderContact && now - leaderContactNanos < config.electionTimeoutNanos());
        boolean granted = v.ballot().isAbove(promised) && !leaderAlive;
        if (!granted) {
            diag(Code.PRE_VOTE_REFUSED, "PreVote " + v.ballot() + " from " + v.from() + " refused: "
                    + (leaderAlive ? (role == Role.LEADER ? "leading" : "heard from leader " + leaderId
                    + " " + (now - leaderContactNanos) + " ns ago") : "promised " + promised));
        }
        send(new PreVoteReply(me, v.from(), configId, v.ballot(), granted, promised));
    }

    private void onPreVoteReply(PreVoteReply r) {
        maxRoundSeen = Math.max(maxRoundSeen, r.promised().round());
        if (preVoteBallot == null || role != Role.FOLLOWER || !r.ballot().equals(preVoteBallot)) {
            diag(Code.STALE_BALLOT, "PreVoteReply " + r.ballot() + " from " + r.from() + ", asking "
                    + preVoteBallot + " as " + role);
            return;
        }
        if (!r.granted() || !preVotes.add(r.from())) {
            return;
        }
        if (preVotes.size() >= majority()) {
            startElection();
        }
    }

    /** A leader (or a candidate we promised) is alive: refuse pre-votes for an election timeout, stop our own. */
    private void noteLeaderContact() {
        leaderContact = true;
        leaderContactNanos = now;
        preVoteBallot = null;
    }

    private void startElection() {
        preVoteBallot = null;
        if (!mayCampaign()) {
            return;
        }
        if (role != Role.FOLLOWER) {
            stepDown("new election");
        }
        setPromised(new Ballot(Math.max(maxRoundSeen, promised.round()) + 1, me));
        role = Role.CANDIDATE;
        followerPhase = FollowerPhase.NONE;
        leaderId = me;
        prepareAcceptedRound = acceptedRound;
        prepareLogEnd = logEnd();
        prepareDecidedIndex = decidedIndex;
        promises.clear();
        progress.clear();
        leaseGrants.clear();
        lastMajorityContactNanos = now;
        sendPrepares(true);
        resetElectionTimer();
    }

    private void sendPrepares(boolean includingSelf) {
        lastPrepareSentNanos = now;
        long request = leaseRequest();
        for (int m : members) {
            if (promises.containsKey(m) || (m == me && !includingSelf)) {
                continue;
            }
            Prepare p = prepareFor(m, request);
            send(m == me ? promiseFor(p) : p); // our own promise is a loopback: it counts once persisted
        }
    }

    /** Our ballot's Prepare to {@code m}, with what we held when we started it. */
    private Prepare prepareFor(int m, long leaseEndRequestedEpochNanos) {
        return new Prepare(me, m, configId, members, configStartIndex, promised, prepareAcceptedRound, prepareLogEnd,
                prepareDecidedIndex, leaseEndRequestedEpochNanos);
    }

    private void onPromise(Promise p) {
        if (!p.ballot().equals(promised) || role == Role.FOLLOWER) {
            diag(Code.STALE_BALLOT, "Promise " + p.ballot() + " from " + p.from() + ", leading " + promised
                    + " as " + role);
            return;
        }
        if (p.suffix().size() > limits.maxEntriesPerMessage()) {
            diag(Code.MESSAGE_TOO_LARGE, "Promise from " + p.from() + " with " + p.suffix().size() + " entries");
            return;
        }
        if (promises.containsKey(p.from())) {
            if (role == Role.LEADER && p.from() != me) {
                // Promised again (it restarted and we Prepared it again, or the network repeated its Promise):
                // synchronize it from what it says now. A follower already in sync answers with where it is.
                promises.put(p.from(), p);
                recordGrant(p.from(), p.leaseEndGrantedEpochNanos());
                progress.remove(p.from());
                sendAcceptSync(p.from());
                return;
            }
            diag(Code.DUPLICATE, "Promise from " + p.from() + " already counted");
            return;
        }
        promises.put(p.from(), p);
        recordGrant(p.from(), p.leaseEndGrantedEpochNanos());
        if (role == Role.CANDIDATE) {
            int count = 0;
            for (int m : members) {
                count += promises.containsKey(m) ? 1 : 0;
            }
            if (count >= majority()) {
                becomeLeader();
            }
        } else if (p.from() != me) {
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
        long from = logEnd();
        List<Entry> suffix = List.of();
        if (max.from() != me && !(max.acceptedRound().equals(prepareAcceptedRound) && max.logEnd() == prepareLogEnd)) {
            if (max.snapshot() != null && max.snapshot().endIndex() > decidedIndex) {
                installSnapshot(max.snapshot());
            }
            from = max.suffixStart();
            suffix = max.suffix();
            if (!(from >= decidedIndex && from <= logEnd())) {
                throw invariantBroken("adopted suffix at " + from + " outside [decided " + decidedIndex
                        + ", log end " + logEnd() + "]");
            }
            truncate(from);
            log.addAll(suffix);
        }
        if (logEnd() != adoptedLogEnd) {
            throw invariantBroken("adopted log ends at " + logEnd() + ", promise said " + adoptedLogEnd);
        }
        acceptedRound = promised;
        persist(new PersistAccepted(configId, acceptedRound, from, suffix));
        role = Role.LEADER;
        selfGrantUnserved = false;
        selfAcked = -1;
        lastHeartbeatNanos = now;
        out.effects.add(new Effect.BecameLeader(configId, promised));
        for (int f : promises.keySet()) {
            if (f != me) {
                sendAcceptSync(f);
            }
        }
        send(new Accepted(me, me, configId, promised, logEnd(), Long.MIN_VALUE));
        flushPending();
    }

    private void sendAcceptSync(int f) {
        Promise p = promises.get(f);
        long sync = p.acceptedRound().equals(adoptedRound) ? Math.min(p.logEnd(), adoptedLogEnd) : p.decidedIndex();
        sync = Math.min(sync, logEnd());
        Snapshot snap = null;
        long from = sync;
        if (sync < compactedIndex) {
            snap = snapshot;
            from = compactedIndex;
        }
        send(new AcceptSync(me, f, configId, promised, from, slice(from, logEnd()), snap, decidedIndex,
                leaseRequest()));
        Progress pr = progress.computeIfAbsent(f, k -> new Progress());
        pr.syncSentNanos = now;
        pr.syncIndex = from;
        pr.ackedOnce = false;
        pr.acked = from;
        pr.nextIndex = logEnd();
        pr.lastProgressNanos = now;
    }

    private void onAccepted(Accepted a) {
        if (role != Role.LEADER || !a.ballot().equals(promised)) {
            diag(Code.STALE_BALLOT, "Accepted " + a.ballot() + " from " + a.from() + ", leading " + promised
                    + " as " + role);
            return;
        }
        if (a.logEnd() > logEnd()) {
            diag(Code.BAD_MESSAGE, "Accepted up to " + a.logEnd() + " from " + a.from() + " beyond log end " + logEnd());
            return;
        }
        if (a.from() == me) {
            selfAcked = Math.max(selfAcked, a.logEnd());
        } else {
            Progress p = progress.get(a.from());
            if (p == null) {
                diag(Code.BAD_MESSAGE, "Accepted from " + a.from() + " which was never synchronized");
                return;
            }
            if (!p.ackedOnce || a.logEnd() > p.acked) {
                p.ackedOnce = true;
                p.acked = a.logEnd();
                p.lastProgressNanos = now;
            }
            if (p.nextIndex < p.acked) {
                p.nextIndex = p.acked;
            }
            recordGrant(a.from(), a.leaseEndGrantedEpochNanos());
            sendAppends(a.from());
        }
        tryDecide();
        if (role == Role.LEADER && !pending.isEmpty()) {
            flushPending(); // a decision made room in the pipeline for queued proposals
        }
    }

    private void tryDecide() {
        ArrayList<Long> acks = new ArrayList<>();
        for (int m : members) {
            if (m == me) {
                acks.add(selfAcked);
            } else {
                Progress p = progress.get(m);
                acks.add(p != null && p.ackedOnce ? p.acked : -1L);
            }
        }
        acks.sort((a, b) -> Long.compare(b, a));
        long chosen = acks.get(majority() - 1);
        if (chosen > decidedIndex) {
            for (var e : progress.entrySet()) {
                send(new Decide(me, e.getKey(), configId, promised, chosen, leaseRequest()));
            }
            advanceDecided(chosen);
        }
    }

    private void leaderTick() {
        int heard = 1;
        for (int m : members) {
            Long t = lastHeardFromNanos.get(m);
            if (m != me && t != null && now - t < config.electionTimeoutNanos()) {
                heard++;
            }
        }
        if (heard >= majority()) {
            lastMajorityContactNanos = now;
        } else if (now - lastMajorityContactNanos > 2 * config.electionTimeoutNanos()) {
            stepDown("no majority heard for " + (now - lastMajorityContactNanos) + " ns");
            return;
        }
        if (now - lastHeartbeatNanos < config.heartbeatIntervalNanos()) {
            return;
        }
        lastHeartbeatNanos = now;
        long request = leaseRequest();
        recordGrant(me, grant(me, request));
        for (int m : members) {
            if (m == me) {
                continue;
            }
            Progress p = progress.get(m);
            if (!promises.containsKey(m)) {
                send(prepareFor(m, request));
            } else if (p == null) {
                sendAcceptSync(m);
            } else if (!p.ackedOnce) {
                if (now - p.syncSentNanos >= config.retransmitIntervalNanos()) {
                    sendAcceptSync(m);
                }
            } else {
                send(new Decide(me, m, configId, promised, decidedIndex, request));
                if (p.acked < logEnd() && now - p.lastProgressNanos >= config.retransmitIntervalNanos()) {
                    p.nextIndex = p.acked; // go back: something was lost
                    p.lastProgressNanos = now;
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
        if (p.ackedOnce && p.nextIndex < compactedIndex) {
            send(new InstallSnapshot(me, f, configId, promised, snapshot, decidedIndex, leaseRequest()));
            p.nextIndex = compactedIndex;
            base = compactedIndex;
        }
        if (p.nextIndex < compactedIndex) {
            return; // not yet synchronized and already compacted past: the AcceptSync retransmission fixes it
        }
        while (p.nextIndex < logEnd() && p.nextIndex - base < limits.maxInflightEntries()) {
            ArrayList<Entry> batch = new ArrayList<>();
            long bytes = 0;
            for (long s = p.nextIndex; s < logEnd() && batch.size() < limits.maxBatchEntries(); s++) {
                Entry e = entryAt(s);
                if (!batch.isEmpty() && bytes + e.sizeBytes() > limits.maxBatchBytes()) {
                    break;
                }
                batch.add(e);
                bytes += e.sizeBytes();
            }
            send(new Accept(me, f, configId, promised, p.nextIndex, batch, decidedIndex, leaseRequest()));
            p.nextIndex += batch.size();
        }
    }

    private void flushPending() {
        long from = logEnd();
        ArrayList<Entry> appended = new ArrayList<>();
        while (!pending.isEmpty() && logEnd() - decidedIndex < limits.maxInflightEntries()
                && !configEntryUndecided()) {
            Entry e = pending.poll();
            log.add(e);
            appended.add(e);
        }
        if (appended.isEmpty()) {
            return;
        }
        persist(new PersistAccepted(configId, acceptedRound, from, appended));
        send(new Accepted(me, me, configId, promised, logEnd(), Long.MIN_VALUE));
        for (int f : progress.keySet()) {
            sendAppends(f);
        }
    }

    private boolean refuseProposal(String what) {
        if (!members.contains(me)) {
            diag(Code.NOT_MEMBER, what + " refused: replica " + me + " is not in configuration " + configId);
            return true;
        }
        if (role == Role.FOLLOWER) {
            diag(Code.NOT_LEADER, what + " refused: not the leader; try replica " + leaderId);
            return true;
        }
        if (configEntryUndecided() || pending.stream().anyMatch(Entry::isConfig)) {
            diag(Code.RECONFIGURING, what + " refused: a membership change is in flight; retry after it");
            return true;
        }
        return false;
    }

    private boolean configEntryUndecided() {
        for (long s = Math.max(decidedIndex, compactedIndex); s < logEnd(); s++) {
            if (entryAt(s).isConfig()) {
                return true;
            }
        }
        return false;
    }

    private void onNack(Nack n) {
        maxRoundSeen = Math.max(maxRoundSeen, n.promised().round());
        if (role == Role.LEADER && n.promised().equals(promised) && n.from() != me) {
            // A follower promised our ballot but lost its place in it (it restarted): Prepare it again; its new
            // Promise gets a fresh AcceptSync.
            send(prepareFor(n.from(), leaseRequest()));
            return;
        }
        if (role != Role.FOLLOWER && n.promised().isAbove(promised)) {
            if (role == Role.LEADER && canServeLeaseRead(tt)) {
                // A replica that lost touch bumped the ballot; we still hold the lease, so we take the ballot
                // back at once (our grantors promise us again without waiting, we are their lease holder).
                startElection();
            } else {
                stepDown("Nack: replica " + n.from() + " promised " + n.promised());
                resetElectionTimer();
            }
        }
    }

    // ------------------------------------------------------------------ shared

    private void advanceDecided(long target) {
        target = Math.min(target, logEnd());
        if (target <= decidedIndex) {
            return;
        }
        Entry config = null;
        long configSlot = -1;
        for (long s = decidedIndex; s < target; s++) {
            Entry e = entryAt(s);
            out.decided.add(new Decided(s, e));
            if (e.isConfig() && e.nextConfigId() > configId) {
                config = e;
                configSlot = s;
            }
        }
        decidedIndex = target;
        persist(new PersistDecided(decidedIndex));
        if (config != null) {
            if (configSlot != decidedIndex - 1) {
                throw invariantBroken("entries after configuration entry at " + configSlot);
            }
            boolean wasLeader = role == Role.LEADER;
            enterConfiguration(config.nextConfigId(), config.nextMembers(), configSlot + 1);
            if (wasLeader && members.contains(me)) {
                startElection();
            }
        }
    }

    private void enterConfiguration(long id, List<Integer> nextMembers, long startIndex) {
        if (role != Role.FOLLOWER) {
            stepDown("configuration " + id + " starts");
        }
        if (id <= configId) {
            throw invariantBroken("configuration " + id + " is not after " + configId);
        }
        leaseEndHeldBeforeConfigEpochNanos = Math.max(leaseEndHeldBeforeConfigEpochNanos,
                leaseEndHeldInConfigEpochNanos);
        leaseEndHeldInConfigEpochNanos = Long.MIN_VALUE;
        configId = id;
        members = List.copyOf(nextMembers);
        configStartIndex = startIndex;
        promised = Ballot.ZERO;
        acceptedRound = Ballot.ZERO;
        maxRoundSeen = 0;
        followerPhase = FollowerPhase.NONE;
        leaderId = -1;
        truncate(decidedIndex); // nothing undecided of the old configuration may be adopted in the new one
        persist(new PersistConfig(configId, members, configStartIndex, decidedIndex));
        configHistory.add(new ConfigRecord(configId, members, configStartIndex));
        if (knownNewerConfigId <= configId) {
            knownNewerConfigId = 0;
        }
        out.effects.add(new Effect.ConfigChanged(configId, members, configStartIndex));
        resetElectionTimer();
    }

    private void installSnapshot(Snapshot s) {
        long end = s.endIndex();
        if (end <= decidedIndex) {
            throw invariantBroken("snapshot ending at " + end + " is not past decided " + decidedIndex);
        }
        if (logEnd() > end && end >= compactedIndex) {
            log.subList(0, (int) (end - compactedIndex)).clear();
        } else {
            log.clear();
        }
        compactedIndex = end;
        snapshot = s;
        decidedIndex = end;
        persist(new PersistSnapshot(s));
        out.effects.add(new Effect.InstallSnapshot(s));
    }

    private void stepDown(String reason) {
        leaseEndHeldInConfigEpochNanos = Math.max(leaseEndHeldInConfigEpochNanos, leaseEndEpochNanos());
        if (role != Role.FOLLOWER) {
            out.effects.add(new Effect.SteppedDown(configId, promised, reason));
            if (!pending.isEmpty()) {
                diag(Code.NOT_LEADER, pending.size() + " queued proposal(s) dropped: " + reason);
                pending.clear();
            }
        }
        role = Role.FOLLOWER;
        followerPhase = FollowerPhase.NONE;
        leaderId = -1;
        promises.clear();
        progress.clear();
        leaseGrants.clear();
    }

    /** Whether we may promise {@code candidate}: every lease we granted to someone else is over. */
    private boolean canPromise(int candidate) {
        return skipLeaseWait || (grantedLeaseHolder == candidate && grantedLeaseHolder != -1)
                || tt.earliestEpochNanos() > grantedLeaseEndEpochNanos || selfGrantReleasable();
    }

    /** A self-grant made as a candidate that never led under it (see {@link #selfGrantUnserved}). */
    private boolean selfGrantReleasable() {
        return grantedLeaseHolder == me && selfGrantUnserved && role != Role.LEADER;
    }

    /** Grants {@code holder} a lease; returns its end, capped at what our own TrueTime allows. */
    private long grant(int holder, long requestedEndEpochNanos) {
        if (requestedEndEpochNanos == Long.MIN_VALUE) {
            return Long.MIN_VALUE;
        }
        long end = Math.min(requestedEndEpochNanos,
                saturatedAdd(tt.latestEpochNanos(), config.leaseDurationNanos()));
        if (!(skipLeaseWait || holder == grantedLeaseHolder || tt.earliestEpochNanos() > grantedLeaseEndEpochNanos
                || selfGrantReleasable())) {
            throw invariantBroken("granting " + holder + " while the lease of " + grantedLeaseHolder + " runs");
        }
        if (holder != grantedLeaseHolder) {
            selfGrantUnserved = holder == me && role != Role.LEADER;
        }
        grantedLeaseEndEpochNanos = holder == grantedLeaseHolder ? Math.max(grantedLeaseEndEpochNanos, end) : end;
        grantedLeaseHolder = holder;
        if (end > durableGrantEndEpochNanos) {
            // Persisted before the grant leaves (the runtime syncs an output's writes before its messages), and a
            // little ahead of it so the next renewals are covered without a write (PaxosConfig.grantPersistAheadNanos).
            durableGrantEndEpochNanos = saturatedAdd(end, config.grantPersistAheadNanos());
            persist(new PersistLeaseGrant(durableGrantEndEpochNanos));
        }
        if (end > durableGrantEndEpochNanos) {
            throw invariantBroken("grant until " + end + " beyond the persisted " + durableGrantEndEpochNanos);
        }
        return end;
    }

    private void recordGrant(int from, long endEpochNanos) {
        if (endEpochNanos != Long.MIN_VALUE) {
            leaseGrants.merge(from, endEpochNanos, Math::max);
        }
    }

    private long leaseRequest() {
        return saturatedAdd(tt.earliestEpochNanos(), config.leaseDurationNanos());
    }

    private void setPromised(Ballot b) {
        if (!b.isAbove(promised)) {
            throw invariantBroken("ballot " + b + " does not grow past " + promised);
        }
        promised = b;
        maxRoundSeen = Math.max(maxRoundSeen, b.round());
        persist(new PersistPromise(configId, b));
    }

    private void resetElectionTimer() {
        long timeout = config.electionTimeoutNanos();
        electionDeadlineNanos = now + timeout + random.nextLong(timeout);
    }

    private void truncate(long slot) {
        if (slot < decidedIndex) {
            throw invariantBroken("truncating at " + slot + " would drop decided slots below " + decidedIndex);
        }
        if (slot < logEnd()) {
            log.subList((int) (slot - compactedIndex), log.size()).clear();
        }
    }

    private Entry entryAt(long slot) {
        return log.get((int) (slot - compactedIndex));
    }

    private List<Entry> slice(long from, long to) {
        return from >= to ? List.of() : List.copyOf(log.subList((int) (from - compactedIndex), (int) (to - compactedIndex)));
    }

    private int majority() {
        return members.size() / 2 + 1;
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
        if (entries.size() > limits.maxEntriesPerMessage()) {
            return m.getClass().getSimpleName() + " from " + m.from() + " carries " + entries.size()
                    + " entries, maxEntriesPerMessage " + limits.maxEntriesPerMessage();
        }
        for (Entry e : entries) {
            if (e.value().length > limits.maxValueBytes()) {
                return m.getClass().getSimpleName() + " from " + m.from() + " carries a value of "
                        + e.value().length + " bytes, maxValueBytes " + limits.maxValueBytes();
            }
        }
        return null;
    }

    // ------------------------------------------------------------------ call frame and invariants

    private void begin(long nowMonotonicNanos, TimeInterval trueTimeNow) {
        if (trueTimeNow == null) {
            throw new IllegalArgumentException("trueTimeNow must not be null");
        }
        check(out == null, "re-entrant call");
        now = nowMonotonicNanos;
        tt = trueTimeNow;
        out = replay != null ? replay : new Out();
        replay = null;
        snapshotInvariants();
    }

    private long checkConfigId;
    private Ballot checkPromised;
    private long checkDecided;

    private void snapshotInvariants() {
        checkConfigId = configId;
        checkPromised = promised;
        checkDecided = decidedIndex;
    }

    private Output finish() {
        check(configId >= checkConfigId, "configuration went back");
        if (configId == checkConfigId && checkPromised.isAbove(promised)) {
            throw invariantBroken("promised ballot went back from " + checkPromised + " to " + promised);
        }
        check(decidedIndex >= checkDecided, "decided index went back");
        if (!(compactedIndex <= decidedIndex && decidedIndex <= logEnd())) {
            throw invariantBroken("compacted " + compactedIndex + " <= decided " + decidedIndex + " <= log end "
                    + logEnd() + " broken");
        }
        if (acceptedRound.isAbove(promised)) {
            throw invariantBroken("accepted round " + acceptedRound + " above promised " + promised);
        }
        Out o = out;
        out = null;
        return new Output(o.persist, o.messages, o.decided, o.effects, o.diagnostics);
    }

    private static void check(boolean condition, String what) {
        if (!condition) {
            throw invariantBroken(what);
        }
    }

    /**
     * The error for a broken invariant. Checks whose message is built from values call this only once the check
     * failed: {@link #finish} runs on every input, and building its messages eagerly (ballots formatted with
     * {@code String.format}) was a visible share of a replica's CPU per append.
     */
    private static AssertionError invariantBroken(String what) {
        return new AssertionError("Paxos invariant broken: " + what);
    }

    private void send(Message m) {
        out.messages.add(m);
    }

    private void persist(PersistWrite w) {
        out.persist.add(w);
    }

    private void diag(Code code, String detail) {
        out.diagnostics.add(new Diagnostic(code, "replica " + me + ": " + detail));
    }

    /** Refuses one value of a proposed batch, alone: the runtime answers its client, the others wait on. */
    private void diagValue(int valueIndex, Code code, String detail) {
        out.diagnostics.add(new Diagnostic(code, "replica " + me + ": " + detail, valueIndex));
    }

    private static long saturatedAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? (a < 0 ? Long.MIN_VALUE : Long.MAX_VALUE) : r;
    }

    private static final class Out {
        final ArrayList<PersistWrite> persist = new ArrayList<>();
        final ArrayList<Message> messages = new ArrayList<>();
        final ArrayList<Decided> decided = new ArrayList<>();
        final ArrayList<Effect> effects = new ArrayList<>();
        final ArrayList<Diagnostic> diagnostics = new ArrayList<>();
    }
}
