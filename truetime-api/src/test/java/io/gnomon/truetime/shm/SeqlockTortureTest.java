package io.gnomon.truetime.shm;

import io.gnomon.truetime.ClockSnapshot;
import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.ClockUnavailableException;
import io.gnomon.truetime.TimeInterval;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One writer publishes as fast as it can; readers make a fixed number of reads and check that every
 * snapshot they get is whole: each field is derived from one counter k, so a read that mixed two
 * publications shows fields from different k.
 */
class SeqlockTortureTest {

    /** One core for the writer, the rest for readers: threads that take turns on a core never overlap. */
    private static final int READERS = Math.max(1, Math.min(3, Runtime.getRuntime().availableProcessors() - 1));
    private static final int READS_PER_READER = 200_000; // each is one snapshotOrNull() and one now()
    private static final long VOID_AFTER = Long.MAX_VALUE / 2;

    @TempDir
    Path dir;

    static ClockSnapshot snapshotOf(long k) {
        return new ClockSnapshot(k, k * 3, k * 5, k % 1000, VOID_AFTER,
                k % 2 == 0 ? ClockStatus.SYNCHRONIZED : ClockStatus.FREE_RUNNING);
    }

    /** Reader side of a result: counts and the first torn read seen, if any. */
    record ReaderResult(long distinctValues, long gaveUp, String firstTorn) {
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void readersNeverSeeATornSnapshot() throws Exception {
        SegmentWriter writer = SegmentWriter.open(dir.resolve("truetime"));
        writer.publish(snapshotOf(1));
        // monotonic "now" is 0: the interval is [3k - b, 3k + b] with b = 5k + ceil(k * (k % 1000) / 1e9)
        ShmTrueTime tt = ShmTrueTime.open(writer.path(), () -> 0L, false);

        AtomicBoolean readersDone = new AtomicBoolean();
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(READERS + 1);
        try {
            Future<Long> writerRun = pool.submit(() -> {
                start.await();
                long k = 2;
                while (!readersDone.get()) {
                    writer.publish(snapshotOf(k++));
                }
                return k;
            });
            List<Future<ReaderResult>> readers = new ArrayList<>();
            for (int r = 0; r < READERS; r++) {
                readers.add(pool.submit(() -> read(tt, start)));
            }
            start.countDown();
            List<ReaderResult> results = new ArrayList<>();
            try {
                for (Future<ReaderResult> f : readers) {
                    results.add(f.get());
                }
            } finally {
                readersDone.set(true);
            }
            long published = writerRun.get();

            System.out.printf("seqlock torture: %d readers, writer published %d, readers saw %s%n",
                    READERS, published, results);
            for (ReaderResult r : results) {
                assertThat(r.firstTorn()).as("torn read").isNull();
                // the writer really ran while they read. How often reads and writes overlapped depends on the
                // scheduler (on a loaded 2-core host they mostly take turns); the printed counts show it.
                assertThat(r.distinctValues()).as("distinct k seen (writer published %d)", published)
                        .isGreaterThan(1);
                // giving up after MAX_READ_ATTEMPTS is allowed (a descheduled writer), but must stay rare
                assertThat(r.gaveUp()).isLessThan(READS_PER_READER / 10);
            }
        } finally {
            readersDone.set(true);
            pool.shutdownNow();
            assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
            writer.close();
        }
    }

    private static ReaderResult read(ShmTrueTime tt, CountDownLatch start) throws InterruptedException {
        start.await();
        long lastK = 0;
        long distinct = 0;
        long gaveUp = 0;
        for (int i = 0; i < READS_PER_READER; i++) {
            ClockSnapshot s = tt.snapshotOrNull();
            if (s == null) {
                gaveUp++;
            } else {
                long k = s.asOfMonotonicNanos();
                if (!s.equals(snapshotOf(k))) {
                    return new ReaderResult(distinct, gaveUp, "snapshotOrNull read " + s + " at k=" + k);
                }
                if (k < lastK) {
                    return new ReaderResult(distinct, gaveUp, "snapshotOrNull went back from k=" + lastK + " to " + k);
                }
                distinct += k != lastK ? 1 : 0;
                lastK = k;
            }
            TimeInterval now;
            try {
                now = tt.now();
            } catch (ClockUnavailableException e) {
                if (e.status() != ClockStatus.UNKNOWN || !e.getMessage().contains("mid-write")) {
                    return new ReaderResult(distinct, gaveUp, "unexpected refusal " + e);
                }
                gaveUp++;
                continue;
            }
            long mid = (now.earliestEpochNanos() + now.latestEpochNanos()) / 2;
            long bound = (now.latestEpochNanos() - now.earliestEpochNanos()) / 2;
            long k = mid / 3;
            if (mid % 3 != 0 || bound != ClockSnapshot.boundAt(k * 5, k % 1000, -k)) {
                return new ReaderResult(distinct, gaveUp, "now() returned " + now + ": midpoint " + mid
                        + " and bound " + bound + " are not from one k");
            }
            if (k < lastK) {
                return new ReaderResult(distinct, gaveUp, "now() went back from k=" + lastK + " to " + k);
            }
            distinct += k != lastK ? 1 : 0;
            lastK = k;
        }
        return new ReaderResult(distinct, gaveUp, null);
    }
}
