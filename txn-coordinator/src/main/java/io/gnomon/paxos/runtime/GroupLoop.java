package io.gnomon.paxos.runtime;

import io.gnomon.paxos.Message;
import io.gnomon.paxos.PaxosReplica;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * The groups one loop thread drives, and the turn that spans them: a turn hands each input to its group's {@link
 * GroupHost}, then ends every group the turn touched, syncs once for all of them, and only then lets each deliver
 * (send what waited for the sync, apply, answer clients). One sync per turn for every group that wrote in it,
 * whatever the number of groups (docs/paxos.md, "Many groups per process").
 *
 * <p>A group costs a turn nothing unless an input reaches it, it holds appends gathered for a batch, or one of its
 * timers is due: untouched groups are not begun or ended, and {@link #tickDue} ticks only the groups whose next
 * timer ({@link GroupHost#nextTickNanos}: the core's, {@link PaxosReplica#nextTickNanos}, or a snapshot transfer's)
 * has come, asked again after every turn that touched the group.
 * An idle follower's election timer keeps moving ahead of it with each heartbeat it receives, so it is never
 * ticked; an idle leader is ticked once per heartbeat interval.
 *
 * <p>Pure in the project's sense, like {@link GroupHost}: the sync goes through the {@link Syncer} it is given.
 * Each of a replica server's loop threads drives one over its shard of the groups; so does each of the
 * simulator's processes.
 * Single-threaded.
 *
 * @param <C> what identifies a waiting client (see {@link GroupHost})
 */
public final class GroupLoop<C> {
    /**
     * Makes the writes of a turn durable: every group in {@code groupsThatWrote} has written since the last sync.
     * Over one shared log this is one sync; over a log per group, one per group that wrote.
     */
    @FunctionalInterface
    public interface Syncer {
        void sync(Set<Long> groupsThatWrote);
    }

    /**
     * A companion of one group's host driven by the same turns (a transaction host, {@code io.gnomon.txn.TxnHost}):
     * it acts in every turn that touches the group, before the group ends it, and has timers of its own, which
     * count as the group's. Called on the loop's thread only.
     */
    public interface TurnHook {
        /** The group's turn is about to end: its inputs are in; the hook may still give the group host inputs. */
        void beforeEnd();

        /** The group delivered what the turn's sync released (sends, applied entries, client outcomes). */
        default void afterDeliver() {
        }

        /** The hook's next timer (monotonic nanos, the clock the hosts were given); {@code Long.MAX_VALUE}: none. */
        long nextTickNanos();

        /**
         * The hook's next timer that latency depends on (a commit-wait's end), which a loop that rounds timers up to
         * its tick keeps to the nanosecond ({@link GroupLoop#nextHookNanos}); {@code Long.MAX_VALUE}: none. Also
         * counted in {@link #nextTickNanos}.
         */
        default long nextPreciseTickNanos() {
            return Long.MAX_VALUE;
        }
    }

    /** What a turn leaves to do, in order: sync the groups that wrote (if any), then deliver every group's outputs. */
    public record TurnEnd(Set<Long> groupsThatWrote, Runnable deliver) {
        public boolean needsSync() {
            return !groupsThatWrote.isEmpty();
        }
    }

    private final Syncer syncer;
    private final Map<Long, GroupHost<C>> groups = new HashMap<>();
    private final Map<Long, TurnHook> hooks = new HashMap<>();
    /** Each group's next timer (monotonic nanos), and the same ordered by time: what {@link #tickDue} looks at. */
    private final Map<Long, Long> dueAt = new HashMap<>();
    private final TreeSet<Due> timers = new TreeSet<>();
    /**
     * Hooks' own timers, apart: a loop that rounds group timers up to its tick (the server's) still acts on these at
     * their time ({@link #nextHookNanos}, {@link #touchHooksDue}), since a commit-wait's end is commit latency.
     */
    private final Map<Long, Long> hookDueAt = new HashMap<>();
    private final TreeSet<Due> hookTimers = new TreeSet<>();
    private long ticks;
    /** Groups begun in this turn, in the order they were first touched (their outputs deliver in that order). */
    private final Set<Long> touched = new LinkedHashSet<>();
    /** Groups holding appends gathered for a batch: ended every turn until they have proposed them. */
    private final Set<Long> batching = new LinkedHashSet<>();
    private boolean inTurn;
    /** A sync failed: the groups' memory is ahead of their disk, so this loop takes no more input. */
    private RuntimeException syncFailure;

    public GroupLoop(Syncer syncer) {
        this.syncer = Objects.requireNonNull(syncer);
    }

    /** Adds a group this loop drives; its id must be new here. Outside a turn. */
    public void add(long groupId, GroupHost<C> host) {
        if (inTurn) {
            throw new IllegalStateException("groups are added between turns");
        }
        if (groups.putIfAbsent(groupId, Objects.requireNonNull(host)) != null) {
            throw new IllegalArgumentException("group " + groupId + " is already on this loop");
        }
        schedule(groupId, host);
    }

    /**
     * Attaches {@code hook} to a group this loop drives (one hook per group): from now on every turn that touches the
     * group calls its {@link TurnHook#beforeEnd} before the group ends the turn and its {@link TurnHook#afterDeliver}
     * after the group delivered, and the group's timer is the earlier of its host's and the hook's (a group due by
     * its hook's timer is ticked as any due group: an early core tick only checks the core's own timers). Outside a
     * turn.
     */
    public void hook(long groupId, TurnHook hook) {
        if (inTurn) {
            throw new IllegalStateException("hooks are attached between turns");
        }
        GroupHost<C> host = groups.get(groupId);
        if (host == null) {
            throw new IllegalArgumentException("group " + groupId + " is not on this loop");
        }
        if (hooks.putIfAbsent(groupId, Objects.requireNonNull(hook)) != null) {
            throw new IllegalArgumentException("group " + groupId + " has a hook already");
        }
        schedule(groupId, host);
    }

    /** The group's host, or null if this loop does not drive {@code groupId}. */
    public GroupHost<C> group(long groupId) {
        return groups.get(groupId);
    }

    public Set<Long> groupIds() {
        return groups.keySet();
    }

    /** Starts a turn. */
    public void beginTurn() {
        if (syncFailure != null) {
            throw new IllegalStateException("a sync of this loop's log failed (" + syncFailure.getMessage()
                    + "); restart and recover from the log", syncFailure);
        }
        if (inTurn) {
            throw new IllegalStateException("a turn is already open");
        }
        inTurn = true;
        touched.clear();
    }

    /** A message for {@code groupId}; false if this loop does not drive that group (the message is dropped). */
    public boolean onMessage(long groupId, Message m) {
        GroupHost<C> h = touch(groupId);
        if (h == null) {
            return false;
        }
        h.onMessage(m);
        return true;
    }

    /** A client's append to {@code groupId} (validated); false if this loop does not drive that group. */
    public boolean append(long groupId, byte[] command, C client) {
        GroupHost<C> h = touch(groupId);
        if (h == null) {
            return false;
        }
        h.append(command, client);
        if (h.batchWaiting()) {
            batching.add(groupId);
        }
        return true;
    }

    /** Runs {@code input} on {@code groupId}'s host inside this turn; false if this loop does not drive it. */
    public boolean with(long groupId, Consumer<GroupHost<C>> input) {
        GroupHost<C> h = touch(groupId);
        if (h == null) {
            return false;
        }
        input.accept(h);
        if (h.batchWaiting()) {
            batching.add(groupId);
        }
        return true;
    }

    /**
     * Ticks every group (election, heartbeats, lease renewal) whatever its timers: a process's first turn after it
     * starts. The number of groups whose clock did not answer.
     */
    public int tickAll() {
        int clockless = 0;
        for (long id : groups.keySet()) {
            if (!tick(id)) {
                clockless++;
            }
        }
        return clockless;
    }

    /**
     * Ticks the groups whose next timer is due at {@code nowNanos} (monotonic, the clock the hosts were given), and
     * no other; the number whose clock did not answer. A group whose clock did not answer is ticked again at the
     * next call, its timer being still due.
     */
    public int tickDue(long nowNanos) {
        int clockless = 0;
        List<Long> due = new ArrayList<>();
        for (Due d : timers) {
            if (d.at() - nowNanos > 0) {
                break;
            }
            due.add(d.group());
        }
        for (long id : due) {
            if (!tick(id)) {
                clockless++;
            }
        }
        return clockless;
    }

    /** The earliest next timer of this loop's groups (monotonic nanos); {@code Long.MAX_VALUE} without groups. */
    public long nextTickNanos() {
        return timers.isEmpty() ? Long.MAX_VALUE : timers.first().at();
    }

    /** Group ticks so far, for tests and statistics: an idle loop ticks only the groups whose timers are due. */
    public long ticks() {
        return ticks;
    }

    private boolean tick(long groupId) {
        ticks++;
        return touch(groupId).onTick();
    }

    /** A group's next timer, read from its core; asked again whenever a turn touched the group. */
    private void schedule(long groupId, GroupHost<C> host) {
        long at = host.nextTickNanos();
        TurnHook hook = hooks.get(groupId);
        if (hook != null) {
            long hookAt = hook.nextTickNanos();
            if (hookAt - at < 0) {
                at = hookAt;
            }
            long preciseAt = hook.nextPreciseTickNanos();
            Long oldHook = hookDueAt.put(groupId, preciseAt);
            if (oldHook == null || oldHook != preciseAt) {
                if (oldHook != null) {
                    hookTimers.remove(new Due(oldHook, groupId));
                }
                if (preciseAt != Long.MAX_VALUE) {
                    hookTimers.add(new Due(preciseAt, groupId));
                }
            }
        }
        Long old = dueAt.put(groupId, at);
        if (old != null) {
            if (old == at) {
                return;
            }
            timers.remove(new Due(old, groupId));
        }
        timers.add(new Due(at, groupId));
    }

    /** One group's next timer, in the order of {@link #timers}: by time (monotonic, so compared by difference). */
    private record Due(long at, long group) implements Comparable<Due> {
        @Override
        public int compareTo(Due o) {
            long d = at - o.at;
            return d != 0 ? (d < 0 ? -1 : 1) : Long.compare(group, o.group);
        }
    }

    /** The earliest hook's precise timer ({@link TurnHook#nextPreciseTickNanos}); {@code Long.MAX_VALUE}: none. */
    public long nextHookNanos() {
        return hookTimers.isEmpty() ? Long.MAX_VALUE : hookTimers.first().at();
    }

    /**
     * Inside a turn: touches every group whose hook's precise timer is due at {@code nowNanos}, without ticking its core,
     * so the hook acts in this turn ({@link TurnHook#beforeEnd}) and its timer is asked again.
     */
    public void touchHooksDue(long nowNanos) {
        List<Long> due = new ArrayList<>();
        for (Due d : hookTimers) {
            if (d.at() - nowNanos > 0) {
                break;
            }
            due.add(d.group());
        }
        for (long id : due) {
            touch(id);
        }
    }

    /** Whether some group holds appends gathered for a batch; then {@link #batchDeadlineNanos} says when it is due. */
    public boolean batchWaiting() {
        return !batching.isEmpty();
    }

    /** The earliest deadline of the gathered batches (monotonic nanos); meaningful if {@link #batchWaiting}. */
    public long batchDeadlineNanos() {
        long earliest = 0;
        boolean first = true;
        for (long id : batching) {
            long d = groups.get(id).batchDeadlineNanos();
            if (first || d - earliest < 0) {
                earliest = d;
                first = false;
            }
        }
        return earliest;
    }

    /**
     * Ends the turn without its sync: every group touched, and every group holding a batch, ends its turn (proposing
     * what is due, compacting what is due); null when nothing is left to deliver. The caller syncs {@code
     * groupsThatWrote} if any and then runs {@code deliver}, feeding this loop no input in between.
     */
    public TurnEnd endTurnUnsynced() {
        if (!inTurn) {
            throw new IllegalStateException("no turn is open");
        }
        for (long id : batching) {
            touch(id);
        }
        inTurn = false;
        Set<Long> wrote = new LinkedHashSet<>();
        List<Runnable> delivers = new ArrayList<>();
        for (long id : touched) {
            GroupHost<C> h = groups.get(id);
            TurnHook hook = hooks.get(id);
            if (hook != null) {
                hook.beforeEnd();
            }
            ReplicaDriver.BatchEnd end = h.endTurnUnsynced();
            schedule(id, h);
            if (!h.batchWaiting()) {
                batching.remove(id);
            }
            if (end != null) {
                if (end.needsSync()) {
                    wrote.add(id);
                }
                if (hook == null) {
                    delivers.add(end.deliver());
                } else {
                    Runnable deliver = end.deliver();
                    delivers.add(() -> {
                        deliver.run();
                        hook.afterDeliver();
                        schedule(id, h); // what was delivered may move the hook's timer (decided entries to feed)
                    });
                }
            }
        }
        touched.clear();
        if (delivers.isEmpty()) {
            return null;
        }
        return new TurnEnd(Set.copyOf(wrote), () -> delivers.forEach(Runnable::run));
    }

    /**
     * Ends the turn: syncs once for every group that wrote, then delivers every group's outputs in order. If the sync
     * throws, nothing of the turn is delivered and the loop refuses every later turn: restart and recover.
     */
    public void endTurn() {
        TurnEnd end = endTurnUnsynced();
        if (end == null) {
            return;
        }
        if (end.needsSync()) {
            try {
                syncer.sync(end.groupsThatWrote());
            } catch (RuntimeException e) {
                syncFailure = e;
                throw e;
            }
        }
        end.deliver().run();
    }

    private GroupHost<C> touch(long groupId) {
        if (!inTurn) {
            throw new IllegalStateException("inputs are handed over inside a turn (beginTurn ... endTurn)");
        }
        GroupHost<C> h = groups.get(groupId);
        if (h != null && touched.add(groupId)) {
            h.beginTurn();
        }
        return h;
    }
}
