package io.gnomon.paxos.runtime;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

class ReplicaDriverClusterTest {
    @TempDir
    Path d1;
    @TempDir
    Path d2;
    @TempDir
    Path d3;

    private Map<Integer, Path> dirs() {
        Map<Integer, Path> m = new LinkedHashMap<>();
        m.put(1, d1);
        m.put(2, d2);
        m.put(3, d3);
        return m;
    }

    @Test
    void threeDriversElectDecideRecoverFromDiskAndDecideAgain() {
        List<String> before = new ArrayList<>();
        Map<Integer, TreeMap<Long, String>> appliedBefore = new LinkedHashMap<>();
        try (InMemoryCluster c = new InMemoryCluster(dirs())) {
            c.start();
            for (int batch = 0; batch < 5; batch++) {
                List<String> values = List.of("a" + batch + "-0", "a" + batch + "-1", "a" + batch + "-2");
                c.proposeAndDecide(values);
                before.addAll(values);
            }
            // every replica applied the same slots with the same values, all of them the proposed ones
            TreeMap<Long, String> first = c.applied.get(1);
            assertThat(c.applied.values()).allSatisfy(a -> assertThat(a).isEqualTo(first));
            assertThat(first.values()).containsExactlyElementsOf(before);
            c.applied.forEach((id, a) -> appliedBefore.put(id, new TreeMap<>(a)));
            c.stopAll();
        }

        try (InMemoryCluster c = new InMemoryCluster(dirs())) {
            c.start();
            // recovered from disk: every decided value is in each replica's recovered state
            for (ReplicaDriver d : c.drivers.values()) {
                assertThat(d.replica().decidedIndex()).isGreaterThanOrEqualTo(before.size());
            }
            // the first output of each recovered replica re-delivers its decided prefix to the apply callback
            c.step(1);
            assertThat(c.applied).isEqualTo(appliedBefore);
            // and the group makes progress again
            List<String> after = List.of("b-0", "b-1", "b-2", "b-3");
            c.proposeAndDecide(after);
            List<String> all = new ArrayList<>(before);
            all.addAll(after);
            TreeMap<Long, String> first = c.applied.get(1);
            assertThat(c.applied.values()).allSatisfy(a -> assertThat(a).isEqualTo(first));
            assertThat(first.values()).containsExactlyElementsOf(all);
            c.stopAll();
        }
    }

    @Test
    void restartedReplicasRecoverDecidedPrefixLogEndAndConfiguration() {
        try (InMemoryCluster c = new InMemoryCluster(dirs())) {
            c.start();
            c.proposeAndDecide(List.of("x", "y"));
            c.stopAll();
        }
        try (InMemoryCluster c = new InMemoryCluster(dirs())) {
            c.start();
            for (ReplicaDriver d : c.drivers.values()) {
                assertThat(d.replica().decidedIndex()).isEqualTo(2);
                assertThat(d.replica().logEnd()).isEqualTo(2);
                assertThat(d.replica().configId()).isEqualTo(1);
                assertThat(d.replica().members()).containsExactly(1, 2, 3);
            }
        }
    }

    @Test
    void compactedReplicasRecoverTheirSnapshotAndTheTailAndKeepDeciding() {
        try (InMemoryCluster c = new InMemoryCluster(dirs())) {
            c.start();
            c.proposeAndDecide(List.of("s0", "s1", "s2", "s3"));
            for (ReplicaDriver d : c.drivers.values()) {
                assertThat(d.compact(2).diagnostics()).isEmpty();
                assertThat(d.replica().compactedIndex()).isEqualTo(3);
            }
            c.proposeAndDecide(List.of("s4"));
            c.stopAll();
        }
        try (InMemoryCluster c = new InMemoryCluster(dirs())) {
            c.start();
            for (ReplicaDriver d : c.drivers.values()) {
                assertThat(d.replica().compactedIndex()).isEqualTo(3);
                assertThat(d.replica().decidedIndex()).isEqualTo(5);
            }
            c.step(1); // first outputs re-deliver the snapshot, then decided entries above it
            // The application must get the snapshot before the entries that follow it, or restoring the snapshot
            // would wipe them (seen as an acknowledged write missing after a restart in ReplicaServerTest).
            assertThat(c.events.values()).allSatisfy(e -> assertThat(e).startsWith("snapshot 3", "apply 3", "apply 4"));
            assertThat(c.applied.values()).allSatisfy(a -> assertThat(a).containsEntry(3L, "s3").containsEntry(4L, "s4"));
            c.proposeAndDecide(List.of("s5"));
            assertThat(c.applied.values()).allSatisfy(a -> assertThat(a).containsEntry(5L, "s5"));
        }
    }

    @Test
    void aFailedSyncSendsNoVoteAndStopsTheDriver() {
        boolean[] fail = {false};
        List<Object> sent = new ArrayList<>();
        try (InMemoryCluster c = new InMemoryCluster(dirs(),
                log -> new PersistBeforeSendTest.RecordingLog(log, new ArrayList<>()) {
                    @Override
                    public void sync() {
                        if (fail[0]) {
                            throw new IllegalStateException("disk gone");
                        }
                        super.sync();
                    }
                },
                inner -> (to, m) -> {
                    sent.add(m);
                    inner.send(to, m);
                })) {
            c.start();
            ReplicaDriver leader = c.electLeader();
            sent.clear();
            fail[0] = true;
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> leader.propose(List.of("x".getBytes())))
                    .hasMessageContaining("disk gone");
            // Only the leader's Accepts to its peers left (written, not yet synced: Output.sendsBeforeSync); no
            // vote, no Decide, no loopback.
            assertThat(sent).isNotEmpty().allMatch(m -> io.gnomon.paxos.Output.sendsBeforeSync((io.gnomon.paxos.Message) m));
            org.assertj.core.api.Assertions.assertThatThrownBy(leader::onTick)
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("restart and recover");
            fail[0] = false;
        }
    }

    @Test
    void membershipChangeSurvivesRestartAndTheNewConfigurationDecides() {
        try (InMemoryCluster c = new InMemoryCluster(dirs())) {
            c.start();
            c.proposeAndDecide(List.of("m0"));
            ReplicaDriver leader = c.electLeader();
            assertThat(leader.proposeMembership(List.of(1, 2)).diagnostics()).isEmpty();
            c.drain();
            c.runUntil(() -> c.drivers.values().stream().allMatch(d -> d.replica().configId() == 2), 20_000,
                    "every replica enters configuration 2");
            c.stopAll();
        }
        try (InMemoryCluster c = new InMemoryCluster(dirs())) {
            c.start();
            for (ReplicaDriver d : c.drivers.values()) {
                assertThat(d.replica().configId()).isEqualTo(2);
                assertThat(d.replica().members()).containsExactly(1, 2);
                assertThat(d.replica().decidedIndex()).isEqualTo(2); // m0 and the configuration entry
            }
            c.runUntil(() -> c.leader() != null, 20_000, "a leader of configuration 2");
            ReplicaDriver leader = c.leader();
            assertThat(leader.replica().replicaId()).isIn(1, 2);
            leader.propose(List.of("m1".getBytes()));
            c.drain();
            c.runUntil(() -> c.applied.get(1).containsValue("m1") && c.applied.get(2).containsValue("m1"), 20_000,
                    "members of configuration 2 decide m1");
            assertThat(c.applied.get(1)).isEqualTo(c.applied.get(2));
            assertThat(c.applied.get(1).values()).containsExactly("m0", "m1");
        }
    }
}
