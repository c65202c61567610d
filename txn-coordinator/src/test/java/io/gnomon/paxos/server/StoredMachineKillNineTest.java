package io.gnomon.paxos.server;

import io.gnomon.paxos.ChildJvm;
import io.gnomon.paxos.runtime.StateMachine;
import io.gnomon.paxos.runtime.StateMachine;
import io.gnomon.paxos.store.StoreOpenException;
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
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * After {@code kill -9} of a process applying commands to list-append, key-value and counter machines on one store,
 * every machine reopens at an applied index at or past the last index its flush() returned and at most one past
 * the last apply it reported, holding exactly the state of the decided prefix below it: every query answers as an
 * in-memory machine that applied the same commands, and every result the child reported matched that machine's.
 * Several kills over one directory (the pattern of the store's StoreKillNineTest). Seeded; the instant of each kill
 * depends on scheduling. Rerun with {@code -Dtest=StoredMachineKillNineTest -Dstored.kill.seed=N}.
 */
class StoredMachineKillNineTest {
    static final int KILLS = 4;
    static final int GROUPS = 6;
    static final Duration STALL = Duration.ofSeconds(60);
    static final Duration CHILD_LIMIT = Duration.ofMinutes(10);

    @TempDir
    Path tmp;

    /** What the child reported, per group (next-slot numbering). */
    static final class Reported {
        final long[] applied = new long[GROUPS];
        final long[] durable = new long[GROUPS];
        /** Per group, the crc of each slot's result, by slot (grows; a replayed slot must give the same). */
        final List<List<String>> crcs = new ArrayList<>();
        final AtomicLong lines = new AtomicLong();
        final AtomicLong lastLineNanos = new AtomicLong(System.nanoTime());
        final List<String> malformed = Collections.synchronizedList(new ArrayList<>());

        Reported() {
            for (int g = 0; g < GROUPS; g++) {
                crcs.add(new ArrayList<>());
            }
        }

        synchronized void take(String line) {
            lastLineNanos.set(System.nanoTime());
            try {
                String[] f = line.split(" ");
                switch (f[0]) {
                    case "A" -> {
                        int g = Integer.parseInt(f[1]);
                        int slot = Integer.parseInt(f[2]);
                        List<String> c = crcs.get(g);
                        if (slot < c.size()) {
                            if (!c.get(slot).equals(f[3])) {
                                malformed.add(line + " (a replayed slot gave another result than before: " + c.get(slot) + ")");
                            }
                        } else if (slot == c.size()) {
                            c.add(f[3]);
                        } else {
                            malformed.add(line + " (slot beyond " + c.size() + ")");
                        }
                        applied[g] = slot + 1;
                    }
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
    void everyMachineReopensAtAPrefixOfWhatItAppliedAtOrPastItsLastFlush() throws Exception {
        long seed = Long.getLong("stored.kill.seed", System.nanoTime());
        System.out.println("StoredMachineKillNineTest seed " + seed + " (rerun: -Dtest=StoredMachineKillNineTest -Dstored.kill.seed=" + seed + ")");
        SplittableRandom rng = new SplittableRandom(seed);
        Reported reported = new Reported();
        long lostSlots = 0;
        for (int kill = 0; kill < KILLS; kill++) {
            long target = reported.lines.get() + 1 + rng.nextInt(2_000);
            long childSeed = rng.nextLong();
            Path stderr = tmp.resolve("child-" + kill + ".err");
            List<String> cmd = ChildJvm.command(StoredMachineKillChild.class, "-Xmx128m");
            cmd.addAll(List.of(tmp.toString(), Long.toString(childSeed), Integer.toString(GROUPS)));
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(stderr.toFile());
            ReplicaProcesses.unpackRocksDbLibraryIn(pb, tmp.resolve("rocksdb-jni")); // not /tmp: the child dies by SIGKILL
            Process child = pb.start();
            reported.lastLineNanos.set(System.nanoTime());
            AtomicReference<Throwable> readerDied = new AtomicReference<>();
            Thread reader = new Thread(() -> {
                try (BufferedReader in = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.US_ASCII))) {
                    for (String line; (line = in.readLine()) != null; ) {
                        reported.take(line);
                    }
                } catch (IOException e) {
                    // the pipe breaks when the child dies: everything read before counts
                } catch (Throwable t) {
                    readerDied.set(t);
                }
            }, "stored-kill-child-stdout");
            reader.start();
            String what = "child " + kill + " (seed " + childSeed + ", pid " + child.pid() + ")";
            try {
                await(what + " reports").atMost(CHILD_LIMIT).pollInterval(Duration.ofMillis(1))
                        .until(() -> reported.lines.get() >= target || !child.isAlive() || readerDied.get() != null
                                || System.nanoTime() - reported.lastLineNanos.get() > STALL.toNanos());
                assertThat(child.isAlive()).as("%s died by itself: %s", what, Files.readString(stderr)).isTrue();
                assertThat(reported.lines.get()).as("%s stalled or its reader died (%s); stderr: %s", what, readerDied.get(),
                        Files.readString(stderr)).isGreaterThanOrEqualTo(target);
                if (kill == 0) {
                    assertThatThrownBy(() -> StoredMachines.open(tmp, StoredMachineKillChild.LIMITS))
                            .isInstanceOfSatisfying(StoreOpenException.class,
                                    e -> assertThat(e.reason()).isEqualTo(StoreOpenException.Reason.LOCKED));
                }
            } finally {
                child.destroyForcibly(); // SIGKILL
                child.waitFor();
                reader.join();
            }
            assertThat(reported.malformed).as("malformed or inconsistent lines from %s", what).isEmpty();
            StringBuilder report = new StringBuilder("kill " + kill + ":");
            try (StoredMachines machines = StoredMachines.open(tmp, StoredMachineKillChild.LIMITS)) {
                for (int g = 0; g < GROUPS; g++) {
                    String run = "seed " + seed + ", kill " + kill + ", group " + g + " (" + StoredMachineKillChild.kind(g) + ")";
                    StateMachine m = machines.machine(StoredMachineKillChild.kind(g), g);
                    long a = m.appliedIndex();
                    assertThat(a).as(run + ": reopened applied index vs the last flush's promise").isGreaterThanOrEqualTo(reported.durable[g]);
                    assertThat(a).as(run + ": reopened applied index vs the last apply reported (+1 in flight)")
                            .isLessThanOrEqualTo(reported.applied[g] + 1);
                    assertHoldsPrefix(m, g, a, reported.crcs.get(g), run);
                    lostSlots += Math.max(0, reported.applied[g] - a);
                    report.append(' ').append(g).append(":applied=").append(reported.applied[g]).append("/durable=")
                            .append(reported.durable[g]).append("/reopened=").append(a);
                    reported.applied[g] = a;
                    reported.durable[g] = Math.min(reported.durable[g], a);
                }
            }
            System.out.println(report);
        }
        System.out.println("StoredMachineKillNineTest: " + KILLS + " kills, " + lostSlots + " unflushed slots lost in all"
                + " (a log replay applies them again)");
    }

    /** The machine answers every query as an in-memory machine that applied slots [0, a), and gave the same results. */
    private static void assertHoldsPrefix(StateMachine m, int g, long a, List<String> crcs, String run) {
        StateMachine memory = switch (StoredMachineKillChild.kind(g)) {
            case "list-append" -> new ListAppendMachine();
            case "kv" -> new KeyValueMachine();
            default -> new CounterMachine();
        };
        for (long slot = 0; slot < a; slot++) {
            byte[] c = StoredMachineKillChild.command(g, slot);
            byte[] result = memory.apply(slot, c);
            if (c != null) {
                if (slot < crcs.size()) {
                    assertThat(crcs.get((int) slot)).as(run + ": result of slot " + slot).isEqualTo(StoredMachineKillChild.crc(result));
                }
            }
        }
        List<byte[]> queries = switch (StoredMachineKillChild.kind(g)) {
            case "list-append" -> StoredMachineEquivalenceTest.KEYS.stream().map(k -> k.getBytes(StandardCharsets.UTF_8)).toList();
            case "kv" -> StoredMachineEquivalenceTest.kvQueries();
            default -> List.of(new byte[0]);
        };
        for (byte[] q : queries) {
            assertThat(m.query(q)).as(run + ": query %s at applied index %d", Arrays.toString(q), a).isEqualTo(memory.query(q));
        }
    }
}
