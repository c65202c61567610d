package io.gnomon.txn.server;

import io.gnomon.truetime.TimeInterval;
import io.gnomon.txn.CommitOutcome;
import io.gnomon.txn.SafeTime;
import io.gnomon.txn.TxnId;
import io.gnomon.txn.TxnQueryCodec;
import io.gnomon.txn.Write;
import io.gnomon.txn.grpc.CommitReply;
import io.gnomon.txn.grpc.Query;
import io.gnomon.txn.grpc.Range;
import io.gnomon.txn.grpc.SnapshotReadRequest;

/** Conversions between the {@code TxnKv} service's messages and the transaction layer's types, both ways. */
final class TxnProto {
    private TxnProto() {
    }

    static TxnId txnId(io.gnomon.txn.grpc.TxnId t) {
        if (t == null) {
            throw new IllegalArgumentException("txn: the request names no transaction (set txn)");
        }
        return new TxnId(t.getPriorityEpochNanos(), t.getClientId(), t.getAttempt());
    }

    static io.gnomon.txn.grpc.TxnId txnId(TxnId t) {
        return io.gnomon.txn.grpc.TxnId.newBuilder().setPriorityEpochNanos(t.priorityEpochNanos())
                .setClientId(t.clientId()).setAttempt(t.attempt()).build();
    }

    /** The layer's query at {@code readTs}; a range without a limit gets {@link TxnNode#DEFAULT_SCAN_LIMIT}. */
    static TxnQueryCodec.Query query(Query q, long readTs) {
        return switch (q.getKindCase()) {
            case KEY -> new TxnQueryCodec.Get(q.getKey().toByteArray(), readTs);
            case RANGE -> {
                Range r = q.getRange();
                if (r.getLimit() < 0) {
                    throw new IllegalArgumentException("query.range.limit must be >= 0 (0: the default "
                            + TxnNode.DEFAULT_SCAN_LIMIT + "), was " + r.getLimit());
                }
                if (!r.getToEnd() && r.getTo().isEmpty()) {
                    throw new IllegalArgumentException("query.range: give to, or to_end = true for a scan to the end"
                            + " of the key space");
                }
                yield new TxnQueryCodec.Scan(r.getFrom().toByteArray(), r.getToEnd() ? null : r.getTo().toByteArray(),
                        readTs, r.getLimit() == 0 ? TxnNode.DEFAULT_SCAN_LIMIT : r.getLimit());
            }
            case KIND_NOT_SET -> throw new IllegalArgumentException("query: give a key or a range");
        };
    }

    /** The layer's write of a request's {@code writes[index]}: a put, a delete or a range delete. */
    static Write write(io.gnomon.txn.grpc.Write w, int index) {
        if (!w.hasDeleteRange()) {
            return w.getDelete() ? Write.delete(w.getKey().toByteArray())
                    : Write.put(w.getKey().toByteArray(), w.getValue().toByteArray());
        }
        String field = "writes[" + index + "].delete_range";
        Range r = w.getDeleteRange();
        if (!w.getKey().isEmpty() || !w.getValue().isEmpty() || w.getDelete() || r.getLimit() != 0) {
            throw new IllegalArgumentException(field + ": a range delete sets no key, value, delete or limit");
        }
        if (!r.getToEnd() && r.getTo().isEmpty()) {
            throw new IllegalArgumentException(field + ": give to, or to_end = true for a delete to the end of the"
                    + " key space");
        }
        try {
            return Write.deleteRange(r.getFrom().toByteArray(), r.getToEnd() ? null : r.getTo().toByteArray());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(field + ": " + e.getMessage());
        }
    }

    /** The wire form of a range delete of {@code [from, toOrNull)} ({@code toOrNull} null: to the end). */
    static io.gnomon.txn.grpc.Write deleteRange(byte[] from, byte[] toOrNull) {
        return io.gnomon.txn.grpc.Write.newBuilder().setDeleteRange(range(from, toOrNull, 0).getRange()).build();
    }

