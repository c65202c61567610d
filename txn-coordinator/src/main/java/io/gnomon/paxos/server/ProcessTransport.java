package io.gnomon.paxos.server;

import io.gnomon.paxos.Message;
import io.gnomon.paxos.runtime.Transport;

import java.util.List;

/**
 * Sends one group's Paxos message to a replica process (possibly this one: a loopback). A process hosts many
 * groups and reaches each peer process over one stream for all of them, so what it sends is keyed on the peer
 * process and tagged with the group (docs/paxos.md, "Wire format between replicas"). Replica id == process id.
 * Fire and forget, like {@link Transport}.
 */
@FunctionalInterface
interface ProcessTransport {
    void send(int toProcessId, long groupId, Message message);

    /** One message of a batch to a process: its group and the message. */
    record GroupMessage(long groupId, Message message) {
    }

    /**
     * Sends {@code messages}, in order, to process {@code toProcessId} together: in as few frames as the transport
     * can (one, unless they exceed its largest message). The default sends them one by one.
     */
    default void sendAll(int toProcessId, List<GroupMessage> messages) {
        for (GroupMessage m : messages) {
            send(toProcessId, m.groupId(), m.message());
        }
    }

    /** What {@code groupId}'s host sends through: every message tagged with that group. */
    default Transport forGroup(long groupId) {
        return (to, message) -> send(to, groupId, message);
    }
}
