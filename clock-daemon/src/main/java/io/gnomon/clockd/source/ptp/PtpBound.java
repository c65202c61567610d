package io.gnomon.clockd.source.ptp;

import io.gnomon.clockd.SystemClocks;
import io.gnomon.clockd.select.Measurement;
import io.gnomon.clockd.select.RejectReason;
import io.gnomon.clockd.source.ptp.PtpManagement.CurrentDataSet;
import io.gnomon.clockd.source.ptp.PtpManagement.ParentDataSet;
import io.gnomon.clockd.source.ptp.PtpManagement.Rejected;
import io.gnomon.clockd.source.ptp.PtpManagement.TimeStatus;
import io.gnomon.truetime.ClockSnapshot;

import java.time.Duration;

/**
 * Turns what ptp4l reports (TIME_STATUS_NP, PARENT_DATA_SET, CURRENT_DATA_SET) into a {@link Measurement}: an
 * interval for true time minus CLOCK_MONOTONIC. Pure: the runtime passes the replies and a bracketed
 * realtime/monotonic reading taken right after the last reply arrived.
 *
 * <h2>What ptp4l must be doing</h2>
 * ptp4l runs with <b>software timestamping</b> ({@code -S}) and the <b>null servo</b>
 * ({@code --clock_servo=nullf}): it then measures CLOCK_REALTIME against its master and never steers it. Its
 * TIME_STATUS_NP gives, for the last Sync: {@code ingress} (the local CLOCK_REALTIME timestamp of its arrival) and
 * {@code master_offset = ingress - origin - path_delay - corrections} (linuxptp clock.c), i.e. slave minus
 * master. So at the instant the Sync arrived, master time = realtime - master_offset. With hardware timestamping
 * ptp4l measures the NIC's clock, not CLOCK_REALTIME, and with a steering servo the offset is corrected right
 * after it is reported; neither fits this derivation (a PHC in TAI shows as an ingress 37 s in the future and is
 * rejected as {@link RejectReason#PTP_STALE}; a PHC in UTC or a steering servo cannot be detected from here).
 *
 * <h2>The estimate</h2>
 * With {@code R} the realtime reading and {@code M} the midpoint of its monotonic bracket:
 * <pre>
 *   epochOffsetNanos = (R - master_offset) - M
 * </pre>
 * because realtime - master_offset is (an estimate of) true time, and it stays so between the Sync and now as
 * long as nobody steps or slews the realtime clock faster than {@code maxDriftPpb} (ptp4l does not: nullf).
 *
 * <h2>The half-width, term by term (each an upper bound)</h2>
 * <ol>
 * <li><b>Path asymmetry: {@code meanPathDelay}</b> (CURRENT_DATA_SET, rounded up). ptp4l subtracted its mean path
 * delay {@code d} as if the Sync's one-way delay {@code d_ms} were exactly {@code d}, so its offset is off by
 * {@code d_ms - d}. The master's software transmit timestamp is taken before the packet leaves and the slave's
 * receive timestamp after it arrives, so the measured {@code d_ms >= 0} and the error is {@code >= -d}: the
 * one-way delay error is at most {@code d} on that side whatever the asymmetry. On the other side, {@code d_ms}
 * exceeds {@code 2d} only when this Sync was slower than the average exchange; that excess is the next term's job.
 * </li>
 * <li><b>Timestamping error allowance: {@code timestampErrorNanos}</b> (configured). How far one Sync's measured
 * one-way delay may exceed ptp4l's filtered mean path delay, plus the two software timestamps' own errors
 * (interrupt and scheduling latency on both ends). It is an <i>assumption</i>, not evidence; the default,
 * {@link Config#DEFAULT_TIMESTAMP_ERROR_NANOS}, is far above what was measured on this project's 2-core machines
 * (see that constant).</li>
 * <li><b>Grandmaster error: clockAccuracy</b> (PARENT_DATA_SET, IEEE 1588-2008 table 6 upper limits). The
 * grandmaster's claim of its own distance from true time. 0xFE (unknown), reserved and profile-specific values,
 * and 0x31 ("worse than 10 s") give no bound: rejected as {@link RejectReason#PTP_UNKNOWN_ACCURACY}, unless
 * {@link Config#unknownAccuracyNanos()} names a substitute (never chosen silently; ptp4l's own default
 * configuration claims 0xFE, so a stock ptp4l grandmaster is rejected until its operator states an accuracy
 * with {@code clockAccuracy} or configures a substitute here).</li>
 * <li><b>Bracket: {@link SystemClocks.Pair#uncertaintyNanos()}</b>. R was read somewhere inside the monotonic
 * bracket; attributing it to the midpoint errs by at most half the bracket, rounded up.</li>
 * <li><b>Rounding: 1 ns.</b> master_offset is whole nanoseconds (ptp4l truncates the sub-nanosecond part of the
 * correction field).</li>
 * <li><b>Drift since the Sync: {@code ceil(|R - ingress| * maxDriftPpb)}</b>. The offset was true at the Sync's
 * arrival; since then the local clock's rate may have differed from true time by {@code maxDriftPpb}. Realtime
 * and monotonic advance at the same rate on Linux (both follow adjtimex frequency and slew; only steps differ),
 * so realtime elapsed time measures the age. Applied last, by {@link ClockSnapshot#boundAt}, to the sum of the
 * others.</li>
 * </ol>
 * <b>Realtime steps.</b> The offset holds only if the realtime clock was not stepped between the Sync's ingress
 * and R: a step in between moves R without moving the master's time, so the midpoint is wrong by the step. This
 * class cannot see steps (a backwards one larger than the age shows as a negative age and is rejected); it states
 * the Sync's ingress as the measurement's {@link Measurement#realtimeSinceMonotonicNanos()}, and the estimator
 * voids the measurement if the daemon's step detector reports a step inside [ingress, R], and widens it by the
 * largest step that detector can miss ({@code ClockEstimator.Limits.undetectedRealtimeStepNanos}).
 * Assumed and not checked here: stepsRemoved boundary clocks in between are honest (their residence-time errors
 * are within the allowance).
 * {@code delayNanos} of the measurement is {@code 2 * meanPathDelay}, the round trip it reflects.
 */
