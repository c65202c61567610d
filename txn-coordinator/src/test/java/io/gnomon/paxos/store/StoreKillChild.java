package io.gnomon.paxos.store;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The process {@link StoreKillNineTest} kills (the pattern of {@code storage.KillChild}): reopens the store in
 * {@code args[0]}, continues every group from its applied index + 1, and applies batches forever, printing
 * <pre>
 *   START g:applied ...      after recovery, each group's applied index
 *   A g index                after apply(index) of group g returned (in memory, not durable)
 *   F g:index g:index ...    after flush() returned: these applied indexes are durable
 *   M index                  after the mirror group (id = groups) finished installing group 0's snapshot
 * </pre>
 * Now and then the mirror group installs a snapshot of group 0 (streamed in small chunks, with the engine
 * flushing full memtables meanwhile), so kills also land mid-install; a mirror found mid-install at start is
 * installed again first.
 * Batch {@code index} of group {@code g} is a pure function of (g, index), so a batch lost in a crash is written
 * again identically, as a Paxos log replay would. Usage: {@code StoreKillChild <dir> <seed> <groups>}.
 */
public final class StoreKillChild {
    /** Small memtables: the engine flushes on its own between explicit flushes, at points the kill races with. */
    static final StoreLimits LIMITS = StoreLimits.DEFAULTS.withWriteBufferBytes(64 << 10).withMaxKeyBytes(64).withMaxValueBytes(512);
    /** A few entries per chunk: an install of group 0 takes many chunk writes. */
    static final int CHUNK_BYTES = LIMITS.maxChunkEntryBytes() * 4;

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        SplittableRandom rng = new SplittableRandom(Long.parseLong(args[1]));
        int groups = Integer.parseInt(args[2]);
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.US_ASCII);
        try (VersionedStore store = VersionedStore.open(dir, LIMITS)) {
            long[] next = new long[groups];
            StringBuilder start = new StringBuilder("START");
            for (int g = 0; g < groups; g++) {
                next[g] = store.group(g).appliedIndex() + 1;
                start.append(' ').append(g).append(':').append(next[g] - 1);
            }
            GroupStore mirror = store.group(groups);
            start.append(' ').append(groups).append(':').append(mirror.installing() ? "installing" : Long.toString(mirror.appliedIndex()));
            out.println(start);
            out.flush();
            if (mirror.installing()) {
                installMirror(store, mirror, out);
            }
            while (true) {
                int g = rng.nextInt(groups);
                long index = next[g]++;
                store.group(g).apply(index, batch(index));
                out.println("A " + g + " " + index);
                out.flush();
                if (rng.nextInt(400) == 0) {
                    installMirror(store, store.group(groups), out);
                }
                if (rng.nextInt(1_000) == 0) {
                    Map<Long, Long> durable = store.flush();
                    StringBuilder f = new StringBuilder("F");
                    durable.forEach((id, i) -> f.append(' ').append(id).append(':').append(i));
                    out.println(f);
                    out.flush();
                }
            }
        }
    }

    /** The mirror group takes a snapshot of group 0 if that is ahead of it: its content is then batches 0..index. */
    static void installMirror(VersionedStore store, GroupStore mirror, PrintStream out) {
        GroupStore source = store.group(0);
        try (SnapshotReader chunks = source.snapshotChunks(CHUNK_BYTES)) {
            if (!mirror.installing() && chunks.appliedIndex() <= mirror.appliedIndex()) {
                return;
            }
            SnapshotInstaller installer = mirror.beginInstall(chunks.appliedIndex());
            while (chunks.hasNext()) {
                installer.add(chunks.next());
            }
            installer.finish();
            out.println("M " + chunks.appliedIndex());
            out.flush();
        }
    }

    /**
     * Batch {@code index}: a new key {@code b/<index>} (present iff the batch is), "last" overwritten with the index,
     * and a moving key {@code tmp/<index>} whose predecessor gets a tombstone. Timestamps grow with the index.
     */
    static List<Mutation> batch(long index) {
        long ts = timestamp(index);
        List<Mutation> ms = new ArrayList<>(4);
        ms.add(Mutation.put(batchKey(index), ts, value(index)));
        ms.add(Mutation.put(bytes("last"), ts, bytes(Long.toString(index))));
        if (index > 0) {
            ms.add(Mutation.delete(bytes("tmp/" + (index - 1)), ts));
        }
        ms.add(Mutation.put(bytes("tmp/" + index), ts, bytes("t")));
        return ms;
    }

    static long timestamp(long index) {
        return 1_000 + index * 10;
    }

    static byte[] batchKey(long index) {
        return bytes(String.format("b/%010d", index));
    }

    static byte[] value(long index) {
        byte[] v = new byte[100 + (int) (index % 200)];
        new SplittableRandom(index * 1_000_003L).nextBytes(v);
        return v;
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
