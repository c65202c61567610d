package io.gnomon.paxos;

import io.gnomon.paxos.sim.ReplicaFactory;
import io.gnomon.paxos.sim.SimulationFailure;
import io.gnomon.paxos.sim.Simulator;
import io.gnomon.truetime.TimeInterval;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The lease checker can fail: with the lease wait switched off (the package-private
 * {@link PaxosReplica#skipLeaseWaitForNegativeControl()} hook, reachable only from this package's tests), a new
 * leader is elected while the old one still believes in its lease, and the simulator must catch the overlap.
 */
class LeaseNegativeControlTest {

    static final ReplicaFactory SKIP_LEASE_WAIT = new ReplicaFactory() {
        @Override
        public PaxosReplica create(PaxosConfig c, long now, TimeInterval tt) {
            PaxosReplica r = new PaxosReplica(c, now, tt);
            r.skipLeaseWaitForNegativeControl();
            return r;
        }

        @Override
        public PaxosReplica recover(PaxosConfig c, DurableState.Recovered rec, long now, TimeInterval tt) {
            PaxosReplica r = PaxosReplica.recover(c, rec, now, tt);
            r.skipLeaseWaitForNegativeControl();
            return r;
        }

        @Override
        public PaxosReplica joining(PaxosConfig c, long now, TimeInterval tt) {
            PaxosReplica r = PaxosReplica.joining(c, now, tt);
            r.skipLeaseWaitForNegativeControl();
            return r;
        }
    };

    @Test
    void withoutTheLeaseWaitTheSimulatorFindsOverlappingLeases() {
        int caught = 0;
        String first = null;
        for (long seed = 1; seed <= 20; seed++) {
            try {
                new Simulator(seed, 3, 20_000, SKIP_LEASE_WAIT).run();
            } catch (SimulationFailure f) {
                if (f.getMessage().contains("leases overlap") || f.getMessage().contains("lease read")) {
                    caught++;
                    first = first == null ? f.getMessage() : first;
                }
            }
        }
        System.out.println("negative control: " + caught + " of 20 seeds caught; first: " + first);
        assertThat(caught).as("seeds whose overlapping leases were caught").isGreaterThan(10);
        assertThat(first).contains("replay: bin/paxos-sim --replay");
    }

    @Test
    void withTheLeaseWaitTheSameSeedsPass() {
        for (long seed = 1; seed <= 20; seed++) {
            new Simulator(seed, 3, 20_000, ReplicaFactory.REAL).run();
        }
    }
}
