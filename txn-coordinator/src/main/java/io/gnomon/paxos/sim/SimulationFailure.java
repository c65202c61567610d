package io.gnomon.paxos.sim;

/** An invariant the simulator checks was broken; the message names the seed and the command that replays it. */
public final class SimulationFailure extends RuntimeException {
    private final long seed;

    public SimulationFailure(long seed, String message, Throwable cause) {
        super(message, cause);
        this.seed = seed;
    }

    public long seed() {
        return seed;
    }
}
