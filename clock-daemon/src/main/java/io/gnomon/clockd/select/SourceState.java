package io.gnomon.clockd.select;

/**
 * What the daemon knows of one source at one estimate, for status, metrics and the journal.
 *
 * @param name            configured name (e.g. {@code ntp:127.0.0.1:12123})
 * @param kind            {@code ntp} or {@code local}
 * @param reachable       a valid measurement arrived within the reachability window
 * @param falseticker     its interval does not overlap the interval a majority agrees on
 * @param offsetNanos     true time minus the local system (realtime) clock, by this source; 0 without data
 * @param delayNanos      round trip of the measurement in use
 * @param boundNanos      half-width of this source's interval, aged to the estimate's instant
 * @param hasMeasurement  whether the source has any measurement at all (otherwise the numbers are 0)
 */
public record SourceState(String name, String kind, boolean reachable, boolean falseticker, long offsetNanos,
                          long delayNanos, long boundNanos, boolean hasMeasurement) {
}
