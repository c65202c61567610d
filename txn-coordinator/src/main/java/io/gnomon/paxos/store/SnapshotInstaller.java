package io.gnomon.paxos.store;

import org.rocksdb.RocksDBException;
import org.rocksdb.WriteBatch;

import java.nio.ByteBuffer;

/**
 * The receiving side of a snapshot stream: {@link GroupStore#beginInstall} (marks the group installing and drops
 * its content, in one write), {@link #add} for every chunk in order, {@link #finish()} (applied index, GC watermark
 * and the cleared mark in one write). A crash before finish reopens the group as installing
 * ({@link VersionedStore#groupsWithIncompleteInstall()}); begin again with a fresh stream.
 *
 * <pre>{@code
 * try (SnapshotReader chunks = source.group(7).snapshotChunks(1 << 20)) {
 *     SnapshotInstaller in = target.group(7).beginInstall(chunks.appliedIndex());
 *     while (chunks.hasNext()) in.add(chunks.next());
 *     in.finish();
 * }
 * }</pre>
 */
public final class SnapshotInstaller {
    private final VersionedStore store;
    private final GroupStore group;
    private final long snapshotAppliedIndex;
    private final int generation;
    private int nextSequence;
    private long gcWatermark;
    private boolean lastAdded;
    private boolean finished;

    SnapshotInstaller(VersionedStore store, GroupStore group, long snapshotAppliedIndex, int generation) {
        this.store = store;
        this.group = group;
        this.snapshotAppliedIndex = snapshotAppliedIndex;
        this.generation = generation;
    }

    /**
     * Writes one chunk's entries (one engine write per chunk).
     *
     * @throws IllegalArgumentException if the chunk is out of order, of another snapshot, or malformed
     */
    public void add(SnapshotChunk chunk) {
        long g = group.groupId();
        if (finished || lastAdded) {
            throw new IllegalStateException("group " + g + ": the snapshot's last chunk was already added");
        }
        if (chunk.appliedIndex() != snapshotAppliedIndex) {
            throw new IllegalArgumentException("group " + g + ": chunk of a snapshot at applied index " + chunk.appliedIndex()
                    + ", this install is of " + snapshotAppliedIndex + "; restart the install with one stream");
        }
        if (chunk.sequence() != nextSequence) {
            throw new IllegalArgumentException("group " + g + ": chunk " + chunk.sequence() + " arrived, expected chunk "
                    + nextSequence + "; chunks must come in order, each once (restart the install on a gap)");
        }
        if (nextSequence > 0 && chunk.gcWatermark() != gcWatermark) {
            throw new IllegalArgumentException("group " + g + ": chunk " + chunk.sequence() + " carries GC watermark "
                    + chunk.gcWatermark() + ", earlier chunks " + gcWatermark);
        }
        store.enter();
        try (WriteBatch batch = new WriteBatch()) {
            ByteBuffer p = ByteBuffer.wrap(chunk.payload());
            while (p.hasRemaining()) {
                byte[] suffix = take(p, chunk);
                byte[] value = take(p, chunk);
                checkEntry(g, chunk, suffix, value);
                batch.put(KeyCodec.fromSnapshotKey(g, suffix), value);
            }
            group.installChunk(generation, batch, "group " + g + ": install chunk " + chunk.sequence());
        } catch (RocksDBException e) {
            throw VersionedStore.failure("group " + g + ": install chunk " + chunk.sequence(), e);
        } finally {
            store.exit();
        }
        gcWatermark = chunk.gcWatermark();
        nextSequence++;
        lastAdded = chunk.last();
    }

    /** A chunk from the network may be damaged: refuse it whole rather than write keys outside the layout. */
    private static void checkEntry(long g, SnapshotChunk chunk, byte[] suffix, byte[] value) {
        try {
            if (suffix.length == 0) {
                throw new IllegalStateException("empty entry key");
            }
            if (suffix[0] == KeyCodec.GROUP_STATE) {
                if (suffix.length < 2) {
                    throw new IllegalStateException("state row without a key");
                }
                return;
            }
            if (suffix[0] != KeyCodec.GROUP_DATA) {
                throw new IllegalStateException("entry of unknown key space " + (suffix[0] & 0xFF)
                        + " (a snapshot of another format?)");
            }
            if (suffix.length < 1 + 2 + KeyCodec.TIMESTAMP_BYTES || value.length == 0) {
                throw new IllegalStateException("entry too short");
            }
            KeyCodec.unescape(suffix, 1, suffix.length - KeyCodec.TIMESTAMP_BYTES);
            KeyCodec.checkTimestamp(KeyCodec.timestampOf(suffix));
            KeyCodec.isTombstone(value);
        } catch (IllegalStateException | IllegalArgumentException e) {
            throw new IllegalArgumentException("group " + g + ": chunk " + chunk.sequence()
                    + " holds a malformed entry (" + e.getMessage() + "); nothing of it was written, restart the install", e);
        }
    }

    private static byte[] take(ByteBuffer p, SnapshotChunk chunk) {
        if (p.remaining() < 4) {
            throw new IllegalArgumentException("chunk " + chunk.sequence() + " is truncated (a length is cut off)");
        }
        int n = p.getInt();
        if (n < 0 || n > p.remaining()) {
            throw new IllegalArgumentException("chunk " + chunk.sequence() + " is truncated (length " + n + ", "
                    + p.remaining() + " bytes left)");
        }
        byte[] b = new byte[n];
        p.get(b);
        return b;
    }

    /**
     * Sets the group's applied index to the snapshot's, adopts its GC watermark and clears the install mark, in one
     * write. Not durable until the next {@link VersionedStore#flush()}.
     *
     * @throws IllegalStateException if the last chunk has not been added
     */
    public void finish() {
        if (!lastAdded) {
            throw new IllegalStateException("group " + group.groupId() + ": finish before the last chunk (added "
                    + nextSequence + " chunks): the content would be part of a state");
        }
        if (finished) {
            return;
        }
        store.enter();
        try {
            group.finishInstall(generation, snapshotAppliedIndex, gcWatermark);
        } finally {
            store.exit();
        }
        finished = true;
    }
}
