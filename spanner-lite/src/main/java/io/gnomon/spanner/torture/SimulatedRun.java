package io.gnomon.spanner.torture;

import io.gnomon.paxos.DurableState;
import io.gnomon.paxos.PaxosConfig;
import io.gnomon.paxos.PaxosReplica;
import io.gnomon.paxos.runtime.GroupHost;
import io.gnomon.paxos.runtime.StateMachine;
import io.gnomon.paxos.server.ListAppend;
import io.gnomon.paxos.server.ListAppendMachine;
import io.gnomon.paxos.server.NegativeControl;
import io.gnomon.paxos.sim.ReplicaFactory;
import io.gnomon.paxos.sim.SimWorkload;
import io.gnomon.paxos.sim.SimWorld;
import io.gnomon.paxos.sim.Simulator;
import io.gnomon.spanner.history.HistoryWriter;
import io.gnomon.spanner.history.MicroOp;
import io.gnomon.truetime.TimeInterval;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.IntConsumer;

/**
 * The torture run in deterministic simulation: the same {@link TxnGenerator} workload, fault schedule and checker
 * as against replica processes, but the replicas are {@link Simulator}'s (real Paxos cores in the real per-group
 * host, {@code GroupHost}, a simulated network, disks that lose unsynced writes, drifting clocks) and the clients,
 * faults and probes are simulated processes on its one thread. Each replica's host applies decided entries to its
 * own {@link ListAppendMachine} and answers as in a replica process, because it is the same code: single-key reads
 * from its lease behind the read fence, appends once applied, {@code info} for appends whose leader stepped down
 * or died, {@code fail} for refusals. The history's {@code time} is simulated true time, so one seed gives the
 * same history, byte for byte.
 */
final class SimulatedRun implements SimWorkload {
    static final long MS = 1_000_000L;
    /** A recovery probe looks again this often. */
    static final long PROBE_INTERVAL = 20 * MS;
    /** A probe append not applied within this long is abandoned and tried again. */
    static final long PROBE_ATTEMPT = 1_000 * MS;
    /** How long the fault schedule waits for a leader to choose victims by, as the process harness does. */
    static final long LEADER_WAIT = 10_000 * MS;
    static final String PROBE_KEY = "probe";
    /**
     * The group the probes and the fault schedule look at (its leader is the victim "leader"): with several groups,
     * the others' leaders are spread over the processes, and a fault on one process hits every group on it.
     */
    static final int PROBE_GROUP = 1;
    /** Between replicas, throughout: lost messages and duplicates, besides the simulator's delays and reordering. */
    static final double LOSS_RATE = 0.02;
    static final double DUPLICATE_RATE = 0.01;
    /** How often an append is redirected to another replica before it fails (ReplicaClient's). */
    static final int MAX_REDIRECTS = 8;

    /** What the run measured besides the history; the summary line is built from it. */
    record Outcome(int faultsInjected, List<Duration> failovers, List<Duration> recoveries, int unrecovered,
                   long lostAcknowledged, Simulator.Result simulation) {
    }

    private final int replicas;
    private final Workload.Config config;
    private final TortureRun.Schedule schedule;
    private final boolean staleLeaseReads;
    private final TxnGenerator generator;
    private final Consumer<String> log;
    private final SplittableRandom faultRandom;
    private SimWorld world;
    private HistoryWriter history; // its clock is simulated true time


    // Clients. Appends share one guess of the leader, as the process harness's clients share one ReplicaClient.
    private final List<Client> clients = new ArrayList<>();
    /** Per group (index = group id): the replica the clients believe leads it. */
    private final int[] leaderGuess;
    private int clientsRunning;
    private boolean stopping;

    // The fault schedule.
    private long endNanos;
    private boolean endReached;
    private boolean faultLoopDone;
    private int injected;
    private int unrecovered;
    private final List<Duration> failovers = new ArrayList<>();
    private final List<Duration> recoveries = new ArrayList<>();
    private long lost = -1;
    private boolean finished;

