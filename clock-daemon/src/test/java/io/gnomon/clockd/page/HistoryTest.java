package io.gnomon.clockd.page;

import com.fasterxml.jackson.databind.JsonNode;
import io.gnomon.clockd.journal.Journal;
import io.gnomon.clockd.select.DisruptionDetector;
import io.gnomon.clockd.select.Measurement;
import io.gnomon.clockd.select.RejectReason;
import io.gnomon.truetime.ClockSnapshot;
import io.gnomon.truetime.ClockStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The page's earlier ranges: a journal of a day at one snapshot a second comes back as 600 buckets. */
class HistoryTest {
    static final long SECOND = 1_000_000_000L;
    static final long T0 = 1_800_000_000L * SECOND; // realtime of the first entry
    static final long EPOCH_OFFSET = T0 - 1_000 * SECOND; // the monotonic clock reads 1000 s at T0
    @TempDir Path dir;

    @Test
    void aDayOfSnapshotsAndMeasurementsIsDownsampledToFixedBucketsWithItsEvents() throws Exception {
        int seconds = 86_400;
        try (Journal j = Journal.open(dir, Duration.ofDays(2))) {
            j.recordStart(1_000 * SECOND, T0, "test");
            for (int i = 0; i < seconds; i++) {
                long mono = (1_000 + i) * SECOND;
                long epoch = T0 + i * SECOND;
                boolean lying = i >= 40_000 && i < 50_000;
                ClockStatus status = i >= 60_000 && i < 61_000 ? ClockStatus.FREE_RUNNING : ClockStatus.SYNCHRONIZED;
                long bound = 50_000 + i % 100; // ε in ns, varying inside each bucket
                // the system clock is 2 µs behind true time
                j.recordSnapshot(mono, epoch, new ClockSnapshot(mono, EPOCH_OFFSET + 2_000, bound, 15_000,
                        mono + 10 * SECOND, status), status == ClockStatus.SYNCHRONIZED ? "3 of 3 sources agree"
                        : "lost the majority", lying ? List.of("ntp:c") : List.of());
                if (i == 70_000) {
                    j.recordDisruption(mono, epoch, new DisruptionDetector.Disruption(
                            DisruptionDetector.Kind.REALTIME_STEP, 3 * SECOND, mono));
                }
                if (i == 71_000) {
                    j.recordRejected(mono, epoch, "ntp:b", RejectReason.SOURCE_STEPPED, "");
                }
                if (i % 16 == 0) {
                    for (String s : List.of("ntp:a", "ntp:b", "ntp:c")) {
                        long lie = s.equals("ntp:c") && lying ? 5 * SECOND : 0;
                        j.recordMeasurement(mono, epoch, s, new Measurement(mono, EPOCH_OFFSET + 2_000 + lie, 30_000, 100_000));
                    }
                }
            }
        }
        long to = T0 + seconds * SECOND;
        long started = System.nanoTime();
        JsonNode h = History.read(dir, 86_400 * SECOND, to, History.Limits.DEFAULT);
        long firstMillis = (System.nanoTime() - started) / 1_000_000;
        started = System.nanoTime();
        assertThat(History.read(dir, 86_400 * SECOND, to, History.Limits.DEFAULT)).isEqualTo(h);
        long againMillis = (System.nanoTime() - started) / 1_000_000;

        assertThat(h.path("t")).hasSize(600);
        assertThat(h.path("boundNanos")).hasSize(600);
        assertThat(h.path("truncated").asBoolean()).isFalse();
        // 144 snapshots per bucket: min and max of ε within it, and the last one
        assertThat(h.path("boundMinNanos").get(10).asLong()).isEqualTo(50_000);
        assertThat(h.path("boundMaxNanos").get(10).asLong()).isEqualTo(50_099);
        assertThat(h.path("offsetNanos").get(10).asLong()).isEqualTo(2_000);
        assertThat(h.path("sources").size()).isEqualTo(3);
        assertThat(h.path("sources").path("ntp:c").path("offsetNanos")).hasSize(600);
        assertThat(h.path("sources").path("ntp:c").path("offsetNanos").get(300).asLong()).isEqualTo(5 * SECOND + 2_000);
        List<String> events = new ArrayList<>();
        h.path("events").forEach(e -> events.add(e.path("kind").asText() + " " + e.path("text").asText()));
        assertThat(events).containsExactly(
                "restart clockd started test",
                "falseticker ntp:c is a falseticker: outside the majority's interval",
                "falseticker ntp:c agrees with the majority again",
                "status SYNCHRONIZED → FREE_RUNNING: lost the majority",
                "status FREE_RUNNING → SYNCHRONIZED: 3 of 3 sources agree",
                "step system realtime clock stepped by +3.000000 s",
                "source-stepped ntp:b stepped: its earlier measurements were dropped");
        System.out.printf("history of a day (%d snapshots, %d measurements) read and downsampled in %d ms"
                + " (%d ms the second time)%n", seconds, 3 * seconds / 16, firstMillis, againMillis);
    }

