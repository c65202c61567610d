package io.gnomon.txn;

import io.gnomon.paxos.DurableState;
import io.gnomon.paxos.Message;
import io.gnomon.paxos.PaxosConfig;
import io.gnomon.paxos.PaxosLimits;
import io.gnomon.paxos.PaxosReplica;
import io.gnomon.paxos.PersistWrite;
import io.gnomon.paxos.cluster.Key;
import io.gnomon.paxos.runtime.GroupHost;
import io.gnomon.paxos.runtime.GroupLog;
import io.gnomon.paxos.server.StoredMachines;
import io.gnomon.paxos.store.StoreLimits;
import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.testing.FakeTrueTime;
import io.gnomon.txn.CommitOutcome.Aborted;
import io.gnomon.txn.CommitOutcome.Committed;
import io.gnomon.txn.LockTable.Lock;
import io.gnomon.txn.TxnHost.ReadResult;
import io.gnomon.txn.TxnQueryCodec.Get;
import io.gnomon.txn.TxnQueryCodec.Value;
import io.gnomon.txn.TxnRecord.CommitRecord;
import io.gnomon.txn.TxnRecord.Outcome;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The transaction host over real group hosts: per group three replicas over in-memory logs, each with a {@link
 * TxnMachine} in its own RocksDB store, one fake TrueTime the test moves, a queue for each group's Paxos network and
 * a test router for messages between groups' leaders. Driven turn by turn as a server's loop would drive it.
 */
class TxnHostTest {
    static final List<Integer> MEMBERS = List.of(1, 2, 3);
    static final long EPS = Duration.ofMillis(2).toNanos();
    /** Outcomes are kept for a century here: some tests name transactions by small ids (ages of decades). */
    static final TxnLimits LIMITS = new TxnLimits(100, 100, 100, 100, Duration.ofMillis(10).toNanos(),
            Duration.ofSeconds(10).toNanos(), Duration.ofSeconds(1).toNanos(), Duration.ofMillis(50).toNanos())
            .withOutcomeRetention(Duration.ofDays(36_500).toNanos(), 100);
    /** Small enough that a snapshot chunk (which must hold the largest key and value) fits a Paxos message. */
    static final StoreLimits STORE_LIMITS = StoreLimits.DEFAULTS.withMaxKeyBytes(64).withMaxValueBytes(1024);
    static final TxnHost.Options OPTIONS = new TxnHost.Options(100, 64, Duration.ofMillis(10).toNanos(), 100);

    @TempDir
    Path tmp;
    Cluster c;
    /** The limits the next cluster's hosts get. */
    TxnLimits limits = LIMITS;
    /** The group hosts' compaction interval (0: never), set before a test makes its cluster. */
    long compactEveryEntries;
    /** The Paxos cores' limits, set before a test makes its cluster. */
    PaxosLimits paxosLimits = PaxosLimits.DEFAULTS;

    @AfterEach
    void close() {
        if (c != null) {
            c.close();
        }
    }

    /** A log in memory: what was written, and how much of it a sync covered. */
    static final class MemoryLog implements GroupLog {
        final List<PersistWrite> written = new ArrayList<>();
        int synced;

        @Override
        public void write(List<PersistWrite> writes) {
            written.addAll(writes);
        }

        @Override
        public void sync() {
            synced = written.size();
        }

        @Override
        public void close() {
        }
    }

    record Packet(long group, Message message) {
    }

    record Routed(long fromGroup, long toGroup, TxnMessage message) {
    }

    final class Replica {
        final long group;
        final int id;
        final PaxosConfig config;
        MemoryLog log;
        StoredMachines store;
        TxnHost.Machine machine;
        TxnHost<String> txn;

        Replica(long group, int id) {
            this.group = group;
            this.id = id;
            this.config = new PaxosConfig(id, MEMBERS, Duration.ofMillis(500).toNanos(), Duration.ofMillis(100).toNanos(),
                    Duration.ofMillis(100).toNanos(), Duration.ofSeconds(2).toNanos(), paxosLimits,
                    7 + id + 10 * group);
        }

        void start(PaxosReplica core, MemoryLog log) throws Exception {
            this.log = log;
            store = StoredMachines.open(tmp.resolve("g" + group + "r" + id), STORE_LIMITS);
            machine = new TxnHost.Machine(TxnMachine.open(store, group));
            Replica self = this;
            GroupHost<Object> gh = GroupHost.of(core, config, log, (to, m) -> c.paxos.add(new Packet(group, m)),
                    c.trueTime, () -> c.monotonicNanos, machine, 1000 + id + 100L * c.starts++,
                    new GroupHost.Options(Duration.ofMillis(2).toNanos(), compactEveryEntries, true),
                    (client, o) -> self.txn.proposalOutcome((TxnHost.Proposal) client, o));
            txn = TxnHost.start(group, gh, machine, limits, OPTIONS, c.trueTime, () -> c.monotonicNanos,
                    new TxnHost.Outputs<>() {
                        @Override
                        public void send(long toGroup, TxnMessage message) {
                            c.routed.add(new Routed(group, toGroup, message));
                        }

                        @Override
                        public void reply(String client, CommitOutcome outcome) {
                            c.heard.add(client + ": " + outcome);
                        }

                        @Override
                        public void readDone(String client, ReadResult result) {
                            c.reads.put(client, result);
                        }
                    });
        }

        /**
         * The process crashes and restarts: the log keeps what was synced, the store what it holds; the core recovers
         * from the log and the transaction host from the machine.
         */
        void crashAndRestart() throws Exception {
            MemoryLog old = log;
            txn.group().close(); // closes the log and the machine
            store.close();
            MemoryLog kept = new MemoryLog();
            DurableState disk = new DurableState(MEMBERS);
            for (PersistWrite w : old.written.subList(0, old.synced)) {
                disk.apply(w);
                kept.written.add(w);
            }
            kept.synced = kept.written.size();
            start(PaxosReplica.recover(config, disk.toRecovered(), c.monotonicNanos, c.trueTime.now()), kept);
        }