    private SimulatedRun(int replicas, Workload.Config config, TortureRun.Schedule schedule, boolean staleLeaseReads,
                         Consumer<String> log) {
        this.replicas = replicas;
        this.config = config;
        this.schedule = schedule;
        this.staleLeaseReads = staleLeaseReads;
        this.generator = new TxnGenerator(config);
        this.log = log;
        this.faultRandom = new SplittableRandom(config.seed() ^ 0x6a09e667f3bcc908L); // not the simulator's stream
        this.leaderGuess = new int[config.groups() + 1];
        java.util.Arrays.fill(leaderGuess, 1);
    }

    /**
     * Runs the workload and schedule in simulation, recording to {@code history}; returns what it measured.
     *
     * @param factory     the Paxos cores ({@link ReplicaFactory#REAL}, or a negative control's)
     * @param staleReads  the stale-lease-reads negative control: leaders answer reads without a valid lease
     * @param leaseNanos  replicas' lease; {@code electionNanos} their election timeout
     * @param replay      the command that replays this run, for failure messages
     */
    static Outcome run(int replicas, Workload.Config config, TortureRun.Schedule schedule, ReplicaFactory factory,
                       boolean staleReads, long leaseNanos, long electionNanos, String replay, Path history,
                       Consumer<String> log) throws IOException {
        SimulatedRun run = new SimulatedRun(replicas, config, schedule, staleReads, log);
        Simulator.Result result;
        try (HistoryWriter writer = HistoryWriter.open(history, () -> run.world.trueNanos())) {
            run.history = writer;
            boolean control = staleReads || factory != ReplicaFactory.REAL;
            result = Simulator.withWorkload(config.seed(), replicas, config.groups(), factory, run,
                    new Simulator.Options(electionNanos, 100 * MS, leaseNanos, 4096, !control, 200_000_000, replay)).run();
        }
        if (!run.finished) {
            throw new IllegalStateException("the simulation stopped after " + result.steps()
                    + " events without finishing its run; replay: " + replay);
        }
        return new Outcome(run.injected, run.failovers, run.recoveries, run.unrecovered, run.lost, result);
    }

    // ------------------------------------------------------------------ SimWorkload

    @Override
    public void start(SimWorld w) {
        this.world = w;
        w.networkFaults(LOSS_RATE, DUPLICATE_RATE);
        endNanos = w.trueNanos() + schedule.duration().toNanos();
        for (int c = 0; c < config.clients(); c++) {
            Client client = new Client(c);
            clients.add(client);
            clientsRunning++;
            w.after(w.random().nextLong(10 * MS), () -> nextTxn(client));
        }
        w.after(schedule.duration().toNanos(), () -> {
            endReached = true;
            maybeStop();
        });
        faultLoopDone = schedule.fault() == FaultKind.NONE;
        if (!faultLoopDone) {
            nextFault();
        }
    }

    @Override
    public boolean finished() {
        return finished;
    }

    @Override
    public StateMachine newMachine() {
        return new ListAppendMachine();
    }

    @Override
    public boolean staleLeaseReads() {
        return staleLeaseReads;
    }

    // ------------------------------------------------------------------ a replica process's answers

