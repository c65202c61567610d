package io.gnomon.paxos.server;

import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.ClockUnavailableException;
import io.gnomon.truetime.TimeInterval;
import io.gnomon.truetime.TrueTime;

/**
 * A replica's TrueTime with faults the verification harness injects, all truthful: a step moves the midpoint
 * and widens the interval by the same amount, a drift runs the midpoint off at a rate and widens it at that rate,
 * so the interval still contains everything the underlying one did; an outage makes {@link #now()} throw, as
 * when the clock daemon restarts. Only what the harness asks for changes; without faults it is the base clock.
 */
public final class FaultableTrueTime implements TrueTime {
    private final TrueTime base;

    private record Fault(long stepNanos, double driftPpm, long driftStartNanos, boolean outage,
                         long unavailableUntilNanos) {
    }

    private volatile Fault fault = new Fault(0, 0, System.nanoTime(), false, 0);

    public FaultableTrueTime(TrueTime base) {
        this.base = base;
    }

    /** Adds a step, sets a drift rate (from now), and an outage of {@code unavailableMillis}; or clears first. */
    public synchronized String inject(long stepNanos, double driftPpm, long unavailableMillis, boolean clear) {
        long now = System.nanoTime();
        Fault f = clear ? new Fault(0, 0, now, false, 0) : fault;
        // Fold the drift so far into the step, so a new rate starts from where the old one got to.
        long drifted = driftOffset(f, now);
        boolean outage = unavailableMillis > 0 || f.outage();
        long until = unavailableMillis > 0 ? now + unavailableMillis * 1_000_000L : f.unavailableUntilNanos();
        fault = new Fault(f.stepNanos() + drifted + stepNanos, driftPpm, now, outage, until);
        return "step " + fault.stepNanos() + " ns, drift " + driftPpm + " ppm, unavailable "
                + Math.max(0, unavailableMillis) + " ms";
    }

    private static long driftOffset(Fault f, long nowNanos) {
        return (long) ((nowNanos - f.driftStartNanos()) * f.driftPpm() / 1e6);
    }

    @Override
    public TimeInterval now() {
        Fault f = fault;
        long mono = System.nanoTime();
        if (f.outage() && mono - f.unavailableUntilNanos() < 0) {
            throw new ClockUnavailableException(ClockStatus.UNKNOWN, "injected outage (clock daemon restarting)");
        }
        TimeInterval t = base.now();
        long off = f.stepNanos() + driftOffset(f, mono);
        if (off == 0) {
            return t;
        }
        long widen = Math.abs(off);
        return new TimeInterval(t.earliestEpochNanos() + off - widen, t.latestEpochNanos() + off + widen);
    }

    @Override
    public ClockStatus status() {
        return base.status();
    }
}
