package io.gnomon.paxos.store;

import org.rocksdb.FlushOptions;
import org.rocksdb.Options;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.Slice;
import org.rocksdb.Status;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The multi-version state of every Paxos group of one process, in one RocksDB instance (issue 19). Groups are
 * separated by key prefix ({@link #group} is a cheap view); docs/versioned-store.md has the key layout, the
 * durability contract and the snapshot protocol.
 *
 * <p>Durability: the Paxos log is the write-ahead log, so RocksDB's own WAL is off. A write lands in the memtable;
 * a crash loses the newest writes together with the applied index they carried, and only a suffix of them
 * (the engine flushes memtables oldest first), so every group reopens at an applied index whose data is entirely
 * there and nothing beyond it. {@link #flush()} makes everything durable and says, per group, up to which
 * applied index the Paxos log may now be truncated.
 *
 * <pre>{@code
 * try (VersionedStore store = VersionedStore.open(dir, StoreLimits.DEFAULTS)) {
 *     GroupStore g = store.group(7);
 *     g.apply(g.appliedIndex() + 1, List.of(Mutation.put(key, commitTs, value)));
 *     Optional<byte[]> v = g.get(key, readTs);
 *     Map<Long, Long> truncateUpTo = store.flush();
 * }
 * }</pre>
 * Thread-safe: any thread may read; one thread at a time should apply to a given group (apply is serialized per
 * group anyway).
 */
public final class VersionedStore implements AutoCloseable {
    static {
        RocksDB.loadLibrary();
    }

    /** Bumped when the layout in {@link KeyCodec} changes; a store of another version refuses to open. */
    static final int FORMAT_VERSION = 1;
    private static final byte[] FORMAT_KEY = concat(new byte[]{KeyCodec.STORE_META}, "format".getBytes(StandardCharsets.US_ASCII));

    private final Path directory;
    private final StoreLimits limits;
    private final Options options;
    private final RocksDB db;
    final WriteOptions writeOptions;
    private final ConcurrentHashMap<Long, GroupStore> groups = new ConcurrentHashMap<>();
    private final Set<SnapshotReader> openReaders = ConcurrentHashMap.newKeySet();
    /** Operations hold the read side; close holds the write side, so nothing touches a closed native handle. */
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private final Object flushLock = new Object();
    private boolean closed;

    private VersionedStore(Path directory, StoreLimits limits, Options options, RocksDB db) {
        this.directory = directory;
        this.limits = limits;
        this.options = options;
        this.db = db;
        this.writeOptions = new WriteOptions().setDisableWAL(true).setSync(false);
    }

    /**
     * Opens the store in {@code directory}, creating it if absent.
     *
     * @throws StoreOpenException {@link StoreOpenException.Reason#LOCKED} if another process (or another open store
     *                            in this one) holds the directory, {@link StoreOpenException.Reason#CORRUPT} if its
     *                            files are damaged or of an unknown format, OTHER for anything else
     */
    public static VersionedStore open(Path directory, StoreLimits limits) throws StoreOpenException {
        try {
            Files.createDirectories(directory);
        } catch (IOException e) {
            throw new StoreOpenException(StoreOpenException.Reason.OTHER, directory,
                    "cannot create store directory " + directory + ": " + e, e);
        }
        Options options = new Options()
                .setCreateIfMissing(true)
                .setWriteBufferSize(limits.writeBufferBytes())
                .setMaxWriteBufferNumber(limits.maxWriteBuffers())
                // with the WAL off, data still in memtables at close would be lost: close flushes
                .setAvoidFlushDuringShutdown(false)
                // RocksDB promises that a WAL-less crash recovers a prefix of the writes only with atomic flush
                // (facebook/rocksdb#9338: its crash tests enable it whenever the WAL is off). With one column
                // family it changes no data layout; it is the configuration that guarantee is tested under.
                .setAtomicFlush(true)
                .setParanoidChecks(true);
        RocksDB db;
        try {
            db = RocksDB.open(options, directory.toString());
        } catch (RocksDBException e) {
            options.close();
            throw classify(directory, e);
        }
        VersionedStore store = new VersionedStore(directory, limits, options, db);
        try {
            store.checkFormat();
            store.loadGroups();
        } catch (StoreOpenException | RuntimeException e) {
            store.closeQuietly();
            throw e;
        }
        return store;
    }

    private static StoreOpenException classify(Path directory, RocksDBException e) {
        String msg = String.valueOf(e.getMessage());
        Status.Code code = e.getStatus() == null ? null : e.getStatus().getCode();
        if (msg.contains("lock hold by current process") || msg.contains("LOCK: Resource temporarily unavailable")
                || msg.contains("While lock file")) {
            return new StoreOpenException(StoreOpenException.Reason.LOCKED, directory, "store directory " + directory
                    + " is locked by another open store (RocksDB LOCK file held, in this or another process): close it"
                    + " first, or use another directory (" + msg + ")", e);
        }
        if (code == Status.Code.Corruption || msg.contains("orruption") || msg.contains("CURRENT")
                || msg.contains("MANIFEST")) {
            return new StoreOpenException(StoreOpenException.Reason.CORRUPT, directory, "store directory " + directory
                    + " is corrupt (" + msg + "): restore it from a replica's snapshot into an empty directory", e);
        }
        return new StoreOpenException(StoreOpenException.Reason.OTHER, directory, "cannot open store directory "
                + directory + ": " + msg, e);
    }

    private void checkFormat() throws StoreOpenException {
        try {
            byte[] v = db.get(FORMAT_KEY);
            if (v == null) {
                try (RocksIterator it = db.newIterator()) {
                    it.seekToFirst();
                    if (it.isValid()) {
                        throw new StoreOpenException(StoreOpenException.Reason.CORRUPT, directory, "store directory "
                                + directory + " holds RocksDB data but no Gnomon format version: not a versioned store", null);
                    }
                }
                db.put(writeOptions, FORMAT_KEY, KeyCodec.longBytes(FORMAT_VERSION));
                try (FlushOptions f = new FlushOptions().setWaitForFlush(true)) {
                    db.flush(f);
                }
            } else if (v.length != 8 || KeyCodec.getLong(v, 0) != FORMAT_VERSION) {
                throw new StoreOpenException(StoreOpenException.Reason.CORRUPT, directory, "store directory " + directory
                        + " has format version " + (v.length == 8 ? KeyCodec.getLong(v, 0) : "(" + v.length + " bytes)")
                        + ", this build reads " + FORMAT_VERSION, null);
            }
        } catch (RocksDBException e) {
            throw classify(directory, e);
        }
    }

    /** Every group with metadata: its applied index, watermark and install mark; what is on disk is durable. */
    private void loadGroups() {
        byte[] start = {KeyCodec.GROUP_META};
        byte[] end = {KeyCodec.GROUP_META + 1};
        try (ReadOptions ro = new ReadOptions(); Slice upper = new Slice(end)) {
            ro.setIterateUpperBound(upper);
            try (RocksIterator it = db.newIterator(ro)) {
                for (it.seek(start); it.isValid(); it.next()) {
                    byte[] k = it.key();
                    if (k.length != KeyCodec.GROUP_PREFIX_BYTES + 1) {
                        throw new IllegalStateException("malformed group metadata key of " + k.length + " bytes in " + directory);
                    }
                    long groupId = KeyCodec.groupIdOf(k);
                    long v = KeyCodec.getLong(it.value(), 0);
                    GroupStore g = groups.computeIfAbsent(groupId, id -> new GroupStore(this, id));
                    g.loadMeta(k[KeyCodec.GROUP_PREFIX_BYTES], v);
                }
                it.status();
            }
        } catch (RocksDBException e) {
            throw failure("loading group metadata from " + directory, e);
        }
    }

    /** The view of one group (created on first use; cheap: no thread, file or column family of its own). */
    public GroupStore group(long groupId) {
        KeyCodec.checkGroupId(groupId);
        return groups.computeIfAbsent(groupId, id -> new GroupStore(this, id));
    }

    /** Groups that hold metadata or were asked for, in id order. */
    public SortedSet<Long> groupIds() {
        return Collections.unmodifiableSortedSet(new TreeSet<>(groups.keySet()));
    }

    /**
     * Groups marked as installing a snapshot: a crash (or an abandoned installer) left them mid-install. Their
     * content is not a state of the group; reads and applies refuse until a new install finishes.
     */
    public SortedSet<Long> groupsWithIncompleteInstall() {
        TreeSet<Long> ids = new TreeSet<>();
        groups.forEach((id, g) -> {
            if (g.installing()) {
                ids.add(id);
            }
        });
        return Collections.unmodifiableSortedSet(ids);
    }

    /**
     * Makes every write so far durable (flushes the memtables to SST files and syncs them), then returns, per group
     * not mid-install, its applied index now on disk: the Paxos log of that group may be truncated up to it. Blocks
     * until the flush is done (which may take a while on a loaded disk); applies continue meanwhile.
     */
    public SortedMap<Long, Long> flush() {
        enter();
        try {
            synchronized (flushLock) {
                // Capture before flushing: everything an apply wrote before its index was published is in a memtable
                // this flush covers. Writes racing with the flush may become durable too; they are just not reported.
                TreeMap<Long, Long> captured = new TreeMap<>();
                Map<Long, Integer> generations = new java.util.HashMap<>();
                groups.forEach((id, g) -> {
                    long[] indexAndGeneration = g.flushCapture();
                    if (indexAndGeneration != null) {
                        captured.put(id, indexAndGeneration[0]);
                        generations.put(id, (int) indexAndGeneration[1]);
                    }
                });
                try (FlushOptions f = new FlushOptions().setWaitForFlush(true)) {
                    db.flush(f);
                } catch (RocksDBException e) {
                    throw failure("flushing " + directory, e);
                }
                // A group whose install began while we flushed may have lost its old data on disk: promise nothing.
                captured.entrySet().removeIf(e -> !groups.get(e.getKey()).durableUpTo(e.getValue(), generations.get(e.getKey())));
                return Collections.unmodifiableSortedMap(captured);
            }
        } finally {
            exit();
        }
    }

    public Path directory() {
        return directory;
    }

    public StoreLimits limits() {
        return limits;
    }

    /** Bytes of SST files on disk (RocksDB's estimate), for reports and tests. */
    public long liveDataBytes() {
        enter();
        try {
            return db.getLongProperty("rocksdb.live-sst-files-size");
        } catch (RocksDBException e) {
            throw failure("reading rocksdb.live-sst-files-size", e);
        } finally {
            exit();
        }
    }

    /** Flushes (so nothing written is lost), closes open snapshot streams, and releases the directory. */
    @Override
    public void close() {
        lifecycle.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            for (SnapshotReader r : openReaders.toArray(new SnapshotReader[0])) {
                r.closeHandles();
            }
            openReaders.clear();
            try (FlushOptions f = new FlushOptions().setWaitForFlush(true)) {
                db.flush(f);
            } catch (RocksDBException e) {
                throw failure("flushing " + directory + " on close", e);
            } finally {
                closed = true;
                db.close();
                writeOptions.close();
                options.close();
            }
        } finally {
            lifecycle.writeLock().unlock();
        }
    }

    private void closeQuietly() {
        closed = true;
        db.close();
        writeOptions.close();
        options.close();
    }

    // ---- for GroupStore, SnapshotReader and SnapshotInstaller ----

    RocksDB db() {
        return db;
    }

    void enter() {
        lifecycle.readLock().lock();
        if (closed) {
            lifecycle.readLock().unlock();
            throw new IllegalStateException("versioned store " + directory + " is closed");
        }
    }

    void exit() {
        lifecycle.readLock().unlock();
    }

    void register(SnapshotReader r) {
        openReaders.add(r);
    }

    void unregister(SnapshotReader r) {
        openReaders.remove(r);
    }

    void write(WriteBatch batch, String what) {
        try {
            db.write(writeOptions, batch);
        } catch (RocksDBException e) {
            throw failure(what, e);
        }
    }

    static UncheckedIOException failure(String what, RocksDBException e) {
        return new UncheckedIOException(new IOException(what + " failed: " + e.getMessage()
                + (e.getStatus() == null ? "" : " (" + e.getStatus().getCodeString() + ")"), e));
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    @Override
    public String toString() {
        return "VersionedStore[" + directory + ", " + groups.size() + " groups]";
    }

    /** For tests: the in-memory map of views (package-private). */
    Map<Long, GroupStore> groupsView() {
        return Collections.unmodifiableMap(groups);
    }
}
