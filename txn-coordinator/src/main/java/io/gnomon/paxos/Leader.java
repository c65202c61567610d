package io.gnomon.paxos;

import io.gnomon.paxos.Message.Accept;
import io.gnomon.paxos.Message.AcceptSync;
import io.gnomon.paxos.Message.Accepted;
import io.gnomon.paxos.Message.Decide;
import io.gnomon.paxos.Message.InstallSnapshot;
import io.gnomon.paxos.Message.Nack;
import io.gnomon.paxos.Message.Promise;
import io.gnomon.paxos.Output.Diagnostic.Code;
import io.gnomon.paxos.Output.Effect;
import io.gnomon.paxos.PersistWrite.PersistAccepted;
import io.gnomon.paxos.ReplicaState.Role;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

import static io.gnomon.paxos.ReplicaState.invariantBroken;

/**
 * The leader side of Sequence Paxos (lecture notes arXiv 2008.13456, section 5; OmniPaxos' {@code leader.rs}):
 * once {@link Election} has a majority of Promises, it adopts the most advanced log among them, synchronizes each
 * follower (AcceptSync, or InstallSnapshot below the compacted prefix), queues and pipelines proposals (Accept,
 * bounded by {@link PaxosLimits}), decides what a majority accepted (Decide), and on its heartbeat renews its lease
 * and retransmits what was lost. It steps down when it hears of a higher ballot or loses its majority.
 */
final class Leader {
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
    // Valid in LEADER (progress and the majority contact from CANDIDATE on).
    private Ballot adoptedRound = Ballot.ZERO;
    private long adoptedLogEnd;
    private final TreeMap<Integer, Progress> progress = new TreeMap<>();
    private long selfAcked;
    /**
     * When the next heartbeat is due: the next multiple of the heartbeat interval on the monotonic clock, so that
     * every group a process leads heartbeats at the same instants and its loop sends them to each peer together,
     * in one frame (docs/paxos.md, "Many groups per process"). Heartbeats are therefore at most one interval apart
     * (plus the driver's tick), as before; the first after an election comes within one interval.
     */
    private long nextHeartbeatNanos;
    private long lastMajorityContactNanos;
    /** When this leader last ticked (from its candidacy on): a longer gap than an election timeout is its own pause. */
    private long lastTickNanos;
    /** Proposals waiting for room in the pipeline (kept while a candidate, dropped on stepping down). */
    private final ArrayDeque<Entry> pending = new ArrayDeque<>();
    /** When each other replica was last heard from, in any role: a leader that hears no majority steps down. */
    private final TreeMap<Integer, Long> lastHeardFromNanos = new TreeMap<>();

    Leader(ReplicaState st) {
        this.st = st;
    }

    /** A message from {@code from} arrived. */
    void heardFrom(int from) {
        lastHeardFromNanos.put(from, st.now);
    }

    /** This replica starts a ballot: nobody is synchronized in it yet, and it has heard from a majority as of now. */
    void startCandidacy() {
        progress.clear();
        lastMajorityContactNanos = st.now;
        lastTickNanos = st.now;
    }

    /** {@code f} promised our ballot again (it restarted, or its Promise was repeated): synchronize it afresh. */
    void resync(int f) {
        progress.remove(f);
        sendAcceptSync(f);
    }

    // ------------------------------------------------------------------ proposals

