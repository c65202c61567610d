package io.gnomon.paxos.runtime;

import io.gnomon.paxos.Message;
import io.gnomon.paxos.PaxosConfig;
import io.gnomon.paxos.PaxosLimits;
import io.gnomon.paxos.PaxosReplica;
import io.gnomon.paxos.PersistWrite;
import io.gnomon.truetime.testing.FakeTrueTime;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Several groups on one loop per process: three processes, each running one {@link GroupLoop} with a replica of
 * every group, one log per process shared by its groups, one network carrying (group, message) pairs. A turn syncs
 * once for every group that wrote in it, and no group delivers before that sync.
 */
class GroupLoopTest {
    private static final List<Integer> PROCESSES = List.of(1, 2, 3);
    private static final int GROUPS = 4;

    private record Envelope(long group, Message message) {
    }

    /** One process's log: every group's writes in one sequence, one sync for all. */
    private static final class SharedLog {
        final List<String> written = new ArrayList<>();
        int synced;
        final List<Set<Long>> syncs = new ArrayList<>();

        GroupLog view(long group) {
            return new GroupLog() {
                @Override
                public void write(List<PersistWrite> writes) {
                    writes.forEach(w -> written.add(group + ":" + w.getClass().getSimpleName()));
                }

                @Override
                public void sync() {
                    throw new AssertionError("the loop syncs, not the group");
                }

                @Override
                public void close() {
                }
            };
        }
    }

    private final FakeTrueTime trueTime = new FakeTrueTime(Instant.parse("2026-01-01T00:00:00Z"), Duration.ofMillis(1));
    private long monotonicNanos = 1_000_000_000L;
    private final Map<Integer, GroupLoop<String>> loops = new TreeMap<>();
    private final Map<Integer, SharedLog> logs = new TreeMap<>();
    private final ArrayDeque<Envelope> network = new ArrayDeque<>();
    private final List<String> heard = new ArrayList<>();

    GroupLoopTest() {
        for (int p : PROCESSES) {
            SharedLog log = new SharedLog();
            logs.put(p, log);
            GroupLoop<String> loop = new GroupLoop<>(groups -> {
                log.synced = log.written.size();
                log.syncs.add(groups);
            });
            for (long g = 1; g <= GROUPS; g++) {
                long group = g;
                PaxosConfig config = new PaxosConfig(p, PROCESSES, Duration.ofMillis(500).toNanos(),
                        Duration.ofMillis(100).toNanos(), Duration.ofMillis(100).toNanos(),
                        Duration.ofSeconds(2).toNanos(), PaxosLimits.DEFAULTS, 31 * g + p);
                PaxosReplica core = new PaxosReplica(config, monotonicNanos, trueTime.now());
                loop.add(group, GroupHost.of(core, config, log.view(group), (to, m) -> network.add(new Envelope(group, m)),
                        trueTime, () -> monotonicNanos, new GroupHostTest.Journal(), 100 * p + g,
                        new GroupHost.Options(Duration.ofMillis(2).toNanos(), 0, true),
                        (client, o) -> heard.add(client + " " + o.outcome())));
            }
            loops.put(p, loop);
        }
    }

    private void drain() {
        for (int n = 0; !network.isEmpty(); n++) {
            Envelope e = network.poll();
            GroupLoop<String> loop = loops.get(e.message().to());
            loop.beginTurn();
            assertThat(loop.onMessage(e.group(), e.message())).isTrue();
            loop.endTurn();
            assertThat(n).isLessThan(100_000);
        }
    }

    private void step(long millis) {
        monotonicNanos += Duration.ofMillis(millis).toNanos();
        trueTime.advance(Duration.ofMillis(millis));
        for (GroupLoop<String> loop : loops.values()) {
            loop.beginTurn();
            loop.tickDue(monotonicNanos);
            loop.endTurn();
        }
        drain();
    }

    /** Steps until every group has a leaseholder; returns each group's. */
    private Map<Long, Integer> awaitLeaseholders() {
        for (int i = 0; i < 400; i++) {
            Map<Long, Integer> holders = new TreeMap<>();
            for (int p : PROCESSES) {
                for (long g = 1; g <= GROUPS; g++) {
                    if (loops.get(p).group(g).leaseReadReady()) {
                        holders.put(g, p);
                    }
                }
            }
            if (holders.size() == GROUPS) {
                return holders;
            }
            step(20);
        }
        throw new AssertionError("not every group has a leaseholder after 8 s");
    }

