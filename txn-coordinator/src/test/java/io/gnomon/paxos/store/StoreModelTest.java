package io.gnomon.paxos.store;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The store against an in-memory model (a TreeMap of keys to a TreeMap of versions) under random puts, deletes,
 * gets and scans at random timestamps, GC and reopen, over several groups at once. Seeded; a failure names its
 * seed and step. Rerun: {@code -Dtest=StoreModelTest -Dstore.model.seed=N}.
 */
class StoreModelTest {
    static final byte[] TOMBSTONE = new byte[0];
    static final int STEPS = 6_000;
    static final int GROUPS = 4;

    @TempDir
    Path tmp;

    /** One group's model: key -> (timestamp -> value, or TOMBSTONE by identity). */
    static final class Model {
        final TreeMap<byte[], TreeMap<Long, byte[]>> versions = new TreeMap<>(Arrays::compareUnsigned);
        long applied = -1;
        long watermark;

        Optional<byte[]> get(byte[] key, long ts) {
            TreeMap<Long, byte[]> v = versions.get(key);
            Map.Entry<Long, byte[]> e = v == null ? null : v.floorEntry(ts);
            return e == null || e.getValue() == TOMBSTONE ? Optional.empty() : Optional.of(e.getValue());
        }

        List<String> scan(byte[] start, byte[] end, long ts, int limit) {
            List<String> rows = new ArrayList<>();
            NavigableMap<byte[], TreeMap<Long, byte[]>> range = end == null ? versions.tailMap(start, true)
                    : Arrays.compareUnsigned(start, end) >= 0 ? new TreeMap<>(Arrays::compareUnsigned) : versions.subMap(start, true, end, false);
            for (var kv : range.entrySet()) {
                if (rows.size() == limit) {
                    break;
                }
                Map.Entry<Long, byte[]> e = kv.getValue().floorEntry(ts);
                if (e != null && e.getValue() != TOMBSTONE) {
                    rows.add(row(kv.getKey(), e.getKey(), e.getValue()));
                }
            }
            return rows;
        }

        void gc(long below) {
            if (below <= watermark) {
                return;
            }
            watermark = below;
            for (var it = versions.entrySet().iterator(); it.hasNext(); ) {
                TreeMap<Long, byte[]> v = it.next().getValue();
                Map.Entry<Long, byte[]> kept = v.floorEntry(below);
                if (kept != null) {
                    v.headMap(kept.getKey(), kept.getValue() == TOMBSTONE).clear();
                }
                if (v.isEmpty()) {
                    it.remove();
                }
            }
        }
    }

    static String row(byte[] k, long ts, byte[] v) {
        return Arrays.toString(k) + "@" + ts + "=" + Arrays.toString(v);
    }

