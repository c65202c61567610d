package io.gnomon.clockd.page;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The summaries' file side: records come back as written, torn tails are cut, and the two segments take turns. */
class SummaryLogTest {
    @TempDir Path dir;

    static byte[] text(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static List<String> reopen(Path dir, long span, int max) throws IOException {
        List<SummaryLog.Record> records = new ArrayList<>();
        SummaryLog.open(dir, "log", 7, span, max, records).close();
        return records.stream().map(r -> r.key() + "=" + new String(r.payload(), StandardCharsets.UTF_8)).toList();
    }

    @Test
    void recordsComeBackInOrderAfterAReopen() throws Exception {
        try (SummaryLog l = SummaryLog.open(dir, "log", 7, 100, 1_000, new ArrayList<>())) {
            l.append(1, text("a"));
            l.append(2, text(""));
            l.append(3, text("ccc"));
        }
        assertThat(reopen(dir, 100, 1_000)).containsExactly("1=a", "2=", "3=ccc");
        try (SummaryLog l = SummaryLog.open(dir, "log", 7, 100, 1_000, new ArrayList<>())) {
            l.append(4, text("d")); // appends after what was there
        }
        assertThat(reopen(dir, 100, 1_000)).containsExactly("1=a", "2=", "3=ccc", "4=d");
    }

    @Test
    void aTornTailIsCutAtTheLastWholeRecordAndAppendsGoOnFromThere() throws Exception {
        try (SummaryLog l = SummaryLog.open(dir, "log", 7, 100, 1_000, new ArrayList<>())) {
            l.append(1, text("first"));
            l.append(2, text("second"));
        }
        Path segment = dir.resolve("log.0");
        long whole = Files.size(segment);
        for (long cut = whole - 1; cut > whole - 4; cut--) { // a write torn inside the last record
            try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
                ch.truncate(cut);
            }
            assertThat(reopen(dir, 100, 1_000)).containsExactly("1=first");
            try (SummaryLog l = SummaryLog.open(dir, "log", 7, 100, 1_000, new ArrayList<>())) {
                l.append(2, text("second"));
            }
            assertThat(Files.size(segment)).isEqualTo(whole);
        }
        // a flipped byte in the last record: its CRC fails, and it goes
        byte[] bytes = Files.readAllBytes(segment);
        bytes[bytes.length - 2] ^= 0x40;
        Files.write(segment, bytes);
        assertThat(reopen(dir, 100, 1_000)).containsExactly("1=first");
        // garbage of a huge length after the last record: cut too
        Files.write(segment, new byte[]{0x7f, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}, StandardOpenOption.APPEND);
        assertThat(reopen(dir, 100, 1_000)).containsExactly("1=first");
    }

    @Test
    void aSegmentOfAnotherKindOrFormatStartsAfresh() throws Exception {
        try (SummaryLog l = SummaryLog.open(dir, "log", 7, 100, 1_000, new ArrayList<>())) {
            l.append(1, text("a"));
        }
        List<SummaryLog.Record> records = new ArrayList<>();
        SummaryLog.open(dir, "log", 8, 100, 1_000, records).close(); // e.g. a tier's width changed
        assertThat(records).isEmpty();
        Files.writeString(dir.resolve("log.1"), "not a summary log");
        assertThat(reopen(dir, 100, 1_000)).isEmpty();
        assertThat(Files.size(dir.resolve("log.1"))).isEqualTo(SummaryLog.HEADER_BYTES);
    }

    @Test
    void theSegmentsTakeTurnsSoTheLogKeepsItsSpanAndStaysBounded() throws Exception {
        long maxBytes = 0;
        try (SummaryLog l = SummaryLog.open(dir, "log", 7, 10, 1_000, new ArrayList<>())) {
            for (long key = 0; key < 1_000; key++) {
                l.append(key, text("x" + key));
                maxBytes = Math.max(maxBytes, l.sizeBytes());
            }
        }
        List<String> kept = reopen(dir, 10, 1_000);
        assertThat(kept.size()).isBetween(10, 20);
        assertThat(kept.get(kept.size() - 1)).isEqualTo("999=x999");
        assertThat(kept).contains("990=x990"); // at least the span before the newest
        assertThat(maxBytes).isLessThanOrEqualTo(2 * SummaryLog.HEADER_BYTES + 20 * (SummaryLog.FRAME_BYTES + 4));
        // and by count: at most maxRecordsPerSegment per segment, whatever the keys
        try (SummaryLog l = SummaryLog.open(dir, "count", 7, Long.MAX_VALUE, 3, new ArrayList<>())) {
            for (long key = 0; key < 10; key++) {
                l.append(key, text("e" + key));
            }
        }
        List<SummaryLog.Record> records = new ArrayList<>();
        SummaryLog.open(dir, "count", 7, Long.MAX_VALUE, 3, records).close();
        assertThat(records).extracting(SummaryLog.Record::key).containsExactly(6L, 7L, 8L, 9L);
    }
}
