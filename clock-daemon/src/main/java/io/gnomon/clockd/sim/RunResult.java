package io.gnomon.clockd.sim;

import io.gnomon.truetime.ClockStatus;
import org.HdrHistogram.Histogram;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * What one run (or, merged, many runs of one scenario) checked and found. Mutable while a run fills it;
 * {@link #merge} adds another run's counts. Histograms are in nanoseconds, three significant digits.
 */
public final class RunResult {
    /**
     * One reader instant whose interval missed true time.
     *
     * @param simTimeNanos        true time since the start of the run
     * @param monotonicNanos      the reader's CLOCK_MONOTONIC reading
     * @param trueEpochNanos      true time at that instant
     * @param earliestEpochNanos  the interval the reader computed
     * @param latestEpochNanos    "
     * @param epsilonNanos        its half-width
     * @param errorNanos          |midpoint - true time|
     * @param outsideNanos        how far true time lay outside the interval
     * @param asOfMonotonicNanos  the snapshot's as-of
     * @param frequencyError      the oscillator's frequency error at the end of the run segment (for context)
     */
    public record Violation(long simTimeNanos, long monotonicNanos, long trueEpochNanos, long earliestEpochNanos,
                            long latestEpochNanos, ClockStatus status, long epsilonNanos, long errorNanos,
                            long outsideNanos, long asOfMonotonicNanos, double frequencyError) {
        String describe() {
            return String.format(Locale.ROOT, "sim time %.6f s: status %s, true %d outside [%d, %d] by %d ns "
                            + "(epsilon %d ns, midpoint error %d ns, monotonic %d, snapshot age %d ns, oscillator f %.3f ppm)",
                    simTimeNanos / 1e9, status, trueEpochNanos, earliestEpochNanos, latestEpochNanos, outsideNanos,
                    epsilonNanos, errorNanos, monotonicNanos, monotonicNanos - asOfMonotonicNanos, frequencyError * 1e6);
        }
    }

    final Scenario scenario;
    final long firstSeed;
    final long durationSeconds;
    final int samplesPerPublish;
    int runs = 1;

    long samples;
    long violations;
    long unusableSamples;
    long voidSamples;
    long publishes;
    long publishesWithFalsetickers;
    final long[] statusCounts = new long[ClockStatus.values().length];
    long exchanges;
    long exchangesLost;
    long exchangesTimedOut;
    long measurements;
    long frequencySteps;
    long serverSteps;
    /** Steps of the host's realtime clock, and how many of them the daemon's detector reported. */
    long realtimeSteps;
    long realtimeStepsReported;
    /** Measurements of realtime-based sources the estimator dropped or refused because a step spanned them. */
    long realtimeStepVoided;
    final Map<String, Long> rejected = new TreeMap<>();
    final Histogram epsilonSynchronized = histogram();
    final Histogram errorSynchronized = histogram();
    final Histogram epsilonFreeRunning = histogram();
    final Histogram errorFreeRunning = histogram();
    /** Per checked SYNCHRONIZED sample: the best honest source's latest single-exchange floor. */
    final Histogram floorAtSample = histogram();
    /** Per honest measurement: delay / 2 + what the source may be off by (NTP), or its bound (PTP). */
    final Histogram exchangeFloor = histogram();
    final Histogram delay = histogram();
    /** The first violations, with the seed of the run each came from. */
    final List<SeededViolation> violationDetails = new ArrayList<>();
    /** Seeds (in run order) that had at least one violation, with their counts. */
    final Map<Long, Long> violationsBySeed = new TreeMap<>();

    record SeededViolation(long seed, Violation violation) {
    }

    RunResult(Scenario scenario, long seed, long durationSeconds, int samplesPerPublish) {
        this.scenario = scenario;
        this.firstSeed = seed;
        this.durationSeconds = durationSeconds;
        this.samplesPerPublish = samplesPerPublish;
    }

    private static Histogram histogram() {
        Histogram h = new Histogram(3);
        h.setAutoResize(true);
        return h;
    }

    /** A run records its own violations through this, so merged results keep each one's seed. */
    void addViolationDetail(Violation v) {
        violationDetails.add(new SeededViolation(firstSeed, v));
    }

    public long samples() {
        return samples;
    }

    public long violations() {
        return violations;
    }

    public Scenario scenario() {
        return scenario;
    }

    /** Adds {@code other}'s counts (another seed of the same scenario). */
    void merge(RunResult other) {
        runs += other.runs;
        samples += other.samples;
        violations += other.violations;
        unusableSamples += other.unusableSamples;
        voidSamples += other.voidSamples;
        publishes += other.publishes;
        publishesWithFalsetickers += other.publishesWithFalsetickers;
        for (int i = 0; i < statusCounts.length; i++) {
            statusCounts[i] += other.statusCounts[i];
        }
        exchanges += other.exchanges;
        exchangesLost += other.exchangesLost;
        exchangesTimedOut += other.exchangesTimedOut;
        measurements += other.measurements;
        frequencySteps += other.frequencySteps;
        serverSteps += other.serverSteps;
        realtimeSteps += other.realtimeSteps;
        realtimeStepsReported += other.realtimeStepsReported;
        realtimeStepVoided += other.realtimeStepVoided;
        other.rejected.forEach((k, v) -> rejected.merge(k, v, Long::sum));
        epsilonSynchronized.add(other.epsilonSynchronized);
        errorSynchronized.add(other.errorSynchronized);
        epsilonFreeRunning.add(other.epsilonFreeRunning);
        errorFreeRunning.add(other.errorFreeRunning);
        floorAtSample.add(other.floorAtSample);
        exchangeFloor.add(other.exchangeFloor);
        delay.add(other.delay);
        for (SeededViolation v : other.violationDetails) {
            if (violationDetails.size() < ClockSim.MAX_VIOLATIONS_KEPT) {
                violationDetails.add(v);
            }
        }
        other.violationsBySeed.forEach((k, v) -> violationsBySeed.merge(k, v, Long::sum));
    }
}