        String name() {
            return group + "/" + id;
        }

        /** The value of {@code key} at {@code t} in this replica's machine (null: none). */
        String get(String key, long t) {
            Value v = (Value) TxnQueryCodec.decodeAnswer(machine.query(TxnQueryCodec.encode(new Get(b(key), t))));
            return v.valueOrNull() == null ? null : new String(v.valueOrNull(), UTF_8);
        }
    }

    final class Cluster implements AutoCloseable {
        final FakeTrueTime trueTime = new FakeTrueTime(Instant.parse("2026-01-01T00:00:00Z"), Duration.ofNanos(EPS));
        long monotonicNanos = 1_000_000_000L;
        int starts;
        final Map<Long, Map<Integer, Replica>> groups = new TreeMap<>();
        final ArrayDeque<Packet> paxos = new ArrayDeque<>();
        final ArrayDeque<Routed> routed = new ArrayDeque<>();
        /** Replicas cut off from the network ("group/id"). */
        final Set<String> isolated = new HashSet<>();
        /** Groups the router delivers nothing to. */
        final Set<Long> blocked = new HashSet<>();
        final List<String> heard = new ArrayList<>();
        final Map<String, ReadResult> reads = new LinkedHashMap<>();

        Cluster(long... groupIds) throws Exception {
            c = this;
            for (long g : groupIds) {
                Map<Integer, Replica> rs = new TreeMap<>();
                groups.put(g, rs);
                for (int id : MEMBERS) {
                    Replica r = new Replica(g, id);
                    rs.put(id, r);
                    r.start(new PaxosReplica(r.config, monotonicNanos, trueTime.now()), new MemoryLog());
                }
            }
        }

        Replica replica(long g, int id) {
            return groups.get(g).get(id);
        }

        List<Replica> all() {
            List<Replica> out = new ArrayList<>();
            groups.values().forEach(m -> out.addAll(m.values()));
            return out;
        }

        void turn(Replica r, Consumer<TxnHost<String>> inputs) {
            r.txn.beginTurn();
            inputs.accept(r.txn);
            r.txn.endTurn();
        }

        /** The replica of {@code g} the router sends to: the transaction leader not cut off, or null. */
        Replica leaderOf(long g) {
            Map<Integer, Replica> rs = groups.get(g);
            if (rs == null) {
                return null;
            }
            return rs.values().stream().filter(r -> r.txn.isLeader() && !isolated.contains(r.name()))
                    .findFirst().orElse(null);
        }

        /** Delivers every message and runs every host that needs a turn, until nothing is left to do now. */
        void drain() {
            for (int n = 0; ; n++) {
                assertThat(n).as("the cluster quiesces").isLessThan(100_000);
                Packet p = paxos.poll();
                if (p != null) {
                    Replica from = replica(p.group(), p.message().from());
                    Replica to = replica(p.group(), p.message().to());
                    if (!isolated.contains(from.name()) && !isolated.contains(to.name())) {
                        turn(to, h -> h.group().onMessage(p.message()));
                    }
                    continue;
                }
                Routed m = routed.poll();
                if (m != null) {
                    Replica to = blocked.contains(m.toGroup()) ? null : leaderOf(m.toGroup());
                    if (to != null) {
                        turn(to, h -> h.message(m.message(), m.fromGroup()));
                    }
                    continue;
                }
                Replica due = all().stream().filter(r -> r.txn.nextTickNanos() - monotonicNanos <= 0)
                        .findFirst().orElse(null);
                if (due == null) {
                    return;
                }
                turn(due, h -> {
                });
            }
        }

        void step(long millis) {
            monotonicNanos += Duration.ofMillis(millis).toNanos();
            trueTime.advance(Duration.ofMillis(millis));
            for (Replica r : all()) {
                turn(r, h -> h.group().onTick());
            }
            drain();
        }

        /** Steps until {@code g} has a transaction leader the router reaches; returns it. */
        Replica awaitLeader(long g) {
            for (int i = 0; i < 1000; i++) {
                Replica l = leaderOf(g);
                if (l != null && l.txn.group().leaseReadReady()) {
                    return l;
                }
                step(10);
            }
            throw new AssertionError("no leader of group " + g + " after 10 s");
        }

        /** Steps a millisecond at a time until {@code done} holds (at most 10 s). */
        void stepUntil(String what, java.util.function.BooleanSupplier done) {
            for (int i = 0; i < 10_000 && !done.getAsBoolean(); i++) {
                step(1);
            }
            assertThat(done.getAsBoolean()).as(what).isTrue();
        }

        @Override
        public void close() {
            for (Replica r : all()) {
                try {
                    r.txn.group().close();
                } finally {
                    r.store.close();
                }
            }
        }
    }

    static byte[] b(String s) {
        return s.getBytes(UTF_8);
    }

    static Write put(String key, String value) {
        return Write.put(b(key), b(value));
    }

    TxnId txn(long client) {
        return new TxnId(c.trueTime.now().earliestEpochNanos(), client, 0);
    }

    // ------------------------------------------------------------------ tests

    @Test
    void aOneGroupCommitHoldsItsLocksAndAnswersOnlyOnceItsTimestampHasPassed() throws Exception {
        new Cluster(1);
        Replica l = c.awaitLeader(1);
        TxnId t = txn(1);
        long latestAtRequest = c.trueTime.now().latestEpochNanos();
        c.turn(l, h -> h.commit(new CommitRequest(t, 1, List.of(), List.of(put("k", "v"))), "client"));
        assertThat(l.txn.lockTable().held(t)).containsExactly(Lock.exclusive(Key.ofUtf8("k")));
        c.drain();
        long s = ((Committed) l.txn.core().outcome(t)).commitTimestampEpochNanos();
        assertThat(s).as("s >= TT.now().latest when the request arrived").isGreaterThanOrEqualTo(latestAtRequest);
        for (Replica r : c.groups.get(1L).values()) {
            assertThat(r.get("k", s)).as("%s applied it at s", r.name()).isEqualTo("v");
            assertThat(r.get("k", s - 1)).as("%s: nothing below s", r.name()).isNull();
        }
        assertThat(c.trueTime.after(s)).as("decided before commit-wait is over").isFalse();
        while (!c.trueTime.after(s)) {
            assertThat(c.heard).as("no answer before TT.after(s)").isEmpty();
            assertThat(l.txn.lockTable().held(t)).as("locks held through commit-wait").isNotEmpty();
            c.step(1);
        }
        assertThat(c.heard).containsExactly("client: " + new Committed(s));
        assertThat(l.txn.lockTable().held(t)).isEmpty();
    }

