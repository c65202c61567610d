package io.gnomon.clockd.page;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.gnomon.clockd.journal.Journal;
import io.gnomon.clockd.select.Measurement;
import io.gnomon.truetime.ClockSnapshot;
import io.gnomon.truetime.ClockStatus;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The page's summaries across a restart: what a day showed before it, a day shows after it. */
class PageHistoryTest {
    static final long SECOND = 1_000_000_000L;
    static final long T0 = 1_800_000_000L * SECOND - 1_800_000_000L * SECOND % (1_008 * SECOND);
    @TempDir Path dir;

    /** Feeds {@code seconds} of estimates (one a second) and measurements of 3 sources (one each 16 s). */
    static void feed(PageHistory h, long fromSecond, long seconds) {
        for (long i = fromSecond; i < fromSecond + seconds; i++) {
            long epoch = T0 + i * SECOND;
            boolean lying = i >= 4_000 && i < 5_000;
            h.estimate(epoch, 50_000 + i % 100, 2_000, List.of(
                    new Summaries.SourceMark("ntp:a", Summaries.State.SELECTED),
                    new Summaries.SourceMark("ntp:c", lying ? Summaries.State.FALSETICKER : Summaries.State.SELECTED)));
            if (i % 16 == 0) {
                h.measurement(epoch, "ntp:a", 2_000, 30_000);
                h.measurement(epoch, "ntp:c", lying ? 5 * SECOND : 2_000, 30_000);
            }
            if (i == 4_000) {
                h.event(new PageEvents.Event(epoch / 1_000_000, "falseticker", "ntp:c is a falseticker"));
            }
        }
    }

    @Test
    void aRestartKeepsEveryClosedBucketAndTheEvents() throws Exception {
        long to = T0 + 20_000 * SECOND;
        JsonNode dayBefore;
        JsonNode hourBefore;
        try (PageHistory h = PageHistory.open(dir, Summaries.Limits.DEFAULT, Runnable::run)) {
            h.event(new PageEvents.Event(T0 / 1_000_000, "restart", "clockd started test"));
            feed(h, 0, 20_000);
            dayBefore = h.answer(86_400 * SECOND, to);
            hourBefore = h.answer(3_600 * SECOND, to);
        }
        try (PageHistory h = PageHistory.open(dir, Summaries.Limits.DEFAULT, Runnable::run)) {
            JsonNode day = h.answer(86_400 * SECOND, to);
            JsonNode hour = h.answer(3_600 * SECOND, to);
            assertThat(day.path("journal").asBoolean()).isTrue();
            assertThat(day.path("events")).isEqualTo(dayBefore.path("events")).hasSize(2);
            // every bucket is as before: a clean close wrote tier 0's open bucket too
            for (String series : List.of("boundNanos", "boundMinNanos", "boundMaxNanos", "offsetNanos")) {
                for (JsonNode[] pair : List.of(new JsonNode[]{day, dayBefore}, new JsonNode[]{hour, hourBefore})) {
                    assertThat(pair[0].path(series).size()).isEqualTo(600);
                    for (int i = 0; i < 600; i++) {
                        assertThat(pair[0].path(series).get(i)).as(series + "[" + i + "]").isEqualTo(pair[1].path(series).get(i));
                    }
                }
            }
            assertThat(day.path("sources").path("ntp:c").path("offsetNanos").get(600 - (20_000 - 4_500) / 144 - 1).asLong())
                    .isEqualTo(5 * SECOND);
            assertThat(day.path("sources").path("ntp:c").path("state")).anyMatch(s -> s.asText().equals("falseticker"));
            feed(h, 20_000, 1_000); // and it goes on from there
            assertThat(h.answer(3_600 * SECOND, to + 1_000 * SECOND).path("boundNanos").get(598).asLong()).isPositive();
        }
    }