    @Test
    void oneTurnSyncsOnceForEveryGroupThatWroteAndDeliversOnlyAfterIt() {
        Map<Long, Integer> holders = awaitLeaseholders();
        int p = holders.get(1L);
        GroupLoop<String> loop = loops.get(p);
        List<Long> led = holders.entrySet().stream().filter(e -> e.getValue() == p).map(Map.Entry::getKey).toList();
        SharedLog log = logs.get(p);
        int syncsBefore = log.syncs.size();

        loop.beginTurn();
        for (long g : led) {
            loop.append(g, ("in " + g).getBytes(StandardCharsets.UTF_8), "group " + g);
        }
        GroupLoop.TurnEnd end = loop.endTurnUnsynced();
        assertThat(end.groupsThatWrote()).containsExactlyInAnyOrderElementsOf(led);
        assertThat(network).as("only the leaders' Accepts left before the sync")
                .allMatch(e -> e.message() instanceof Message.Accept && e.message().to() != p);
        log.synced = log.written.size();
        log.syncs.add(end.groupsThatWrote());
        end.deliver().run();
        assertThat(log.syncs).hasSize(syncsBefore + 1);
        drain();
        assertThat(heard).containsExactlyInAnyOrderElementsOf(led.stream().map(g -> "group " + g + " APPLIED").toList());
    }

    /** A hook recording what it saw, with a timer the test sets. */
    private static final class RecordingHook implements GroupLoop.TurnHook {
        final List<String> calls = new ArrayList<>();
        final GroupHost<String> host;
        long due = Long.MAX_VALUE;
        long dueAfterDeliver = Long.MAX_VALUE;
        /** Its precise timer (also counted in {@link #due} by whoever sets both). */
        long preciseDue = Long.MAX_VALUE;
        byte[] appendOnce;

        RecordingHook(GroupHost<String> host) {
            this.host = host;
        }

        @Override
        public void beforeEnd() {
            calls.add("beforeEnd logEnd=" + host.replica().logEnd());
            if (appendOnce != null) {
                host.append(appendOnce, "from the hook");
                appendOnce = null;
            }
        }

        @Override
        public void afterDeliver() {
            calls.add("afterDeliver");
            due = dueAfterDeliver;
        }

        @Override
        public long nextTickNanos() {
            return due;
        }

        @Override
        public long nextPreciseTickNanos() {
            return preciseDue;
        }
    }

    @Test
    void aHookActsBeforeItsGroupEndsEachTurnAndItsTimerIsTheGroups() {
        Map<Long, Integer> holders = awaitLeaseholders();
        int p = holders.get(1L);
        GroupLoop<String> loop = loops.get(p);
        RecordingHook hook = new RecordingHook(loop.group(1L));
        hook.due = monotonicNanos + Duration.ofMillis(5).toNanos(); // before any heartbeat (100 ms)
        loop.hook(1L, hook);
        assertThat(loop.nextTickNanos()).isLessThanOrEqualTo(hook.due);
        assertThatThrownBy(() -> loop.hook(1L, hook)).hasMessage("group 1 has a hook already");
        assertThatThrownBy(() -> loop.hook(99L, hook)).hasMessage("group 99 is not on this loop");

        // Its timer makes the loop turn the group; what it appends before the end is proposed in that turn.
        long logEnd = loop.group(1L).replica().logEnd();
        hook.appendOnce = "hooked".getBytes(StandardCharsets.UTF_8);
        hook.dueAfterDeliver = monotonicNanos + Duration.ofMillis(7).toNanos();
        monotonicNanos += Duration.ofMillis(5).toNanos();
        loop.beginTurn();
        loop.tickDue(monotonicNanos);
        hook.due = Long.MAX_VALUE; // asked again as the turn ends: no timer until the delivery sets one
        loop.endTurn();
        assertThat(loop.group(1L).replica().logEnd()).as("proposed in the turn the hook appended in")
                .isEqualTo(logEnd + 1);
        assertThat(hook.calls).containsExactly("beforeEnd logEnd=" + logEnd, "afterDeliver");
        assertThat(loop.nextTickNanos()).as("the delivery moved the hook's timer, and the loop's")
                .isLessThanOrEqualTo(hook.dueAfterDeliver);
        drain();
        assertThat(heard).contains("from the hook APPLIED");
    }