    /** See {@link PaxosReplica#propose}. */
    void propose(List<byte[]> values) {
        if (refuseProposal(values.size() + " value(s)")) {
            return;
        }
        if (values.size() > st.limits.maxPendingProposals() - pending.size()) {
            st.diag(Code.BACKPRESSURE, values.size() + " value(s) refused: " + pending.size()
                    + " already queued, maxPendingProposals " + st.limits.maxPendingProposals());
            return;
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
    }

    /** A Decide to {@code to}, carrying the timestamp promise this replica knows. */
    private Decide decide(int to, long decidedIndex, long leaseRequest) {
        TimestampPromise p = st.timestampPromise;
        return new Decide(st.me, to, st.configId, st.promised, decidedIndex, leaseRequest, p.afterIndex(), p.belowTs());
    }

    /**
     * See {@link PaxosReplica#offerTimestampPromise}: the promise starts after the last slot this leader's log holds
     * or will give a value it was handed already (queued proposals take the slots after the log's end, in order).
     */
    boolean offerTimestampPromise(long promisedBelowTs) {
        if (st.role != Role.LEADER || promisedBelowTs < 0) {
            return false;
        }
        return st.notePromise(new TimestampPromise(st.logEnd() - 1 + pending.size(), promisedBelowTs));
    }

    /** Queues an entry {@link #refuseProposal} let through (a configuration entry from {@link Membership}). */
    void enqueue(Entry e) {
        pending.add(e);
        if (st.role == Role.LEADER) {
            flushPending();
        }
    }

    /**
     * A majority promised this replica's ballot: adopt the most advanced log among the Promises and this replica's
     * own (its own Promise may not have arrived yet, and its log may have grown since it prepared), then lead.
     */
    void becomeLeader() {
        Promise max = null;
        for (Promise p : st.election.promises()) {
            if (max == null || p.acceptedRound().isAbove(max.acceptedRound())
                    || (p.acceptedRound().equals(max.acceptedRound()) && p.logEnd() > max.logEnd())) {
                max = p;
            }
        }
        // Our own state is a Promise for our ballot too: counting it keeps a candidate whose Promise is still in
        // flight from adopting a shorter log than its own decided prefix (found by a fuzz of the core's outputs).
        boolean adopt = max.from() != st.me && (max.acceptedRound().isAbove(st.acceptedRound)
                || (max.acceptedRound().equals(st.acceptedRound) && max.logEnd() > st.logEnd()));
        adoptedRound = adopt ? max.acceptedRound() : st.acceptedRound;
        adoptedLogEnd = adopt ? max.logEnd() : st.logEnd();
        long from = st.logEnd();
        List<Entry> suffix = List.of();
        if (adopt) {
            if (max.snapshot() != null && max.snapshot().endIndex() > st.decidedIndex) {
                st.installSnapshot(max.snapshot());
            }
            from = max.suffixStart();
            suffix = max.suffix();
            if (from < st.decidedIndex && from + suffix.size() >= st.decidedIndex) {
                // The Promise answered our Prepare from where our log stood then; we have learned of decisions since.
                // Those slots hold the values a majority accepted, so the most advanced log has the same ones there:
                // keep ours and adopt what lies above, as a follower does with an AcceptSync below its decided index.
                suffix = suffix.subList((int) (st.decidedIndex - from), suffix.size());
                from = st.decidedIndex;
            }
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
        nextHeartbeatNanos = heartbeatAfter(st.now);
        st.out.effects.add(new Effect.BecameLeader(st.configId, st.promised));
        for (int f : st.election.promisers()) {
            if (f != st.me) {
                sendAcceptSync(f);
            }
        }
        st.send(new Accepted(st.me, st.me, st.configId, st.promised, st.logEnd(), Long.MIN_VALUE));
        flushPending();
    }

    /** Synchronizes {@code f}'s log with ours from where its Promise says it stands (Sequence Paxos' AcceptSync). */
    void sendAcceptSync(int f) {
        Promise p = st.election.promise(f);
        long sync = p.acceptedRound().equals(adoptedRound) ? Math.min(p.logEnd(), adoptedLogEnd) : p.decidedIndex();
        sync = Math.min(sync, st.logEnd());
        Snapshot snap = null;
        long from = sync;
        if (sync < st.compactedIndex) {
            snap = st.snapshot;
            from = st.compactedIndex;
        }
        st.send(new AcceptSync(st.me, f, st.configId, st.promised, from, st.slice(from, st.logEnd()), snap,
                st.decidedIndex, st.lease.leaseRequest()));
        Progress pr = progress.computeIfAbsent(f, k -> new Progress());
        pr.syncSentNanos = st.now;
        pr.syncIndex = from;
        pr.ackedOnce = false;
        pr.acked = from;
        pr.nextIndex = st.logEnd();
        pr.lastProgressNanos = st.now;
    }

    void onAccepted(Accepted a) {
        if (st.role != Role.LEADER || !a.ballot().equals(st.promised)) {
            st.diag(Code.STALE_BALLOT, "Accepted " + a.ballot() + " from " + a.from() + ", leading " + st.promised
                    + " as " + st.role);
            return;
        }
        if (a.logEnd() > st.logEnd()) {
            st.diag(Code.BAD_MESSAGE, "Accepted up to " + a.logEnd() + " from " + a.from() + " beyond log end "
                    + st.logEnd());
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
                st.send(decide(e.getKey(), chosen, st.lease.leaseRequest()));
            }
            st.advanceDecided(chosen);
        }
    }

    /** The leader's timers: steps down without a majority, sends heartbeats (lease renewals) and retransmits. */
    void tick() {
        if (st.now - lastTickNanos > st.config.electionTimeoutNanos()) {
            // This leader did not run for longer than an election timeout (a stalled thread, a GC or VM pause): it
            // sent no heartbeat meanwhile, so no answer was due, and the silence it sees is its own. Its followers get
            // a full window to answer the heartbeats it sends now; its lease, which needs their grants, is not moved.
            lastMajorityContactNanos = st.now;
        }
        lastTickNanos = st.now;
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
        if (st.now - nextHeartbeatNanos < 0) {
            return;
        }
        nextHeartbeatNanos = heartbeatAfter(st.now);
        long request = st.lease.leaseRequest();
        st.lease.recordGrant(st.me, st.lease.grant(st.me, request));
        for (int m : st.members) {
            if (m == st.me) {
                continue;
            }
            Progress p = progress.get(m);
            if (!st.election.hasPromise(m)) {
                st.send(st.election.prepareFor(m, request));
            } else if (p == null) {
                sendAcceptSync(m);
            } else if (!p.ackedOnce) {
                if (st.now - p.syncSentNanos >= st.config.retransmitIntervalNanos()) {
                    sendAcceptSync(m);
                }
            } else {
                st.send(decide(m, st.decidedIndex, request));
                if (p.acked < st.logEnd() && st.now - p.lastProgressNanos >= st.config.retransmitIntervalNanos()) {
                    p.nextIndex = p.acked; // go back: something was lost
                    p.lastProgressNanos = st.now;
                    sendAppends(m);
                }
            }
        }
    }

    /**
     * When {@link #tick} next does something: the heartbeat (which carries the retransmissions), or the step-down
     * of a leader that has heard no majority for twice the election timeout, whichever is first.
     */
    long nextTickNanos() {
        long heartbeat = nextHeartbeatNanos;
        long stepDown = lastMajorityContactNanos + 2 * st.config.electionTimeoutNanos() + 1;
        return stepDown - heartbeat < 0 ? stepDown : heartbeat;
    }

    /** The first multiple of the heartbeat interval after {@code t}. */
    private long heartbeatAfter(long t) {
        long interval = st.config.heartbeatIntervalNanos();
        return t - Math.floorMod(t, interval) + interval;
    }

    private void sendAppends(int f) {
        Progress p = progress.get(f);
        if (p == null) {
            return;
        }
        long base = p.ackedOnce ? p.acked : p.syncIndex;
        if (p.ackedOnce && p.nextIndex < st.compactedIndex) {
            st.send(new InstallSnapshot(st.me, f, st.configId, st.promised, st.snapshot, st.decidedIndex,
                    st.lease.leaseRequest()));
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
            st.send(new Accept(st.me, f, st.configId, st.promised, p.nextIndex, batch, st.decidedIndex,
                    st.lease.leaseRequest()));
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

    boolean refuseProposal(String what) {
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

    void onNack(Nack n) {
        st.maxRoundSeen = Math.max(st.maxRoundSeen, n.promised().round());
        if (st.role == Role.LEADER && n.promised().equals(st.promised) && n.from() != st.me) {
            // A follower promised our ballot but lost its place in it (it restarted): Prepare it again; its new
            // Promise gets a fresh AcceptSync.
            st.send(st.election.prepareFor(n.from(), st.lease.leaseRequest()));
            return;
        }
        if (st.role != Role.FOLLOWER && n.promised().isAbove(st.promised)) {
            if (st.role == Role.LEADER && st.lease.canServeLeaseRead(st.tt)) {
                // A replica that lost touch bumped the ballot; we still hold the lease, so we take the ballot
                // back at once (our grantors promise us again without waiting, we are their lease holder).
                st.election.startElection();
            } else {
                stepDown("Nack: replica " + n.from() + " promised " + n.promised());
                st.resetElectionTimer();
            }
        }
    }

    /** This replica no longer leads (or campaigns): it records the lease it held and drops its queue. */
    void stepDown(String reason) {
        st.membership.noteLeaseHeld(st.lease.leaseEndEpochNanos());
        if (st.role != Role.FOLLOWER) {
            st.out.effects.add(new Effect.SteppedDown(st.configId, st.promised, reason));
            if (!pending.isEmpty()) {
                st.diag(Code.NOT_LEADER, pending.size() + " queued proposal(s) dropped: " + reason);
                pending.clear();
            }
        }
        st.role = Role.FOLLOWER;
        st.follower.losePlace();
        st.leaderId = -1;
        st.election.clearPromises();
        progress.clear();
        st.lease.clearGrants();
    }
}
