package io.gnomon.clockd.page;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The page's per-bucket summaries, fed inputs and asked for ranges, with no files and no clock. */
class SummariesTest {
    static final long SECOND = 1_000_000_000L;
    static final long T0 = 1_800_000_000L * SECOND - 1_800_000_000L * SECOND % (1_008 * SECOND); // a week-tier edge
    static final List<Summaries.SourceMark> NONE = List.of();

    @Test
    void samplesCloseBucketsUpTheTiersAndEachTierHoldsMinMaxLastAndCount() {
        Summaries s = new Summaries(Summaries.Limits.DEFAULT);
        List<Summaries.Closed> closed = new ArrayList<>();
        for (int i = 0; i < 144; i++) { // one 144 s bucket of snapshots, ε rising
            closed.addAll(s.estimate(T0 + i * SECOND, 1_000 + i, -i, NONE));
        }
        assertThat(closed).extracting(Summaries.Closed::tier).containsOnly(0).hasSize(23);
        // tier 1's bucket closes when a tier-0 bucket past it closes (lazily: an answer merges open buckets in)
        assertThat(s.estimate(T0 + 144 * SECOND, 5, 0, NONE)).extracting(Summaries.Closed::tier).containsExactly(0);
        closed = s.estimate(T0 + 150 * SECOND, 5, 0, NONE);
        assertThat(closed).extracting(Summaries.Closed::tier).containsExactly(0, 1);
        Summaries.Bucket day = closed.get(1).bucket();
        assertThat(day.index).isEqualTo(T0 / (144 * SECOND));
        assertThat(day.daemon).containsExactly(1_000, 1_143, 1_143, 144, -143, 0, -143, 144);
    }

    @Test
    void anHourAndADayAreSixHundredBucketsAndShorterRangesUseTheFinestTier() {
        Summaries s = new Summaries(Summaries.Limits.DEFAULT);
        s.estimate(T0, 40_000, 2_000, NONE);
        JsonNode hour = s.view(3_600 * SECOND, T0 + 5 * SECOND).json(true);
        assertThat(hour.path("t")).hasSize(600);
        assertThat(hour.path("bucketMillis").asDouble()).isEqualTo(6_000.0);
        assertThat(hour.path("boundNanos").get(599).asLong()).isEqualTo(40_000); // the open bucket is in the answer
        assertThat(hour.path("t").get(599).asDouble()).isEqualTo((T0 + 5 * SECOND) / 1e9); // capped at "to"
        JsonNode day = s.view(86_400 * SECOND, T0 + 5 * SECOND).json(true);
        assertThat(day.path("t")).hasSize(600);
        assertThat(day.path("bucketMillis").asDouble()).isEqualTo(144_000.0);
        assertThat(day.path("boundNanos").get(599).asLong()).isEqualTo(40_000); // open in tier 0, merged in
        assertThat(s.view(600 * SECOND, T0).json(true).path("t")).hasSize(100);
        assertThat(s.view(7 * 86_400 * SECOND, T0).json(true).path("bucketMillis").asDouble()).isEqualTo(1_008_000.0);
        assertThat(s.view(2 * 86_400 * SECOND, T0).json(true).path("t")).hasSize(172); // ceil(172800 / 1008)
    }

    @Test
    void sourcesCarryTheirLastOffsetAndBoundAndTheirWorstStateInABucket() {
        Summaries s = new Summaries(Summaries.Limits.DEFAULT);
        s.measurement(T0, "ntp:a", 100, 30_000);
        s.measurement(T0 + SECOND, "ntp:a", 300, 20_000);
        s.estimate(T0 + SECOND, 40_000, 0, List.of(new Summaries.SourceMark("ntp:a", Summaries.State.FALSETICKER),
                new Summaries.SourceMark("ntp:b", Summaries.State.UNREACHABLE)));
        s.estimate(T0 + 2 * SECOND, 40_000, 0, List.of(new Summaries.SourceMark("ntp:a", Summaries.State.SELECTED),
                new Summaries.SourceMark("ntp:b", Summaries.State.UNREACHABLE)));
        JsonNode h = s.view(600 * SECOND, T0 + 5 * SECOND).json(true);
        JsonNode a = h.path("sources").path("ntp:a");
        assertThat(a.path("offsetNanos").get(99).asLong()).isEqualTo(300);
        assertThat(a.path("boundNanos").get(99).asLong()).isEqualTo(20_000);
        assertThat(a.path("state").get(99).asText()).isEqualTo("falseticker"); // briefly, yet shown
        assertThat(a.path("state").get(98).isNull()).isTrue();
        assertThat(h.path("sources").path("ntp:b").path("offsetNanos").get(99).isNull()).isTrue();
        assertThat(h.path("sources").path("ntp:b").path("state").get(99).asText()).isEqualTo("unreachable");
    }

