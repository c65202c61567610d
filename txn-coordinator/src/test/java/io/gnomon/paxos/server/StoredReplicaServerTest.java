package io.gnomon.paxos.server;

import io.gnomon.paxos.grpc.AppendReply;
import io.gnomon.paxos.grpc.Outcome;
import io.gnomon.paxos.runtime.StateMachine;
import io.gnomon.paxos.store.StoreOpenException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Replica servers in one JVM with their machines on the versioned store ({@link ReplicaServer.StoreKind#ROCKS}):
 * several groups per process apply, flush and compact (every 50 entries, {@link LocalCluster}) on one store per
 * process, and come back from it after a restart; a store that cannot serve is refused at start, naming the group
 * or the directory and what to do. (SIGKILL of real processes on the store: {@code ReplicaProcessTest}.)
 */
class StoredReplicaServerTest {
    private static final Duration T = Duration.ofSeconds(20);
    private static final List<Long> GROUPS = List.of(1L, 2L, 3L);
    private static final int APPENDS = 120;

    @TempDir
    Path tmp;

    private LocalCluster cluster;

    @AfterEach
    void tearDown() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private ReplicaClient client(long group) {
        return cluster.client(group, ReplicaClient.AppendCalls.UNARY);
    }

    private List<Long> read(long group) {
        return ListAppends.read(client(group), "k", T);
    }

    @Test
    void groupsOnOneStorePerProcessCompactFromTheirFlushAndComeBackFromItAfterARestart() throws Exception {
        Map<Long, List<Integer>> groups = new TreeMap<>();
        GROUPS.forEach(g -> groups.put(g, List.of(1, 2, 3)));
        cluster = new LocalCluster(tmp, 3).withGroups(groups).withStore(ReplicaServer.StoreKind.ROCKS);
        cluster.startAll();
        for (long g : GROUPS) {
            await().atMost(T).until(() -> client(g).leaseHolder(Duration.ofSeconds(1)).isPresent());
            for (long v = 1; v <= APPENDS; v++) {
                ListAppends.appendOnce(client(g), "k", g * 1000 + v, T);
            }
        }
        // Every process applies everything, so every machine crossed two compactions (each after a flush).
        for (long g : GROUPS) {
            await().atMost(T).until(() -> client(g).statuses(Duration.ofSeconds(1)).stream()
                    .filter(s -> s.getAppliedIndex() >= APPENDS).count() == 3);
        }
        cluster.close();

        // Closed, each store holds every group's machine at (at least) what the group applied: the restart replays
        // no slot below it.
        for (int id = 1; id <= 3; id++) {
            try (StoredMachines machines = StoredMachines.open(tmp.resolve("r" + id))) {
                for (long g : GROUPS) {
                    try (StateMachine m = machines.listAppend(g)) {
                        assertThat(m.appliedIndex()).as("process %d group %d", id, g).isGreaterThanOrEqualTo(APPENDS);
                    }
                }
            }
        }
        cluster.startAll();
        for (long g : GROUPS) {
            await().atMost(T).until(() -> client(g).leaseHolder(Duration.ofSeconds(1)).isPresent());
            List<Long> expected = new java.util.ArrayList<>();
            for (long v = 1; v <= APPENDS; v++) {
                expected.add(g * 1000 + v);
            }
            assertThat(read(g)).as("group %d after the restart", g).containsExactlyElementsOf(expected);
            AppendReply r = client(g).append(ListAppend.encodeTxn(List.of(ListAppend.Op.append("k", 0))), T);
            assertThat(r.getOutcome()).as("group %d appends after the restart: %s", g, r.getDetail())
                    .isEqualTo(Outcome.APPLIED);
        }
    }

    @Test
    void aStoreLockedByAnotherOpenerIsRefusedAtStart() throws Exception {
        cluster = new LocalCluster(tmp, 1).withStore(ReplicaServer.StoreKind.ROCKS);
        try (StoredMachines holder = StoredMachines.open(tmp.resolve("r1"))) {
            assertThatThrownBy(() -> cluster.start(1)).isInstanceOf(StoreOpenException.class)
                    .hasMessageContaining(tmp.resolve("r1").resolve("store").toString())
                    .hasMessageContaining("locked");
        }
        cluster.start(1); // the holder closed: the same data dir starts
    }

    @Test
    void aGroupWrittenByAnotherKindOfMachineIsRefusedAtStart() throws Exception {
        try (StoredMachines machines = StoredMachines.open(tmp.resolve("r1"));
             StateMachine kv = machines.keyValue(ReplicaServer.GROUP)) {
            kv.apply(0, KeyValueMachine.put("a".getBytes(StandardCharsets.UTF_8), new byte[] {1}));
            kv.flush();
        }
        cluster = new LocalCluster(tmp, 1).withStore(ReplicaServer.StoreKind.ROCKS);
        assertThatThrownBy(() -> cluster.start(1)).isInstanceOf(IOException.class)
                .hasMessageContaining("group 1 in " + tmp.resolve("r1").resolve("store"))
                .hasMessageContaining("holds data of another kind of machine")
                .hasMessageContaining("this process runs --machine list-append");
        try (StoredMachines reopened = StoredMachines.open(tmp.resolve("r1"))) {
            assertThat(reopened.store().directory()).as("the refused start released the store").isNotNull();
        }
    }

    @Test
    void aMachineWhoseInstallACrashCutShortStartsAndWaitsForAPeersState() throws Exception {
        try (StoredMachines machines = StoredMachines.open(tmp.resolve("r1"));
             StateMachine m = machines.listAppend(ReplicaServer.GROUP)) {
            m.beginInstall(10); // never finished: the store reopens marked
        }
        // Not refused: a crash during an install is a crash like any other, and the host fetches the state from a
        // peer (StoredClusterKillNineTest kills processes mid-install and reads everything back).
        cluster = new LocalCluster(tmp, 1).withStore(ReplicaServer.StoreKind.ROCKS);
        cluster.start(1);
    }
}
