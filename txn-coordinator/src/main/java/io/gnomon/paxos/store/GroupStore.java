package io.gnomon.paxos.store;

import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.Slice;
import org.rocksdb.WriteBatch;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.function.BiConsumer;

/**
 * One Paxos group's multi-version key-value state inside a {@link VersionedStore}: ordered byte-string keys, each
 * with versions by a 64-bit timestamp (epoch nanoseconds), written in batches that carry the group's applied index.
 *
 * <pre>{@code
 * GroupStore g = store.group(7);
 * g.apply(12, List.of(Mutation.put(k, 1_000, v1)));
 * g.apply(13, List.of(Mutation.delete(k, 2_000)));
 * g.get(k, 1_500);                 // Optional[v1]
 * g.get(k, 2_000);                 // Optional.empty (tombstone)
 * g.collectGarbage(1_800);         // reads below 1_800 now throw ReadBelowRetentionException
 * }</pre>
 */
public final class GroupStore {
    static final long NOT_INSTALLING = Long.MIN_VALUE;

    private final VersionedStore store;
    private final long groupId;
    private final byte[] dataStart;
    private final byte[] dataEnd;
    private final byte[] stateStart;
    private final byte[] stateEnd;
    private final byte[] appliedKey;
    private final byte[] watermarkKey;
    private final byte[] installingKey;

    // Written under synchronized(this); read without it. A reader takes its engine snapshot (iterator) first and
    // reads these after, so a GC or an install that starts later cannot change what the reader sees unnoticed.
    private volatile long appliedIndex = -1;
    private volatile long durableAppliedIndex = -1;
    private volatile long gcWatermark = 0;
    private volatile long installingAppliedIndex = NOT_INSTALLING;
    /** Bumped by every beginInstall: an older installer of this group is superseded. */
    private int installGeneration;
    private final Object gcLock = new Object();

    GroupStore(VersionedStore store, long groupId) {
        this.store = store;
        this.groupId = groupId;
        this.dataStart = KeyCodec.groupPrefix(KeyCodec.GROUP_DATA, groupId);
        this.dataEnd = KeyCodec.groupPrefixEnd(KeyCodec.GROUP_DATA, groupId);
        this.stateStart = KeyCodec.groupPrefix(KeyCodec.GROUP_STATE, groupId);
        this.stateEnd = KeyCodec.groupPrefixEnd(KeyCodec.GROUP_STATE, groupId);
        this.appliedKey = KeyCodec.metaKey(groupId, KeyCodec.META_APPLIED_INDEX);
        this.watermarkKey = KeyCodec.metaKey(groupId, KeyCodec.META_GC_WATERMARK);
        this.installingKey = KeyCodec.metaKey(groupId, KeyCodec.META_INSTALLING);
    }

    /** At open: what is on disk is durable. */
    void loadMeta(byte tag, long value) {
        switch (tag) {
            case KeyCodec.META_APPLIED_INDEX -> {
                appliedIndex = value;
                durableAppliedIndex = value;
            }
            case KeyCodec.META_GC_WATERMARK -> gcWatermark = value;
            case KeyCodec.META_INSTALLING -> installingAppliedIndex = value;
            default -> throw new IllegalStateException("group " + groupId + ": unknown metadata tag " + tag);
        }
    }

    public long groupId() {
        return groupId;
    }

    /**
     * The index of the last log entry applied (-1 if none). After a restart, replay the log from here + 1.
     *
     * @throws IllegalStateException if the group is mid-install ({@link #installing()})
     */
    public long appliedIndex() {
        checkNotInstalling("read the applied index");
        return appliedIndex;
    }

    /**
     * The applied index whose data the last {@link VersionedStore#flush()} (or the open) found on disk: the Paxos log
     * of this group may be truncated up to it. -1 when nothing is durable.
     */
    public long durableAppliedIndex() {
        return durableAppliedIndex;
    }

    /** Reads below this timestamp throw {@link ReadBelowRetentionException}; 0 until the first GC. */
    public long gcWatermark() {
        return gcWatermark;
    }

