package io.gnomon.paxos.wal;

import io.gnomon.paxos.ChildJvm;
import io.gnomon.paxos.DurableState;
import io.gnomon.paxos.Entry;
import io.gnomon.paxos.storage.SyncPolicy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Every batch a process acknowledged survives {@code kill -9}: a child JVM ({@link WalKillChild}) writes batches for
 * 16 groups into one {@link ProcessLog} and prints each after its sync returns; we SIGKILL it after a seeded random
 * number of batches, reopen the log and look, per group, for every acknowledged slot and decided index. Six kills on
 * the same directory, policies alternating (both promise survival of a process crash). While a child lives, opening
 * its directory is refused naming its pid; once it is killed, the lock is free. Rerun with
 * {@code -Dtest=WalKillNineTest -Dwal.kill.seed=N} (same targets and write sequences; the kill instant still
 * depends on scheduling).
 */
class WalKillNineTest {
    static final int KILLS = 6;
    static final Duration STALL = Duration.ofSeconds(60);

    @TempDir
    Path tmp;

    /** Per group, the log end and decided index of its last acknowledged batch (both only grow). */
    private static final class Acked {
        final Map<Long, long[]> byGroup = new ConcurrentHashMap<>();
        final AtomicLong batches = new AtomicLong();
        final AtomicLong lastLineNanos = new AtomicLong(System.nanoTime());
        volatile boolean started;
        final List<String> malformed = Collections.synchronizedList(new ArrayList<>());

        void take(String line) {
            lastLineNanos.set(System.nanoTime());
            if (line.equals("START")) {
                started = true;
                return;
            }
            try {
                String[] f = line.split(" ");
                if (!f[0].equals("B")) {
                    malformed.add(line);
                    return;
                }
                for (int i = 1; i < f.length; i++) {
                    String[] p = f[i].split(":");
                    byGroup.put(Long.parseLong(p[0]), new long[]{Long.parseLong(p[1]), Long.parseLong(p[2])});
                }
                batches.incrementAndGet();
            } catch (RuntimeException e) {
                malformed.add(line + " (" + e + ")");
            }
        }
    }

    @Test
    void everyAcknowledgedBatchOfEveryGroupSurvivesKillNine() throws Exception {
        long seed = Long.getLong("wal.kill.seed", System.nanoTime());
        System.out.println("WalKillNineTest seed " + seed + " (rerun: -Dtest=WalKillNineTest -Dwal.kill.seed=" + seed + ")");
        SplittableRandom rng = new SplittableRandom(seed);
        Path dir = tmp.resolve("wal");
        Acked acked = new Acked();
        for (int kill = 0; kill < KILLS; kill++) {
            SyncPolicy policy = kill % 2 == 0 ? SyncPolicy.SYNC_EACH_BATCH : SyncPolicy.NONE;
            long before = acked.batches.get();
            long target = before + 1 + rng.nextInt(1_500);
            long childSeed = rng.nextLong();
            Path stderr = tmp.resolve("child-" + kill + ".err");
            List<String> cmd = ChildJvm.command(WalKillChild.class);
            cmd.addAll(List.of(dir.toString(), policy.name(), Long.toString(childSeed)));
            Process child = new ProcessBuilder(cmd).redirectError(stderr.toFile()).start();
            acked.started = false;
            acked.lastLineNanos.set(System.nanoTime());
            Thread reader = new Thread(() -> {
                try (BufferedReader in = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.US_ASCII))) {
                    for (String line; (line = in.readLine()) != null; ) {
                        acked.take(line);
                    }
                } catch (IOException e) {
                    // the pipe breaks when the child dies: what was read before counts
                }
            }, "wal-kill-child-stdout");
            reader.start();
            String what = "child " + kill + " (" + policy + ", child seed " + childSeed + ", pid " + child.pid() + ")";
            try {
                await(what).atMost(Duration.ofMinutes(10)).pollInterval(Duration.ofMillis(1))
                        .until(() -> acked.batches.get() >= target || !child.isAlive()
                                || System.nanoTime() - acked.lastLineNanos.get() > STALL.toNanos());
                assertThat(child.isAlive()).as("%s died by itself: %s", what, Files.readString(stderr)).isTrue();
                assertThat(acked.batches.get()).as("%s stalled (started: %s): %s", what, acked.started,
                        Files.readString(stderr)).isGreaterThanOrEqualTo(target);
                assertThat(acked.malformed).isEmpty();
                assertThatThrownBy(() -> ProcessLog.open(dir, ProcessLogOptions.DEFAULTS))
                        .as("the directory is locked by the child").isInstanceOf(IOException.class)
                        .hasMessageContaining("in use by another writer (pid " + child.pid() + ")");
            } finally {
                child.destroyForcibly(); // SIGKILL
                child.waitFor();
                reader.join();
            }
            try (ProcessLog wal = ProcessLog.open(dir, ProcessLogOptions.DEFAULTS.withSyncPolicy(policy)
                    .withSegmentBytes(WalKillChild.SEGMENT_BYTES))) {
                Map<Long, DurableState.Recovered> got = wal.recover(g -> WalKillChild.initial());
                long slots = check(acked, got, "seed " + seed + ", kill " + kill);
                System.out.printf("kill %d (%s): %d acknowledged batches, %d acknowledged slots above the snapshots present with their values, segments %d..%d%s%n",
                        kill, policy, acked.batches.get(), slots, wal.oldestSegment(), wal.currentSegment(),
                        wal.repairedTail() == null ? "" : ", " + wal.repairedTail());
            }
        }
    }

    private static long check(Acked acked, Map<Long, DurableState.Recovered> got, String run) {
        long slots = 0;
        List<String> missing = new ArrayList<>();
        for (Map.Entry<Long, long[]> a : acked.byGroup.entrySet()) {
            long g = a.getKey();
            long ackedEnd = a.getValue()[0];
            long ackedDecided = a.getValue()[1];
            DurableState.Recovered r = got.get(g);
            if (r == null) {
                missing.add("group " + g + " entirely");
                continue;
            }
            long end = r.firstSlot() + r.entries().size();
            if (end < ackedEnd) {
                missing.add("group " + g + ": log ends at " + end + ", acknowledged through " + (ackedEnd - 1));
            }
            assertThat(r.decidedIndex()).as(run + ": decided of group " + g).isGreaterThanOrEqualTo(ackedDecided);
            if (r.snapshot() != null) {
                assertThat(r.snapshot().lastIncludedSlot()).as(run + ": snapshot of group " + g)
                        .isLessThan(r.decidedIndex());
            }
            for (int i = 0; i < r.entries().size(); i++) {
                Entry e = r.entries().get(i);
                long slot = r.firstSlot() + i;
                assertThat(e.value()).as(run + ": group " + g + " slot " + slot).isEqualTo(WalKillChild.value(g, slot));
                if (slot < ackedEnd) {
                    slots++;
                }
            }
        }
        assertThat(missing).as(run + ": acknowledged writes missing after kill -9").isEmpty();
        return slots;
    }
}
