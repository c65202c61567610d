package io.gnomon.paxos;

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * How one replica runs. Durations are monotonic nanoseconds except {@code leaseDurationNanos}, which is
 * added to TrueTime epoch nanoseconds.
 *
 * @param replicaId               this replica's id (>= 1)
 * @param initialMembers          the first configuration (every replica of the group starts with the same)
 * @param electionTimeoutNanos    a follower that hears nothing from its leader for between this and twice this
 *                                (randomized per period) starts an election
 * @param heartbeatIntervalNanos  how often a leader renews its lease and sends Decide
 * @param retransmitIntervalNanos how long before an unanswered Prepare, AcceptSync or Accept is sent again
 * @param leaseDurationNanos      the lease a grant covers, from the leader's TrueTime earliest at request
 * @param limits                  the bounds
 * @param randomSeed              seeds the election backoff (the core has no other randomness)
 * @param preferredLeader         the member that should win when several campaign at once (0: none): it starts its
 *                                ballots two rounds above the highest it has seen, the others one, so its ballot is
 *                                the higher one. Members that start together (or lose their leader together) all time
 *                                out, gather pre-votes and Prepare in the same round, where the highest replica id
 *                                wins: every group a process hosts then ends up led by the same process. A process
 *                                hosting many groups leads its share when each group prefers another member
 *                                (ReplicaServer spreads them). It costs nothing when the preferred member is down (no
 *                                timer waits for it), and safety never depends on it: ballots stay unique and rising
 */
public record PaxosConfig(int replicaId, List<Integer> initialMembers, long electionTimeoutNanos,
                          long heartbeatIntervalNanos, long retransmitIntervalNanos, long leaseDurationNanos,
                          PaxosLimits limits, long randomSeed, int preferredLeader) {

    /** Without a preferred leader: every member steps its ballots by one round. */
    public PaxosConfig(int replicaId, List<Integer> initialMembers, long electionTimeoutNanos,
                       long heartbeatIntervalNanos, long retransmitIntervalNanos, long leaseDurationNanos,
                       PaxosLimits limits, long randomSeed) {
        this(replicaId, initialMembers, electionTimeoutNanos, heartbeatIntervalNanos, retransmitIntervalNanos,
                leaseDurationNanos, limits, randomSeed, 0);
    }

    public static final long DEFAULT_LEASE_DURATION_NANOS = TimeUnit.SECONDS.toNanos(2);

    public PaxosConfig {
        if (replicaId < 1) {
            throw new IllegalArgumentException("replicaId must be >= 1, was " + replicaId);
        }
        initialMembers = List.copyOf(initialMembers);
        for (int m : initialMembers) {
            if (m < 1) {
                throw new IllegalArgumentException("initialMembers: ids must be >= 1, was " + m);
            }
        }
        if (heartbeatIntervalNanos <= 0 || retransmitIntervalNanos <= 0) {
            throw new IllegalArgumentException("heartbeatIntervalNanos and retransmitIntervalNanos must be > 0");
        }
        if (electionTimeoutNanos <= heartbeatIntervalNanos) {
            throw new IllegalArgumentException("electionTimeoutNanos " + electionTimeoutNanos
                    + " must exceed heartbeatIntervalNanos " + heartbeatIntervalNanos);
        }
        if (leaseDurationNanos <= heartbeatIntervalNanos) {
            throw new IllegalArgumentException("leaseDurationNanos " + leaseDurationNanos
                    + " must exceed heartbeatIntervalNanos " + heartbeatIntervalNanos + " or leases lapse while healthy");
        }
        if (limits == null) {
            throw new IllegalArgumentException("limits must not be null");
        }
        if (preferredLeader < 0) {
            throw new IllegalArgumentException("preferredLeader must be a replica id or 0 (none), was " + preferredLeader);
        }
    }

    /**
     * The member group {@code groupId} prefers, spreading leadership over the members: group g prefers its members'
     * ({@code g - 1}) mod n-th, in id order. The server's groups and the simulator's use it alike.
     */
    public static int spreadPreferredLeader(long groupId, List<Integer> members) {
        List<Integer> sorted = members.stream().sorted().toList();
        return sorted.get((int) Math.floorMod(groupId - 1, (long) sorted.size()));
    }

    /** How many rounds above the highest seen this replica's next ballot starts: see {@code preferredLeader}. */
    public int ballotRoundStep() {
        return preferredLeader == replicaId ? 2 : 1;
    }

    /**
     * How far beyond a grant's end the core persists it ({@link PersistWrite.PersistLeaseGrant}): a quarter of the
     * lease. Renewals (every heartbeat, each moving the end by about one heartbeat) whose end is still inside the
     * persisted one need no write, so a replica writes one grant record per quarter lease of renewals instead of
     * one per heartbeat (with the defaults: every 5th renewal, one small record, and under load no extra sync
     * since the renewal's Accepted rides with the entries' write). The price is availability only: a restarted
     * replica waits out the persisted end, up to a quarter lease longer than the grant it made. Persisting a later
     * end than granted is sound: it only makes the restarted replica wait longer.
     */
    public long grantPersistAheadNanos() {
        return leaseDurationNanos / 4;
    }

    /** Defaults: 2 s lease, 500 ms election timeout, 100 ms heartbeat, 100 ms retransmit. */
    public static PaxosConfig defaults(int replicaId, List<Integer> members, long randomSeed) {
        return new PaxosConfig(replicaId, members, TimeUnit.MILLISECONDS.toNanos(500),
                TimeUnit.MILLISECONDS.toNanos(100), TimeUnit.MILLISECONDS.toNanos(100),
                DEFAULT_LEASE_DURATION_NANOS, PaxosLimits.DEFAULTS, randomSeed);
    }
}