    /** True while a snapshot install is under way, or was left unfinished by a crash: the content is not a state. */
    public boolean installing() {
        return installingAppliedIndex != NOT_INSTALLING;
    }

    /**
     * Writes {@code mutations} and the new applied index in one atomic engine write: after a crash either both are
     * there or neither. A later mutation of the same key and timestamp (in this or a later batch) replaces an
     * earlier one.
     *
     * @param appliedIndex the index of the last log entry these mutations come from; must exceed the current one
     *                     (an entry is applied once: after a restart, replay from {@link #appliedIndex()} + 1)
     * @throws IllegalArgumentException if the index does not advance, a limit of {@link StoreLimits} is passed, or a
     *                                  mutation's timestamp is below the GC watermark
     */
    public void apply(long appliedIndex, List<Mutation> mutations) {
        apply(appliedIndex, mutations, List.of());
    }

    /**
     * {@link #apply(long, List)} with changes to the group's state area ({@link StateRow}: a put, or a delete when
     * the value is null) in the same atomic engine write. State rows count against {@code maxBatchMutations} and
     * {@code maxBatchBytes} as mutations do; their keys must be 1 to {@code maxKeyBytes} bytes and their values at
     * most {@code maxValueBytes}, so every row fits in one snapshot chunk. A later change of one state key in the
     * list replaces an earlier one.
     */
    public void apply(long appliedIndex, List<Mutation> mutations, List<StateRow> stateChanges) {
        apply(appliedIndex, List.of(), mutations, stateChanges);
    }

    /**
     * A range delete at apply time: a tombstone at {@code timestamp} for every key {@code startInclusive <= key <
     * endExclusiveOrNull} (null: to the end of the group) whose newest version at or below {@code timestamp} is live.
     * Which keys those are is this group's state at the apply, the same on every replica at the same applied index.
     */
    public record RangeTombstones(byte[] startInclusive, byte[] endExclusiveOrNull, long timestamp) {
        public RangeTombstones {
            if (startInclusive == null) {
                throw new IllegalArgumentException("a range delete needs a start (empty for the first key)");
            }
            KeyCodec.checkTimestamp(timestamp);
        }
    }

