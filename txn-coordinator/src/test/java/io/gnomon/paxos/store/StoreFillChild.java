package io.gnomon.paxos.store;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Writes a store larger than this JVM's heap ({@link LargerThanHeapTest} runs it with {@code -Xmx64m}), then
 * streams one group's snapshot through the same small heap. Value {@code n} goes to group {@code n % GROUPS} under
 * key {@code v/<n>} at timestamp {@code n + 1}, and is a pure function of n. Prints
 * {@code FILLED <values> <bytes> <millis>} and {@code SNAPSHOT <group> <chunks> <entries> <payloadBytes> <millis>}.
 * Usage: {@code StoreFillChild <dir> <values> <valueBytes>}.
 */
public final class StoreFillChild {
    static final int GROUPS = 4;
    static final int VALUES_PER_BATCH = 8;
    static final StoreLimits LIMITS = StoreLimits.DEFAULTS.withWriteBufferBytes(16L << 20);

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int values = Integer.parseInt(args[1]);
        int valueBytes = Integer.parseInt(args[2]);
        try (VersionedStore store = VersionedStore.open(dir, LIMITS)) {
            long startNanos = System.nanoTime();
            List<List<Mutation>> pending = new ArrayList<>();
            for (int g = 0; g < GROUPS; g++) {
                pending.add(new ArrayList<>());
            }
            long bytes = 0;
            for (int n = 0; n < values; n++) {
                int g = n % GROUPS;
                pending.get(g).add(Mutation.put(key(n), n + 1L, value(n, valueBytes)));
                bytes += valueBytes;
                if (pending.get(g).size() == VALUES_PER_BATCH || n >= values - GROUPS) {
                    GroupStore gs = store.group(g);
                    gs.apply(gs.appliedIndex() + 1, pending.get(g));
                    pending.set(g, new ArrayList<>());
                }
            }
            store.flush();
            System.out.println("FILLED " + values + " " + bytes + " " + (System.nanoTime() - startNanos) / 1_000_000);
            startNanos = System.nanoTime();
            long chunks = 0;
            long entries = 0;
            long payload = 0;
            try (SnapshotReader r = store.group(0).snapshotChunks(LIMITS.maxChunkEntryBytes())) {
                while (r.hasNext()) {
                    SnapshotChunk c = r.next();
                    chunks++;
                    payload += c.payload().length;
                    java.nio.ByteBuffer p = java.nio.ByteBuffer.wrap(c.payload());
                    while (p.hasRemaining()) {
                        int keyBytes = p.getInt();
                        p.position(p.position() + keyBytes);
                        int valueBytes2 = p.getInt();
                        p.position(p.position() + valueBytes2);
                        entries++;
                    }
                }
            }
            System.out.println("SNAPSHOT 0 " + chunks + " " + entries + " " + payload + " "
                    + (System.nanoTime() - startNanos) / 1_000_000);
            System.out.flush();
        }
    }

    static byte[] key(int n) {
        return String.format("v/%08d", n).getBytes(StandardCharsets.US_ASCII);
    }

    static byte[] value(int n, int valueBytes) {
        byte[] v = new byte[valueBytes];
        new SplittableRandom(n * 0x9E3779B97F4A7C15L).nextBytes(v);
        return v;
    }
}