public final class PtpBound {

    private PtpBound() {
    }

    /** What a set of replies turned into: a measurement or a rejection ({@link PtpManagement.Rejected}). */
    public sealed interface Result permits Accepted, PtpManagement.Rejected {
    }

    /** A valid set of replies and the measurement it gives. */
    public record Accepted(Measurement measurement) implements Result {
        public Accepted {
            if (measurement == null) {
                throw new IllegalArgumentException("measurement must not be null");
            }
        }
    }

    /**
     * The bound's configuration, every value with its unit.
     *
     * @param maxDriftPpb          largest rate error of the local clocks against true time, in ppb of local time
     * @param timestampErrorNanos  allowance for software timestamping and one Sync's delay above the mean path
     *                             delay (term 2 of the class comment); &gt;= 0
     * @param unknownAccuracyNanos the grandmaster error to assume when its clockAccuracy gives no bound, or
     *                             {@link #REJECT_UNKNOWN_ACCURACY} (-1, the default) to reject such replies
     * @param maxIngressAgeNanos   a Sync older than this (realtime now minus ingress) is {@link RejectReason#PTP_STALE}
     */
    public record Config(long maxDriftPpb, long timestampErrorNanos, long unknownAccuracyNanos, long maxIngressAgeNanos) {
        /** {@link #unknownAccuracyNanos()} value: reject replies whose grandmaster accuracy is unknown. */
        public static final long REJECT_UNKNOWN_ACCURACY = -1;
        /** 200 ppm as ppb of local time (docs/clock-accuracy.md: ceil(d / (1 - d))). */
        public static final long DEFAULT_MAX_DRIFT_PPB = 200_041;
        /**
         * 100 us. Measured on this project's 2-core machine (ptp4l 3.1.1, veth between two network namespaces,
         * software timestamping, nullf servo): |master_offset| against the shared clock, i.e. the whole timestamping
         * and asymmetry error, over 589 Syncs in 10 minutes while a benchmark and a Maven build loaded both cores:
         * at most 17.6 us, above 5 us once, typically under 2 us, with mean path delays of 1.8 to 2.9 us. Real
         * networks with switches and busier hosts see tens of microseconds; 100 us keeps a wide margin over what
         * was seen here and is still small next to NTP across a network. Tighten only with measurements.
         */
        public static final long DEFAULT_TIMESTAMP_ERROR_NANOS = 100_000;
        /** 5 s: ptp4l's default Sync interval is 1 s; five missed Syncs mean the master is gone or ptp4l is stuck. */
        public static final long DEFAULT_MAX_INGRESS_AGE_NANOS = Duration.ofSeconds(5).toNanos();

