package io.gnomon.paxos.server;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * Not a test: a program (test scope) that measures what an idle group costs a process: it starts one replica
 * process (a cluster of one, so every group elects itself and then idles) with {@code args[0]} groups, waits for
 * every group to lead, then reports heap after GC, threads and the loop's group ticks over a few seconds, against
 * the same process with one group. Run: {@code java -cp <test classpath> io.gnomon.paxos.server.IdleGroupHeap 1000}.
 * Figures from a loaded machine are rough; docs/paxos.md, "Many groups per process", says what was measured.
 */
public final class IdleGroupHeap {
    public static void main(String[] args) throws Exception {
        int groups = Integer.parseInt(args.length > 0 ? args[0] : "1000");
        long one = measure(1);
        long many = measure(groups);
        System.out.printf("heap per idle group: %.1f KiB ((%d - %d bytes) / %d)%n",
                (many - one) / 1024.0 / (groups - 1), many, one, groups - 1);
    }

    private static long measure(int groups) throws Exception {
        Path dir = Files.createTempDirectory("idle-groups");
        Map<Long, List<Integer>> g = new TreeMap<>();
        for (long i = 1; i <= groups; i++) {
            g.put(i, List.of(1));
        }
        LocalCluster cluster = new LocalCluster(dir, 1).withGroups(g);
        try {
            ReplicaServer s = cluster.start(1);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (System.nanoTime() < deadline && !allLead(cluster, groups)) {
                Thread.sleep(100);
            }
            Thread.sleep(2000); // idle
            long ticks0 = s.groupTicks();
            Thread.sleep(3000);
            long ticks = s.groupTicks() - ticks0;
            long heap = heapAfterGc();
            System.out.printf("%d groups: heap after GC %d KiB, %d threads, %d loop threads, %.0f group ticks/s%n",
                    groups, heap / 1024, Thread.activeCount(), s.loopThreads(), ticks / 3.0);
            return heap;
        } finally {
            cluster.close();
        }
    }

    private static boolean allLead(LocalCluster cluster, int groups) {
        try (ReplicaClient c = new ReplicaClient(cluster.targets(), ReplicaClient.AppendCalls.UNARY, groups)) {
            return c.leaseHolder(java.time.Duration.ofSeconds(1)).isPresent();
        }
    }

    private static long heapAfterGc() throws InterruptedException {
        MemoryMXBean m = ManagementFactory.getMemoryMXBean();
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(200);
        }
        return m.getHeapMemoryUsage().getUsed();
    }
}
