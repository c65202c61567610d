package io.gnomon.paxos.wal;

import io.gnomon.paxos.storage.SyncPolicy;

import java.util.Objects;

/**
 * The bounds and the sync policy of a {@link ProcessLog}, in one place.
 *
 * @param syncPolicy    {@link SyncPolicy#SYNC_EACH_BATCH}: {@link ProcessLog#sync()} forces every byte written since
 *                      the last sync ({@code FileChannel.force(false)}, plus the directory for a new segment);
 *                      {@link SyncPolicy#NONE}: it does nothing (survives kill -9, not power loss)
 * @param segmentBytes  a segment rolls when the next frame would take it past this many bytes (one frame larger
 *                      than this still goes into a segment of its own)
 * @param maxFrameBytes largest frame (header included); a write or checkpoint that would encode to more is refused,
 *                      and a frame header claiming more is corruption, never an allocation
 */
public record ProcessLogOptions(SyncPolicy syncPolicy, long segmentBytes, int maxFrameBytes) {

    /** Every segment starts with a header of this many bytes (magic and version). */
    static final int SEGMENT_HEADER_BYTES = 16;
    /**
     * The current segment is extended with zeros this many bytes at a time (at most to {@link #segmentBytes}) ahead
     * of its frames, so that a sync between two extensions forces data only.
     */
    static final long PREALLOCATE_BYTES = 4L << 20;
    /** Upper bound of {@link #segmentBytes}: a segment plus one frame must stay below 2 GiB (it is mapped to scan). */
    static final long MAX_SEGMENT_BYTES = 1L << 30;
    /** Upper bound of {@link #maxFrameBytes}. */
    static final int MAX_FRAME_BYTES = 256 << 20;
    /** Smallest {@link #maxFrameBytes}: room for any fixed-size record. */
    static final int MIN_FRAME_BYTES = 256;

    /** Sync each batch, 64 MiB segments, 64 MiB frames. */
    public static final ProcessLogOptions DEFAULTS = new ProcessLogOptions(SyncPolicy.SYNC_EACH_BATCH, 64L << 20, 64 << 20);

    public ProcessLogOptions {
        Objects.requireNonNull(syncPolicy, "syncPolicy");
        if (segmentBytes <= SEGMENT_HEADER_BYTES || segmentBytes > MAX_SEGMENT_BYTES) {
            throw new IllegalArgumentException("segmentBytes must be in (" + SEGMENT_HEADER_BYTES + ", "
                    + MAX_SEGMENT_BYTES + "], was " + segmentBytes);
        }
        if (maxFrameBytes < MIN_FRAME_BYTES || maxFrameBytes > MAX_FRAME_BYTES) {
            throw new IllegalArgumentException("maxFrameBytes must be in [" + MIN_FRAME_BYTES + ", " + MAX_FRAME_BYTES
                    + "], was " + maxFrameBytes);
        }
    }

    public ProcessLogOptions withSyncPolicy(SyncPolicy policy) {
        return new ProcessLogOptions(policy, segmentBytes, maxFrameBytes);
    }

    public ProcessLogOptions withSegmentBytes(long bytes) {
        return new ProcessLogOptions(syncPolicy, bytes, maxFrameBytes);
    }
}
