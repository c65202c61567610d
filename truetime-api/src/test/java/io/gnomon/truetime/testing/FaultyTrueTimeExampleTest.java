package io.gnomon.truetime.testing;

import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.ClockUnavailableException;
import io.gnomon.truetime.MonotonicClock;
import io.gnomon.truetime.TrueTime;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The example of docs/testing-with-faults.md: an application's timestamp issuer under a scripted clock. */
class FaultyTrueTimeExampleTest {

    /** The application under test: issues commit timestamps with commit-wait (docs/DESIGN: s = now().latest). */
    static final class TimestampIssuer {
        private final TrueTime tt;
        private long last = Long.MIN_VALUE;

        TimestampIssuer(TrueTime tt) {
            this.tt = tt;
        }

        /** A timestamp above every earlier one that has certainly passed when this returns. */
        long issue() throws InterruptedException {
            long s = Math.max(tt.now().latestEpochNanos(), last + 1);
            tt.waitUntilAfter(s);   // commit-wait
            last = s;
            return s;
        }
    }

    static final String SCRIPT = """
            at 1s for 2s status DISRUPTED        # the host was suspended: refuse, do not guess
            at 4s for 1s epsilon 5ms             # a wide interval: commit-wait grows, order holds
            at 6s for 1s stale                   # the daemon stopped refreshing: refuse
            at 8s for 1s segment-gone            # the daemon restarts
            at 10s realtime-step -3s             # someone runs date -s: TrueTime does not move
            """;

    @Test
    void timestampsStayOrderedAndRefuseAnUnusableClock() throws Exception {
        FakeTrueTime base = new FakeTrueTime(Instant.parse("2026-01-01T00:00:00Z"), Duration.ofMillis(1));
        MonotonicClock scriptTime = base::midpointEpochNanos;     // the script runs on the fake's time
        FaultyTrueTime tt = new FaultyTrueTime(base, FaultScript.parse(SCRIPT), scriptTime);
        TimestampIssuer issuer = new TimestampIssuer(tt);

        long t0 = issuer.issue();
        base.advance(Duration.ofMillis(1500));                    // inside the DISRUPTED window
        assertThat(tt.status()).isEqualTo(ClockStatus.DISRUPTED);
        assertThatThrownBy(issuer::issue).isInstanceOfSatisfying(ClockUnavailableException.class,
                e -> assertThat(e.status()).isEqualTo(ClockStatus.DISRUPTED));

        base.advance(Duration.ofMillis(2700));                    // 4.2 s: the ε spike
        long waitedBefore = base.waitedNanos();
        long t1 = issuer.issue();
        assertThat(t1).isGreaterThan(t0);
        assertThat(base.waitedNanos() - waitedBefore).as("commit-wait covers the wider ε").isGreaterThan(10_000_000);

        base.advance(Duration.ofMillis(2000));                    // 6.2 s: stale
        assertThatThrownBy(issuer::issue).hasMessageContaining("snapshot is void");
        base.advance(Duration.ofMillis(2000));                    // 8.2 s: the segment is gone
        assertThatThrownBy(issuer::issue).hasCauseInstanceOf(java.io.IOException.class);
        long systemClockBefore = tt.systemClock(base::midpointEpochNanos).epochNanos();

        base.advance(Duration.ofMillis(2000));                    // 10.2 s: after the realtime step
        long systemClockAfter = tt.systemClock(base::midpointEpochNanos).epochNanos();
        long t2 = issuer.issue();
        assertThat(systemClockAfter).as("the system clock went back").isLessThan(systemClockBefore);
        assertThat(t2).as("TrueTime did not").isGreaterThan(t1);
    }

    /** The same issuer under faults from a seed; a failure prints the seed and the script that replays it. */
    @Test
    void seededFaultsNeverBreakTheOrder() throws Exception {
        long seed = Long.getLong("faults.seed", new SplittableRandom().nextLong());
        FaultScript script = FaultScript.random(seed, Duration.ofSeconds(30), 40);
        FakeTrueTime base = new FakeTrueTime(Instant.parse("2026-01-01T00:00:00Z"), Duration.ofMillis(1));
        FaultyTrueTime tt = new FaultyTrueTime(base, script, base::midpointEpochNanos);
        TimestampIssuer issuer = new TimestampIssuer(tt);
        SplittableRandom rnd = new SplittableRandom(seed);
        long last = Long.MIN_VALUE;
        int refused = 0;
        for (int i = 0; i < 2_000; i++) {
            try {
                long s = issuer.issue();
                assertThat(s).as("seed %d (rerun with -Dfaults.seed=%d), script:%n%s", seed, seed, script).isGreaterThan(last);
                assertThat(base.now().earliestEpochNanos()).as("seed %d: commit-wait", seed).isGreaterThan(s);
                last = s;
            } catch (ClockUnavailableException e) {
                refused++;
            }
            base.advance(Duration.ofMillis(rnd.nextLong(1, 30)));
        }
        assertThat(refused).as("seed %d: some faults made the clock unusable", seed).isLessThan(2_000);
    }

    @Test
    void scriptsParseAndPrintBackAndErrorsNameTheLine() {
        FaultScript s = FaultScript.parse(SCRIPT);
        assertThat(s.faults()).hasSize(5);
        assertThat(FaultScript.parse(s.toString()).faults()).isEqualTo(s.faults());
        assertThat(s.at(1_500_000_000L)).isEqualTo(new FaultScript.Active(ClockStatus.DISRUPTED, 0, false, false, 0));
        assertThat(s.at(99_000_000_000L).realtimeStepNanos()).isEqualTo(-3_000_000_000L);
        assertThatThrownBy(() -> FaultScript.parse("\nat 1s for 2s status SIDEWAYS"))
                .hasMessageStartingWith("fault script line 2 'at 1s for 2s status SIDEWAYS': unknown status 'SIDEWAYS'");
        assertThatThrownBy(() -> FaultScript.parse("at 1s epsilon 5ms")).hasMessageContaining("missing 'for DURATION'");
        assertThat(FaultScript.random(7, Duration.ofSeconds(10), 5).toString())
                .isEqualTo(FaultScript.random(7, Duration.ofSeconds(10), 5).toString());
    }
}