    @Test
    void twoGroupsCommitAtOneTimestampThroughTwoPhaseCommit() throws Exception {
        new Cluster(1, 2);
        Replica l1 = c.awaitLeader(1);
        Replica l2 = c.awaitLeader(2);
        TxnId t = txn(1);
        c.turn(l1, h -> h.commit(new CommitRequest(t, 1, List.of(2L), List.of(put("a", "1"))), "client"));
        c.turn(l2, h -> h.commit(new CommitRequest(t, 1, List.of(2L), List.of(put("b", "2"))), "participant"));
        c.drain();
        assertThat(l2.machine.txnMachine().prepared(t)).as("the participant prepared").isPresent();
        long p = l2.machine.txnMachine().prepared(t).orElseThrow().prepareTimestampEpochNanos();
        c.stepUntil("the client heard", () -> !c.heard.isEmpty());
        long s = ((Committed) l1.txn.core().outcome(t)).commitTimestampEpochNanos();
        assertThat(c.heard).containsExactly("client: " + new Committed(s));
        assertThat(s).as("the commit timestamp is at least the prepare timestamp").isGreaterThanOrEqualTo(p);
        c.stepUntil("the participant applied the outcome everywhere", () -> c.groups.get(2L).values().stream()
                .allMatch(r -> r.machine.txnMachine().outcome(t).isPresent()));
        for (Replica r : c.all()) {
            String key = r.group == 1 ? "a" : "b";
            assertThat(r.get(key, s)).as("%s at s", r.name()).isEqualTo(r.group == 1 ? "1" : "2");
            assertThat(r.get(key, s - 1)).as("%s below s", r.name()).isNull();
        }
        assertThat(l1.machine.txnMachine().outcome(t)).hasValue(new CommitRecord(t, s, List.of(2L), List.of()));
        assertThat(l2.machine.txnMachine().outcome(t)).hasValue(Outcome.committedAt(t, s));
        assertThat(l2.txn.core().inDoubt()).isEmpty();
        assertThat(l2.txn.lockTable().txns()).isEmpty();
        assertThat(l1.txn.lockTable().txns()).isEmpty();
    }

    @Test
    void anOlderTransactionWoundsAYoungerOneWhoseClientHearsARetryableAbort() throws Exception {
        new Cluster(1);
        Replica l = c.awaitLeader(1);
        TxnId older = new TxnId(100, 1, 0);
        TxnId younger = new TxnId(200, 2, 0);
        // the younger one coordinates a two-group commit whose participant (group 2) never answers: it holds "k"
        c.turn(l, h -> h.commit(new CommitRequest(younger, 1, List.of(2L), List.of(put("k", "young"))), "young"));
        c.drain();
        assertThat(l.txn.lockTable().held(younger)).containsExactly(Lock.exclusive(Key.ofUtf8("k")));
        c.turn(l, h -> h.commit(new CommitRequest(older, 1, List.of(), List.of(put("k", "old"))), "old"));
        c.drain();
        assertThat(c.heard).hasSize(1);
        assertThat(c.heard.get(0)).startsWith("young: " + Aborted.class.getSimpleName())
                .contains("wounded by an older transaction in group 1").contains("retryable=true");
        c.stepUntil("the older one committed", () -> c.heard.size() == 2);
        long s = ((Committed) l.txn.core().outcome(older)).commitTimestampEpochNanos();
        assertThat(c.heard.get(1)).isEqualTo("old: " + new Committed(s));
        assertThat(l.get("k", Long.MAX_VALUE)).isEqualTo("old");
    }

    @Test
    void aLockingReadTakesASharedLockAndReadsTheNewestVersion() throws Exception {
        new Cluster(1);
        Replica l = c.awaitLeader(1);
        TxnId w = txn(1);
        c.turn(l, h -> h.commit(new CommitRequest(w, 1, List.of(), List.of(put("k", "v1"))), "w"));
        c.stepUntil("committed", () -> !c.heard.isEmpty());
        TxnId reader = new TxnId(100, 2, 0);
        c.turn(l, h -> h.lockingRead(reader, new Get(b("k"), 0), "read"));
        assertThat(((Value) c.reads.get("read").answer()).valueOrNull()).as("the newest version, not the one at t=0")
                .isEqualTo(b("v1"));
        assertThat(l.txn.lockTable().held(reader)).containsExactly(Lock.shared(Key.ofUtf8("k")));
        // a younger writer waits for the reader's commit
        TxnId writer = new TxnId(200, 3, 0);
        c.turn(l, h -> h.commit(new CommitRequest(writer, 1, List.of(), List.of(put("k", "v2"))), "writer"));
        c.step(50);
        assertThat(c.heard).hasSize(1);
        assertThat(l.txn.lockTable().waiting(writer)).containsExactly(Lock.exclusive(Key.ofUtf8("k")));
        c.turn(l, h -> h.commit(new CommitRequest(reader, 1, List.of(), List.of(put("r", "x"))), "reader"));
        c.stepUntil("both committed", () -> c.heard.size() == 3);
        assertThat(c.heard.get(1)).startsWith("reader: Committed");
        assertThat(c.heard.get(2)).startsWith("writer: Committed");
        // an older writer wounds a younger reader: its read locks go, and its commit is refused later
        TxnId youngReader = new TxnId(Long.MAX_VALUE / 2, 4, 0);
        c.turn(l, h -> h.lockingRead(youngReader, new Get(b("k"), 0), "read2"));
        c.turn(l, h -> h.commit(new CommitRequest(new TxnId(300, 5, 0), 1, List.of(), List.of(put("k", "v3"))), "w3"));
        c.stepUntil("the older writer committed", () -> c.heard.size() == 4);
        c.turn(l, h -> h.commit(new CommitRequest(youngReader, 1, List.of(), List.of(put("z", "z"))), "late"));
        assertThat(c.heard.get(4)).startsWith("late: Aborted").contains("aborted " + youngReader + " before its commit")
                .contains("wounded");
    }

