package io.gnomon.clockd.cli;

import io.gnomon.truetime.ClockSnapshot;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class FormatTest {
    @Test
    void aSaturatedBoundIsUnboundedNotTwoBillionSeconds() {
        assertThat(Format.nanos(ClockSnapshot.SATURATED_BOUND)).isEqualTo("unbounded");
        assertThat(Format.nanos(Long.MAX_VALUE)).isEqualTo("unbounded");
        assertThat(Format.nanos(ClockSnapshot.SATURATED_BOUND - 1)).isEqualTo("2305843009.214 s");
        assertThat(Format.nanos(200_000_000)).isEqualTo("200.000 ms");
    }
}
