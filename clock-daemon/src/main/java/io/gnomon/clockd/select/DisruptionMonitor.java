package io.gnomon.clockd.select;

import java.util.ArrayList;
import java.util.List;

/**
 * The host-clock checks around the estimator, as one sequence that the daemon ({@code ClockDaemon}) and the clock
 * simulator both drive: a clock reading goes to the {@link DisruptionDetector}, and its verdict to
 * {@link ClockEstimator#onDisruption}; and before a measurement read against realtime is used, the step check runs
 * right then, so a step between that measurement's reading and its use is reported first (and the estimator refuses
 * the measurement) instead of being found by the next periodic check while the measurement is already published.
 *
 * <p>Pure: no threads, no clocks of its own. Each reading is passed in ({@link #check}), or read through the
 * {@link Clocks} the caller hands to {@link #admit}; what the host must do about a disruption (log it, tell its
 * publishers, publish at once) is returned as data.
 */
public final class DisruptionMonitor {

    /**
     * One reading of the host clocks: CLOCK_MONOTONIC before and after, CLOCK_BOOTTIME ({@link Long#MIN_VALUE}
     * when unavailable) and CLOCK_REALTIME with the realtime read's own monotonic bracket, inside the outer one.
     */
    public record Reading(long monotonicBeforeNanos, long boottimeNanos, long monotonicAfterNanos,
                          long realtimeEpochNanos, long realtimeBracketBeforeNanos, long realtimeBracketAfterNanos) {
    }

    /** Takes a {@link Reading} now: the host's clocks in the daemon, the simulated ones in the simulator. */
    @FunctionalInterface
    public interface Clocks {
        Reading read();
    }

    /**
     * What one reading found.
     *
     * @param disruption what the detector reported, or null
     * @param dropped    measurements the estimator dropped for it
     */
    public record Check(DisruptionDetector.Disruption disruption, int dropped) {
    }

    /**
     * What became of a measurement handed to {@link #admit}.
     *
     * @param outcome     the estimator's verdict, or null if it was never asked: no conclusive step check could be
     *                    made, so a step since the measurement's reading cannot be ruled out and it is refused
     * @param disruptions disruptions the checks before it reported (each already fed to the estimator); the host
     *                    reports and publishes each, as after a periodic check
     */
    public record Admission(ClockEstimator.Outcome outcome, List<Check> disruptions) {
        public Admission {
            disruptions = List.copyOf(disruptions);
        }

        /** Whether it was refused because no step check was conclusive. */
        public boolean inconclusive() {
            return outcome == null;
        }
    }

    /** Readings tried for a conclusive step check before a realtime-based measurement is used. */
    public static final int CONCLUSIVE_CHECK_TRIES = 4;

    private final DisruptionDetector detector;
    private final ClockEstimator estimator;
    private final long quarantineNanos;

    /**
     * @param detector        the step and suspend detector, owned by this monitor from now on
     * @param estimator       the estimator it feeds, or null (a daemon with no sources still watches its clocks)
     * @param quarantineNanos after a suspend, measurements this young are refused (the longest an exchange takes)
     */
    public DisruptionMonitor(DisruptionDetector detector, ClockEstimator estimator, long quarantineNanos) {
        if (detector == null) {
            throw new IllegalArgumentException("detector must not be null");
        }
        if (quarantineNanos < 0) {
            throw new IllegalArgumentException("quarantineNanos must be >= 0, was " + quarantineNanos);
        }
        this.detector = detector;
        this.estimator = estimator;
        this.quarantineNanos = quarantineNanos;
    }

    /** {@code H} of the detector: the largest realtime step that can go unreported. */
    public long stepToleranceNanos() {
        return detector.stepToleranceNanos();
    }

    /**
     * One periodic check: the reading goes to the detector; the estimator learns from when realtime is watched, and
     * of any disruption (which drops the measurements it spoiled).
     */
    public Check check(Reading r) {
        DisruptionDetector.Disruption d = detector.observe(r.monotonicBeforeNanos(), r.boottimeNanos(),
                r.monotonicAfterNanos(), r.realtimeEpochNanos(), r.realtimeBracketBeforeNanos(),
                r.realtimeBracketAfterNanos());
        if (estimator != null && detector.realtimeWatchedFromMonotonicNanos() != Long.MAX_VALUE) {
            estimator.realtimeWatchedFrom(detector.realtimeWatchedFromMonotonicNanos());
        }
        if (d == null) {
            return new Check(null, 0);
        }
        int dropped = estimator == null ? 0 : estimator.onDisruption(d, quarantineNanos);
        return new Check(d, dropped);
    }

    /**
     * Hands a measurement to the estimator. One read against realtime is checked first: up to
     * {@link #CONCLUSIVE_CHECK_TRIES} readings until one is conclusive, and refused (outcome null) if none is.
     */
    public Admission admit(String sourceName, Measurement m, Clocks clocks) {
        if (estimator == null) {
            throw new IllegalStateException("no estimator: a daemon without sources takes no measurements");
        }
        List<Check> disruptions = new ArrayList<>(0);
        if (m.readsRealtime()) {
            boolean conclusive = false;
            for (int i = 0; i < CONCLUSIVE_CHECK_TRIES && !conclusive; i++) {
                Check c = check(clocks.read());
                if (c.disruption() != null) {
                    disruptions.add(c);
                }
                conclusive = detector.lastReadingConclusive();
            }
            if (!conclusive) {
                return new Admission(null, disruptions);
            }
        }
        return new Admission(estimator.onMeasurement(sourceName, m), disruptions);
    }
}