    /**
     * A lease read of {@code key} at {@code node}'s replica of {@code group}, which must take requests now, as its
     * host answers it.
     */
    private GroupHost.ReadOutcome read(int node, int group, String key) {
        return world.read(node, group, key.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Appends {@code command} at {@code node}'s replica of {@code group}, which must take requests now; the waiter
     * hears what became of it.
     */
    private void append(int node, int group, byte[] command, Waiter waiter) {
        world.append(node, group, command, o -> {
            switch (o.outcome()) {
                case APPLIED -> waiter.applied(o.result());
                case UNKNOWN -> waiter.lost(o.detail());
                case NOT_APPENDED -> waiter.refused(o.detail());
            }
        });
    }

    /** Hears what became of a proposal at one replica. */
    private interface Waiter {
        void applied(byte[] result);

        /** The leader stepped down after proposing it: it may or may not be decided. */
        void lost(String why);

        /** Certainly not appended. */
        void refused(String why);
    }

    // ------------------------------------------------------------------ clients

    /** One logical client: one transaction at a time; its process id changes after an {@code info}. */
    private final class Client {
        final SplittableRandom random;
        int process;
        long current; // the in-flight attempt, 0 when idle
        long attempts;
        int lastTarget;
        List<MicroOp> txn;
        /** The group the transaction's keys are in. */
        int group;

        Client(int index) {
            this.random = new SplittableRandom(config.seed() * 1_000_003L + index);
            this.process = index;
        }
    }

    private void nextTxn(Client c) {
        if (stopping) {
            clientsRunning--;
            maybeFinish();
            return;
        }
        c.txn = generator.next(c.random);
        c.group = generator.groupOf(c.txn.get(0).key());
        history.invoke(c.process, c.txn);
        long attempt = ++c.attempts;
        c.current = attempt;
        boolean read = c.txn.size() == 1 && c.txn.get(0) instanceof MicroOp.Read;
        world.after(config.opTimeout().toNanos(), () -> {
            if (c.current == attempt && !read) {
                redirect(c.group, c.lastTarget, -1); // as ReplicaClient does when a call fails: try the next replica
            }
            complete(c, attempt, read ? TxnOutcome.fail(c.txn, "no answer within " + config.opTimeout())
                    : TxnOutcome.info(c.txn, "no answer within " + config.opTimeout()));
        });
        if (read) {
            // The target from the simulation's stream, so a client's transactions are those of the same seed elsewhere.
            sendRead(c, attempt, (MicroOp.Read) c.txn.get(0), 1 + world.random().nextInt(replicas), true);
        } else {
            sendWrite(c, attempt, c.txn, 0);
        }
    }

    /** ReplicaClient's rule: follow a hint to another replica, else move on from a replica that failed. */
    private void redirect(int group, int from, int hint) {
        if (hint >= 1 && hint <= replicas && hint != from) {
            leaderGuess[group] = hint;
        } else if (leaderGuess[group] == from) {
            leaderGuess[group] = from % replicas + 1;
        }
    }

    /** A single-key read goes to a random replica; one that does not serve it may point to the leader once. */
    private void sendRead(Client c, long attempt, MicroOp.Read read, int target, boolean followHint) {
        List<MicroOp> txn = List.of(read);
        world.atReplica(target, world.networkDelayNanos(), up -> {
            if (!up) {
                reply(c, attempt, TxnOutcome.fail(txn, "replica " + target + " is down"));
                return;
            }
            GroupHost.ReadOutcome r = read(target, c.group, read.key());
            if (r.served()) {
                List<Long> list = ListAppend.decodeList(r.result());
                reply(c, attempt, TxnOutcome.ok(List.of(new MicroOp.Read(read.key(), list))));
                return;
            }
            String refused = r.refusal();
            int hint = world.leaderHint(target, c.group);
            if (followHint && hint >= 1 && hint <= replicas && hint != target) {
                world.after(world.networkDelayNanos(), () -> sendRead(c, attempt, read, hint, false));
            } else {
                reply(c, attempt, TxnOutcome.fail(txn, refused));
            }
        });
    }

    /**
     * An append goes to the replica the clients believe leads; a replica that does not lead redirects it (its
     * hint, or the next replica), up to {@link #MAX_REDIRECTS} times and only until the client's timeout, as
     * ReplicaClient does.
     */
    private void sendWrite(Client c, long attempt, List<MicroOp> txn, int redirects) {
        if (c.current != attempt) {
            return; // the client gave up on this transaction: never send it again
        }
        int target = leaderGuess[c.group];
        c.lastTarget = target;
        world.atReplica(target, world.networkDelayNanos(), up -> {
            if (!up) {
                world.after(world.networkDelayNanos(), () -> redirect(c.group, target, -1));
                reply(c, attempt, TxnOutcome.fail(txn, "replica " + target + " is down"));
                return;
            }
            if (!world.isLeader(target, c.group)) {
                int hint = world.leaderHint(target, c.group);
                world.after(world.networkDelayNanos(), () -> {
                    redirect(c.group, target, hint);
                    if (redirects < MAX_REDIRECTS) {
                        sendWrite(c, attempt, txn, redirects + 1);
                    } else {
                        complete(c, attempt, TxnOutcome.fail(txn, "replica " + target + " does not lead"));
                    }
                });
                return;
            }
            append(target, c.group, ListAppendTxns.command(txn), new Waiter() {
                @Override
                public void applied(byte[] result) {
                    reply(c, attempt, TxnOutcome.ok(ListAppendTxns.completed(txn, result)));
                }

                @Override
                public void lost(String why) {
                    reply(c, attempt, TxnOutcome.info(txn, why));
                }

                @Override
                public void refused(String why) {
                    reply(c, attempt, TxnOutcome.fail(txn, "replica " + target + " refused the proposal: " + why));
                }
            });
        });
    }

    /** The answer travels back over the network; the client takes the first of answer and timeout. */
    private void reply(Client c, long attempt, TxnOutcome outcome) {
        world.after(world.networkDelayNanos(), () -> complete(c, attempt, outcome));
    }

    private void complete(Client c, long attempt, TxnOutcome outcome) {
        if (c.current != attempt) {
            return; // already answered, or timed out
        }
        c.current = 0;
        c.process = generator.record(history, c.process, c.txn, outcome);
        long pause = outcome.type() == TxnOutcome.Type.OK ? world.random().nextLong(MS)
                : Workload.FAILURE_BACKOFF_MILLIS * MS;
        world.after(pause, () -> nextTxn(c));
    }

    // ------------------------------------------------------------------ the fault schedule (as TortureRun's)

    /** Quiet, then a fault, if a whole window still fits before the end; otherwise the schedule is done. */
    private void nextFault() {
        if (unrecovered > 0 || world.trueNanos() + schedule.quiet().plus(schedule.hold()).toNanos() >= endNanos) {
            faultLoopDone = true;
            maybeStop();
            return;
        }
        world.after(schedule.quiet().toNanos(), () -> awaitLeaderThen(world.trueNanos() + LEADER_WAIT, this::inject));
    }

    private void awaitLeaderThen(long deadline, IntConsumer then) {
        int leader = world.leader(PROBE_GROUP);
        if (leader > 0) {
            then.accept(leader);
        } else if (world.trueNanos() >= deadline) {
            log.accept("no leader within " + LEADER_WAIT / MS + " ms to choose victims by (counted as not recovered);"
                    + " the schedule stops");
            unrecovered++;
            faultLoopDone = true;
            maybeStop();
        } else {
            world.after(PROBE_INTERVAL, () -> awaitLeaderThen(deadline, then));
        }
    }

    private void inject(int leader) {
        List<Integer> others = new ArrayList<>();
        for (int id = 1; id <= replicas; id++) {
            if (id != leader) {
                others.add(id);
            }
        }
        Collections.shuffle(others, new Random(faultRandom.nextLong()));
        Injected fault = inject(schedule.fault(), leader, others);
        injected++;
        long injectedAt = world.trueNanos();
        log.accept("fault " + injected + ": " + fault.description);
        long hold = schedule.hold().toNanos();
        Probe failover = new Probe(injectedAt, injectedAt + hold, (node, served) -> {
            failovers.add(served);
            log.accept("serving again during the fault after " + TortureRun.seconds(served));
        });
        world.after(hold, () -> {
            failover.cancel();
            fault.heal.run();
            long healedAt = world.trueNanos();
            new Probe(healedAt, healedAt + TortureRun.RECOVERY_TIMEOUT.toNanos(), (node, served) -> {
                recoveries.add(served);
                log.accept("healed; serving again after " + TortureRun.seconds(served));
                nextFault();
            }, () -> {
                unrecovered++;
                log.accept("healed; NOT serving within " + TortureRun.RECOVERY_TIMEOUT);
                nextFault();
            }).start();
        });
        failover.start();
    }

    private record Injected(String description, Runnable heal) {
    }

    /**
     * The skip-lease-wait negative control's cores: real ones with the lease wait switched off through
     * {@code io.gnomon.paxos.TestOnlyNegativeControl}, which exists only in txn-coordinator's test classes.
     */
    static ReplicaFactory skipLeaseWait() {
        Consumer<PaxosReplica> hook;
        try {
            hook = NegativeControl.testOnlyLeaseSwitch("skip-lease-wait");
        } catch (IllegalStateException e) {
            throw new IllegalArgumentException(e.getMessage() + "; run with GNOMON_EXTRA_CLASSPATH="
                    + "txn-coordinator/target/test-classes (bin/torture-report sets it)");
        }
        return new ReplicaFactory() {
            @Override
            public PaxosReplica create(PaxosConfig c, long now, TimeInterval tt) {
                return switchedOn(REAL.create(c, now, tt));
            }

            @Override
            public PaxosReplica recover(PaxosConfig c, DurableState.Recovered r, long now, TimeInterval tt) {
                return switchedOn(REAL.recover(c, r, now, tt));
            }

            @Override
            public PaxosReplica joining(PaxosConfig c, long now, TimeInterval tt) {
                return switchedOn(REAL.joining(c, now, tt));
            }

            private PaxosReplica switchedOn(PaxosReplica r) {
                hook.accept(r);
                return r;
            }
        };
    }

    /** The same victims and faults as {@code ReplicaCluster.inject}, through the simulated world. */
    private Injected inject(FaultKind kind, int leader, List<Integer> others) {
        switch (kind) {
            case KILL_FOLLOWER:
                return kill(others.get(0), "follower");
            case KILL_LEADER:
                return kill(leader, "leader");
            case PAUSE_LEADER:
                world.pause(leader);
                return new Injected("SIGSTOP leader " + leader, () -> world.resume(leader));
            case PARTITION_MAJORITY: {
                List<Integer> minority = new ArrayList<>(List.of(leader));
                minority.addAll(others.subList(0, replicas / 2 - 1));
                List<Integer> majority = new ArrayList<>(others.subList(replicas / 2 - 1, others.size()));
                world.partition(List.of(minority, majority));
                return new Injected("partition minority " + minority + " with the leader | majority " + majority,
                        world::healPartitions);
            }
            case PARTITION_BRIDGE: {
                int side = (replicas - 1) / 2;
                List<Integer> a = new ArrayList<>(List.of(leader));
                a.addAll(others.subList(0, side - 1));
                int bridge = others.get(side - 1);
                List<Integer> b = new ArrayList<>(others.subList(side, others.size()));
                world.partition(List.of(a, b));
                return new Injected("partition " + a + " | bridge " + bridge + " | " + b, world::healPartitions);
            }
            case ISOLATE_LEADER:
                world.partition(List.of(List.of(leader), others));
                return new Injected("partition leader " + leader + " isolated", world::healPartitions);
            case PARTITION_ONE_WAY: {
                OneWayCut cut = OneWayCut.choose(faultRandom, leader, others);
                cut.links().forEach(link -> world.cutOneWay(link[0], link[1]));
                return new Injected("partition " + cut.description(), world::healPartitions);
            }
            case CLOCK_DRIFT:
                for (int id = 1; id <= replicas; id++) {
                    world.drift(id, id == leader ? 200_000 : -200_000);
                }
                return new Injected("drift +200 ppm on leader " + leader + ", -200 ppm on the others", this::healClocks);
            case CLOCK_STEP:
                world.stepClock(leader, 200 * MS);
                world.stepClock(others.get(0), -200 * MS);
                return new Injected("step +200 ms on leader " + leader + ", -200 ms on " + others.get(0), this::healClocks);
            case CLOCK_RESTART:
                world.clockUnavailable(leader);
                return new Injected("TrueTime unavailable on leader " + leader, this::healClocks);
            case LOSSY_NETWORK:
                // The simulated network always delays and reorders (up to 300 ms); the fault raises loss and duplication.
                world.networkFaults(FaultKind.LOSSY_LOSS_RATE, FaultKind.LOSSY_DUPLICATE_RATE);
                return new Injected("lossy network: " + (int) (FaultKind.LOSSY_LOSS_RATE * 100) + "% lost, "
                        + (int) (FaultKind.LOSSY_DUPLICATE_RATE * 100) + "% duplicated between replicas",
                        () -> world.networkFaults(LOSS_RATE, DUPLICATE_RATE));
            case MIXED: {
                Injected drift = inject(FaultKind.CLOCK_DRIFT, leader, others);
                Injected other = inject(FaultKind.MIXED_WITH.get(faultRandom.nextInt(FaultKind.MIXED_WITH.size())),
                        leader, others);
                return new Injected(drift.description + " + " + other.description, () -> {
                    other.heal.run();
                    drift.heal.run();
                });
            }
            default:
                throw new IllegalArgumentException("fault " + kind.cli());
        }
    }

    private Injected kill(int id, String role) {
        world.crash(id);
        return new Injected("SIGKILL " + role + " " + id, () -> world.restart(id));
    }

    private void healClocks() {
        for (int id = 1; id <= replicas; id++) {
            world.healClock(id);
        }
    }

    /**
     * Whether the group serves, as the process harness probes it: some replica answers a lease read (leads, has a
     * valid lease, has applied its read fence) and a probe append proposed there is applied. Looks every
     * {@link #PROBE_INTERVAL} until {@code deadline}; reports the time from {@code since}.
     */
    private final class Probe {
        private final long since;
        private final long deadline;
        private final Served onServed;
        private final Runnable onDeadline;
        private boolean done;
        private long attemptUntil = Long.MIN_VALUE;
        private long probeValue;

        Probe(long since, long deadline, Served onServed) {
            this(since, deadline, onServed, () -> { });
        }

        Probe(long since, long deadline, Served onServed, Runnable onDeadline) {
            this.since = since;
            this.deadline = deadline;
            this.onServed = onServed;
            this.onDeadline = onDeadline;
        }

        void start() {
            look();
        }

        void cancel() {
            done = true;
        }

        private void look() {
            if (done) {
                return;
            }
            long now = world.trueNanos();
            if (now >= deadline) {
                done = true;
                onDeadline.run();
                return;
            }
            if (now >= attemptUntil) {
                int leader = world.leader(PROBE_GROUP);
                if (leader > 0 && world.available(leader) && read(leader, PROBE_GROUP, PROBE_KEY).served()) {
                    byte[] append = ListAppend.encodeTxn(List.of(ListAppend.Op.append(PROBE_KEY, ++probeValue)));
                    attemptUntil = now + PROBE_ATTEMPT;
                    append(leader, PROBE_GROUP, append, new Waiter() {
                        @Override
                        public void applied(byte[] result) {
                            if (!done && world.trueNanos() < deadline) {
                                done = true;
                                onServed.served(leader, Duration.ofNanos(world.trueNanos() - since));
                            }
                        }

                        @Override
                        public void lost(String why) {
                            attemptUntil = Long.MIN_VALUE;
                        }

                        @Override
                        public void refused(String why) {
                            attemptUntil = Long.MIN_VALUE;
                        }
                    });
                }
            }
            world.after(PROBE_INTERVAL, this::look);
        }
    }

    /** A probe's success: the replica that served, and how long after the probe's start. */
    private interface Served {
        void served(int node, Duration after);
    }

    // ------------------------------------------------------------------ the end

    /** Clients stop once the run's time is up and the fault schedule has healed its last fault. */
    private void maybeStop() {
        if (endReached && faultLoopDone && !stopping) {
            stopping = true;
            maybeFinish();
        }
    }

    /** Once every client has stopped: wait until the group serves, then read every key at the leader. */
    private void maybeFinish() {
        if (!stopping || clientsRunning > 0) {
            return;
        }
        finalReads(world.trueNanos() + TortureRun.RECOVERY_TIMEOUT.toNanos());
    }

    /**
     * Lease reads of every key at its group's leader, once the probe group serves; if one is refused (no leader yet,
     * or its lease lapsed), probe again.
     */
    private void finalReads(long deadline) {
        new Probe(world.trueNanos(), deadline, (probed, served) -> {
            long missing = 0;
            for (Map.Entry<String, Set<Long>> e : new TreeMap<>(generator.acknowledged()).entrySet()) {
                int group = generator.groupOf(e.getKey());
                int leader = world.leader(group);
                GroupHost.ReadOutcome r = leader > 0 && world.available(leader) ? read(leader, group, e.getKey()) : null;
                if (r == null || !r.served()) {
                    world.after(PROBE_INTERVAL, () -> finalReads(deadline));
                    return;
                }
                Set<Long> present = Set.copyOf(ListAppend.decodeList(r.result()));
                missing += e.getValue().stream().filter(v -> !present.contains(v)).count();
            }
            lost = missing;
            finished = true;
        }, () -> {
            log.accept("final reads: the group did not serve within " + TortureRun.RECOVERY_TIMEOUT);
            finished = true;
        }).start();
    }
}
