package io.gnomon.paxos.storage;

import io.gnomon.paxos.Ballot;
import io.gnomon.paxos.storage.DurableLog.Entry;
import io.gnomon.paxos.storage.DurableLog.Recovered;
import io.gnomon.paxos.ChildJvm;
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
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Every write a process acknowledged survives {@code kill -9} of that process: a child JVM ({@link KillChild})
 * writes and prints each write after persist + sync returns; we SIGKILL it at a random point, reopen the log and
 * look for every acknowledged write. Ten kills on the same directory, alternating the sync policy (both promise
 * survival of a process crash), so later runs recover logs that already hold earlier crash tails.
 *
 * <p>Seeded (the seed is printed): the same seed gives the same kill targets and the same child write sequences;
 * the exact instant of each kill still depends on scheduling. Rerun with
 * {@code mvn -B -o -q -pl txn-coordinator -am verify -Dtest=KillNineTest -Dsurefire.failIfNoSpecifiedTests=false -Dplog.kill.seed=N}.
 */
class KillNineTest {

    static final int KILLS = 10;

    @TempDir
    Path tmp;

    /** What the child acknowledged: for each slot the ballot round of its last acknowledged accept. */
    private static final class Acked {
        final TreeMap<Long, Long> roundBySlot = new TreeMap<>();
        long promisedRound;
        long leaseEnd;
        long decided = -1;
        long snapshot = -1;
        final AtomicLong lines = new AtomicLong();

        synchronized void take(String line) {
            String[] f = line.split(" ");
            switch (f[0]) {
                case "A" -> {
                    for (long s = Long.parseLong(f[1]); s <= Long.parseLong(f[2]); s++) {
                        roundBySlot.put(s, Long.parseLong(f[3]));
                    }
                }
                case "P" -> {
                    promisedRound = Long.parseLong(f[1]);
                    leaseEnd = Math.max(leaseEnd, Long.parseLong(f[2]));
                }
                case "D" -> decided = Long.parseLong(f[1]);
                case "S" -> snapshot = Long.parseLong(f[1]);
                default -> {
                    return; // START and anything else is not an acknowledgement
                }
            }
            lines.incrementAndGet();
        }
    }

    @Test
    void everyAcknowledgedWriteSurvivesKillNine() throws Exception {
        long seed = Long.getLong("plog.kill.seed", System.nanoTime());
        System.out.println("KillNineTest seed " + seed + " (rerun: mvn -B -o -q -pl txn-coordinator -am verify -Dtest=KillNineTest"
                + " -Dsurefire.failIfNoSpecifiedTests=false -Dplog.kill.seed=" + seed + ")");
        SplittableRandom rng = new SplittableRandom(seed);
        Path dir = tmp.resolve("log");
        Acked acked = new Acked();
        for (int kill = 0; kill < KILLS; kill++) {
            SyncPolicy policy = kill % 2 == 0 ? SyncPolicy.SYNC_EACH_BATCH : SyncPolicy.NONE;
            long ackLinesBefore = acked.lines.get();
            long target = ackLinesBefore + 1 + rng.nextInt(2_000);
            Path stderr = tmp.resolve("child-" + kill + ".err");
            Process child = new ProcessBuilder(childCommand(dir, policy, rng.nextLong()))
                    .redirectError(stderr.toFile()).start();
            Thread reader = new Thread(() -> {
                try (BufferedReader in = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.US_ASCII))) {
                    for (String line; (line = in.readLine()) != null; ) {
                        acked.take(line);
                    }
                } catch (IOException e) {
                    // the pipe breaks when the child dies: everything read before it counts
                }
            }, "kill-child-stdout");
            reader.start();
            try {
                await("child " + kill + " acknowledges " + (target - ackLinesBefore) + " writes (stderr in " + stderr + ")")
                        .atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(1))
                        .until(() -> acked.lines.get() >= target || !child.isAlive());
                assertThat(child.isAlive()).as("child %d died by itself: %s", kill, Files.readString(stderr)).isTrue();
            } finally {
                child.destroyForcibly(); // SIGKILL
                child.waitFor();
                reader.join();
            }
            System.out.printf("kill %d (%s): %d acknowledged lines so far, %d slots, decided %d, snapshot %d%n",
                    kill, policy, acked.lines.get(), acked.roundBySlot.size(), acked.decided, acked.snapshot);
            try (ChronicleDurableLog log = ChronicleDurableLog.open(dir, policy, LogLimits.DEFAULTS)) {
                assertAllAcknowledgedPresent(acked, log.recover(), "seed " + seed + ", kill " + kill);
            }
        }
    }

    private static void assertAllAcknowledgedPresent(Acked acked, Recovered r, String run) {
        assertThat(r.promised().round()).as(run + ": promise").isGreaterThanOrEqualTo(acked.promisedRound);
        assertThat(r.grantedLeaseEndEpochNanos()).as(run + ": lease").isGreaterThanOrEqualTo(acked.leaseEnd);
        assertThat(r.decidedUpTo()).as(run + ": decided").isGreaterThanOrEqualTo(acked.decided);
        long covered = r.snapshotOrNull() == null ? -1 : r.snapshotOrNull().lastIncludedSlot();
        assertThat(covered).as(run + ": snapshot").isGreaterThanOrEqualTo(acked.snapshot);
        if (r.snapshotOrNull() != null) {
            assertThat(new String(r.snapshotOrNull().state(), StandardCharsets.US_ASCII)).isEqualTo("state@" + covered);
        }
        List<Long> missing = new ArrayList<>();
        for (Map.Entry<Long, Long> a : acked.roundBySlot.tailMap(covered, false).entrySet()) {
            Entry got = r.entriesAboveSnapshot().get(a.getKey());
            if (got == null) {
                missing.add(a.getKey());
                continue;
            }
            assertThat(got.ballot().round()).as(run + ": ballot of slot " + a.getKey()).isGreaterThanOrEqualTo(a.getValue());
            assertThat(got.ballot()).isEqualTo(new Ballot(got.ballot().round(), 1));
            assertThat(got.value()).as(run + ": value of slot " + a.getKey()).isEqualTo(KillChild.value(a.getKey(), got.ballot().round()));
        }
        assertThat(missing).as(run + ": acknowledged slots missing after kill -9").isEmpty();
    }

    private static List<String> childCommand(Path dir, SyncPolicy policy, long seed) throws IOException {
        List<String> cmd = ChildJvm.command(KillChild.class);
        cmd.add(dir.toString());
        cmd.add(policy.name());
        cmd.add(Long.toString(seed));
        return cmd;
    }
}
