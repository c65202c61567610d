package io.gnomon.paxos.sim;

import io.gnomon.paxos.runtime.InMemoryMachine;

/** The simulator's own workload checks the log alone: its application keeps nothing and accepts every command. */
final class NoStateMachine extends InMemoryMachine {
    private static final byte[] NOTHING = new byte[0];

    @Override
    public String validate(byte[] command) {
        return null;
    }

    @Override
    protected byte[] applyCommand(long slot, byte[] command) {
        return NOTHING;
    }

    @Override
    public byte[] query(byte[] query) {
        return NOTHING;
    }

    @Override
    protected byte[] encodeState() {
        return NOTHING;
    }

    @Override
    protected void decodeState(byte[] state) {
    }
}
