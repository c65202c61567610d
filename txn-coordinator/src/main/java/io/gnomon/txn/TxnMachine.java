package io.gnomon.txn;

import io.gnomon.paxos.server.StoredGroupMachine;
import io.gnomon.paxos.server.StoredMachines;
import io.gnomon.paxos.store.GroupStore;
import io.gnomon.paxos.store.Mutation;
import io.gnomon.paxos.store.ReadBelowRetentionException;
import io.gnomon.paxos.store.Row;
import io.gnomon.paxos.store.StateRow;
import io.gnomon.txn.TxnRecord.AbortRecord;
import io.gnomon.txn.TxnRecord.Commit;
import io.gnomon.txn.TxnRecord.CommitRecord;
import io.gnomon.txn.TxnRecord.Forget;
import io.gnomon.txn.TxnRecord.Outcome;
import io.gnomon.txn.TxnRecord.Prepare;
import io.gnomon.txn.TxnRecordCodec.MalformedRecordException;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The state machine every replica of a transactional group runs (docs/transactions.md, "Step 2"): it applies the
 * group's decided {@link TxnRecord}s (bytes of {@link TxnRecordCodec}) to the group's {@link GroupStore}, on every
 * replica alike, and answers reads at a timestamp ({@link TxnQueryCodec}).
 *
 * <ul>
 *   <li>{@code Commit(txn, s, writes)} and {@code CommitRecord(txn, s, participants, writes)}: the writes become
 *       versions at {@code s}, and the outcome is remembered, in the batch that moves the applied index. A range
 *       delete ({@link Write#deleteRange}) becomes a tombstone at {@code s} for every key of the range live at
 *       {@code s} in this store, before the record's point writes (which win at the same key); its tombstones are
 *       counted against no batch limit ({@link GroupStore#apply(long, List, List, List)}).</li>
 *   <li>{@code Prepare(txn, p, coordinator, writes)}: the record is kept in the group's state area (not versions:
 *       reads never see it) until its outcome.</li>
 *   <li>{@code Outcome(txn, commit at s | abort)}: the prepared writes become versions at {@code s} (or are
 *       dropped), the prepared row goes and the outcome is remembered. {@code AbortRecord(txn)} (a coordinator's):
 *       the outcome is remembered. As in TwoPhaseCommit, only an Outcome resolves a Prepare.</li>
 *   <li>{@code Forget(txns)}: their outcome rows go (docs/transactions.md, "Forgetting outcomes"), in the batch that
 *       moves the applied index, so every replica forgets them at the same index and a snapshot carries only what
 *       is remembered. The leader logs it only for transactions too old for any later record to be proposed.</li>
 *   <li>The <b>first</b> outcome record of a transaction wins (as in {@link TwoPhaseCommit}): any record of a
 *       transaction with a remembered outcome changes nothing, and so does a second Prepare.</li>
 * </ul>
 *
 * <p>State area rows ({@link StateRow}, {@code 0x03 | group | row key}): {@code 'p' | txn} holds the Prepare
 * record's bytes; {@code 'o' | txn} the outcome record's bytes without its writes (a {@code Commit}, a
 * {@code CommitRecord} with its participants, an {@code AbortRecord} with its reason, or an {@code Outcome});
 * {@code 'm'} the highest timestamp applied ({@link #maxTimestamp()}, i64 big-endian); txn is
 * {@code i64 priority, i64 client, i32 attempt}, big-endian. Outcomes are kept until a {@code Forget} names them, as
 * TwoPhaseCommit keeps them. User keys are stored after the machine's kind byte {@code 't'}.
 *
 * <p>The result of {@link #apply} is one byte: {@link #APPLIED} when the record took effect, {@link #IGNORED} when
 * it changed nothing (a second Prepare, or any record of a transaction whose outcome was already decided). The host
 * feeds the decoded record to TwoPhaseCommit itself; the byte lets it check both agree. A command that is not a
 * valid record, or over the store's limits, throws IllegalArgumentException after the applied index moved past its
 * slot (StateMachine's contract); {@link #validate} refuses both before they are proposed.
 *
 * <p>Versions must be written at or above the group's GC watermark: the host keeps the watermark at or below the
 * group's safe time, which every commit timestamp still to be applied exceeds (a prepared transaction holds safe
 * time below its prepare timestamp, and {@code s >= p}).
 */
public final class TxnMachine extends StoredGroupMachine {
    static final byte KIND = 't';
    public static final byte[] APPLIED = {1};
    public static final byte[] IGNORED = {0};
    private static final byte PREPARED_ROW = 'p';
    private static final byte OUTCOME_ROW = 'o';
    private static final byte[] MAX_TIMESTAMP_ROW = {'m'};
    /** Past every user key in the store (they follow the kind byte). */
    private static final byte[] KEYS_END = {KIND + 1};
    private static final long UNKNOWN = Long.MIN_VALUE;
    private static final int STATE_ROWS_PER_APPLY = 3;

    /** Cache of the {@code 'm'} row ({@link #maxTimestamp()}); UNKNOWN until read, and again after an install. */
    private long maxTimestamp = UNKNOWN;
    private static final int TXN_KEY_BYTES = 1 + 8 + 8 + 4;

    private TxnMachine(StoredMachines owner, GroupStore group) {
        super(owner, group, KIND);
        if (limits.maxKeyBytes() < TXN_KEY_BYTES) {
            throw new IllegalArgumentException("group " + group.groupId() + ": a transaction machine needs a store whose"
                    + " maxKeyBytes is at least " + TXN_KEY_BYTES + " (its state rows' keys), this one's is " + limits.maxKeyBytes());
        }
    }

    /**
     * The transaction machine of {@code groupId} in {@code machines}' store.
     *
     * @throws IllegalStateException if the group already has an open machine, or holds another kind's data
     */
    public static TxnMachine open(StoredMachines machines, long groupId) {
        return machines.open(groupId, g -> new TxnMachine(machines, g));
    }

    @Override
    public String validate(byte[] command) {
        TxnRecord r;
        try {
            r = TxnRecordCodec.decode(command);
        } catch (MalformedRecordException e) {
            return "not a transaction record: " + e.getMessage();
        }
        return checkLimits(r, command.length);
    }

    /** The store's limits for what applying {@code r} writes, or null when it fits. */
    private String checkLimits(TxnRecord r, int recordBytes) {
        if (r instanceof Forget f) { // one delete per transaction and the applied index, nothing kept
            if (f.txns().size() + 1 > limits.maxBatchMutations()) {
                return "a Forget of " + f.txns().size() + " transactions exceeds the store's maxBatchMutations "
                        + limits.maxBatchMutations() + " (less 1 for the applied index); lower TxnLimits.maxForgetPerRecord";
            }
            return recordBytes > limits.maxBatchBytes() ? "a Forget of " + recordBytes + " bytes exceeds the store's"
                    + " maxBatchBytes " + limits.maxBatchBytes() : null;
        }
        List<Write> writes = writesOf(r);
        // A batch holds the versions and at most three state rows (the outcome or the prepare, the prepare's delete,
        // the highest timestamp).
        if (writes.size() + STATE_ROWS_PER_APPLY > limits.maxBatchMutations()) {
            return r.txn() + ": " + writes.size() + " writes in one group exceed the store's maxBatchMutations "
                    + limits.maxBatchMutations() + " (less " + STATE_ROWS_PER_APPLY + " for the transaction's state rows)";
        }
        long bytes = recordBytes + TXN_KEY_BYTES * 2L + MAX_TIMESTAMP_ROW.length + 8;
        for (Write w : writes) {
            if (1 + w.key().length > limits.maxKeyBytes()) {
                return r.txn() + ": a key of " + w.key().length + " bytes exceeds the store's maxKeyBytes "
                        + limits.maxKeyBytes() + " (with a 1-byte tag): key " + shortened(w.key());
            }
            if (w.rangeEndOrNull() != null && 1 + w.rangeEndOrNull().length > limits.maxKeyBytes()) {
                return r.txn() + ": a delete range's end key of " + w.rangeEndOrNull().length + " bytes exceeds the"
                        + " store's maxKeyBytes " + limits.maxKeyBytes() + " (with a 1-byte tag): end key "
                        + shortened(w.rangeEndOrNull());
            }
            if (w.valueOrNull() != null && w.valueOrNull().length > limits.maxValueBytes()) {
                return r.txn() + ": a value of " + w.valueOrNull().length + " bytes exceeds the store's maxValueBytes "
                        + limits.maxValueBytes() + ": key " + shortened(w.key());
            }
            bytes += 1 + w.key().length + (w.valueOrNull() == null ? 0 : w.valueOrNull().length)
                    + (w.rangeEndOrNull() == null ? 0 : 1 + w.rangeEndOrNull().length);
        }
        int rowBytes = r instanceof Commit || r instanceof CommitRecord ? TxnRecordCodec.encode(remembered(r)).length
                : recordBytes;
        if (rowBytes > limits.maxValueBytes()) {
            return r.txn() + ": a record of " + rowBytes + " bytes to keep exceeds the store's maxValueBytes "
                    + limits.maxValueBytes() + " (it is kept as one state row)";
        }
        if (bytes > limits.maxBatchBytes()) {
            return r.txn() + ": " + bytes + " bytes of keys and values exceed the store's maxBatchBytes " + limits.maxBatchBytes();
        }
        return null;
    }

    /** A key for a message: hex, its first 16 bytes and its length when longer. */
    static String shortened(byte[] key) {
        String hex = java.util.HexFormat.of().formatHex(key, 0, Math.min(key.length, 16));
        return key.length <= 16 ? hex : hex + "... (" + key.length + " bytes)";
    }

    /** What the outcome row keeps of an outcome record: the record without its writes. */
    private static TxnRecord remembered(TxnRecord r) {
        if (r instanceof Commit c) {
            return new Commit(c.txn(), c.commitTimestampEpochNanos(), List.of());
        } else if (r instanceof CommitRecord c) {
            return new CommitRecord(c.txn(), c.commitTimestampEpochNanos(), c.participantGroups(), List.of());
        }
        return r;
    }

    private static List<Write> writesOf(TxnRecord r) {
        if (r instanceof Prepare p) {
            return p.writes();
        } else if (r instanceof CommitRecord c) {
            return c.writes();
        } else if (r instanceof Commit c) {
            return c.writes();
        }
        return List.of();
    }

    @Override
    protected byte[] applyCommand(long slot, byte[] command) {
        TxnRecord r;
        try {
            r = TxnRecordCodec.decode(command);
        } catch (MalformedRecordException e) {
            throw new IllegalArgumentException("group " + group.groupId() + ": slot " + slot
                    + " is not a transaction record: " + e.getMessage());
        }
        String bad = checkLimits(r, command.length);
        if (bad != null) {
            throw new IllegalArgumentException("group " + group.groupId() + ": slot " + slot + ": " + bad);
        }
        if (r instanceof Forget f) {
            List<StateRow> rows = new ArrayList<>(f.txns().size());
            for (TxnId txn : f.txns()) {
                rows.add(StateRow.delete(txnKey(OUTCOME_ROW, txn)));
            }
            write(slot, List.of(), rows);
            return APPLIED;
        }
        byte[] preparedKey = txnKey(PREPARED_ROW, r.txn());
        byte[] outcomeKey = txnKey(OUTCOME_ROW, r.txn());
        if (group.getState(outcomeKey).isPresent()) {
            write(slot, List.of());
            return IGNORED; // the first outcome in the log wins; a Prepare after it is moot
        }
        if (r instanceof Prepare p) {
            if (group.getState(preparedKey).isPresent()) {
                write(slot, List.of());
                return IGNORED;
            }
            List<StateRow> rows = new ArrayList<>(List.of(StateRow.put(preparedKey, command)));
            long max = raiseMaxTimestamp(p.prepareTimestampEpochNanos(), rows);
            write(slot, List.of(), rows);
            maxTimestamp = max;
            return APPLIED;
        }
        List<Write> writes;
        long s;
        if (r instanceof Commit c) {
            writes = c.writes();
            s = c.commitTimestampEpochNanos();
        } else if (r instanceof CommitRecord c) {
            writes = c.writes();
            s = c.commitTimestampEpochNanos();
        } else if (r instanceof Outcome o && o.committed()) {
            // A commit with nothing prepared here (TwoPhaseCommit calls that a host bug, and observes no timestamp)
            // is remembered, writing nothing.
            Optional<Prepare> p = prepared(r.txn());
            writes = p.map(Prepare::writes).orElse(List.of());
            s = p.isPresent() ? o.commitTimestampEpochNanos() : -1;
        } else {
            writes = List.of(); // an aborted Outcome (the prepared writes are dropped), or an AbortRecord
            s = -1;
        }
        // Range deletes first (tombstones at s over the keys live at s in this group's store, the same on every
        // replica at this log index), then the point writes, which replace a tombstone at the same key and s: a
        // client drops the writes a later range delete covers, so a point write left in the record came after it.
        List<GroupStore.RangeTombstones> ranges = new ArrayList<>();
        List<Mutation> versions = new ArrayList<>(writes.size());
        for (Write w : writes) {
            if (w.rangeDelete()) {
                ranges.add(new GroupStore.RangeTombstones(key(w.key()),
                        w.rangeEndOrNull() == null ? KEYS_END : key(w.rangeEndOrNull()), s));
            } else {
                versions.add(new Mutation(key(w.key()), s, w.valueOrNull()));
            }
        }
        List<StateRow> rows = new ArrayList<>(List.of(StateRow.put(outcomeKey, TxnRecordCodec.encode(remembered(r)))));
        if (r instanceof Outcome) {
            // Only a participant's Outcome resolves a Prepare, as in TwoPhaseCommit: a coordinator's record of a
            // transaction prepared in the same group (which the protocol never logs) leaves it in doubt there too,
            // so the state a host rebuilds from here is the state replaying the log would give.
            rows.add(StateRow.delete(preparedKey));
        }
        long max = raiseMaxTimestamp(s, rows);
        write(slot, ranges, versions, rows);
        maxTimestamp = max;
        return APPLIED;
    }

    /** Adds the {@code 'm'} row to {@code rows} if {@code ts} raises it; returns the maximum after the write. */
    private long raiseMaxTimestamp(long ts, List<StateRow> rows) {
        long max = maxTimestamp();
        if (ts > max) {
            rows.add(StateRow.put(MAX_TIMESTAMP_ROW, ByteBuffer.allocate(8).putLong(ts).array()));
            return ts;
        }
        return max;
    }

    /**
     * Drops the versions no read at or above {@code belowTimestamp} can see ({@link GroupStore#collectGarbage}): a read
     * below it then answers {@link TxnQueryCodec.BelowRetention}, never thinned data. Safe from a thread other than the
     * one applying (the store orders them); the caller keeps {@code belowTimestamp} at or below the replica's safe
     * time, so nothing applied later is below it.
     *
     * @return the versions deleted
     */
    public long collectGarbage(long belowTimestamp) {
        return group.collectGarbage(belowTimestamp);
    }

    /** The GC watermark: reads below it are refused. 0 before any collection. */
    public long gcWatermark() {
        return group.gcWatermark();
    }

    /**
     * The highest timestamp of the records this group applied and that took effect (prepare timestamps, and commit
     * timestamps of commits and committed outcomes), -1 if none. After a restart or an install the host feeds it to
     * the group's {@link TimestampOracle#observe} (no timestamp at or below one in the log is assigned again, even
     * once the log is compacted) and uses it as SafeTime's applied bound.
     */
    public long maxTimestamp() {
        if (maxTimestamp == UNKNOWN || group.installing()) { // installing: the read refuses with the reason
            maxTimestamp = UNKNOWN;
            maxTimestamp = group.getState(MAX_TIMESTAMP_ROW).map(v -> ByteBuffer.wrap(v).getLong()).orElse(-1L);
        }
        return maxTimestamp;
    }

    @Override
    protected void afterInstall() {
        maxTimestamp = UNKNOWN; // the install replaced the row
    }

    @Override
    protected byte[] answer(byte[] query) {
        TxnQueryCodec.Query q = TxnQueryCodec.decodeQuery(query);
        try {
            if (q instanceof TxnQueryCodec.Get g) {
                if (1 + g.key().length > limits.maxKeyBytes()) {
                    throw new IllegalArgumentException("get: a key of " + g.key().length + " bytes exceeds the store's"
                            + " maxKeyBytes " + limits.maxKeyBytes() + " (with a 1-byte tag); no such key is stored");
                }
                return TxnQueryCodec.encode(new TxnQueryCodec.Value(
                        group.get(key(g.key()), g.readTimestampEpochNanos()).orElse(null)));
            }
            TxnQueryCodec.Scan s = (TxnQueryCodec.Scan) q;
            if (s.limit() > limits.maxScanRows()) {
                throw new IllegalArgumentException("scan: limit " + s.limit() + " exceeds the store's maxScanRows "
                        + limits.maxScanRows() + "; page through larger ranges");
            }
            byte[] to = s.toOrNull() == null ? KEYS_END : key(s.toOrNull());
            List<Row> rows = new ArrayList<>();
            for (Row row : group.scan(key(s.from()), to, s.readTimestampEpochNanos(), s.limit())) {
                rows.add(new Row(Arrays.copyOfRange(row.key(), 1, row.key().length), row.timestamp(), row.value()));
            }
            return TxnQueryCodec.encode(new TxnQueryCodec.Rows(rows));
        } catch (ReadBelowRetentionException e) {
            return TxnQueryCodec.encode(new TxnQueryCodec.BelowRetention(e.gcWatermark(), e.getMessage()));
        }
    }

    // ------------------------------------------------------------------ recovery: what the host rebuilds from

    /**
     * The transactions prepared in this group and not resolved (no outcome applied yet), with their prepare
     * timestamps, coordinators and writes, in transaction-id key order. After a restart or a snapshot install
     * the host rebuilds TwoPhaseCommit's prepared set, the lock table's locks and SafeTime's prepared bound from
     * them.
     */
    public List<Prepare> preparedTxns() {
        List<Prepare> out = new ArrayList<>();
        for (byte[] v : stateRows(PREPARED_ROW)) {
            out.add((Prepare) decodeRow(v));
        }
        return out;
    }

    /**
     * Every outcome this group remembers, without writes: {@code Commit} and {@code CommitRecord} (committed at
     * {@code s}; a coordinator's with its participants), {@code AbortRecord} (with its reason and participants),
     * {@code Outcome} (a participant's). What TwoPhaseCommit answers inquiries and duplicate requests from.
     */
    public List<TxnRecord> outcomes() {
        List<TxnRecord> out = new ArrayList<>();
        for (byte[] v : stateRows(OUTCOME_ROW)) {
            out.add(decodeRow(v));
        }
        return out;
    }

    /** The prepared, unresolved record of {@code txn}, if any. */
    public Optional<Prepare> prepared(TxnId txn) {
        return group.getState(txnKey(PREPARED_ROW, txn)).map(v -> (Prepare) decodeRow(v));
    }

    /** The remembered outcome of {@code txn} (as {@link #outcomes}), if any. */
    public Optional<TxnRecord> outcome(TxnId txn) {
        return group.getState(txnKey(OUTCOME_ROW, txn)).map(this::decodeRow);
    }

    private List<byte[]> stateRows(byte tag) {
        List<byte[]> values = new ArrayList<>();
        byte[] from = {tag};
        byte[] end = {(byte) (tag + 1)};
        int page = limits.maxScanRows();
        while (true) {
            List<StateRow> rows = group.scanState(from, end, page);
            rows.forEach(r -> values.add(r.valueOrNull()));
            if (rows.size() < page) {
                return values;
            }
            byte[] last = rows.get(rows.size() - 1).key();
            from = Arrays.copyOf(last, last.length + 1);
        }
    }

    private TxnRecord decodeRow(byte[] v) {
        try {
            return TxnRecordCodec.decode(v);
        } catch (MalformedRecordException e) {
            throw new IllegalStateException("group " + group.groupId() + ": a stored transaction state row does not"
                    + " decode (" + e.getMessage() + "): the store is damaged; install a snapshot from a peer");
        }
    }

    static byte[] txnKey(byte tag, TxnId txn) {
        return ByteBuffer.allocate(TXN_KEY_BYTES).put(tag).putLong(txn.priorityEpochNanos()).putLong(txn.clientId())
                .putInt(txn.attempt()).array();
    }
}