    /**
     * {@link #apply(long, List, List)} after the tombstones of {@code rangeDeletes} ({@link RangeTombstones}), all in
     * one atomic engine write; a mutation of {@code mutations} at the same key and timestamp as a tombstone replaces
     * it. The tombstones are not counted against {@code maxBatchMutations} or {@code maxBatchBytes}: their number is
     * the data's, not the command's (a range of n live keys adds n tombstones, about the key's size plus 10 bytes each,
     * to the engine write, built in memory while this group's apply waits: a million keys of 20 bytes is some 30 MB
     * and a pass over the range's versions). Range deletes must be at or above the GC watermark.
     */
    public void apply(long appliedIndex, List<RangeTombstones> rangeDeletes, List<Mutation> mutations,
                      List<StateRow> stateChanges) {
        StoreLimits limits = store.limits();
        if (mutations.size() + stateChanges.size() > limits.maxBatchMutations()) {
            throw new IllegalArgumentException("group " + groupId + ": a batch holds at most maxBatchMutations="
                    + limits.maxBatchMutations() + " mutations and state rows, was " + mutations.size()
                    + (stateChanges.isEmpty() ? "" : " + " + stateChanges.size()) + "; split it across log entries");
        }
        store.enter();
        try {
            synchronized (this) {
                checkNotInstalling("apply");
                if (appliedIndex <= this.appliedIndex) {
                    throw new IllegalArgumentException("group " + groupId + ": applied index " + appliedIndex
                            + " does not advance past " + this.appliedIndex + " (each log index is applied once; after a"
                            + " restart replay from appliedIndex() + 1)");
                }
                long bytes = 0;
                try (WriteBatch batch = new WriteBatch()) {
                    for (RangeTombstones r : rangeDeletes) {
                        if (r.timestamp() < gcWatermark) {
                            throw new IllegalArgumentException("group " + groupId + ": range delete timestamp "
                                    + r.timestamp() + " is below the GC watermark " + gcWatermark);
                        }
                        byte[] tombstone = KeyCodec.encodeValue(null);
                        forEachLive(r.startInclusive(), r.endExclusiveOrNull(), r.timestamp(), Integer.MAX_VALUE, false,
                                (k, v) -> {
                                    try {
                                        batch.put(KeyCodec.withTimestamp(KeyCodec.versionsPrefixOf(k), r.timestamp()),
                                                tombstone);
                                    } catch (RocksDBException e) {
                                        throw VersionedStore.failure("group " + groupId + ": a range delete's tombstone", e);
                                    }
                                });
                    }
                    for (Mutation m : mutations) {
                        checkMutation(m, limits);
                        bytes += m.key().length + (m.valueOrNull() == null ? 0 : m.valueOrNull().length);
                        batch.put(KeyCodec.versionKey(groupId, m.key(), m.timestamp()), KeyCodec.encodeValue(m.valueOrNull()));
                    }
                    for (StateRow r : stateChanges) {
                        checkStateRow(r, limits);
                        bytes += r.key().length + (r.valueOrNull() == null ? 0 : r.valueOrNull().length);
                        byte[] k = KeyCodec.stateKey(groupId, r.key());
                        if (r.valueOrNull() == null) {
                            batch.delete(k);
                        } else {
                            batch.put(k, r.valueOrNull());
                        }
                    }
                    if (bytes > limits.maxBatchBytes()) {
                        throw new IllegalArgumentException("group " + groupId + ": a batch holds at most maxBatchBytes="
                                + limits.maxBatchBytes() + " bytes of keys and values, was " + bytes + "; split it");
                    }
                    batch.put(appliedKey, KeyCodec.longBytes(appliedIndex));
                    store.write(batch, "group " + groupId + ": apply of index " + appliedIndex);
                } catch (RocksDBException e) {
                    throw VersionedStore.failure("group " + groupId + ": building the batch of index " + appliedIndex, e);
                }
                this.appliedIndex = appliedIndex;
            }
        } finally {
            store.exit();
        }
    }

    private void checkMutation(Mutation m, StoreLimits limits) {
        if (m.key().length > limits.maxKeyBytes()) {
            throw new IllegalArgumentException("group " + groupId + ": key of " + m.key().length
                    + " bytes exceeds maxKeyBytes=" + limits.maxKeyBytes());
        }
        if (m.valueOrNull() != null && m.valueOrNull().length > limits.maxValueBytes()) {
            throw new IllegalArgumentException("group " + groupId + ": value of " + m.valueOrNull().length
                    + " bytes exceeds maxValueBytes=" + limits.maxValueBytes());
        }
        if (m.timestamp() < gcWatermark) {
            throw new IllegalArgumentException("group " + groupId + ": mutation timestamp " + m.timestamp()
                    + " is below the GC watermark " + gcWatermark + ": versions there are no longer kept consistent;"
                    + " write at or above the watermark");
        }
    }

    private void checkStateRow(StateRow r, StoreLimits limits) {
        if (r.key().length == 0 || r.key().length > limits.maxKeyBytes()) {
            throw new IllegalArgumentException("group " + groupId + ": a state row key must be 1.." + limits.maxKeyBytes()
                    + " (maxKeyBytes) bytes, was " + r.key().length);
        }
        if (r.valueOrNull() != null && r.valueOrNull().length > limits.maxValueBytes()) {
            throw new IllegalArgumentException("group " + groupId + ": state row value of " + r.valueOrNull().length
                    + " bytes exceeds maxValueBytes=" + limits.maxValueBytes());
        }
    }