    @Test
    void storeMatchesModel() throws Exception {
        long seed = Long.getLong("store.model.seed", System.nanoTime());
        System.out.println("StoreModelTest seed " + seed + " (rerun: -Dtest=StoreModelTest -Dstore.model.seed=" + seed + ")");
        SplittableRandom rng = new SplittableRandom(seed);
        Path dir = tmp.resolve("store");
        StoreLimits limits = StoreLimits.DEFAULTS.withWriteBufferBytes(64 << 10).withGcBatchDeletes(7);
        Map<Long, Model> models = new HashMap<>();
        VersionedStore store = VersionedStore.open(dir, limits);
        try {
            for (int step = 0; step < STEPS; step++) {
                String at = "seed " + seed + " step " + step;
                long g = rng.nextInt(GROUPS) * 1_000_003L; // ids far apart: prefixes must not matter
                Model m = models.computeIfAbsent(g, id -> new Model());
                GroupStore gs = store.group(g);
                int op = rng.nextInt(100);
                if (op < 45) {
                    List<Mutation> batch = new ArrayList<>();
                    int n = 1 + rng.nextInt(5);
                    for (int i = 0; i < n; i++) {
                        byte[] key = key(rng);
                        long ts = m.watermark + rng.nextInt(200);
                        byte[] value = rng.nextInt(5) == 0 ? null : value(rng);
                        batch.add(new Mutation(key, ts, value));
                        m.versions.computeIfAbsent(key, k -> new TreeMap<>()).put(ts, value == null ? TOMBSTONE : value);
                    }
                    m.applied += 1 + rng.nextInt(3);
                    gs.apply(m.applied, batch);
                } else if (op < 70) {
                    byte[] key = key(rng);
                    long ts = readTs(rng, m);
                    if (ts < m.watermark) {
                        assertThatThrownBy(() -> gs.get(key, ts)).as(at).isInstanceOf(ReadBelowRetentionException.class)
                                .hasMessageContaining("read timestamp " + ts + " is older than the version retention (watermark " + m.watermark + ")");
                    } else {
                        assertThat(gs.get(key, ts).map(Arrays::toString)).as(at + ": get " + Arrays.toString(key) + " @" + ts)
                                .isEqualTo(m.get(key, ts).map(Arrays::toString));
                    }
                } else if (op < 90) {
                    byte[] start = rng.nextInt(5) == 0 ? new byte[0] : key(rng);
                    byte[] end = rng.nextInt(4) == 0 ? null : key(rng);
                    long ts = readTs(rng, m);
                    int limit = 1 + rng.nextInt(30);
                    if (ts < m.watermark) {
                        assertThatThrownBy(() -> gs.scan(start, end, ts, limit)).as(at).isInstanceOf(ReadBelowRetentionException.class);
                    } else {
                        List<String> got = gs.scan(start, end, ts, limit).stream().map(r -> row(r.key(), r.timestamp(), r.value())).toList();
                        assertThat(got).as(at + ": scan [" + Arrays.toString(start) + ", " + (end == null ? "end" : Arrays.toString(end))
                                + ") @" + ts + " limit " + limit).isEqualTo(m.scan(start, end, ts, limit));
                    }
                } else if (op < 96) {
                    long below = m.watermark + rng.nextInt(60) - 10;
                    if (below >= 0) {
                        gs.collectGarbage(below);
                        m.gc(below);
                        assertThat(gs.gcWatermark()).as(at).isEqualTo(m.watermark);
                    }
                } else {
                    store.close();
                    store = VersionedStore.open(dir, limits);
                }
                assertThat(store.group(g).appliedIndex()).as(at).isEqualTo(m.applied);
            }
            // After everything, the engine holds exactly the model's versions (GC dropped what it should, no more).
            for (var e : models.entrySet()) {
                assertThat(allVersions(store, e.getKey())).as("seed " + seed + ": versions of group " + e.getKey())
                        .isEqualTo(modelVersions(e.getValue()));
            }
        } finally {
            store.close();
        }
    }

    @Test
    void appliedIndexNeverGoesBackwardsAndLimitsAreNamed() throws Exception {
        try (VersionedStore store = VersionedStore.open(tmp.resolve("s"), StoreLimits.DEFAULTS.withMaxKeyBytes(8).withMaxValueBytes(16))) {
            GroupStore g = store.group(1);
            g.apply(5, List.of(Mutation.put(b("k"), 10, b("v"))));
            assertThatThrownBy(() -> g.apply(5, List.of())).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("applied index 5 does not advance past 5");
            assertThatThrownBy(() -> g.apply(4, List.of())).hasMessageContaining("applied index 4 does not advance past 5");
            assertThatThrownBy(() -> g.apply(6, List.of(Mutation.put(new byte[9], 1, b("v"))))).hasMessageContaining("maxKeyBytes=8");
            assertThatThrownBy(() -> g.apply(6, List.of(Mutation.put(b("k"), 1, new byte[17])))).hasMessageContaining("maxValueBytes=16");
            assertThatThrownBy(() -> g.scan(b(""), null, 1, 0)).hasMessageContaining("maxScanRows");
            g.collectGarbage(100);
            assertThatThrownBy(() -> g.apply(6, List.of(Mutation.put(b("k"), 99, b("v"))))).hasMessageContaining("below the GC watermark 100");
            assertThat(g.appliedIndex()).isEqualTo(5);
            g.apply(6, List.of(Mutation.put(b("k"), 100, b("w"))));
            assertThat(g.get(b("k"), 100)).hasValueSatisfying(v -> assertThat(v).isEqualTo(b("w")));
        }
    }

