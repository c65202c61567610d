package io.gnomon.clockd.select;

/**
 * Detects disruptions of the host's clocks from readings taken over time. Pure: the caller reads the clocks
 * and passes the numbers in.
 *
 * <ul>
 *   <li><b>Suspend</b> (or a VM pause the guest kernel accounts as suspend): CLOCK_BOOTTIME minus
 *       CLOCK_MONOTONIC changes only when the kernel injects sleep time, so any growth beyond the readings'
 *       own uncertainty means CLOCK_MONOTONIC stood still while true time went on. Every offset measured
 *       against CLOCK_MONOTONIC before it is void.</li>
 *   <li><b>Realtime step</b>: CLOCK_REALTIME minus CLOCK_MONOTONIC changes only when the realtime clock is
 *       set (settimeofday, a stepping time daemon, the kernel inserting a leap second); slewing moves both
 *       clocks alike. Offsets measured against CLOCK_MONOTONIC are unaffected, but readings of realtime-based
 *       sources taken across the step are not.</li>
 * </ul>
 */
public final class DisruptionDetector {

    public enum Kind { SUSPEND, REALTIME_STEP }

    /**
     * @param kind             what happened
     * @param amountNanos      suspend: time the monotonic clock missed; step: how far realtime moved (signed)
     * @param atMonotonicNanos when it was noticed
     */
    public record Disruption(Kind kind, long amountNanos, long atMonotonicNanos) {
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

    private final long toleranceNanos;
    private boolean primed;
    private long bootMinusMono;
    private long realMinusMono;

    /** @param toleranceNanos changes up to this much (plus the reading's bracket) are reading noise */
    public DisruptionDetector(long toleranceNanos) {
        if (toleranceNanos < 0) {
            throw new IllegalArgumentException("toleranceNanos must be >= 0, was " + toleranceNanos);
        }
        this.toleranceNanos = toleranceNanos;
    }

    /**
     * One reading: monotonic before, boottime and realtime, monotonic after. Returns the disruption seen since
     * the previous reading (a suspend wins over a step seen in the same reading), or null.
     *
     * @param boottimeNanos CLOCK_BOOTTIME, or {@link Long#MIN_VALUE} when unavailable (no suspend detection)
     */
    public Disruption observe(long monotonicBeforeNanos, long boottimeNanos, long realtimeEpochNanos,
                              long monotonicAfterNanos) {
        long bracket = monotonicAfterNanos - monotonicBeforeNanos;
        if (bracket < 0) {
            throw new IllegalArgumentException("monotonic clock went backwards: " + monotonicBeforeNanos + " then "
                    + monotonicAfterNanos);
        }
        long mid = monotonicBeforeNanos + bracket / 2;
        long boot = boottimeNanos == Long.MIN_VALUE ? Long.MIN_VALUE : boottimeNanos - mid;
        long real = realtimeEpochNanos - mid;
        Disruption d = null;
        if (primed) {
            long slack = toleranceNanos + bracket;
            if (boot != Long.MIN_VALUE && bootMinusMono != Long.MIN_VALUE && boot - bootMinusMono > slack) {
                d = new Disruption(Kind.SUSPEND, boot - bootMinusMono, monotonicAfterNanos);
            } else if (Math.abs(real - realMinusMono) > slack) {
                d = new Disruption(Kind.REALTIME_STEP, real - realMinusMono, monotonicAfterNanos);
            }
        }
        // Keep the smallest bracket's view when nothing happened, so noise cannot accumulate into a false alarm.
        if (!primed || d != null) {
            bootMinusMono = boot;
            realMinusMono = real;
            primed = true;
        }
        return d;
    }
}
