package io.gnomon.paxos.storage;

import io.gnomon.paxos.Ballot;
import io.gnomon.paxos.storage.DurableLog.Entry;
import io.gnomon.paxos.storage.DurableLog.Recovered;
import io.gnomon.paxos.storage.DurableLog.Snapshot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ChronicleDurableLogTest {

    @TempDir
    Path dir;

    static Ballot b(long round) {
        return new Ballot(round, 1);
    }

    static Entry e(long slot, long round, String value) {
        return new Entry(slot, b(round), value.getBytes(StandardCharsets.UTF_8));
    }

    ChronicleDurableLog open() throws IOException {
        return ChronicleDurableLog.open(dir, SyncPolicy.SYNC_EACH_BATCH, LogLimits.DEFAULTS);
    }

    static List<String> cycleFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".cq4")).sorted().toList();
        }
    }

    @Test
    void aSecondWriterOfTheSameDirectoryIsRefusedUntilTheFirstCloses() throws IOException {
        try (ChronicleDurableLog log = open()) {
            log.persistPromise(b(3), 5_000L);
            assertThatThrownBy(this::open).isInstanceOf(IOException.class)
                    .hasMessageContaining("paxos log directory " + dir + " is in use by another writer")
                    .hasMessageContaining("pid " + ProcessHandle.current().pid())
                    .hasMessageContaining("stop it or use another directory");
            log.persistPromise(b(4), 6_000L); // the refused open changed nothing for the writer
        }
        try (ChronicleDurableLog log = open()) {
            assertThat(log.recover().promised()).isEqualTo(b(4));
        }
    }

    /** Another process's open is refused too (an OS lock, not only this JVM's bookkeeping); a kill -9 frees it. */
    @Test
    void aWriterInAnotherProcessHoldsTheDirectoryUntilItDies() throws Exception {
        List<String> cmd = io.gnomon.paxos.ChildJvm.command(KillChild.class);
        cmd.addAll(List.of(dir.toString(), SyncPolicy.SYNC_EACH_BATCH.name(), "1"));
        Process child = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try (var in = new java.io.BufferedReader(new java.io.InputStreamReader(child.getInputStream(),
                StandardCharsets.UTF_8))) {
            String line = in.readLine();
            while (line != null && !line.startsWith("START")) { // START: the child opened and recovered the log
                line = in.readLine();
            }
            assertThat(line).as("the child's START line").isNotNull();
            assertThatThrownBy(this::open).isInstanceOf(IOException.class)
                    .hasMessageContaining("is in use by another writer (pid " + child.pid() + ")");
        } finally {
            child.destroyForcibly().waitFor();
        }
        try (ChronicleDurableLog log = open()) {
            assertThat(log.recover()).isNotNull();
        }
    }

    /**
     * Chronicle's PosixAPI falls back to a no-op (msync returns 0, does nothing) when its native binding fails to
     * load; SYNC_EACH_BATCH must then refuse to open rather than promise durability it cannot give. NONE still opens.
     * Swaps the JVM-wide PosixAPI for the duration (tests in this module run one at a time).
     */
    @Test
    void syncEachBatchRefusesToOpenWhenMsyncIsANoOp() throws IOException {
        net.openhft.posix.PosixAPI working = net.openhft.posix.PosixAPI.posix();
        net.openhft.posix.internal.PosixAPIHolder.useNoOpPosixApi();
        try {
            assertThatThrownBy(this::open).isInstanceOf(IOException.class)
                    .hasMessageContaining("msync does nothing in this JVM (Chronicle's PosixAPI is NoOpPosixAPI")
                    .hasMessageContaining("cannot force the paxos log to disk");
            try (ChronicleDurableLog log = ChronicleDurableLog.open(dir, SyncPolicy.NONE, LogLimits.DEFAULTS)) {
                log.persistPromise(b(1), 0L);
            }
        } finally {
            net.openhft.posix.internal.PosixAPIHolder.POSIX_API = working;
        }
        try (ChronicleDurableLog log = open()) {
            assertThat(log.recover().promised()).isEqualTo(b(1));
        }
    }

    @Test
    void emptyLogRecoversNothing() throws IOException {
        try (ChronicleDurableLog log = open()) {
            Recovered r = log.recover();
            assertThat(r.promised()).isEqualTo(Ballot.ZERO);
            assertThat(r.grantedLeaseEndEpochNanos()).isZero();
            assertThat(r.decidedUpTo()).isEqualTo(DurableLog.NO_SLOT);
            assertThat(r.snapshotOrNull()).isNull();
            assertThat(r.entriesAboveSnapshot()).isEmpty();
        }
    }

    @Test
    void everythingPersistedIsRecoveredAfterReopen() throws IOException {
        try (ChronicleDurableLog log = open()) {
            log.persistPromise(b(3), 5_000L);
            log.persistAccepted(List.of(e(0, 3, "a"), e(1, 3, "b"), e(2, 3, "c")));
            log.persistDecided(1);
            log.sync();
        }
        try (ChronicleDurableLog log = open()) {
            Recovered r = log.recover();
            assertThat(r.promised()).isEqualTo(b(3));
            assertThat(r.grantedLeaseEndEpochNanos()).isEqualTo(5_000L);
            assertThat(r.decidedUpTo()).isEqualTo(1);
            assertThat(r.entriesAboveSnapshot().values()).containsExactly(e(0, 3, "a"), e(1, 3, "b"), e(2, 3, "c"));
        }
    }

    @Test
    void higherOrEqualBallotSupersedesAcrossReopen() throws IOException {
        try (ChronicleDurableLog log = open()) {
            log.persistAccepted(List.of(e(5, 1, "old"), e(6, 1, "kept")));
            log.persistAccepted(List.of(e(5, 2, "newer")));
            log.persistAccepted(List.of(e(5, 2, "re-accepted")));
            log.sync();
            assertThat(log.recover().entriesAboveSnapshot().get(5L)).isEqualTo(e(5, 2, "re-accepted"));
        }
        try (ChronicleDurableLog log = open()) {
            assertThat(log.recover().entriesAboveSnapshot()).containsEntry(5L, e(5, 2, "re-accepted"))
                    .containsEntry(6L, e(6, 1, "kept")).hasSize(2);
        }
    }

    @Test
    void lowerBallotForASlotIsRefusedAndTheWholeBatchIsNotWritten() throws IOException {
        try (ChronicleDurableLog log = open()) {
            log.persistAccepted(List.of(e(5, 2, "v2")));
            assertThatThrownBy(() -> log.persistAccepted(List.of(e(6, 2, "fine"), e(5, 1, "v1"))))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("slot 5").hasMessageContaining("below the stored ballot");
            assertThatThrownBy(() -> log.persistAccepted(List.of(e(7, 3, "x"), e(7, 2, "y"))))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("slot 7");
            log.sync();
        }
        try (ChronicleDurableLog log = open()) {
            assertThat(log.recover().entriesAboveSnapshot()).containsOnlyKeys(5L).containsEntry(5L, e(5, 2, "v2"));
        }
    }

    @Test
    void promiseOnlyGrowsAndTheLeaseEndNeverShrinks() throws IOException {
        try (ChronicleDurableLog log = open()) {
            log.persistPromise(b(4), 1_000L);
            log.persistPromise(b(4), 2_000L); // renewal at the same ballot
            assertThatThrownBy(() -> log.persistPromise(b(3), 9_000L))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("below the stored promise");
            assertThatThrownBy(() -> log.persistPromise(b(5), -1))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("leaseEndEpochNanos");
            log.persistPromise(b(5), 0); // a promise without a lease keeps the lease already granted
            log.sync();
        }
        try (ChronicleDurableLog log = open()) {
            Recovered r = log.recover();
            assertThat(r.promised()).isEqualTo(b(5));
            assertThat(r.grantedLeaseEndEpochNanos()).isEqualTo(2_000L);
        }
    }

    @Test
    void decidedOnlyGrows() throws IOException {
        try (ChronicleDurableLog log = open()) {
            log.persistDecided(10);
            log.persistDecided(10);
            assertThatThrownBy(() -> log.persistDecided(9))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("decidedUpToSlot 9 is below the stored 10");
            log.persistDecided(12);
            log.sync();
        }
        try (ChronicleDurableLog log = open()) {
            assertThat(log.recover().decidedUpTo()).isEqualTo(12);
        }
    }

    @Test
    void snapshotCompactsOldCycleFilesAndKeepsLiveState() throws IOException {
        byte[] state = "state@50".getBytes(StandardCharsets.UTF_8);
        byte[] members = "1,2,3".getBytes(StandardCharsets.UTF_8);
        List<String> before;
        try (ChronicleDurableLog log = open()) {
            log.persistPromise(b(7), 123_456L);
            for (int s = 0; s < 100; s++) {
                log.persistAccepted(List.of(e(s, 7, "v" + s)));
            }
            log.persistDecided(80);
            log.sync();
            before = cycleFiles(dir);
            assertThat(before).hasSize(1);

            log.persistSnapshot(new Snapshot(50, b(7), state, members));

            List<String> after = cycleFiles(dir);
            assertThat(after).hasSize(1).doesNotContainAnyElementsOf(before);
            assertThat(Files.exists(dir.resolve(before.get(0)))).isFalse();
            assertThatThrownBy(() -> log.persistAccepted(List.of(e(50, 8, "late"))))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("covered by the snapshot");
            assertThatThrownBy(() -> log.persistSnapshot(new Snapshot(49, b(7), state, members)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("older than the stored snapshot");
            log.persistAccepted(List.of(e(100, 8, "after-snapshot")));
            log.sync();
        }
        try (ChronicleDurableLog log = open()) {
            Recovered r = log.recover();
            assertThat(r.promised()).isEqualTo(b(7));
            assertThat(r.grantedLeaseEndEpochNanos()).isEqualTo(123_456L);
            assertThat(r.decidedUpTo()).isEqualTo(80);
            assertThat(r.snapshotOrNull()).isEqualTo(new Snapshot(50, b(7), state, members));
            assertThat(r.entriesAboveSnapshot().firstKey()).isEqualTo(51L);
            assertThat(r.entriesAboveSnapshot().lastEntry().getValue()).isEqualTo(e(100, 8, "after-snapshot"));
            assertThat(r.entriesAboveSnapshot()).hasSize(50);
            for (long s = 51; s < 100; s++) {
                assertThat(r.entriesAboveSnapshot().get(s)).isEqualTo(e(s, 7, "v" + s));
            }
            // A second compaction on a reopened log deletes the file the first one wrote.
            List<String> first = cycleFiles(dir);
            log.persistSnapshot(new Snapshot(90, b(8), state, members));
            assertThat(cycleFiles(dir)).hasSize(1).doesNotContainAnyElementsOf(first);
            assertThat(log.recover().decidedUpTo()).isEqualTo(90); // a snapshot covers only decided slots
        }
        try (ChronicleDurableLog log = open()) {
            Recovered r = log.recover();
            assertThat(r.snapshotOrNull().lastIncludedSlot()).isEqualTo(90);
            assertThat(r.entriesAboveSnapshot().keySet()).containsExactly(91L, 92L, 93L, 94L, 95L, 96L, 97L, 98L, 99L, 100L);
            assertThat(r.decidedUpTo()).isEqualTo(90);
        }
    }

    @Test
    void limitsAreEnforcedAtAndPastEachBound() throws IOException {
        LogLimits small = new LogLimits(100, 4, 300, 500);
        try (ChronicleDurableLog log = ChronicleDurableLog.open(dir, SyncPolicy.NONE, small)) {
            log.persistAccepted(List.of(new Entry(0, b(1), new byte[100])));
            assertThatThrownBy(() -> log.persistAccepted(List.of(new Entry(1, b(1), new byte[101]))))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("101-byte value")
                    .hasMessageContaining("maxEntryValueBytes=100");
            log.persistAccepted(List.of(e(1, 1, "a"), e(2, 1, "b"), e(3, 1, "c"), e(4, 1, "d")));
            assertThatThrownBy(() -> log.persistAccepted(List.of(e(5, 1, "a"), e(6, 1, "b"), e(7, 1, "c"), e(8, 1, "d"), e(9, 1, "e"))))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("batch of 5 entries exceeds maxBatchEntries=4");
            log.persistAccepted(List.of(new Entry(5, b(1), new byte[100]), new Entry(6, b(1), new byte[100]), new Entry(7, b(1), new byte[100])));
            assertThatThrownBy(() -> log.persistAccepted(List.of(new Entry(8, b(1), new byte[100]), new Entry(9, b(1), new byte[100]),
                    new Entry(10, b(1), new byte[100]), new Entry(11, b(1), new byte[1]))))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("301 value bytes, above maxBatchValueBytes=300");
            log.persistSnapshot(new Snapshot(1, b(1), new byte[400], new byte[100]));
            assertThatThrownBy(() -> log.persistSnapshot(new Snapshot(2, b(1), new byte[401], new byte[100])))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("501 bytes").hasMessageContaining("maxSnapshotBytes=500");
            assertThat(log.recover().entriesAboveSnapshot().keySet()).containsExactly(2L, 3L, 4L, 5L, 6L, 7L);
        }
        assertThatThrownBy(() -> new LogLimits(0, 1, 1, 1)).hasMessageContaining("maxEntryValueBytes must be > 0, was 0");
        assertThatThrownBy(() -> new LogLimits(10, 1, 5, 1)).hasMessageContaining("must be <= maxBatchValueBytes");
    }

    @Test
    void theDefaultLimitsFitInChronicleDocuments() throws IOException {
        LogLimits d = LogLimits.DEFAULTS;
        List<Entry> batch = new ArrayList<>();
        int per = d.maxBatchValueBytes() / d.maxBatchEntries();
        for (int i = 0; i < d.maxBatchEntries(); i++) {
            batch.add(new Entry(i, b(1), new byte[per]));
        }
        byte[] state = new byte[d.maxSnapshotBytes() - 3];
        state[state.length - 1] = 42;
        try (ChronicleDurableLog log = open()) {
            log.persistAccepted(batch);
            log.persistAccepted(List.of(new Entry(d.maxBatchEntries(), b(1), new byte[d.maxEntryValueBytes()])));
            log.persistSnapshot(new Snapshot(10, b(1), state, new byte[3]));
        }
        try (ChronicleDurableLog log = open()) {
            Recovered r = log.recover();
            assertThat(r.snapshotOrNull().state()).hasSize(state.length).endsWith((byte) 42);
            assertThat(r.entriesAboveSnapshot()).hasSize(d.maxBatchEntries() - 10);
            assertThat(r.entriesAboveSnapshot().lastEntry().getValue().value()).hasSize(d.maxEntryValueBytes());
        }
    }

    @Test
    void closedLogRefusesCalls() throws IOException {
        ChronicleDurableLog log = open();
        log.close();
        log.close();
        assertThatThrownBy(() -> log.persistDecided(1)).isInstanceOf(IllegalStateException.class).hasMessageContaining("is closed");
    }

    @Test
    void openRefusesAFile() throws IOException {
        Path file = Files.createFile(dir.resolve("not-a-dir"));
        assertThatThrownBy(() -> ChronicleDurableLog.open(file, SyncPolicy.NONE, LogLimits.DEFAULTS))
                .isInstanceOf(IOException.class).hasMessageContaining("is not a directory");
    }
}
