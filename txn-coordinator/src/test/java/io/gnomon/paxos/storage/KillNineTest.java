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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

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
    /** A child that acknowledges nothing for this long while it lives has stalled: fail with its thread dump. */
    static final Duration STALL = Duration.ofSeconds(60);
    /** However slowly a child makes progress, it must reach its target within this (a loaded machine included). */
    static final Duration CHILD_LIMIT = Duration.ofMinutes(10);

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
        /** When the last acknowledgement (or START) was read, System.nanoTime(). */
        final AtomicLong lastLineNanos = new AtomicLong(System.nanoTime());
        volatile boolean started;
        /** Lines that claimed to be acknowledgements but did not parse: a bug in the child or a garbled pipe. */
        final List<String> malformed = java.util.Collections.synchronizedList(new ArrayList<>());

        synchronized void take(String line) {
            try {
                parse(line);
            } catch (RuntimeException e) {
                malformed.add(line + " (" + e + ")");
            }
        }

        private void parse(String line) {
            lastLineNanos.set(System.nanoTime());
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
                case "START" -> {
                    started = true;
                    return;
                }
                default -> {
                    return; // anything else is not an acknowledgement
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
            long childSeed = rng.nextLong();
            Process child = new ProcessBuilder(childCommand(dir, policy, childSeed))
                    .redirectError(stderr.toFile()).start();
            acked.started = false;
            acked.lastLineNanos.set(System.nanoTime());
            AtomicReference<Throwable> readerDied = new AtomicReference<>();
            Thread reader = new Thread(() -> {
                try (BufferedReader in = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.US_ASCII))) {
                    for (String line; (line = in.readLine()) != null; ) {
                        acked.take(line);
                    }
                } catch (IOException e) {
                    // the pipe breaks when the child dies: everything read before it counts
                } catch (Throwable t) {
                    readerDied.set(t); // nobody drains the pipe now: the child would block on its next line
                }
            }, "kill-child-stdout");
            reader.start();
            String what = "child " + kill + " (" + policy + ", child seed " + childSeed + ", pid " + child.pid()
                    + ") acknowledges " + (target - ackLinesBefore) + " writes";
            try {
                try {
                    // Waits on progress, not on a total: a loaded machine may start the JVM slowly, but a child
                    // that acknowledges nothing for STALL has stalled, and then its threads say where.
                    await(what).atMost(CHILD_LIMIT).pollInterval(Duration.ofMillis(1))
                            .until(() -> acked.lines.get() >= target || !child.isAlive() || readerDied.get() != null
                                    || System.nanoTime() - acked.lastLineNanos.get() > STALL.toNanos());
                } catch (org.awaitility.core.ConditionTimeoutException e) {
                    throw new AssertionError(stallReport(what + ": not within " + CHILD_LIMIT, child, acked,
                            ackLinesBefore, readerDied.get(), stderr, dir, seed), e);
                }
                assertThat(child.isAlive()).as("child %d died by itself: %s", kill, Files.readString(stderr)).isTrue();
                if (acked.lines.get() < target) {
                    throw new AssertionError(stallReport(what + ": " + (readerDied.get() != null
                                    ? "the thread reading its stdout died" : "no acknowledgement for " + STALL),
                            child, acked, ackLinesBefore, readerDied.get(), stderr, dir, seed));
                }
                assertThat(acked.malformed).as("malformed acknowledgement lines from child %d", kill).isEmpty();
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

    /**
     * Everything that says why a child stopped acknowledging: its thread dump ({@code jcmd <pid> Thread.print}),
     * whether it got past recovery (START), whether our reader still drains its stdout, its stderr, and the log
     * directory with each cycle file's first header (Chronicle waits on a file whose header is not ready).
     */
    private static String stallReport(String what, Process child, Acked acked, long ackLinesBefore, Throwable readerDied,
                                      Path stderr, Path dir, long seed) {
        StringBuilder b = new StringBuilder(what).append(" (seed ").append(seed).append(")\n");
        b.append("acknowledged ").append(acked.lines.get() - ackLinesBefore).append(", the last line read ")
                .append(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - acked.lastLineNanos.get()))
                .append(" ms ago; printed START (recovery done): ").append(acked.started)
                .append("; child alive: ").append(child.isAlive())
                .append("; stdout reader: ").append(readerDied == null ? "alive, draining" : "died: " + readerDied)
                .append("; malformed lines: ").append(acked.malformed).append('\n');
        b.append("--- log directory ").append(dir).append('\n');
        try (var files = Files.list(dir)) {
            for (Path f : files.sorted().toList()) {
                b.append(f.getFileName()).append(' ').append(Files.size(f)).append(" bytes");
                if (f.getFileName().toString().endsWith(".cq4")) {
                    b.append(", first header ready: ").append(ChronicleDurableLog.firstHeaderReady(f));
                }
                b.append('\n');
            }
        } catch (IOException e) {
            b.append("(cannot list: ").append(e).append(")\n");
        }
        b.append("--- child stderr\n");
        try {
            String err = Files.readString(stderr);
            b.append(err.length() > 8000 ? "..." + err.substring(err.length() - 8000) : err);
        } catch (IOException e) {
            b.append("(cannot read: ").append(e).append(")\n");
        }
        b.append("--- child threads (jcmd ").append(child.pid()).append(" Thread.print)\n").append(threadDump(child));
        return b.toString();
    }

    /** The child's thread dump by jcmd (the JDK's attach tool; a SIGQUIT dump would land in the stdout we parse). */
    static String threadDump(Process child) {
        if (!child.isAlive()) {
            return "(child already dead)\n";
        }
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        try {
            Process p = new ProcessBuilder(jcmd.toString(), Long.toString(child.pid()), "Thread.print")
                    .redirectErrorStream(true).start();
            CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> {
                try {
                    return p.getInputStream().readAllBytes();
                } catch (IOException e) {
                    return ("(reading jcmd output failed: " + e + ")").getBytes(StandardCharsets.UTF_8);
                }
            });
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "(jcmd did not answer within 60 s)\n";
            }
            return new String(out.get(10, TimeUnit.SECONDS), StandardCharsets.UTF_8);
        } catch (IOException | InterruptedException | java.util.concurrent.ExecutionException
                 | java.util.concurrent.TimeoutException e) {
            return "(no thread dump: " + e + ")\n";
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
