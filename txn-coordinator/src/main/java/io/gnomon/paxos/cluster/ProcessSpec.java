package io.gnomon.paxos.cluster;

import java.nio.file.Path;
import java.util.Optional;

/**
 * One server process of a cluster.
 *
 * @param id      positive, unique in the cluster; what groups name in their replica sets
 * @param peer    where the other processes reach this one (Paxos messages)
 * @param client  where clients reach this one
 * @param dataDir where this process keeps its groups' logs; empty: the server's default
 */
public record ProcessSpec(int id, HostPort peer, HostPort client, Optional<Path> dataDir) {
    public ProcessSpec {
        if (id < 1) {
            throw new IllegalArgumentException("process id " + id + " must be >= 1");
        }
        if (peer == null || client == null || dataDir == null) {
            throw new IllegalArgumentException("process " + id + ": peer, client and dataDir must not be null");
        }
    }
}
