package io.gnomon.paxos.runtime;

import io.gnomon.paxos.Message;
import io.gnomon.paxos.Output;
import io.gnomon.paxos.PaxosConfig;
import io.gnomon.paxos.PaxosReplica;
import io.gnomon.truetime.MonotonicClock;
import io.gnomon.truetime.TrueTime;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The thin runtime around one {@link PaxosReplica}: feeds it messages, ticks and proposals with the monotonic
 * clock and a TrueTime reading, and performs each {@link Output} strictly in this order:
 * <ol>
 *   <li>write {@code toPersist} to the log; then send the leader's {@code Accept}s to its peers (see below);</li>
 *   <li>then make the writes durable (one sync);</li>
 *   <li>then send the other {@code messages} through the {@link Transport} (loopbacks too);</li>
 *   <li>then hand an {@code InstallSnapshot} effect to the effect callback, then {@code decided} entries above
 *   it, in slot order, to the apply callback, then the other effects.</li>
 * </ol>
 * This is the one place that enforces persist-before-send. If persisting throws, nothing of that output but its
 * early Accepts is sent or applied and the driver refuses every later input ({@link IllegalStateException}): the
 * core's memory is then ahead of its disk, and the process must restart and recover.
 *
 * <p>The one exception, {@link Output#sendsBeforeSync}: a leader's {@code Accept} to another replica leaves as soon as
 * its entries are written, before the sync, so the followers receive and sync while the leader syncs (etcd's
 * raft does the same: the leader appends to its own log in parallel with replication). Safe because an
 * {@code Accept} is the proposer's message, not an acceptor's vote: the leader's own vote is its loopback
 * {@code Accepted}, which still waits for the sync, so no entry is counted decided on an unsynced copy; the
 * ballot it carries was promised durably before any {@code Prepare} of it left; and a replica that crashes
 * before its sync restarts as a follower and leads again only in a higher ballot, so it never proposes a second
 * value in the ballot of the lost write (for the followers that accepted it, it is as if a leader had crashed
 * after sending). docs/paxos.md, "Group commit", has the argument; the simulator sends Accepts the same way and
 * loses unsynced writes on a crash. An Accept to a peer for which a message is already held until the sync waits
 * with it ({@link Output#sendsBeforeSync(Message, java.util.Set)}): the transport is FIFO per peer.
 *
 * <p>Single-threaded: {@link #onMessage}, {@link #onTick} and {@link #propose} must be called from one thread.
 * A recovered replica's first output re-delivers its snapshot and decided entries (see
 * {@link PaxosReplica#recover}), so the apply callback sees them again after a restart.
 *
 * <p>{@link #start} always goes through {@link PaxosReplica#recover}, also on an empty log: a new replica then
 * waits one lease duration before it promises anyone, which is conservative (it cannot have granted a lease
 * without a persisted promise) but keeps one start path.
 */
public final class ReplicaDriver implements AutoCloseable {
    private final PaxosReplica replica;
    private final GroupLog store;
    private final Transport transport;
    private final TrueTime trueTime;
    private final MonotonicClock clock;
    private final Consumer<Output.Decided> apply;
    private final Consumer<Output.Effect> effects;
    private boolean failed;
    private boolean batching;
    private boolean batchWrote;
    private final List<Pending> deferred = new ArrayList<>();
    /** Peers an AcceptSync, InstallSnapshot or Prepare is held for until the next sync: an early Accept waits too. */
    private final Set<Integer> peersWithHeldMessages = new HashSet<>();

    /** An output whose writes await the batch's sync, with the messages it holds until then. */
    private record Pending(Output out, List<Message> held) {
    }

    private ReplicaDriver(PaxosReplica replica, GroupLog store, Transport transport, TrueTime trueTime,
                          MonotonicClock clock, Consumer<Output.Decided> apply, Consumer<Output.Effect> effects) {
        this.replica = replica;
        this.store = Objects.requireNonNull(store);
        this.transport = Objects.requireNonNull(transport);
        this.trueTime = Objects.requireNonNull(trueTime);
        this.clock = Objects.requireNonNull(clock);
        this.apply = Objects.requireNonNull(apply);
        this.effects = Objects.requireNonNull(effects);
    }

    /**
     * Starts a replica from what {@code store} recovered: {@link PaxosReplica#recover} (which waits out any lease
     * it may have granted before a crash). On an empty log this is the state of a new member.
     */
    public static ReplicaDriver start(PaxosConfig config, DurableStateStore store, Transport transport,
                                      TrueTime trueTime, MonotonicClock clock, Consumer<Output.Decided> apply,
                                      Consumer<Output.Effect> effects) {
        PaxosReplica r = PaxosReplica.recover(config, store.recovered(), clock.nanoTime(), trueTime.now());
        return new ReplicaDriver(r, store, transport, trueTime, clock, apply, effects);
    }

    /**
     * Drives a core made elsewhere ({@code replica} must match what {@code log} holds): the simulator makes its
     * cores through a factory, new, joining or recovered, so that tests can substitute cores with test-only hooks.
     */
    public static ReplicaDriver of(PaxosReplica replica, GroupLog log, Transport transport, TrueTime trueTime,
                                   MonotonicClock clock, Consumer<Output.Decided> apply,
                                   Consumer<Output.Effect> effects) {
        return new ReplicaDriver(replica, log, transport, trueTime, clock, apply, effects);
    }

    /** Handles one message from a peer or a loopback. */
    public Output onMessage(Message m) {
        checkUsable();
        return perform(replica.step(m, clock.nanoTime(), trueTime.now()));
    }

    /** Timers: election, heartbeats and lease renewal, retransmission. */
    public Output onTick() {
        checkUsable();
        return perform(replica.tick(clock.nanoTime(), trueTime.now()));
    }

    /** Proposes values as one batch (leader only; otherwise the output carries a diagnostic). */
    public Output propose(List<byte[]> values) {
        checkUsable();
        return perform(replica.propose(values, clock.nanoTime(), trueTime.now()));
    }

    /** Proposes the next membership (one replica added or removed; leader only). */
    public Output proposeMembership(List<Integer> nextMembers) {
        checkUsable();
        return perform(replica.proposeMembership(nextMembers, clock.nanoTime(), trueTime.now()));
    }

    /** The application's snapshot through {@code lastIncludedSlot} (decided); the log below it is compacted. */
    public Output compact(long lastIncludedSlot) {
        checkUsable();
        return perform(replica.compact(lastIncludedSlot, clock.nanoTime(), trueTime.now()));
    }

    /** The core, for queries ({@code isLeader}, {@code decidedIndex}, ...). Do not feed it inputs directly. */
    public PaxosReplica replica() {
        return replica;
    }

    /**
     * Group commit across inputs: until {@link #endBatch}, each output's writes go to the log unsynced and its
     * messages, decided entries and effects wait; {@code endBatch} syncs once and then performs them all in
     * order. Every message still leaves after the sync that covers its output's writes, so persist-before-send
     * holds; a loop that handles many inputs per turn pays one sync per turn instead of one per input.
     */
    public void beginBatch() {
        checkUsable();
        batching = true;
        batchWrote = false;
    }

    /**
     * Syncs what the batch wrote (no sync if it wrote nothing), then sends, applies and reports every output of the
     * batch, in order.
     */
    public void endBatch() {
        BatchEnd end = endBatchUnsynced();
        if (end == null) {
            return;
        }
        if (end.needsSync()) {
            try {
                store.sync();
            } catch (RuntimeException e) {
                failed = true;
                throw e;
            }
        }
        end.deliver().run();
    }

    /**
     * What a batch leaves to do once its inputs are handled: sync the log if it wrote ({@code needsSync}), and only
     * then run {@code deliver}, which sends, applies and reports every output of the batch in order.
     */
    public record BatchEnd(boolean needsSync, Runnable deliver) {
    }

    /**
     * Ends the batch without syncing: null if it left nothing to deliver, else what the caller must do, in order
     * (sync if {@code needsSync}, then {@code deliver}). {@link #endBatch} does both at once; the simulator does
     * the sync as an event of its own, so that a crash can land between the batch's writes and its sync. Until
     * {@code deliver} has run the caller must feed the driver no input, as a loop blocked in its sync feeds none.
     */
    public BatchEnd endBatchUnsynced() {
        batching = false;
        peersWithHeldMessages.clear();
        if (deferred.isEmpty()) {
            return null;
        }
        List<Pending> outs = new ArrayList<>(deferred);
        deferred.clear();
        return new BatchEnd(batchWrote, () -> {
            for (Pending p : outs) {
                deliver(p.out(), p.held());
            }
        });
    }

    private Output perform(Output out) {
        List<Message> held = new ArrayList<>();
        try {
            store.write(out.toPersist());
            batchWrote |= !out.toPersist().isEmpty();
            for (Message m : out.messages()) {
                if (Output.sendsBeforeSync(m, peersWithHeldMessages)) {
                    transport.send(m.to(), m);
                } else {
                    held.add(m);
                    if (Output.holdsBackAccepts(m)) {
                        peersWithHeldMessages.add(m.to());
                    }
                }
            }
            if (batching) {
                deferred.add(new Pending(out, held));
                return out;
            }
            if (!out.toPersist().isEmpty()) {
                store.sync();
            }
        } catch (RuntimeException e) {
            failed = true;
            deferred.clear();
            peersWithHeldMessages.clear();
            throw e;
        }
        peersWithHeldMessages.clear();
        deliver(out, held);
        return out;
    }

    private void deliver(Output out, List<Message> held) {
        for (Message m : held) {
            transport.send(m.to(), m);
        }
        // A snapshot replaces the application state through its last slot, so it goes first: decided entries
        // after it build on it, and any at or below it are already in it (applying them after the restore would
        // be wiped; applying them again would be a double apply).
        long floor = Long.MIN_VALUE;
        for (Output.Effect e : out.effects()) {
            if (e instanceof Output.Effect.InstallSnapshot s) {
                effects.accept(e);
                floor = Math.max(floor, s.snapshot().endIndex());
            }
        }
        for (Output.Decided d : out.decided()) {
            if (d.slot() >= floor) {
                apply.accept(d);
            }
        }
        for (Output.Effect e : out.effects()) {
            if (!(e instanceof Output.Effect.InstallSnapshot)) {
                effects.accept(e);
            }
        }
    }

    private void checkUsable() {
        if (failed) {
            throw new IllegalStateException("replica " + replica.replicaId()
                    + ": a durable write failed; restart and recover from the log");
        }
    }

    /** Closes the store (and its log). */
    @Override
    public void close() {
        store.close();
    }
}
