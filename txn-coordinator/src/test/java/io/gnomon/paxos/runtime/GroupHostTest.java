package io.gnomon.paxos.runtime;

import io.gnomon.paxos.DurableState;
import io.gnomon.paxos.Message;
import io.gnomon.paxos.PaxosConfig;
import io.gnomon.paxos.PaxosLimits;
import io.gnomon.paxos.PaxosReplica;
import io.gnomon.paxos.PersistWrite;
import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.testing.FakeTrueTime;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The per-group host on its own, three of them over in-memory logs and a queue for a network, driven turn by turn
 * as ReplicaServer's loop and the simulator drive it: what each client hears and when, lease reads,
 * compaction, and the end of a turn without its sync.
 */
class GroupHostTest {
    private static final List<Integer> MEMBERS = List.of(1, 2, 3);

    /** An application that keeps the commands it applied and answers a read with them, joined by commas. */
    static final class Journal extends InMemoryMachine {
        final List<String> applied = new ArrayList<>();

        @Override
        public String validate(byte[] command) {
            return new String(command, StandardCharsets.UTF_8).equals("bad") ? "bad is refused" : null;
        }

        @Override
        protected byte[] applyCommand(long slot, byte[] command) {
            String c = new String(command, StandardCharsets.UTF_8);
            applied.add(c);
            return ("applied " + c + " at " + slot).getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public byte[] query(byte[] query) {
            return String.join(",", applied).getBytes(StandardCharsets.UTF_8);
        }

        @Override
        protected byte[] encodeState() {
            return String.join(",", applied).getBytes(StandardCharsets.UTF_8);
        }

        @Override
        protected void decodeState(byte[] state) {
            applied.clear();
            String s = new String(state, StandardCharsets.UTF_8);
            if (!s.isEmpty()) {
                applied.addAll(List.of(s.split(",")));
            }
        }
    }

    /** A log in memory: what was written, and how much of it a sync covered. */
    static final class MemoryLog implements GroupLog {
        final List<PersistWrite> written = new ArrayList<>();
        int synced;
        int syncs;

        @Override
        public void write(List<PersistWrite> writes) {
            written.addAll(writes);
        }

        @Override
        public void sync() {
            synced = written.size();
            syncs++;
        }

        @Override
        public void close() {
        }
    }

    /** Three hosts, one clock, a FIFO network that drops what an isolated replica sends or should receive. */
    static final class Group {
        final FakeTrueTime trueTime = new FakeTrueTime(Instant.parse("2026-01-01T00:00:00Z"), Duration.ofMillis(1));
        long monotonicNanos = 1_000_000_000L;
        final Map<Integer, GroupHost<String>> hosts = new TreeMap<>();
        final Map<Integer, MemoryLog> logs = new TreeMap<>();
        final Map<Integer, Journal> machines = new TreeMap<>();
        final Map<Integer, PaxosConfig> configs = new TreeMap<>();
        final long compactEveryEntries;
        final ArrayDeque<Message> network = new ArrayDeque<>();
        final Set<Integer> isolated = new HashSet<>();
        /** Snapshot chunks delivered, host to host. */
        int chunksDelivered;
        /** "client: OUTCOME detail-or-result", in the order the clients heard. */
        final List<String> heard = new ArrayList<>();

        Group(long compactEveryEntries) {
            this.compactEveryEntries = compactEveryEntries;
            for (int id : MEMBERS) {
                PaxosConfig config = new PaxosConfig(id, MEMBERS, Duration.ofMillis(500).toNanos(),
                        Duration.ofMillis(100).toNanos(), Duration.ofMillis(100).toNanos(),
                        Duration.ofSeconds(2).toNanos(), PaxosLimits.DEFAULTS, 7 + id);
                configs.put(id, config);
                machines.put(id, new Journal());
                host(id, new PaxosReplica(config, monotonicNanos, trueTime.now()), new MemoryLog());
            }
        }

        private void host(int id, PaxosReplica core, MemoryLog log) {
            logs.put(id, log);
            hosts.put(id, GroupHost.of(core, configs.get(id), log, (to, m) -> network.add(m), trueTime,
                    () -> monotonicNanos, machines.get(id), 1000 + id,
                    new GroupHost.Options(Duration.ofMillis(2).toNanos(), compactEveryEntries, true, 3),
                    (client, o) -> heard.add(client + ": " + o.outcome() + " "
                            + (o.result() != null ? new String(o.result(), StandardCharsets.UTF_8) : o.detail()))));
        }

