package io.gnomon.paxos;

/**
 * A Paxos ballot: a round number, ties broken by the proposing replica's id. Ballots are totally ordered and
 * only ever grow at a replica (Sequence Paxos, Lecture Notes arXiv 2008.13456, section 3).
 *
 * @param round     the round; a new leader picks a round above every round it has seen
 * @param replicaId the id of the replica that leads in this ballot
 */
public record Ballot(long round, int replicaId) implements Comparable<Ballot> {
    /** Below every real ballot: what a replica has promised before it promised anything. */
    public static final Ballot ZERO = new Ballot(0, 0);

    public Ballot {
        if (round < 0) {
            throw new IllegalArgumentException("round must be >= 0, was " + round);
        }
        if (replicaId < 0) {
            throw new IllegalArgumentException("replicaId must be >= 0, was " + replicaId);
        }
    }

    @Override
    public int compareTo(Ballot o) {
        int c = Long.compare(round, o.round);
        return c != 0 ? c : Integer.compare(replicaId, o.replicaId);
    }

    public boolean isAbove(Ballot o) {
        return compareTo(o) > 0;
    }
}
