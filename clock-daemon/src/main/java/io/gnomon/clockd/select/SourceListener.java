package io.gnomon.clockd.select;

/** Where a source runtime delivers what it observes; implemented by the daemon, which feeds the estimator. */
public interface SourceListener {
    /** A valid measurement from source {@code sourceName}. */
    void onMeasurement(String sourceName, Measurement measurement);

    /** A reply or reading from {@code sourceName} that was dropped, and why; {@code detail} is for the log. */
    void onRejected(String sourceName, RejectReason reason, String detail);

    /**
     * {@code sourceName} announces a leap second at the end of the UTC day that contains
     * {@code sourceEpochNanos} (its own time): inserted if {@code insert}, else deleted.
     */
    default void onLeapAnnounced(String sourceName, boolean insert, long sourceEpochNanos) {
    }
}