    /**
     * The rows of the group's state area with {@code startInclusive <= key < endExclusive} (unsigned byte order), in
     * key order, at most {@code limit} of them (1..maxScanRows). To page, call again from the last key + 0x00.
     *
     * @param endExclusive null for the end of the state area
     * @throws IllegalStateException if the group is mid-install
     */
    public List<StateRow> scanState(byte[] startInclusive, byte[] endExclusive, int limit) {
        if (limit <= 0 || limit > store.limits().maxScanRows()) {
            throw new IllegalArgumentException("group " + groupId + ": state scan limit must be in 1.."
                    + store.limits().maxScanRows() + " (maxScanRows), was " + limit + "; page through larger ranges");
        }
        byte[] upperKey = endExclusive == null ? stateEnd : KeyCodec.stateKey(groupId, endExclusive);
        List<StateRow> rows = new ArrayList<>();
        store.enter();
        try (ReadOptions ro = new ReadOptions(); Slice upper = new Slice(upperKey)) {
            ro.setIterateUpperBound(upper);
            try (RocksIterator it = store.db().newIterator(ro)) {
                checkNotInstalling("read its state"); // after the iterator pinned its view, as reads of the data
                for (it.seek(KeyCodec.stateKey(groupId, startInclusive)); it.isValid() && rows.size() < limit; it.next()) {
                    rows.add(new StateRow(KeyCodec.stateKeyOf(it.key()), it.value()));
                }
                it.status();
            }
        } catch (RocksDBException e) {
            throw VersionedStore.failure("group " + groupId + ": state scan", e);
        } finally {
            store.exit();
        }
        return rows;
    }

    /** The state row {@code key}'s value, or empty. */
    public Optional<byte[]> getState(byte[] key) {
        byte[] end = Arrays.copyOf(key, key.length + 1); // key + 0x00: the smallest key after it
        List<StateRow> rows = scanState(key, end, 1);
        return rows.isEmpty() ? Optional.empty() : Optional.of(rows.get(0).valueOrNull());
    }

    /**
     * The value of {@code key} at {@code readTimestamp}: its newest version at or below it, or empty if that version
     * is a tombstone or there is none.
     *
     * @throws ReadBelowRetentionException if {@code readTimestamp} is below the GC watermark
     */
    public Optional<byte[]> get(byte[] key, long readTimestamp) {
        KeyCodec.checkTimestamp(readTimestamp);
        byte[] prefix = KeyCodec.versionsPrefix(groupId, key);
        store.enter();
        try (ReadOptions ro = new ReadOptions(); Slice upper = new Slice(KeyCodec.afterVersions(prefix))) {
            ro.setIterateUpperBound(upper);
            try (RocksIterator it = store.db().newIterator(ro)) {
                checkReadable(readTimestamp); // after the iterator pinned its view: see the field comment
                it.seek(KeyCodec.withTimestamp(prefix, readTimestamp));
                if (!it.isValid()) {
                    it.status();
                    return Optional.empty();
                }
                byte[] v = it.value();
                return KeyCodec.isTombstone(v) ? Optional.empty() : Optional.of(KeyCodec.decodeValue(v));
            }
        } catch (RocksDBException e) {
            throw VersionedStore.failure("group " + groupId + ": get", e);
        } finally {
            store.exit();
        }
    }

    /**
     * The visible rows with {@code startInclusive <= key < endExclusive} at {@code readTimestamp}, in key order, at most
     * {@code limit} of them. To page, call again from the last key + 0x00 (the smallest key after it).
     *
     * @param endExclusive null for the end of the group
     * @throws ReadBelowRetentionException if {@code readTimestamp} is below the GC watermark
     */
    public List<Row> scan(byte[] startInclusive, byte[] endExclusive, long readTimestamp, int limit) {
        KeyCodec.checkTimestamp(readTimestamp);
        if (limit <= 0 || limit > store.limits().maxScanRows()) {
            throw new IllegalArgumentException("group " + groupId + ": scan limit must be in 1.." + store.limits().maxScanRows()
                    + " (maxScanRows), was " + limit + "; page through larger ranges");
        }
        List<Row> rows = new ArrayList<>();
        store.enter();
        try {
            forEachLive(startInclusive, endExclusive, readTimestamp, limit, true, (k, v) ->
                    rows.add(new Row(KeyCodec.userKeyOf(k), KeyCodec.timestampOf(k), KeyCodec.decodeValue(v))));
        } catch (RocksDBException e) {
            throw VersionedStore.failure("group " + groupId + ": scan", e);
        } finally {
            store.exit();
        }
        return rows;
    }