    @Test
    void aReadWaitsUntilSafeTimePassesItsTimestampAndFailsClearlyPastItsDeadline() throws Exception {
        new Cluster(1);
        Replica l = c.awaitLeader(1);
        Replica f = c.groups.get(1L).values().stream().filter(r -> r != l).findFirst().orElseThrow();
        c.turn(l, h -> h.commit(new CommitRequest(txn(1), 1, List.of(), List.of(put("k", "v1"))), "w1"));
        c.stepUntil("committed", () -> c.heard.size() == 1);
        // A follower of the idle group serves a read a little ahead of TT.now().latest without any write: the
        // leader's timestamp promises reach it on the heartbeats.
        long t = c.trueTime.now().latestEpochNanos() + Duration.ofMillis(5).toNanos();
        long deadline = c.monotonicNanos + Duration.ofSeconds(5).toNanos();
        c.turn(f, h -> h.read(new Get(b("k"), t), "read", deadline));
        assertThat(c.reads).as("no promise covers a timestamp above TT.now().latest yet").doesNotContainKey("read");
        assertThat(f.txn.waitingReads()).isEqualTo(1);
        c.stepUntil("the follower's read is answered", () -> c.reads.containsKey("read"));
        assertThat(c.heard).as("no write in between").hasSize(1);
        assertThat(c.reads.get("read").failure()).as("served, not failed").isNull();
        assertThat(f.txn.safeTime().safeTime()).isGreaterThanOrEqualTo(t);
        assertThat(((Value) c.reads.get("read").answer()).valueOrNull()).isEqualTo(b("v1"));
        // A later write at s > t leaves the value at t as it was.
        c.turn(l, h -> h.commit(new CommitRequest(txn(2), 1, List.of(), List.of(put("k", "v2"))), "w2"));
        c.stepUntil("committed", () -> c.heard.size() == 2);
        long tAgain = t;
        c.turn(f, h -> h.read(new Get(b("k"), tAgain), "again", deadline));
        c.stepUntil("answered", () -> c.reads.containsKey("again"));
        assertThat(((Value) c.reads.get("again").answer()).valueOrNull()).as("the value at t, below the new write")
                .isEqualTo(b("v1"));

        // the leader's safe time follows TT.now().latest with its promises while the group is idle
        long soon = c.trueTime.now().latestEpochNanos() + Duration.ofMillis(5).toNanos();
        c.turn(l, h -> h.read(new Get(b("k"), soon), "leader", c.monotonicNanos + Duration.ofSeconds(5).toNanos()));
        assertThat(c.reads).as("t is above TT.now().latest: no promise covers it yet").doesNotContainKey("leader");
        c.stepUntil("the leader's read is answered", () -> c.reads.containsKey("leader"));
        assertThat(c.reads.get("leader").failure()).as("served, not failed").isNull();
        assertThat(c.trueTime.now().latestEpochNanos()).isGreaterThan(soon);
        assertThat(((Value) c.reads.get("leader").answer()).valueOrNull()).isEqualTo(b("v2"));

        long far = c.trueTime.now().latestEpochNanos() + Duration.ofHours(1).toNanos();
        long since = c.monotonicNanos;
        c.turn(f, h -> h.read(new Get(b("k"), far), "late", since + Duration.ofMillis(30).toNanos()));
        c.stepUntil("the read fails", () -> c.reads.containsKey("late"));
        assertThat(c.reads.get("late").served()).isFalse();
        assertThat(c.reads.get("late").failure()).startsWith("group 1: safe time ")
                .contains(" below read timestamp " + far + " after waiting ").endsWith(" ms");
        assertThat(c.monotonicNanos - since).isGreaterThanOrEqualTo(Duration.ofMillis(30).toNanos());
    }

    @Test
    void aParticipantsNewLeaderRetakesThePreparedLocksAndLearnsTheOutcome() throws Exception {
        new Cluster(1, 2);
        Replica l1 = c.awaitLeader(1);
        Replica old = c.awaitLeader(2);
        TxnId t = txn(1);
        c.turn(l1, h -> h.commit(new CommitRequest(t, 1, List.of(2L), List.of(put("a", "1"))), "client"));
        c.turn(old, h -> h.commit(new CommitRequest(t, 1, List.of(2L), List.of(put("b", "2"))), "participant"));
        c.drain();
        assertThat(l1.machine.txnMachine().outcome(t)).as("the coordinator decided").isPresent();
        // the Commit to group 2 is lost, and group 2's leader goes away
        c.blocked.add(2L);
        c.stepUntil("the client heard", () -> !c.heard.isEmpty());
        long s = ((Committed) l1.txn.core().outcome(t)).commitTimestampEpochNanos();
        assertThat(old.txn.core().inDoubt()).containsExactly(t);
        c.isolated.add(old.name());
        c.stepUntil("group 2 has a new leader", () -> c.leaderOf(2) != null);
        Replica fresh = c.leaderOf(2);
        assertThat(fresh).isNotSameAs(old);
        assertThat(fresh.txn.core().inDoubt()).as("still in doubt: the coordinator is not reachable yet").contains(t);
        assertThat(fresh.txn.lockTable().held(t)).as("the prepared locks are taken again")
                .containsExactly(Lock.exclusive(Key.ofUtf8("b")));
        assertThat(fresh.txn.lockTable().isPrepared(t)).isTrue();
        c.blocked.remove(2L);
        c.stepUntil("the new leader learned the outcome", () -> fresh.machine.txnMachine().outcome(t).isPresent());
        assertThat(fresh.machine.txnMachine().outcome(t)).hasValue(Outcome.committedAt(t, s));
        c.stepUntil("its followers applied it", () -> c.groups.get(2L).values().stream()
                .filter(r -> r != old).allMatch(r -> "2".equals(r.get("b", s))));
        assertThat(fresh.txn.lockTable().held(t)).isEmpty();
        assertThat(fresh.get("b", s - 1)).isNull();
    }