        public Config {
            if (maxDriftPpb < 0 || maxDriftPpb > ClockSnapshot.MAX_DRIFT_PPB_LIMIT) {
                throw new IllegalArgumentException("maxDriftPpb must be in [0, " + ClockSnapshot.MAX_DRIFT_PPB_LIMIT
                        + "], was " + maxDriftPpb);
            }
            if (timestampErrorNanos < 0 || timestampErrorNanos > ClockSnapshot.SATURATED_BOUND) {
                throw new IllegalArgumentException("timestampErrorNanos must be in [0, "
                        + ClockSnapshot.SATURATED_BOUND + "], was " + timestampErrorNanos);
            }
            if (unknownAccuracyNanos < REJECT_UNKNOWN_ACCURACY || unknownAccuracyNanos > ClockSnapshot.SATURATED_BOUND) {
                throw new IllegalArgumentException("unknownAccuracyNanos must be -1 (reject) or in [0, "
                        + ClockSnapshot.SATURATED_BOUND + "], was " + unknownAccuracyNanos);
            }
            if (maxIngressAgeNanos <= 0) {
                throw new IllegalArgumentException("maxIngressAgeNanos must be > 0, was " + maxIngressAgeNanos);
            }
        }

        /** The defaults above: reject unknown accuracy. */
        public static Config defaults() {
            return new Config(DEFAULT_MAX_DRIFT_PPB, DEFAULT_TIMESTAMP_ERROR_NANOS, REJECT_UNKNOWN_ACCURACY,
                    DEFAULT_MAX_INGRESS_AGE_NANOS);
        }
    }

    /**
     * The upper limit, in whole nanoseconds rounded up, of a clockAccuracy value (IEEE 1588-2008 table 6, with the
     * sub-nanosecond values 0x17-0x1F that IEEE 1588-2019 added), or -1 if the value gives no upper bound: 0xFE
     * (unknown), 0x31 (greater than 10 s), 0x80-0xFD (profile-specific) and every reserved value.
     */
    public static long clockAccuracyNanos(int clockAccuracy) {
        return switch (clockAccuracy) {
            case 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D -> 1; // 1 ps ... 1 ns
            case 0x1E -> 3;             // 2.5 ns
            case 0x1F -> 10;
            case 0x20 -> 25;
            case 0x21 -> 100;
            case 0x22 -> 250;
            case 0x23 -> 1_000;
            case 0x24 -> 2_500;
            case 0x25 -> 10_000;
            case 0x26 -> 25_000;
            case 0x27 -> 100_000;
            case 0x28 -> 250_000;
            case 0x29 -> 1_000_000;
            case 0x2A -> 2_500_000;
            case 0x2B -> 10_000_000;
            case 0x2C -> 25_000_000;
            case 0x2D -> 100_000_000;
            case 0x2E -> 250_000_000;
            case 0x2F -> 1_000_000_000;
            case 0x30 -> 10_000_000_000L;
            default -> -1;
        };
    }

