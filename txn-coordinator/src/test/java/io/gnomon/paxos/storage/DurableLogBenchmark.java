package io.gnomon.paxos.storage;

import ch.qos.logback.classic.Level;
import io.gnomon.paxos.Ballot;
import io.gnomon.paxos.storage.DurableLog.Entry;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Appends/s and latency of {@code persistAccepted(batch) + sync()} for batches of 1, 16 and 64 entries of 100
 * bytes, under each {@link SyncPolicy}; one thread, a fresh log per case. Not a test: numbers go to
 * docs/paxos-log.md. Usage (from txn-coordinator, after {@code mvn ... verify}):
 * <pre>
 * java $(flags) -cp target/test-classes:target/classes:$(cat target/classpath.txt) \
 *     io.gnomon.paxos.storage.DurableLogBenchmark [dir] [secondsPerCase]
 * </pre>
 */
public final class DurableLogBenchmark {

    public static void main(String[] args) throws Exception {
        ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).setLevel(Level.WARN);
        Path base = Path.of(args.length > 0 ? args[0] : "target/plog-bench");
        double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 3;
        Files.createDirectories(base);
        System.out.printf("%-16s %6s %14s %12s %10s %10s %10s%n", "policy", "batch", "appends/s", "batches/s",
                "p50 us", "p99 us", "max us");
        for (SyncPolicy policy : new SyncPolicy[]{SyncPolicy.SYNC_EACH_BATCH, SyncPolicy.NONE}) {
            for (int batch : new int[]{1, 16, 64}) {
                Path dir = Files.createTempDirectory(base, policy + "-" + batch + "-");
                try {
                    run(dir, policy, batch, seconds);
                } finally {
                    deleteTree(dir);
                }
            }
        }
    }

    private static void run(Path dir, SyncPolicy policy, int batchSize, double seconds) throws Exception {
        byte[] value = new byte[100];
        Arrays.fill(value, (byte) 7);
        Ballot ballot = new Ballot(1, 1);
        long[] latencies = new long[1 << 20];
        int n = 0;
        long slot = 0;
        try (ChronicleDurableLog log = ChronicleDurableLog.open(dir, policy, LogLimits.DEFAULTS)) {
            long warmupEndNanos = System.nanoTime() + 1_000_000_000L;
            while (System.nanoTime() < warmupEndNanos) {
                slot = persist(log, slot, batchSize, ballot, value);
            }
            long start = System.nanoTime();
            long end = start + (long) (seconds * 1e9);
            long firstSlot = slot;
            long now = start;
            while (now < end) {
                long t0 = now;
                slot = persist(log, slot, batchSize, ballot, value);
                now = System.nanoTime();
                if (n == latencies.length) {
                    latencies = Arrays.copyOf(latencies, 2 * n);
                }
                latencies[n++] = now - t0;
            }
            double elapsed = (now - start) / 1e9;
            Arrays.sort(latencies, 0, n);
            System.out.printf("%-16s %6d %,14.0f %,12.0f %10.1f %10.1f %10.1f%n", policy, batchSize,
                    (slot - firstSlot) / elapsed, n / elapsed, latencies[n / 2] / 1e3,
                    latencies[(int) (n * 0.99)] / 1e3, latencies[n - 1] / 1e3);
        }
    }

    private static long persist(DurableLog log, long slot, int batchSize, Ballot ballot, byte[] value) {
        List<Entry> batch = new ArrayList<>(batchSize);
        for (int i = 0; i < batchSize; i++) {
            batch.add(new Entry(slot + i, ballot, value));
        }
        log.persistAccepted(batch);
        log.sync();
        return slot + batchSize;
    }

    private static void deleteTree(Path dir) throws Exception {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