    @Test
    void aDayOfAHundredSourcesIsStillSixHundredPointsPerLine() throws Exception {
        List<java.util.Map<String, Object>> entries = new ArrayList<>();
        for (int i = 0; i < 86_400; i++) {
            long mono = (1_000 + i) * SECOND;
            long epoch = T0 + i * SECOND;
            entries.add(new java.util.HashMap<>(java.util.Map.of("type", "snapshot", "epochNanos", epoch,
                    "recordedMonotonicNanos", mono, "status", "SYNCHRONIZED", "boundNanos", 40_000L,
                    "epochOffsetNanos", EPOCH_OFFSET, "reason", "100 of 100 sources agree", "falsetickers", "")));
            if (i % 64 == 0) { // each source polled every 64 s
                for (int s = 0; s < 100; s++) {
                    entries.add(java.util.Map.of("type", "measurement", "epochNanos", epoch, "recordedMonotonicNanos", mono,
                            "source", "ntp:10.0.0." + s + ":123", "epochOffsetNanos", EPOCH_OFFSET + s, "boundNanos", 30_000L));
                }
            }
        }
        JsonNode h = History.downsample(entries, T0, T0 + 86_400 * SECOND, History.Limits.DEFAULT, false, true);
        assertThat(h.path("sources").size()).isEqualTo(100);
        h.path("sources").forEach(src -> assertThat(src.path("offsetNanos")).hasSize(600));
        int jsonBytes = new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsBytes(h).length;
        // 600 points x (4 + 2 x 100) series: what the page receives, against 221,400 entries in the journal
        assertThat(jsonBytes).isLessThan(2_000_000);
        System.out.printf("a day of 100 sources: %d entries -> %d bytes of JSON%n", entries.size(), jsonBytes);
    }

    @Test
    void anHourOfADayReadsOnlyItsEndAndNoJournalGivesEmptyBuckets() throws Exception {
        try (Journal j = Journal.open(dir, Duration.ofDays(2))) {
            for (int i = 0; i < 7_200; i++) {
                long mono = (1_000 + i) * SECOND;
                j.recordSnapshot(mono, T0 + i * SECOND, new ClockSnapshot(mono, EPOCH_OFFSET, 40_000, 15_000,
                        mono + 10 * SECOND, ClockStatus.SYNCHRONIZED), "ok", List.of());
            }
        }
        JsonNode h = History.read(dir, 3_600 * SECOND, T0 + 7_200 * SECOND, History.Limits.DEFAULT);
        assertThat(h.path("boundNanos")).allSatisfy(v -> assertThat(v.asLong()).isEqualTo(40_000));
        assertThat(h.path("fromEpochMillis").asLong()).isEqualTo((T0 + 3_600 * SECOND) / 1_000_000);

        JsonNode none = History.read(null, 3_600 * SECOND, T0, History.Limits.DEFAULT);
        assertThat(none.path("journal").asBoolean()).isFalse();
        assertThat(none.path("boundNanos")).hasSize(600).allSatisfy(v -> assertThat(v.isNull()).isTrue());
    }
}
