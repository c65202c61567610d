package io.gnomon.paxos.cluster;

import java.util.HashSet;
import java.util.List;

/**
 * One Paxos group: a range of keys and the processes that replicate it.
 *
 * @param id       positive, unique in the cluster
 * @param range    the keys this group holds
 * @param replicas process ids, distinct; 1, 3 or 5 of them
 */
public record GroupSpec(int id, KeyRange range, List<Integer> replicas) {
    public GroupSpec {
        if (id < 1) {
            throw new IllegalArgumentException("group id " + id + " must be >= 1");
        }
        if (range == null) {
            throw new IllegalArgumentException("group " + id + ": range must not be null");
        }
        replicas = List.copyOf(replicas);
        if (!ClusterRules.ALLOWED_REPLICAS.contains(replicas.size())) {
            throw new IllegalArgumentException("group " + id + ": " + ClusterRules.replicaCountRule(replicas.size()));
        }
        if (new HashSet<>(replicas).size() != replicas.size()) {
            throw new IllegalArgumentException("group " + id + ": replicas " + replicas + " are not distinct");
        }
    }
}