    @Test
    void whileTheFilesAreReadBackAnswersWaitAndInputsAreHeldThenReplayed() throws Exception {
        try (PageHistory h = PageHistory.open(dir, Summaries.Limits.DEFAULT, Runnable::run)) {
            feed(h, 0, 600);
        }
        List<Runnable> restorer = new ArrayList<>();
        try (PageHistory h = PageHistory.open(dir, Summaries.Limits.DEFAULT, restorer::add)) {
            feed(h, 600, 600); // the daemon publishes on, before the files are read
            h.event(new PageEvents.Event((T0 + 1_000 * SECOND) / 1_000_000, "step", "held"));
            assertThat(h.answer(3_600 * SECOND, T0 + 1_200 * SECOND)).isNull();
            restorer.forEach(Runnable::run);
            JsonNode hour = h.answer(3_600 * SECOND, T0 + 1_200 * SECOND);
            // 1200 s of 6 s buckets: the first run's open bucket was written when it closed
            assertThat(NonNull.count(hour.path("boundNanos"))).isEqualTo(200);
            assertThat(hour.path("events").toString()).contains("held");
        }
        try (PageHistory h = PageHistory.open(dir, Summaries.Limits.DEFAULT, Runnable::run)) {
            assertThat(h.answer(3_600 * SECOND, T0 + 1_200 * SECOND).path("events").toString()).contains("held");
        }
    }

    @Test
    void inputsPastTheHeldLimitAreDroppedAndCounted() throws Exception {
        List<Runnable> restorer = new ArrayList<>();
        try (PageHistory h = PageHistory.open(dir, Summaries.Limits.DEFAULT, Long.MIN_VALUE, 3, restorer::add)) {
            for (int i = 0; i < 4; i++) { // one estimate per 6 s bucket: the 4th is one past the limit
                h.estimate(T0 + i * 6 * SECOND, 40_000 + i, 0, List.of());
            }
            restorer.forEach(Runnable::run);
            assertThat(h.pendingDropped()).isEqualTo(1);
            JsonNode hour = h.answer(3_600 * SECOND, T0 + 23 * SECOND);
            assertThat(hour.path("boundNanos").get(599).isNull()).isTrue(); // the dropped one's bucket
            assertThat(hour.path("boundNanos").get(598).asLong()).isEqualTo(40_002);
            h.estimate(T0 + 30 * SECOND, 1, 0, List.of()); // and once read back, nothing more is held or dropped
            assertThat(h.pendingDropped()).isEqualTo(1);
        }
    }

    /** Buckets with a value. */
    static final class NonNull {
        static int count(JsonNode values) {
            int n = 0;
            for (JsonNode v : values) {
                n += v.isNull() ? 0 : 1;
            }
            return n;
        }
    }

    @Test
    void theFirstStartWithSummariesBuildsThemFromTheJournalsLastDayOnce() throws Exception {
        long mono0 = 1_000 * SECOND;
        long epochOffset = T0 - mono0;
        try (Journal j = Journal.open(dir, Duration.ofDays(2))) {
            j.recordStart(mono0, T0, "before");
            for (int i = 0; i < 7_200; i++) {
                long mono = mono0 + i * SECOND;
                boolean lying = i >= 3_000 && i < 3_600;
                j.recordSnapshot(mono, T0 + i * SECOND, new ClockSnapshot(mono, epochOffset + 2_000, 40_000 + i % 50, 15_000,
                        mono + 10 * SECOND, ClockStatus.SYNCHRONIZED), "ok", lying ? List.of("ntp:c") : List.of());
                if (i == 100 || i == 300) { // the first POLLING is no event (every source starts so); the second is
                    j.recordCondition(mono, T0 + i * SECOND, "ntp:c", "POLLING", "polling again");
                }
                if (i == 200) {
                    j.recordCondition(mono, T0 + i * SECOND, "ntp:c", "BACKED_OFF", "sent RATE: polling less often");
                }
                if (i % 16 == 0) {
                    j.recordMeasurement(mono, T0 + i * SECOND, "ntp:c", new Measurement(mono,
                            epochOffset + (lying ? 5 * SECOND : 2_000), 30_000, 100_000));
                }
            }
        }
        long now = T0 + 7_200 * SECOND;
        JsonNode fromJournal = History.read(dir, 86_400 * SECOND, now, History.Limits.DEFAULT);
        JsonNode day;
        try (PageHistory h = PageHistory.open(dir, Summaries.Limits.DEFAULT, now, Runnable::run)) {
            day = h.answer(86_400 * SECOND, now);
            assertThat(NonNull.count(day.path("boundNanos"))).isEqualTo(50); // 7200 s of 144 s buckets
            assertThat(day.path("boundMinNanos").get(599 - 10).asLong()).isEqualTo(40_000);
            assertThat(day.path("boundMaxNanos").get(599 - 10).asLong()).isEqualTo(40_049);
            assertThat(day.path("offsetNanos").get(599 - 10).asLong()).isEqualTo(2_000);
            assertThat(day.path("sources").path("ntp:c").path("state")).anyMatch(s -> s.asText().equals("falseticker"));
            assertThat(day.path("events")).isEqualTo(fromJournal.path("events"));
            assertThat(day.path("events").toString()).contains("clockd started before", "ntp:c is a falseticker",
                    "ntp:c BACKED_OFF: sent RATE: polling less often", "ntp:c POLLING: polling again");
            assertThat(day.path("events").toString().split("POLLING", -1)).hasSize(2); // once, not for the first
        }
        try (PageHistory h = PageHistory.open(dir, Summaries.Limits.DEFAULT, now + SECOND, Runnable::run)) {
            assertThat(h.answer(86_400 * SECOND, now).path("events")).isEqualTo(day.path("events")); // not built twice
        }
    }

