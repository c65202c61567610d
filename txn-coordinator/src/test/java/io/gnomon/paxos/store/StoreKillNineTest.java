package io.gnomon.paxos.store;

import io.gnomon.paxos.ChildJvm;
import io.gnomon.paxos.server.ReplicaProcesses;
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
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * After {@code kill -9} of a process applying batches to many groups, every group reopens at an applied index whose
 * data is entirely there and nothing beyond it, at or past what the last flush promised. A child JVM
 * ({@link StoreKillChild}, the storage package's KillChild pattern, started by {@link ChildJvm}) applies and
 * flushes; we SIGKILL it at a random point, reopen and check each group against the batches it must hold. Several
 * kills on one directory, so later children recover stores that already hold earlier crash tails.
 *
 * <p>Seeded; the instant of each kill still depends on scheduling. Rerun with
 * {@code -Dtest=StoreKillNineTest -Dstore.kill.seed=N}.
 */
class StoreKillNineTest {
    static final int KILLS = 6;
    static final int GROUPS = 8;
    static final Duration STALL = Duration.ofSeconds(60);
    static final Duration CHILD_LIMIT = Duration.ofMinutes(10);

    @TempDir
    Path tmp;

    /** What the child acknowledged, per group. */
    static final class Acked {
        /** Index GROUPS is the mirror group. */
        final long[] applied = new long[GROUPS + 1];
        final long[] durable = new long[GROUPS + 1];
        final AtomicLong lines = new AtomicLong();
        final AtomicLong lastLineNanos = new AtomicLong(System.nanoTime());
        volatile boolean started;
        final List<String> malformed = java.util.Collections.synchronizedList(new ArrayList<>());

        Acked() {
            Arrays.fill(applied, -1);
            Arrays.fill(durable, -1);
        }

        synchronized void take(String line) {
            lastLineNanos.set(System.nanoTime());
            try {
                String[] f = line.split(" ");
                switch (f[0]) {
                    case "START" -> {
                        started = true;
                        return;
                    }
                    case "A" -> applied[Integer.parseInt(f[1])] = Long.parseLong(f[2]);
                    case "M" -> applied[GROUPS] = Long.parseLong(f[1]);
                    case "F" -> {
                        for (int i = 1; i < f.length; i++) {
                            String[] gi = f[i].split(":");
                            int g = Integer.parseInt(gi[0]);
                            durable[g] = Math.max(durable[g], Long.parseLong(gi[1]));
                        }
                    }
                    default -> {
                        return;
                    }
                }
                lines.incrementAndGet();
            } catch (RuntimeException e) {
                malformed.add(line + " (" + e + ")");
            }
        }
    }

    @Test
    void everyGroupReopensAtAnAppliedIndexThatMatchesItsData() throws Exception {
        long seed = Long.getLong("store.kill.seed", System.nanoTime());
        System.out.println("StoreKillNineTest seed " + seed + " (rerun: -Dtest=StoreKillNineTest -Dstore.kill.seed=" + seed + ")");
        SplittableRandom rng = new SplittableRandom(seed);
        Path dir = tmp.resolve("store");
        Acked acked = new Acked();
        long lostBatches = 0;
        long beyondPromise = 0;
        long midInstall = 0;
        for (int kill = 0; kill < KILLS; kill++) {
            long target = acked.lines.get() + 1 + rng.nextInt(3_000);
            long childSeed = rng.nextLong();
            Path stderr = tmp.resolve("child-" + kill + ".err");
            List<String> cmd = ChildJvm.command(StoreKillChild.class, "-Xmx128m");
            cmd.addAll(List.of(dir.toString(), Long.toString(childSeed), Integer.toString(GROUPS)));
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(stderr.toFile());
            ReplicaProcesses.unpackRocksDbLibraryIn(pb, tmp.resolve("rocksdb-jni")); // not /tmp: the child dies by SIGKILL
            Process child = pb.start();
            acked.started = false;
            acked.lastLineNanos.set(System.nanoTime());
            AtomicReference<Throwable> readerDied = new AtomicReference<>();
            Thread reader = new Thread(() -> {
                try (BufferedReader in = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.US_ASCII))) {
                    for (String line; (line = in.readLine()) != null; ) {
                        acked.take(line);
                    }
                } catch (IOException e) {
                    // the pipe breaks when the child dies: everything read before counts
                } catch (Throwable t) {
                    readerDied.set(t);
                }
            }, "store-kill-child-stdout");
            reader.start();
            String what = "child " + kill + " (seed " + childSeed + ", pid " + child.pid() + ")";
            try {
                await(what + " acknowledges").atMost(CHILD_LIMIT).pollInterval(Duration.ofMillis(1))
                        .until(() -> acked.lines.get() >= target || !child.isAlive() || readerDied.get() != null
                                || System.nanoTime() - acked.lastLineNanos.get() > STALL.toNanos());
                assertThat(child.isAlive()).as("%s died by itself: %s", what, Files.readString(stderr)).isTrue();
                assertThat(acked.lines.get()).as("%s stalled or its reader died (%s); stderr: %s", what, readerDied.get(),
                        Files.readString(stderr)).isGreaterThanOrEqualTo(target);
                if (kill == 0) {
                    // while the child lives, the directory is locked against this process
                    assertThatThrownBy(() -> VersionedStore.open(dir, StoreKillChild.LIMITS))
                            .isInstanceOfSatisfying(StoreOpenException.class,
                                    e -> assertThat(e.reason()).isEqualTo(StoreOpenException.Reason.LOCKED));
                }
            } finally {
                child.destroyForcibly(); // SIGKILL
                child.waitFor();
                reader.join();
            }
            assertThat(acked.malformed).as("malformed lines from %s", what).isEmpty();
            try (VersionedStore store = VersionedStore.open(dir, StoreKillChild.LIMITS)) {
                StringBuilder report = new StringBuilder("kill " + kill + ":");
                for (int g = 0; g < GROUPS; g++) {
                    long a = store.group(g).appliedIndex();
                    String run = "seed " + seed + ", kill " + kill + ", group " + g;
                    assertThat(a).as(run + ": reopened applied index vs the last flush's promise").isGreaterThanOrEqualTo(acked.durable[g]);
                    assertThat(a).as(run + ": reopened applied index vs the last batch applied (+1 in flight)").isLessThanOrEqualTo(acked.applied[g] + 1);
                    assertThat(store.group(g).durableAppliedIndex()).isEqualTo(a);
                    assertGroupHoldsExactly(store.group(g), a, run);
                    lostBatches += Math.max(0, acked.applied[g] - a);
                    beyondPromise += a > acked.durable[g] ? 1 : 0;
                    report.append(' ').append(g).append(":applied=").append(acked.applied[g]).append("/durable=")
                            .append(acked.durable[g]).append("/reopened=").append(a);
                    acked.applied[g] = a; // the next child continues from here
                }
                GroupStore mirror = store.group(GROUPS);
                String run = "seed " + seed + ", kill " + kill + ", mirror group " + GROUPS;
                if (mirror.installing()) {
                    assertThat(store.groupsWithIncompleteInstall()).as(run).containsExactly((long) GROUPS);
                    assertThatThrownBy(() -> mirror.get(StoreKillChild.bytes("last"), Long.MAX_VALUE))
                            .as(run).hasMessageContaining("interrupted by a crash");
                    midInstall++;
                    report.append(" mirror:installing");
                } else {
                    long a = mirror.appliedIndex();
                    // a snapshot of group 0 at index a is batches 0..a, like group 0 itself at a
                    assertThat(a).as(run + ": vs the last flush's promise").isGreaterThanOrEqualTo(acked.durable[GROUPS]);
                    assertThat(a).as(run + ": vs the last finished install").isLessThanOrEqualTo(acked.applied[0] + 1);
                    assertGroupHoldsExactly(mirror, a, run);
                    report.append(" mirror:reopened=").append(a).append("/installed=").append(acked.applied[GROUPS]);
                    acked.applied[GROUPS] = a;
                }
                System.out.println(report);
            }
        }
        System.out.println("StoreKillNineTest: " + KILLS + " kills, " + lostBatches + " unflushed batches lost in total"
                + " (replayed from the Paxos log in production); " + beyondPromise + " group reopenings past the last"
                + " flush's promise (the engine flushed a full memtable on its own); " + midInstall
                + " reopenings found the mirror group mid-install");
    }

    /** Batches 0..applied of StoreKillChild are there, and none beyond. */
    static void assertGroupHoldsExactly(GroupStore g, long applied, String run) {
        long ts = Long.MAX_VALUE;
        long expected = 0;
        byte[] from = StoreKillChild.bytes("b/");
        byte[] end = StoreKillChild.bytes("b0");
        while (true) {
            List<Row> rows = g.scan(from, end, ts, 5_000);
            for (Row r : rows) {
                assertThat(new String(r.key(), StandardCharsets.US_ASCII)).as(run + ": batch key")
                        .isEqualTo(new String(StoreKillChild.batchKey(expected), StandardCharsets.US_ASCII));
                assertThat(r.value()).as(run + ": value of batch " + expected).isEqualTo(StoreKillChild.value(expected));
                assertThat(r.timestamp()).isEqualTo(StoreKillChild.timestamp(expected));
                expected++;
            }
            if (rows.size() < 5_000) {
                break;
            }
            from = Arrays.copyOf(rows.get(rows.size() - 1).key(), rows.get(rows.size() - 1).key().length + 1);
        }
        assertThat(expected - 1).as(run + ": the last batch present").isEqualTo(applied);
        assertThat(g.get(StoreKillChild.bytes("last"), ts).map(v -> new String(v, StandardCharsets.US_ASCII)))
                .as(run + ": 'last'").isEqualTo(applied < 0 ? java.util.Optional.empty() : java.util.Optional.of(Long.toString(applied)));
        assertThat(g.scan(StoreKillChild.bytes("tmp/"), StoreKillChild.bytes("tmp0"), ts, 10))
                .as(run + ": the moving key").extracting(r -> new String(r.key(), StandardCharsets.US_ASCII))
                .isEqualTo(applied < 0 ? List.of() : List.of("tmp/" + applied));
    }
}
