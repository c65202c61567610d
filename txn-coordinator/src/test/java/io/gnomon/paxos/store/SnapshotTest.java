package io.gnomon.paxos.store;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static io.gnomon.paxos.store.StoreModelTest.b;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A group streamed in bounded chunks and installed into another store reads the same at every timestamp. */
class SnapshotTest {
    static final StoreLimits LIMITS = StoreLimits.DEFAULTS.withMaxKeyBytes(32).withMaxValueBytes(200);

    @TempDir
    Path tmp;

    @Test
    void chunksInstalledElsewhereGiveIdenticalReadsAndRespectTheChunkSize() throws Exception {
        long seed = Long.getLong("store.snapshot.seed", System.nanoTime());
        System.out.println("SnapshotTest seed " + seed + " (rerun: -Dstore.snapshot.seed=" + seed + ")");
        SplittableRandom rng = new SplittableRandom(seed);
        int maxChunkBytes = LIMITS.maxChunkEntryBytes() + 100;
        try (VersionedStore source = VersionedStore.open(tmp.resolve("a"), LIMITS);
             VersionedStore target = VersionedStore.open(tmp.resolve("b"), LIMITS)) {
            GroupStore src = source.group(3);
            long index = 0;
            for (int batch = 0; batch < 400; batch++) {
                List<Mutation> ms = new ArrayList<>();
                for (int i = 0; i < 5; i++) {
                    byte[] key = b("key-" + rng.nextInt(300));
                    long ts = 1_000 + batch * 10L + i;
                    ms.add(rng.nextInt(6) == 0 ? Mutation.delete(key, ts) : Mutation.put(key, ts, value(rng)));
                }
                List<StateRow> state = new ArrayList<>();
                if (batch % 3 == 0) {
                    state.add(StateRow.put(b("state-" + batch), value(rng)));
                }
                if (batch % 7 == 0 && batch > 0) {
                    state.add(StateRow.delete(b("state-" + (batch - 6))));
                }
                src.apply(index += 1 + rng.nextInt(2), ms, state);
            }
            src.collectGarbage(2_000);
            source.group(4).apply(1, List.of(Mutation.put(b("key-1"), 5_000, b("another group"))),
                    List.of(StateRow.put(b("state-0"), b("another group's state")))); // must not leak
            source.group(2).apply(1, List.of(), List.of(StateRow.put(b("z"), b("a lower group's state"))));
            List<String> srcState = renderState(src.scanState(new byte[0], null, 10_000));
            assertThat(srcState).hasSizeGreaterThan(100);

            GroupStore dst = target.group(9);
            dst.apply(1, List.of(Mutation.put(b("stale"), 1, b("replaced by the install"))),
                    List.of(StateRow.put(b("stale-state"), b("replaced too")))); // previous content
            int chunks = 0;
            try (SnapshotReader reader = src.snapshotChunks(maxChunkBytes)) {
                // writes after the snapshot was taken are not in it
                src.apply(index + 1, List.of(Mutation.put(b("key-late"), 9_999, b("late"))),
                        List.of(StateRow.put(b("state-late"), b("late")), StateRow.delete(b("state-3"))));
                SnapshotInstaller installer = dst.beginInstall(reader.appliedIndex());
                assertThat(reader.appliedIndex()).isEqualTo(index);
                while (reader.hasNext()) {
                    SnapshotChunk c = reader.next();
                    assertThat(c.payload().length).as("chunk %d", c.sequence()).isLessThanOrEqualTo(maxChunkBytes);
                    assertThat(c.sequence()).isEqualTo(chunks++);
                    assertThat(c.gcWatermark()).isEqualTo(2_000);
                    installer.add(c);
                }
                installer.finish();
            }
            assertThat(chunks).as("a state this size takes many chunks").isGreaterThan(20);
            assertThat(dst.appliedIndex()).isEqualTo(index);
            assertThat(dst.gcWatermark()).isEqualTo(2_000);
            assertThat(dst.get(b("stale"), 1_000_000)).isEmpty();
            assertThat(dst.get(b("key-late"), 1_000_000)).isEmpty();
            assertThat(renderState(dst.scanState(new byte[0], null, 10_000))).as("state rows travel, and only them")
                    .isEqualTo(srcState);
            assertThat(dst.getState(b("state-3"))).isPresent();
            assertThat(dst.getState(b("stale-state"))).isEmpty();
            for (long ts = 2_000; ts <= 6_100; ts += 37) {
                assertThat(render(dst.scan(new byte[0], null, ts, 10_000))).as("reads at %d", ts)
                        .isEqualTo(render(src.scan(new byte[0], b("key-late"), ts, 10_000)));
            }
            assertThatThrownBy(() -> dst.get(b("key-1"), 1_999)).isInstanceOf(ReadBelowRetentionException.class);
        }
    }

