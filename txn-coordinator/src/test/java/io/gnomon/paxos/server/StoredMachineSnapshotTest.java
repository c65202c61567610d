package io.gnomon.paxos.server;

import io.gnomon.paxos.runtime.IncompleteInstallException;
import io.gnomon.paxos.runtime.StateMachine;
import io.gnomon.paxos.store.StoreLimits;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A machine's snapshot, streamed in small chunks and installed into a fresh store under another group id, answers
 * every query as the source does and goes on giving the same results; an install cut short is reported by
 * {@link StateMachine#appliedIndex()} until a new one finishes.
 */
class StoredMachineSnapshotTest {
    @TempDir
    Path tmp;

    /** Small keys and values, so that the smallest chunk is small and a state of a few thousand rows takes many. */
    static final StoreLimits LIMITS = StoreLimits.DEFAULTS.withMaxKeyBytes(1024).withMaxValueBytes(256);
    static final int CHUNK_BYTES = StoredGroupMachine.CHUNK_HEADER_BYTES + LIMITS.maxChunkEntryBytes();

    @Test
    void anInstalledSnapshotAnswersEveryQueryTheSameAndContinuesAlike() throws Exception {
        long seed = 42;
        for (StoredMachineEquivalenceTest.Kind kind : StoredMachineEquivalenceTest.kinds()) {
            SplittableRandom rng = new SplittableRandom(seed);
            try (StoredMachines a = StoredMachines.open(tmp.resolve(kind.name() + "-a"), LIMITS);
                 StoredMachines b = StoredMachines.open(tmp.resolve(kind.name() + "-b"), LIMITS)) {
                StateMachine source = a.machine(kind.name(), 1);
                StateMachine target = b.machine(kind.name(), 9);
                for (long slot = 0; slot < 3_000; slot++) {
                    source.apply(slot, kind.command().apply(rng));
                }
                target.apply(0, kind.command().apply(new SplittableRandom(7))); // old content, to be replaced
                int chunks = 0;
                try (StateMachine.SnapshotSource s = source.openSnapshot(CHUNK_BYTES)) {
                    source.apply(3_000, kind.command().apply(rng)); // after the snapshot: not in it
                    assertThat(s.endIndex()).isEqualTo(3_000);
                    StateMachine.SnapshotSink sink = target.beginInstall(s.endIndex());
                    for (byte[] c; (c = s.nextChunk()) != null; chunks++) {
                        assertThat(c.length).isLessThanOrEqualTo(CHUNK_BYTES);
                        sink.add(c);
                    }
                    sink.finish();
                }
                assertThat(target.appliedIndex()).isEqualTo(3_000);
                assertThat(b.store().group(9).durableAppliedIndex()).as("finish makes the install durable").isEqualTo(2_999);
                // the source's slot 3,000 now reaches the target as a log entry would
                SplittableRandom replay = new SplittableRandom(seed);
                byte[] slot3000 = null;
                for (long slot = 0; slot <= 3_000; slot++) {
                    slot3000 = kind.command().apply(replay);
                }
                target.apply(3_000, slot3000);
                for (long slot = 3_001; slot < 3_200; slot++) {
                    byte[] c = kind.command().apply(rng);
                    assertThat(target.apply(slot, c)).as(kind.name() + " slot " + slot).isEqualTo(source.apply(slot, c));
                }
                for (byte[] q : kind.queries()) {
                    assertThat(target.query(q)).as(kind.name()).isEqualTo(source.query(q));
                }
                if (!kind.name().equals("counter")) {
                    assertThat(chunks).as(kind.name() + ": chunks").isGreaterThan(1);
                }
                System.out.println("StoredMachineSnapshotTest: " + kind.name() + " state of 3,000 slots in " + chunks + " chunks");
            }
        }
    }

    @Test
    void anInstallCutShortIsReportedUntilANewOneFinishes() throws Exception {
        Path sourceDir = tmp.resolve("a");
        Path targetDir = tmp.resolve("b");
        SplittableRandom rng = new SplittableRandom(1);
        try (StoredMachines a = StoredMachines.open(sourceDir, LIMITS); StoredMachines b = StoredMachines.open(targetDir, LIMITS)) {
            StateMachine source = a.listAppend(1);
            for (long slot = 0; slot < 2_000; slot++) {
                source.apply(slot, StoredMachineEquivalenceTest.listAppendTxn(rng));
            }
            StateMachine target = b.listAppend(1);
            target.apply(0, StoredMachineEquivalenceTest.listAppendTxn(rng));
            try (StateMachine.SnapshotSource s = source.openSnapshot(CHUNK_BYTES)) {
                StateMachine.SnapshotSink sink = target.beginInstall(s.endIndex());
                sink.add(s.nextChunk());
                assertThatThrownBy(sink::finish).hasMessageContaining("finish before the last chunk");
                assertThatThrownBy(target::appliedIndex).isInstanceOf(IncompleteInstallException.class);
            } // the process "crashes" here: the store closes (and flushes) with the install unfinished
        }
        try (StoredMachines a = StoredMachines.open(sourceDir, LIMITS); StoredMachines b = StoredMachines.open(targetDir, LIMITS)) {
            StateMachine source = a.listAppend(1);
            StateMachine target = b.listAppend(1);
            assertThatThrownBy(target::appliedIndex).isInstanceOf(IncompleteInstallException.class)
                    .hasMessageContaining("interrupted by a crash").hasMessageContaining("fetch a snapshot");
            assertThatThrownBy(() -> target.query(new byte[] {'a'})).isInstanceOf(IncompleteInstallException.class);
            assertThatThrownBy(() -> target.apply(5_000, null)).isInstanceOf(IncompleteInstallException.class);
            assertThatThrownBy(() -> target.openSnapshot(CHUNK_BYTES)).isInstanceOf(IncompleteInstallException.class);
            try (StateMachine.SnapshotSource s = source.openSnapshot(CHUNK_BYTES)) {
                StateMachine.SnapshotSink sink = target.beginInstall(s.endIndex());
                for (byte[] c; (c = s.nextChunk()) != null; ) {
                    sink.add(c);
                }
                sink.finish();
            }
            assertThat(target.appliedIndex()).isEqualTo(2_000);
            for (String k : StoredMachineEquivalenceTest.KEYS) {
                assertThat(target.query(k.getBytes())).isEqualTo(source.query(k.getBytes()));
            }
        }
    }

    @Test
    void snapshotsOfAnotherKindTooSmallChunksAndOldSnapshotsAreRefused() throws Exception {
        try (StoredMachines m = StoredMachines.open(tmp, LIMITS)) {
            StateMachine kv = m.keyValue(1);
            StateMachine counter = m.counter(2);
            kv.apply(0, KeyValueMachine.put(new byte[] {1}, new byte[] {2}));
            counter.apply(0, new byte[] {1});
            counter.apply(1, new byte[] {1});
            assertThatThrownBy(() -> kv.openSnapshot(CHUNK_BYTES - 1)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("maxChunkBytes must be >= " + CHUNK_BYTES);
            assertThatThrownBy(() -> counter.beginInstall(2)).hasMessageContaining("does not advance past this machine's applied index 2");
            try (StateMachine.SnapshotSource s = kv.openSnapshot(CHUNK_BYTES)) {
                StateMachine.SnapshotSink sink = counter.beginInstall(5);
                assertThatThrownBy(() -> sink.add(s.nextChunk())).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("machine kind 'k' (107) offered to a machine of kind 'c'");
            }
            assertThatThrownBy(() -> counter.beginInstall(5).add(new byte[3])).hasMessageContaining("shorter than its");
            assertThat(List.of(kv.appliedIndex())).containsExactly(1L);
        }
    }
}