    /**
     * Calls {@code visit} with the stored version key and value of each key {@code startInclusive <= key <
     * endExclusiveOrNull} (null: to the end of the group) whose newest version at or below {@code readTimestamp} is
     * not a tombstone, in key order, at most {@code limit} of them. The caller holds {@code store.enter()}.
     *
     * @param checkReadable whether to refuse a read timestamp below the GC watermark (after the iterator pinned its
     *                      view: see the field comment); an apply checks its timestamps itself
     */
    private void forEachLive(byte[] startInclusive, byte[] endExclusiveOrNull, long readTimestamp, int limit,
                             boolean checkReadable, BiConsumer<byte[], byte[]> visit) throws RocksDBException {
        byte[] upperKey = endExclusiveOrNull == null ? dataEnd : KeyCodec.keyLowerBound(groupId, endExclusiveOrNull);
        int found = 0;
        try (ReadOptions ro = new ReadOptions(); Slice upper = new Slice(upperKey)) {
            ro.setIterateUpperBound(upper);
            try (RocksIterator it = store.db().newIterator(ro)) {
                if (checkReadable) {
                    checkReadable(readTimestamp);
                }
                it.seek(KeyCodec.keyLowerBound(groupId, startInclusive));
                while (it.isValid() && found < limit) {
                    byte[] k = it.key();
                    byte[] prefix = KeyCodec.versionsPrefixOf(k);
                    if (KeyCodec.timestampOf(k) > readTimestamp) {
                        it.seek(KeyCodec.withTimestamp(prefix, readTimestamp));
                        if (!it.isValid()) {
                            break;
                        }
                        k = it.key();
                        if (!startsWith(k, prefix)) {
                            continue; // no version at or below the read timestamp: k is the next key's first version
                        }
                    }
                    byte[] v = it.value();
                    if (!KeyCodec.isTombstone(v)) {
                        visit.accept(k, v);
                        found++;
                    }
                    it.seek(KeyCodec.afterVersions(prefix));
                }
                it.status();
            }
        }
    }

    /**
     * Drops the versions no read at or above {@code belowTimestamp} can see: per key, every version older than its
     * newest version at or below {@code belowTimestamp}, and that version too if it is a tombstone. Records
     * {@code belowTimestamp} as the GC watermark first (durably before any delete can be), so a read below it throws
     * instead of answering from a thinned history. A watermark at or below the current one does nothing.
     *
     * @return how many versions were deleted
     */
    public long collectGarbage(long belowTimestamp) {
        KeyCodec.checkTimestamp(belowTimestamp);
        synchronized (gcLock) {
            store.enter();
            try {
                synchronized (this) {
                    checkNotInstalling("collect garbage");
                    if (belowTimestamp <= gcWatermark) {
                        return 0;
                    }
                    try (WriteBatch batch = new WriteBatch()) {
                        batch.put(watermarkKey, KeyCodec.longBytes(belowTimestamp));
                        // Its own write, before any delete: the engine keeps a prefix of writes across a crash, so no
                        // delete is ever on disk without the watermark that makes reads below it refuse.
                        store.write(batch, "group " + groupId + ": GC watermark " + belowTimestamp);
                    } catch (RocksDBException e) {
                        throw VersionedStore.failure("group " + groupId + ": GC watermark", e);
                    }
                    gcWatermark = belowTimestamp;
                }
                return deleteBelow(belowTimestamp);
            } finally {
                store.exit();
            }
        }
    }

