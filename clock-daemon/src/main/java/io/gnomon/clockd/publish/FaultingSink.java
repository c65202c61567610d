package io.gnomon.clockd.publish;

import io.gnomon.clockd.ClockDaemon;
import io.gnomon.clockd.SystemClocks;
import io.gnomon.clockd.select.DisruptionDetector;
import io.gnomon.clockd.select.Estimate;
import io.gnomon.clockd.select.Measurement;
import io.gnomon.clockd.select.RejectReason;
import io.gnomon.clockd.select.SourceCondition;
import io.gnomon.truetime.ClockSnapshot;
import io.gnomon.truetime.MonotonicClock;
import io.gnomon.truetime.testing.FaultScript;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;

/**
 * {@code clockd --fault-script FILE}: applies a {@link FaultScript} to what one publisher receives, so that
 * applications can be tested against a real daemon that misbehaves truthfully. Status flips replace the status;
 * ε spikes widen the bound (the interval still contains true time); a stale fault publishes one snapshot that is
 * already void and then nothing until it ends; segment-gone deletes a segment file and creates it again at its
 * end (readers of the old file see a frozen snapshot turn void and must open the new one). Realtime steps are
 * not applied: clockd would have to step the host's clock for every process on it (use {@link
 * io.gnomon.truetime.testing.FaultyTrueTime#systemClock} in-process).
 */
public final class FaultingSink implements ClockDaemon.Sink {
    private static final Logger log = LoggerFactory.getLogger(FaultingSink.class);

    /** The script and its start, shared by every publisher's sink. */
    public record Injection(FaultScript script, MonotonicClock clock, long startNanos) {
        public static Injection startingNow(FaultScript script, MonotonicClock clock) {
            return new Injection(script, clock, clock.nanoTime());
        }

        FaultScript.Active active() {
            return script.at(clock.nanoTime() - startNanos);
        }
    }

    private final ClockDaemon.Sink inner;
    private final Injection injection;
    private boolean removed;
    private boolean staleSent;

    public FaultingSink(ClockDaemon.Sink inner, Injection injection) {
        this.inner = inner;
        this.injection = injection;
    }

    @Override
    public void onEstimate(Estimate e, SystemClocks.Pair clocks) {
        FaultScript.Active a = injection.active();
        if (inner instanceof SegmentFile.Owner owner && a.segmentGone() != removed) {
            SegmentFile<?> file = owner.segmentFile();
            try {
                if (a.segmentGone()) {
                    file.remove();
                } else {
                    file.recreate();
                }
                removed = a.segmentGone();
            } catch (IOException ex) {
                log.error("fault injection: could not {} the segment", a.segmentGone() ? "remove" : "recreate", ex);
            }
        }
        if (removed) {
            return;
        }
        if (a.stale()) {
            if (!staleSent) {
                ClockSnapshot s = e.snapshot();
                inner.onEstimate(with(e, new ClockSnapshot(s.asOfMonotonicNanos(), s.epochOffsetNanos(), s.boundNanos(),
                        s.maxDriftPpb(), s.asOfMonotonicNanos(), s.status()), "stale past void-after"), clocks);
                staleSent = true;
            }
            return;
        }
        staleSent = false;
        if (a.status() == null && a.extraEpsilonNanos() == 0) {
            inner.onEstimate(e, clocks);
            return;
        }
        ClockSnapshot s = e.snapshot();
        long bound = s.boundNanos() + a.extraEpsilonNanos();
        inner.onEstimate(with(e, new ClockSnapshot(s.asOfMonotonicNanos(), s.epochOffsetNanos(),
                bound < 0 || bound > ClockSnapshot.SATURATED_BOUND ? ClockSnapshot.SATURATED_BOUND : bound,
                s.maxDriftPpb(), s.voidAfterMonotonicNanos(), a.status() != null ? a.status() : s.status()),
                (a.status() != null ? "status " + a.status() : "") + (a.extraEpsilonNanos() > 0 ? " ε +"
                        + a.extraEpsilonNanos() + " ns" : "")), clocks);
    }

    private static Estimate with(Estimate e, ClockSnapshot s, String fault) {
        return new Estimate(s, e.offsetNanos(), e.sources(), "fault injected (" + fault.strip() + "); really: " + e.reason());
    }

    @Override
    public void onMeasurement(String source, Measurement m, SystemClocks.Pair clocks) {
        inner.onMeasurement(source, m, clocks);
    }

    @Override
    public void onRejected(String source, RejectReason reason, String detail, SystemClocks.Pair clocks) {
        inner.onRejected(source, reason, detail, clocks);
    }

    @Override
    public void onDisruption(DisruptionDetector.Disruption disruption, SystemClocks.Pair clocks) {
        inner.onDisruption(disruption, clocks);
    }

    // Faults change estimates only; everything else passes as it is (so the page and metrics still see
    // the daemon's start and each source's condition under a fault script).

    @Override
    public void onStart(SystemClocks.Pair clocks) {
        inner.onStart(clocks);
    }

    @Override
    public void onStrayDatagram(String source, RejectReason reason, String detail, SystemClocks.Pair clocks) {
        inner.onStrayDatagram(source, reason, detail, clocks);
    }

    @Override
    public void onCondition(String source, SourceCondition condition, String detail) {
        inner.onCondition(source, condition, detail);
    }
}
