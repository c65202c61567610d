package io.gnomon.paxos.sim;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * CI's sample of the simulator (the full run is {@code bin/paxos-sim --seeds 10000}): a few hundred seeds with 3
 * and 5 replicas. A failure's message carries the seed and the command that replays it.
 */
class SimulatorTest {
    static final int STEPS = 20_000;

    @Test
    void threeReplicasTwoHundredSeeds() {
        long decided = 0;
        int leaseReads = 0;
        for (long seed = 1; seed <= 200; seed++) {
            Simulator.Result r = new Simulator(seed, 3, STEPS, ReplicaFactory.REAL).run();
            decided += r.decidedSlots();
            leaseReads += r.leaseReads();
        }
        assertThat(decided).as("the sample makes progress, not only stays safe").isGreaterThan(200 * 100);
        assertThat(leaseReads).isGreaterThan(200 * 10);
    }

    @Test
    void fiveReplicasOneHundredSeeds() {
        long decided = 0;
        for (long seed = 1_000_001; seed <= 1_000_100; seed++) {
            decided += new Simulator(seed, 5, STEPS, ReplicaFactory.REAL).run().decidedSlots();
        }
        assertThat(decided).isGreaterThan(100 * 100);
    }

    /** Issue 16: grantors of the leader's lease restart with shorter leases; no overlapping lease, no stale read. */
    @Test
    void shorterLeaseRestartScenarioThreeAndFiveReplicas() {
        long decided = 0;
        int leaderships = 0;
        for (long seed = 1; seed <= 60; seed++) {
            Simulator.Result r = new Simulator(seed, seed % 3 == 0 ? 5 : 3, STEPS, ReplicaFactory.REAL,
                    Simulator.Scenario.SHORTER_LEASE_RESTART).run();
            decided += r.decidedSlots();
            leaderships += r.leaderships();
        }
        assertThat(decided).isGreaterThan(60 * 100);
        assertThat(leaderships).as("the cycle moves leadership").isGreaterThan(60 * 2);
    }

    /**
     * The same cycle with membership changes: without the wait for a lease held two configurations back, seeds 407,
     * 855 and 1091 (3 replicas) find overlapping leases (docs/paxos.md, "Membership change"; LeaseNegativeControlTest
     * shows it); with it they pass.
     */
    @Test
    void shorterLeaseRestartWithMembershipChanges() {
        long configChanges = 0;
        // replicas, first seed, last seed; 407, 855 and 1091 are LeaseNegativeControlTest's
        int[][] runs = {{3, 1, 60}, {3, 407, 407}, {3, 855, 855}, {3, 1091, 1091}, {5, 1, 20}};
        for (int[] run : runs) {
            for (long seed = run[1]; seed <= run[2]; seed++) {
                configChanges += new Simulator(seed, run[0], STEPS, ReplicaFactory.REAL,
                        Simulator.Scenario.SHORTER_LEASE_RESTART_RECONFIG).run().configChanges();
            }
        }
        assertThat(configChanges).as("membership changes happen").isGreaterThan(83 * 3);
    }

    /**
     * Issue 19: eight groups on every process, dealt over its loops ({@code Simulator.LOOPS_PER_PROCESS}, each with
     * its own turn and sync, as a replica server's loop threads), sharing its log (a crash losing every group's
     * unsynced writes) and its transport; every check holds per group.
     */
    @Test
    void eightGroupsPerProcessThreeAndFiveReplicas() {
        long decided = 0;
        int leaderships = 0;
        for (long seed = 1; seed <= 40; seed++) {
            Simulator.Result r = new Simulator(seed, seed % 4 == 0 ? 5 : 3, 8, 40_000, ReplicaFactory.REAL,
                    Simulator.Scenario.RANDOM).run();
            decided += r.decidedSlots();
            leaderships += r.leaderships();
        }
        assertThat(decided).as("every group makes progress").isGreaterThan(40 * 8 * 50);
        assertThat(leaderships).as("each group elects its own leaders").isGreaterThan(40 * 8);
    }

    @Test
    void aSeedReplaysByteForByte() {
        for (long seed : new long[] {7, 42, 1_000_003}) {
            Simulator.Result a = new Simulator(seed, seed > 1_000_000 ? 5 : 3, STEPS, ReplicaFactory.REAL).run();
            Simulator.Result b = new Simulator(seed, seed > 1_000_000 ? 5 : 3, STEPS, ReplicaFactory.REAL).run();
            assertThat(b).isEqualTo(a);
            assertThat(b.traceHash()).isEqualTo(a.traceHash());
        }
        Simulator.Result other = new Simulator(8, 3, STEPS, ReplicaFactory.REAL).run();
        assertThat(other.traceHash()).isNotEqualTo(new Simulator(7, 3, STEPS, ReplicaFactory.REAL).run().traceHash());
        Simulator.Result groups = new Simulator(7, 3, 8, STEPS, ReplicaFactory.REAL, Simulator.Scenario.RANDOM).run();
        assertThat(new Simulator(7, 3, 8, STEPS, ReplicaFactory.REAL, Simulator.Scenario.RANDOM).run()).isEqualTo(groups);
    }

    @Test
    void aFailureNamesItsSeedAndTheReplayCommand() {
        assertThat(Simulator.replayCommand(123, 5, 20_000))
                .isEqualTo("bin/paxos-sim --replay 123 --replicas 5 --steps 20000");
        assertThat(Simulator.replayCommand(123, 3, 20_000, Simulator.Scenario.SHORTER_LEASE_RESTART))
                .isEqualTo("bin/paxos-sim --replay 123 --replicas 3 --steps 20000 --scenario shorter-lease-restart");
        assertThat(Simulator.replayCommand(123, 3, 8, 40_000, Simulator.Scenario.RANDOM))
                .isEqualTo("bin/paxos-sim --replay 123 --replicas 3 --groups 8 --steps 40000");
    }
}
