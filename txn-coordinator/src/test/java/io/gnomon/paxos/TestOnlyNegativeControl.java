package io.gnomon.paxos;

import java.util.function.Consumer;

/**
 * The key to the replica server's negative controls ({@code NegativeControl}): it exists only in
 * txn-coordinator's test classes (and the test jar), so a replica started from the product's classpath cannot
 * switch a deliberate lease bug on. Reaches the core's package-private hook.
 */
public final class TestOnlyNegativeControl implements Consumer<PaxosReplica> {
    @Override
    public void accept(PaxosReplica replica) {
        replica.skipLeaseWaitForNegativeControl();
    }
}
