package io.gnomon.clockd.select;

/**
 * Detects disruptions of the host's clocks from readings taken over time. Pure: the caller reads the clocks
 * and passes the numbers in.
 *
 * <ul>
 *   <li><b>Suspend</b> (or a VM pause the guest kernel accounts as suspend): CLOCK_BOOTTIME minus
 *       CLOCK_MONOTONIC changes only when the kernel injects sleep time, so any growth beyond the readings'
 *       own uncertainty means CLOCK_MONOTONIC stood still while true time went on. Every offset measured
 *       against CLOCK_MONOTONIC before it is void. A reading places boottime minus monotonic to within half its
 *       bracket (the boottime read may fall anywhere in it), so only readings whose bracket is at most half the
 *       tolerance take part, as baseline or as judge: the noise of two such readings is at most half the
 *       tolerance, so growth beyond the tolerance is a suspend and the amount reported is right to within half
 *       the tolerance. A noisier reading (the thread descheduled between its clock reads) gives no verdict and
 *       the next tight one decides; as the baseline it would have let a later, tight reading see up to half its
 *       bracket of growth that never happened (a false suspend), or misstate a real one by as much.</li>
 *   <li><b>Realtime step</b>: CLOCK_REALTIME minus CLOCK_MONOTONIC changes only when the realtime clock is
 *       set (settimeofday, a stepping time daemon, the kernel inserting a leap second, a resume). Slewing never
 *       moves it: Linux keeps CLOCK_MONOTONIC as CLOCK_REALTIME plus {@code wall_to_monotonic}, an offset that
 *       only those calls change, and both clocks are read from the same clocksource with the same slewed
 *       multiplier, so adjtime/NTP slewing at up to 500 ppm (or chrony's 83 333 ppm) moves both alike. The only
 *       noise in a reading of realtime minus monotonic is therefore where in its monotonic bracket the realtime
 *       clock was read: at most {@code u = ceil(bracket / 2) + 1}. So the step test needs no rate term.
 *       <p>It is anchored to a <em>baseline</em> reading (set at the first conclusive reading and at each
 *       detected step), never to the previous one, so small steps cannot add up unseen. A reading {@code j} is
 *       conclusive when {@code u_j + u_b <= H / 2} ({@code H} = {@code stepToleranceNanos}); then
 *       {@code |K_j - K_b| + u_j + u_b > H} (estimated values) is a step, and anything else proves that the true
 *       realtime-minus-monotonic moved by at most {@code H} since the baseline. No false alarm is possible: without
 *       a step the estimates differ by at most {@code u_j + u_b <= H / 2}. Inconclusive readings (a thread
 *       descheduled between the clock reads) give no verdict and leave the baseline alone; the next conclusive one
 *       decides. A step is reported with the window it happened in: after the last conclusive reading, before
 *       this one. Offsets measured against CLOCK_MONOTONIC are unaffected by it; readings of realtime-based
 *       sources (chronyd, ptp4l) whose evidence spans it are not (ClockEstimator voids them).</li>
 * </ul>
 */
public final class DisruptionDetector {

    public enum Kind { SUSPEND, REALTIME_STEP }

    /**
     * @param kind             what happened
     * @param amountNanos      suspend: time the monotonic clock missed; step: how far realtime moved (signed)
     * @param atMonotonicNanos when it was noticed
     * @param sinceMonotonicNanos it happened after this instant (the previous conclusive reading's start) and
     *                            before {@code atMonotonicNanos}; {@link Long#MIN_VALUE} when unknown
     */
    public record Disruption(Kind kind, long amountNanos, long atMonotonicNanos, long sinceMonotonicNanos) {
        public Disruption {
            if (sinceMonotonicNanos != Long.MIN_VALUE && sinceMonotonicNanos - atMonotonicNanos > 0) {
                throw new IllegalArgumentException("since " + sinceMonotonicNanos + " after at " + atMonotonicNanos);
            }
        }

