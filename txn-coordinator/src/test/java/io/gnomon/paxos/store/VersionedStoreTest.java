package io.gnomon.paxos.store;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static io.gnomon.paxos.store.StoreModelTest.b;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Groups are isolated; opening a locked or damaged directory fails with a reason and a next step. */
class VersionedStoreTest {
    @TempDir
    Path tmp;

    @Test
    void manyGroupsSeeOnlyTheirOwnData() throws Exception {
        int groups = 300;
        Path dir = tmp.resolve("s");
        try (VersionedStore store = VersionedStore.open(dir, StoreLimits.DEFAULTS)) {
            for (long g = 0; g < groups; g++) {
                // the same keys in every group, and keys that look like other groups' prefixes
                store.group(g).apply(g, List.of(Mutation.put(b("k"), 10, b("v" + g)),
                        Mutation.put(KeyCodec.longBytes(g + 1), 10, b("x" + g)),
                        Mutation.put(new byte[]{0, 0}, 10, b("z" + g))));
            }
            store.group(7).collectGarbage(5);
            store.group(8).beginInstall(100); // an install under way in one group touches no other
            assertThat(store.flush()).hasSize(groups - 1).containsEntry(9L, 9L).doesNotContainKey(8L);
        }
        try (VersionedStore store = VersionedStore.open(dir, StoreLimits.DEFAULTS)) {
            assertThat(store.groupsWithIncompleteInstall()).containsExactly(8L);
            for (long g = 0; g < groups; g++) {
                if (g == 8) {
                    continue;
                }
                GroupStore gs = store.group(g);
                assertThat(gs.appliedIndex()).isEqualTo(g);
                assertThat(gs.durableAppliedIndex()).isEqualTo(g);
                assertThat(gs.gcWatermark()).isEqualTo(g == 7 ? 5 : 0);
                List<Row> rows = gs.scan(new byte[0], null, 10, 100);
                assertThat(rows).extracting(r -> new String(r.value())).containsExactly("z" + g, "x" + g, "v" + g);
            }
            assertThat(store.group(groups).scan(new byte[0], null, 10, 100)).isEmpty();
            assertThat(store.group(groups).appliedIndex()).isEqualTo(-1);
        }
    }

    @Test
    void aSecondOpenOfTheSameDirectoryIsRefusedAsLocked() throws Exception {
        Path dir = tmp.resolve("s");
        try (VersionedStore first = VersionedStore.open(dir, StoreLimits.DEFAULTS)) {
            first.group(1).apply(0, List.of(Mutation.put(b("k"), 1, b("v"))));
            assertThatThrownBy(() -> VersionedStore.open(dir, StoreLimits.DEFAULTS))
                    .isInstanceOfSatisfying(StoreOpenException.class, e -> assertThat(e.reason()).isEqualTo(StoreOpenException.Reason.LOCKED))
                    .hasMessageContaining("is locked by another open store");
            assertThat(first.group(1).get(b("k"), 1)).isPresent(); // the refused open did not disturb the first
        }
    }

    @Test
    void damagedFilesAreReportedAsCorrupt() throws Exception {
        Path dir = tmp.resolve("s");
        try (VersionedStore store = VersionedStore.open(dir, StoreLimits.DEFAULTS)) {
            store.group(1).apply(0, List.of(Mutation.put(b("k"), 1, b("v"))));
        }
        List<Path> manifests;
        try (Stream<Path> files = Files.list(dir)) {
            manifests = files.filter(f -> f.getFileName().toString().startsWith("MANIFEST-")).toList();
        }
        assertThat(manifests).isNotEmpty();
        for (Path m : manifests) {
            byte[] junk = new byte[(int) Math.max(64, Files.size(m))];
            java.util.Arrays.fill(junk, (byte) 0x5A);
            Files.write(m, junk);
        }
        assertThatThrownBy(() -> VersionedStore.open(dir, StoreLimits.DEFAULTS))
                .isInstanceOfSatisfying(StoreOpenException.class, e -> assertThat(e.reason()).isEqualTo(StoreOpenException.Reason.CORRUPT))
                .hasMessageContaining("is corrupt");
    }

    @Test
    void aRocksDbThatIsNotAVersionedStoreIsRefused() throws Exception {
        Path dir = tmp.resolve("other");
        try (org.rocksdb.Options o = new org.rocksdb.Options().setCreateIfMissing(true);
             org.rocksdb.RocksDB db = org.rocksdb.RocksDB.open(o, dir.toString())) {
            db.put(b("someone else's"), b("data"));
        }
        assertThatThrownBy(() -> VersionedStore.open(dir, StoreLimits.DEFAULTS))
                .isInstanceOfSatisfying(StoreOpenException.class, e -> assertThat(e.reason()).isEqualTo(StoreOpenException.Reason.CORRUPT))
                .hasMessageContaining("not a versioned store");
    }

    @Test
    void closedStoreRefusesCallsInsteadOfCrashingTheJvm() throws IOException {
        VersionedStore store = VersionedStore.open(tmp.resolve("s"), StoreLimits.DEFAULTS);
        GroupStore g = store.group(1);
        SnapshotReader open = g.snapshotChunks(StoreLimits.DEFAULTS.maxChunkEntryBytes());
        store.close();
        store.close(); // idempotent
        assertThatThrownBy(() -> g.get(b("k"), 1)).hasMessageContaining("is closed");
        assertThatThrownBy(() -> g.apply(0, new ArrayList<>())).hasMessageContaining("is closed");
        assertThatThrownBy(open::next).hasMessageContaining("is closed");
        open.close();
    }
}