    @Test
    void aCrashMidInstallLeavesTheGroupMarkedUntilANewInstallFinishes() throws Exception {
        Path a = tmp.resolve("a");
        Path b = tmp.resolve("b");
        int maxChunkBytes = LIMITS.maxChunkEntryBytes();
        try (VersionedStore source = VersionedStore.open(a, LIMITS)) {
            for (int i = 0; i < 200; i++) {
                source.group(1).apply(i, List.of(Mutation.put(b("k" + i), 10 + i, new byte[150])),
                        i % 50 == 0 ? List.of(StateRow.put(b("s" + i), new byte[150])) : List.of());
            }
        }
        try (VersionedStore source = VersionedStore.open(a, LIMITS);
             VersionedStore target = VersionedStore.open(b, LIMITS)) {
            target.group(1).apply(3, List.of(Mutation.put(b("old"), 1, b("old"))), List.of(StateRow.put(b("old"), b("o"))));
            SnapshotReader reader = source.group(1).snapshotChunks(maxChunkBytes);
            SnapshotInstaller installer = target.group(1).beginInstall(reader.appliedIndex());
            installer.add(reader.next());
            installer.add(reader.next());
            assertThatThrownBy(installer::finish).hasMessageContaining("before the last chunk");
            SnapshotChunk third = reader.next();
            assertThatThrownBy(() -> installer.add(new SnapshotChunk(1, 199, 0, 7, false, third.payload())))
                    .hasMessageContaining("chunk 7 arrived, expected chunk 2");
            reader.close();
            // the target process "crashes" here: its installer is abandoned (close flushes, the harshest case:
            // part of the new state is durable, beside the mark)
        }
        try (VersionedStore source = VersionedStore.open(a, LIMITS);
             VersionedStore target = VersionedStore.open(b, LIMITS)) {
            GroupStore g = target.group(1);
            assertThat(target.groupsWithIncompleteInstall()).containsExactly(1L);
            assertThat(g.installing()).isTrue();
            assertThatThrownBy(() -> g.get(b("k1"), 100)).hasMessageContaining("snapshot install (applied index 199)");
            assertThatThrownBy(g::appliedIndex).hasMessageContaining("interrupted by a crash");
            assertThatThrownBy(() -> g.apply(200, List.of())).hasMessageContaining("cannot apply");
            assertThatThrownBy(() -> g.getState(b("old"))).hasMessageContaining("cannot read its state");
            SnapshotInstaller abandoned = g.beginInstall(199);
            try (SnapshotReader reader = source.group(1).snapshotChunks(maxChunkBytes)) {
                SnapshotInstaller installer = g.beginInstall(reader.appliedIndex());
                assertThatThrownBy(() -> abandoned.add(new SnapshotChunk(1, 199, 0, 0, false, new byte[0])))
                        .hasMessageContaining("superseded");
                reader.forEachRemaining(installer::add);
                installer.finish();
            }
            assertThat(g.appliedIndex()).isEqualTo(199);
            assertThat(g.get(b("old"), 100)).isEmpty();
            assertThat(g.scan(new byte[0], null, 1_000, 1_000)).hasSize(200);
            assertThat(renderState(g.scanState(new byte[0], null, 100))).as("the old state rows went at the begin")
                    .isEqualTo(renderState(source.group(1).scanState(new byte[0], null, 100))).hasSize(4);
            assertThat(target.groupsWithIncompleteInstall()).isEmpty();
        }
    }

    @Test
    void anEmptyGroupIsOneEmptyLastChunkAndTooSmallChunksAreRefused() throws Exception {
        try (VersionedStore store = VersionedStore.open(tmp.resolve("s"), LIMITS)) {
            assertThatThrownBy(() -> store.group(1).snapshotChunks(LIMITS.maxChunkEntryBytes() - 1))
                    .hasMessageContaining("maxChunkBytes must be >= " + LIMITS.maxChunkEntryBytes());
            try (SnapshotReader r = store.group(1).snapshotChunks(LIMITS.maxChunkEntryBytes())) {
                SnapshotChunk only = r.next();
                assertThat(only.last()).isTrue();
                assertThat(only.payload()).isEmpty();
                assertThat(only.appliedIndex()).isEqualTo(-1);
                assertThat(r.hasNext()).isFalse();
            }
        }
    }