        /**
         * Replica {@code id}'s process crashes and restarts: its log keeps what was synced, its machine what it
         * flushed; the core recovers from the log and the host starts over both.
         */
        void crashAndRestart(int id) {
            MemoryLog old = logs.get(id);
            MemoryLog log = new MemoryLog();
            DurableState disk = new DurableState(MEMBERS);
            for (PersistWrite w : old.written.subList(0, old.synced)) {
                disk.apply(w);
                log.written.add(w);
            }
            log.synced = log.written.size();
            machines.get(id).crash();
            host(id, PaxosReplica.recover(configs.get(id), disk.toRecovered(), monotonicNanos, trueTime.now()), log);
        }

        void turn(int id, Consumer<GroupHost<String>> inputs) {
            GroupHost<String> h = hosts.get(id);
            h.beginTurn();
            inputs.accept(h);
            h.endTurn();
        }

        void drain() {
            for (int n = 0; !network.isEmpty(); n++) {
                Message m = network.poll();
                if (!isolated.contains(m.from()) && !isolated.contains(m.to())) {
                    chunksDelivered += m instanceof Message.SnapshotChunk ? 1 : 0;
                    turn(m.to(), h -> h.onMessage(m));
                }
                assertThat(n).as("the network quiesces").isLessThan(100_000);
            }
        }

        void step(long millis) {
            monotonicNanos += Duration.ofMillis(millis).toNanos();
            trueTime.advance(Duration.ofMillis(millis));
            for (int id : MEMBERS) {
                turn(id, GroupHost::onTick);
            }
            drain();
        }

        /** Steps until a replica leads with a lease it may serve reads on; returns it. */
        int awaitLeaseholder() {
            for (int i = 0; i < 400; i++) {
                for (int id : MEMBERS) {
                    if (!isolated.contains(id) && hosts.get(id).leaseReadReady()) {
                        return id;
                    }
                }
                step(20);
            }
            throw new AssertionError("no leaseholder after 8 s");
        }

        int follower(int leader) {
            return MEMBERS.stream().filter(id -> id != leader).findFirst().orElseThrow();
        }
    }

    @Test
    void anAppendIsAcknowledgedOnlyOnceDecidedAndAppliedAndEveryReplicaAppliesIt() {
        Group g = new Group(0);
        int leader = g.awaitLeaseholder();
        g.turn(leader, h -> {
            h.append("a".getBytes(StandardCharsets.UTF_8), "c1");
            h.append("b".getBytes(StandardCharsets.UTF_8), "c2");
        });
        assertThat(g.heard).as("nothing decided before the followers answered").isEmpty();
        g.drain();
        assertThat(g.heard).hasSize(2);
        assertThat(g.heard.get(0)).startsWith("c1: APPLIED applied a at ");
        assertThat(g.heard.get(1)).startsWith("c2: APPLIED applied b at ");
        g.step(200); // followers learn the decision with the next Accept or heartbeat
        for (int id : MEMBERS) {
            assertThat(g.machines.get(id).applied).as("replica %d", id).containsExactly("a", "b");
        }
    }

    @Test
    void aFollowerRefusesAppendsAtOnceNamingTheLeader() {
        Group g = new Group(0);
        int leader = g.awaitLeaseholder();
        int follower = g.follower(leader);
        g.turn(follower, h -> h.append("x".getBytes(StandardCharsets.UTF_8), "c"));
        assertThat(g.heard).containsExactly("c: NOT_APPENDED replica " + follower + " does not lead");
        assertThat(g.hosts.get(follower).read(new byte[0]).leaderHint()).isEqualTo(leader);
    }

    @Test
    void commandsTheMachineOrTheSizeLimitRefusesAreNamedBeforeTheyReachTheLoop() {
        Group g = new Group(0);
        assertThat(g.hosts.get(1).validate("bad".getBytes(StandardCharsets.UTF_8))).isEqualTo("bad is refused");
        byte[] big = new byte[PaxosLimits.DEFAULTS.maxValueBytes()];
        assertThat(g.hosts.get(1).validate(big)).contains("exceeds the limit of "
                + (PaxosLimits.DEFAULTS.maxValueBytes() - GroupHost.TAG_BYTES));
        assertThat(g.hosts.get(1).validate(new byte[PaxosLimits.DEFAULTS.maxValueBytes() - GroupHost.TAG_BYTES]))
                .isNull();
    }

