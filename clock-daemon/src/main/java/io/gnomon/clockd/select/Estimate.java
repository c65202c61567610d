package io.gnomon.clockd.select;

import io.gnomon.truetime.ClockSnapshot;

import java.util.List;

/**
 * One output of the estimator: the snapshot to publish, the state of every source, and in plain words why
 * the status is what it is.
 *
 * @param snapshot           what readers extrapolate from (also written to the segment)
 * @param offsetNanos        true time minus the local system (realtime) clock, per the snapshot's midpoint
 * @param sources            one entry per configured source, in configuration order
 * @param reason             e.g. "3 of 3 sources agree" or "no majority: 1 of 3 sources reachable"
 */
public record Estimate(ClockSnapshot snapshot, long offsetNanos, List<SourceState> sources, String reason) {
    public Estimate {
        sources = List.copyOf(sources);
    }

    /**
     * How many falsetickers the reachable sources can out-vote: a majority of them must stay honest, so of
     * {@code r} reachable sources at most {@code (r - 1) / 2} may lie. 0 with one or two: the time is not
     * cross-checked (one source is believed alone; two that disagree cannot say which is wrong). RFC 5905's
     * selection and chrony's documentation ask for at least three sources, or four to survive losing one.
     */
    public int falsetickersOutvotable() {
        long reachable = sources.stream().filter(s -> s.reachable() && s.hasMeasurement()).count();
        return (int) Math.max(0, (reachable - 1) / 2);
    }

    /** Number of sources currently marked falsetickers. */
    public long falsetickerCount() {
        return sources.stream().filter(SourceState::falseticker).count();
    }
}