    static Query key(byte[] key) {
        return Query.newBuilder().setKey(com.google.protobuf.ByteString.copyFrom(key)).build();
    }

    static Query range(byte[] from, byte[] toOrNull, int limit) {
        Range.Builder r = Range.newBuilder().setFrom(com.google.protobuf.ByteString.copyFrom(from)).setLimit(limit);
        if (toOrNull == null) {
            r.setToEnd(true);
        } else {
            r.setTo(com.google.protobuf.ByteString.copyFrom(toOrNull));
        }
        return Query.newBuilder().setRange(r).build();
    }

    static io.gnomon.txn.grpc.Ballot ballot(io.gnomon.paxos.Ballot b) {
        return io.gnomon.txn.grpc.Ballot.newBuilder().setRound(b.round()).setReplica(b.replicaId()).build();
    }

    static io.gnomon.paxos.Ballot ballot(io.gnomon.txn.grpc.Ballot b) {
        return new io.gnomon.paxos.Ballot(b.getRound(), b.getReplica());
    }

    static CommitReply.Builder commitReply(CommitOutcome outcome) {
        CommitReply.Builder b = CommitReply.newBuilder();
        if (outcome instanceof CommitOutcome.Committed c) {
            return b.setOutcome(CommitReply.Outcome.COMMITTED).setCommitTimestamp(c.commitTimestampEpochNanos());
        } else if (outcome instanceof CommitOutcome.Aborted a) {
            return b.setOutcome(CommitReply.Outcome.ABORTED).setMessage(a.reason()).setRetryable(a.retryable());
        }
        return b.setOutcome(CommitReply.Outcome.UNKNOWN).setMessage(((CommitOutcome.Unknown) outcome).reason());
    }

    static CommitOutcome outcome(CommitReply r) {
        return switch (r.getOutcome()) {
            case COMMITTED -> new CommitOutcome.Committed(r.getCommitTimestamp());
            case ABORTED -> new CommitOutcome.Aborted(r.getMessage(), r.getRetryable());
            default -> new CommitOutcome.Unknown(r.getMessage());
        };
    }

    /**
     * The timestamp a snapshot read is served at, from its bound, the serving replica's TrueTime {@code now} and
     * its safe time ({@link SafeTime#NONE} before any): strong reads at {@code now.latest}; an exact staleness
     * {@code d} at {@code now.latest - d}; a maximum staleness {@code d} at the replica's safe time (served without
     * waiting) but not older than {@code now.latest - d} nor newer than {@code now.latest}; a minimum read timestamp
     * at the newer of it and the safe time.
     */
    static long readTimestamp(SnapshotReadRequest r, TimeInterval now, long safeTime) {
        long latest = now.latestEpochNanos();
        long t = switch (r.getBoundCase()) {
            case STRONG -> latest;
            case EXACT_TIMESTAMP -> r.getExactTimestamp();
            case EXACT_STALENESS_NANOS -> latest - nonNegative("exact_staleness_nanos", r.getExactStalenessNanos());
            case MAX_STALENESS_NANOS -> Math.max(latest - nonNegative("max_staleness_nanos",
                    r.getMaxStalenessNanos()), Math.min(safeTime, latest));
            case MIN_READ_TIMESTAMP -> Math.max(r.getMinReadTimestamp(), safeTime);
            case BOUND_NOT_SET -> throw new IllegalArgumentException("snapshot read: give a bound");
        };
        if (t <= 0) {
            throw new IllegalArgumentException("snapshot read: the bound " + r.getBoundCase() + " gives read timestamp "
                    + t + "; a read timestamp is > 0 (nanoseconds since the epoch)");
        }
        return t;
    }

    private static long nonNegative(String field, long v) {
        if (v < 0) {
            throw new IllegalArgumentException(field + " must be >= 0, was " + v);
        }
        return v;
    }
}
