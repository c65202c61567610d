package io.gnomon.txn;

import java.util.HashSet;
import java.util.List;

/**
 * A client's commit request to one group: its buffered writes for that group, the coordinator group and the
 * participant groups (every group of the transaction but the coordinator). The client sends one to each group.
 * No participants: a one-group transaction, committed without two-phase commit.
 */
public record CommitRequest(TxnId txn, long coordinatorGroup, List<Long> participantGroups, List<Write> writes) {
    public CommitRequest {
        if (txn == null) {
            throw new IllegalArgumentException("commit request needs a transaction id");
        }
        participantGroups = List.copyOf(participantGroups);
        writes = List.copyOf(writes);
        if (participantGroups.contains(coordinatorGroup)) {
            throw new IllegalArgumentException("coordinator group " + coordinatorGroup
                    + " must not be listed among the participants " + participantGroups);
        }
        if (new HashSet<>(participantGroups).size() != participantGroups.size()) {
            throw new IllegalArgumentException("participant groups listed twice: " + participantGroups);
        }
    }
}
