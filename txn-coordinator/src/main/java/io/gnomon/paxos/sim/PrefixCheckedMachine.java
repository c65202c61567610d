package io.gnomon.paxos.sim;

import io.gnomon.paxos.runtime.StateMachine;

import java.nio.ByteBuffer;
import java.util.function.LongSupplier;

/**
 * A simulated process's application, wrapped so that every snapshot its host takes starts with the hash of the
 * decided prefix the node has applied: when a snapshot is installed anywhere, the simulator checks that hash
 * against the ground truth ({@code Simulator.installed}).
 */
final class PrefixCheckedMachine implements StateMachine {
    private final LongSupplier appliedHash;
    private final StateMachine app;

    /** {@code appliedHash}: the hash of the prefix this replica has applied, kept by the simulator's checks. */
    PrefixCheckedMachine(LongSupplier appliedHash, StateMachine app) {
        this.appliedHash = appliedHash;
        this.app = app;
    }

    @Override
    public String validate(byte[] command) {
        return app.validate(command);
    }

    @Override
    public byte[] apply(long slot, byte[] command) {
        return app.apply(slot, command);
    }

    @Override
    public byte[] query(byte[] query) {
        return app.query(query);
    }

    @Override
    public byte[] snapshot() {
        byte[] state = app.snapshot();
        return ByteBuffer.allocate(8 + state.length).putLong(appliedHash.getAsLong()).put(state).array();
    }

    @Override
    public void restore(byte[] snapshot) {
        ByteBuffer b = ByteBuffer.wrap(snapshot);
        b.getLong(); // checked by Simulator.installed before the host restores
        byte[] state = new byte[b.remaining()];
        b.get(state);
        app.restore(state);
    }
}
