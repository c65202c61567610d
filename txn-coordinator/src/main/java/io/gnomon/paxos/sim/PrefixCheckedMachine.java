package io.gnomon.paxos.sim;

import io.gnomon.paxos.runtime.InMemoryMachine;
import io.gnomon.paxos.runtime.StateMachine;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * A simulated process's application, wrapped so that the simulator sees what the machine itself holds: it keeps a
 * hash of every slot it applied (slot and command), checks each against the group's ground truth (the hash of the
 * prefix through that slot, the same on every replica), and starts every snapshot it streams with that hash, which
 * the installing side checks against the ground truth at the snapshot's end index. So a gap, a double apply, a
 * divergent history or a snapshot that is not the decided prefix fails the run, also across crashes (which go
 * back to the durable copy, {@link #crash}) and chunked installs.
 *
 * <p>The machine is an {@link InMemoryMachine}, or (transactional runs) a machine over a process's versioned store,
 * which the simulator closes at a crash and opens again at the restart ({@link #reopen}): closing flushes it, so it
 * keeps everything it applied.
 */
final class PrefixCheckedMachine implements StateMachine {
    private StateMachine app;
    /** Index i: the hash of the group's applied prefix [0, i), as the first replica to apply slot i - 1 had it. */
    private final List<Long> truth;
    private final Function<String, RuntimeException> failure;
    private final String who;
    private long hash;
    private long durableHash;

    PrefixCheckedMachine(StateMachine app, List<Long> truth, Function<String, RuntimeException> failure, String who) {
        this.app = app;
        this.truth = truth;
        this.failure = failure;
        this.who = who;
        if (truth.isEmpty()) {
            truth.add(0L);
        }
    }

    @Override
    public String validate(byte[] command) {
        return app.validate(command);
    }

    @Override
    public byte[] apply(long slot, byte[] command) {
        try {
            return app.apply(slot, command);
        } finally {
            hash = (hash * 1_000_003L + slot) * 31 + (command == null ? -1 : Arrays.hashCode(command));
            if (truth.size() == slot + 1) {
                truth.add(hash);
            } else if (truth.size() < slot + 1 || truth.get((int) slot + 1) != hash) {
                throw failure.apply(who + "'s state machine applied a different history through slot " + slot);
            }
        }
    }

    @Override
    public byte[] query(byte[] query) {
        return app.query(query);
    }

    @Override
    public long appliedIndex() {
        return app.appliedIndex();
    }

    @Override
    public long flush() {
        long durable = app.flush();
        durableHash = hash;
        return durable;
    }

    /**
     * The process crashed: an in-memory machine goes back to what it flushed; a stored one is closed by the simulator,
     * which flushes it, so it keeps what it applied.
     */
    void crash() {
        if (app instanceof InMemoryMachine m) {
            m.crash();
            hash = durableHash;
        } else {
            durableHash = hash;
        }
    }

    /** The process restarted: {@code reopened} is the stored machine opened again over what the store kept. */
    void reopen(StateMachine reopened) {
        if (app instanceof InMemoryMachine) {
            throw new IllegalStateException("an in-memory machine lives on across a crash; only a stored one reopens");
        }
        app = reopened;
    }

    @Override
    public SnapshotSource openSnapshot(int maxChunkBytes) {
        SnapshotSource inner = app.openSnapshot(maxChunkBytes);
        long at = hash;
        return new SnapshotSource() {
            private boolean first = true;

            @Override
            public long endIndex() {
                return inner.endIndex();
            }

            @Override
            public byte[] nextChunk() {
                if (first) {
                    first = false;
                    return ByteBuffer.allocate(8).putLong(at).array();
                }
                return inner.nextChunk();
            }

            @Override
            public void close() {
                inner.close();
            }
        };
    }

    @Override
    public SnapshotSink beginInstall(long endIndex) {
        SnapshotSink inner = app.beginInstall(endIndex);
        return new SnapshotSink() {
            private Long at;

            @Override
            public void add(byte[] chunk) {
                if (at != null) {
                    inner.add(chunk);
                    return;
                }
                at = ByteBuffer.wrap(chunk).getLong();
                if (endIndex >= truth.size() || truth.get((int) endIndex) != at.longValue()) {
                    throw failure.apply(who + " installed a snapshot through slot " + (endIndex - 1)
                            + " that is not the decided prefix");
                }
            }

            @Override
            public void finish() {
                if (at == null) {
                    throw failure.apply(who + " finished installing a snapshot without its prefix hash");
                }
                inner.finish();
                hash = at;
                durableHash = at;
            }
        };
    }
}
