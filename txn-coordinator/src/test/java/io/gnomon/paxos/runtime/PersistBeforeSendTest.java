package io.gnomon.paxos.runtime;

import io.gnomon.paxos.Ballot;
import io.gnomon.paxos.Message;
import io.gnomon.paxos.storage.DurableLog;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Records, per replica, the order of persist / sync calls on its log and of sends by its driver, with a marker
 * at every driver call (one call = one core output), and checks that within every output each send comes after
 * a sync that follows the output's last persist, except a leader's Accepts to its peers, which leave once their
 * entries are written and before the sync ({@code Output.sendsBeforeSync}).
 */
class PersistBeforeSendTest {
    @TempDir
    Path d1;
    @TempDir
    Path d2;
    @TempDir
    Path d3;

    /** Events of one replica: "persist:...", "sync", "send:Type->to", and "call" markers. */
    private final Map<Integer, List<String>> events = new LinkedHashMap<>();
    /** Every Promise any replica sent, to deliver one again. */
    private final List<Message.Promise> promisesSent = new ArrayList<>();

    /** Three drivers whose logs and sends record into {@link #events}. */
    private InMemoryCluster recordingCluster() {
        Map<Integer, Path> dirs = new LinkedHashMap<>();
        dirs.put(1, d1);
        dirs.put(2, d2);
        dirs.put(3, d3);
        for (int id : dirs.keySet()) {
            events.put(id, new ArrayList<>());
        }
        int[] opening = {0};
        Integer[] openingIds = dirs.keySet().toArray(new Integer[0]);
        return new InMemoryCluster(dirs,
                log -> new RecordingLog(log, events.get(openingIds[opening[0]++ % openingIds.length])),
                inner -> (to, m) -> {
                    events.get(m.from()).add("send:" + m.getClass().getSimpleName() + "->" + to);
                    if (m instanceof Message.Promise p) {
                        promisesSent.add(p);
                    }
                    inner.send(to, m);
                });
    }

    @Test
    void aBatchWritesUnsyncedThenSyncsOnceBeforeAnyOfItsMessagesLeave() {
        try (InMemoryCluster c = recordingCluster()) {
            c.start();
            ReplicaDriver leader = c.electLeader();
            c.drain();
            List<String> ev = events.get(leader.replica().replicaId());
            ev.clear();
            int me = leader.replica().replicaId();
            leader.beginBatch();
            leader.propose(List.of("a".getBytes()));
            leader.propose(List.of("b".getBytes()));
            // The Accepts to the peers leave at once, written but unsynced; the leader's own vote does not.
            assertThat(ev).contains("persistAccepted").doesNotContain("sync")
                    .anyMatch(e -> e.startsWith("send:Accept->"))
                    .noneMatch(e -> e.startsWith("send:") && !earlyAccept(e, me))
                    .noneMatch(e -> e.equals("send:Accept->" + me));
            int firstAccept = ev.indexOf(ev.stream().filter(e -> e.startsWith("send:Accept->")).findFirst().orElseThrow());
            assertThat(firstAccept).as(ev.toString()).isGreaterThan(ev.indexOf("persistAccepted"));
            leader.endBatch();
            int lastPersist = ev.lastIndexOf("persistAccepted");
            int sync = ev.indexOf("sync");
            int firstSend = 0;
            while (!ev.get(firstSend).startsWith("send:") || earlyAccept(ev.get(firstSend), me)) {
                firstSend++;
            }
            assertThat(ev.get(firstSend)).as(ev.toString()).isEqualTo("send:Accepted->" + me);
            assertThat(ev.stream().filter("sync"::equals).count()).as(ev.toString()).isEqualTo(1);
            assertThat(sync).as(ev.toString()).isGreaterThan(lastPersist);
            assertThat(firstSend).as(ev.toString()).isGreaterThan(sync);
            c.runUntil(() -> c.applied.values().stream().allMatch(a -> a.containsValue("a") && a.containsValue("b")),
                    20_000, "a and b applied everywhere");
        }
    }

    /**
     * FIFO per peer: a follower's Promise delivered again makes the leader send it an AcceptSync (held for the
     * sync); a propose in the same batch then makes an Accept to that follower, which must not overtake the
     * AcceptSync (the follower would drop it and wait for a retransmission).
     */
    @Test
    void anEarlyAcceptNeverOvertakesAMessageHeldForTheSameFollower() {
        try (InMemoryCluster c = recordingCluster()) {
            c.start();
            ReplicaDriver leader = c.electLeader();
            c.drain();
            int me = leader.replica().replicaId();
            Message.Promise again = promisesSent.stream()
                    .filter(p -> p.to() == me && p.from() != me && p.ballot().equals(leader.replica().promised()))
                    .findFirst().orElseThrow();
            int f = again.from();
            List<String> ev = events.get(me);
            ev.clear();
            leader.beginBatch();
            leader.onMessage(again);
            leader.propose(List.of("x".getBytes()));
            leader.endBatch();
            int sync = ev.indexOf("sync");
            int acceptSync = ev.indexOf("send:AcceptSync->" + f);
            int accept = ev.indexOf("send:Accept->" + f);
            assertThat(acceptSync).as(ev.toString()).isGreaterThan(sync);
            assertThat(accept).as(ev.toString()).isGreaterThan(acceptSync);
            // the other follower's Accept, with nothing held for it, still leaves before the sync
            int other = c.drivers.keySet().stream().filter(id -> id != me && id != f).findFirst().orElseThrow();
            assertThat(ev.indexOf("send:Accept->" + other)).as(ev.toString()).isBetween(0, sync);
            c.runUntil(() -> c.applied.values().stream().allMatch(a -> a.containsValue("x")), 20_000, "x applied everywhere");
        }
    }

