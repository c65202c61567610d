package io.gnomon.clockd.source.chrony;

import io.gnomon.clockd.select.Measurement;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class ChronyWindowsTest {

    private static final long S = 1_000_000_000L;

    private static ChronyCmdmon.SourceData data(String ip, long sinceSeconds) {
        return new ChronyCmdmon.SourceData(ip, 6, 1, 0, 0, 0, 255, sinceSeconds);
    }

    private static ChronyCmdmon.Sourcestats stats(String ip, long samples, long spanSeconds) {
        return new ChronyCmdmon.Sourcestats(0, ip, samples, 1, spanSeconds, 0, 0, 0, 0, 0);
    }

    @Test
    void theOldestSampleOfAnySourceWithSamplesCountsWithTheRoundingSlack() {
        long began = 1_000 * S;
        // a: last sample 10 s ago, span 100 s -> oldest <= 112 s back; b: 3 + 200 + 2 = 205 s back; c: no samples
        long oldest = ChronyWindows.oldestSampleMonotonicNanos(
                List.of(data("a", 10), data("b", 3), data("c", ChronyCmdmon.NO_SAMPLE)),
                List.of(stats("a", 30, 100), stats("b", 64, 200), stats("c", 0, 0)), began, 0);
        assertThat(oldest).isEqualTo(began - 205 * S);
        // the drift stretches the age
        assertThat(ChronyWindows.oldestSampleMonotonicNanos(List.of(data("a", 8)), List.of(stats("a", 5, 90)), began,
                1_000_000)).isEqualTo(began - 100 * S - 100_000_000L);
        // samples without an age: unknown
        assertThat(ChronyWindows.oldestSampleMonotonicNanos(List.of(data("a", ChronyCmdmon.NO_SAMPLE)),
                List.of(stats("a", 5, 90)), began, 0)).isEqualTo(Measurement.WINDOW_UNKNOWN);
    }

    @Test
    void anUpdateIsAnsweredByTheLatestRoundThatBeganNoLaterThanIt() {
        ChronyWindows w = new ChronyWindows(0);
        assertThat(w.windowSince(5 * S)).isEqualTo(Measurement.WINDOW_UNKNOWN);
        w.observed(10 * S, 2 * S);
        w.observed(20 * S, 1 * S); // says less than the round before: the earlier finding still holds later
        w.observed(30 * S, 12 * S);
        assertThat(w.windowSince(9 * S)).as("before every round").isEqualTo(Measurement.WINDOW_UNKNOWN);
        assertThat(w.windowSince(10 * S)).isEqualTo(2 * S);
        assertThat(w.windowSince(25 * S)).isEqualTo(2 * S);
        assertThat(w.windowSince(31 * S)).isEqualTo(12 * S);
        w.clear();
        assertThat(w.windowSince(31 * S)).isEqualTo(Measurement.WINDOW_UNKNOWN);
    }
}
