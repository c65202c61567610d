package io.gnomon.paxos.wal;

import io.gnomon.paxos.Ballot;
import io.gnomon.paxos.Entry;
import io.gnomon.paxos.PersistWrite;
import io.gnomon.paxos.runtime.GroupLog;
import io.gnomon.paxos.storage.SyncPolicy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Appends + syncs per second of a {@link ProcessLog}: one thread, a turn = for each of G groups one
 * {@code PersistAccepted} of E entries of 100 bytes, then one {@code sync()} (the GroupLoop's one sync per turn).
 * 1 s warm-up, {@code seconds} measured, a fresh log per case. Not a test: run by hand (docs/process-log.md).
 * Usage: {@code ProcessLogBenchmark <dir> <seconds>}
 */
public final class ProcessLogBenchmark {
    public static void main(String[] args) throws Exception {
        Path root = Path.of(args[0]);
        double seconds = Double.parseDouble(args[1]);
        System.out.println("policy          groups entries/group  turns/s   entries/s  MiB/s  p50 turn us  p99 turn us");
        int run = 0;
        for (SyncPolicy policy : SyncPolicy.values()) {
            for (int groups : new int[]{1, 16}) {
                for (int entries : new int[]{1, 16}) {
                    Path dir = root.resolve("run-" + run++);
                    Files.createDirectories(dir);
                    measure(dir, policy, groups, entries, seconds);
                }
            }
        }
    }

    private static void measure(Path dir, SyncPolicy policy, int groups, int entriesPerGroup, double seconds)
            throws Exception {
        byte[] value = new byte[100];
        try (ProcessLog wal = ProcessLog.open(dir, ProcessLogOptions.DEFAULTS.withSyncPolicy(policy))) {
            List<GroupLog> views = new ArrayList<>();
            long[] next = new long[groups];
            for (int g = 0; g < groups; g++) {
                views.add(wal.group(g));
            }
            long[] latencies = new long[1 << 22];
            int n = 0;
            long turns = 0;
            long warmEnd = System.nanoTime() + 1_000_000_000L;
            long start = 0;
            long end = Long.MAX_VALUE;
            long bytesBefore = 0;
            while (true) {
                long t0 = System.nanoTime();
                if (start == 0 && t0 >= warmEnd) {
                    start = t0;
                    end = start + (long) (seconds * 1e9);
                    bytesBefore = dirBytes(dir);
                }
                if (t0 >= end) {
                    break;
                }
                for (int g = 0; g < groups; g++) {
                    List<Entry> es = new ArrayList<>(entriesPerGroup);
                    for (int i = 0; i < entriesPerGroup; i++) {
                        es.add(Entry.value(value));
                    }
                    views.get(g).write(List.of(new PersistWrite.PersistAccepted(1, new Ballot(1, 1), next[g], es)));
                    next[g] += entriesPerGroup;
                }
                wal.sync();
                long t1 = System.nanoTime();
                if (start != 0) {
                    turns++;
                    if (n < latencies.length) {
                        latencies[n++] = t1 - t0;
                    }
                }
            }
            double s = (System.nanoTime() - start) / 1e9;
            long bytes = dirBytes(dir) - bytesBefore;
            long[] l = Arrays.copyOf(latencies, n);
            Arrays.sort(l);
            System.out.printf("%-15s %6d %13d %8.0f %11.0f %6.1f %12.1f %12.1f%n", policy, groups, entriesPerGroup,
                    turns / s, turns * groups * entriesPerGroup / s, bytes / s / (1 << 20),
                    l[n / 2] / 1e3, l[(int) (n * 0.99)] / 1e3);
        }
    }

    private static long dirBytes(Path dir) throws Exception {
        try (var s = Files.list(dir)) {
            long sum = 0;
            for (Path p : s.toList()) {
                sum += Files.size(p);
            }
            return sum;
        }
    }
}