    /**
     * A participant that only read (its shared lock is the old leader's memory) is prepared when its group's leader
     * changes: the new leader takes no commit until it resolves, since a write committed meanwhile could get a
     * timestamp below its commit timestamp that its read did not see (found by {@code bin/spanner-lite sim-txn}).
     */
    @Test
    void aNewLeaderTakesNoCommitUntilTheTransactionsPreparedBeforeItResolve() throws Exception {
        new Cluster(1, 2);
        Replica l1 = c.awaitLeader(1);
        Replica old = c.awaitLeader(2);
        TxnId t = txn(1);
        c.turn(old, h -> h.lockingRead(t, new Get(b("r"), 0), "t reads r"));
        assertThat(c.reads.get("t reads r").served()).isTrue();
        c.turn(l1, h -> h.commit(new CommitRequest(t, 1, List.of(2L), List.of(put("a", "1"))), "client"));
        c.turn(old, h -> h.commit(new CommitRequest(t, 1, List.of(2L), List.of()), "participant"));
        c.drain();
        c.blocked.add(2L); // the Commit to group 2 is lost
        c.stepUntil("the client heard", () -> !c.heard.isEmpty());
        assertThat(c.heard).singleElement().asString().startsWith("client: Committed");
        assertThat(old.txn.core().inDoubt()).containsExactly(t);
        c.isolated.add(old.name());
        c.stepUntil("group 2 has a new leader", () -> c.leaderOf(2) != null);
        Replica fresh = c.leaderOf(2);
        TxnId writer = txn(2);
        c.turn(fresh, h -> h.commit(new CommitRequest(writer, 2, List.of(), List.of(put("r", "w"))), "writer"));
        assertThat(c.heard).last().asString().startsWith("writer: Aborted")
                .contains("takes no commit until 1 transaction(s) prepared under an earlier leadership resolve")
                .contains("retryable=true");
        c.blocked.remove(2L);
        c.stepUntil("the new leader learned the outcome", () -> fresh.machine.txnMachine().outcome(t).isPresent());
        c.turn(fresh, h -> h.commit(new CommitRequest(writer.retry(), 2, List.of(), List.of(put("r", "w"))),
                "writer again"));
        c.stepUntil("the writer committed", () -> c.heard.get(c.heard.size() - 1).startsWith("writer again: Committed"));
    }

    @Test
    void aRestartedGroupRestoresItsPreparedTransactionFromTheMachineAndFinishesIt() throws Exception {
        new Cluster(1, 2);
        Replica l1 = c.awaitLeader(1);
        Replica l2 = c.awaitLeader(2);
        TxnId t = txn(1);
        c.turn(l1, h -> h.commit(new CommitRequest(t, 1, List.of(2L), List.of(put("a", "1"))), "client"));
        c.turn(l2, h -> h.commit(new CommitRequest(t, 1, List.of(2L), List.of(put("b", "2"))), "participant"));
        c.drain();
        c.blocked.add(2L);
        c.stepUntil("the client heard", () -> !c.heard.isEmpty());
        long s = ((Committed) l1.txn.core().outcome(t)).commitTimestampEpochNanos();
        for (Replica r : c.groups.get(2L).values()) {
            assertThat(r.machine.txnMachine().prepared(t)).as("%s applied the Prepare", r.name()).isPresent();
            r.crashAndRestart();
            assertThat(r.txn.core().inDoubt()).as("%s restored the prepared transaction from its machine, before"
                    + " any slot is replayed", r.name()).containsExactly(t);
            assertThat(r.txn.safeTime().safeTime()).as("safe time stays below the prepare timestamp")
                    .isLessThan(r.machine.txnMachine().prepared(t).orElseThrow().prepareTimestampEpochNanos());
        }
        c.paxos.clear(); // what the old processes sent is gone with them
        c.blocked.remove(2L);
        Replica fresh = c.awaitLeader(2);
        c.stepUntil("group 2 learned the outcome everywhere", () -> c.groups.get(2L).values().stream()
                .allMatch(r -> "2".equals(r.get("b", s))));
        assertThat(fresh.machine.txnMachine().outcome(t)).hasValue(Outcome.committedAt(t, s));
        assertThat(fresh.txn.core().inDoubt()).isEmpty();
        assertThat(fresh.txn.lockTable().txns()).isEmpty();
    }

    @Test
    void aFollowerThatInstallsASnapshotRebuildsItsCoresFromIt() throws Exception {
        compactEveryEntries = 2;
        new Cluster(1, 2);
        Replica l1 = c.awaitLeader(1);
        Replica l2 = c.awaitLeader(2);
        Replica f = c.groups.get(2L).values().stream().filter(r -> r != l2).findFirst().orElseThrow();
        c.isolated.add(f.name());
        TxnId t = txn(1);
        c.turn(l1, h -> h.commit(new CommitRequest(t, 1, List.of(2L), List.of(put("a", "1"))), "client"));
        c.turn(l2, h -> h.commit(new CommitRequest(t, 1, List.of(2L), List.of(put("b", "2"))), "participant"));
        c.drain();
        c.blocked.add(2L);
        c.stepUntil("the client heard", () -> !c.heard.isEmpty());
        long s = ((Committed) l1.txn.core().outcome(t)).commitTimestampEpochNanos();
        for (int i = 0; i < 4; i++) { // group 2's log moves on and is compacted past what f holds
            int n = i;
            c.turn(l2, h -> h.commit(new CommitRequest(txn(10 + n), 2, List.of(), List.of(put("x" + n, "y"))), "w" + n));
            c.stepUntil("committed", () -> c.heard.size() == 2 + n);
        }
        assertThat(l2.txn.group().replica().compactedIndex()).isGreaterThan(f.machine.appliedIndex());
        assertThat(f.txn.core().inDoubt()).isEmpty();
        c.isolated.remove(f.name());
        c.stepUntil("f installed a snapshot", () -> f.machine.appliedIndex() >= l2.machine.appliedIndex());
        c.step(1);
        assertThat(f.txn.core().inDoubt()).as("rebuilt from the installed machine").containsExactly(t);
        assertThat(f.get("x3", Long.MAX_VALUE)).isEqualTo("y");
        c.blocked.remove(2L);
        c.stepUntil("f applied the outcome", () -> "2".equals(f.get("b", s)));
        assertThat(f.txn.core().inDoubt()).isEmpty();
        assertThat(f.txn.core().outcome(t)).isEqualTo(new Committed(s));
        assertThat(f.txn.safeTime().safeTime()).as("the resolved prepare no longer holds safe time back")
                .isGreaterThanOrEqualTo(s);
    }

