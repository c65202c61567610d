package io.gnomon.clockd.select;

/** Where a source runtime delivers what it observes; implemented by the daemon, which feeds the estimator. */
public interface SourceListener {
    /** A valid measurement from source {@code sourceName}. */
    void onMeasurement(String sourceName, Measurement measurement);

    /**
     * The exchange with {@code sourceName} ended without a measurement, and why; {@code detail} is for the log.
     * Each request a source sends ends in exactly one {@link #onMeasurement} or one {@code onRejected}.
     */
    void onRejected(String sourceName, RejectReason reason, String detail);

    /**
     * A datagram from {@code sourceName}'s address that ends no exchange: a late or duplicated reply, or one that
     * failed a check made before its origin was verified while the real reply also came. Not a rejected sample:
     * it may not come from the source at all.
     */
    default void onStrayDatagram(String sourceName, RejectReason reason, String detail) {
    }

    /** {@code sourceName}'s condition changed (resolved, backed off, stopped); {@code detail} says why, in words. */
    default void onCondition(String sourceName, SourceCondition condition, String detail) {
    }

    /**
     * {@code sourceName} announces a leap second at the end of the UTC day that contains
     * {@code sourceEpochNanos} (its own time): inserted if {@code insert}, else deleted.
     */
    default void onLeapAnnounced(String sourceName, boolean insert, long sourceEpochNanos) {
    }
}
