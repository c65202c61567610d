package io.gnomon.paxos;

import io.gnomon.paxos.Output.Decided;
import io.gnomon.paxos.Output.Diagnostic;
import io.gnomon.paxos.Output.Diagnostic.Code;
import io.gnomon.paxos.Output.Effect;
import io.gnomon.paxos.PersistWrite.PersistDecided;
import io.gnomon.paxos.PersistWrite.PersistPromise;
import io.gnomon.paxos.PersistWrite.PersistSnapshot;
import io.gnomon.truetime.TimeInterval;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The state every part of a {@link PaxosReplica} reads: the replica's durable state (its configuration, promised
 * and accepted ballots, log, snapshot and decided index), its role, and the inputs and output of the call in
 * progress. Each part ({@link Lease}, {@link Membership}, {@link Election}, {@link Follower}, {@link Leader}) keeps
 * its own state private and reaches the others through their methods; what they all share lives here, with the
 * few operations on it that every part uses (log access, durable writes, outputs).
 */
final class ReplicaState {
    enum Role { FOLLOWER, CANDIDATE, LEADER }

    final PaxosConfig config;
    final int me;
    final PaxosLimits limits;
    final SplittableRandom random;

    // Durable state (mirrors what the writes returned so far say).
    long configId;
    List<Integer> members;
    long configStartIndex;
    Ballot promised;
    Ballot acceptedRound;
    Snapshot snapshot;
    long compactedIndex;
    final ArrayList<Entry> log = new ArrayList<>();
    long decidedIndex;

    // Volatile state.
    Role role = Role.FOLLOWER;
    int leaderId = -1;
    /** The latest timestamp promise known (made here as leader, or heard from a leader); NONE before any. */
    TimestampPromise timestampPromise = TimestampPromise.NONE;
    long maxRoundSeen;
    long electionDeadlineNanos;

    // The parts; each keeps its own state private and reaches the others through their methods.
    final Lease lease;
    final Membership membership;
    final Election election;
    final Follower follower;
    final Leader leader;

    // The inputs of the call in progress, and what it returns.
    long now;
    TimeInterval tt;
    Out out;

    /**
     * The recovered state {@code r}, with the parts over it.
     *
     * @param restarted whether this replica restarted (then it waits out the grants it made before, see {@link Lease})
     */
    ReplicaState(PaxosConfig config, DurableState.Recovered r, boolean restarted, TimeInterval trueTimeNow) {
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
        this.membership = new Membership(this);
        this.maxRoundSeen = promised.round();
        this.lease = new Lease(this, r.grantedLeaseEndEpochNanos(), restarted, trueTimeNow);
        this.election = new Election(this);
        this.follower = new Follower(this);
        this.leader = new Leader(this);
    }

    // ------------------------------------------------------------------ log

    long logEnd() {
        return compactedIndex + log.size();
    }

    Entry entryAt(long slot) {
        return log.get((int) (slot - compactedIndex));
    }

    List<Entry> slice(long from, long to) {
        return from >= to ? List.of() : List.copyOf(log.subList((int) (from - compactedIndex), (int) (to - compactedIndex)));
    }

    void truncate(long slot) {
        if (slot < decidedIndex) {
            throw invariantBroken("truncating at " + slot + " would drop decided slots below " + decidedIndex);
        }
        if (slot < logEnd()) {
            log.subList((int) (slot - compactedIndex), log.size()).clear();
        }
    }

    int majority() {
        return members.size() / 2 + 1;
    }

    /**
     * Slots below {@code target} (at most the log end) are decided: they go out in slot order. A decided
     * configuration entry ends the configuration; a leader of the old one campaigns in the new one at once.
     */
    void advanceDecided(long target) {
        target = Math.min(target, logEnd());
        if (target <= decidedIndex) {
            return;
        }
        Entry configEntry = null;
        long configSlot = -1;
        for (long s = decidedIndex; s < target; s++) {
            Entry e = entryAt(s);
            out.decided.add(new Decided(s, e));
            if (e.isConfig() && e.nextConfigId() > configId) {
                configEntry = e;
                configSlot = s;
            }
        }
        decidedIndex = target;
        persist(new PersistDecided(decidedIndex));
        if (configEntry != null) {
            if (configSlot != decidedIndex - 1) {
                throw invariantBroken("entries after configuration entry at " + configSlot);
            }
            boolean wasLeader = role == Role.LEADER;
            membership.enterConfiguration(configEntry.nextConfigId(), configEntry.nextMembers(), configSlot + 1);
            if (wasLeader && members.contains(me)) {
                election.startElection();
            }
        }
    }

    // ------------------------------------------------------------------ durable writes

    void setPromised(Ballot b) {
        if (!b.isAbove(promised)) {
            throw invariantBroken("ballot " + b + " does not grow past " + promised);
        }
        promised = b;
        maxRoundSeen = Math.max(maxRoundSeen, b.round());
        persist(new PersistPromise(configId, b));
    }

    void installSnapshot(Snapshot s) {
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

    /** Keeps {@code p} if it promises more than the promise known (a higher timestamp); true if it did. */
    boolean notePromise(TimestampPromise p) {
        if (p.isNone() || p.belowTs() <= timestampPromise.belowTs()) {
            return false;
        }
        timestampPromise = p;
        return true;
    }

    void resetElectionTimer() {
        long timeout = config.electionTimeoutNanos();
        electionDeadlineNanos = now + timeout + random.nextLong(timeout);
    }

    // ------------------------------------------------------------------ outputs of the call in progress

    void send(Message m) {
        out.messages.add(m);
    }

    void persist(PersistWrite w) {
        out.persist.add(w);
    }

    void diag(Code code, String detail) {
        out.diagnostics.add(new Diagnostic(code, "replica " + me + ": " + detail));
    }

    /** Refuses one value of a proposed batch, alone: the runtime answers its client, the others wait on. */
    void diagValue(int valueIndex, Code code, String detail) {
        out.diagnostics.add(new Diagnostic(code, "replica " + me + ": " + detail, valueIndex));
    }

    static void check(boolean condition, String what) {
        if (!condition) {
            throw invariantBroken(what);
        }
    }

    /**
     * The error for a broken invariant. Checks whose message is built from values call this only once the check
     * failed: {@link PaxosReplica}'s exit check runs on every input, and building its messages eagerly (ballots
     * formatted with {@code String.format}) was a visible share of a replica's CPU per append.
     */
    static AssertionError invariantBroken(String what) {
        return new AssertionError("Paxos invariant broken: " + what);
    }

    static long saturatedAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? (a < 0 ? Long.MIN_VALUE : Long.MAX_VALUE) : r;
    }

    /** What the call in progress returns, gathered as it goes. */
    static final class Out {
        final ArrayList<PersistWrite> persist = new ArrayList<>();
        final ArrayList<Message> messages = new ArrayList<>();
        final ArrayList<Decided> decided = new ArrayList<>();
        final ArrayList<Effect> effects = new ArrayList<>();
        final ArrayList<Diagnostic> diagnostics = new ArrayList<>();
    }
}
