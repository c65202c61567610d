package io.gnomon.paxos.store;

import org.HdrHistogram.Histogram;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Apply throughput (batches of N mutations of 100-byte values, one group or round-robin over 100 groups, WAL off),
 * what a flush costs, and point-read and 100-row scan latency on a store of 200,000 keys x 3 versions, in memtables
 * and after a flush. One thread, a fresh store per case. Not a test: numbers go to docs/versioned-store.md. Usage
 * (from txn-coordinator, after the module's tests compiled):
 * <pre>
 * java -cp target/test-classes:target/classes:$(cat target/classpath.txt) \
 *     io.gnomon.paxos.store.StoreBenchmark [dir] [secondsPerCase]
 * </pre>
 */
public final class StoreBenchmark {
    static final int VALUE_BYTES = 100;

    public static void main(String[] args) throws Exception {
        Path base = Path.of(args.length > 0 ? args[0] : "target/store-bench");
        double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 3;
        Files.createDirectories(base);
        System.out.printf("%-28s %8s %14s %12s %10s %10s %10s%n", "apply case", "batch", "mutations/s", "batches/s",
                "p50 us", "p99 us", "max us");
        Path warm = Files.createTempDirectory(base, "warmup-");
        try (VersionedStore store = VersionedStore.open(warm, StoreLimits.DEFAULTS)) {
            applyCase(store, 10, 16, seconds, false); // JIT warm-up, not printed
        } finally {
            deleteTree(warm);
        }
        for (int groups : new int[]{1, 100}) {
            for (int batch : new int[]{1, 16, 256}) {
                Path dir = Files.createTempDirectory(base, "apply-");
                try (VersionedStore store = VersionedStore.open(dir, StoreLimits.DEFAULTS)) {
                    applyCase(store, groups, batch, seconds, true);
                } finally {
                    deleteTree(dir);
                }
            }
        }
        Path dir = Files.createTempDirectory(base, "read-");
        try (VersionedStore store = VersionedStore.open(dir, StoreLimits.DEFAULTS)) {
            GroupStore g = store.group(1);
            int keys = 200_000;
            SplittableRandom rng = new SplittableRandom(1);
            long index = 0;
            for (int version = 1; version <= 3; version++) {
                List<Mutation> ms = new ArrayList<>();
                for (int k = 0; k < keys; k++) {
                    ms.add(Mutation.put(key(k), version * 1_000L, value(rng)));
                    if (ms.size() == 1_000) {
                        g.apply(index++, ms);
                        ms = new ArrayList<>();
                    }
                }
            }
            System.out.printf("%n%-40s %10s %10s %10s %10s%n", "read case (200k keys x 3 versions)", "ops/s", "p50 us", "p99 us", "max us");
            readCase("get, memtables + SST", g, keys, seconds, false);
            long t = System.nanoTime();
            store.flush();
            System.out.printf("(flush of what was left in memtables: %.1f ms)%n", (System.nanoTime() - t) / 1e6);
            readCase("get, after flush", g, keys, seconds, false);
            readCase("scan 100 rows, after flush", g, keys, seconds, true);
        } finally {
            deleteTree(dir);
        }
    }

    static void applyCase(VersionedStore store, int groups, int batch, double seconds, boolean print) {
        SplittableRandom rng = new SplittableRandom(batch);
        Histogram h = new Histogram(3);
        long[] next = new long[groups];
        long endNanos = System.nanoTime() + (long) (seconds * 1e9);
        long batches = 0;
        long startNanos = System.nanoTime();
        long k = 0;
        while (System.nanoTime() < endNanos) {
            int g = (int) (batches % groups);
            List<Mutation> ms = new ArrayList<>(batch);
            for (int i = 0; i < batch; i++, k++) {
                ms.add(Mutation.put(key((int) (k % 1_000_000)), k, value(rng)));
            }
            long t = System.nanoTime();
            store.group(g).apply(next[g]++, ms);
            h.recordValue((System.nanoTime() - t) / 1_000);
            batches++;
        }
        double elapsed = (System.nanoTime() - startNanos) / 1e9;
        long t = System.nanoTime();
        store.flush();
        double flushMillis = (System.nanoTime() - t) / 1e6;
        if (!print) {
            return;
        }
        System.out.printf("%-28s %8d %14.0f %12.0f %10d %10d %10d   (then flush %.0f ms)%n",
                groups + (groups == 1 ? " group" : " groups round-robin"), batch, batches * batch / elapsed,
                batches / elapsed, h.getValueAtPercentile(50), h.getValueAtPercentile(99), h.getMaxValue(), flushMillis);
    }

    static void readCase(String name, GroupStore g, int keys, double seconds, boolean scan) {
        SplittableRandom rng = new SplittableRandom(7);
        Histogram h = new Histogram(3);
        long ops = 0;
        long startNanos = System.nanoTime();
        long endNanos = startNanos + (long) (seconds * 1e9);
        long found = 0;
        while (System.nanoTime() < endNanos) {
            int k = rng.nextInt(keys);
            long ts = 1_000 + rng.nextInt(3_000); // at or above the oldest version: every key has a visible one
            long t = System.nanoTime();
            if (scan) {
                found += g.scan(key(k), null, ts, 100).size();
            } else {
                found += g.get(key(k), ts).isPresent() ? 1 : 0;
            }
            h.recordValue((System.nanoTime() - t) / 1_000);
            ops++;
        }
        double elapsed = (System.nanoTime() - startNanos) / 1e9;
        System.out.printf("%-40s %10.0f %10d %10d %10d   (%d rows found)%n", name, ops / elapsed,
                h.getValueAtPercentile(50), h.getValueAtPercentile(99), h.getMaxValue(), found);
    }

    static byte[] key(int k) {
        return String.format("user%08d", k).getBytes(StandardCharsets.US_ASCII);
    }

    static byte[] value(SplittableRandom rng) {
        byte[] v = new byte[VALUE_BYTES];
        rng.nextBytes(v);
        return v;
    }

    static void deleteTree(Path dir) throws java.io.IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
