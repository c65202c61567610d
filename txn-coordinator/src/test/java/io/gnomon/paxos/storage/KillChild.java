package io.gnomon.paxos.storage;

import ch.qos.logback.classic.Level;
import io.gnomon.paxos.Ballot;
import io.gnomon.paxos.storage.DurableLog.Entry;
import org.slf4j.LoggerFactory;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The process {@link KillNineTest} kills: recovers the log in {@code args[0]}, then writes forever, printing one
 * line on stdout right after each persist + sync returns (so a printed line is an acknowledged write):
 * <pre>
 *   A first last round   entries first..last accepted at ballot (round, 1)
 *   P round leaseEnd     promise
 *   D slot               decided up to slot
 *   S slot               snapshot through slot (state "state@slot")
 * </pre>
 * Usage: {@code KillChild <dir> <NONE|SYNC_EACH_BATCH> <seed>}
 */
public final class KillChild {
    static final int VALUE_BYTES = 100;

    public static void main(String[] args) throws Exception {
        ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).setLevel(Level.WARN);
        Path dir = Path.of(args[0]);
        SyncPolicy policy = SyncPolicy.valueOf(args[1]);
        SplittableRandom rng = new SplittableRandom(Long.parseLong(args[2]));
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false, StandardCharsets.US_ASCII);
        try (ChronicleDurableLog log = ChronicleDurableLog.open(dir, policy, LogLimits.DEFAULTS)) {
            DurableLog.Recovered r = log.recover();
            long round = r.promised().round();
            for (Entry e : r.entriesAboveSnapshot().values()) {
                round = Math.max(round, e.ballot().round());
            }
            long next = r.entriesAboveSnapshot().isEmpty()
                    ? (r.snapshotOrNull() == null ? 0 : r.snapshotOrNull().lastIncludedSlot() + 1)
                    : r.entriesAboveSnapshot().lastKey() + 1;
            long decided = r.decidedUpTo();
            long snapshot = r.snapshotOrNull() == null ? -1 : r.snapshotOrNull().lastIncludedSlot();
            long lastFirst = -1;
            round = newPromise(log, out, round + 1);
            out.println("START " + next);
            out.flush();
            for (long batch = 0; next < 50_000_000L; batch++) {
                if (rng.nextInt(100) == 0) {
                    round = newPromise(log, out, round + 1);
                }
                if (lastFirst >= 0 && lastFirst > snapshot && rng.nextInt(8) == 0) {
                    // re-accept the previous batch at the current (higher or equal) ballot: it must supersede
                    List<Entry> again = entries(lastFirst, next - 1, round);
                    log.persistAccepted(again);
                    log.sync();
                    out.println("A " + lastFirst + " " + (next - 1) + " " + round);
                    out.flush();
                }
                int n = 1 + rng.nextInt(64);
                log.persistAccepted(entries(next, next + n - 1, round));
                log.sync();
                out.println("A " + next + " " + (next + n - 1) + " " + round);
                out.flush();
                lastFirst = next;
                next += n;
                if (rng.nextInt(10) == 0 && next - 10 > decided) {
                    decided = next - 10;
                    log.persistDecided(decided);
                    log.sync();
                    out.println("D " + decided);
                    out.flush();
                }
                if (rng.nextInt(300) == 0 && decided > snapshot) {
                    snapshot = decided;
                    log.persistSnapshot(new DurableLog.Snapshot(snapshot, new Ballot(round, 1),
                            ("state@" + snapshot).getBytes(StandardCharsets.US_ASCII), new byte[]{1, 2, 3}));
                    out.println("S " + snapshot);
                    out.flush();
                }
            }
        }
    }

    private static long newPromise(DurableLog log, PrintStream out, long round) {
        long leaseEnd = round * 1_000L;
        log.persistPromise(new Ballot(round, 1), leaseEnd);
        log.sync();
        out.println("P " + round + " " + leaseEnd);
        out.flush();
        return round;
    }

    static List<Entry> entries(long first, long last, long round) {
        List<Entry> batch = new ArrayList<>((int) (last - first + 1));
        for (long s = first; s <= last; s++) {
            batch.add(new Entry(s, new Ballot(round, 1), value(s, round)));
        }
        return batch;
    }

    static byte[] value(long slot, long round) {
        byte[] v = new byte[VALUE_BYTES];
        new SplittableRandom(slot * 1_000_003L + round).nextBytes(v);
        return v;
    }
}
