package io.gnomon.paxos.server;

import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.TimeInterval;
import io.gnomon.truetime.TrueTime;

import java.time.Instant;

/**
 * TrueTime as an assumption: this host's realtime clock ± a fixed ε, status {@link ClockStatus#UNVERIFIED}.
 * Only for replicas that share one host's clock (tests, the local launcher), where leases compare readings of
 * the same clock and ε covers the time between reading it and acting. Between hosts use clockd's segment
 * ({@code --truetime shm:PATH}).
 */
public final class SystemClockTrueTime implements TrueTime {
    private final long epsilonNanos;

    public SystemClockTrueTime(long epsilonNanos) {
        if (epsilonNanos < 0) {
            throw new IllegalArgumentException("epsilon must be >= 0, was " + epsilonNanos + " ns");
        }
        this.epsilonNanos = epsilonNanos;
    }

    @Override
    public TimeInterval now() {
        Instant i = Instant.now();
        return TimeInterval.around(i.getEpochSecond() * 1_000_000_000L + i.getNano(), epsilonNanos);
    }

    @Override
    public ClockStatus status() {
        return ClockStatus.UNVERIFIED;
    }
}
