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
     */
    public record Limits(long maxDriftPpb, int samplesPerSource, long maxSampleAgeNanos, long reachableNanos,
                         long voidAfterNanos) {
        public Limits {
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

    private static final class Source {
        final String name;
        final Measurement[] ring;
        int next;
        int size;
        long lastMeasurementMonotonicNanos;
        boolean everMeasured;

        Source(String name, int capacity) {
            this.name = name;
            this.ring = new Measurement[capacity];
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

    /** An estimator for the named sources (order kept in reports); at least one. */
    public ClockEstimator(List<String> sourceNames, Limits limits) {
        if (sourceNames.isEmpty()) {
            throw new IllegalArgumentException("at least one source is needed");
        }
        this.limits = limits;
        for (String name : sourceNames) {
            if (sources.putIfAbsent(name, new Source(name, limits.samplesPerSource())) != null) {
                throw new IllegalArgumentException("duplicate source name " + name);
            }
        }
    }

    /** Records a measurement; measurements from unknown sources are an error of the caller. */
    public void onMeasurement(String sourceName, Measurement m) {
        Source s = sources.get(sourceName);
        if (s == null) {
            throw new IllegalArgumentException("unknown source " + sourceName);
        }
        s.add(m);
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
            // Midpoint rounded down and half-width rounded up: [mid - b, mid + b] covers [low, high].
            long mid = Math.floorDiv(hull.low(), 2) + Math.floorDiv(hull.high(), 2)
                    + ((hull.low() & 1) + (hull.high() & 1)) / 2;
            long bound = Math.max(mid - hull.low(), hull.high() - mid);
            snapshot = new ClockSnapshot(nowMonotonicNanos, mid, bound, drift,
                    nowMonotonicNanos + limits.voidAfterNanos(), ClockStatus.SYNCHRONIZED);
            lastSynchronized = snapshot;
            reason = countAgreeing(best, agreement, nowMonotonicNanos) + " of " + n + " sources agree";
            if (evidence < n) {
                reason += "; interval covers what " + (evidence - (n - quorum)) + " of the " + evidence
                        + " measured sources allow (" + (n - evidence) + " without a measurement)";
            }
        } else if (lastSynchronized != null) {
            long bound = lastSynchronized.boundAt(nowMonotonicNanos);
            long offset = lastSynchronized.epochOffsetNanos();
            snapshot = new ClockSnapshot(nowMonotonicNanos, offset, bound, drift,
                    nowMonotonicNanos + limits.voidAfterNanos(), ClockStatus.FREE_RUNNING);
            reason = "free-running for " + formatSeconds(nowMonotonicNanos - lastSynchronized.asOfMonotonicNanos())
                    + " s: " + noMajorityReason(candidates, n, quorum);
        } else {
            snapshot = new ClockSnapshot(nowMonotonicNanos, realtimeMinusMonotonicNanos,
                    ClockSnapshot.SATURATED_BOUND, drift, nowMonotonicNanos + limits.voidAfterNanos(),
                    ClockStatus.UNSYNCHRONIZED);
            reason = "never synchronized: " + noMajorityReason(candidates, n, quorum);
        }

        List<SourceState> states = new ArrayList<>(n);
        i = 0;
        for (Source s : sources.values()) {
            Measurement m = best[i++];
            boolean reachable = isReachable(s, nowMonotonicNanos);
            if (m == null) {
                states.add(new SourceState(s.name, "ntp", reachable, false, 0, 0, 0, false));
            } else {
                long lo = m.lowAt(nowMonotonicNanos, drift);
                long hi = m.highAt(nowMonotonicNanos, drift);
                boolean falseticker = agreement.found() && !agreement.overlaps(lo, hi);
                states.add(new SourceState(s.name, "ntp", reachable, falseticker,
                        m.epochOffsetNanos() - realtimeMinusMonotonicNanos, m.delayNanos(),
                        m.boundAt(nowMonotonicNanos, drift), true));
            }
        }
        long falsetickers = states.stream().filter(SourceState::falseticker).count();
        if (falsetickers > 0) {
            reason += "; falsetickers: " + states.stream().filter(SourceState::falseticker)
                    .map(SourceState::name).toList();
        }
        return new Estimate(snapshot, snapshot.epochOffsetNanos() - realtimeMinusMonotonicNanos, states, reason);
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
