package io.gnomon.paxos.wal;

import io.gnomon.paxos.Ballot;
import io.gnomon.paxos.DurableState;
import io.gnomon.paxos.Entry;
import io.gnomon.paxos.PersistWrite;
import io.gnomon.paxos.Snapshot;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Seeded random {@link PersistWrite}s that a {@link DurableState} accepts in order (no gap, no truncation below its prefix). */
final class RandomWrites {
    private RandomWrites() {
    }

    /** One write that {@code model} accepts next; the caller applies it to the model. */
    static PersistWrite next(SplittableRandom rng, DurableState model) {
        DurableState.Recovered r = model.toRecovered();
        long logEnd = r.firstSlot() + r.entries().size();
        int pick = rng.nextInt(100);
        if (pick < 10) {
            return new PersistWrite.PersistPromise(r.configId(), ballot(rng));
        } else if (pick < 15) {
            return new PersistWrite.PersistLeaseGrant(1 + rng.nextLong(1L << 62));
        } else if (pick < 70) {
            long from = r.firstSlot() + (logEnd == r.firstSlot() ? 0 : rng.nextLong(logEnd - r.firstSlot() + 1));
            if (rng.nextInt(3) != 0) {
                from = logEnd;
            }
            return new PersistWrite.PersistAccepted(r.configId(), ballot(rng), from, entries(rng, rng.nextInt(6)));
        } else if (pick < 82) {
            return new PersistWrite.PersistDecided(rng.nextLong(logEnd + 2));
        } else if (pick < 92) {
            long last = Math.max(0, r.firstSlot() - 1 + rng.nextLong(logEnd - r.firstSlot() + 3));
            return new PersistWrite.PersistSnapshot(snapshot(rng, last));
        } else {
            long truncateAt = r.firstSlot() + rng.nextLong(logEnd - r.firstSlot() + 1);
            return new PersistWrite.PersistConfig(r.configId() + 1, members(rng), rng.nextLong(1L << 40), truncateAt);
        }
    }

    static Ballot ballot(SplittableRandom rng) {
        return new Ballot(rng.nextLong(1L << 40), rng.nextInt(1, 9));
    }

    static List<Integer> members(SplittableRandom rng) {
        int n = rng.nextInt(0, 6);
        List<Integer> m = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            m.add(rng.nextInt(1, 1000));
        }
        return m;
    }

    static byte[] bytes(SplittableRandom rng, int max) {
        byte[] b = new byte[rng.nextInt(max + 1)];
        rng.nextBytes(b);
        return b;
    }

    static List<Entry> entries(SplittableRandom rng, int n) {
        List<Entry> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(rng.nextInt(8) == 0 ? Entry.config(1 + rng.nextLong(1000), members(rng)) : Entry.value(bytes(rng, 64)));
        }
        return out;
    }

    static Snapshot snapshot(SplittableRandom rng, long lastIncludedSlot) {
        return new Snapshot(lastIncludedSlot, rng.nextLong(1, 100), members(rng), rng.nextLong(1L << 40));
    }

    /** Any write of any type, consistent or not with some state: for codec round trips. */
    static PersistWrite any(SplittableRandom rng) {
        return switch (rng.nextInt(6)) {
            case 0 -> new PersistWrite.PersistPromise(rng.nextLong(), ballot(rng));
            case 1 -> new PersistWrite.PersistLeaseGrant(1 + rng.nextLong(Long.MAX_VALUE - 1));
            case 2 -> new PersistWrite.PersistAccepted(rng.nextLong(), ballot(rng), rng.nextLong(), entries(rng, rng.nextInt(10)));
            case 3 -> new PersistWrite.PersistDecided(rng.nextLong());
            case 4 -> new PersistWrite.PersistSnapshot(snapshot(rng, rng.nextLong(Long.MAX_VALUE)));
            default -> new PersistWrite.PersistConfig(rng.nextLong(), members(rng), rng.nextLong(), rng.nextLong());
        };
    }
}
