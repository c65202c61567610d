package io.gnomon.clockd.select;

import org.junit.jupiter.api.Test;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The sequence ClockDaemon and the clock simulator share: a step between a realtime-based measurement's reading and
 * its use is reported (and fed to the estimator) before the measurement is handed over, so the estimator refuses it.
 */
class DisruptionMonitorTest {
    static final long US = 1_000L;
    static final long MS = 1_000_000L;
    static final long S = 1_000_000_000L;
    static final long EPOCH = 1_795_000_000L * S;

    final ClockEstimator estimator = new ClockEstimator(List.of("ptp:a"), new ClockEstimator.Limits(200_041, 8,
            900 * S, 10 * S, 10 * S));
    final DisruptionMonitor monitor = new DisruptionMonitor(new DisruptionDetector(500 * US,
            DisruptionDetector.DEFAULT_STEP_TOLERANCE_NANOS), estimator, S);
    /** Realtime minus monotonic. */
    long k = EPOCH;

    DisruptionMonitor.Reading reading(long monotonic, long bracketNanos) {
        return new DisruptionMonitor.Reading(monotonic, Long.MIN_VALUE, monotonic + bracketNanos,
                monotonic + bracketNanos / 2 + k, monotonic, monotonic + bracketNanos);
    }

    /** A reading of ptp4l's state whose Sync arrived at {@code syncMonotonic}, read at {@code readMonotonic}. */
    static Measurement ptp(long syncMonotonic, long readMonotonic) {
        return new Measurement(readMonotonic, EPOCH, 5 * US, 0, syncMonotonic);
    }

    @Test
    void aStepBetweenAReadingAndItsUseIsReportedFirstAndTheReadingRefused() {
        assertThat(monitor.check(reading(0, 40)).disruption()).isNull();
        assertThat(monitor.admit("ptp:a", ptp(5 * MS, 6 * MS), () -> reading(7 * MS, 40)).outcome())
                .isEqualTo(ClockEstimator.Outcome.ACCEPTED);

        Measurement readBeforeTheStep = ptp(15 * MS, 16 * MS);
        k += 300 * US; // stepped at 16.5 ms, before the periodic check at 20 ms
        DisruptionMonitor.Admission a = monitor.admit("ptp:a", readBeforeTheStep, () -> reading(17 * MS, 40));
        assertThat(a.disruptions()).hasSize(1);
        assertThat(a.disruptions().get(0).disruption().kind()).isEqualTo(DisruptionDetector.Kind.REALTIME_STEP);
        assertThat(a.disruptions().get(0).disruption().amountNanos()).isEqualTo(300 * US);
        assertThat(a.outcome()).isEqualTo(ClockEstimator.Outcome.REALTIME_STEPPED);
    }

    @Test
    void withNoConclusiveReadingTheMeasurementIsRefusedWithoutAskingTheEstimator() {
        monitor.check(reading(0, 40));
        Deque<DisruptionMonitor.Reading> noisy = new ArrayDeque<>();
        for (int i = 0; i < DisruptionMonitor.CONCLUSIVE_CHECK_TRIES; i++) {
            noisy.add(reading(7 * MS + i * MS, 50 * US)); // a descheduled thread between the clock reads
        }
        DisruptionMonitor.Admission a = monitor.admit("ptp:a", ptp(5 * MS, 6 * MS), noisy::removeFirst);
        assertThat(a.inconclusive()).isTrue();
        assertThat(noisy).isEmpty();
        assertThat(estimator.estimate(12 * MS, k).snapshot().status().isUsable()).isFalse();
    }

    @Test
    void anNtpMeasurementNeedsNoReading() {
        DisruptionMonitor.Admission a = monitor.admit("ptp:a", new Measurement(MS, EPOCH, 5 * US, 0), () -> {
            throw new AssertionError("read against the monotonic clock alone: no step check");
        });
        assertThat(a.outcome()).isEqualTo(ClockEstimator.Outcome.ACCEPTED);
    }
}
