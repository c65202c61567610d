package io.gnomon.paxos.runtime;

import io.gnomon.paxos.Message;

/** Sends a message to a replica (possibly this one: a loopback). Fire and forget; loss is the protocol's to handle. */
@FunctionalInterface
public interface Transport {
    void send(int toReplicaId, Message message);
}