    @Test
    void aTurnThatWroteDeliversNothingUntilItsSyncIsDone() {
        Group g = new Group(0);
        int leader = g.awaitLeaseholder();
        int follower = g.follower(leader);
        GroupHost<String> h = g.hosts.get(leader);
        h.beginTurn();
        h.append("a".getBytes(StandardCharsets.UTF_8), "c1");
        ReplicaDriver.BatchEnd end = h.endTurnUnsynced();
        assertThat(end).isNotNull();
        assertThat(end.needsSync()).as("the proposal wrote the leader's own copy").isTrue();
        int sent = g.network.size();
        // The followers' Accepts left before the sync; the leader's own vote (a loopback) waits for it.
        assertThat(g.network).anyMatch(m -> m instanceof Message.Accept && m.to() == follower);
        assertThat(g.network).noneMatch(m -> m.to() == leader);
        MemoryLog log = g.logs.get(leader);
        assertThat(log.written.size()).isGreaterThan(log.synced);
        log.sync();
        end.deliver().run();
        assertThat(g.network.size()).as("the held loopback went out after the sync").isGreaterThan(sent);
        g.drain();
        assertThat(g.heard).singleElement().asString().startsWith("c1: APPLIED");
    }

    @Test
    void aTurnThatWroteNothingNeedsNoSync() {
        Group g = new Group(0);
        int leader = g.awaitLeaseholder();
        MemoryLog log = g.logs.get(leader);
        int syncs = log.syncs;
        g.turn(leader, h -> h.read(new byte[0]));
        assertThat(log.syncs).isEqualTo(syncs);
    }

    @Test
    void leaseReadsAreServedOnlyByALeaderWithAValidLeaseAndAClock() {
        Group g = new Group(0);
        int leader = g.awaitLeaseholder();
        g.turn(leader, h -> h.append("a".getBytes(StandardCharsets.UTF_8), "c1"));
        g.drain();
        GroupHost.ReadOutcome r = g.hosts.get(leader).read(new byte[0]);
        assertThat(r.served()).isTrue();
        assertThat(new String(r.result(), StandardCharsets.UTF_8)).isEqualTo("a");

        int follower = g.follower(leader);
        assertThat(g.hosts.get(follower).read(new byte[0]).refusal())
                .isEqualTo("replica " + follower + " does not lead");

        g.trueTime.setStatus(ClockStatus.UNSYNCHRONIZED);
        assertThat(g.hosts.get(leader).read(new byte[0]).refusal())
                .isEqualTo("replica " + leader + " leads without a valid lease");
        g.trueTime.setStatus(ClockStatus.SYNCHRONIZED);

        g.isolated.add(leader); // its lease runs out: no renewal reaches the others
        g.monotonicNanos += Duration.ofSeconds(3).toNanos();
        g.trueTime.advance(Duration.ofSeconds(3));
        assertThat(g.hosts.get(leader).read(new byte[0]).refusal())
                .isEqualTo("replica " + leader + " leads without a valid lease");
    }

    @Test
    void aLeaderThatStepsDownAfterProposingAnswersUnknown() {
        Group g = new Group(0);
        int old = g.awaitLeaseholder();
        g.isolated.add(old);
        g.turn(old, h -> h.append("lost?".getBytes(StandardCharsets.UTF_8), "c1"));
        g.network.clear(); // its Accepts never arrive
        int next = g.awaitLeaseholder(); // the others elect once the old lease has run out
        assertThat(next).isNotEqualTo(old);
        g.isolated.clear();
        g.step(200); // the old leader hears of the higher ballot
        assertThat(g.heard).anyMatch(s -> s.startsWith("c1: UNKNOWN leadership lost after proposing"));
        assertThat(g.hosts.get(old).replica().isLeader()).isFalse();
    }

    @Test
    void theHostCompactsItsLogEverySoManyAppliedEntries() {
        Group g = new Group(4);
        int leader = g.awaitLeaseholder();
        for (int i = 0; i < 10; i++) {
            String c = "v" + i;
            g.turn(leader, h -> h.append(c.getBytes(StandardCharsets.UTF_8), c));
            g.drain();
        }
        assertThat(g.heard).hasSize(10).allMatch(s -> s.contains("APPLIED"));
        assertThat(g.hosts.get(leader).replica().compactedIndex()).as("compacted up to an applied slot")
                .isGreaterThanOrEqualTo(4);
        assertThat(g.logs.get(leader).written).anyMatch(w -> w.getClass().getSimpleName().contains("Snapshot"));
    }