        /** A disruption whose start is unknown: it may have happened at any time before {@code atMonotonicNanos}. */
        public Disruption(Kind kind, long amountNanos, long atMonotonicNanos) {
            this(kind, amountNanos, atMonotonicNanos, Long.MIN_VALUE);
        }

        public String describe() {
            return switch (kind) {
                case SUSPEND -> String.format(java.util.Locale.ROOT,
                        "host suspended or paused for %.3f s (CLOCK_BOOTTIME jumped against CLOCK_MONOTONIC)",
                        amountNanos / 1e9);
                case REALTIME_STEP -> String.format(java.util.Locale.ROOT,
                        "system realtime clock stepped by %+.6f s", amountNanos / 1e9);
            };
        }
    }

    /**
     * 10 us: the default {@code H} of the step test. A conclusive reading needs brackets of a few microseconds
     * (u_j + u_b <= 5 us), which nearly every reading has (the JDK's nanoTime and Instant.now are vDSO calls of
     * tens of nanoseconds; measured here: 240 of 4.4 million back-to-back readings had u above 5 us).
     */
    public static final long DEFAULT_STEP_TOLERANCE_NANOS = 10_000;

    private final long toleranceNanos;
    private final long stepToleranceNanos;
    private boolean primed;
    private long bootMinusMono;
    /** The step test's baseline: realtime minus monotonic and its uncertainty; valid once stepPrimed. */
    private boolean stepPrimed;
    private long realMinusMono;
    private long realMinusMonoUncertaintyNanos;
    /** Start of the last conclusive reading's realtime bracket: a step seen next happened after it. */
    private long lastConclusiveMonotonicNanos = Long.MIN_VALUE;
    /** Start of the last reading the suspend test could judge: a suspend seen next happened after it. */
    private long lastSuspendConclusiveMonotonicNanos = Long.MIN_VALUE;
    private long realtimeWatchedFromMonotonicNanos = Long.MAX_VALUE;
    private boolean lastConclusive;

    /** @param toleranceNanos changes up to this much (plus the reading's bracket) are reading noise, both clocks */
    public DisruptionDetector(long toleranceNanos) {
        this(toleranceNanos, toleranceNanos);
    }

    /**
     * @param suspendToleranceNanos boottime-minus-monotonic growth up to this (plus the bracket) is noise
     * @param stepToleranceNanos    {@code H} of the step test (class comment): a step of more than {@code H} is
     *                              always reported, and an unreported change is at most {@code H}
     */
    public DisruptionDetector(long suspendToleranceNanos, long stepToleranceNanos) {
        if (suspendToleranceNanos < 0) {
            throw new IllegalArgumentException("toleranceNanos must be >= 0, was " + suspendToleranceNanos);
        }
        if (stepToleranceNanos < 4) {
            throw new IllegalArgumentException("stepToleranceNanos must be >= 4, was " + stepToleranceNanos);
        }
        this.toleranceNanos = suspendToleranceNanos;
        this.stepToleranceNanos = stepToleranceNanos;
    }

    /**
     * Start of the step test's baseline reading: realtime is watched for steps from then on. {@link Long#MAX_VALUE}
     * before the first conclusive reading.
     */
    public long realtimeWatchedFromMonotonicNanos() {
        return realtimeWatchedFromMonotonicNanos;
    }

    /**
     * Whether the last reading was conclusive for the step test: it either reported a step or proved that
     * realtime minus monotonic is within {@code H} of the baseline at that reading.
     */
    public boolean lastReadingConclusive() {
        return lastConclusive;
    }

    /** {@code H}: the largest change of realtime minus monotonic that can go unreported. */
    public long stepToleranceNanos() {
        return stepToleranceNanos;
    }

