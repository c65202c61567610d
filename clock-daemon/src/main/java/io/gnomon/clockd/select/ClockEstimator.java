package io.gnomon.clockd.select;

import io.gnomon.truetime.ClockSnapshot;
import io.gnomon.truetime.ClockStatus;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The clock daemon's protocol core: measurements in, a published estimate out. Pure: no clocks, threads or
 * I/O; the caller passes every instant.
 *
 * <ol>
 *   <li>Filter: per source, the last {@link Limits#samplesPerSource} measurements; the one in use is the one
 *       whose interval, aged to now by the maximum drift, is narrowest (the lowest-delay sample, with age
 *       counted against it).</li>
 *   <li>Select: a majority of the <em>configured</em> sources ({@code quorum = n/2 + 1}) must share a point
 *       ({@link MajorityIntersection}); sources whose interval misses their hull are falsetickers.</li>
 *   <li>Bound: the hull of the points covered by {@code m - (n - quorum)} of the {@code m} sources that have a
 *       measurement (see {@link #estimate}), its half-width rounded up; readers grow it by the maximum drift.</li>
 * </ol>
 * Only reachable sources (a measurement within {@link Limits#reachableNanos}) vote. Without a majority the
 * last synchronized estimate keeps being published, its bound growing by the maximum drift (FREE_RUNNING);
 * without any, the status is UNSYNCHRONIZED with a saturated bound.
 */
public final class ClockEstimator {

    /**
     * Limits and policy, every duration in nanoseconds.
     *
     * @param maxDriftPpb         bound growth per local monotonic nanosecond (already inflated for rounding)
     * @param samplesPerSource    measurements kept per source (the filter's window)
     * @param maxSampleAgeNanos   older measurements are dropped: past this they say little and may predate a
     *                            disruption
     * @param reachableNanos      a source is reachable if it delivered a measurement this recently
     * @param voidAfterNanos      a published snapshot is void this long after its as-of
     * @param undetectedRealtimeStepNanos how far the realtime clock may have moved against the monotonic clock
     *                            without a step being reported: added to the bound of every measurement read against
     *                            realtime ({@link Measurement#readsRealtime()}). With a {@link DisruptionDetector} of
     *                            step tolerance {@code H} it is {@code 2H}: realtime minus monotonic at the evidence's
     *                            instant and at the reading are each within {@code H} of the detector's baseline.
     * @param chronyRegressionHorizonNanos how long after a reported realtime step chronyd's regression may still
     *                            hold samples from before it: measurements of {@code chrony:} sources read from the
     *                            step's window until this long after it is reported are refused (see
     *                            {@link #onDisruption}). chronyd keeps at most {@link #CHRONY_MAX_SAMPLES} samples per
     *                            source and takes one per poll, so it is {@code (CHRONY_MAX_SAMPLES + 1)} times the
     *                            longest poll interval of chronyd's sources ({@link #chronyRegressionHorizonNanos}).
     */
    public record Limits(long maxDriftPpb, int samplesPerSource, long maxSampleAgeNanos, long reachableNanos,
                         long voidAfterNanos, long undetectedRealtimeStepNanos, long chronyRegressionHorizonNanos) {
        /** Limits with the undetected step of the daemon's default detector, {@code 2H}. */
        public Limits(long maxDriftPpb, int samplesPerSource, long maxSampleAgeNanos, long reachableNanos,
                      long voidAfterNanos) {
            this(maxDriftPpb, samplesPerSource, maxSampleAgeNanos, reachableNanos, voidAfterNanos,
                    2 * DisruptionDetector.DEFAULT_STEP_TOLERANCE_NANOS);
        }

        /** Limits with chronyd's default regression horizon (its default maxpoll, 1024 s). */
        public Limits(long maxDriftPpb, int samplesPerSource, long maxSampleAgeNanos, long reachableNanos,
                      long voidAfterNanos, long undetectedRealtimeStepNanos) {
            this(maxDriftPpb, samplesPerSource, maxSampleAgeNanos, reachableNanos, voidAfterNanos,
                    undetectedRealtimeStepNanos, ClockEstimator.chronyRegressionHorizonNanos(CHRONY_MAX_SAMPLES,
                            CHRONY_DEFAULT_MAX_POLL_NANOS));
        }

        public Limits {
            require(chronyRegressionHorizonNanos >= 0, "chronyRegressionHorizonNanos", chronyRegressionHorizonNanos);
            require(undetectedRealtimeStepNanos >= 0 && undetectedRealtimeStepNanos <= ClockSnapshot.SATURATED_BOUND,
                    "undetectedRealtimeStepNanos", undetectedRealtimeStepNanos);
            require(maxDriftPpb >= 0 && maxDriftPpb <= ClockSnapshot.MAX_DRIFT_PPB_LIMIT, "maxDriftPpb", maxDriftPpb);
            require(samplesPerSource >= 1 && samplesPerSource <= 64, "samplesPerSource", samplesPerSource);
            require(maxSampleAgeNanos > 0, "maxSampleAgeNanos", maxSampleAgeNanos);
            require(reachableNanos > 0, "reachableNanos", reachableNanos);
            require(voidAfterNanos > 0, "voidAfterNanos", voidAfterNanos);
        }

        private static void require(boolean ok, String name, long value) {
            if (!ok) {
                throw new IllegalArgumentException(name + " out of range: " + value);
            }
        }
    }

    /**
     * chronyd's regression keeps at most this many samples per source ({@code MAX_SAMPLES} in chrony's
     * sourcestats.c; its {@code maxsamples} directive can only lower it): a sample leaves the window when this many
     * newer ones have arrived, or earlier when chrony's runs test drops it.
     */
    public static final int CHRONY_MAX_SAMPLES = 64;
    /** chronyd's default {@code maxpoll}, 2^10 s: its sources poll at least this often unless configured otherwise. */
    public static final long CHRONY_DEFAULT_MAX_POLL_NANOS = 1024 * 1_000_000_000L;

    /**
     * How long after a realtime step chronyd's regression may still weigh a sample from before it, for sources
     * that poll at least every {@code maxPollNanos} and keep {@code maxSamples}: the last pre-step sample is pushed out
     * by the {@code maxSamples}-th sample after the step, at most {@code maxSamples} polls later; one poll more covers
     * the rate difference between chronyd's clock and the monotonic clock and any jitter of chronyd's poll timer.
     */
    public static long chronyRegressionHorizonNanos(int maxSamples, long maxPollNanos) {
        if (maxSamples < 1 || maxPollNanos <= 0) {
            throw new IllegalArgumentException("maxSamples " + maxSamples + " and maxPollNanos " + maxPollNanos
                    + " must be positive");
        }
        return maxPollNanos > ClockSnapshot.SATURATED_BOUND / (maxSamples + 1L) ? ClockSnapshot.SATURATED_BOUND
                : (maxSamples + 1L) * maxPollNanos;
    }

    private static final class Source {
        final String name;
        final Measurement[] ring;
        int next;
        int size;
        long lastMeasurementMonotonicNanos;
        boolean everMeasured;
        /** The leap this source announces: a UTC midnight in epoch seconds, 0 for none. */
        long announcedLeapEpochSeconds;
        boolean announcedLeapInsert;

        Source(String name, int capacity) {
            this.name = name;
            this.ring = new Measurement[capacity];
        }

        void clear() {
            java.util.Arrays.fill(ring, null);
            next = 0;
            size = 0;
        }

        /** Drops the measurements {@code spoiled} says are spoiled; returns how many. */
        int removeIf(java.util.function.Predicate<Measurement> spoiled) {
            Measurement[] kept = new Measurement[ring.length];
            int k = 0;
            for (int i = 0; i < size; i++) {
                if (!spoiled.test(ring[i])) {
                    kept[k++] = ring[i];
                }
            }
            int removed = size - k;
            if (removed > 0) {
                System.arraycopy(kept, 0, ring, 0, ring.length);
                size = k;
                next = k % ring.length;
            }
            return removed;
        }

        void add(Measurement m) {
            ring[next] = m;
            next = (next + 1) % ring.length;
            size = Math.min(size + 1, ring.length);
            lastMeasurementMonotonicNanos = everMeasured
                    ? Math.max(lastMeasurementMonotonicNanos, m.atMonotonicNanos()) : m.atMonotonicNanos();
            everMeasured = true;
        }

        /** The narrowest interval aged to {@code now}, among measurements younger than {@code maxAge}. */
        Measurement best(long now, long driftPpb, long maxAgeNanos) {
            Measurement best = null;
            long bestBound = Long.MAX_VALUE;
            for (int i = 0; i < size; i++) {
                Measurement m = ring[i];
                if (Math.abs(now - m.atMonotonicNanos()) > maxAgeNanos) {
                    continue;
                }
                long b = m.boundAt(now, driftPpb);
                if (b < bestBound) {
                    bestBound = b;
                    best = m;
                }
            }
            return best;
        }
    }

    private final Limits limits;
    private final Map<String, Source> sources = new LinkedHashMap<>();
    private ClockSnapshot lastSynchronized;
    /** Set by a suspend: why nothing before it counts, until a majority agrees again. */
    private String disruption;
    /** Measurements that arrive before this monotonic instant may have begun before the disruption. */
    private long quarantineUntilMonotonicNanos = Long.MIN_VALUE;
    private boolean quarantined;

    /**
     * A step of the realtime clock (or a resume, which moves it too): it happened after {@code since} and
     * before {@code at}, both monotonic ({@code since} may be {@link Long#MIN_VALUE}: unknown).
     */
    private record RealtimeStep(long sinceMonotonicNanos, long atMonotonicNanos) {
    }

    /** Realtime steps remembered to void evidence that spans them; older ones are summarised below. */
    static final int MAX_REALTIME_STEPS_KEPT = 64;
    private final java.util.ArrayDeque<RealtimeStep> realtimeSteps = new java.util.ArrayDeque<>();
    /** Evidence read against realtime that depends on the realtime clock before this instant is refused. */
    private long realtimeUnknownBeforeMonotonicNanos = Long.MIN_VALUE;
    /** Sum of the sizes of every step seen (saturating): how far a realtime-based instant may be misplaced. */
    private long realtimeStepsTotalNanos;
    /**
     * chronyd's reports read in {@code [from, until]} (monotonic) may come from a regression that still weighs
     * samples from before a realtime step: refused. Empty while {@code until < from}.
     */
    private long chronySpoiledFromMonotonicNanos = Long.MAX_VALUE;
    private long chronySpoiledUntilMonotonicNanos = Long.MIN_VALUE;
    /** The latest instant any reported step may have happened at (the end of its window), monotonic. */
    private long chronyLastStepAtMonotonicNanos = Long.MIN_VALUE;

    private final java.util.Set<String> trusted;
    /** A leap second a majority announced (a UTC midnight, epoch seconds), 0 for none; see onLeapAnnounced. */
    private long leapEpochSeconds;
    private boolean leapInsert;
    /** The size of a leap second: how far the POSIX time scale steps at it. */
    static final long LEAP_NANOS = 1_000_000_000L;

    /** An estimator for the named sources (order kept in reports); at least one. */
    public ClockEstimator(List<String> sourceNames, Limits limits) {
        this(sourceNames, java.util.Set.of(), limits);
    }

    /**
     * An estimator where the {@code trusted} sources are assumed honest (an operator's statement, e.g. a PTP
     * grandmaster on the same switch): while one agrees with the majority, the interval is narrowed to it.
     */
    public ClockEstimator(List<String> sourceNames, java.util.Set<String> trusted, Limits limits) {
        if (sourceNames.isEmpty()) {
            throw new IllegalArgumentException("at least one source is needed");
        }
        for (String t : trusted) {
            if (!sourceNames.contains(t)) {
                throw new IllegalArgumentException("trusted source " + t + " is not a configured source");
            }
        }
        this.trusted = java.util.Set.copyOf(trusted);
        this.limits = limits;
        for (String name : sourceNames) {
            if (sources.putIfAbsent(name, new Source(name, limits.samplesPerSource())) != null) {
                throw new IllegalArgumentException("duplicate source name " + name);
            }
        }
    }

    /**
     * A source announces a leap second at the end of the UTC day containing {@code sourceEpochNanos}. Once a
     * majority of the configured sources announce the same one, the estimator adopts it: from
     * {@code voidAfter} before the leap (so no snapshot a reader may still extrapolate crosses it unwidened)
     * until every reachable source has measured only after it, the bound is widened by one second, which
     * covers true time on either side of the step the servers' POSIX scale takes. Returns true when the
     * announcement was adopted by this call.
     */
    public boolean onLeapAnnounced(String sourceName, boolean insert, long sourceEpochNanos) {
        Source s = sources.get(sourceName);
        if (s == null) {
            throw new IllegalArgumentException("unknown source " + sourceName);
        }
        long day = Math.floorDiv(Math.floorDiv(sourceEpochNanos, 1_000_000_000L), 86_400L);
        s.announcedLeapEpochSeconds = (day + 1) * 86_400L;
        s.announcedLeapInsert = insert;
        if (leapEpochSeconds != 0) {
            return false;
        }
        int agreeing = 0;
        for (Source other : sources.values()) {
            if (other.announcedLeapEpochSeconds == s.announcedLeapEpochSeconds && other.announcedLeapInsert == insert) {
                agreeing++;
            }
        }
        if (agreeing < sources.size() / 2 + 1) {
            return false;
        }
        leapEpochSeconds = s.announcedLeapEpochSeconds;
        leapInsert = insert;
        return true;
    }

    /** The adopted leap second in words, or "none". */
    public String leapDescription() {
        return leapEpochSeconds == 0 ? "none" : (leapInsert ? "insertion" : "deletion") + " of a leap second at "
                + java.time.Instant.ofEpochSecond(leapEpochSeconds);
    }

    /**
     * The widening the adopted leap needs at this estimate (0 or {@link #LEAP_NANOS}), ending the leap once
     * every reachable source has measured only after it.
     */
    private long leapWideningNanos(long nowMonotonicNanos, long epochOffsetNanos) {
        if (leapEpochSeconds == 0) {
            return 0;
        }
        long leapNanos = leapEpochSeconds * 1_000_000_000L;
        long epochNow = nowMonotonicNanos + epochOffsetNanos;
        if (epochNow < leapNanos - limits.voidAfterNanos() - LEAP_NANOS) {
            return 0;
        }
        if (epochNow > leapNanos + LEAP_NANOS && allReachableMeasuredAfter(leapNanos, nowMonotonicNanos)) {
            for (Source s : sources.values()) {
                if (s.announcedLeapEpochSeconds <= leapEpochSeconds) {
                    s.announcedLeapEpochSeconds = 0;
                }
            }
            leapEpochSeconds = 0;
            return 0;
        }
        return LEAP_NANOS;
    }

    private boolean allReachableMeasuredAfter(long epochNanos, long nowMonotonicNanos) {
        boolean any = false;
        for (Source s : sources.values()) {
            if (!isReachable(s, nowMonotonicNanos)) {
                continue;
            }
            for (int i = 0; i < s.size; i++) {
                Measurement m = s.ring[i];
                if (m.atMonotonicNanos() + m.epochOffsetNanos() - m.boundNanos() < epochNanos) {
                    return false;
                }
            }
            any = true;
        }
        return any;
    }

    /** What became of a measurement. */
    public enum Outcome {
        ACCEPTED,
        /** Kept, but the source's earlier measurements were dropped: they contradict it (the source stepped). */
        SOURCE_STEPPED,
        /** Dropped: its exchange may have begun before a disruption of the host clock. */
        QUARANTINED,
        /** Dropped: it was read against the realtime clock, and a realtime step may lie inside its evidence. */
        REALTIME_STEPPED
    }

    /**
     * Records a measurement; measurements from unknown sources are an error of the caller. A measurement
     * whose interval does not overlap the source's own earlier ones (aged to its instant) means the source
     * stepped its time: which side was right cannot be told from one source, so the history goes and the
     * newest evidence stays; other sources then decide whether it is a falseticker.
     */
    public Outcome onMeasurement(String sourceName, Measurement m) {
        Source s = sources.get(sourceName);
        if (s == null) {
            throw new IllegalArgumentException("unknown source " + sourceName);
        }
        if (quarantined && m.atMonotonicNanos() - quarantineUntilMonotonicNanos < 0) {
            return Outcome.QUARANTINED;
        }
        if (m.readsRealtime()) {
            if (spansRealtimeStep(m) || (isChrony(sourceName) && readWhileChronyRegressionSpoiled(m)
                    && !chronyWindowAfterLastStep(m))) {
                return Outcome.REALTIME_STEPPED;
            }
            m = m.widenedBy(limits.undetectedRealtimeStepNanos());
        }
        Outcome outcome = Outcome.ACCEPTED;
        long drift = limits.maxDriftPpb();
        for (int i = 0; i < s.size; i++) {
            Measurement old = s.ring[i];
            long at = m.atMonotonicNanos();
            if (old.highAt(at, drift) < m.lowAt(at, drift) || old.lowAt(at, drift) > m.highAt(at, drift)) {
                s.clear();
                outcome = Outcome.SOURCE_STEPPED;
                break;
            }
        }
        s.add(m);
        return outcome;
    }

    /**
     * The host clock was disrupted; returns how many measurements were dropped.
     *
     * <p>A <b>suspend</b> voids every offset measured against the monotonic clock, and the last synchronized
     * estimate with them: all are dropped, and measurements arriving within {@code quarantineNanos} (the longest
     * an exchange may take) are refused, since they may have begun before it. Until a majority agrees again the
     * status is DISRUPTED.
     *
     * <p>A <b>realtime step</b> (and a resume, which moves realtime too) cannot touch an offset measured against
     * the monotonic clock alone (NTP). It spoils evidence read against realtime whose realtime-dependent span
     * ({@link Measurement#realtimeSinceMonotonicNanos()} to the reading) contains the step: chronyd's correction
     * computed before the step and read after it, ptp4l's offset of a Sync received before it and read after it.
     * Such measurements are dropped now, and refused when they arrive later ({@link Outcome#REALTIME_STEPPED}); the
     * last synchronized estimate goes too if any was dropped (it may have been narrowed by one, e.g. a trusted PTP
     * source). The status does not change: the other evidence still stands.
     *
     * <p>chronyd's own regression is spoiled longer. chronyd does not notice a step under about a second, and the
     * offsets of the samples it took before the step are against the unstepped clock, so until they leave its
     * window its estimate mixes both scales. Its regression is weighted least squares (weights from each sample's
     * distance, unbounded in ratio) over unevenly spaced samples, evaluated at the newest one: the weight the fit
     * gives to the pre-step samples can be any number, so no multiple of the step bounds the error (with equal
     * weights and spacing it lies between -1/3 and 1 times the step; a newest sample with a long delay after two
     * close low-delay ones makes the fit an extrapolation, and the error many times the step). So reports of
     * {@code chrony:} sources read from the step's window until {@link Limits#chronyRegressionHorizonNanos} after it
     * are refused ({@link Outcome#REALTIME_STEPPED}) rather than widened; reports read before the step are kept.
     * chronyd's own word ends the refusal early: a report whose {@link Measurement#windowSinceMonotonicNanos()} (the
     * oldest sample of every chronyd source with samples, from its SOURCESTATS span and SOURCE_DATA age) is after
     * the end of the last step's window, less the slack of {@link #spansRealtimeStep}, is used at once.
     * Not covered: a step before the detector's first reading (before the daemon started) that chronyd's window may
     * still hold; docs/clock-accuracy.md states it.
     */
    public int onDisruption(DisruptionDetector.Disruption d, long quarantineNanos) {
        rememberRealtimeStep(d);
        if (d.kind() != DisruptionDetector.Kind.SUSPEND) {
            int dropped = 0;
            for (Source s : sources.values()) {
                dropped += s.removeIf(this::spansRealtimeStep);
            }
            if (dropped > 0) {
                lastSynchronized = null;
            }
            return dropped;
        }
        int dropped = 0;
        for (Source s : sources.values()) {
            dropped += s.size;
            s.clear();
        }
        lastSynchronized = null;
        disruption = d.describe();
        quarantined = true;
        quarantineUntilMonotonicNanos = d.atMonotonicNanos() + Math.max(0, quarantineNanos);
        return dropped;
    }

    /**
     * The realtime clock is watched for steps from {@code monotonicNanos} on (the disruption detector's first
     * conclusive reading): evidence read against realtime that depends on it before then is refused, since a step
     * before then would have gone unseen.
     */
    public void realtimeWatchedFrom(long monotonicNanos) {
        realtimeUnknownBeforeMonotonicNanos = Math.max(realtimeUnknownBeforeMonotonicNanos, monotonicNanos);
    }

    private void rememberRealtimeStep(DisruptionDetector.Disruption d) {
        // A resume moves realtime too, and chronyd may not see it as a step: its window is spoiled either way.
        long until = d.atMonotonicNanos() > Long.MAX_VALUE - limits.chronyRegressionHorizonNanos()
                ? Long.MAX_VALUE : d.atMonotonicNanos() + limits.chronyRegressionHorizonNanos();
        if (chronySpoiledUntilMonotonicNanos < chronySpoiledFromMonotonicNanos
                || d.sinceMonotonicNanos() > chronySpoiledUntilMonotonicNanos) {
            chronySpoiledFromMonotonicNanos = d.sinceMonotonicNanos(); // the previous episode is over
        }
        chronySpoiledUntilMonotonicNanos = Math.max(chronySpoiledUntilMonotonicNanos, until);
        chronyLastStepAtMonotonicNanos = Math.max(chronyLastStepAtMonotonicNanos, d.atMonotonicNanos());
        realtimeSteps.addLast(new RealtimeStep(d.sinceMonotonicNanos(), d.atMonotonicNanos()));
        if (realtimeSteps.size() > MAX_REALTIME_STEPS_KEPT) {
            realtimeWatchedFrom(realtimeSteps.removeFirst().atMonotonicNanos());
        }
        // The reported amount is the change of two readings, each off by less than the undetected step.
        long size = d.amountNanos() == Long.MIN_VALUE ? ClockSnapshot.SATURATED_BOUND : Math.abs(d.amountNanos());
        realtimeStepsTotalNanos = saturatedAdd(realtimeStepsTotalNanos,
                saturatedAdd(size, limits.undetectedRealtimeStepNanos()));
    }

    /**
     * Whether a remembered realtime step may lie inside {@code m}'s realtime-dependent span. The span's start was
     * converted from realtime to monotonic with the realtime clock as it was at the reading, so a step in between
     * misplaces it by up to its size: the start is moved earlier by every step's size plus the undetected step.
     * The end is the reading, which lies within {@code m}'s bound of its instant (the bound counts the bracket).
     */
    private boolean spansRealtimeStep(Measurement m) {
        if (!m.readsRealtime()) {
            return false;
        }
        long slack = saturatedAdd(realtimeStepsTotalNanos, limits.undetectedRealtimeStepNanos());
        long from = m.realtimeSinceMonotonicNanos() < Long.MIN_VALUE + slack
                ? Long.MIN_VALUE : m.realtimeSinceMonotonicNanos() - slack;
        long to = m.atMonotonicNanos() > Long.MAX_VALUE - m.boundNanos()
                ? Long.MAX_VALUE : m.atMonotonicNanos() + m.boundNanos();
        if (from <= realtimeUnknownBeforeMonotonicNanos) {
            return true;
        }
        for (RealtimeStep step : realtimeSteps) {
            if (from <= step.atMonotonicNanos() && to >= step.sinceMonotonicNanos()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether {@code m} may have been read while chronyd's regression could still hold pre-step samples: its reading
     * lies within {@code m}'s bound of its instant (the bound counts the bracket), and any overlap counts.
     */
    private boolean readWhileChronyRegressionSpoiled(Measurement m) {
        if (chronySpoiledUntilMonotonicNanos < chronySpoiledFromMonotonicNanos) {
            return false;
        }
        long earliest = m.atMonotonicNanos() < Long.MIN_VALUE + m.boundNanos()
                ? Long.MIN_VALUE : m.atMonotonicNanos() - m.boundNanos();
        long latest = m.atMonotonicNanos() > Long.MAX_VALUE - m.boundNanos()
                ? Long.MAX_VALUE : m.atMonotonicNanos() + m.boundNanos();
        return latest >= chronySpoiledFromMonotonicNanos && earliest <= chronySpoiledUntilMonotonicNanos;
    }

    /**
     * Whether chronyd itself says that every sample its regressions could have used for {@code m} was taken after the
     * last reported step ({@link Measurement#windowSinceMonotonicNanos()}): then no pre-step sample pulls its
     * estimate, and {@code m} is as good as any report from after the fixed horizon. The instant was converted from
     * chronyd's realtime ages with the realtime clock as it was at the reading, so a step in between misplaces it by
     * up to its size: it is moved earlier by every step's size plus the undetected step, as in
     * {@link #spansRealtimeStep}, and must still be after the end of the last step's window.
     */
    private boolean chronyWindowAfterLastStep(Measurement m) {
        if (m.windowSinceMonotonicNanos() == Measurement.WINDOW_UNKNOWN) {
            return false;
        }
        long slack = saturatedAdd(realtimeStepsTotalNanos, limits.undetectedRealtimeStepNanos());
        long since = m.windowSinceMonotonicNanos() < Long.MIN_VALUE + slack
                ? Long.MIN_VALUE : m.windowSinceMonotonicNanos() - slack;
        return since > chronyLastStepAtMonotonicNanos;
    }

    /** Sources named {@code chrony:...} are chronyd's tracking reports (ChronySource names them so). */
    static boolean isChrony(String sourceName) {
        return "chrony".equals(kindOf(sourceName));
    }

    private static long saturatedAdd(long a, long b) {
        long sum = a + b;
        return sum < 0 || sum > ClockSnapshot.SATURATED_BOUND ? ClockSnapshot.SATURATED_BOUND : sum;
    }

    /**
     * The estimate at monotonic instant {@code nowMonotonicNanos}.
     *
     * @param realtimeMinusMonotonicNanos the system's realtime clock minus its monotonic clock, now; used only
     *                                    to report offsets against the system clock, never in the bound
     */
    public Estimate estimate(long nowMonotonicNanos, long realtimeMinusMonotonicNanos) {
        long drift = limits.maxDriftPpb();
        int n = sources.size();
        long[] lows = new long[n];
        long[] highs = new long[n];
        long[] evidenceLows = new long[n];
        long[] evidenceHighs = new long[n];
        Measurement[] best = new Measurement[n];
        int candidates = 0;
        int evidence = 0;
        int i = 0;
        for (Source s : sources.values()) {
            Measurement m = s.best(nowMonotonicNanos, drift, limits.maxSampleAgeNanos());
            best[i] = m;
            if (m != null) {
                evidenceLows[evidence] = m.lowAt(nowMonotonicNanos, drift);
                evidenceHighs[evidence] = m.highAt(nowMonotonicNanos, drift);
                evidence++;
            }
            // Only reachable sources vote: an aged interval of a silent source is still sound, but a clock
            // that no longer hears a majority should say so (FREE_RUNNING) rather than claim to be synchronized.
            if (m != null && isReachable(s, nowMonotonicNanos)) {
                lows[candidates] = m.lowAt(nowMonotonicNanos, drift);
                highs[candidates] = m.highAt(nowMonotonicNanos, drift);
                candidates++;
            }
            i++;
        }
        int quorum = n / 2 + 1;
        // The status: a majority of the configured sources, all reachable, share a point.
        MajorityIntersection.Hull agreement = MajorityIntersection.hull(lows, highs, candidates, quorum);
        // The interval. Fewer than half of the n configured sources may lie, so at most n - quorum of them do.
        // Of the m sources with a (still sound, aged) measurement, every honest one covers true time, so true
        // time is covered by at least m - (n - quorum) of them: the hull of the points covered that often
        // contains it. With every source measured (m = n) that is the quorum hull over all n; the quorum hull
        // over fewer (start-up, a server down) is NOT sound: the liars may make up the rest of the quorum, and
        // the point they share with one honest source may exclude true time (found by the clock simulator,
        // docs/clock-accuracy-sim.md).
        // Points covered quorum times among the voters are covered at least that often here, so this hull is
        // found whenever the agreement is.
        MajorityIntersection.Hull hull = agreement;
        if (agreement.found()) {
            int cover = evidence - (n - quorum);
            assert cover >= 1 : "a majority voted, so at least quorum sources have evidence";
            hull = MajorityIntersection.hull(evidenceLows, evidenceHighs, evidence, cover);
            assert hull.found() : "the agreement's points are covered at least cover times";
        }

        ClockSnapshot snapshot;
        String reason;
        if (hull.found()) {
            long low = hull.low();
            long high = hull.high();
            String narrowedBy = "";
            // True time is in every honest interval, so narrowing to a trusted source that agrees with the
            // majority, and to the last synchronized estimate aged by the drift, keeps it inside.
            int k = 0;
            for (Source src : sources.values()) {
                Measurement m = best[k++];
                if (m != null && trusted.contains(src.name) && isReachable(src, nowMonotonicNanos)) {
                    long lo = m.lowAt(nowMonotonicNanos, drift);
                    long hi = m.highAt(nowMonotonicNanos, drift);
                    if (lo <= high && hi >= low) {
                        low = Math.max(low, lo);
                        high = Math.min(high, hi);
                        narrowedBy += "; narrowed by trusted " + src.name;
                    } else {
                        narrowedBy += "; trusted " + src.name + " disagrees with the majority, not used";
                    }
                }
            }
            boolean leapWindow = leapEpochSeconds != 0;
            if (lastSynchronized != null && !leapWindow) {
                TimeIntervalBounds prev = TimeIntervalBounds.of(lastSynchronized, nowMonotonicNanos);
                if (prev.low() <= high && prev.high() >= low) {
                    low = Math.max(low, prev.low());
                    high = Math.min(high, prev.high());
                } else {
                    narrowedBy += "; the majority moved outside the previous estimate (sources stepped?)";
                }
            }
            // Midpoint rounded down and half-width rounded up: [mid - b, mid + b] covers [low, high].
            long mid = Math.floorDiv(low, 2) + Math.floorDiv(high, 2) + ((low & 1) + (high & 1)) / 2;
            long bound = Math.max(mid - low, high - mid);
            lastSynchronized = new ClockSnapshot(nowMonotonicNanos, mid, bound, drift,
                    nowMonotonicNanos + limits.voidAfterNanos(), ClockStatus.SYNCHRONIZED);
            long leapWidening = leapWideningNanos(nowMonotonicNanos, mid);
            if (leapWidening > 0) {
                narrowedBy += "; " + leapDescription() + ": bound widened by 1 s until every source has measured after it";
            }
            snapshot = new ClockSnapshot(nowMonotonicNanos, mid, bound + leapWidening, drift,
                    nowMonotonicNanos + limits.voidAfterNanos(), ClockStatus.SYNCHRONIZED);
            disruption = null;
            reason = agreementWords(countAgreeing(best, agreement, nowMonotonicNanos), candidates, n);
            if (evidence < n) {
                reason += "; interval covers what " + (evidence - (n - quorum)) + " of the " + evidence
                        + " measured sources allow (" + (n - evidence) + " without a measurement)";
            }
            reason += narrowedBy;
        } else if (lastSynchronized != null) {
            long bound = lastSynchronized.boundAt(nowMonotonicNanos);
            long offset = lastSynchronized.epochOffsetNanos();
            long leapWidening = leapWideningNanos(nowMonotonicNanos, offset);
            snapshot = new ClockSnapshot(nowMonotonicNanos, offset, bound + leapWidening, drift,
                    nowMonotonicNanos + limits.voidAfterNanos(), ClockStatus.FREE_RUNNING);
            reason = "free-running for " + formatSeconds(nowMonotonicNanos - lastSynchronized.asOfMonotonicNanos())
                    + " s: " + noMajorityReason(candidates, n, quorum)
                    + (leapWidening > 0 ? "; " + leapDescription() + ": bound widened by 1 s" : "");
        } else {
            ClockStatus status = disruption != null ? ClockStatus.DISRUPTED : ClockStatus.UNSYNCHRONIZED;
            snapshot = new ClockSnapshot(nowMonotonicNanos, realtimeMinusMonotonicNanos,
                    ClockSnapshot.SATURATED_BOUND, drift, nowMonotonicNanos + limits.voidAfterNanos(), status);
            reason = (disruption != null ? disruption + "; every earlier measurement is void, re-synchronizing: "
                    : "never synchronized: ") + noMajorityReason(candidates, n, quorum);
        }

        List<SourceState> states = new ArrayList<>(n);
        i = 0;
        for (Source s : sources.values()) {
            Measurement m = best[i++];
            boolean reachable = isReachable(s, nowMonotonicNanos);
            if (m == null) {
                states.add(new SourceState(s.name, kindOf(s.name), reachable, false, 0, 0, 0, false));
            } else {
                long lo = m.lowAt(nowMonotonicNanos, drift);
                long hi = m.highAt(nowMonotonicNanos, drift);
                boolean falseticker = agreement.found() && !agreement.overlaps(lo, hi);
                states.add(new SourceState(s.name, kindOf(s.name), reachable, falseticker,
                        m.epochOffsetNanos() - realtimeMinusMonotonicNanos, m.delayNanos(),
                        m.boundAt(nowMonotonicNanos, drift), true));
            }
        }
        long falsetickers = states.stream().filter(SourceState::falseticker).count();
        if (falsetickers > 0) {
            reason += "; falsetickers: " + states.stream().filter(SourceState::falseticker)
                    .map(SourceState::name).toList();
        }
        Estimate e = new Estimate(snapshot, snapshot.epochOffsetNanos() - realtimeMinusMonotonicNanos, states, reason);
        assert (candidates >= CROSS_CHECK_SOURCES) == (e.falsetickersOutvotable() >= 1)
                : "the reason and the metric count the same reachable sources";
        return e;
    }

    /** Reachable sources it takes to out-vote one falseticker: two honest ones against it. */
    static final int CROSS_CHECK_SOURCES = 3;

    /**
     * Why the status is SYNCHRONIZED, without implying a cross-check that did not happen: with fewer than
     * {@link #CROSS_CHECK_SOURCES} reachable sources a liar is believed (one source) or only stops the
     * agreement (two), so the words say the time is not cross-checked.
     */
    private static String agreementWords(int agreeing, int reachable, int configured) {
        if (reachable >= CROSS_CHECK_SOURCES) {
            return agreeing + " of " + configured + " sources agree";
        }
        String advice = "; at least " + CROSS_CHECK_SOURCES + " sources can out-vote one";
        if (reachable == 1) {
            return "not cross-checked: 1 reachable source of " + configured + ", believed alone (a falseticker "
                    + "would go unnoticed" + advice + ")";
        }
        return agreeing + " of " + configured + " sources agree, but not cross-checked: " + reachable
                + " reachable sources cannot out-vote a falseticker" + advice;
    }

    /** An earlier snapshot's offset interval, aged to a monotonic instant. */
    private record TimeIntervalBounds(long low, long high) {
        static TimeIntervalBounds of(ClockSnapshot s, long nowMonotonicNanos) {
            long b = s.boundAt(nowMonotonicNanos);
            return new TimeIntervalBounds(s.epochOffsetNanos() - b, s.epochOffsetNanos() + b);
        }
    }

    /** The part of a source name before its first ':' ({@code ntp:host:port} is "ntp"). */
    static String kindOf(String sourceName) {
        int colon = sourceName.indexOf(':');
        return colon > 0 ? sourceName.substring(0, colon) : "ntp";
    }

    private boolean isReachable(Source s, long nowMonotonicNanos) {
        return s.everMeasured && nowMonotonicNanos - s.lastMeasurementMonotonicNanos <= limits.reachableNanos();
    }

    private int countAgreeing(Measurement[] best, MajorityIntersection.Hull hull, long now) {
        int agreeing = 0;
        for (Measurement m : best) {
            if (m != null && hull.overlaps(m.lowAt(now, limits.maxDriftPpb()), m.highAt(now, limits.maxDriftPpb()))) {
                agreeing++;
            }
        }
        return agreeing;
    }

    private static String noMajorityReason(int candidates, int n, int quorum) {
        if (candidates < quorum) {
            return "only " + candidates + " of " + n + " sources reachable, " + quorum + " needed";
        }
        return "no " + quorum + " of the " + candidates + " sources with measurements agree on the time";
    }

    private static String formatSeconds(long nanos) {
        return String.format(java.util.Locale.ROOT, "%.1f", nanos / 1e9);
    }
}
