package io.gnomon.paxos.server;

import io.gnomon.truetime.ClockUnavailableException;
import io.gnomon.truetime.TimeInterval;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FaultableTrueTimeTest {
    /** A base clock whose interval is the true time: every faulty reading must still contain it. */
    private static final long TRUE_NOW = 1_800_000_000_000_000_000L;

    @Test
    void stepsAndDriftMoveTheMidpointButTheIntervalStillContainsTheTruth() {
        FaultableTrueTime t = new FaultableTrueTime(new io.gnomon.truetime.testing.FakeTrueTime(
                java.time.Instant.ofEpochSecond(0, TRUE_NOW), java.time.Duration.ofMillis(1)));
        assertThat(t.now().contains(TRUE_NOW)).isTrue();
        t.inject(50_000_000, 0, 0, false); // +50 ms step
        TimeInterval stepped = t.now();
        assertThat(stepped.contains(TRUE_NOW)).isTrue();
        assertThat(stepped.latestEpochNanos()).isGreaterThanOrEqualTo(TRUE_NOW + 100_000_000);
        t.inject(-80_000_000, 0, 0, true); // clear, then -80 ms
        assertThat(t.now().contains(TRUE_NOW)).isTrue();
        assertThat(t.now().earliestEpochNanos()).isLessThanOrEqualTo(TRUE_NOW - 160_000_000);
        t.inject(0, 200, 0, true); // 200 ppm drift from now
        for (int i = 0; i < 1000; i++) {
            assertThat(t.now().contains(TRUE_NOW)).isTrue();
        }
    }

    @Test
    void anOutageThrowsUntilItEnds() {
        FaultableTrueTime t = new FaultableTrueTime(new SystemClockTrueTime(1_000_000));
        t.inject(0, 0, 60_000, false);
        assertThatThrownBy(t::now).isInstanceOf(ClockUnavailableException.class).hasMessageContaining("injected outage");
        t.inject(0, 0, 0, true);
        assertThat(t.now().epsilonNanos()).isEqualTo(1_000_000);
    }
}
