package io.gnomon.paxos.storage;

/**
 * Every bound the durable log enforces, in one place. A call past a limit is refused with an
 * {@link IllegalArgumentException} naming the limit, the value and what to do.
 *
 * @param maxEntryValueBytes  largest {@link DurableLog.Entry#value()}, in bytes
 * @param maxBatchEntries     most entries in one {@link DurableLog#persistAccepted} call
 * @param maxBatchValueBytes  largest sum of value sizes in one {@link DurableLog#persistAccepted} call
 * @param maxSnapshotBytes    largest {@code state.length + membership.length} of a {@link DurableLog.Snapshot}
 */
public record LogLimits(int maxEntryValueBytes, int maxBatchEntries, int maxBatchValueBytes, int maxSnapshotBytes) {

    /** 1 MiB values, 1024 entries and 16 MiB of values per batch, 16 MiB snapshots. */
    public static final LogLimits DEFAULTS = new LogLimits(1 << 20, 1024, 16 << 20, 16 << 20);

    /** Hard ceiling of any one record: Chronicle documents must stay well under its block size. */
    static final int MAX_RECORD_BYTES = 256 << 20;

    public LogLimits {
        positive("maxEntryValueBytes", maxEntryValueBytes);
        positive("maxBatchEntries", maxBatchEntries);
        positive("maxBatchValueBytes", maxBatchValueBytes);
        positive("maxSnapshotBytes", maxSnapshotBytes);
        if (maxEntryValueBytes > maxBatchValueBytes) {
            throw new IllegalArgumentException("maxEntryValueBytes (" + maxEntryValueBytes
                    + ") must be <= maxBatchValueBytes (" + maxBatchValueBytes + "): one entry must fit in a batch");
        }
        if ((long) maxBatchValueBytes + (long) maxBatchEntries * RecordCodec.ENTRY_OVERHEAD_BYTES > MAX_RECORD_BYTES
                || maxSnapshotBytes > MAX_RECORD_BYTES - 64) {
            throw new IllegalArgumentException("a batch or a snapshot may be at most " + MAX_RECORD_BYTES
                    + " bytes, was maxBatchValueBytes=" + maxBatchValueBytes + ", maxBatchEntries=" + maxBatchEntries
                    + ", maxSnapshotBytes=" + maxSnapshotBytes + "; split larger state into chunks");
        }
    }

    private static void positive(String name, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + " must be > 0, was " + value);
        }
    }

    /** The largest record these limits allow, in bytes: sizes the Chronicle block. */
    long maxRecordBytes() {
        long batch = (long) maxBatchValueBytes + (long) maxBatchEntries * RecordCodec.ENTRY_OVERHEAD_BYTES;
        long snapshot = (long) maxSnapshotBytes + RecordCodec.SNAPSHOT_OVERHEAD_BYTES;
        return Math.max(batch, snapshot) + RecordCodec.FRAME_OVERHEAD_BYTES;
    }
}
