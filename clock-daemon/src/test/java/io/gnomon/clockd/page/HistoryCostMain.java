package io.gnomon.clockd.page;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.gnomon.clockd.journal.Journal;
import io.gnomon.clockd.select.Measurement;
import io.gnomon.truetime.ClockSnapshot;
import io.gnomon.truetime.ClockStatus;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What a day-range history answer costs, from the page's summaries and from reading the journal (the way the
 * page answered before them), for the same day of {@code SOURCES} sources each polled every {@code POLL_S}
 * seconds, with a snapshot after every measurement. A measurement, not a test: no assertions; it prints times.
 *
 * <pre>
 * mvn -B -q -o -pl clock-daemon -am test-compile
 * mvn -B -q -o -pl clock-daemon dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=/tmp/cp.txt
 * java (Chronicle's flags, bin/_java) -cp clock-daemon/target/classes:clock-daemon/target/test-classes:$(cat /tmp/cp.txt) \
 *     io.gnomon.clockd.page.HistoryCostMain 100 64 /tmp/history-cost
 * </pre>
 */
public final class HistoryCostMain {
    static final long SECOND = 1_000_000_000L;
    static final ObjectMapper JSON = new ObjectMapper();

    public static void main(String[] args) throws Exception {
        int sources = Integer.parseInt(args[0]);
        int pollSeconds = Integer.parseInt(args[1]);
        Path dir = Path.of(args[2]);
        if (Files.exists(dir)) {
            throw new IllegalArgumentException(dir + " exists; give a new directory");
        }
        long day = 86_400 * SECOND;
        long t0 = System.currentTimeMillis() * 1_000_000 - day; // a day ago, so the whole day is in range
        long mono0 = 1_000 * SECOND;
        long epochOffset = t0 - mono0;
        List<String> names = new ArrayList<>();
        for (int s = 0; s < sources; s++) {
            names.add("ntp:10.0.0." + s + ":123");
        }
        List<Summaries.SourceMark> marks = names.stream()
                .map(n -> new Summaries.SourceMark(n, Summaries.State.SELECTED)).toList();
        long entries = 0;
        long started = System.nanoTime();
        try (Journal j = Journal.open(dir, Duration.ofDays(2));
             PageHistory h = PageHistory.open(dir, Summaries.Limits.DEFAULT, Runnable::run)) {
            j.recordStart(mono0, t0, "measure");
            // each source polled every pollSeconds, spread evenly; the estimate after each measurement
            long measurements = (long) sources * 86_400 / pollSeconds;
            for (long k = 0; k < measurements; k++) {
                long at = k * day / measurements;
                long mono = mono0 + at;
                long epoch = t0 + at;
                int s = (int) (k % sources);
                long offset = (k * 7919) % 2_000 - 1_000;
                long bound = 30_000 + k % 1_000;
                j.recordMeasurement(mono, epoch, names.get(s), new Measurement(mono, epochOffset + offset, bound, 100_000));
                h.measurement(epoch, names.get(s), offset, bound);
                j.recordSnapshot(mono, epoch, new ClockSnapshot(mono, epochOffset + offset / 2, 40_000 + k % 500, 15_000,
                        mono + 10 * SECOND, ClockStatus.SYNCHRONIZED), sources + " of " + sources + " sources agree", List.of());
                h.estimate(epoch, 40_000 + k % 500, offset / 2, marks);
                entries += 2;
            }
            System.out.printf("wrote a day: %d sources polled every %d s, %d journal entries, summaries %d bytes on disk,"
                    + " in %.1f s%n", sources, pollSeconds, entries, h.sizeBytes(), (System.nanoTime() - started) / 1e9);
        }
        long to = t0 + day;

        long[] open = new long[3];
        PageHistory h = null;
        for (int i = 0; i < open.length; i++) {
            if (h != null) {
                h.close();
            }
            long t = System.nanoTime();
            h = PageHistory.open(dir, Summaries.Limits.DEFAULT, Runnable::run);
            open[i] = System.nanoTime() - t;
        }
        long[] fromSummaries = new long[20];
        int bytes = 0;
        for (int i = 0; i < fromSummaries.length; i++) {
            long t = System.nanoTime();
            bytes = JSON.writeValueAsBytes(h.answer(day, to)).length;
            fromSummaries[i] = System.nanoTime() - t;
        }
        h.close();
        System.out.printf("summaries: restore at open %s ms; day answer (JSON, %d bytes) %s ms%n",
                millis(open), bytes, millis(fromSummaries));

        long[] fromJournal = new long[3];
        for (int i = 0; i < fromJournal.length; i++) {
            long t = System.nanoTime();
            bytes = JSON.writeValueAsBytes(History.read(dir, day, to, History.Limits.DEFAULT)).length;
            fromJournal[i] = System.nanoTime() - t;
        }
        System.out.printf("journal read and downsampled: day answer (JSON, %d bytes) %s ms%n", bytes, millis(fromJournal));

        // the first start with summaries: none on disk, so they are built from the journal's last day
        try (java.util.stream.Stream<Path> files = Files.walk(dir.resolve(PageHistory.DIR))) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
        long t = System.nanoTime();
        try (PageHistory built = PageHistory.open(dir, Summaries.Limits.DEFAULT, to, Runnable::run)) {
            long buildNanos = System.nanoTime() - t;
            System.out.printf("first start: summaries built from the journal's last day in %.1f ms (once, in the"
                    + " background); day answer then %d bytes%n", buildNanos / 1e6,
                    JSON.writeValueAsBytes(built.answer(day, to)).length);
        }
    }

    static String millis(long[] nanos) {
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        return String.format("min %.1f / median %.1f / max %.1f (%d runs)", sorted[0] / 1e6,
                sorted[sorted.length / 2] / 1e6, sorted[sorted.length - 1] / 1e6, sorted.length);
    }
}
