package io.gnomon.paxos;

import io.gnomon.paxos.Message.PreVote;
import io.gnomon.paxos.Message.PreVoteReply;
import io.gnomon.paxos.Message.Prepare;
import io.gnomon.paxos.Message.Promise;
import io.gnomon.paxos.Output.Diagnostic.Code;
import io.gnomon.paxos.ReplicaState.Role;

import java.util.Collection;
import java.util.Collections;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Leader election: the pre-vote (Ongaro's thesis, section 9.6; etcd raft's PreVote), the candidacy and its
 * Prepare/Promise quorum (Sequence Paxos' Prepare phase, lecture notes arXiv 2008.13456 section 5). When its election
 * timer fires, a follower first asks whether a majority would promise its next ballot, and Prepares only if they
 * would; a replica refuses while it has heard from a leader within its election timeout (or leads). Pre-votes change
 * nothing at the receiver, so a replica that cannot hear the answers never Prepares and never collects lease grants
 * that keep every other candidate waiting. With a majority of Promises the candidate hands over to {@link Leader}.
 * The Promises stay here while it leads: a late or repeated one synchronizes that follower.
 */
final class Election {
    private final ReplicaState st;

    /** While gathering pre-votes (as a follower): the ballot asked about, and who would promise it. */
    private Ballot preVoteBallot;
    private final TreeSet<Integer> preVotes = new TreeSet<>();
    private long lastPreVoteSentNanos;
    /** When a leader, or a candidate this replica promised, last showed it is alive; false before the first. */
    private boolean leaderContact;
    private long leaderContactNanos;

    // Valid in CANDIDATE and LEADER: what this replica held when it started its ballot, and who promised it.
    private Ballot prepareAcceptedRound = Ballot.ZERO;
    private long prepareLogEnd;
    private long prepareDecidedIndex;
    private long lastPrepareSentNanos;
    private final TreeMap<Integer, Promise> promises = new TreeMap<>();

    Election(ReplicaState st) {
        this.st = st;
    }

    /** A follower's timers: the election timeout starts a pre-vote; unanswered pre-votes are sent again. */
    void followerTick() {
        if (st.now - st.electionDeadlineNanos >= 0) {
            startPreVote();
        } else if (preVoteBallot != null && st.now - lastPreVoteSentNanos >= st.config.retransmitIntervalNanos()) {
            sendPreVotes();
        }
    }

    /** A candidate's timer: unanswered Prepares are sent again. */
    void candidateTick() {
        if (st.now - lastPrepareSentNanos >= st.config.retransmitIntervalNanos()) {
            sendPrepares(false);
        }
    }

    /** When {@link #followerTick} next does something: the election deadline, or a pre-vote's retransmission. */
    long nextFollowerTickNanos() {
        long due = st.electionDeadlineNanos;
        if (preVoteBallot != null) {
            long resend = lastPreVoteSentNanos + st.config.retransmitIntervalNanos();
            if (resend - due < 0) {
                due = resend;
            }
        }
        return due;
    }

    /** When {@link #candidateTick} next sends its Prepares again. */
    long nextCandidateTickNanos() {
        return lastPrepareSentNanos + st.config.retransmitIntervalNanos();
    }

    /** Whether this replica may campaign now; if not, sets its election timer for the next try. */
    private boolean mayCampaign() {
        if (st.membership.newerConfigKnown() || st.decidedIndex < st.configStartIndex || !st.members.contains(st.me)) {
            st.resetElectionTimer(); // lacks the configuration's starting prefix, or the configuration is over
            return false;
        }
        if (!st.lease.canPromise(st.me)) {
            // our own grant has not run out yet
            st.electionDeadlineNanos = st.now + st.config.retransmitIntervalNanos();
            return false;
        }
        return true;
    }

    /** The election timer fired: ask before Preparing (see the class comment). */
    void startPreVote() {
        preVoteBallot = null;
        if (!mayCampaign()) {
            return;
        }
        preVoteBallot = new Ballot(Math.max(st.maxRoundSeen, st.promised.round()) + st.config.ballotRoundStep(), st.me);
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

    void onPreVote(PreVote v) {
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

    void onPreVoteReply(PreVoteReply r) {
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
    void noteLeaderContact() {
        leaderContact = true;
        leaderContactNanos = st.now;
        preVoteBallot = null;
    }

    void startElection() {
        preVoteBallot = null;
        if (!mayCampaign()) {
            return;
        }
        if (st.role != Role.FOLLOWER) {
            st.leader.stepDown("new election");
        }
        st.setPromised(new Ballot(Math.max(st.maxRoundSeen, st.promised.round()) + st.config.ballotRoundStep(), st.me));
        st.role = Role.CANDIDATE;
        st.follower.losePlace();
        st.leaderId = st.me;
        prepareAcceptedRound = st.acceptedRound;
        prepareLogEnd = st.logEnd();
        prepareDecidedIndex = st.decidedIndex;
        promises.clear();
        st.leader.startCandidacy();
        st.lease.clearGrants();
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
            // our own promise is a loopback: it counts once persisted
            st.send(m == st.me ? st.follower.promiseFor(p) : p);
        }
    }

    /** Our ballot's Prepare to {@code m}, with what we held when we started it. */
    Prepare prepareFor(int m, long leaseEndRequestedEpochNanos) {
        return new Prepare(st.me, m, st.configId, st.members, st.configStartIndex, st.promised, prepareAcceptedRound,
                prepareLogEnd, prepareDecidedIndex, leaseEndRequestedEpochNanos);
    }

    void onPromise(Promise p) {
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
                st.leader.resync(p.from());
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
                st.leader.becomeLeader();
            }
        } else if (p.from() != st.me) {
            st.leader.sendAcceptSync(p.from()); // a late promise: synchronize it too
        }
    }

    // ------------------------------------------------------------------ the Promises of this replica's ballot

    /** {@code from}'s Promise of this replica's ballot, or null. */
    Promise promise(int from) {
        return promises.get(from);
    }

    boolean hasPromise(int from) {
        return promises.containsKey(from);
    }

    /** The Promises, in replica id order. */
    Collection<Promise> promises() {
        return Collections.unmodifiableCollection(promises.values());
    }

    /** Who promised, in replica id order. */
    Set<Integer> promisers() {
        return Collections.unmodifiableSet(promises.keySet());
    }

    /** The ballot is over: its Promises count no more. */
    void clearPromises() {
        promises.clear();
    }
}