    /**
     * One reading: monotonic before, boottime and realtime, monotonic after. Returns the disruption seen since
     * the previous reading (a suspend wins over a step seen in the same reading), or null.
     *
     * @param boottimeNanos CLOCK_BOOTTIME, or {@link Long#MIN_VALUE} when unavailable (no suspend detection)
     */
    public Disruption observe(long monotonicBeforeNanos, long boottimeNanos, long realtimeEpochNanos,
                              long monotonicAfterNanos) {
        return observe(monotonicBeforeNanos, boottimeNanos, monotonicAfterNanos, realtimeEpochNanos,
                monotonicBeforeNanos, monotonicAfterNanos);
    }

    /**
     * Like {@link #observe(long, long, long, long)}, with the realtime reading's own (tighter) monotonic bracket
     * {@code [realtimeBracketBeforeNanos, realtimeBracketAfterNanos]}, inside {@code [monotonicBefore, monotonicAfter]}.
     */
    public Disruption observe(long monotonicBeforeNanos, long boottimeNanos, long monotonicAfterNanos,
                              long realtimeEpochNanos, long realtimeBracketBeforeNanos, long realtimeBracketAfterNanos) {
        long bracket = monotonicAfterNanos - monotonicBeforeNanos;
        if (bracket < 0 || realtimeBracketAfterNanos - realtimeBracketBeforeNanos < 0) {
            throw new IllegalArgumentException("monotonic clock went backwards: " + monotonicBeforeNanos + " then "
                    + monotonicAfterNanos);
        }
        long mid = monotonicBeforeNanos + bracket / 2;
        long boot = boottimeNanos == Long.MIN_VALUE ? Long.MIN_VALUE : boottimeNanos - mid;
        long realBracket = realtimeBracketAfterNanos - realtimeBracketBeforeNanos;
        long real = realtimeEpochNanos - (realtimeBracketBeforeNanos + realBracket / 2);
        long realUncertainty = (realBracket + 1) / 2 + 1;
        Disruption d = null;
        boolean suspendConclusive = bracket <= toleranceNanos / 2;
        if (primed && suspendConclusive) {
            long slack = toleranceNanos + bracket;
            if (boot != Long.MIN_VALUE && bootMinusMono != Long.MIN_VALUE && boot - bootMinusMono > slack) {
                // The resume moved realtime too: after the last reading that ruled out both.
                d = new Disruption(Kind.SUSPEND, boot - bootMinusMono, monotonicAfterNanos,
                        Math.min(lastConclusiveMonotonicNanos, lastSuspendConclusiveMonotonicNanos));
            }
        }
        boolean conclusive = realUncertainty <= stepToleranceNanos / 4
                && (!stepPrimed || realUncertainty + realMinusMonoUncertaintyNanos <= stepToleranceNanos / 2);
        if (d == null && stepPrimed && conclusive) {
            long change = real - realMinusMono;
            if (change == Long.MIN_VALUE
                    || Math.abs(change) + realUncertainty + realMinusMonoUncertaintyNanos > stepToleranceNanos) {
                d = new Disruption(Kind.REALTIME_STEP, change, monotonicAfterNanos, lastConclusiveMonotonicNanos);
            }
        }
        // Keep the first view when nothing happened, so noise cannot accumulate into a false alarm, nor small
        // steps into an unseen large one.
        if (suspendConclusive && (!primed || d != null)) {
            bootMinusMono = boot;
            primed = true;
        }
        if (suspendConclusive) {
            lastSuspendConclusiveMonotonicNanos = monotonicBeforeNanos;
        }
        if (conclusive && (!stepPrimed || d != null)) {
            if (!stepPrimed && realtimeWatchedFromMonotonicNanos == Long.MAX_VALUE) {
                realtimeWatchedFromMonotonicNanos = realtimeBracketBeforeNanos;
            }
            realMinusMono = real;
            realMinusMonoUncertaintyNanos = realUncertainty;
            stepPrimed = true;
        } else if (d != null && d.kind() == Kind.SUSPEND) {
            stepPrimed = false; // realtime moved with the resume; the next conclusive reading is the baseline
        }
        if (conclusive) {
            lastConclusiveMonotonicNanos = realtimeBracketBeforeNanos;
        }
        lastConclusive = conclusive;
        return d;
    }
}