    @Test
    void aRequestForAnotherGroupIsAnsweredAndAParticipantRefusesThroughTheCoordinator() throws Exception {
        new Cluster(1, 2);
        Replica l1 = c.awaitLeader(1);
        Replica l2 = c.awaitLeader(2);
        c.turn(l2, h -> h.commit(new CommitRequest(new TxnId(1, 1, 0), 1, List.of(3L), List.of(put("k", "v"))), "x"));
        assertThat(c.heard).hasSize(1);
        assertThat(c.heard.get(0)).startsWith("x: Aborted").contains("neither the coordinator");
        // a participant whose clock is too wide refuses to prepare: the coordinator aborts, and says why
        TxnId t = new TxnId(2, 1, 0);
        c.turn(l1, h -> h.commit(new CommitRequest(t, 1, List.of(2L), List.of(put("a", "1"))), "client"));
        c.trueTime.setEpsilonNanos(LIMITS.maxEpsilonNanos() + 1);
        c.turn(l2, h -> h.commit(new CommitRequest(t, 1, List.of(2L), List.of(put("b", "2"))), "participant"));
        c.trueTime.setEpsilonNanos(EPS);
        c.stepUntil("the client heard", () -> c.heard.size() == 2);
        assertThat(c.heard.get(1)).startsWith("client: Aborted").contains("participant group 2 refused to prepare")
                .contains("over the ceiling TxnLimits.maxEpsilonNanos");
        assertThat(l1.txn.lockTable().txns()).isEmpty();
    }

    @Test
    void afterManyTransactionsWithASmallRetentionTheOutcomesEveryReplicaRemembersFallBack() throws Exception {
        limits = new TxnLimits(100, 100, 100, 100, Duration.ofMillis(10).toNanos(), Duration.ofSeconds(1).toNanos(),
                Duration.ofMillis(500).toNanos(), Duration.ofMillis(50).toNanos())
                .withOutcomeRetention(Duration.ofMillis(1_500).toNanos(), 8);
        new Cluster(1, 2);
        Replica l1 = c.awaitLeader(1);
        Replica l2 = c.awaitLeader(2);
        List<TxnId> txns = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            TxnId t = txn(i);
            txns.add(t);
            List<Long> participants = i % 2 == 0 ? List.of(2L) : List.of();
            String client = "c" + i;
            c.turn(l1, h -> h.commit(new CommitRequest(t, 1, participants, List.of(put("a" + client, client))), client));
            if (!participants.isEmpty()) {
                c.turn(l2, h -> h.commit(new CommitRequest(t, 1, participants, List.of(put("b" + client, client))), client));
            }
            int answers = i + 1;
            c.stepUntil("commit " + i + " answered", () -> c.heard.size() == answers);
            assertThat(c.heard.get(i)).startsWith(client + ": Committed");
        }
        c.stepUntil("every participant acknowledged", () -> txns.stream().allMatch(t -> l1.txn.core().unacknowledged(t).isEmpty()));
        for (Replica r : c.groups.get(1L).values()) {
            assertThat(r.machine.txnMachine().outcomes()).as("%s's store", r.name()).hasSize(20);
        }
        assertThat(l1.txn.core().rememberedOutcomes()).isEqualTo(20);
        assertThat(l2.txn.core().rememberedOutcomes()).isEqualTo(10);