    @Test
    void noMessageLeavesBeforeTheWritesOfItsOutputAreSynced() {
        try (InMemoryCluster c = recordingCluster()) {
            c.start();
            // mark each driver call: wrap the drivers' inputs by marking before ticks and deliveries
            MarkingCluster mc = new MarkingCluster(c);
            mc.runUntil(() -> c.leader() != null, 20_000);
            ReplicaDriver leader = c.leader();
            markAll();
            leader.propose(List.of("v1".getBytes(), "v2".getBytes()));
            mc.runUntil(() -> c.applied.values().stream().allMatch(a -> a.size() == 2), 20_000);
            c.stopAll();
        }

        int outputsWithWritesAndSends = 0;
        int acceptsBeforeSync = 0;
        for (Map.Entry<Integer, List<String>> e : events.entrySet()) {
            List<List<String>> outputs = split(e.getValue());
            for (List<String> out : outputs) {
                int lastPersist = -1;
                int lastSync = -1;
                int firstSend = -1;
                int firstEarlyAccept = -1;
                for (int i = 0; i < out.size(); i++) {
                    String ev = out.get(i);
                    if (ev.startsWith("persist")) {
                        lastPersist = i;
                    } else if (ev.equals("sync")) {
                        lastSync = i;
                    } else if (earlyAccept(ev, e.getKey())) {
                        firstEarlyAccept = firstEarlyAccept < 0 ? i : firstEarlyAccept;
                        acceptsBeforeSync += lastSync < 0 ? 1 : 0;
                    } else if (ev.startsWith("send") && firstSend < 0) {
                        firstSend = i;
                    }
                }
                // an Accept may precede the sync, never the writes of its output
                if (firstEarlyAccept >= 0) {
                    assertThat(lastPersist).as("replica %s output %s", e.getKey(), out).isLessThan(firstEarlyAccept);
                }
                if (firstSend >= 0 && lastPersist >= 0) {
                    outputsWithWritesAndSends++;
                    assertThat(lastSync).as("replica %s output %s", e.getKey(), out).isGreaterThan(lastPersist);
                    assertThat(firstSend).as("replica %s output %s", e.getKey(), out).isGreaterThan(lastSync);
                }
                // exactly one sync per output that wrote (group commit), none after a send
                long syncs = out.stream().filter("sync"::equals).count();
                assertThat(syncs).as("replica %s output %s", e.getKey(), out).isEqualTo(lastPersist >= 0 ? 1 : 0);
            }
        }
        // not vacuous: promises and accepts were written and then answered, and Accepts did leave before a sync
        assertThat(outputsWithWritesAndSends).isGreaterThan(5);
        assertThat(acceptsBeforeSync).isGreaterThan(0);
    }

    /** A leader's Accept to a peer, the one message that may leave before its output's sync. */
    private static boolean earlyAccept(String event, int sender) {
        return event.startsWith("send:Accept->") && !event.equals("send:Accept->" + sender);
    }

    private void markAll() {
        for (List<String> l : events.values()) {
            l.add("call");
        }
    }

    private static List<List<String>> split(List<String> evs) {
        List<List<String>> out = new ArrayList<>();
        List<String> cur = new ArrayList<>();
        for (String ev : evs) {
            if (ev.equals("call")) {
                out.add(cur);
                cur = new ArrayList<>();
            } else {
                cur.add(ev);
            }
        }
        out.add(cur);
        return out;
    }

    /** Steps the cluster like {@link InMemoryCluster#runUntil} but marks every driver call in the event lists. */
    private final class MarkingCluster {
        private final InMemoryCluster c;

        MarkingCluster(InMemoryCluster c) {
            this.c = c;
        }

        void runUntil(java.util.function.BooleanSupplier done, long maxMillis) {
            for (long t = 0; t <= maxMillis; t += 10) {
                if (done.getAsBoolean()) {
                    return;
                }
                c.monotonicNanos += 10_000_000L;
                c.trueTime.advance(java.time.Duration.ofMillis(10));
                for (Map.Entry<Integer, ReplicaDriver> d : c.drivers.entrySet()) {
                    events.get(d.getKey()).add("call");
                    d.getValue().onTick();
                }
                while (!c.network.isEmpty()) {
                    var m = c.network.poll();
                    events.get(m.to()).add("call");
                    c.drivers.get(m.to()).onMessage(m);
                }
            }
            throw new AssertionError("not reached");
        }
    }

    /** A DurableLog that records persist and sync calls in order, then delegates. */
    static class RecordingLog implements DurableLog {
        private final DurableLog inner;
        private final List<String> events;

        RecordingLog(DurableLog inner, List<String> events) {
            this.inner = inner;
            this.events = events;
        }

        @Override
        public void persistPromise(Ballot promised, long leaseEndEpochNanos) {
            events.add("persistPromise");
            inner.persistPromise(promised, leaseEndEpochNanos);
        }

        @Override
        public void persistAccepted(List<Entry> entries) {
            events.add("persistAccepted");
            inner.persistAccepted(entries);
        }

        @Override
        public void persistDecided(long decidedUpToSlot) {
            events.add("persistDecided");
            inner.persistDecided(decidedUpToSlot);
        }

        @Override
        public void persistSnapshot(Snapshot s) {
            events.add("persistSnapshot");
            inner.persistSnapshot(s);
        }

        @Override
        public void sync() {
            events.add("sync");
            inner.sync();
        }

        @Override
        public Recovered recover() {
            return inner.recover();
        }

        @Override
        public void close() {
            inner.close();
        }
    }
}
