package io.gnomon.truetime.testing;

import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.ClockUnavailableException;
import io.gnomon.truetime.MonotonicClock;
import io.gnomon.truetime.RealtimeClock;
import io.gnomon.truetime.TimeInterval;
import io.gnomon.truetime.TrueTime;

import java.io.IOException;

/**
 * A TrueTime that misbehaves truthfully, for testing applications built on the API: it serves a base clock's
 * intervals (a {@link FakeTrueTime}, or a real reader) and injects the faults of a {@link FaultScript} at
 * their times on a script clock. What it injects is what real readers see:
 * <ul>
 *   <li>a status flip: {@link #status()} says it; an unusable one makes {@link #now()} throw, a usable one
 *       (FREE_RUNNING) serves the base interval;</li>
 *   <li>an ε spike: the interval widens on both sides, so it still contains true time;</li>
 *   <li>a stale snapshot (past void-after) and a segment gone (a daemon restart): {@link #now()} throws with
 *       status UNKNOWN, as {@code ShmTrueTime} does; a gone segment's exception has an {@link IOException}
 *       cause, as an unreachable source has;</li>
 *   <li>a realtime step: the interval does not move (true time did not), but {@link #systemClock(RealtimeClock)}
 *       (the system clock the application under test should be given) jumps.</li>
 * </ul>
 * <pre>{@code
 * FakeTrueTime base = new FakeTrueTime(Instant.parse("2026-01-01T00:00:00Z"), Duration.ofMillis(1));
 * ManualTime script = ...;   // any MonotonicClock the test moves
 * FaultyTrueTime tt = new FaultyTrueTime(base, FaultScript.parse("at 1s for 2s status DISRUPTED"), script);
 * }</pre>
 * See docs/testing-with-faults.md for a whole test. Thread-safe if the base clock is.
 */
public final class FaultyTrueTime implements TrueTime {
    private final TrueTime base;
    private final FaultScript script;
    private final MonotonicClock scriptClock;
    private final long startNanos;

    /** Starts the script now, on {@code scriptClock}. */
    public FaultyTrueTime(TrueTime base, FaultScript script, MonotonicClock scriptClock) {
        this.base = base;
        this.script = script;
        this.scriptClock = scriptClock;
        this.startNanos = scriptClock.nanoTime();
    }

    /** The faults in force now. */
    public FaultScript.Active active() {
        return script.at(scriptClock.nanoTime() - startNanos);
    }

    @Override
    public TimeInterval now() {
        FaultScript.Active a = active();
        if (a.segmentGone()) {
            throw new ClockUnavailableException(ClockStatus.UNKNOWN, "injected: no TrueTime segment (daemon restarting)",
                    new IOException("segment gone (injected)"));
        }
        if (a.stale()) {
            throw new ClockUnavailableException(ClockStatus.UNKNOWN, "injected: snapshot is void (its writer has not "
                    + "refreshed it)");
        }
        if (a.status() != null && !a.status().isUsable()) {
            throw new ClockUnavailableException(a.status(), "injected status " + a.status());
        }
        TimeInterval iv = base.now();
        long extra = a.extraEpsilonNanos();
        if (extra == 0) {
            return iv;
        }
        long earliest = iv.earliestEpochNanos() - extra;
        long latest = iv.latestEpochNanos() + extra;
        return new TimeInterval(earliest > iv.earliestEpochNanos() ? Long.MIN_VALUE : earliest,
                latest < iv.latestEpochNanos() ? Long.MAX_VALUE : latest);
    }

    /**
     * Refuses as {@link #now()} does, then lets the base clock wait (a {@link FakeTrueTime} advances its time
     * instead of sleeping), past {@code epochNanos} plus any ε spike: after it, even the widened interval has passed.
     */
    @Override
    public void waitUntilAfter(long epochNanos) throws InterruptedException {
        long extra = active().extraEpsilonNanos();
        now();
        long target = epochNanos + extra;
        base.waitUntilAfter(target < epochNanos ? Long.MAX_VALUE : target);
    }

    @Override
    public ClockStatus status() {
        FaultScript.Active a = active();
        if (a.segmentGone() || a.stale()) {
            return ClockStatus.UNKNOWN;
        }
        return a.status() != null ? a.status() : base.status();
    }

    /** {@code underlying} plus every realtime step injected so far: the system clock of the host under test. */
    public RealtimeClock systemClock(RealtimeClock underlying) {
        return () -> underlying.epochNanos() + active().realtimeStepNanos();
    }
}