    @Test
    void aRestartedHostGivesItsMachineOnlyTheSlotsItLacksAndALaggardCatchesUpFromChunks() {
        Group g = new Group(4);
        int leader = g.awaitLeaseholder();
        int laggard = g.follower(leader);
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            String c = "v" + i;
            expected.add(c);
            g.turn(leader, h -> h.append(c.getBytes(StandardCharsets.UTF_8), c));
            g.drain();
        }
        g.isolated.add(laggard);
        for (int i = 10; i < 30; i++) {
            String c = "v" + i;
            expected.add(c);
            g.turn(leader, h -> h.append(c.getBytes(StandardCharsets.UTF_8), c));
            g.drain();
        }
        assertThat(g.heard).hasSize(30).allMatch(s -> s.contains("APPLIED"));
        assertThat(g.hosts.get(leader).replica().compactedIndex()).as("the leader compacted past the laggard")
                .isGreaterThan(g.machines.get(laggard).appliedIndex());

        // The leader restarts: its machine goes back to what it flushed (at most 4 slots behind), the core replays
        // its log, and the host applies each missing slot once.
        long flushed = g.hosts.get(leader).replica().compactedIndex();
        g.crashAndRestart(leader);
        assertThat(g.machines.get(leader).appliedIndex()).isGreaterThanOrEqualTo(flushed);
        g.isolated.clear();
        int now = g.awaitLeaseholder();
        g.step(200);
        for (int id : MEMBERS) {
            assertThat(g.machines.get(id).applied).as("replica %d (leader now %d)", id, now)
                    .containsExactlyElementsOf(expected);
        }
        assertThat(g.hosts.get(laggard).appliedIndex()).isEqualTo(g.hosts.get(now).appliedIndex());
        assertThat(g.chunksDelivered).as("the laggard's state came in chunks of 3 bytes").isGreaterThan(10);
    }

    @Test
    void aMachineThatLostItsStateAfterCompactionRefusesReadsUntilItFetchedItFromAPeer() {
        Group g = new Group(4);
        int leader = g.awaitLeaseholder();
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            String c = "v" + i;
            expected.add(c);
            g.turn(leader, h -> h.append(c.getBytes(StandardCharsets.UTF_8), c));
            g.drain();
        }
        long compacted = g.hosts.get(leader).replica().compactedIndex();
        assertThat(compacted).as("the leader's log no longer holds the first slots").isGreaterThan(0);

        // The leader's process restarts with its log but an empty in-memory machine (nothing kept it).
        MemoryLog log = g.logs.get(leader);
        log.synced = log.written.size();
        g.machines.put(leader, new Journal());
        g.crashAndRestart(leader);
        g.isolated.addAll(MEMBERS.stream().filter(id -> id != leader).toList());
        g.turn(leader, h -> h.read(new byte[0])); // the restart's replay: nothing applied below the compacted log
        assertThat(g.machines.get(leader).appliedIndex()).isZero();
        assertThat(g.hosts.get(leader).fetchingSnapshot()).isFalse();
        g.step(10);
        assertThat(g.hosts.get(leader).fetchingSnapshot()).as("a tick starts the fetch").isTrue();

        g.isolated.clear();
        int chunksBefore = g.chunksDelivered;
        for (int i = 0; i < 100 && !g.machines.get(leader).applied.equals(expected); i++) {
            g.step(20);
        }
        assertThat(g.chunksDelivered - chunksBefore).as("chunks of 3 bytes").isGreaterThan(5);
        assertThat(g.machines.get(leader).applied).containsExactlyElementsOf(expected);
        assertThat(g.hosts.get(leader).fetchingSnapshot()).isFalse();
    }

    @Test
    void whenTheLoopDiesEveryWaitingClientHearsOnce() {
        Group g = new Group(0);
        int leader = g.awaitLeaseholder();
        g.isolated.add(leader);
        g.turn(leader, h -> h.append("proposed".getBytes(StandardCharsets.UTF_8), "c1"));
        GroupHost<String> h = g.hosts.get(leader);
        h.append("gathered".getBytes(StandardCharsets.UTF_8), "c2"); // outside a turn: still in the batch
        h.failAllWaiting("replica stopped: disk full");
        assertThat(g.heard).containsExactlyInAnyOrder("c1: UNKNOWN replica stopped: disk full",
                "c2: NOT_APPENDED replica stopped: disk full");
    }
}