    @Test
    void damagedChunksAreRefusedWholeAndTheInstallCanContinue() throws Exception {
        try (VersionedStore source = VersionedStore.open(tmp.resolve("a"), LIMITS);
             VersionedStore target = VersionedStore.open(tmp.resolve("b"), LIMITS)) {
            for (int i = 0; i < 10; i++) {
                source.group(1).apply(i, List.of(Mutation.put(b("k" + i), 10 + i, b("v" + i))));
            }
            try (SnapshotReader r = source.group(1).snapshotChunks(LIMITS.maxChunkEntryBytes())) {
                SnapshotChunk c = r.next();
                assertThat(c.last()).isTrue();
                SnapshotInstaller in = target.group(2).beginInstall(c.appliedIndex());
                byte[] truncated = java.util.Arrays.copyOf(c.payload(), c.payload().length - 3);
                assertThatThrownBy(() -> in.add(new SnapshotChunk(1, c.appliedIndex(), 0, 0, true, truncated)))
                        .hasMessageContaining("truncated");
                byte[] badKey = c.payload().clone();
                badKey[5] = 0x00; // the first key's first byte (after its space byte) becomes an unescaped 0x00
                badKey[6] = 0x07;
                assertThatThrownBy(() -> in.add(new SnapshotChunk(1, c.appliedIndex(), 0, 0, true, badKey)))
                        .hasMessageContaining("malformed entry");
                byte[] badSpace = c.payload().clone();
                badSpace[4] = 0x05;
                assertThatThrownBy(() -> in.add(new SnapshotChunk(1, c.appliedIndex(), 0, 0, true, badSpace)))
                        .hasMessageContaining("unknown key space 5");
                in.add(c);
                in.finish();
            }
            assertThat(render(target.group(2).scan(new byte[0], null, 100, 100)))
                    .isEqualTo(render(source.group(1).scan(new byte[0], null, 100, 100)));
        }
    }

    @Test
    void stateRowsAloneTravelAndTheirLimitsHold() throws Exception {
        try (VersionedStore source = VersionedStore.open(tmp.resolve("a"), LIMITS);
             VersionedStore target = VersionedStore.open(tmp.resolve("b"), LIMITS)) {
            GroupStore g = source.group(Long.MAX_VALUE);
            g.apply(0, List.of(), List.of(StateRow.put(b("p1"), b("x")), StateRow.put(b("p2"), new byte[0])));
            g.apply(1, List.of(), List.of(StateRow.delete(b("p1")), StateRow.put(b("o1"), b("y"))));
            assertThat(renderState(g.scanState(new byte[0], null, 100))).containsExactly("o1=79", "p2=");
            assertThat(renderState(g.scanState(b("o2"), b("p3"), 100))).containsExactly("p2=");
            assertThat(g.get(b("p2"), Long.MAX_VALUE)).as("state rows are not versions").isEmpty();
            assertThat(g.scan(new byte[0], null, Long.MAX_VALUE, 100)).isEmpty();
            g.collectGarbage(1_000);
            assertThat(g.getState(b("o1"))).hasValue(b("y"));
            assertThatThrownBy(() -> g.apply(2, List.of(), List.of(StateRow.put(new byte[0], b("v")))))
                    .hasMessageContaining("state row key must be 1..32");
            assertThatThrownBy(() -> g.apply(2, List.of(), List.of(StateRow.put(new byte[33], b("v")))))
                    .hasMessageContaining("state row key must be 1..32");
            assertThatThrownBy(() -> g.apply(2, List.of(), List.of(StateRow.put(b("k"), new byte[201]))))
                    .hasMessageContaining("exceeds maxValueBytes=200");
            g.apply(2, List.of(), List.of(StateRow.put(new byte[32], new byte[200]))); // at the limits
            try (SnapshotReader r = g.snapshotChunks(LIMITS.maxChunkEntryBytes())) {
                SnapshotInstaller in = target.group(0).beginInstall(r.appliedIndex());
                while (r.hasNext()) {
                    in.add(r.next());
                }
                in.finish();
            }
            assertThat(renderState(target.group(0).scanState(new byte[0], null, 100)))
                    .isEqualTo(renderState(g.scanState(new byte[0], null, 100)));
            assertThat(target.group(0).gcWatermark()).isEqualTo(1_000);
        }
        try (VersionedStore reopened = VersionedStore.open(tmp.resolve("b"), LIMITS)) {
            assertThat(reopened.group(0).getState(b("o1"))).hasValue(b("y"));
            assertThat(reopened.group(0).getState(b("p1"))).isEmpty();
        }
    }

    static List<String> renderState(List<StateRow> rows) {
        return rows.stream().map(r -> new String(r.key(), java.nio.charset.StandardCharsets.ISO_8859_1) + "="
                + java.util.HexFormat.of().formatHex(r.valueOrNull())).toList();
    }

    static byte[] value(SplittableRandom rng) {
        byte[] v = new byte[rng.nextInt(LIMITS.maxValueBytes() + 1)];
        rng.nextBytes(v);
        return v;
    }

    static List<String> render(List<Row> rows) {
        return rows.stream().map(r -> StoreModelTest.row(r.key(), r.timestamp(), r.value())).toList();
    }
}