    @Test
    void batchLimitsHoldAtTheLimitAndRefuseOnePast() throws Exception {
        StoreLimits limits = new StoreLimits(8, 16, 3, 40, 5, 10, 64 << 10, 2);
        try (VersionedStore store = VersionedStore.open(tmp.resolve("s"), limits)) {
            GroupStore g = store.group(1);
            List<Mutation> three = List.of(Mutation.put(b("a"), 1, new byte[16]), Mutation.put(b("b"), 1, new byte[16]),
                    Mutation.put(b("cccccc"), 1, new byte[0]));
            g.apply(0, three); // 3 mutations, 40 bytes: both limits exactly
            assertThatThrownBy(() -> g.apply(1, List.of(Mutation.delete(b("a"), 2), Mutation.delete(b("a"), 3),
                    Mutation.delete(b("a"), 4), Mutation.delete(b("a"), 5)))).hasMessageContaining("maxBatchMutations=3");
            assertThatThrownBy(() -> g.apply(1, List.of(Mutation.put(b("a"), 2, new byte[16]), Mutation.put(b("b"), 2, new byte[16]),
                    Mutation.put(b("ccccccc"), 2, new byte[0])))).hasMessageContaining("maxBatchBytes=40");
            assertThat(g.appliedIndex()).isZero();
            assertThat(g.scan(new byte[0], null, 1, 5)).hasSize(3);
            assertThatThrownBy(() -> g.scan(new byte[0], null, 1, 6)).hasMessageContaining("maxScanRows");
        }
        assertThatThrownBy(() -> new StoreLimits(8, 16, 3, 23, 5, 10, 64 << 10, 2))
                .hasMessageContaining("one mutation must fit in a batch");
    }

    static List<String> allVersions(VersionedStore store, long group) {
        List<String> out = new ArrayList<>();
        try (var ro = new org.rocksdb.ReadOptions(); var upper = new org.rocksdb.Slice(KeyCodec.groupPrefixEnd(KeyCodec.GROUP_DATA, group));
             var it = store.db().newIterator(ro.setIterateUpperBound(upper))) {
            for (it.seek(KeyCodec.groupPrefix(KeyCodec.GROUP_DATA, group)); it.isValid(); it.next()) {
                byte[] v = it.value();
                out.add(row(KeyCodec.userKeyOf(it.key()), KeyCodec.timestampOf(it.key()),
                        KeyCodec.isTombstone(v) ? null : KeyCodec.decodeValue(v)));
            }
        }
        return out;
    }

    static List<String> modelVersions(Model m) {
        List<String> out = new ArrayList<>();
        m.versions.forEach((k, vs) -> vs.descendingMap().forEach((ts, v) -> out.add(row(k, ts, v == TOMBSTONE ? null : v))));
        return out;
    }

    static byte[] key(SplittableRandom rng) {
        byte[] k = new byte[rng.nextInt(4)];
        for (int i = 0; i < k.length; i++) {
            k[i] = (byte) switch (rng.nextInt(4)) {
                case 0 -> 0x00;
                case 1 -> 0xFF;
                case 2 -> 0x01;
                default -> 'a' + rng.nextInt(3);
            };
        }
        return k;
    }

    static byte[] value(SplittableRandom rng) {
        byte[] v = new byte[rng.nextInt(12)];
        rng.nextBytes(v);
        return v;
    }

    static long readTs(SplittableRandom rng, Model m) {
        return Math.max(0, m.watermark + rng.nextInt(260) - 30);
    }

    static byte[] b(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }
}