    @Test
    void aTornTailLosesOnlyTheTornBucket() throws Exception {
        long to = T0 + 2_000 * SECOND;
        JsonNode before;
        try (PageHistory h = PageHistory.open(dir, Summaries.Limits.DEFAULT, Runnable::run)) {
            feed(h, 0, 2_000);
            before = h.answer(3_600 * SECOND, to);
        }
        Path tier0 = dir.resolve(PageHistory.DIR).resolve("tier-6000ms.0");
        try (FileChannel ch = FileChannel.open(tier0, StandardOpenOption.WRITE)) {
            ch.truncate(Files.size(tier0) - 5);
        }
        try (PageHistory h = PageHistory.open(dir, Summaries.Limits.DEFAULT, Runnable::run)) {
            JsonNode after = h.answer(3_600 * SECOND, to);
            List<Integer> differ = new ArrayList<>();
            for (int i = 0; i < 600; i++) {
                if (!after.path("boundNanos").get(i).equals(before.path("boundNanos").get(i))) {
                    differ.add(i);
                }
            }
            // only the bucket cut from the file (the last, written at the clean close)
            assertThat(differ).hasSizeLessThanOrEqualTo(1).allMatch(i -> i >= 598);
            feed(h, 2_000, 100);
        }
        try (PageHistory h = PageHistory.open(dir, Summaries.Limits.DEFAULT, Runnable::run)) {
            assertThat(h.answer(3_600 * SECOND, to + 100 * SECOND).path("boundNanos").get(590).asLong()).isPositive();
        }
    }

    @Test
    void aDayOfAHundredSourcesTakesBoundedDiskAndAnswersInSixHundredBuckets() throws Exception {
        List<String> names = new ArrayList<>();
        for (int s = 0; s < 100; s++) {
            names.add("ntp:10.0.0." + s + ":123");
        }
        long seconds = 86_400 + 3_600;
        try (PageHistory h = PageHistory.open(dir, Summaries.Limits.DEFAULT, Runnable::run)) {
            List<Summaries.SourceMark> marks = names.stream()
                    .map(n -> new Summaries.SourceMark(n, Summaries.State.SELECTED)).toList();
            for (long i = 0; i < seconds; i++) { // each source polled every 64 s, an estimate after each measurement
                long epoch = T0 + i * SECOND;
                for (int s = (int) (i % 64); s < 100; s += 64) {
                    h.measurement(epoch, names.get(s), s, 30_000);
                    h.estimate(epoch, 40_000, 0, marks);
                }
            }
            JsonNode day = h.answer(86_400 * SECOND, T0 + seconds * SECOND);
            assertThat(day.path("sources").size()).isEqualTo(100);
            day.path("sources").forEach(src -> assertThat(src.path("offsetNanos")).hasSize(600));
            long bytes = h.sizeBytes();
            System.out.printf("summaries of 25 h of 100 sources on disk: %d bytes%n", bytes);
            assertThat(bytes).isLessThan(64L << 20);
        }
    }
}
