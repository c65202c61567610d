package io.gnomon.paxos;

import io.gnomon.paxos.Message.Accept;
import io.gnomon.paxos.Message.AcceptSync;
import io.gnomon.paxos.Message.Accepted;
import io.gnomon.paxos.Message.Decide;
import io.gnomon.paxos.Message.InstallSnapshot;
import io.gnomon.paxos.Message.Nack;
import io.gnomon.paxos.Message.Prepare;
import io.gnomon.paxos.Message.Promise;
import io.gnomon.paxos.Output.Diagnostic.Code;
import io.gnomon.paxos.PersistWrite.PersistAccepted;
import io.gnomon.paxos.ReplicaState.Role;

import java.util.List;

/**
 * The follower (acceptor) side of Sequence Paxos (lecture notes arXiv 2008.13456, section 5; OmniPaxos'
 * {@code follower.rs}): it promises a Prepare's ballot (once every lease it granted to another replica is over),
 * takes the leader's AcceptSync, Accepts, Decides and InstallSnapshots in the promised ballot, and writes what it
 * promised and accepted before it answers. Every Promise and Accepted carries a lease grant ({@link Lease#grant}).
 * A follower that restarted and lost its place in its promised ballot asks that ballot's leader to Prepare it again.
 */
final class Follower {
    /** Where this replica stands in its promised ballot: nowhere, promised (awaiting AcceptSync), or accepting. */
    private enum Phase { NONE, PREPARED, ACCEPTING }

    private final ReplicaState st;
    private Phase phase = Phase.NONE;

    Follower(ReplicaState st) {
        this.st = st;
    }

    /** A new ballot or configuration, or stepping down: this replica has no place in any leader's ballot. */
    void losePlace() {
        phase = Phase.NONE;
    }

    void onPrepare(Prepare p) {
        st.maxRoundSeen = Math.max(st.maxRoundSeen, p.ballot().round());
        int c = p.ballot().compareTo(st.promised);
        if (c < 0) {
            st.send(new Nack(st.me, p.from(), st.configId, st.promised));
            st.diag(Code.STALE_BALLOT, "Prepare " + p.ballot() + " from " + p.from() + " below promised "
                    + st.promised);
            return;
        }
        if (c == 0) {
            if (phase == Phase.PREPARED && st.leaderId == p.from()) {
                st.send(promiseFor(p)); // our Promise was lost or is slow: the same promise again
            } else if (lostPlaceIn(p)) {
                // We promised this ballot, then restarted and lost our place in it: promise it again (the
                // promise is durable already), once every grant we may have made before the crash is over.
                if (!st.lease.canPromise(p.from())) {
                    st.diag(Code.LEASE_WAIT, "Prepare " + p.ballot() + " from " + p.from() + " (re-promise after a "
                            + "restart) deferred until TrueTime is after " + st.lease.grantEndEpochNanos());
                    return;
                }
                phase = Phase.PREPARED;
                st.leaderId = p.from();
                st.resetElectionTimer();
                st.election.noteLeaderContact();
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
            st.leader.stepDown("promised higher ballot " + p.ballot());
        }
        st.setPromised(p.ballot());
        phase = Phase.PREPARED;
        st.leaderId = p.from();
        st.resetElectionTimer();
        st.election.noteLeaderContact();
        st.send(promiseFor(p));
    }

    /**
     * Whether {@code m}, in the ballot we promised, comes from that ballot's own replica while we have no place in
     * it (no Promise or AcceptSync since we restarted): we know the ballot, not where our log stands in it.
     */
    private boolean lostPlaceIn(Message m) {
        return st.role == Role.FOLLOWER && phase == Phase.NONE && m.from() != st.me
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
        st.election.noteLeaderContact();
        st.send(new Nack(st.me, m.from(), st.configId, st.promised));
        st.diag(Code.REJOINING, m.getClass().getSimpleName() + " from " + m.from() + " in our promised ballot "
                + st.promised + ", but we lost our place in it (restarted): asking to be Prepared again");
        return true;
    }

    Promise promiseFor(Prepare p) {
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
        return new Promise(st.me, p.from(), st.configId, p.ballot(), st.acceptedRound, st.logEnd(), st.decidedIndex,
                start, st.slice(start, st.logEnd()), snap, granted);
    }

    void onAcceptSync(AcceptSync a) {
        if (!sameBallotOrReject(a, a.ballot())) {
            return;
        }
        if (phase == Phase.ACCEPTING && st.leaderId == a.from()) {
            st.election.noteLeaderContact();
            st.send(accepted(a.from(), a.leaseEndRequestedEpochNanos())); // a retransmission: say where we are
            return;
        }
        if (phase != Phase.PREPARED || st.leaderId != a.from()) {
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
        phase = Phase.ACCEPTING;
        st.resetElectionTimer();
        st.election.noteLeaderContact();
        st.advanceDecided(Math.min(a.decidedIndex(), st.logEnd()));
        st.send(accepted(a.from(), a.leaseEndRequestedEpochNanos()));
    }

    void onAccept(Accept a) {
        if (!sameBallotOrReject(a, a.ballot())) {
            return;
        }
        if (phase != Phase.ACCEPTING || st.leaderId != a.from()) {
            if (askToBePrepared(a)) {
                return;
            }
            if (st.leaderId == a.from()) {
                st.resetElectionTimer();
                st.election.noteLeaderContact();
            }
            st.diag(Code.BAD_MESSAGE, "Accept from " + a.from() + " before AcceptSync; waiting for it");
            return;
        }
        st.resetElectionTimer();
        st.election.noteLeaderContact();
        if (a.firstSlot() <= st.logEnd()) {
            long skip = st.logEnd() - a.firstSlot();
            if (skip < a.entries().size()) {
                long from = st.logEnd();
                List<Entry> fresh = a.entries().subList((int) skip, a.entries().size());
                st.log.addAll(fresh);
                st.persist(new PersistAccepted(st.configId, st.acceptedRound, from, fresh));
            }
            st.advanceDecided(Math.min(a.decidedIndex(), st.logEnd()));
        } // else a gap (a lost or reordered Accept): our Accepted tells the leader where to resume
        st.send(accepted(a.from(), a.leaseEndRequestedEpochNanos()));
    }

    void onDecide(Decide d) {
        if (!sameBallotOrReject(d, d.ballot())) {
            return;
        }
        if (st.leaderId == d.from()) {
            st.resetElectionTimer();
            st.election.noteLeaderContact();
        }
        if (phase != Phase.ACCEPTING || st.leaderId != d.from()) {
            askToBePrepared(d);
            return;
        }
        st.advanceDecided(Math.min(d.decidedIndex(), st.logEnd()));
        st.notePromise(d.promise());
        st.send(accepted(d.from(), d.leaseEndRequestedEpochNanos()));
    }

    void onInstallSnapshot(InstallSnapshot s) {
        if (!sameBallotOrReject(s, s.ballot())) {
            return;
        }
        if (phase != Phase.ACCEPTING || st.leaderId != s.from()) {
            askToBePrepared(s);
            return;
        }
        st.resetElectionTimer();
        st.election.noteLeaderContact();
        if (s.snapshot().endIndex() > st.decidedIndex) {
            st.installSnapshot(s.snapshot());
        }
        st.advanceDecided(Math.min(s.decidedIndex(), st.logEnd()));
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
                st.leader.stepDown("saw higher ballot " + ballot + " from " + m.from());
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
        return new Accepted(st.me, leader, st.configId, st.promised, st.logEnd(),
                st.lease.grant(leader, leaseEndRequested));
    }
}
