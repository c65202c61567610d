package io.gnomon.paxos.sim;

import io.gnomon.paxos.DurableState;
import io.gnomon.paxos.PaxosConfig;
import io.gnomon.paxos.PaxosReplica;
import io.gnomon.truetime.TimeInterval;

/** How the simulator makes cores; tests substitute one that sets test-only hooks. */
public interface ReplicaFactory {
    PaxosReplica create(PaxosConfig config, long nowMonotonicNanos, TimeInterval trueTimeNow);

    PaxosReplica recover(PaxosConfig config, DurableState.Recovered recovered, long nowMonotonicNanos,
                         TimeInterval trueTimeNow);

    PaxosReplica joining(PaxosConfig config, long nowMonotonicNanos, TimeInterval trueTimeNow);

    /** The production cores, unmodified. */
    ReplicaFactory REAL = new ReplicaFactory() {
        @Override
        public PaxosReplica create(PaxosConfig config, long now, TimeInterval tt) {
            return new PaxosReplica(config, now, tt);
        }

        @Override
        public PaxosReplica recover(PaxosConfig config, DurableState.Recovered r, long now, TimeInterval tt) {
            return PaxosReplica.recover(config, r, now, tt);
        }

        @Override
        public PaxosReplica joining(PaxosConfig config, long now, TimeInterval tt) {
            return PaxosReplica.joining(config, now, tt);
        }
    };
}