    @Test
    void aHooksPreciseTimerIsKeptApartSoALoopThatRoundsToItsTickStillActsOnIt() {
        Map<Long, Integer> holders = awaitLeaseholders();
        GroupLoop<String> loop = loops.get(holders.get(2L));
        RecordingHook hook = new RecordingHook(loop.group(2L));
        assertThat(loop.nextHookNanos()).as("no hook yet").isEqualTo(Long.MAX_VALUE);
        hook.due = monotonicNanos + Duration.ofMillis(2).toNanos();
        hook.preciseDue = hook.due;
        loop.hook(2L, hook);
        assertThat(loop.nextHookNanos()).isEqualTo(hook.preciseDue);
        long ticks = loop.ticks();
        // not yet due: a turn touches nothing
        loop.beginTurn();
        loop.touchHooksDue(monotonicNanos + Duration.ofMillis(1).toNanos());
        loop.endTurn();
        assertThat(hook.calls).isEmpty();
        // due: the group is touched, so the hook acts before the group ends the turn, and its core is not ticked
        monotonicNanos += Duration.ofMillis(2).toNanos();
        hook.due = Long.MAX_VALUE; // what it says when asked again at the end of the turn
        hook.preciseDue = Long.MAX_VALUE;
        loop.beginTurn();
        loop.touchHooksDue(monotonicNanos);
        loop.endTurn();
        assertThat(hook.calls).first().asString().startsWith("beforeEnd");
        assertThat(loop.ticks()).isEqualTo(ticks);
        assertThat(loop.nextHookNanos()).as("asked again: none").isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void idleGroupsAreTickedOnlyWhenTheirTimersAreDue() {
        Map<Long, Integer> holders = awaitLeaseholders();
        long before = loops.values().stream().mapToLong(GroupLoop::ticks).sum();
        for (int i = 0; i < 100; i++) {
            step(20); // 2 s: 20 heartbeat intervals of 100 ms, 100 steps that once ticked every group
        }
        long ticks = loops.values().stream().mapToLong(GroupLoop::ticks).sum() - before;
        assertThat(ticks).as("each leader once per heartbeat, followers never (their leader's Decides hold off "
                + "their election timers)").isLessThanOrEqualTo(GROUPS * 21L);
        for (int p : PROCESSES) {
            for (long g = 1; g <= GROUPS; g++) {
                assertThat(loops.get(p).group(g).replica().leaderHint()).isEqualTo(holders.get(g));
            }
        }
        assertThat(awaitLeaseholders()).as("the same leaders hold their leases").isEqualTo(holders);
    }

    @Test
    void aTurnTouchesOnlyTheGroupsItsInputsReach() {
        awaitLeaseholders();
        SharedLog log = logs.get(2);
        GroupLoop<String> loop = loops.get(2);
        int before = log.syncs.size();
        loop.beginTurn();
        loop.with(3, h -> h.read(new byte[0]));
        loop.endTurn();
        assertThat(log.syncs).as("a read writes nothing, so no sync").hasSize(before);
        assertThat(loop.batchWaiting()).isFalse();
    }

    @Test
    void aFailedSyncDeliversNothingAndTheLoopTakesNoMoreInput() {
        Map<Long, Integer> holders = awaitLeaseholders();
        int p = holders.get(1L);
        GroupLoop<String> failing = new GroupLoop<>(groups -> {
            throw new IllegalStateException("disk full");
        });
        failing.add(1, loops.get(p).group(1));
        failing.beginTurn();
        failing.append(1, "x".getBytes(StandardCharsets.UTF_8), "c");
        assertThatThrownBy(failing::endTurn).hasMessage("disk full");
        assertThat(heard).as("no client hears of a turn whose sync failed").isEmpty();
        assertThatThrownBy(failing::beginTurn).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("restart and recover");
    }

    @Test
    void inputsOutsideATurnAndUnknownGroupsAreRefused() {
        GroupLoop<String> loop = loops.get(1);
        assertThatThrownBy(() -> loop.append(1, new byte[1], "c")).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("inside a turn");
        loop.beginTurn();
        assertThat(loop.append(99, new byte[1], "c")).isFalse();
        assertThatThrownBy(loop::beginTurn).isInstanceOf(IllegalStateException.class);
        loop.endTurn();
        assertThatThrownBy(() -> loop.add(1, loop.group(2))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("group 1 is already on this loop");
    }
}