    @Test
    void aRealtimeStepBackCountsInTheOpenBucketAndClosedBucketsNeverChange() {
        Summaries s = new Summaries(Summaries.Limits.DEFAULT);
        s.estimate(T0, 10, 0, NONE);
        List<Summaries.Closed> closed = s.estimate(T0 + 6 * SECOND, 20, 0, NONE);
        assertThat(closed).hasSize(1);
        long[] before = closed.get(0).bucket().daemon.clone();
        assertThat(s.estimate(T0 - 60 * SECOND, 30, 0, NONE)).isEmpty();
        assertThat(closed.get(0).bucket().daemon).containsExactly(before);
        JsonNode h = s.view(600 * SECOND, T0 + 6 * SECOND).json(true);
        assertThat(h.path("boundNanos").get(99).asLong()).isEqualTo(30);
        assertThat(h.path("boundMaxNanos").get(99).asLong()).isEqualTo(30);
        assertThat(h.path("boundMinNanos").get(99).asLong()).isEqualTo(20);
    }

    @Test
    void eventsAreKeptWithinTheirLimitsAndAnAnswerHasThoseOfItsRange() {
        Summaries.Limits l = new Summaries.Limits(List.of(6 * SECOND, 144 * SECOND), 600, 10, 3, 3_600 * SECOND, 2);
        Summaries s = new Summaries(l);
        long ms = T0 / 1_000_000;
        for (int i = 0; i < 5; i++) {
            s.event(new PageEvents.Event(ms + i * 1_000, "status", "e" + i));
        }
        List<String> texts = new ArrayList<>();
        s.view(600 * SECOND, T0 + 10 * SECOND).json(true).path("events").forEach(e -> texts.add(e.path("text").asText()));
        assertThat(texts).containsExactly("e3", "e4"); // 3 kept, the newest 2 answered
        s.event(new PageEvents.Event(ms + 7_200_000, "status", "later"));
        texts.clear();
        s.view(86_400 * SECOND, T0 + 7_300 * SECOND).json(true).path("events").forEach(e -> texts.add(e.path("text").asText()));
        assertThat(texts).containsExactly("later"); // older than an hour before it: gone
    }

    @Test
    void sourcesPastTheLimitAreLeftOut() {
        Summaries.Limits l = new Summaries.Limits(List.of(6 * SECOND), 600, 2, 10, SECOND, 10);
        Summaries s = new Summaries(l);
        for (String name : List.of("a", "b", "c")) {
            s.measurement(T0, name, 1, 1);
        }
        assertThat(s.view(600 * SECOND, T0).json(true).path("sources").fieldNames()).toIterable().containsExactly("a", "b");
    }

    @Test
    void limitsAreCheckedWithTheRule() {
        assertThatThrownBy(() -> new Summaries.Limits(List.of(6 * SECOND, 100 * SECOND), 600, 1, 1, 1, 1))
                .hasMessageContaining("multiple of the tier before it");
        assertThatThrownBy(() -> new Summaries.Limits(List.of(6 * SECOND), 0, 1, 1, 1, 1))
                .hasMessageContaining("must be positive");
    }