        c.stepUntil("every replica of both groups forgot every outcome", () -> c.all().stream().allMatch(
                r -> r.txn.core().rememberedOutcomes() == 0 && r.machine.txnMachine().outcomes().isEmpty()));
        for (Replica r : c.all()) {
            assertThat(r.get("a" + "c0", Long.MAX_VALUE) != null || r.get("b" + "c0", Long.MAX_VALUE) != null)
                    .as("%s keeps the versions: only outcomes are forgotten", r.name()).isTrue();
        }
        // a late duplicate of the first transaction is refused for good, never committed again
        TxnId first = txns.get(0);
        c.turn(l1, h -> h.commit(new CommitRequest(first, 1, List.of(2L), List.of(put("ac0", "again"))), "late"));
        c.drain();
        assertThat(c.heard.get(c.heard.size() - 1)).startsWith("late: Unknown").contains("for good")
                .contains("outcome retention");
        assertThat(l1.txn.core().knows(first)).isFalse();
        assertThat(l1.get("ac0", Long.MAX_VALUE)).isEqualTo("c0");
    }

    @Test
    void aDuplicateCommitRequestTakesTheFirstOnesPlaceAndALateOneIsAnsweredFromTheLog() throws Exception {
        new Cluster(1);
        Replica l = c.awaitLeader(1);
        TxnId t = txn(1);
        CommitRequest req = new CommitRequest(t, 1, List.of(), List.of(put("k", "v")));
        c.turn(l, h -> h.commit(req, "first"));
        c.turn(l, h -> h.commit(req, "second"));
        assertThat(c.heard).hasSize(1);
        assertThat(c.heard.get(0)).startsWith("first: Unknown").contains("a duplicate commit request");
        c.stepUntil("committed", () -> c.heard.size() == 2);
        long s = ((Committed) l.txn.core().outcome(t)).commitTimestampEpochNanos();
        assertThat(c.heard.get(1)).isEqualTo("second: " + new Committed(s));
        c.turn(l, h -> h.commit(req, "third"));
        assertThat(c.heard.get(2)).isEqualTo("third: " + new Committed(s));
        assertThat(l.machine.txnMachine().outcomes()).as("committed once").hasSize(1);
    }

    @Test
    void aPrepareTheGroupRefusesToAppendBecomesARefusalAndTheCoordinatorAborts() throws Exception {
        new Cluster(1, 2);
        Replica l1 = c.awaitLeader(1);
        Replica l2 = c.awaitLeader(2);
        int follower = MEMBERS.stream().filter(id -> id != l2.id).findFirst().orElseThrow();
        TxnId t = txn(1);
        c.turn(l1, h -> h.commit(new CommitRequest(t, 1, List.of(2L), List.of(put("a", "1"))), "client"));
        // a membership change in flight in group 2 (its followers cut off, so it stays undecided): its core
        // refuses the batch that carries the Prepare
        c.groups.get(2L).values().stream().filter(r -> r != l2).forEach(r -> c.isolated.add(r.name()));
        c.turn(l2, h -> {
            h.group().proposeMembership(MEMBERS.stream().filter(id -> id != follower).toList());
            h.commit(new CommitRequest(t, 1, List.of(2L), List.of(put("b", "2"))), "participant");
        });
        c.stepUntil("the client heard", () -> !c.heard.isEmpty());
        assertThat(c.heard.get(0)).startsWith("client: Aborted").contains("participant group 2 refused to prepare")
                .contains("could not log its Prepare").contains("membership change").contains("retryable=true");
        assertThat(l1.machine.txnMachine().outcome(t)).get().isInstanceOf(TxnRecord.AbortRecord.class);
        assertThat(l2.txn.group().replica().logEnd()).as("nothing of it in group 2's log")
                .isEqualTo(l2.txn.group().replica().decidedIndex() + 1);
        assertThat(l1.txn.lockTable().txns()).isEmpty();
    }

    @Test
    void randomTransactionsAcrossTwoGroupsWithLeadersCutOffCommitOrAbortAtomically() throws Exception {
        long elections = 0;
        for (long seed = 1; seed <= SEEDS; seed++) {
            elections += randomRun(seed);
        }
        assertThat(elections).as("leaders were replaced in these runs").isGreaterThan(2L * SEEDS);
    }

    static final long SEEDS = 3;

    /** One seeded run; returns how many times replicas became leader. */
    private long randomRun(long seed) throws Exception {
        java.util.Random rnd = new java.util.Random(seed);
        tmp = java.nio.file.Files.createDirectories(tmp.resolve("run" + seed));
        if (c != null) {
            c.close();
        }
        new Cluster(1, 2);
        c.awaitLeader(1);
        c.awaitLeader(2);
        Map<TxnId, Map<Long, Write>> txns = new LinkedHashMap<>();
        Map<TxnId, Long> coordinators = new LinkedHashMap<>();
        String cut = null;
        long healAt = 0;
        for (int i = 0; i < 60; i++) {
            if (cut == null && rnd.nextInt(6) == 0) { // cut one replica off (often a leader) for a while
                long g = 1 + rnd.nextInt(2);
                Replica victim = rnd.nextBoolean() && c.leaderOf(g) != null ? c.leaderOf(g)
                        : c.replica(g, MEMBERS.get(rnd.nextInt(3)));
                cut = victim.name();
                c.isolated.add(cut);
                // past the 2 s lease, so a cut-off leader is replaced
                healAt = c.monotonicNanos + Duration.ofMillis(2_500 + rnd.nextInt(1_500)).toNanos();
            } else if (cut != null && c.monotonicNanos - healAt >= 0) {
                c.isolated.remove(cut);
                cut = null;
            }
            TxnId t = new TxnId(c.trueTime.now().earliestEpochNanos() - rnd.nextInt(1_000_000), i, 0);
            long coordinator = 1 + rnd.nextInt(2);
            List<Long> groups = rnd.nextBoolean() ? List.of(1L, 2L) : List.of(coordinator);
            List<Long> participants = groups.stream().filter(g -> g != coordinator).toList();
            Map<Long, Write> writes = new TreeMap<>();
            for (long g : groups) {
                writes.put(g, put("k" + rnd.nextInt(3), t + "@" + g));
            }
            txns.put(t, writes);
            coordinators.put(t, coordinator);
            for (long g : groups) {
                Replica to = c.leaderOf(g);
                if (to == null) {
                    to = c.replica(g, MEMBERS.get(rnd.nextInt(3))); // a follower refuses it
                }
                CommitRequest req = new CommitRequest(t, coordinator, participants, List.of(writes.get(g)));
                String client = g == coordinator ? t.toString() : "participant";
                c.turn(to, h -> h.commit(req, client));
            }
            c.step(1 + rnd.nextInt(cut == null ? 30 : 200));
        }
        if (cut != null) {
            c.isolated.remove(cut);
        }
        c.stepUntil("every transaction's client heard", () -> txns.keySet().stream()
                .allMatch(t -> c.heard.stream().anyMatch(h -> h.startsWith(t + ": "))));
        c.stepUntil("no participant in doubt", () -> c.all().stream().allMatch(r -> r.txn.core().inDoubt().isEmpty()));
        c.stepUntil("every replica caught up with its group", () -> c.groups.values().stream().allMatch(rs ->
                rs.values().stream().map(r -> r.machine.appliedIndex()).distinct().count() == 1));
        for (long g : List.of(1L, 2L)) {
            List<TxnRecord> outcomes = c.replica(g, 1).machine.txnMachine().outcomes();
            for (Replica r : c.groups.get(g).values()) {
                assertThat(r.machine.txnMachine().outcomes()).as("seed %d: %s agrees with replica 1", seed, r.name())
                        .isEqualTo(outcomes);
            }
        }
        int committed = 0;
        for (var e : txns.entrySet()) {
            TxnId t = e.getKey();
            List<String> said = c.heard.stream().filter(h -> h.startsWith(t + ": ")).toList();
            assertThat(said).as("seed %d: %s answered once", seed, t).hasSize(1);
            CommitOutcome coordinatorSays = c.replica(coordinators.get(t), 1).txn.core().outcome(t);
            if (said.get(0).contains("Committed")) {
                assertThat(coordinatorSays).isInstanceOf(Committed.class);
                assertThat(said.get(0)).isEqualTo(t + ": " + coordinatorSays);
            }
            for (var w : e.getValue().entrySet()) {
                for (Replica r : c.groups.get(w.getKey()).values()) {
                    CommitOutcome here = r.txn.core().outcome(t);
                    if (coordinatorSays instanceof Committed cs) {
                        assertThat(here).as("seed %d: %s in %s", seed, t, r.name()).isEqualTo(cs);
                        assertThat(r.get(new String(w.getValue().key(), UTF_8), cs.commitTimestampEpochNanos()))
                                .as("seed %d: %s's write at s in %s", seed, t, r.name())
                                .isEqualTo(new String(w.getValue().valueOrNull(), UTF_8));
                    } else {
                        assertThat(here instanceof Committed).as("seed %d: %s not committed in %s (%s)", seed, t,
                                r.name(), here).isFalse();
                    }
                }
            }
            committed += coordinatorSays instanceof Committed ? 1 : 0;
        }
        assertThat(committed).as("seed %d: some transactions commit", seed).isGreaterThan(5);
        return c.all().stream().mapToLong(r -> r.txn.group().leaderships()).sum();
    }

    @Test
    void theLeaderPromisesNothingWhileAnAssignedTimestampWaitsForASlot() throws Exception {
        // a pipeline one entry deep: a second commit record waits in the core's queue, without a slot
        PaxosLimits d = PaxosLimits.DEFAULTS;
        paxosLimits = new PaxosLimits(d.maxValueBytes(), d.maxBatchEntries(), d.maxBatchBytes(), 1,
                d.maxPendingProposals(), d.maxEntriesPerMessage());
        new Cluster(1);
        Replica l = c.awaitLeader(1);
        c.groups.get(1L).values().stream().filter(r -> r != l).forEach(r -> c.isolated.add(r.name()));
        TxnId first = txn(1);
        c.turn(l, h -> h.commit(new CommitRequest(first, 1, List.of(), List.of(put("j", "v1"))), "first"));
        c.step(5);
        TxnId second = txn(2);
        c.turn(l, h -> h.commit(new CommitRequest(second, 1, List.of(), List.of(put("k", "v2"))), "second"));
        long logEnd = l.txn.group().replica().logEnd();
        for (int i = 0; i < 10; i++) {
            c.step(5); // the second record leaves the batch for the core's queue; time passes its timestamp
        }
        assertThat(l.txn.group().batchWaiting()).isFalse();
        assertThat(l.txn.group().replica().logEnd()).as("the second record has no slot yet").isEqualTo(logEnd);
        long s2 = c.trueTime.now().latestEpochNanos() - Duration.ofMillis(45).toNanos(); // at or above its timestamp
        c.turn(l, h -> h.read(new Get(b("k"), s2), "read", c.monotonicNanos + Duration.ofSeconds(5).toNanos()));
        c.groups.get(1L).values().forEach(r -> c.isolated.remove(r.name()));
        c.stepUntil("both committed", () -> c.heard.size() == 2);
        long s = ((Committed) l.txn.core().outcome(second)).commitTimestampEpochNanos();
        assertThat(s).as("the read's timestamp is at or above the second's").isLessThanOrEqualTo(s2);
        c.stepUntil("the read is answered", () -> c.reads.containsKey("read"));
        assertThat(((Value) c.reads.get("read").answer()).valueOrNull()).as("the read sees the second write")
                .isEqualTo(b("v2"));
    }

    @Test
    void aCommitIsRefusedOnAnUnusableClockOrAnEpsilonOverTheCeiling() throws Exception {
        new Cluster(1);
        Replica l = c.awaitLeader(1);
        long logEnd = l.txn.group().replica().logEnd();
        c.trueTime.setStatus(ClockStatus.UNSYNCHRONIZED);
        c.turn(l, h -> h.commit(new CommitRequest(new TxnId(1, 1, 0), 1, List.of(), List.of(put("k", "v"))), "a"));
        c.trueTime.setStatus(ClockStatus.SYNCHRONIZED);
        c.trueTime.setEpsilonNanos(LIMITS.maxEpsilonNanos() + 1);
        c.turn(l, h -> h.commit(new CommitRequest(new TxnId(2, 1, 0), 1, List.of(), List.of(put("k", "v"))), "b"));
        assertThat(c.heard).hasSize(2);
        assertThat(c.heard.get(0)).startsWith("a: Aborted").contains("TrueTime is UNSYNCHRONIZED (not usable)")
                .contains("retryable=true");
        assertThat(c.heard.get(1)).startsWith("b: Aborted").contains("TrueTime is SYNCHRONIZED with ε "
                + (LIMITS.maxEpsilonNanos() + 1) + " ns, over the ceiling TxnLimits.maxEpsilonNanos "
                + LIMITS.maxEpsilonNanos() + " ns");
        assertThat(l.txn.lockTable().txns()).as("no lock taken").isEmpty();
        assertThat(l.txn.group().replica().logEnd()).as("nothing logged").isEqualTo(logEnd);
        // with the clock back within the ceiling the same request commits
        c.trueTime.setEpsilonNanos(EPS);
        c.turn(l, h -> h.commit(new CommitRequest(new TxnId(2, 1, 1), 1, List.of(), List.of(put("k", "v"))), "c"));
        c.stepUntil("committed", () -> c.heard.size() == 3);
        assertThat(c.heard.get(2)).startsWith("c: Committed");
    }
}
