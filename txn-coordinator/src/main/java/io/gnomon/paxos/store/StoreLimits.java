package io.gnomon.paxos.store;

/**
 * Every bound the versioned store enforces, in one place. A call past a limit is refused with an
 * {@link IllegalArgumentException} naming the limit, the value and what to do.
 *
 * @param maxKeyBytes           largest user key, in bytes
 * @param maxValueBytes         largest value, in bytes
 * @param maxBatchMutations     most mutations in one {@link GroupStore#apply}
 * @param maxBatchBytes         largest sum of key and value sizes in one {@link GroupStore#apply}
 * @param maxScanRows           largest {@code limit} a {@link GroupStore#scan} accepts
 * @param gcBatchDeletes        deletes per engine write while garbage collecting (bounds a GC write's size)
 * @param writeBufferBytes      RocksDB memtable size: how much unflushed data a crash may lose (the Paxos log
 *                              replays it), and how much memory each of up to {@link #maxWriteBuffers} holds
 * @param maxWriteBuffers       RocksDB max_write_buffer_number
 */
public record StoreLimits(int maxKeyBytes, int maxValueBytes, int maxBatchMutations, long maxBatchBytes,
                          int maxScanRows, int gcBatchDeletes, long writeBufferBytes, int maxWriteBuffers) {

    /** 4 KiB keys, 1 MiB values, 10,000 mutations and 64 MiB per batch, 10,000 scan rows, 64 MiB memtables x 3. */
    public static final StoreLimits DEFAULTS =
            new StoreLimits(4 << 10, 1 << 20, 10_000, 64L << 20, 10_000, 10_000, 64L << 20, 3);

    public StoreLimits {
        positive("maxKeyBytes", maxKeyBytes);
        positive("maxValueBytes", maxValueBytes);
        positive("maxBatchMutations", maxBatchMutations);
        positive("maxBatchBytes", maxBatchBytes);
        positive("maxScanRows", maxScanRows);
        positive("gcBatchDeletes", gcBatchDeletes);
        if (writeBufferBytes < 64 << 10) {
            throw new IllegalArgumentException("writeBufferBytes must be >= 65536, was " + writeBufferBytes);
        }
        if (maxWriteBuffers < 2) {
            throw new IllegalArgumentException("maxWriteBuffers must be >= 2 (one filling, one flushing), was " + maxWriteBuffers);
        }
        if (maxKeyBytes + (long) maxValueBytes > maxBatchBytes) {
            throw new IllegalArgumentException("maxKeyBytes + maxValueBytes (" + (maxKeyBytes + (long) maxValueBytes)
                    + ") must be <= maxBatchBytes (" + maxBatchBytes + "): one mutation must fit in a batch");
        }
    }

    /** The largest snapshot chunk entry these limits allow: the smallest maxChunkBytes a snapshot stream takes. */
    public int maxChunkEntryBytes() {
        // [int][space + escaped key: at most 2 bytes per byte + terminator + timestamp][int][tag + value]
        // (a state row, [int][space + key][int][value], is smaller)
        return 4 + 1 + 2 * maxKeyBytes + 2 + KeyCodec.TIMESTAMP_BYTES + 4 + 1 + maxValueBytes;
    }

    /** These limits with {@code writeBufferBytes} replaced (checked like the constructor). */
    public StoreLimits withWriteBufferBytes(long bytes) {
        return new StoreLimits(maxKeyBytes, maxValueBytes, maxBatchMutations, maxBatchBytes, maxScanRows,
                gcBatchDeletes, bytes, maxWriteBuffers);
    }

    /** These limits with {@code maxValueBytes} replaced (checked like the constructor). */
    public StoreLimits withMaxValueBytes(int bytes) {
        return new StoreLimits(maxKeyBytes, bytes, maxBatchMutations, maxBatchBytes, maxScanRows, gcBatchDeletes,
                writeBufferBytes, maxWriteBuffers);
    }

    /** These limits with {@code maxKeyBytes} replaced (checked like the constructor). */
    public StoreLimits withMaxKeyBytes(int bytes) {
        return new StoreLimits(bytes, maxValueBytes, maxBatchMutations, maxBatchBytes, maxScanRows, gcBatchDeletes,
                writeBufferBytes, maxWriteBuffers);
    }

    /** These limits with {@code gcBatchDeletes} replaced (checked like the constructor). */
    public StoreLimits withGcBatchDeletes(int deletes) {
        return new StoreLimits(maxKeyBytes, maxValueBytes, maxBatchMutations, maxBatchBytes, maxScanRows, deletes,
                writeBufferBytes, maxWriteBuffers);
    }

    private static void positive(String name, long value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + " must be > 0, was " + value);
        }
    }
}