    private long deleteBelow(long belowTimestamp) {
        long deleted = 0;
        int gcBatchDeletes = store.limits().gcBatchDeletes();
        try (ReadOptions ro = new ReadOptions(); Slice upper = new Slice(dataEnd);
             WriteBatch batch = new WriteBatch()) {
            ro.setIterateUpperBound(upper);
            try (RocksIterator it = store.db().newIterator(ro)) {
                byte[] currentPrefix = null;
                boolean keptNewest = false;
                for (it.seek(dataStart); it.isValid(); it.next()) {
                    byte[] k = it.key();
                    if (currentPrefix == null || !startsWith(k, currentPrefix) || k.length != currentPrefix.length + KeyCodec.TIMESTAMP_BYTES) {
                        currentPrefix = KeyCodec.versionsPrefixOf(k);
                        keptNewest = false;
                    }
                    if (KeyCodec.timestampOf(k) > belowTimestamp) {
                        continue;
                    }
                    if (!keptNewest) {
                        keptNewest = true; // the version reads at belowTimestamp see: keep it unless it is a tombstone
                        if (!KeyCodec.isTombstone(it.value())) {
                            continue;
                        }
                    }
                    batch.delete(k);
                    deleted++;
                    if (batch.count() >= gcBatchDeletes) {
                        store.write(batch, "group " + groupId + ": GC below " + belowTimestamp);
                        batch.clear();
                    }
                }
                it.status();
            }
            if (batch.count() > 0) {
                store.write(batch, "group " + groupId + ": GC below " + belowTimestamp);
            }
        } catch (RocksDBException e) {
            throw VersionedStore.failure("group " + groupId + ": GC below " + belowTimestamp, e);
        }
        return deleted;
    }

    /**
     * A stream of this group's state in chunks of at most {@code maxChunkBytes} payload bytes, all read from one
     * consistent engine snapshot that also fixes the applied index the chunks carry. Close it when done (the
     * engine keeps the snapshot's versions until then).
     *
     * @param maxChunkBytes at least {@link StoreLimits#maxChunkEntryBytes()}, so any one entry fits
     */
    public SnapshotReader snapshotChunks(int maxChunkBytes) {
        int min = store.limits().maxChunkEntryBytes();
        if (maxChunkBytes < min) {
            throw new IllegalArgumentException("group " + groupId + ": maxChunkBytes must be >= " + min
                    + " (StoreLimits.maxChunkEntryBytes(): the largest key and value must fit in one chunk), was " + maxChunkBytes);
        }
        store.enter();
        try {
            return new SnapshotReader(store, this, maxChunkBytes);
        } finally {
            store.exit();
        }
    }

    /**
     * Starts replacing this group's whole content with a snapshot whose chunks carry {@code snapshotAppliedIndex}.
     * In one engine write: the install mark (so a crash from here until {@link SnapshotInstaller#finish()} reopens
     * as "installing", never as a state) and range deletes of all the group's data and state rows. A second beginInstall
     * supersedes an earlier unfinished installer.
     *
     * @throws IllegalArgumentException if {@code snapshotAppliedIndex} does not advance past the applied index
     */
    public SnapshotInstaller beginInstall(long snapshotAppliedIndex) {
        // Waits for a running GC: its deletes come from the old content and could hit versions the install writes
        // again. Lock order everywhere: gcLock, then the store's lifecycle lock, then this.
        synchronized (gcLock) {
            return beginInstallAfterGc(snapshotAppliedIndex);
        }
    }

    private SnapshotInstaller beginInstallAfterGc(long snapshotAppliedIndex) {
        store.enter();
        try {
            synchronized (this) {
                if (!installing() && snapshotAppliedIndex <= appliedIndex) {
                    throw new IllegalArgumentException("group " + groupId + ": snapshot at applied index "
                            + snapshotAppliedIndex + " does not advance past this group's " + appliedIndex
                            + "; a lagging replica installs only newer snapshots");
                }
                installingAppliedIndex = snapshotAppliedIndex; // before the write: readers that start now refuse
                try (WriteBatch batch = new WriteBatch()) {
                    batch.put(installingKey, KeyCodec.longBytes(snapshotAppliedIndex));
                    batch.deleteRange(dataStart, dataEnd);
                    batch.deleteRange(stateStart, stateEnd);
                    batch.delete(appliedKey);
                    batch.delete(watermarkKey);
                    store.write(batch, "group " + groupId + ": begin install of a snapshot at " + snapshotAppliedIndex);
                } catch (RocksDBException e) {
                    throw VersionedStore.failure("group " + groupId + ": begin install", e);
                }
                appliedIndex = -1;
                gcWatermark = 0;
                installGeneration++;
                return new SnapshotInstaller(store, this, snapshotAppliedIndex, installGeneration);
            }
        } finally {
            store.exit();
        }
    }

