package io.gnomon.paxos.server;

import io.gnomon.paxos.Message;
import io.gnomon.paxos.runtime.Transport;
import io.gnomon.txn.TxnMessage;

import java.util.List;

/**
 * Sends one group's Paxos message, or a transaction message from a group to another group, to a replica process
 * (possibly this one: a loopback). A process hosts many groups and reaches each peer process over one stream for
 * all of them, so what it sends is keyed on the peer process and tagged with the group (docs/paxos.md, "Wire
 * format between replicas"). Replica id == process id. Fire and forget, like {@link Transport}: both kinds may be
 * lost, duplicated or reordered (the fault harness does all three to both alike), and their protocols retransmit.
 */
@FunctionalInterface
interface ProcessTransport {
    void send(int toProcessId, Envelope envelope);

    /** What goes to a process: a group's Paxos message or a transaction message between groups. */
    sealed interface Envelope permits GroupMessage, TxnEnvelope {
    }

    /** One group's Paxos message. */
    record GroupMessage(long groupId, Message message) implements Envelope {
    }

    /**
     * A transaction message from group {@code fromGroup} on process {@code fromProcess} to group {@code toGroup} of
     * the process it is sent to (two-phase commit between groups' leaders, docs/transactions.md).
     */
    record TxnEnvelope(int fromProcess, long fromGroup, long toGroup, TxnMessage message) implements Envelope {
        public TxnEnvelope {
            if (fromGroup < 1 || toGroup < 1) {
                throw new IllegalArgumentException("transaction message from group " + fromGroup + " to group "
                        + toGroup + ": group ids are >= 1");
            }
        }
    }

    /** A message of group {@code groupId}. */
    default void send(int toProcessId, long groupId, Message message) {
        send(toProcessId, new GroupMessage(groupId, message));
    }

    /**
     * Sends {@code envelopes}, in order, to process {@code toProcessId} together: in as few frames as the transport
     * can (one, unless they exceed its largest message). The default sends them one by one.
     */
    default void sendAll(int toProcessId, List<? extends Envelope> envelopes) {
        for (Envelope e : envelopes) {
            send(toProcessId, e);
        }
    }

    /** What {@code groupId}'s host sends through: every message tagged with that group. */
    default Transport forGroup(long groupId) {
        return (to, message) -> send(to, groupId, message);
    }
}
