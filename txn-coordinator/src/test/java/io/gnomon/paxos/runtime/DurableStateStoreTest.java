package io.gnomon.paxos.runtime;

import io.gnomon.paxos.Ballot;
import io.gnomon.paxos.DurableState;
import io.gnomon.paxos.Entry;
import io.gnomon.paxos.PersistWrite;
import io.gnomon.paxos.PersistWrite.PersistAccepted;
import io.gnomon.paxos.PersistWrite.PersistConfig;
import io.gnomon.paxos.PersistWrite.PersistDecided;
import io.gnomon.paxos.PersistWrite.PersistLeaseGrant;
import io.gnomon.paxos.PersistWrite.PersistPromise;
import io.gnomon.paxos.PersistWrite.PersistSnapshot;
import io.gnomon.paxos.Snapshot;
import io.gnomon.paxos.storage.ChronicleDurableLog;
import io.gnomon.paxos.storage.DurableLog;
import io.gnomon.paxos.storage.SyncPolicy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The store's recovered state equals {@link DurableState}'s (the core's reference meaning of the writes), after
 * every write, reopening the Chronicle log in between.
 */
class DurableStateStoreTest {
    static final List<Integer> MEMBERS = List.of(1, 2, 3);

    @TempDir
    Path dir;
    @TempDir
    Path dir2;

    private DurableStateStore open() throws IOException {
        return open(dir);
    }

    private DurableStateStore open(Path d) throws IOException {
        DurableLog log = ChronicleDurableLog.open(d, SyncPolicy.SYNC_EACH_BATCH, InMemoryCluster.LOG_LIMITS);
        return new DurableStateStore(log, InMemoryCluster.LOG_LIMITS, InMemoryCluster.PAXOS_LIMITS, MEMBERS, false);
    }

    private static List<Entry> values(String prefix, int n) {
        return IntStream.range(0, n).mapToObj(i -> Entry.value((prefix + i).getBytes(StandardCharsets.UTF_8))).toList();
    }

    /**
     * Applies each write to the reference and to the store (one output each) and compares after every write; then
     * does it all again on a second directory reopening the log before every write, so the store's in-memory
     * mirror must also be rebuilt correctly from recovery.
     */
    private void check(List<PersistWrite> writes) throws IOException {
        DurableState ref = new DurableState(MEMBERS);
        try (DurableStateStore store = open(dir)) {
            for (PersistWrite w : writes) {
                ref.apply(w);
                store.persist(List.of(w));
            }
        }
        try (DurableStateStore store = open(dir)) {
            assertThat(show(store.recovered())).isEqualTo(show(ref.toRecovered()));
        }
        DurableState ref2 = new DurableState(MEMBERS);
        for (PersistWrite w : writes) {
            ref2.apply(w);
            try (DurableStateStore store = open(dir2)) {
                store.persist(List.of(w));
            }
            try (DurableStateStore store = open(dir2)) {
                assertThat(show(store.recovered())).as("after %s", w).isEqualTo(show(ref2.toRecovered()));
            }
        }
    }

    @Test
    void freshLogRecoversTheInitialConfiguration() throws IOException {
        try (DurableStateStore store = open()) {
            assertThat(show(store.recovered())).isEqualTo(show(new DurableState(MEMBERS).toRecovered()));
        }
    }

    @Test
    void truncatingAcceptInAHigherRoundHidesTheOldSuffix() throws IOException {
        Ballot b1 = new Ballot(1, 1);
        Ballot b2 = new Ballot(2, 2);
        check(List.of(
                new PersistPromise(1, b1),
                new PersistAccepted(1, b1, 0, values("a", 5)),
                new PersistDecided(2),
                new PersistPromise(1, b2),
                new PersistAccepted(1, b2, 3, values("b", 1)),   // log end 5 -> 4, slot 3 replaced
                new PersistAccepted(1, b2, 2, List.of())));      // truncate to the decided prefix, nothing appended
    }

    @Test
    void sameRoundTruncationAndReAppendAreIdempotent() throws IOException {
        Ballot b = new Ballot(3, 1);
        check(List.of(
                new PersistPromise(1, b),
                new PersistAccepted(1, b, 0, values("a", 6)),
                new PersistAccepted(1, b, 2, values("c", 2)),    // same round: log end 6 -> 4
                new PersistAccepted(1, b, 4, values("d", 1)),
                new PersistDecided(5),
                new PersistDecided(3)));                         // going back is a no-op (max), as in DurableState
    }

    @Test
    void configurationChangeResetsBallotsWithoutTheLogRefusingLowerOnes() throws IOException {
        Ballot high = new Ballot(9, 3);
        Ballot low = new Ballot(1, 2);                           // below `high`: allowed only in the new configuration
        List<Entry> log = new ArrayList<>(values("a", 3));
        log.add(Entry.config(2, List.of(1, 2, 4)));
        check(List.of(
                new PersistPromise(1, high),
                new PersistAccepted(1, high, 0, log),
                new PersistAccepted(1, high, 4, values("undecided", 2)),
                new PersistDecided(4),
                new PersistConfig(2, List.of(1, 2, 4), 4, 4),    // drops the undecided slots 4, 5
                new PersistPromise(2, low),
                new PersistAccepted(2, low, 4, values("n", 2)),
                new PersistDecided(5)));
    }

    @Test
    void promiseOfTheOldConfigurationRecoversAsZeroInTheNewOne() throws IOException {
        check(List.of(
                new PersistPromise(1, new Ballot(5, 1)),
                new PersistAccepted(1, new Ballot(5, 1), 0, List.of(Entry.config(2, List.of(1, 2)))),
                new PersistDecided(1),
                new PersistConfig(2, List.of(1, 2), 1, 1)));
    }

    /**
     * Issue 16: a grant's end survives a restart (it was written with value 0 before), never shrinks, outlives a
     * configuration change and a compaction, and a grant written before any promise is kept too.
     */
    @Test
    void grantedLeaseEndsRecoverAsTheLargestWritten() throws IOException {
        long t = 1_767_225_600_000_000_000L;
        Ballot b = new Ballot(4, 2);
        check(List.of(
                new PersistLeaseGrant(t + 100),                  // a self-grant before any promise is stored
                new PersistPromise(1, b),
                new PersistLeaseGrant(t + 500),
                new PersistAccepted(1, b, 0, List.of(Entry.config(2, List.of(1, 2)))),
                new PersistLeaseGrant(t + 300),                  // smaller: changes nothing
                new PersistDecided(1),
                new PersistConfig(2, List.of(1, 2), 1, 1),       // promise reset to ZERO, the grant still runs
                new PersistLeaseGrant(t + 900),
                new PersistPromise(2, new Ballot(1, 1)),
                new PersistAccepted(2, new Ballot(1, 1), 1, values("a", 3)),
                new PersistDecided(3),
                new PersistSnapshot(new Snapshot(1, 2, List.of(1, 2), 1))));
        try (DurableStateStore store = open(dir)) {
            assertThat(store.recovered().grantedLeaseEndEpochNanos()).isEqualTo(t + 900);
        }
    }

    @Test
    void snapshotsCompactAndCarryTheirConfiguration() throws IOException {
        Ballot b = new Ballot(1, 1);
        check(List.of(
                new PersistPromise(1, b),
                new PersistAccepted(1, b, 0, values("a", 5)),
                new PersistDecided(4),
                new PersistSnapshot(new Snapshot(2, 1, MEMBERS, 0)),
                new PersistAccepted(1, b, 5, values("b", 2)),
                new PersistSnapshot(new Snapshot(1, 1, MEMBERS, 0)), // ignored
                new PersistSnapshot(new Snapshot(9, 1, MEMBERS, 0)),
                new PersistAccepted(1, b, 10, values("c", 1))));
    }

    @Test
    void acceptLargerThanOneLogBatchIsSplitAndRecovered() throws IOException {
        Ballot b = new Ballot(1, 1);
        int n = InMemoryCluster.LOG_LIMITS.maxBatchEntries() * 2 + 17;
        check(List.of(
                new PersistPromise(1, b),
                new PersistAccepted(1, b, 0, values("v", n)),
                new PersistDecided(n)));
    }

    @Test
    void ballotsThatCannotBeRepresentedAreRefusedNotDropped() throws IOException {
        try (DurableStateStore store = open()) {
            assertThatThrownBy(() -> store.persist(List.of(new PersistPromise(1, new Ballot(1L << 32, 1)))))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("cannot be represented");
        }
    }

    /** Recovered with byte arrays shown by content, for comparison. */
    static String show(DurableState.Recovered r) {
        String snap = r.snapshot() == null ? "none" : r.snapshot().lastIncludedSlot() + "/"
                + r.snapshot().configId() + "/"
                + r.snapshot().members() + "/" + r.snapshot().configStartIndex();
        String entries = r.entries().stream().map(e -> e.isConfig() ? "config" + e.nextConfigId() + e.nextMembers()
                : Arrays.toString(e.value())).collect(Collectors.joining(","));
        return "config=" + r.configId() + " members=" + r.members() + " start=" + r.configStartIndex()
                + " promised=" + r.promised() + " accepted=" + r.acceptedRound() + " snapshot=" + snap
                + " firstSlot=" + r.firstSlot() + " decided=" + r.decidedIndex() + " grantedLeaseEnd="
                + r.grantedLeaseEndEpochNanos() + " entries=[" + entries + "]";
    }
}