    /** SnapshotInstaller: write one chunk's entries if the installer is still the current one. */
    synchronized void installChunk(int generation, WriteBatch batch, String what) {
        checkGeneration(generation);
        store.write(batch, what);
    }

    /** SnapshotInstaller: the last write, setting the applied index and watermark and clearing the mark together. */
    synchronized void finishInstall(int generation, long snapshotAppliedIndex, long watermark) {
        checkGeneration(generation);
        try (WriteBatch batch = new WriteBatch()) {
            batch.put(appliedKey, KeyCodec.longBytes(snapshotAppliedIndex));
            if (watermark > 0) {
                batch.put(watermarkKey, KeyCodec.longBytes(watermark));
            }
            batch.delete(installingKey);
            store.write(batch, "group " + groupId + ": finish install at " + snapshotAppliedIndex);
        } catch (RocksDBException e) {
            throw VersionedStore.failure("group " + groupId + ": finish install", e);
        }
        appliedIndex = snapshotAppliedIndex;
        gcWatermark = watermark;
        installingAppliedIndex = NOT_INSTALLING;
    }

    private void checkGeneration(int generation) {
        if (generation != installGeneration) {
            throw new IllegalStateException("group " + groupId + ": this snapshot installer was superseded by a later"
                    + " beginInstall; only the latest one may write");
        }
    }

    byte[] dataStart() {
        return dataStart;
    }

    byte[] dataEnd() {
        return dataEnd;
    }

    byte[] stateStart() {
        return stateStart;
    }

    byte[] stateEnd() {
        return stateEnd;
    }

    byte[] appliedKey() {
        return appliedKey;
    }

    byte[] watermarkKey() {
        return watermarkKey;
    }

    byte[] installingKey() {
        return installingKey;
    }

    /** For flush: {applied index, install generation}, or null if an install is under way (one consistent read). */
    synchronized long[] flushCapture() {
        return installing() ? null : new long[]{appliedIndex, installGeneration};
    }

    /** For flush: records {@code index} as durable unless an install began since the capture; says whether it did. */
    synchronized boolean durableUpTo(long index, int capturedGeneration) {
        if (capturedGeneration != installGeneration) {
            return false;
        }
        if (index > durableAppliedIndex) {
            durableAppliedIndex = index;
        }
        return true;
    }

    private void checkReadable(long readTimestamp) {
        checkNotInstalling("read");
        long w = gcWatermark;
        if (readTimestamp < w) {
            throw new ReadBelowRetentionException(groupId, readTimestamp, w);
        }
    }

    private void checkNotInstalling(String what) {
        long i = installingAppliedIndex;
        if (i != NOT_INSTALLING) {
            throw new IllegalStateException("group " + groupId + ": cannot " + what + ": a snapshot install (applied index "
                    + i + ") is under way or was interrupted by a crash; its content is not a state of the group."
                    + " Finish it, or begin a new install");
        }
    }

    static boolean startsWith(byte[] b, byte[] prefix) {
        return b.length >= prefix.length && Arrays.equals(b, 0, prefix.length, prefix, 0, prefix.length);
    }

    @Override
    public String toString() {
        return "GroupStore[" + groupId + ", applied " + appliedIndex + ", durable " + durableAppliedIndex
                + ", watermark " + gcWatermark + (installing() ? ", installing " + installingAppliedIndex : "") + "]";
    }
}