    /**
     * Combines one poll's three replies and the clock reading taken right after them into a measurement.
     *
     * @param timeStatus  TIME_STATUS_NP
     * @param parent      PARENT_DATA_SET
     * @param current     CURRENT_DATA_SET
     * @param pair        CLOCK_REALTIME bracketed by CLOCK_MONOTONIC, read after the last reply arrived
     * @param config      drift, allowance, accuracy substitute and maximum age
     * @return the measurement at the bracket's midpoint, or why the replies give none
     */
    public static Result measure(TimeStatus timeStatus, ParentDataSet parent, CurrentDataSet current,
                                 SystemClocks.Pair pair, Config config) {
        if (timeStatus == null || parent == null || current == null || pair == null || config == null) {
            throw new IllegalArgumentException("timeStatus, parent, current, pair and config must not be null");
        }
        if (pair.monotonicAfterNanos() - pair.monotonicBeforeNanos() < 0) {
            throw new IllegalArgumentException("pair's bracket is inverted: " + pair);
        }
        if (!timeStatus.gmPresent()) {
            return new Rejected(RejectReason.PTP_NO_GRANDMASTER, "gmPresent false (ptp4l is its own grandmaster "
                    + timeStatus.gmIdentity() + ")");
        }
        if (!timeStatus.gmIdentity().equals(parent.grandmasterIdentity())) {
            return new Rejected(RejectReason.PTP_INCONSISTENT, "grandmaster " + timeStatus.gmIdentity()
                    + " in TIME_STATUS_NP but " + parent.grandmasterIdentity() + " in PARENT_DATA_SET");
        }
        int accuracyCode = parent.grandmasterClockQuality().clockAccuracy();
        long accuracyNanos = clockAccuracyNanos(accuracyCode);
        if (accuracyNanos < 0) {
            if (config.unknownAccuracyNanos() == Config.REJECT_UNKNOWN_ACCURACY) {
                return new Rejected(RejectReason.PTP_UNKNOWN_ACCURACY, "grandmaster " + parent.grandmasterIdentity()
                        + " clockAccuracy 0x" + Integer.toHexString(accuracyCode) + " gives no upper bound");
            }
            accuracyNanos = config.unknownAccuracyNanos();
        }
        if (timeStatus.ingressTimeNanos() == 0) {
            return new Rejected(RejectReason.PTP_NOT_READY, "ingress_time 0: no Sync received yet");
        }
        if (current.meanPathDelayScaledNs() < 0) {
            return new Rejected(RejectReason.PTP_IMPLAUSIBLE, "meanPathDelay " + current.meanPathDelayScaledNs()
                    + " (ns * 2^16) is negative");
        }
        if (current.meanPathDelayScaledNs() == 0) {
            return new Rejected(RejectReason.PTP_NOT_READY, "meanPathDelay 0: no path delay measured yet");
        }
        long ageNanos;
        long epochOffsetNanos;
        try {
            ageNanos = Math.subtractExact(pair.realtimeEpochNanos(), timeStatus.ingressTimeNanos());
            epochOffsetNanos = Math.subtractExact(pair.realtimeMinusMonotonicNanos(), timeStatus.masterOffsetNanos());
        } catch (ArithmeticException overflow) {
            return new Rejected(RejectReason.PTP_IMPLAUSIBLE, "overflow: realtime " + pair.realtimeEpochNanos()
                    + ", ingress_time " + timeStatus.ingressTimeNanos() + ", master_offset "
                    + timeStatus.masterOffsetNanos());
        }
        if (ageNanos < 0) {
            return new Rejected(RejectReason.PTP_STALE, "ingress_time " + timeStatus.ingressTimeNanos()
                    + " is " + -ageNanos + " ns after realtime now: the realtime clock stepped back, or ptp4l does not"
                    + " timestamp with CLOCK_REALTIME (hardware timestamping?)");
        }
        if (ageNanos > config.maxIngressAgeNanos()) {
            return new Rejected(RejectReason.PTP_STALE, "last Sync " + ageNanos / 1_000_000 + " ms ago > max "
                    + config.maxIngressAgeNanos() / 1_000_000 + " ms");
        }

        long pathDelayNanos = current.meanPathDelayNanosCeil(); // > 0, < 2^47
        long halfWidthNanos = saturatedAdd(pathDelayNanos, config.timestampErrorNanos());
        halfWidthNanos = saturatedAdd(halfWidthNanos, accuracyNanos);
        halfWidthNanos = saturatedAdd(halfWidthNanos, pair.uncertaintyNanos());
        halfWidthNanos = saturatedAdd(halfWidthNanos, ROUNDING_NANOS);
        long boundNanos = ClockSnapshot.boundAt(halfWidthNanos, config.maxDriftPpb(), ageNanos);
        long delayNanos = saturatedAdd(pathDelayNanos, pathDelayNanos);
        long atMonotonicNanos = pair.monotonicBeforeNanos()
                + (pair.monotonicAfterNanos() - pair.monotonicBeforeNanos()) / 2;
        assert boundNanos >= Math.min(pathDelayNanos + config.timestampErrorNanos(), ClockSnapshot.SATURATED_BOUND)
                : "bound covers the path delay and the allowance";
        assert boundNanos >= halfWidthNanos : "aging only widens";
        // The offset is as good as the realtime clock's scale from the Sync's ingress to R: the Sync's instant,
        // converted with the realtime clock as it is now (early by the bracket), is where a step would spoil it.
        long ingressMonotonicNanos = timeStatus.ingressTimeNanos() - pair.realtimeMinusMonotonicNanos()
                - pair.uncertaintyNanos();
        return new Accepted(new Measurement(atMonotonicNanos, epochOffsetNanos, boundNanos, delayNanos,
                ingressMonotonicNanos));
    }

    /** master_offset is whole nanoseconds, truncated by ptp4l. */
    static final long ROUNDING_NANOS = 1;

    private static long saturatedAdd(long a, long b) {
        long sum = a + b;
        return sum < 0 || sum > ClockSnapshot.SATURATED_BOUND ? ClockSnapshot.SATURATED_BOUND : sum;
    }
}
