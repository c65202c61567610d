package io.gnomon.spanner.torture;

import io.gnomon.paxos.server.ListAppend;
import io.gnomon.spanner.history.MicroOp;

import java.util.ArrayList;
import java.util.List;

/** A history transaction as the replicas' list-append command, and the command's result back as history reads. */
final class ListAppendTxns {
    private ListAppendTxns() {
    }

    /** The command a replica applies for {@code txn} (one log entry). */
    static byte[] command(List<MicroOp> txn) {
        List<ListAppend.Op> ops = new ArrayList<>(txn.size());
        for (MicroOp op : txn) {
            ops.add(op instanceof MicroOp.Append a ? ListAppend.Op.append(a.key(), a.value())
                    : ListAppend.Op.read(op.key()));
        }
        return ListAppend.encodeTxn(ops);
    }

    /** {@code txn} with its reads filled in from the applied command's result. */
    static List<MicroOp> completed(List<MicroOp> txn, byte[] result) {
        List<List<Long>> lists = ListAppend.decodeResult(result);
        List<MicroOp> done = new ArrayList<>(txn.size());
        for (int i = 0; i < txn.size(); i++) {
            MicroOp op = txn.get(i);
            done.add(op instanceof MicroOp.Read r ? new MicroOp.Read(r.key(), lists.get(i)) : op);
        }
        return done;
    }
}
