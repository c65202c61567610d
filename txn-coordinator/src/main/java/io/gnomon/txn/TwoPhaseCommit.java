package io.gnomon.txn;

import io.gnomon.txn.CommitOutcome.Aborted;
import io.gnomon.txn.CommitOutcome.Committed;
import io.gnomon.txn.TimestampOracle.Assignment;
import io.gnomon.txn.TxnEffect.AcquireLocks;
import io.gnomon.txn.TxnEffect.Apply;
import io.gnomon.txn.TxnEffect.CommitWaitUntil;
import io.gnomon.txn.TxnEffect.LogRecord;
import io.gnomon.txn.TxnEffect.MarkPrepared;
import io.gnomon.txn.TxnEffect.ReleaseLocks;
import io.gnomon.txn.TxnEffect.Reply;
import io.gnomon.txn.TxnEffect.Send;
import io.gnomon.txn.TxnMessage.InquireReply.Decision;
import io.gnomon.txn.TxnRecord.AbortRecord;
import io.gnomon.txn.TxnRecord.Commit;
import io.gnomon.txn.TxnRecord.CommitRecord;
import io.gnomon.txn.TxnRecord.Forget;
import io.gnomon.txn.TxnRecord.Outcome;
import io.gnomon.txn.TxnRecord.Prepare;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Two-phase commit for one group (Spanner 4.2.1), both roles: coordinator of the transactions whose client named
 * this group, participant in the others, and the one-group commit that skips 2PC. Pure: the host calls one method
 * per input, with the time ({@link TxnNow}), and performs the returned {@link TxnEffect}s in order.
 *
 * <p>Two kinds of state. What the group's <b>decided records</b> say (prepared transactions, outcomes) lives on
 * every replica: the host feeds each decided {@link TxnRecord} to {@link #recordDecided} in log order on leader
 * and followers alike. What only a <b>leader</b> keeps (commit requests in progress, lock waits, timers, clients
 * waiting) lives in memory and is dropped at {@link #lostLeadership}. A new leader is a core that has applied the
 * log and is then told {@link #becameLeader}: it takes the locks of prepared transactions again and inquires, and
 * sends its commit and abort decisions again. Nothing is acted on before its record is decided: a participant
 * sends Prepared only once its Prepare is decided; a client hears "committed" only once the commit record is
 * decided and commit-wait is over.
 *
 * <p><b>Presumed abort.</b> A coordinator logs nothing before it decides, so one asked about a transaction it has
 * no record of may abort it, but only by logging an {@link AbortRecord} first and answering once it is decided.
 * Why that is safe across leader changes: the host calls {@link #becameLeader} only after the new leader has
 * applied every entry it adopted when it took over (Paxos' leader adopts every decided entry, and the old
 * leader's later proposals are refused by the higher ballot), so a CommitRecord that is not among them can never
 * be decided. And were one decided anyway, the first outcome record in the log wins on every replica
 * ({@link TxnRecord}), so the group still answers one outcome.
 *
 * <p><b>Forgetting outcomes</b> (docs/transactions.md, "Forgetting outcomes"). An outcome is kept until its
 * transaction is surely older than the outcome retention H ({@link TxnLimits#outcomeRetentionNanos}: {@code
 * TT.now().earliest - priority > H}) and, for a coordinator's commit, every participant acknowledged logging its own
 * Outcome ({@link TxnMessage.OutcomeLogged}, collected by the leader in memory); then the leader logs a {@link
 * Forget} and every replica drops it at that index. A commit request, locking read or Prepare of a transaction that
 * may be older than H ({@code TT.now().latest - priority > H}) is refused for good, never treated as new: whatever a
 * forgotten outcome answered can no longer arrive.
 *
 * <p>Commit-wait is modelled as an input: {@link CommitWaitUntil} asks the host to call {@link #commitWaitDone}
 * once {@code TT.after(s)}; it is emitted together with the commit record, so the wait overlaps replication.
 */
public final class TwoPhaseCommit {
    /** Commits sent again for missing acknowledgements in one tick, at most. */
    static final int RESENDS_PER_TICK = 64;

    private final long groupId;
    private final TxnLimits limits;
    private final TimestampOracle oracle;

    // ---- from decided records, on every replica
    /** Participant: Prepare decided, no outcome yet. */
    private final Map<TxnId, PreparedTxn> prepared = new LinkedHashMap<>();
    /**
     * Every outcome decided in this group's log (first one wins) and not forgotten, by role; oldest transaction first
     * (ids order by age), so the leader finds the outcomes old enough to forget at the head.
     */
    private final TreeMap<TxnId, Decided> outcomes = new TreeMap<>();

    /** Whether any input reached this core: {@link #restore} is for a fresh one only. */
    private boolean fed;

    // ---- leader only
    private boolean leader;
    /** Commit requests in progress, as coordinator, participant or one-group committer. */
    private final Map<TxnId, InFlight> inFlight = new LinkedHashMap<>();
    /** Read-write transactions that read here and have not asked to commit: their last request (idle timeout). */
    private final Map<TxnId, Long> lastActivityMonotonicNanos = new LinkedHashMap<>();
    /**
     * Coordinator: participants' refusals that came before the transaction's own commit request here (the client sends
     * the participants' requests beside the coordinator's, so a participant that refuses at once, e.g. writes over its
     * store's limits, may be heard first): the request then aborts at once rather than at the prepare timeout. At most
     * {@code TxnLimits.maxPreparedTxns}, the oldest dropped first (its transaction then aborts at the prepare timeout).
     */
    private final Map<TxnId, TxnMessage.PrepareRefused> refusedBeforeRequest = new LinkedHashMap<>();
    /** Committed outcomes this leader told its participants, by transaction: those that have not acknowledged. */
    private final Map<TxnId, AckWait> awaitingAcks = new LinkedHashMap<>();
    /** Outcomes this core dropped at decided Forgets since it was made (statistics). */
    private long forgotten;
    /** When this leader proposed its last Forget not yet decided (monotonic); -1 when none is in flight. */
    private long forgetProposedMonotonicNanos = -1;

    public TwoPhaseCommit(long groupId, TxnLimits limits) {
        this.groupId = groupId;
        this.limits = limits;
        this.oracle = new TimestampOracle(limits.maxEpsilonNanos(), limits.acceptUnverifiedClock());
    }

    private enum Role { COORDINATOR, PARTICIPANT, SINGLE_GROUP }

    private enum Phase {
        /** Waiting for the lock table. */
        AWAITING_LOCKS,
        /** Coordinator: locks held, waiting for participants' Prepared. */
        COLLECTING,
        /** Participant: Prepare proposed, not yet decided. */
        PREPARING,
        /** Coordinator or one group: commit record proposed (or decided), commit-wait running. */
        COMMITTING,
        /** Coordinator: AbortRecord proposed, not yet decided. */
        ABORTING
    }

    /** A decided outcome; {@code participants} are those a coordinator must tell. */
    private record Decided(boolean committed, long commitTimestampEpochNanos, List<Long> participants, String reason,
                           boolean retryable) {
    }

    /** A coordinator's committed outcome waiting for participants' {@link TxnMessage.OutcomeLogged}. */
    private static final class AckWait {
        final long commitTimestampEpochNanos;
        final Set<Long> missing;
        long lastSentMonotonicNanos;
        /** Times sent again: each waits twice as long as the one before (a participant group down for long). */
        int resends;

        AckWait(long commitTimestampEpochNanos, List<Long> participants, long sentMonotonicNanos) {
            this.commitTimestampEpochNanos = commitTimestampEpochNanos;
            this.missing = new LinkedHashSet<>(participants);
            this.lastSentMonotonicNanos = sentMonotonicNanos;
        }
    }

    private record PreparedTxn(long prepareTimestampEpochNanos, long coordinatorGroup, List<Write> writes) {
    }

    private static final class InFlight {
        final TxnId txn;
        final Role role;
        final long coordinatorGroup;
        final Set<Long> participants = new LinkedHashSet<>();
        final List<Write> writes;
        final long requestLatestEpochNanos;
        final long startedMonotonicNanos;
        Phase phase = Phase.AWAITING_LOCKS;
        boolean locksAcquired;
        boolean clientWaiting;
        final Map<Long, Long> prepareTimestamps = new LinkedHashMap<>();
        long commitTimestampEpochNanos = -1;
        boolean recordDecided;
        boolean commitWaitDone;
        /** Participant: this leader proposed its Outcome record (or an abort while its Prepare was undecided). */
        boolean outcomeProposed;
        /** A participant asked its coordinator to abort it ({@link #woundPrepared}). */
        boolean woundForwarded;
        /** Participant: when it last told the coordinator it is prepared (inquire timer). */
        long lastInquiryMonotonicNanos;

        InFlight(TxnId txn, Role role, long coordinatorGroup, List<Long> participants, List<Write> writes,
                 long requestLatestEpochNanos, long startedMonotonicNanos) {
            this.txn = txn;
            this.role = role;
            this.coordinatorGroup = coordinatorGroup;
            this.participants.addAll(participants);
            this.writes = writes;
            this.requestLatestEpochNanos = requestLatestEpochNanos;
            this.startedMonotonicNanos = startedMonotonicNanos;
        }
    }

    // ------------------------------------------------------------------ inputs from the client and lock table

    /** A client's commit request for this group (leader only: a follower refuses it, retryably). */
    public List<TxnEffect> commitRequest(CommitRequest req, TxnNow now) {
        fed = true;
        List<TxnEffect> out = new ArrayList<>();
        TxnId txn = req.txn();
        boolean coordinator = req.coordinatorGroup() == groupId;
        if (!coordinator && !req.participantGroups().contains(groupId)) {
            out.add(new Reply(txn, new Aborted("group " + groupId + " is neither the coordinator ("
                    + req.coordinatorGroup() + ") nor a participant " + req.participantGroups()
                    + " of this commit request", false)));
            return out;
        }
        if (!leader) {
            if (coordinator) {
                out.add(new Reply(txn, new Aborted("group " + groupId + ": this replica is not the leader", true)));
            }
            return out;
        }
        lastActivityMonotonicNanos.remove(txn);
        Decided d = outcomes.get(txn);
        InFlight f = inFlight.get(txn);
        if (d != null || prepared.containsKey(txn) || f != null) {
            // A duplicate request: answer from the log, or let the one in progress answer.
            if (coordinator && d != null) {
                out.add(new Reply(txn, outcomeOf(d)));
            } else if (coordinator && f != null) {
                f.clientWaiting = true;
                f.participants.addAll(req.participantGroups());
            }
            return out;
        }
        String tooOld = tooOld(txn, now);
        if (tooOld != null) {
            // Its outcome may have been forgotten here: neither a new commit nor a presumed abort, but a refusal.
            if (coordinator) {
                out.add(new Reply(txn, new CommitOutcome.Unknown(tooOld)));
            } else {
                out.add(new Send(req.coordinatorGroup(), new TxnMessage.PrepareRefused(txn, groupId, tooOld)));
            }
            return out;
        }
        if (inCommit() >= limits.maxPreparedTxns()) {
            String reason = "group " + groupId + " has " + inCommit()
                    + " transactions in commit, the limit (TxnLimits.maxPreparedTxns " + limits.maxPreparedTxns()
                    + "); retry later";
            if (coordinator) {
                out.add(new Reply(txn, new Aborted(reason, true)));
            } else {
                out.add(new Send(req.coordinatorGroup(), new TxnMessage.PrepareRefused(txn, groupId, reason)));
            }
            return out;
        }
        Role role = !coordinator ? Role.PARTICIPANT
                : req.participantGroups().isEmpty() ? Role.SINGLE_GROUP : Role.COORDINATOR;
        f = new InFlight(txn, role, req.coordinatorGroup(), req.participantGroups(), req.writes(),
                now.trueTime().latestEpochNanos(), now.monotonicNanos());
        f.clientWaiting = coordinator;
        f.locksAcquired = true;
        inFlight.put(txn, f);
        out.add(new AcquireLocks(txn, req.writes()));
        TxnMessage.PrepareRefused early = refusedBeforeRequest.remove(txn);
        if (early != null && role == Role.COORDINATOR && f.participants.contains(early.fromGroup())) {
            abortAsCoordinator(f, "participant group " + early.fromGroup() + " refused to prepare: " + early.reason(),
                    true, out);
        }
        return out;
    }

    /**
     * A request of a read-write transaction that has not asked to commit yet (a locking read), for the idle
     * timeout: with no request for {@code TxnLimits.idleTxnTimeoutNanos} its locks go (its client vanished).
     */
    public List<TxnEffect> activity(TxnId txn, TxnNow now) {
        fed = true;
        List<TxnEffect> out = new ArrayList<>();
        if (!leader || inFlight.containsKey(txn) || outcomes.containsKey(txn) || prepared.containsKey(txn)) {
            return out;
        }
        if (!lastActivityMonotonicNanos.containsKey(txn)
                && lastActivityMonotonicNanos.size() >= limits.maxLockedTxns()) {
            out.add(new ReleaseLocks(txn));
            out.add(new Reply(txn, new Aborted("group " + groupId + " has " + lastActivityMonotonicNanos.size()
                    + " open read-write transactions, the limit (TxnLimits.maxLockedTxns " + limits.maxLockedTxns()
                    + "); retry later", true)));
            return out;
        }
        lastActivityMonotonicNanos.put(txn, now.monotonicNanos());
        return out;
    }

    /**
     * The client gives up read-write transaction {@code txn} before asking to commit it (Abort, or a transaction
     * that only read): its locks go, and a later commit request of it is refused. Nothing once it asked to commit:
     * then its outcome is the commit protocol's (too late to abort from outside).
     */
    public List<TxnEffect> clientAbort(TxnId txn, TxnNow now) {
        fed = true;
        List<TxnEffect> out = new ArrayList<>();
        if (!leader || inFlight.containsKey(txn) || prepared.containsKey(txn)) {
            return out;
        }
        lastActivityMonotonicNanos.remove(txn);
        // Its read locks go even when its outcome is known here (an abort heard before the client's request)
        out.add(new ReleaseLocks(txn));
        if (!outcomes.containsKey(txn)) {
            out.add(new Reply(txn, new Aborted("the client aborted it", false)));
        }
        return out;
    }

    /**
     * The client of {@code txn}'s commit request here left (its deadline passed, or it cancelled): a commit still
     * deciding (waiting for its locks or for participants' prepares) aborts (not retryable: nobody waits for a retry),
     * and its locks go with the abort record; once its outcome record is proposed the log decides, and a client that
     * asks again is answered from it.
     */
    public List<TxnEffect> clientLeft(TxnId txn, TxnNow now) {
        fed = true;
        List<TxnEffect> out = new ArrayList<>();
        InFlight f = inFlight.get(txn);
        if (!leader || f == null || f.role == Role.PARTICIPANT
                || (f.phase != Phase.AWAITING_LOCKS && f.phase != Phase.COLLECTING)) {
            return out;
        }
        abortAsCoordinator(f, "group " + groupId + ": the client left (its deadline passed) before " + txn
                + (f.phase == Phase.AWAITING_LOCKS ? " held its locks" : " was prepared everywhere"), false, out);
        return out;
    }

    /** The lock table granted every lock of an {@link AcquireLocks}. */
    public List<TxnEffect> locksHeld(TxnId txn, TxnNow now) {
        fed = true;
        List<TxnEffect> out = new ArrayList<>();
        InFlight f = leaderInFlight(txn, Phase.AWAITING_LOCKS);
        if (f == null) {
            return out;
        }
        switch (f.role) {
            case PARTICIPANT -> {
                Assignment a = oracle.assign(now.trueTime(), now.clockStatus(), 0, now.leaseEndEpochNanos());
                if (a instanceof Assignment.Refused r) {
                    refuseToPrepare(f, "group " + groupId + " cannot take a prepare timestamp: " + r.reason(), out);
                    return out;
                }
                long prepareTs = ((Assignment.Assigned) a).timestampEpochNanos();
                f.phase = Phase.PREPARING;
                // From here only the coordinator decides: the lock table must not wound it any more.
                out.add(new MarkPrepared(txn));
                out.add(new LogRecord(new Prepare(txn, prepareTs, f.coordinatorGroup, f.writes)));
            }
            case COORDINATOR, SINGLE_GROUP -> {
                f.phase = Phase.COLLECTING;
                decideIfPrepared(f, now, out);
            }
        }
        return out;
    }

    /** The lock table wounded the transaction (an older one wants its locks). Ignored once it is prepared. */
    public List<TxnEffect> wounded(TxnId txn, TxnNow now) {
        fed = true;
        return abortBeforePrepared(txn, "wounded by an older transaction in group " + groupId, now);
    }

    /**
     * Older transaction {@code by} waits here for a lock that {@code prepared}, prepared in this group as a
     * participant, holds: wound-wait would wound it, but only its coordinator may abort it now, so the coordinator is
     * asked to (once per transaction; it aborts only if it has not decided yet, else the outcome comes soon). Without
     * this, an older transaction waiting here while the younger one's coordinator waits for the older one's locks
     * would hold both until the prepare timeout.
     */
    public List<TxnEffect> woundPrepared(TxnId prepared, TxnId by, TxnNow now) {
        fed = true;
        List<TxnEffect> out = new ArrayList<>();
        InFlight f = inFlight.get(prepared);
        if (!leader || f == null || f.role != Role.PARTICIPANT || f.woundForwarded || f.outcomeProposed) {
            return out;
        }
        f.woundForwarded = true;
        out.add(new Send(f.coordinatorGroup, new TxnMessage.PrepareRefused(prepared, groupId, "wounded while prepared"
                + " in group " + groupId + " by older transaction " + by)));
        return out;
    }

    /** Transactions in flight here (role, phase) and open readers, for operators and failing tests. */
    public String describe() {
        StringBuilder b = new StringBuilder("leader=" + leader + " readers=" + lastActivityMonotonicNanos.keySet());
        inFlight.forEach((t, f) -> b.append("\n  ").append(t).append(' ').append(f.role).append(' ').append(f.phase)
                .append(" participants ").append(f.participants).append(" prepared ").append(f.prepareTimestamps.keySet()));
        return b.toString();
    }

    /** The lock table refused a lock of the transaction (a limit, or it was already finished). */
    public List<TxnEffect> locksRefused(TxnId txn, String reason, TxnNow now) {
        fed = true;
        return abortBeforePrepared(txn, "group " + groupId + " refused its locks: " + reason, now);
    }

    private List<TxnEffect> abortBeforePrepared(TxnId txn, String reason, TxnNow now) {
        List<TxnEffect> out = new ArrayList<>();
        if (!leader) {
            return out;
        }
        if (lastActivityMonotonicNanos.remove(txn) != null) {
            out.add(new ReleaseLocks(txn));
            out.add(new Reply(txn, new Aborted(reason, true)));
            return out;
        }
        InFlight f = inFlight.get(txn);
        if (f == null) {
            return out;
        }
        if (f.role == Role.PARTICIPANT && f.phase == Phase.AWAITING_LOCKS) {
            refuseToPrepare(f, reason, out);
        } else if (f.role != Role.PARTICIPANT) {
            abortAsCoordinator(f, reason, true, out);
        }
        return out;
    }

    /** The host waited until {@code TT.after(commitTs)} for a {@link CommitWaitUntil}. */
    public List<TxnEffect> commitWaitDone(TxnId txn, TxnNow now) {
        fed = true;
        List<TxnEffect> out = new ArrayList<>();
        InFlight f = leaderInFlight(txn, Phase.COMMITTING);
        if (f == null) {
            return out;
        }
        if (now.trueTime().earliestEpochNanos() <= f.commitTimestampEpochNanos) {
            throw new IllegalArgumentException("commit-wait of " + txn + " is not over: TT.now().earliest "
                    + now.trueTime().earliestEpochNanos() + " <= commit timestamp " + f.commitTimestampEpochNanos);
        }
        f.commitWaitDone = true;
        finishCommitIfReady(f, now, out);
        return out;
    }

    // ------------------------------------------------------------------ the log

    /**
     * The host could not propose {@code record}, an effect of this leader's, and it is certainly not in the log
     * (the group host answered NOT_APPENDED: backpressure, a membership change in flight). Its timestamp is not
     * proposed again, since records logged since may carry larger ones (log order must stay assignment order): a
     * Prepare becomes a refusal to prepare, a commit record an abort (retryable); an abort, which has no timestamp,
     * is proposed again at once (a decision to abort is never turned into a commit); a participant's Outcome at the
     * next Commit, Abort or inquiry answer. Anything else (a record since decided, another leader's) is ignored.
     * The host calls it only while its group host leads (else leadership is being lost, which answers for all).
     */
    public List<TxnEffect> notLogged(TxnRecord record, String reason, TxnNow now) {
        fed = true;
        List<TxnEffect> out = new ArrayList<>();
        if (record instanceof Forget) {
            forgetProposedMonotonicNanos = -1; // the next tick proposes again
            return out;
        }
        InFlight f = inFlight.get(record.txn());
        if (!leader || f == null || outcomes.containsKey(record.txn())) {
            return out;
        }
        String why = "group " + groupId + " could not log its " + record.getClass().getSimpleName() + ": " + reason;
        if (record instanceof Prepare p && f.role == Role.PARTICIPANT && f.phase == Phase.PREPARING
                && !prepared.containsKey(p.txn())) {
            refuseToPrepare(f, why, out); // an abort Outcome proposed behind it no longer matters
        } else if ((record instanceof Commit || record instanceof CommitRecord) && f.phase == Phase.COMMITTING
                && !f.recordDecided && f.commitTimestampEpochNanos == commitTimestampOf(record)) {
            f.phase = Phase.COLLECTING; // so that the abort below is logged; its commit-wait ends ignored
            f.commitTimestampEpochNanos = -1;
            abortAsCoordinator(f, why, true, out);
        } else if (record instanceof AbortRecord a && f.phase == Phase.ABORTING) {
            out.add(new LogRecord(a)); // no timestamp of its own: safe to log later (never undecided to commit)
        } else if (record instanceof Outcome && f.role == Role.PARTICIPANT) {
            f.outcomeProposed = false; // the next Commit, Abort or inquiry answer proposes it again
        }
        return out;
    }

    private static long commitTimestampOf(TxnRecord r) {
        return r instanceof Commit c ? c.commitTimestampEpochNanos() : ((CommitRecord) r).commitTimestampEpochNanos();
    }

    /** A record of this group was decided: every replica, in log order. */
    public List<TxnEffect> recordDecided(TxnRecord record, TxnNow now) {
        fed = true;
        List<TxnEffect> out = new ArrayList<>();
        if (record instanceof Forget f) {
            forgetDecided(f);
            return out;
        }
        TxnId txn = record.txn();
        if (outcomes.containsKey(txn)) {
            return out; // the first outcome in the log wins; a Prepare after it is moot
        }
        if (record instanceof Prepare p) {
            prepareDecided(p, now, out);
        } else if (record instanceof CommitRecord c) {
            oracle.observe(c.commitTimestampEpochNanos());
            outcomes.put(txn, decidedOf(c));
            out.add(new Apply(txn, c.writes(), c.commitTimestampEpochNanos()));
            commitDecided(txn, c.commitTimestampEpochNanos(), c.participantGroups(), now, out);
        } else if (record instanceof Commit c) {
            oracle.observe(c.commitTimestampEpochNanos());
            outcomes.put(txn, decidedOf(c));
            out.add(new Apply(txn, c.writes(), c.commitTimestampEpochNanos()));
            commitDecided(txn, c.commitTimestampEpochNanos(), List.of(), now, out);
        } else if (record instanceof AbortRecord a) {
            outcomes.put(txn, decidedOf(a));
            abortDecided(a, out);
        } else if (record instanceof Outcome o) {
            outcomeDecided(o, out);
        }
        return out;
    }

    private void prepareDecided(Prepare p, TxnNow now, List<TxnEffect> out) {
        TxnId txn = p.txn();
        if (prepared.containsKey(txn)) {
            return;
        }
        oracle.observe(p.prepareTimestampEpochNanos());
        prepared.put(txn, new PreparedTxn(p.prepareTimestampEpochNanos(), p.coordinatorGroup(), p.writes()));
        if (!leader) {
            return;
        }
        InFlight f = inFlight.get(txn);
        if (f == null) {
            // Proposed by an earlier leader and decided under this one: take its locks as a new leader does.
            f = new InFlight(txn, Role.PARTICIPANT, p.coordinatorGroup(), List.of(), p.writes(), -1,
                    now.monotonicNanos());
            f.locksAcquired = true;
            inFlight.put(txn, f);
            out.add(new AcquireLocks(txn, p.writes()));
            out.add(new MarkPrepared(txn));
        }
        f.phase = Phase.PREPARING;
        f.lastInquiryMonotonicNanos = now.monotonicNanos();
        if (!f.outcomeProposed) {
            out.add(new Send(p.coordinatorGroup(),
                    new TxnMessage.Prepared(txn, groupId, p.prepareTimestampEpochNanos())));
        }
    }

    private void commitDecided(TxnId txn, long commitTs, List<Long> participants, TxnNow now, List<TxnEffect> out) {
        if (!leader) {
            return;
        }
        InFlight f = inFlight.get(txn);
        if (f == null) {
            // Proposed by an earlier leader: tell the participants once commit-wait is over (no client here).
            f = new InFlight(txn, participants.isEmpty() ? Role.SINGLE_GROUP : Role.COORDINATOR, groupId,
                    participants, List.of(), -1, 0);
            inFlight.put(txn, f);
        }
        if (f.phase != Phase.COMMITTING || f.commitTimestampEpochNanos != commitTs) {
            // Not this leader's own proposal (an earlier leader's record came first): the log's timestamp holds.
            f.participants.addAll(participants);
            f.phase = Phase.COMMITTING;
            f.commitTimestampEpochNanos = commitTs;
            f.commitWaitDone = false;
            out.add(new CommitWaitUntil(txn, commitTs));
        }
        f.recordDecided = true;
        finishCommitIfReady(f, now, out);
    }

    private void finishCommitIfReady(InFlight f, TxnNow now, List<TxnEffect> out) {
        if (!f.recordDecided || !f.commitWaitDone) {
            return;
        }
        Decided d = outcomes.get(f.txn);
        assert d != null && d.committed() && d.commitTimestampEpochNanos() == f.commitTimestampEpochNanos
                : "group " + groupId + " finishes " + f.txn + " at " + f.commitTimestampEpochNanos + " but logged " + d;
        inFlight.remove(f.txn);
        replyIfWaiting(f, new Committed(f.commitTimestampEpochNanos), out);
        for (long g : f.participants) {
            out.add(new Send(g, new TxnMessage.Commit(f.txn, f.commitTimestampEpochNanos)));
        }
        if (!f.participants.isEmpty()) {
            awaitingAcks.put(f.txn, new AckWait(f.commitTimestampEpochNanos, List.copyOf(f.participants),
                    now.monotonicNanos()));
        }
        releaseIfHeld(f, out);
    }

    private void abortDecided(AbortRecord a, List<TxnEffect> out) {
        if (!leader) {
            return;
        }
        Set<Long> tell = new LinkedHashSet<>(a.participantGroups());
        InFlight f = inFlight.remove(a.txn());
        if (f != null) {
            tell.addAll(f.participants);
            replyIfWaiting(f, new Aborted(a.reason(), a.retryable()), out);
            releaseIfHeld(f, out);
        }
        for (long g : tell) {
            out.add(new Send(g, new TxnMessage.Abort(a.txn(), a.reason())));
        }
    }

    private void outcomeDecided(Outcome o, List<TxnEffect> out) {
        TxnId txn = o.txn();
        PreparedTxn p = prepared.remove(txn);
        outcomes.put(txn, decidedOf(o));
        if (o.committed()) {
            if (p == null) {
                throw new IllegalStateException("group " + groupId + ": " + txn + " committed at "
                        + o.commitTimestampEpochNanos() + " without a decided Prepare");
            }
            assert o.commitTimestampEpochNanos() >= p.prepareTimestampEpochNanos() : "commit below prepare";
            oracle.observe(o.commitTimestampEpochNanos());
            out.add(new Apply(txn, p.writes(), o.commitTimestampEpochNanos()));
        }
        if (leader) {
            InFlight f = inFlight.remove(txn);
            if (f != null) {
                releaseIfHeld(f, out);
            }
            if (p != null && o.committed()) { // the coordinator may forget its commit once every participant said so
                out.add(new Send(p.coordinatorGroup(), new TxnMessage.OutcomeLogged(txn, groupId)));
            }
        }
    }

    private void forgetDecided(Forget f) {
        for (TxnId txn : f.txns()) {
            Decided d = outcomes.remove(txn);
            forgotten += d == null ? 0 : 1;
            assert d == null || !awaitingAcks.containsKey(txn) : groupId + " forgets " + txn + " still awaiting acks";
            awaitingAcks.remove(txn);
        }
        forgetProposedMonotonicNanos = -1;
    }

    // ------------------------------------------------------------------ messages from other groups

    /** A message from another group's leader, its sender's group unknown (no acknowledgement can answer it). */
    public List<TxnEffect> message(TxnMessage m, TxnNow now) {
        return message(m, -1, now);
    }

    /**
     * A message from the leader of group {@code fromGroup} ({@code -1}: unknown). A follower ignores them. A
     * participant answers a Commit of an outcome it already logged (or logged and forgot) with {@link
     * TxnMessage.OutcomeLogged} to {@code fromGroup}.
     */
    public List<TxnEffect> message(TxnMessage m, long fromGroup, TxnNow now) {
        fed = true;
        List<TxnEffect> out = new ArrayList<>();
        if (!leader) {
            return out;
        }
        if (m instanceof TxnMessage.Prepared p) {
            onPrepared(p.txn(), p.fromGroup(), p.prepareTimestampEpochNanos(), false, now, out);
        } else if (m instanceof TxnMessage.Inquire q) {
            onPrepared(q.txn(), q.fromGroup(), q.prepareTimestampEpochNanos(), true, now, out);
        } else if (m instanceof TxnMessage.PrepareRefused r) {
            InFlight f = inFlight.get(r.txn());
            if (f != null && f.role == Role.COORDINATOR && f.participants.contains(r.fromGroup())) {
                abortAsCoordinator(f, "participant group " + r.fromGroup() + " refused to prepare: " + r.reason(),
                        true, out);
            } else if (f == null && !outcomes.containsKey(r.txn())) {
                refusedBeforeRequest.putIfAbsent(r.txn(), r);
                if (refusedBeforeRequest.size() > limits.maxPreparedTxns()) {
                    refusedBeforeRequest.remove(refusedBeforeRequest.keySet().iterator().next());
                }
            }
        } else if (m instanceof TxnMessage.Commit c) {
            learnOutcome(c.txn(), true, c.commitTimestampEpochNanos(), fromGroup, out);
        } else if (m instanceof TxnMessage.Abort a) {
            learnOutcome(a.txn(), false, -1, fromGroup, out);
        } else if (m instanceof TxnMessage.InquireReply r) {
            if (r.decision() != Decision.DECIDING) {
                learnOutcome(r.txn(), r.decision() == Decision.COMMITTED, r.commitTimestampEpochNanos(), -1, out);
            }
        } else if (m instanceof TxnMessage.OutcomeLogged a) {
            AckWait w = awaitingAcks.get(a.txn());
            if (w != null && w.missing.remove(a.fromGroup()) && w.missing.isEmpty()) {
                awaitingAcks.remove(a.txn());
            }
        }
        return out;
    }

    /** Coordinator side of Prepared and Inquire (an Inquire is a Prepared that also wants an answer). */
    private void onPrepared(TxnId txn, long from, long prepareTs, boolean inquiry, TxnNow now,
                            List<TxnEffect> out) {
        Decided d = outcomes.get(txn);
        if (d != null) {
            Decision decision = d.committed() ? Decision.COMMITTED : Decision.ABORTED;
            out.add(new Send(from, new TxnMessage.InquireReply(txn, decision, d.commitTimestampEpochNanos())));
            return;
        }
        InFlight f = inFlight.get(txn);
        if (f != null && f.role == Role.COORDINATOR) {
            if (f.participants.contains(from) && (f.phase == Phase.AWAITING_LOCKS || f.phase == Phase.COLLECTING)) {
                f.prepareTimestamps.put(from, prepareTs);
                decideIfPrepared(f, now, out);
            }
            if (inquiry && !outcomes.containsKey(txn)) {
                out.add(new Send(from, new TxnMessage.InquireReply(txn, Decision.DECIDING, -1)));
            }
            return;
        }
        if (f == null && inquiry && tooOld(txn, now) != null) {
            // No record: never committed here, or committed and forgotten once every participant (this one too)
            // had logged its Outcome, so that this inquiry is a stale copy its sender no longer waits on. Surely too
            // old: no commit of it can come any more, so the abort needs no record (logging one would remember an
            // abort of what may have committed). Only maybe too old (within 2ε of H): no answer yet; the participant
            // asks again, by when it is surely too old.
            if (surelyOlderThanRetention(txn, now)) {
                out.add(new Send(from, new TxnMessage.InquireReply(txn, Decision.ABORTED, -1)));
            }
            return;
        }
        if (f == null && inquiry) {
            // Presumed abort: no record and nothing in progress. Log the abort before answering.
            f = new InFlight(txn, Role.COORDINATOR, groupId, List.of(from), List.of(), -1, now.monotonicNanos());
            f.locksAcquired = false;
            f.phase = Phase.ABORTING;
            inFlight.put(txn, f);
            out.add(new LogRecord(new AbortRecord(txn, List.of(from), "presumed abort: coordinator group "
                    + groupId + " has no record of the transaction", true)));
        }
        // A Prepared before the commit request reached this coordinator is dropped: the participant inquires.
    }

    /**
     * Participant side of Commit, Abort and InquireReply. A resolved transaction is not touched again, but a Commit of
     * it is acknowledged to {@code fromGroup} (its coordinator resends until it hears so).
     */
    private void learnOutcome(TxnId txn, boolean committed, long commitTs, long fromGroup, List<TxnEffect> out) {
        InFlight f = inFlight.get(txn);
        boolean loggedAndForgotten = committed && f == null && !prepared.containsKey(txn);
        if (outcomes.containsKey(txn) || loggedAndForgotten) {
            // Forgotten: a coordinator commits only once this group's Prepare is decided, which only this group's
            // Outcome resolves, so a commit of a transaction neither prepared nor remembered here was logged and forgot.
            if (committed && fromGroup >= 1) { // an abort needs no acknowledgement (presumed abort answers alike)
                out.add(new Send(fromGroup, new TxnMessage.OutcomeLogged(txn, groupId)));
            }
            return;
        }
        if (prepared.containsKey(txn)) {
            if (f == null || !f.outcomeProposed) {
                if (f != null) {
                    f.outcomeProposed = true; // once per leader: a duplicate Commit proposes nothing more
                }
                out.add(new LogRecord(committed ? Outcome.committedAt(txn, commitTs) : Outcome.aborted(txn)));
            }
            return;
        }
        if (f == null || f.role != Role.PARTICIPANT || committed) {
            return; // nothing prepared here: a commit cannot be for us yet; an unknown abort needs nothing
        }
        if (f.phase == Phase.AWAITING_LOCKS) {
            inFlight.remove(txn);
            releaseIfHeld(f, out);
        } else if (f.phase == Phase.PREPARING && !f.outcomeProposed) {
            // Our Prepare is in the log ahead of this, so it is decided first or not at all.
            f.outcomeProposed = true;
            out.add(new LogRecord(Outcome.aborted(txn)));
        }
    }

    // ------------------------------------------------------------------ recovery

    /**
     * Loads the record-derived state of a fresh core from its group's machine ({@code TxnMachine}'s recovery
     * accessors), after a restart on a compacted log or a snapshot install, before any record is replayed:
     * {@code prepared} (each unresolved Prepare) and {@code outcomes} (Commit, CommitRecord, AbortRecord or Outcome
     * records, writes not needed) fill the core exactly as {@link #recordDecided} of those records would, and the
     * oracle observes {@code maxTimestamp} (the highest timestamp applied, -1 for none). Emits nothing: the
     * machine has applied the records, and the leader's work for them is what {@link #becameLeader} does for
     * replayed records (re-taking prepared transactions' locks, re-sending outcomes).
     *
     * @throws IllegalStateException    if the core was fed any input before (records would mix with replayed ones)
     * @throws IllegalArgumentException if an outcome is a Prepare, or a transaction is listed twice
     */
    public void restore(List<Prepare> preparedTxns, List<TxnRecord> outcomeRecords, long maxTimestamp) {
        if (fed) {
            throw new IllegalStateException("group " + groupId + ": restore is for a fresh core, and this one has"
                    + " been fed inputs already (" + prepared.size() + " prepared, " + outcomes.size()
                    + " outcomes, leader " + leader + "); make a new TwoPhaseCommit to restore into");
        }
        Map<TxnId, Prepare> byTxn = new LinkedHashMap<>();
        for (Prepare p : preparedTxns) {
            if (byTxn.put(p.txn(), p) != null) {
                throw new IllegalArgumentException("group " + groupId + ": " + p.txn() + " is listed twice among"
                        + " the prepared transactions to restore");
            }
        }
        Map<TxnId, Decided> decided = new LinkedHashMap<>();
        for (TxnRecord r : outcomeRecords) {
            if (decided.put(r.txn(), decidedOf(r)) != null) {
                throw new IllegalArgumentException("group " + groupId + ": " + r.txn() + " has two outcomes to"
                        + " restore, the second " + r);
            }
        }
        // checked: nothing changes before here, so a refused restore leaves the core fresh
        fed = true;
        for (Prepare p : byTxn.values()) {
            prepared.put(p.txn(), new PreparedTxn(p.prepareTimestampEpochNanos(), p.coordinatorGroup(), p.writes()));
            oracle.observe(p.prepareTimestampEpochNanos());
        }
        outcomes.putAll(decided);
        for (TxnRecord r : outcomeRecords) {
            if (r instanceof Outcome) {
                prepared.remove(r.txn()); // as outcomeDecided; the machine lists none such, a caller might
            }
        }
        if (maxTimestamp >= 0) {
            oracle.observe(maxTimestamp);
        }
    }

    /** The outcome an outcome record decides, as {@link #recordDecided} keeps it. */
    private static Decided decidedOf(TxnRecord r) {
        if (r instanceof CommitRecord c) {
            return new Decided(true, c.commitTimestampEpochNanos(), c.participantGroups(), "", false);
        } else if (r instanceof Commit c) {
            return new Decided(true, c.commitTimestampEpochNanos(), List.of(), "", false);
        } else if (r instanceof AbortRecord a) {
            return new Decided(false, -1, a.participantGroups(), a.reason(), a.retryable());
        } else if (r instanceof Outcome o) {
            return new Decided(o.committed(), o.commitTimestampEpochNanos(), List.of(), "", false);
        }
        throw new IllegalArgumentException("not an outcome record: " + r);
    }

    // ------------------------------------------------------------------ time and leadership

    /** Timeouts: prepare timeout (coordinator), inquire interval (prepared participant), idle transactions. */
    public List<TxnEffect> tick(TxnNow now) {
        fed = true;
        List<TxnEffect> out = new ArrayList<>();
        if (!leader) {
            return out;
        }
        long t = now.monotonicNanos();
        for (InFlight f : new ArrayList<>(inFlight.values())) {
            boolean deciding = f.phase == Phase.AWAITING_LOCKS || f.phase == Phase.COLLECTING;
            if (f.role != Role.PARTICIPANT && deciding && t - f.startedMonotonicNanos >= limits.prepareTimeoutNanos()) {
                List<Long> missing = new ArrayList<>(f.participants);
                missing.removeAll(f.prepareTimestamps.keySet());
                String why = f.phase == Phase.AWAITING_LOCKS ? "its locks in group " + groupId + " were not granted"
                        : "participant groups " + missing + " did not prepare";
                abortAsCoordinator(f, why + " within " + limits.prepareTimeoutNanos()
                        + " ns (TxnLimits.prepareTimeoutNanos)", true, out);
            }
        }
        for (Map.Entry<TxnId, PreparedTxn> e : prepared.entrySet()) {
            InFlight f = inFlight.get(e.getKey());
            if (f != null && !f.outcomeProposed
                    && t - f.lastInquiryMonotonicNanos >= limits.inquireIntervalNanos()) {
                f.lastInquiryMonotonicNanos = t;
                PreparedTxn p = e.getValue();
                out.add(new Send(p.coordinatorGroup(),
                        new TxnMessage.Inquire(e.getKey(), groupId, p.prepareTimestampEpochNanos())));
            }
        }
        for (var it = lastActivityMonotonicNanos.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<TxnId, Long> e = it.next();
            if (t - e.getValue() >= limits.idleTxnTimeoutNanos()) {
                it.remove();
                out.add(new ReleaseLocks(e.getKey()));
                out.add(new Reply(e.getKey(), new Aborted("no request for " + limits.idleTxnTimeoutNanos()
                        + " ns (TxnLimits.idleTxnTimeoutNanos): the client is presumed gone", true)));
            }
        }
        // Acknowledgements only let the outcome be forgotten: the Commit is sent again with a doubling interval (up to
        // 64 inquire intervals) and at most RESENDS_PER_TICK per tick, so a participant group that is down for long
        // (its messages queue toward a dead process) is not flooded.
        int resent = 0;
        for (Map.Entry<TxnId, AckWait> e : awaitingAcks.entrySet()) {
            AckWait w = e.getValue();
            if (t - w.lastSentMonotonicNanos >= limits.inquireIntervalNanos() << Math.min(w.resends, 6)
                    && resent++ < RESENDS_PER_TICK) {
                w.lastSentMonotonicNanos = t; // a Commit or an acknowledgement was lost: tell them again
                w.resends++;
                for (long g : w.missing) {
                    out.add(new Send(g, new TxnMessage.Commit(e.getKey(), w.commitTimestampEpochNanos)));
                }
            }
        }
        proposeForget(now, out);
        return out;
    }

    /**
     * The leader logs a {@link Forget} of the outcomes surely older than H that no participant still needs (every one
     * acknowledged a commit), at most {@link TxnLimits#maxForgetPerRecord}, one Forget in flight at a time (another
     * after a prepare timeout, should its answer be lost). Only from a usable clock: its earliest is the age's proof.
     */
    private void proposeForget(TxnNow now, List<TxnEffect> out) {
        long t = now.monotonicNanos();
        if (outcomes.isEmpty() || !limits.clockUsable(now.clockStatus())
                || now.trueTime().epsilonNanos() > limits.maxEpsilonNanos()
                || (forgetProposedMonotonicNanos != -1 && t - forgetProposedMonotonicNanos < limits.prepareTimeoutNanos())) {
            return;
        }
        List<TxnId> batch = new ArrayList<>();
        int scanned = 0;
        for (Map.Entry<TxnId, Decided> e : outcomes.entrySet()) {
            TxnId txn = e.getKey();
            // ids order by age, so the first one young enough ends the search; the scan is bounded per tick
            if (!surelyOlderThanRetention(txn, now) || batch.size() >= limits.maxForgetPerRecord()
                    || ++scanned > 4 * limits.maxForgetPerRecord()) {
                break;
            }
            if (!inFlight.containsKey(txn) && !awaitingAcks.containsKey(txn)) {
                batch.add(txn);
            }
        }
        if (!batch.isEmpty()) {
            forgetProposedMonotonicNanos = t;
            out.add(new LogRecord(new Forget(batch)));
        }
    }

    /**
     * Why a request of {@code txn} is refused for its age, or null: it may be older than the outcome retention H
     * ({@code TT.now().latest - priority > H}), so its outcome may have been forgotten and nothing of it may be taken
     * as new (a retried transaction keeps its age: one retried for longer than H is refused too). The refusal is
     * final: a new transaction (a new age) is the client's only way on.
     */
    public String tooOld(TxnId txn, TxnNow now) {
        long ageNanos = now.trueTime().latestEpochNanos() - txn.priorityEpochNanos();
        if (ageNanos <= limits.outcomeRetentionNanos()) {
            return null;
        }
        return "group " + groupId + " refuses " + txn + " for good: it began up to " + ageNanos / 1_000_000
                + " ms ago, more than the outcome retention TxnLimits.outcomeRetentionNanos "
                + limits.outcomeRetentionNanos() / 1_000_000 + " ms, so its outcome, if it has one, may be forgotten;"
                + " start a new transaction";
    }

    /** Whether {@code txn} is older than H by every clock (TT.now().earliest), so a later check anywhere refuses it. */
    private boolean surelyOlderThanRetention(TxnId txn, TxnNow now) {
        return limits.clockUsable(now.clockStatus())
                && now.trueTime().earliestEpochNanos() - txn.priorityEpochNanos() > limits.outcomeRetentionNanos();
    }

    /**
     * This replica leads now. Call once it has applied every entry it adopted when it took over (see the class
     * comment). Prepared transactions take their locks again and inquire; commit and abort decisions are sent
     * again to their participants (a commit once commit-wait is over).
     */
    public List<TxnEffect> becameLeader(TxnNow now) {
        fed = true;
        List<TxnEffect> out = new ArrayList<>();
        if (leader) {
            return out;
        }
        assert inFlight.isEmpty() && lastActivityMonotonicNanos.isEmpty() && awaitingAcks.isEmpty()
                : "leader-only state left from before";
        leader = true;
        for (Map.Entry<TxnId, PreparedTxn> e : prepared.entrySet()) {
            TxnId txn = e.getKey();
            PreparedTxn p = e.getValue();
            InFlight f = new InFlight(txn, Role.PARTICIPANT, p.coordinatorGroup(), List.of(), p.writes(), -1,
                    now.monotonicNanos());
            f.phase = Phase.PREPARING;
            f.locksAcquired = true;
            f.lastInquiryMonotonicNanos = now.monotonicNanos();
            inFlight.put(txn, f);
            out.add(new AcquireLocks(txn, p.writes()));
            out.add(new MarkPrepared(txn));
            out.add(new Send(p.coordinatorGroup(),
                    new TxnMessage.Inquire(txn, groupId, p.prepareTimestampEpochNanos())));
        }
        for (Map.Entry<TxnId, Decided> e : outcomes.entrySet()) {
            Decided d = e.getValue();
            if (d.participants().isEmpty()) {
                continue;
            }
            TxnId txn = e.getKey();
            if (d.committed() && now.trueTime().earliestEpochNanos() > d.commitTimestampEpochNanos()) {
                for (long g : d.participants()) { // commit-wait is long over
                    out.add(new Send(g, new TxnMessage.Commit(txn, d.commitTimestampEpochNanos())));
                }
                // acknowledgements were the last leader's memory: every participant is asked again, once
                awaitingAcks.put(txn, new AckWait(d.commitTimestampEpochNanos(), d.participants(), now.monotonicNanos()));
            } else if (d.committed()) {
                InFlight f = new InFlight(txn, Role.COORDINATOR, groupId, d.participants(), List.of(), -1,
                        now.monotonicNanos());
                f.phase = Phase.COMMITTING;
                f.commitTimestampEpochNanos = d.commitTimestampEpochNanos();
                f.recordDecided = true;
                inFlight.put(txn, f);
                out.add(new CommitWaitUntil(txn, d.commitTimestampEpochNanos()));
            } else {
                for (long g : d.participants()) {
                    out.add(new Send(g, new TxnMessage.Abort(txn, d.reason())));
                }
            }
        }
        return out;
    }

    /**
     * This replica no longer leads: leader-only state goes (the host drops its lock table). Clients waiting on a
     * transaction that logged nothing are told it aborted (no leader can commit it: nothing of it is in the log);
     * those whose outcome record was proposed are told the outcome is unknown.
     */
    public List<TxnEffect> lostLeadership() {
        fed = true;
        List<TxnEffect> out = new ArrayList<>();
        if (!leader) {
            return out;
        }
        leader = false;
        for (InFlight f : inFlight.values()) {
            if (f.phase == Phase.COMMITTING || f.phase == Phase.ABORTING) {
                replyIfWaiting(f, new CommitOutcome.Unknown("group " + groupId
                        + " lost leadership while its outcome record was being decided; ask again"), out);
            } else {
                replyIfWaiting(f, new Aborted("group " + groupId + " lost leadership before deciding", true), out);
            }
        }
        for (TxnId txn : lastActivityMonotonicNanos.keySet()) {
            out.add(new Reply(txn, new Aborted("group " + groupId + " lost leadership", true)));
        }
        inFlight.clear();
        lastActivityMonotonicNanos.clear();
        refusedBeforeRequest.clear();
        awaitingAcks.clear();
        forgetProposedMonotonicNanos = -1;
        return out;
    }

    // ------------------------------------------------------------------ decisions

    /** The transaction in progress on this leader in {@code phase}; null on a follower or in another phase. */
    private InFlight leaderInFlight(TxnId txn, Phase phase) {
        InFlight f = inFlight.get(txn);
        return leader && f != null && f.phase == phase ? f : null;
    }

    private void decideIfPrepared(InFlight f, TxnNow now, List<TxnEffect> out) {
        if (f.phase != Phase.COLLECTING || !f.prepareTimestamps.keySet().containsAll(f.participants)) {
            return;
        }
        // Spanner 4.2.1: s >= every prepare timestamp, >= TT.now().latest when the commit request arrived, and
        // above everything this leader assigned (the oracle).
        long floor = f.requestLatestEpochNanos;
        for (long prepareTs : f.prepareTimestamps.values()) {
            floor = Math.max(floor, prepareTs);
        }
        Assignment a = oracle.assign(now.trueTime(), now.clockStatus(), floor, now.leaseEndEpochNanos());
        if (a instanceof Assignment.Refused r) {
            abortAsCoordinator(f, "group " + groupId + " cannot take a commit timestamp: " + r.reason(), true, out);
            return;
        }
        long s = ((Assignment.Assigned) a).timestampEpochNanos();
        assert s >= floor && !outcomes.containsKey(f.txn) : "commit timestamp " + s + " below " + floor;
        f.phase = Phase.COMMITTING;
        f.commitTimestampEpochNanos = s;
        out.add(new MarkPrepared(f.txn));
        out.add(new LogRecord(f.role == Role.SINGLE_GROUP ? new Commit(f.txn, s, f.writes)
                : new CommitRecord(f.txn, s, List.copyOf(f.participants), f.writes)));
        out.add(new CommitWaitUntil(f.txn, s));
    }

    private void abortAsCoordinator(InFlight f, String reason, boolean retryable, List<TxnEffect> out) {
        assert f.role != Role.PARTICIPANT : "a participant never aborts on its own";
        if (f.phase != Phase.AWAITING_LOCKS && f.phase != Phase.COLLECTING) {
            return; // committing or already aborting: the record in flight decides
        }
        f.phase = Phase.ABORTING;
        out.add(new LogRecord(new AbortRecord(f.txn, List.copyOf(f.participants), reason, retryable)));
    }

    /** A participant that cannot prepare logged nothing: it tells the coordinator and forgets the transaction. */
    private void refuseToPrepare(InFlight f, String reason, List<TxnEffect> out) {
        inFlight.remove(f.txn);
        releaseIfHeld(f, out);
        out.add(new Send(f.coordinatorGroup, new TxnMessage.PrepareRefused(f.txn, groupId, reason)));
    }

    private static void releaseIfHeld(InFlight f, List<TxnEffect> out) {
        if (f.locksAcquired) {
            f.locksAcquired = false;
            out.add(new ReleaseLocks(f.txn));
        }
    }

    private static void replyIfWaiting(InFlight f, CommitOutcome outcome, List<TxnEffect> out) {
        if (f.clientWaiting) {
            f.clientWaiting = false;
            out.add(new Reply(f.txn, outcome));
        }
    }

    /** Transactions in commit here: requests in progress and prepared ones not yet resolved. */
    private int inCommit() {
        int n = inFlight.size();
        for (TxnId txn : prepared.keySet()) {
            if (!inFlight.containsKey(txn)) {
                n++;
            }
        }
        return n;
    }

    private static CommitOutcome outcomeOf(Decided d) {
        return d.committed() ? new Committed(d.commitTimestampEpochNanos()) : new Aborted(d.reason(), d.retryable());
    }

    // ------------------------------------------------------------------ queries

    public long groupId() {
        return groupId;
    }

    public boolean isLeader() {
        return leader;
    }

    /** The group's outcome for {@code txn} from its log, or null while it has none. */
    public CommitOutcome outcome(TxnId txn) {
        Decided d = outcomes.get(txn);
        return d == null ? null : outcomeOf(d);
    }

    /**
     * Whether this group already knows {@code txn}'s commit: decided here, prepared here, or in progress on this
     * leader. A commit request for it is then a duplicate (a client retrying after a lost answer), answered from
     * what is known, never refused as a new one would be.
     */
    public boolean knows(TxnId txn) {
        return outcomes.containsKey(txn) || prepared.containsKey(txn) || inFlight.containsKey(txn);
    }

    /** Outcomes this group remembers (not forgotten yet): what stays bounded by the outcome retention. */
    public int rememberedOutcomes() {
        return outcomes.size();
    }

    /** Outcomes this core dropped at decided Forget records since it was made (a restart counts from 0). */
    public long forgottenOutcomes() {
        return forgotten;
    }

    /**
     * Participant groups this leader still waits on to acknowledge {@code txn}'s commit (empty when none, or on a
     * follower).
     */
    public Set<Long> unacknowledged(TxnId txn) {
        AckWait w = awaitingAcks.get(txn);
        return w == null ? Set.of() : Set.copyOf(w.missing);
    }

    /** Transactions prepared in this group's log with no outcome yet (in doubt), oldest first. */
    public List<TxnId> inDoubt() {
        return List.copyOf(prepared.keySet());
    }

    /** This group's timestamp oracle (the same one assigns promises for safe time). */
    public TimestampOracle oracle() {
        return oracle;
    }
}
