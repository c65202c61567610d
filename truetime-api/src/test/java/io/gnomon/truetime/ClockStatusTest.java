package io.gnomon.truetime;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ClockStatusTest {

    @Test
    void everyCodeRoundTrips() {
        for (ClockStatus s : ClockStatus.values()) {
            assertThat(ClockStatus.fromCode(s.code())).isSameAs(s);
        }
    }

    /** The codes are stored in the segment and sent over gRPC: they must never be renumbered. */
    @Test
    void codesAreTheDocumentedNumbers() {
        assertThat(ClockStatus.UNKNOWN.code()).isEqualTo(0);
        assertThat(ClockStatus.SYNCHRONIZED.code()).isEqualTo(1);
        assertThat(ClockStatus.FREE_RUNNING.code()).isEqualTo(2);
        assertThat(ClockStatus.UNSYNCHRONIZED.code()).isEqualTo(3);
        assertThat(ClockStatus.UNVERIFIED.code()).isEqualTo(4);
    }

    @Test
    void unknownCodesFromANewerWriterMapToUnknown() {
        for (int code : new int[]{-1, 6, 7, 255, Integer.MAX_VALUE, Integer.MIN_VALUE}) {
            assertThat(ClockStatus.fromCode(code)).as("code %d", code).isSameAs(ClockStatus.UNKNOWN);
        }
    }

    @Test
    void onlySynchronizedAndFreeRunningAreUsable() {
        assertThat(ClockStatus.SYNCHRONIZED.isUsable()).isTrue();
        assertThat(ClockStatus.FREE_RUNNING.isUsable()).isTrue();
        assertThat(ClockStatus.UNKNOWN.isUsable()).isFalse();
        assertThat(ClockStatus.UNSYNCHRONIZED.isUsable()).isFalse();
        assertThat(ClockStatus.UNVERIFIED.isUsable()).isFalse();
    }
}
