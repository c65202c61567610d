package io.gnomon.paxos.sim;

import io.gnomon.paxos.runtime.StateMachine;

/** The simulator's own workload checks the log alone: its application keeps nothing and accepts every command. */
final class NoStateMachine implements StateMachine {
    private static final byte[] NOTHING = new byte[0];

    @Override
    public String validate(byte[] command) {
        return null;
    }

    @Override
    public byte[] apply(long slot, byte[] command) {
        return NOTHING;
    }

    @Override
    public byte[] query(byte[] query) {
        return NOTHING;
    }

    @Override
    public byte[] snapshot() {
        return NOTHING;
    }

    @Override
    public void restore(byte[] snapshot) {
    }
}
