package io.gnomon.paxos.store;

import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.Slice;
import org.rocksdb.Snapshot;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * The chunks of one group's state, read lazily from one RocksDB snapshot: memory is one chunk at a time, whatever
 * the state's size. The group's versioned data comes first, then its state rows ({@link StateRow}). Every chunk
 * carries the applied index and GC watermark the snapshot saw. Not thread-safe;
 * close it (closing the store closes it too).
 */
public final class SnapshotReader implements Iterator<SnapshotChunk>, AutoCloseable {
    private final VersionedStore store;
    private final long groupId;
    private final int maxChunkBytes;
    private final Snapshot snapshot;
    private final ReadOptions readOptions;
    private final Slice upper;
    private final RocksIterator it;
    private final byte[] dataEnd;
    private final byte[] stateStart;
    /** False while the iterator walks the group's data, true once it walks the group's state rows. */
    private boolean inState;
    private final long appliedIndex;
    private final long gcWatermark;
    private int sequence;
    private boolean lastEmitted;
    private boolean closed;

    SnapshotReader(VersionedStore store, GroupStore group, int maxChunkBytes) {
        this.store = store;
        this.groupId = group.groupId();
        this.maxChunkBytes = maxChunkBytes;
        this.snapshot = store.db().getSnapshot();
        this.readOptions = new ReadOptions().setSnapshot(snapshot);
        this.upper = new Slice(group.stateEnd());
        this.dataEnd = group.dataEnd();
        this.stateStart = group.stateStart();
        readOptions.setIterateUpperBound(upper);
        try {
            // Metadata read from the same snapshot as the data: the applied index covers exactly these chunks.
            if (store.db().get(readOptions, group.installingKey()) != null) {
                throw new IllegalStateException("group " + groupId + ": cannot stream a snapshot while the group is"
                        + " mid-install: its content is not a state");
            }
            byte[] a = store.db().get(readOptions, group.appliedKey());
            byte[] w = store.db().get(readOptions, group.watermarkKey());
            this.appliedIndex = a == null ? -1 : KeyCodec.getLong(a, 0);
            this.gcWatermark = w == null ? 0 : KeyCodec.getLong(w, 0);
        } catch (RocksDBException | RuntimeException e) {
            readOptions.close();
            upper.close();
            store.db().releaseSnapshot(snapshot);
            if (e instanceof RocksDBException r) {
                throw VersionedStore.failure("group " + groupId + ": opening a snapshot", r);
            }
            throw (RuntimeException) e;
        }
        this.it = store.db().newIterator(readOptions);
        it.seek(group.dataStart());
        store.register(this);
    }

    /** The applied index the whole stream covers. */
    public long appliedIndex() {
        return appliedIndex;
    }

    @Override
    public boolean hasNext() {
        return !lastEmitted;
    }

    @Override
    public SnapshotChunk next() {
        if (lastEmitted) {
            throw new NoSuchElementException("group " + groupId + ": the snapshot stream ended after " + sequence + " chunks");
        }
        store.enter();
        try {
            if (closed) {
                throw new IllegalStateException("group " + groupId + ": snapshot stream is closed");
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream(Math.min(maxChunkBytes, 1 << 16));
            ByteBuffer lengths = ByteBuffer.allocate(4);
            while (it.isValid()) {
                byte[] key = it.key();
                if (!inState && Arrays.compareUnsigned(key, dataEnd) >= 0) {
                    inState = true; // the data is done; skip other groups' keys to this group's state rows
                    it.seek(stateStart);
                    continue;
                }
                byte[] suffix = KeyCodec.snapshotKeyOf(key);
                byte[] value = it.value();
                int entryBytes = 8 + suffix.length + value.length;
                if (out.size() + entryBytes > maxChunkBytes) {
                    assert out.size() > 0 : "maxChunkBytes >= maxChunkEntryBytes admits any one entry";
                    break;
                }
                out.write(lengths.putInt(0, suffix.length).array(), 0, 4);
                out.writeBytes(suffix);
                out.write(lengths.putInt(0, value.length).array(), 0, 4);
                out.writeBytes(value);
                it.next();
            }
            it.status();
            boolean last = !it.isValid();
            lastEmitted = last;
            SnapshotChunk chunk = new SnapshotChunk(groupId, appliedIndex, gcWatermark, sequence++, last, out.toByteArray());
            if (last) {
                closeHandles();
            }
            return chunk;
        } catch (RocksDBException e) {
            throw VersionedStore.failure("group " + groupId + ": reading snapshot chunk " + sequence, e);
        } finally {
            store.exit();
        }
    }

    @Override
    public void close() {
        try {
            store.enter();
        } catch (IllegalStateException closedStore) {
            return; // the store's close released the handles already
        }
        try {
            closeHandles();
        } finally {
            store.exit();
        }
    }

    /** Releases the iterator and the engine snapshot; idempotent. The store calls it on close. */
    synchronized void closeHandles() {
        if (closed) {
            return;
        }
        closed = true;
        it.close();
        readOptions.close();
        upper.close();
        store.db().releaseSnapshot(snapshot);
        store.unregister(this);
    }
}
