package io.gnomon.paxos.store;

/**
 * A read asked for a timestamp older than what garbage collection kept: the answer might be wrong, so there is
 * none. Retry at or above {@link #gcWatermark()} (a newer read timestamp), or raise the retention.
 */
public final class ReadBelowRetentionException extends RuntimeException {
    private final long readTimestamp;
    private final long gcWatermark;

    ReadBelowRetentionException(long groupId, long readTimestamp, long gcWatermark) {
        super("group " + groupId + ": read timestamp " + readTimestamp + " is older than the version retention (watermark "
                + gcWatermark + "): read at or above " + gcWatermark);
        this.readTimestamp = readTimestamp;
        this.gcWatermark = gcWatermark;
    }

    public long readTimestamp() {
        return readTimestamp;
    }

    public long gcWatermark() {
        return gcWatermark;
    }
}