    @Test
    void catchUpFoldsTheFinerBucketsAfterTheLastCoarseOneIntoTheTierAbove() {
        Summaries live = new Summaries(Summaries.Limits.DEFAULT);
        List<Summaries.Closed> persisted = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            persisted.addAll(live.estimate(T0 + i * SECOND, 1_000 + i, 0, NONE));
        }
        // a restart that lost tier 1's second bucket (the daemon died between the two writes) and tier 0's open one
        Summaries restored = new Summaries(Summaries.Limits.DEFAULT);
        for (Summaries.Closed c : persisted) {
            if (!(c.tier() == 1 && c.bucket().index == T0 / (144 * SECOND) + 1)) {
                restored.restore(c.tier(), c.bucket());
            }
        }
        List<Summaries.Closed> redone = restored.catchUp();
        assertThat(redone).extracting(Summaries.Closed::tier).containsExactly(1);
        assertThat(redone.get(0).bucket().index).isEqualTo(T0 / (144 * SECOND) + 1);
        JsonNode a = live.view(86_400 * SECOND, T0 + 400 * SECOND).json(true);
        JsonNode b = restored.view(86_400 * SECOND, T0 + 400 * SECOND).json(true);
        assertThat(b.path("boundMinNanos")).isEqualTo(a.path("boundMinNanos"));
        // the last bucket lacks only tier 0's open bucket (396..399 s), lost with the process
        assertThat(b.path("boundMaxNanos").get(599).asLong()).isEqualTo(1_395);
        assertThat(a.path("boundMaxNanos").get(599).asLong()).isEqualTo(1_399);
    }

    /** The summaries answer what reading the journal and downsampling it answers, bucket for bucket. */
    @Test
    void aDayOfSummariesEqualsTheJournalDownsampled() {
        Summaries s = new Summaries(Summaries.Limits.DEFAULT);
        List<Map<String, Object>> entries = new ArrayList<>();
        long mono0 = 1_000 * SECOND;
        long epochOffset = T0 - mono0;
        for (int i = 0; i < 86_400; i += 3) {
            long mono = mono0 + i * SECOND;
            long epoch = T0 + i * SECOND;
            long bound = 40_000 + (i * 7919L) % 5_000;
            long offset = (i * 31L) % 700 - 350;
            entries.add(new HashMap<>(Map.of("type", "snapshot", "epochNanos", epoch, "recordedMonotonicNanos", mono,
                    "status", "SYNCHRONIZED", "boundNanos", bound, "epochOffsetNanos", epochOffset + offset,
                    "reason", "ok", "falsetickers", "")));
            s.estimate(epoch, bound, offset, NONE);
            if (i % 64 == 1) {
                for (int k = 0; k < 5; k++) {
                    long srcOffset = offset + k * 10 + i % 13;
                    entries.add(new HashMap<>(Map.of("type", "measurement", "epochNanos", epoch,
                            "recordedMonotonicNanos", mono, "source", "ntp:" + k, "epochOffsetNanos", epochOffset + srcOffset,
                            "boundNanos", 30_000L + i % 97)));
                    s.measurement(epoch, "ntp:" + k, srcOffset, 30_000L + i % 97);
                }
            }
        }
        long to = T0 + 86_400 * SECOND; // a multiple of 144 s: both answers cover the same buckets
        JsonNode journal = History.downsample(entries, to - 86_400 * SECOND, to, History.Limits.DEFAULT, false, true);
        JsonNode summaries = s.view(86_400 * SECOND, to - 1).json(true);
        assertThat(summaries.path("fromEpochMillis")).isEqualTo(journal.path("fromEpochMillis"));
        for (String series : List.of("t", "boundNanos", "boundMinNanos", "boundMaxNanos", "offsetNanos")) {
            assertThat(summaries.path(series).size()).as(series).isEqualTo(600);
            for (int i = 0; i < 599; i++) { // the last t is capped at "to"
                assertThat(summaries.path(series).get(i)).as(series + "[" + i + "]").isEqualTo(journal.path(series).get(i));
            }
        }
        for (int k = 0; k < 5; k++) {
            for (String series : List.of("offsetNanos", "boundNanos")) {
                assertThat(summaries.path("sources").path("ntp:" + k).path(series))
                        .isEqualTo(journal.path("sources").path("ntp:" + k).path(series));
            }
        }
    }
}
