package io.gnomon.paxos.wal;

import io.gnomon.paxos.Ballot;
import io.gnomon.paxos.DurableState;
import io.gnomon.paxos.Entry;
import io.gnomon.paxos.PersistWrite;
import io.gnomon.paxos.Snapshot;
import io.gnomon.paxos.storage.SyncPolicy;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The process {@link WalKillNineTest} kills: recovers the process log in {@code args[0]}, then writes batches for
 * {@link #GROUPS} groups forever, printing one line right after each batch's {@code sync()} returns:
 * <pre>
 *   B g:logEnd:decided g:logEnd:decided ...    the groups the batch wrote, each one's log end and decided index
 * </pre>
 * A group's log end never shrinks (a re-accept covers at least what it truncates) and the value of a slot depends
 * only on group and slot, so every acknowledged slot has one right value. Groups snapshot and checkpoint at random;
 * old segments are deleted as soon as no group needs them. Usage: {@code WalKillChild <dir> <NONE|SYNC_EACH_BATCH> <seed>}
 */
public final class WalKillChild {
    static final int GROUPS = 16;
    static final int VALUE_BYTES = 100;
    static final long SEGMENT_BYTES = 256 << 10;

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        SyncPolicy policy = SyncPolicy.valueOf(args[1]);
        SplittableRandom rng = new SplittableRandom(Long.parseLong(args[2]));
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.US_ASCII);
        try (ProcessLog wal = ProcessLog.open(dir, ProcessLogOptions.DEFAULTS.withSyncPolicy(policy)
                .withSegmentBytes(SEGMENT_BYTES))) {
            Map<Long, DurableState.Recovered> recovered = wal.recover(g -> initial());
            Map<Long, DurableState> models = new HashMap<>();
            long round = 1;
            for (long g = 0; g < GROUPS; g++) {
                DurableState.Recovered r = recovered.get(g);
                models.put(g, r == null ? initial() : ProcessLog.restore(r));
                if (r != null) {
                    round = Math.max(round, r.acceptedRound().round() + 1);
                }
            }
            out.println("START");
            out.flush();
            while (true) {
                StringBuilder line = new StringBuilder("B");
                int groups = 1 + rng.nextInt(GROUPS);
                long start = rng.nextInt(GROUPS);
                for (int i = 0; i < groups; i++) {
                    long g = (start + i) % GROUPS;
                    DurableState m = models.get(g);
                    List<PersistWrite> batch = batch(rng, g, m, round);
                    for (PersistWrite w : batch) {
                        m.apply(w);
                    }
                    wal.group(g).write(batch);
                    DurableState.Recovered r = m.toRecovered();
                    line.append(' ').append(g).append(':').append(r.firstSlot() + r.entries().size())
                            .append(':').append(r.decidedIndex());
                }
                if (rng.nextInt(20) == 0) {
                    for (long g : wal.groupsPinning(wal.oldestSegment())) {
                        wal.checkpoint(g, models.get(g).toRecovered());
                    }
                    wal.deleteUnneededSegments(); // syncs first
                }
                wal.sync();
                out.println(line);
                out.flush();
            }
        }
    }

    static DurableState initial() {
        return new DurableState(List.of(1, 2, 3));
    }

    private static List<PersistWrite> batch(SplittableRandom rng, long g, DurableState m, long round) {
        DurableState.Recovered r = m.toRecovered();
        long logEnd = r.firstSlot() + r.entries().size();
        List<PersistWrite> out = new ArrayList<>();
        if (rng.nextInt(30) == 0) {
            out.add(new PersistWrite.PersistPromise(r.configId(), new Ballot(round, 1)));
        }
        long back = Math.min(logEnd - r.firstSlot(), rng.nextInt(3) == 0 ? rng.nextInt(4) : 0);
        long from = Math.max(logEnd - back, r.decidedIndex()); // decided slots are never re-accepted
        int n = (int) (logEnd - from) + 1 + rng.nextInt(6);
        List<Entry> entries = new ArrayList<>(n);
        for (long s = from; s < from + n; s++) {
            entries.add(Entry.value(value(g, s)));
        }
        out.add(new PersistWrite.PersistAccepted(r.configId(), new Ballot(round, 1), from, entries));
        long newEnd = from + n;
        if (rng.nextInt(4) == 0 && newEnd - 2 > r.decidedIndex()) {
            out.add(new PersistWrite.PersistDecided(newEnd - 2));
            if (rng.nextInt(10) == 0 && newEnd - 3 >= r.firstSlot()) {
                long last = newEnd - 3;
                out.add(new PersistWrite.PersistSnapshot(new Snapshot(last,
                        r.configId(), List.of(1, 2, 3), 0)));
            }
        }
        return out;
    }

    static byte[] value(long group, long slot) {
        byte[] v = new byte[VALUE_BYTES];
        new SplittableRandom(group * 1_000_003L + slot).nextBytes(v);
        return v;
    }
}
