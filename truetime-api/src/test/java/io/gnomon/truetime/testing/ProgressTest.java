package io.gnomon.truetime.testing;

import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What a long run shows on standard error, under a clock the test moves. */
class ProgressTest {
    private long nowNanos = 1_000;
    private final StringWriter err = new StringWriter();

    private Progress progress(long total, boolean terminal) {
        return new Progress("paxos-sim", "seed", total, new PrintWriter(err), terminal, () -> nowNanos);
    }

    private void advanceSeconds(double s) {
        nowNanos += (long) (s * 1e9);
    }

    @Test
    void aLogGetsOneLineEveryTenSecondsWithRateFailuresAndTimeLeft() {
        Progress p = progress(100, false);
        assertThat(err.toString()).as("nothing before the first interval").isEmpty();
        for (int i = 0; i < 9; i++) {
            advanceSeconds(1);
            p.completed(i == 4);
        }
        assertThat(err.toString()).isEmpty();
        advanceSeconds(1);
        p.completed(false);
        assertThat(err.toString()).isEqualTo("paxos-sim: 10/100 seeds, 1 failed, 1.0 seeds/s, 1m 30s left\n");
        advanceSeconds(1);
        p.completed(false);
        assertThat(err.toString().lines()).as("the next line waits for the next interval").hasSize(1);
        p.finish();
        assertThat(err.toString().lines()).as("a log keeps its lines; the results follow").hasSize(1);
    }

    @Test
    void unitsOfDifferentCostEstimateTheTimeLeftFromTheCostDone() {
        // Ten cheap simulated runs, then two process runs each worth thirty of them (torture-report's mix).
        long[] weights = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 30, 30};
        Progress p = Progress.weighted("torture-report", "run", weights, new PrintWriter(err), true, () -> nowNanos);
        for (int i = 0; i < 10; i++) {
            advanceSeconds(1);
            p.completed(false);
        }
        assertThat(p.line(nowNanos)).as("60 units of cost left at 1 s each, not 2 runs at 1 s each")
                .isEqualTo("torture-report: 10/12 runs, 0 failed, 1.0 runs/s, 1m 00s left");
        assertThatThrownBy(() -> Progress.weighted("x", "run", new long[] {1, 0}, new PrintWriter(err), false,
                () -> nowNanos)).hasMessageContaining("every weight must be >= 1, was 0");
    }

    @Test
    void aTerminalGetsOneLineRewrittenInPlaceAndBlankedAtTheEnd() {
        Progress p = progress(3, true);
        assertThat(err.toString()).isEqualTo("\rpaxos-sim: 0/3 seeds, 0 failed, time left unknown");
        advanceSeconds(20);
        p.completed(true);
        assertThat(err.toString()).endsWith("\rpaxos-sim: 1/3 seeds, 1 failed, 20 s/seed, 40s left");
        assertThat(err.toString()).doesNotContain("\n");
        err.getBuffer().setLength(0);
        p.above(() -> err.write("FAIL seed 1\n"));
        String blank = "\r" + " ".repeat("paxos-sim: 1/3 seeds, 1 failed, 20 s/seed, 40s left".length()) + "\r";
        assertThat(err.toString()).as("other output starts at the margin and the line comes back under it")
                .isEqualTo(blank + "FAIL seed 1\n\rpaxos-sim: 1/3 seeds, 1 failed, 20 s/seed, 40s left");
        advanceSeconds(100);
        p.completed(false);
        p.completed(false);
        assertThat(err.toString()).endsWith("\rpaxos-sim: 3/3 seeds, 1 failed, 40 s/seed, done in 2m 00s");
        err.getBuffer().setLength(0);
        p.finish();
        assertThat(err.toString()).matches("\r +\r");
    }

    @Test
    void countsAreBoundedAndDurationsReadable() {
        assertThatThrownBy(() -> progress(0, false)).hasMessage("total must be >= 1, was 0");
        Progress p = progress(1, false);
        p.completed(false);
        assertThatThrownBy(() -> p.completed(false)).hasMessageContaining("more than the 1 seeds announced");
        assertThat(Progress.duration(TimeUnit.SECONDS.toNanos(42))).isEqualTo("42s");
        assertThat(Progress.duration(TimeUnit.SECONDS.toNanos(185))).isEqualTo("3m 05s");
        assertThat(Progress.duration(TimeUnit.MINUTES.toNanos(62))).isEqualTo("1h 02m");
    }
}
