package io.gnomon.paxos.sim;

import io.gnomon.paxos.Ballot;
import io.gnomon.paxos.DurableState;
import io.gnomon.paxos.Entry;
import io.gnomon.paxos.Message;
import io.gnomon.paxos.Output;
import io.gnomon.paxos.PaxosConfig;
import io.gnomon.paxos.PaxosLimits;
import io.gnomon.paxos.PaxosReplica;
import io.gnomon.paxos.PersistWrite;
import io.gnomon.paxos.runtime.GroupHost;
import io.gnomon.paxos.runtime.GroupLog;
import io.gnomon.paxos.runtime.GroupLoop;
import io.gnomon.paxos.runtime.InMemoryMachine;
import io.gnomon.paxos.runtime.StateMachine;
import io.gnomon.paxos.server.StoredMachines;
import io.gnomon.paxos.store.StoreOpenException;
import io.gnomon.txn.CommitOutcome;
import io.gnomon.txn.CommitRequest;
import io.gnomon.txn.TxnHost;
import io.gnomon.txn.TxnId;
import io.gnomon.txn.TxnMachine;
import io.gnomon.txn.TxnMessage;
import io.gnomon.txn.TxnQueryCodec;
import io.gnomon.txn.TxnRecordCodec;
import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.ClockUnavailableException;
import io.gnomon.truetime.TimeInterval;
import io.gnomon.truetime.TrueTime;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * A deterministic simulation of one Paxos group: real {@link PaxosReplica} cores, a simulated network (delay,
 * loss, duplication, reordering, partitions), disks that lose unsynced writes on a crash, restarts from the
 * synced state, and TrueTime intervals around simulated true time with bounded error and drift. One seeded
 * {@link SplittableRandom} drives everything on one thread, so a seed replays byte for byte.
 *
 * <p>Checked after every step: agreement (one value per slot across all replicas and incarnations), validity
 * (a decided value was proposed), slot order of application, snapshots equal to the decided prefix, TrueTime
 * soundness, and leases: the true-time intervals in which different leaders (or incarnations) could serve lease
 * reads never overlap, and a served lease read happened inside its leader's lease.
 *
 * <p>With a {@link SimWorkload} (see {@link #withWorkload}) the simulator's own random client, faults, membership
 * changes and lease reads are replaced by the workload's, which acts through a {@link SimWorld}: the
 * verification harness runs its list-append workload and history checker this way. A workload whose {@link
 * SimWorkload#transactional} is set gets transactions (issue 20): every group's replica is a {@link TxnHost} over a
 * {@link TxnMachine} in its process's versioned store, attached to the process's loop as a replica server attaches
 * it, its messages to other groups' leaders carried by the simulated network; the workload reaches it through
 * {@link SimWorld}'s transaction methods.
 */
public final class Simulator {
    static final long MS = TimeUnit.MILLISECONDS.toNanos(1);
    static final long START_EPOCH_NANOS = 1_767_225_600_000_000_000L; // 2026-01-01T00:00:00Z
    static final long MAX_DRIFT_PPB = 200_000; // 200 ppm, Spanner's assumption
    static final int MAX_VALUE_BYTES = 128;
    /**
     * Loop threads of a simulated process (never more than it has groups): its groups dealt round-robin, each loop
     * with its own turn, sync and wake-ups, as a replica server's pool of loop threads runs them.
     */
    static final int LOOPS_PER_PROCESS = 2;

    /**
     * The simulator's own fault schedule (without a workload). {@code RANDOM}: the mix described in docs/paxos.md.
     * {@code SHORTER_LEASE_RESTART} (issue 16), a cycle aimed at a restart with a shorter lease: the leader is cut
     * from the replicas outside one majority it leads with until their grants lapse, so its lease rests on the
     * grants of that majority; then one of those grantors crashes as the leader is isolated, and restarts soon
     * after with a lease of at most half the one it granted with. The replicas the leader lost, with the restarted
     * one, form a majority that can elect at once if the restarted replica forgets its grant, while the isolated
     * leader still serves lease reads on it. No membership changes: {@code SHORTER_LEASE_RESTART_RECONFIG} is the
     * same cycle with them, which found a lease held two configuration changes back outlasting the next leader's
     * wait until a leader waited it out before proposing a change (docs/paxos.md, "The lease rule").
     */
    public enum Scenario {
        RANDOM("random", true), SHORTER_LEASE_RESTART("shorter-lease-restart", false),
        SHORTER_LEASE_RESTART_RECONFIG("shorter-lease-restart-reconfig", true);

        private final String cliName;
        private final boolean membershipChanges;

        Scenario(String cliName, boolean membershipChanges) {
            this.cliName = cliName;
            this.membershipChanges = membershipChanges;
        }

        /** The name {@code bin/paxos-sim --scenario} takes. */
        public String cliName() {
            return cliName;
        }

        /** The scenario {@code --scenario name} names; IllegalArgumentException listing the names otherwise. */
        public static Scenario named(String name) {
            for (Scenario s : values()) {
                if (s.cliName.equals(name)) {
                    return s;
                }
            }
            throw new IllegalArgumentException("--scenario " + name
                    + ": use random, shorter-lease-restart or shorter-lease-restart-reconfig");
        }
    }

    /** The result of one seed. */
    public record Result(long seed, int replicas, int steps, long simulatedNanos, long decidedSlots,
                         int leaderships, int leaseReads, int crashes, int configChanges, long traceHash) {
    }

    /**
     * A workload run's timing and sizes.
     *
     * @param electionTimeoutNanos a follower that hears no leader for this long campaigns
     * @param heartbeatNanos       how often a leader sends heartbeats (and renews its lease)
     * @param leaseNanos           the lease a majority grants a leader
     * @param maxValueBytes        the largest command a replica accepts
     * @param checkLeases          whether the simulator itself fails the run on overlapping leases or a lease read
     *                             outside its lease (off for a negative control, which the history checker must
     *                             catch on its own)
     * @param maxSteps             a guard: the run stops after this many events even if the workload has not finished
     * @param replay               the command that replays this run, for failure messages
     */
    public record Options(long electionTimeoutNanos, long heartbeatNanos, long leaseNanos, int maxValueBytes,
                          boolean checkLeases, int maxSteps, String replay) {
    }

    private final long seed;
    private final int n;
    /** Groups per process: every process hosts a replica of each, dealt over its loops, one log and one transport. */
    private final int groups;
    private final int steps;
    private final ReplicaFactory factory;
    private final SplittableRandom rng;
    private final SimWorkload workload; // null: the simulator's own random client and faults
    /** A transactional workload's setup (every group a TxnHost over a TxnMachine); null otherwise. */
    private final SimWorkload.Transactions txn;
    private Path storeRoot;
    private final Options options;
    private final Scenario scenario;
    // SHORTER_LEASE_RESTART's cycle: which phase comes next, and the leader and grantor it is about.
    private int cyclePhase;
    private int cycleLeader;
    private int cycleGrantor;

    private long trueNanos = START_EPOCH_NANOS;
    private long seq;
    private long traceHash = 0xcbf29ce484222325L;
    private final PriorityQueue<Event> events = new PriorityQueue<>();
    private final Node[] nodes;
    private final boolean[][] connected;
    private double lossRate;
    private double duplicateRate;

    // Ground truth for the checks, per group (index = group id, 1..groups).
    private final HashMap<Long, String>[] chosen;
    private final ArrayList<Long>[] prefixHash;
    /** Per group: the hash of what state machines applied through each slot (PrefixCheckedMachine's ground truth). */
    private final ArrayList<Long>[] machineHash;
    private final HashSet<String> proposed = new HashSet<>(); // "group:command"
    private final TreeMap<String, long[]>[] leases;
    private long valueCounter;
    private int leaderships;
    private int leaseReads;
    private int crashes;
    private int configChanges;

    public Simulator(long seed, int replicas, int steps, ReplicaFactory factory) {
        this(seed, replicas, steps, factory, Scenario.RANDOM);
    }

    /** One seed of {@code scenario} (see {@link Scenario}). */
    public Simulator(long seed, int replicas, int steps, ReplicaFactory factory, Scenario scenario) {
        this(seed, replicas, 1, steps, factory, scenario);
    }

    /**
     * One seed of {@code scenario} with {@code groups} Paxos groups: every process hosts a replica of each group,
     * the groups dealt over its {@link #LOOPS_PER_PROCESS} loops ({@code GroupLoop}), each loop with its own turn
     * and one sync per turn for its groups that wrote, and one transport; a crash loses the unsynced writes of every
     * group on the process.
     */
    public Simulator(long seed, int replicas, int groups, int steps, ReplicaFactory factory, Scenario scenario) {
        this(seed, replicas, groups, steps, factory, null,
                new Options(150 * MS, 40 * MS, 400 * MS, MAX_VALUE_BYTES, true, steps,
                        replayCommand(seed, replicas, groups, steps, scenario)), scenario);
    }

    /**
     * A simulated group of {@code replicas} running {@code workload} (see {@link SimWorkload}); {@link #run} stops
     * when the workload has finished.
     */
    public static Simulator withWorkload(long seed, int replicas, ReplicaFactory factory, SimWorkload workload,
                                         Options options) {
        return withWorkload(seed, replicas, 1, factory, workload, options);
    }

    /** As {@link #withWorkload(long, int, ReplicaFactory, SimWorkload, Options)} with {@code groups} groups. */
    public static Simulator withWorkload(long seed, int replicas, int groups, ReplicaFactory factory,
                                         SimWorkload workload, Options options) {
        return new Simulator(seed, replicas, groups, options.maxSteps(), factory, workload, options, Scenario.RANDOM);
    }

    @SuppressWarnings("unchecked")
    private Simulator(long seed, int replicas, int groups, int steps, ReplicaFactory factory, SimWorkload workload,
                      Options options, Scenario scenario) {
        if (replicas != 3 && replicas != 5) {
            throw new IllegalArgumentException("replicas must be 3 or 5, was " + replicas);
        }
        if (groups < 1 || groups > 1024) {
            throw new IllegalArgumentException("groups must be 1 to 1024, was " + groups);
        }
        this.seed = seed;
        this.n = replicas;
        this.groups = groups;
        this.chosen = new HashMap[groups + 1];
        this.prefixHash = new ArrayList[groups + 1];
        this.machineHash = new ArrayList[groups + 1];
        this.leases = new TreeMap[groups + 1];
        for (int g = 1; g <= groups; g++) {
            chosen[g] = new HashMap<>();
            prefixHash[g] = new ArrayList<>(List.of(0L));
            machineHash[g] = new ArrayList<>(List.of(0L));
            leases[g] = new TreeMap<>();
        }
        this.steps = steps;
        this.factory = factory;
        this.workload = workload;
        this.txn = workload == null ? null : workload.transactional();
        this.options = options;
        this.scenario = scenario;
        this.rng = new SplittableRandom(seed);
        this.nodes = new Node[n + 2]; // ids 1..n, plus n+1: a spare that membership changes add and remove
        this.connected = new boolean[n + 2][n + 2];
        for (boolean[] row : connected) {
            Arrays.fill(row, true);
        }
        List<Integer> members = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            members.add(i);
        }
        for (int id = 1; id <= n + 1; id++) {
            Node node = new Node(id, members);
            nodes[id] = node;
            node.newLoops();
            for (int g = 1; g <= groups; g++) {
                PaxosConfig c = node.configFor(g, rng.nextLong(), options.leaseNanos());
                node.startGroup(this, g, c, id <= n ? factory.create(c, node.monotonicNanos(), node.trueTime())
                        : factory.joining(c, node.monotonicNanos(), node.trueTime()));
            }
            for (int l = 0; l < node.loops.length; l++) {
                schedule(rng.nextLong(10 * MS), Kind.TICK, id, l, null, null);
            }
        }
        if (workload == null) {
            schedule(50 * MS, Kind.CLIENT, 0, null);
            schedule(300 * MS, Kind.FAULT, 0, null);
            schedule(20 * MS, Kind.LEASE_READ, 0, null);
        }
    }

    /** The command that replays a seed. */
    public static String replayCommand(long seed, int replicas, int steps) {
        return replayCommand(seed, replicas, steps, Scenario.RANDOM);
    }

    /** The command that replays a seed of {@code scenario}. */
    public static String replayCommand(long seed, int replicas, int steps, Scenario scenario) {
        return replayCommand(seed, replicas, 1, steps, scenario);
    }

    /** The command that replays a seed of {@code scenario} with {@code groups} groups. */
    public static String replayCommand(long seed, int replicas, int groups, int steps, Scenario scenario) {
        return "bin/paxos-sim --replay " + seed + " --replicas " + replicas + (groups == 1 ? "" : " --groups " + groups)
                + " --steps " + steps + (scenario == Scenario.RANDOM ? "" : " --scenario " + scenario.cliName());
    }

    public Result run() {
        int step = 0;
        try {
            if (workload != null) {
                workload.start(new World());
            }
            for (; step < steps && !events.isEmpty() && (workload == null || !workload.finished()); step++) {
                Event e = events.poll();
                trueNanos = e.atTrueNanos;
                mix(e.kind.ordinal());
                mix(e.node);
                mix(trueNanos);
                handle(e);
                checkLeases();
            }
        } catch (SimulationFailure f) {
            throw f;
        } catch (Throwable t) {
            throw failure("step " + step + ": " + t, t);
        } finally {
            closeStores();
        }
        long decided = 0;
        for (int g = 1; g <= groups; g++) {
            decided += prefixHash[g].size() - 1;
        }
        return new Result(seed, n, step, trueNanos - START_EPOCH_NANOS, decided, leaderships, leaseReads,
                crashes, configChanges, traceHash);
    }

    // ------------------------------------------------------------------ events

    private enum Kind { DELIVER, TICK, SYNC, CLIENT, FAULT, LEASE_READ, RESTART, CALL, REPLICA_CALL, WAKE, TXN_DELIVER }

    /** A transaction message between groups' leaders in flight (a TXN_DELIVER's action). */
    private record TxnDelivery(int from, long fromGroup, TxnMessage message) {
    }

    /**
     * {@code action}: a workload's {@link Runnable} (CALL) or {@link SimWorld.ReplicaAction} (REPLICA_CALL); {@code
     * group}: a DELIVER's group, or the index of the process's loop a TICK, SYNC or WAKE is for.
     */
    private record Event(long atTrueNanos, long seq, Kind kind, int node, int group, Message message, Object action)
            implements Comparable<Event> {
        @Override
        public int compareTo(Event o) {
            int c = Long.compare(atTrueNanos, o.atTrueNanos);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }

    private void schedule(long delayNanos, Kind kind, int node, Message m) {
        schedule(delayNanos, kind, node, 0, m, null);
    }

    private void schedule(long delayNanos, Kind kind, int node, Message m, Object action) {
        schedule(delayNanos, kind, node, 0, m, action);
    }

    private void schedule(long delayNanos, Kind kind, int node, int group, Message m, Object action) {
        events.add(new Event(trueNanos + delayNanos, seq++, kind, node, group, m, action));
    }

    private void handle(Event e) {
        if (e.node >= 1 && e.node < nodes.length && (nodes[e.node].paused || nodes[e.node].blockedFor(e))) {
            nodes[e.node].deferred.add(e); // a stopped process, or a loop blocked in its sync, handles nothing yet
            return;
        }
        switch (e.kind) {
            case DELIVER -> {
                Node node = nodes[e.node];
                Message m = e.message;
                if (!node.up()) {
                    return;
                }
                if (m.from() != m.to() && m.from() >= 1 && m.from() < nodes.length && !connected[m.from()][m.to()]) {
                    return; // a partition cut the link while the message was in flight
                }
                if (node.clockOut) {
                    return; // as a replica process does: no TrueTime, the input is dropped
                }
                mix(m.getClass().getSimpleName().hashCode());
                mix(m.from());
                mix(e.group);
                node.turn(this, e.group, loop -> loop.onMessage(e.group, m));
            }
            case TICK -> {
                Node node = nodes[e.node];
                if (node.up() && !node.clockOut) {
                    node.turnOn(this, node.loops[e.group], loop -> loop.tickDue(node.monotonicNanos()));
                    node.maybeResync();
                }
                schedule(10 * MS + rng.nextLong(2 * MS), Kind.TICK, e.node, e.group, null, null);
            }
            case WAKE -> {
                Node node = nodes[e.node];
                if (node.up()) {
                    node.loops[e.group].wakeAtTrueNanos = 0;
                    if (txn != null && !node.clockOut) { // a transaction host's timer (commit-wait, a read) is due
                        node.turnOn(this, node.loops[e.group], loop -> loop.tickDue(node.monotonicNanos()));
                    } else {
                        node.turnOn(this, node.loops[e.group], loop -> { });
                    }
                }
            }
            case TXN_DELIVER -> {
                Node node = nodes[e.node];
                TxnDelivery d = (TxnDelivery) e.action;
                if (!node.up() || node.clockOut || (d.from() != e.node && !connected[d.from()][e.node])) {
                    return; // down, no TrueTime (inputs dropped, as for Paxos messages), or cut off in flight
                }
                mix(d.message().getClass().getSimpleName().hashCode());
                mix(d.from());
                node.turn(this, e.group, loop -> loop.with(e.group, h -> node.txnHosts[e.group].message(d.message(), d.fromGroup())));
            }
            case SYNC -> nodes[e.node].sync(this, e.group);
            case CLIENT -> {
                client();
                schedule(rng.nextLong(40 * MS) + 1, Kind.CLIENT, 0, null);
            }
            case FAULT -> {
                if (scenario == Scenario.RANDOM) {
                    fault();
                    schedule(rng.nextLong(600 * MS) + 1, Kind.FAULT, 0, null);
                } else {
                    schedule(shorterLeaseRestartCycle(), Kind.FAULT, 0, null);
                }
            }
            case LEASE_READ -> {
                leaseRead();
                schedule(rng.nextLong(30 * MS) + 1, Kind.LEASE_READ, 0, null);
            }
            case RESTART -> restart(nodes[e.node]);
            case CALL -> ((Runnable) e.action).run();
            case REPLICA_CALL -> ((SimWorld.ReplicaAction) e.action).run(nodes[e.node].up());
        }
    }

    private void client() {
        int g = 1 + rng.nextInt(groups);
        List<Node> leaders = new ArrayList<>();
        List<Node> live = new ArrayList<>();
        for (int id = 1; id < nodes.length; id++) {
            if (nodes[id].takesInput(g)) {
                live.add(nodes[id]);
                if (nodes[id].core(g).isLeader()) {
                    leaders.add(nodes[id]);
                }
            }
        }
        if (live.isEmpty()) {
            return;
        }
        Node target = !leaders.isEmpty() && rng.nextInt(10) > 0 ? leaders.get(rng.nextInt(leaders.size()))
                : live.get(rng.nextInt(live.size()));
        int roll = rng.nextInt(100);
        if (roll < 3 && scenario.membershipChanges) {
            target.nextMembershipChange(this, g);
            return;
        }
        if (roll < 5) {
            badInput(target, g);
            return;
        }
        int count = 1 + rng.nextInt(5);
        List<byte[]> commands = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            boolean oversized = rng.nextInt(50) == 0;
            String v = "s" + seed + "v" + (valueCounter++);
            int room = MAX_VALUE_BYTES - GroupHost.TAG_BYTES;
            byte[] b = Arrays.copyOf(v.getBytes(StandardCharsets.UTF_8),
                    oversized ? room + 1 : Math.max(v.length(), rng.nextInt(room)));
            if (target.host(g).validate(b) == null) { // a server refuses the others at its door
                proposed.add(g + ":" + commandKey(b));
                commands.add(b);
            } else if (!oversized) {
                throw failure("the host refused a command within the limit: " + b.length + " bytes", null);
            }
        }
        target.turn(this, g, loop -> commands.forEach(c -> loop.append(g, c, outcome -> { })));
    }

    /** Inputs a real network or a confused peer could produce: none may throw or break safety. */
    private void badInput(Node target, int g) {
        int me = target.id;
        PaxosReplica core = target.core(g);
        Message m = switch (rng.nextInt(4)) {
            case 0 -> new Message.Accept(77, me, core.configId(), new Ballot(1, 77), 0,
                    List.of(Entry.value(new byte[] {1})), 0, Long.MIN_VALUE); // unknown replica
            case 1 -> new Message.Decide(1 + rng.nextInt(n), me, core.configId(),
                    new Ballot(core.promised().round() + 1 + rng.nextInt(1000), 1 + rng.nextInt(n)),
                    Long.MAX_VALUE / 4, Long.MIN_VALUE); // a ballot from the future
            case 2 -> new Message.Accept(1 + rng.nextInt(n), me, core.configId(),
                    core.promised(), 0, List.of(Entry.value(new byte[MAX_VALUE_BYTES + 1])), 0,
                    Long.MIN_VALUE); // a value over the size limit
            default -> new Message.Accepted(1 + rng.nextInt(n), me + 1, core.configId(),
                    core.promised(), 3, Long.MIN_VALUE); // for someone else
        };
        target.turn(this, g, loop -> loop.with(g, h -> {
            Output out = h.onMessage(m);
            if (out != null && out.diagnostics().isEmpty() && !(m instanceof Message.Decide)) {
                throw failure("bad input accepted without a diagnostic: " + m, null);
            }
        }));
    }

    private void fault() {
        int roll = rng.nextInt(100);
        if (roll < 15) {
            for (boolean[] row : connected) {
                Arrays.fill(row, true); // heal
            }
        } else if (roll < 30) {
            partition(randomSplit());
        } else if (roll < 40) {
            int leader = currentLeader();
            if (leader > 0) {
                boolean[] side = new boolean[nodes.length];
                side[leader] = true;
                partition(side); // isolate the leader
            }
        } else if (roll < 47) {
            bridge();
        } else if (roll < 62) {
            Node victim = nodes[1 + rng.nextInt(nodes.length - 1)];
            if (victim.up()) {
                crash(victim);
                schedule(rng.nextLong(2_000 * MS) + MS, Kind.RESTART, victim.id, null);
            }
        } else if (roll < 72) {
            lossRate = rng.nextInt(4) == 0 ? 0.0 : rng.nextDouble() * 0.3;
            duplicateRate = rng.nextDouble() * 0.1;
        } else {
            Node node = nodes[1 + rng.nextInt(nodes.length - 1)];
            node.setDrift(rng.nextLong(-MAX_DRIFT_PPB, MAX_DRIFT_PPB + 1)); // a new drift within the bound
            node.resync();
        }
    }

    /** One phase of {@link Scenario#SHORTER_LEASE_RESTART}'s cycle; returns the delay until the next phase. */
    private long shorterLeaseRestartCycle() {
        long lease = options.leaseNanos();
        switch (cyclePhase) {
            case 0 -> { // a leader, and a majority it leads with: cut it from the other replicas
                int leader = currentLeader();
                if (leader < 0) {
                    return 50 * MS + rng.nextLong(100 * MS); // wait for one
                }
                List<Integer> others = new ArrayList<>(nodes[leader].core(1).members());
                others.remove(Integer.valueOf(leader));
                int majority = nodes[leader].core(1).members().size() / 2 + 1;
                ArrayList<Integer> grantors = new ArrayList<>();
                while (grantors.size() < majority - 1 && !others.isEmpty()) {
                    grantors.add(others.remove(rng.nextInt(others.size())));
                }
                for (int o : others) {
                    connected[leader][o] = false;
                    connected[o][leader] = false;
                }
                cycleLeader = leader;
                cycleGrantor = grantors.isEmpty() ? leader : grantors.get(0);
                cyclePhase = 1;
                return lease + rng.nextLong(lease); // the cut-off replicas' grants to the leader lapse
            }
            case 1 -> { // a grantor dies as the leader is isolated, and restarts soon with a shorter lease
                Node grantor = nodes[cycleGrantor];
                if (grantor.up() && cycleGrantor != cycleLeader) {
                    boolean[] side = new boolean[nodes.length];
                    side[cycleLeader] = true;
                    partition(side);
                    crash(grantor);
                    grantor.restartLeaseNanos = options.heartbeatNanos() + MS
                            + rng.nextLong(Math.max(1, lease / 2 - options.heartbeatNanos() - MS));
                    schedule(MS + rng.nextLong(lease / 2), Kind.RESTART, grantor.id, null);
                }
                cyclePhase = 2;
                return lease + rng.nextLong(2 * lease);
            }
            default -> { // heal; the next cycle starts after the group settles
                for (boolean[] row : connected) {
                    Arrays.fill(row, true);
                }
                lossRate = rng.nextInt(2) == 0 ? 0.0 : rng.nextDouble() * 0.1;
                duplicateRate = rng.nextDouble() * 0.05;
                cyclePhase = 0;
                return 300 * MS + rng.nextLong(700 * MS);
            }
        }
    }

    private boolean[] randomSplit() {
        boolean[] side = new boolean[nodes.length];
        for (int i = 1; i < nodes.length; i++) {
            side[i] = rng.nextBoolean();
        }
        return side;
    }

    private void partition(boolean[] side) {
        for (int a = 1; a < nodes.length; a++) {
            for (int b = 1; b < nodes.length; b++) {
                connected[a][b] = side[a] == side[b];
            }
        }
    }

    /** Two halves that cannot talk, and one replica that talks to both. */
    private void bridge() {
        boolean[] side = randomSplit();
        int bridge = 1 + rng.nextInt(nodes.length - 1);
        partition(side);
        for (int b = 1; b < nodes.length; b++) {
            connected[bridge][b] = true;
            connected[b][bridge] = true;
        }
    }

    /** A replica that believes it leads group 1 (the one the scenario's cycle is about), or -1. */
    private int currentLeader() {
        for (int id = 1; id < nodes.length; id++) {
            if (nodes[id].up() && nodes[id].core(1).isLeader()) {
                return id;
            }
        }
        return -1;
    }

    private void crash(Node node) {
        crashes++;
        mix(-node.id);
        String key = node.leaseKeyPrefix();
        for (int g = 1; g <= groups; g++) {
            for (var e : leases[g].entrySet()) {
                if (e.getKey().startsWith(key)) {
                    e.getValue()[1] = Math.min(e.getValue()[1], trueNanos); // a dead process serves nothing
                }
            }
        }
        node.crash(rng);
    }

    private void restart(Node node) {
        if (node.up()) {
            return;
        }
        node.incarnation++;
        long leaseNanos = options.leaseNanos();
        if (node.restartLeaseNanos > 0) {
            leaseNanos = node.restartLeaseNanos;
            node.restartLeaseNanos = 0;
        }
        node.newLoops();
        for (int g = 1; g <= groups; g++) {
            PaxosConfig c = node.configFor(g, rng.nextLong(), leaseNanos);
            node.startGroup(this, g, c, factory.recover(c, node.disks[g].toRecovered(), node.monotonicNanos(),
                    node.trueTime()));
        }
        for (Node.Loop l : node.loops) {
            if (node.up()) { // a turn's sync may fail a check; the process stays up either way
                node.turnOn(this, l, GroupLoop::tickAll);
            }
        }
    }

    /** A lease read at a random replica, served as a replica server serves one (GroupHost.read). */
    private void leaseRead() {
        Node node = nodes[1 + rng.nextInt(nodes.length - 1)];
        int g = 1 + rng.nextInt(groups);
        if (!node.takesInput(g)) {
            return; // a stopped process, or one whose loop of g is blocked in its sync, answers nothing now
        }
        if (node.host(g).read(new byte[0]).served()) {
            checkLeaseRead(node, g);
        }
    }

    /** A lease read {@code node} serves now must lie inside its own lease and no other leader's, in true time. */
    private void checkLeaseRead(Node node, int g) {
        leaseReads++;
        if (!options.checkLeases()) {
            return;
        }
        String key = node.leaseKey(g);
        long[] lease = leases[g].get(key);
        if (lease == null || trueNanos < lease[0] || trueNanos > lease[1]
                || trueNanos >= node.core(g).leaseEndEpochNanos()) {
            throw failure("replica " + node.id + " of group " + g + " served a lease read at true time " + trueNanos
                    + " outside its lease " + (lease == null ? "none" : Arrays.toString(lease)), null);
        }
        for (var e : leases[g].entrySet()) {
            if (!e.getKey().equals(key) && !sameProcess(e.getKey(), key)
                    && e.getValue()[0] <= trueNanos && trueNanos <= e.getValue()[1]) {
                throw failure("lease read by " + key + " of group " + g + " at " + trueNanos + " inside the lease of "
                        + e.getKey() + " " + Arrays.toString(e.getValue()), null);
            }
        }
    }

    // ------------------------------------------------------------------ outputs and checks

    void send(int group, Message m) {
        if (m.from() == m.to()) {
            schedule(1_000, Kind.DELIVER, m.to(), group, m, null); // loopback: not lost, only after the writes synced
            return;
        }
        if (m.to() < 1 || m.to() >= nodes.length) {
            return;
        }
        if (rng.nextDouble() < lossRate) {
            return;
        }
        schedule(delay(), Kind.DELIVER, m.to(), group, m, null);
        if (rng.nextDouble() < duplicateRate) {
            schedule(delay(), Kind.DELIVER, m.to(), group, m, null);
        }
    }

    /**
     * A transaction host's message from {@code from}'s replica of a group to {@code toGroup}'s leader, as the sending
     * process knows it (its own replica's leader hint; every replica of the group when it has none: a follower's core
     * ignores transaction messages), over the same lossy, duplicating, reordering, partitioned network.
     */
    void sendTxn(int from, long fromGroup, int toGroup, TxnMessage m) {
        Node sender = nodes[from];
        int hint = sender.up() ? sender.core(toGroup).leaderHint() : -1;
        for (int to = 1; to <= n; to++) {
            if (hint >= 1 && to != hint) {
                continue;
            }
            if (to == from) {
                schedule(1_000, Kind.TXN_DELIVER, to, toGroup, null, new TxnDelivery(from, fromGroup, m));
                continue;
            }
            if (rng.nextDouble() < lossRate) {
                continue;
            }
            schedule(delay(), Kind.TXN_DELIVER, to, toGroup, null, new TxnDelivery(from, fromGroup, m));
            if (rng.nextDouble() < duplicateRate) {
                schedule(delay(), Kind.TXN_DELIVER, to, toGroup, null, new TxnDelivery(from, fromGroup, m));
            }
        }
    }

    /** A transaction host's answer travels back to its client: after a network delay, never lost. */
    private void answer(Consumer<Object> client, Object answer) {
        schedule(delay(), Kind.CALL, 0, null, (Runnable) () -> client.accept(answer));
    }

    /** Closes every process's versioned store and removes the run's data (transactional runs). */
    private void closeStores() {
        if (txn == null) {
            return;
        }
        for (int id = 1; id < nodes.length; id++) {
            if (nodes[id] != null) {
                nodes[id].closeStore();
            }
        }
        if (storeRoot == null) {
            return;
        }
        try (Stream<Path> files = Files.walk(storeRoot)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException("removing the simulation's stores in " + storeRoot, e);
        }
        storeRoot = null;
    }

    /** Where this seed's processes keep their stores: a fresh directory under the workload's, made at first use. */
    private Path storeRoot() {
        if (storeRoot == null) {
            try {
                Files.createDirectories(txn.dataDir());
                storeRoot = Files.createTempDirectory(txn.dataDir(), "sim-seed-" + seed + "-");
            } catch (IOException e) {
                throw new UncheckedIOException("cannot make a directory for the simulation's stores in "
                        + txn.dataDir() + ": " + e.getMessage(), e);
            }
        }
        return storeRoot;
    }

    private long delay() {
        return rng.nextInt(20) == 0 ? rng.nextLong(300 * MS) + 1 : 100_000 + rng.nextLong(5 * MS);
    }

    void decided(Node node, int g, Output.Decided d) {
        String k = key(d.entry());
        Node.GroupReplica r = node.groupReplicas[g];
        if (d.slot() != r.appliedIndex) {
            throw failure("replica " + node.id + " of group " + g + " applied slot " + d.slot() + ", expected "
                    + r.appliedIndex, null);
        }
        if (!d.entry().isConfig() && !proposed.contains(g + ":" + commandKey(d.entry()))) {
            throw failure("replica " + node.id + " of group " + g + " decided slot " + d.slot() + " = " + k
                    + ", never proposed to that group", null);
        }
        String prior = chosen[g].putIfAbsent(d.slot(), k);
        if (prior != null && !prior.equals(k)) {
            throw failure("agreement broken in group " + g + " at slot " + d.slot() + ": replica " + node.id
                    + " decided " + k + ", another replica decided " + prior, null);
        }
        r.appliedIndex++;
        r.appliedHash = r.appliedHash * 1_000_003L + k.hashCode();
        if (prefixHash[g].size() == d.slot() + 1) {
            prefixHash[g].add(r.appliedHash);
        } else if (prefixHash[g].get((int) d.slot() + 1) != r.appliedHash) {
            throw failure("replica " + node.id + " of group " + g + " applied a different history through slot "
                    + d.slot(), null);
        }
        mix(d.slot());
        mix(k.hashCode());
        if (d.entry().isConfig() && prior == null) {
            configChanges++; // once per decided change, not once per replica that applies it
        }
    }

    /**
     * The core installs a snapshot: the decided entries it re-delivers next start at its end. (The state the
     * machine installs is checked by PrefixCheckedMachine, chunk by chunk.)
     */
    void installed(Node node, int g, io.gnomon.paxos.Snapshot s) {
        long end = s.endIndex();
        if (end >= prefixHash[g].size()) {
            throw failure("replica " + node.id + " of group " + g + " installed a snapshot through slot "
                    + s.lastIncludedSlot() + ", above every decided slot", null);
        }
        node.groupReplicas[g].appliedIndex = end;
        node.groupReplicas[g].appliedHash = prefixHash[g].get((int) end);
    }

    void becameLeader() {
        leaderships++;
    }

    /**
     * Every step: TrueTime soundness on every live replica; then (unless a negative control switched lease checks
     * off) record each lease a replica believes it holds, in true time, and check they are disjoint.
     */
    private void checkLeases() {
        for (int id = 1; id < nodes.length; id++) {
            Node node = nodes[id];
            if (!node.up()) {
                continue;
            }
            TimeInterval tt = node.trueTime();
            if (!tt.contains(trueNanos)) {
                throw failure("TrueTime of replica " + id + " " + tt + " does not contain true time " + trueNanos, null);
            }
            if (!options.checkLeases()) {
                continue;
            }
            for (int g = 1; g <= groups; g++) {
                checkLease(node, g, tt);
            }
        }
    }

    private void checkLease(Node node, int g, TimeInterval tt) {
        PaxosReplica core = node.core(g);
        if (!core.canServeLeaseRead(tt)) {
            return;
        }
        long end = core.leaseEndEpochNanos();
        if (trueNanos >= end) {
            throw failure("replica " + node.id + " of group " + g + " believes it holds a lease ending " + end
                    + " at true time " + trueNanos, null);
        }
        String key = node.leaseKey(g);
        long[] lease = leases[g].get(key);
        if (lease == null) {
            lease = new long[] {trueNanos, end};
            leases[g].put(key, lease);
        }
        lease[1] = Math.max(lease[1], end);
        for (var e : leases[g].entrySet()) {
            long[] other = e.getValue();
            if (!e.getKey().equals(key) && !sameProcess(e.getKey(), key)
                    && lease[0] <= other[1] && other[0] <= lease[1]) {
                throw failure("leases overlap in true time in group " + g + ": " + key + " " + Arrays.toString(lease)
                        + " and " + e.getKey() + " " + Arrays.toString(other), null);
            }
        }
    }

    private static boolean sameProcess(String a, String b) {
        return a.substring(0, a.lastIndexOf('/')).equals(b.substring(0, b.lastIndexOf('/')));
    }

    /** A value's identity for the agreement check: its bytes, with the host's tag (unique per proposal). */
    String key(Entry e) {
        if (e.isConfig()) {
            return "config" + e.nextConfigId() + e.nextMembers();
        }
        return new String(e.value(), StandardCharsets.ISO_8859_1);
    }

    /** A proposed command's identity for the validity check: a decided value is its host's tag and a command. */
    static String commandKey(byte[] command) {
        return new String(command, StandardCharsets.ISO_8859_1);
    }

    private static String commandKey(Entry e) {
        byte[] v = e.value();
        return v.length < GroupHost.TAG_BYTES ? "untagged:" + commandKey(v)
                : new String(v, GroupHost.TAG_BYTES, v.length - GroupHost.TAG_BYTES, StandardCharsets.ISO_8859_1);
    }

    SimulationFailure failure(String what, Throwable cause) {
        return new SimulationFailure(seed, "seed " + seed + " (" + n + " replicas): " + what
                + "\n  replay: " + options.replay(), cause);
    }

    void mix(long v) {
        traceHash = (traceHash ^ v) * 0x100000001b3L;
    }

    SplittableRandom rng() {
        return rng;
    }

    long trueNanos() {
        return trueNanos;
    }

    void scheduleSync(int node, int loop) {
        schedule(20_000 + rng.nextLong(2 * MS), Kind.SYNC, node, loop, null, null);
    }

    // ------------------------------------------------------------------ what a workload sees

    /** The workload's handle on this simulation (replicas 1..n; the spare is never a member in workload runs). */
    private final class World implements SimWorld {
        @Override
        public long trueNanos() {
            return trueNanos;
        }

        @Override
        public SplittableRandom random() {
            return rng;
        }

        @Override
        public int replicas() {
            return n;
        }

        @Override
        public int groups() {
            return groups;
        }

        @Override
        public void after(long delayNanos, Runnable action) {
            schedule(delayNanos, Kind.CALL, 0, null, action);
        }

        @Override
        public void atReplica(int node, long delayNanos, ReplicaAction action) {
            schedule(delayNanos, Kind.REPLICA_CALL, member(node).id, null, action);
        }

        @Override
        public long networkDelayNanos() {
            return delay();
        }

        @Override
        public boolean up(int node) {
            return member(node).up();
        }

        @Override
        public boolean isLeader(int node, int group) {
            Node x = member(node);
            return x.up() && x.core(group(group)).isLeader();
        }

        @Override
        public int leaderHint(int node, int group) {
            Node x = member(node);
            return x.up() ? x.core(group(group)).leaderHint() : -1;
        }

        @Override
        public boolean canServeLeaseRead(int node, int group) {
            Node x = member(node);
            return x.up() && !x.paused && !x.clockOut && x.core(group(group)).canServeLeaseRead(x.trueTime());
        }

        @Override
        public GroupHost.ReadOutcome read(int node, int group, byte[] query) {
            Node x = takingRequests(node);
            GroupHost.ReadOutcome r = x.host(group(group)).read(query);
            if (r.served()) {
                checkLeaseRead(x, group);
            }
            return r;
        }

        @Override
        public void append(int node, int group, byte[] command, Consumer<GroupHost.AppendOutcome> outcome) {
            Node x = takingRequests(node);
            String invalid = x.host(group(group)).validate(command);
            if (invalid != null) {
                throw new IllegalArgumentException("replica " + node + " would refuse this command at its door: "
                        + invalid);
            }
            proposed.add(group + ":" + commandKey(command));
            x.turn(Simulator.this, group, loop -> loop.append(group, command, outcome));
        }

        @Override
        public boolean available(int node) {
            return member(node).takesInput();
        }

        @Override
        public TimeInterval trueTime(int node) {
            Node x = member(node);
            if (!x.up()) {
                throw new IllegalStateException("replica " + node + " is down: it has no clock to read");
            }
            return x.clock.now();
        }

        @Override
        public long txnLeaderTerm(int node, int group) {
            Node x = member(node);
            TxnHost<Consumer<Object>> h = x.up() ? x.txnHost(group(group)) : null;
            // the group host counts leaderships from 0 in each incarnation of the process
            return h != null && h.isLeader() ? ((long) x.incarnation << 32) + h.group().leaderships() : -1;
        }

        @Override
        public long safeTime(int node, int group) {
            Node x = member(node);
            return x.up() ? x.txnHost(group(group)).safeTime().safeTime() : -1;
        }

        @Override
        public long forgottenOutcomes(int node, int group) {
            Node x = member(node);
            return x.up() ? x.txnHost(group(group)).core().forgottenOutcomes() : -1;
        }

        @Override
        public void commit(int node, int group, CommitRequest request, Consumer<CommitOutcome> reply) {
            Node x = takingRequests(node);
            TxnHost<Consumer<Object>> h = x.txnHost(group(group));
            x.turn(Simulator.this, group, loop -> loop.with(group, g -> h.commit(request,
                    o -> reply.accept((CommitOutcome) o))));
        }

        @Override
        public void lockingRead(int node, int group, TxnId txnId, TxnQueryCodec.Query query,
                                Consumer<TxnHost.ReadResult> done) {
            Node x = takingRequests(node);
            TxnHost<Consumer<Object>> h = x.txnHost(group(group));
            x.turn(Simulator.this, group, loop -> loop.with(group, g -> h.lockingRead(txnId, query,
                    r -> done.accept((TxnHost.ReadResult) r))));
        }

        @Override
        public void snapshotRead(int node, int group, TxnQueryCodec.Query query, long timeoutNanos,
                                 Consumer<TxnHost.ReadResult> done) {
            Node x = takingRequests(node);
            TxnHost<Consumer<Object>> h = x.txnHost(group(group));
            long deadline = x.monotonicNanos() + timeoutNanos;
            x.turn(Simulator.this, group, loop -> loop.with(group, g -> h.read(query,
                    r -> done.accept((TxnHost.ReadResult) r), deadline)));
        }

        /** A replica that can take a request now; IllegalStateException otherwise (the workload's mistake). */
        private Node takingRequests(int node) {
            if (!available(node)) {
                throw new IllegalStateException("replica " + node + " is down, stopped or blocked in its sync: "
                        + "requests reach it through atReplica");
            }
            return member(node);
        }

        @Override
        public int leader(int group) {
            int believer = -1;
            for (int id = 1; id <= n; id++) {
                if (canServeLeaseRead(id, group)) {
                    return id;
                }
                if (believer < 0 && isLeader(id, group)) {
                    believer = id;
                }
            }
            return believer;
        }

        @Override
        public void crash(int node) {
            Node x = member(node);
            if (x.up()) {
                Simulator.this.crash(x);
            }
        }

        @Override
        public void restart(int node) {
            Simulator.this.restart(member(node));
        }

        @Override
        public void pause(int node) {
            Node x = member(node);
            if (x.up()) {
                x.paused = true;
            }
        }

        @Override
        public void resume(int node) {
            member(node).continueEvents();
        }

        @Override
        public void partition(List<List<Integer>> groups) {
            int[] group = new int[nodes.length];
            for (int g = 0; g < groups.size(); g++) {
                for (int id : groups.get(g)) {
                    group[member(id).id] = g + 1;
                }
            }
            for (int a = 1; a < nodes.length; a++) {
                for (int b = 1; b < nodes.length; b++) {
                    connected[a][b] = group[a] == 0 || group[b] == 0 || group[a] == group[b];
                }
            }
        }

        @Override
        public void cutOneWay(int from, int to) {
            connected[member(from).id][member(to).id] = false;
        }

        @Override
        public void healPartitions() {
            for (boolean[] row : connected) {
                Arrays.fill(row, true);
            }
        }

        @Override
        public void networkFaults(double loss, double duplicate) {
            if (loss < 0 || loss >= 1 || duplicate < 0 || duplicate > 1) {
                throw new IllegalArgumentException("loss rate " + loss + " and duplicate rate " + duplicate
                        + ": loss in [0, 1), duplication in [0, 1]");
            }
            lossRate = loss;
            duplicateRate = duplicate;
        }

        @Override
        public void drift(int node, long ppb) {
            if (Math.abs(ppb) > MAX_DRIFT_PPB) {
                throw new IllegalArgumentException("drift " + ppb + " ppb is beyond the " + MAX_DRIFT_PPB
                        + " ppb every TrueTime interval allows for");
            }
            Node x = member(node);
            if (x.driftBeforeFault == null) {
                x.driftBeforeFault = x.driftPpb;
            }
            x.setDrift(ppb);
            x.resync();
            x.clockFaultHeld = true;
        }

        @Override
        public void stepClock(int node, long nanos) {
            Node x = member(node);
            x.syncErrorNanos += nanos;
            x.syncEpsilonNanos += Math.abs(nanos);
            x.clockFaultHeld = true;
        }

        @Override
        public void clockUnavailable(int node) {
            member(node).clockOut = true;
        }

        @Override
        public void healClock(int node) {
            member(node).clearClockFaults();
        }

        private int group(int group) {
            if (group < 1 || group > groups) {
                throw new IllegalArgumentException("group " + group + ": groups are 1 to " + groups);
            }
            return group;
        }

        private Node member(int node) {
            if (node < 1 || node > n) {
                throw new IllegalArgumentException("replica " + node + ": replicas are 1 to " + n);
            }
            return nodes[node];
        }
    }

    // ------------------------------------------------------------------ one simulated process

    final class Node {
        final int id;
        final List<Integer> initialMembers;
        /** The lease and timings this process's replicas start with (a restart may shorten the lease). */
        PaxosConfig config;
        /**
         * The process's loops, each driving its replicas of a shard of the groups (group g on loop (g - 1) mod
         * their number); null while the process is down.
         */
        Loop[] loops;
        /** Per group (index = group id): its host here and what the checks know of it. */
        final GroupReplica[] groupReplicas = new GroupReplica[groups + 1];
        int incarnation;
        /** Per group: what its replica here was told to persist and a sync made durable. */
        final DurableState[] disks = new DurableState[groups + 1];
        /** Per group: its state machine here, which a crash takes back to what it flushed; null until first started. */
        final PrefixCheckedMachine[] machines = new PrefixCheckedMachine[groups + 1];
        /** Transactional runs: the process's versioned store (null while down) and each group's transaction host. */
        StoredMachines store;
        @SuppressWarnings("unchecked")
        final TxnHost<Consumer<Object>>[] txnHosts = new TxnHost[groups + 1];
        /** The process's one log: every group's writes since its last sync, in order; a crash keeps a random prefix. */
        final ArrayList<GroupWrite> unsynced = new ArrayList<>();
        /** One loop of the process: its groups' turns, and the sync a turn of it waits for. */
        final class Loop {
            final int index;
            final GroupLoop<Consumer<GroupHost.AppendOutcome>> groups = new GroupLoop<>(written -> {
                throw new IllegalStateException("the simulator syncs as an event of its own");
            });
            /**
             * Between a turn that wrote and its sync: the loop is blocked in its sync (as a replica server's loop
             * thread is), its events wait in {@link #deferred}, and this delivers the turn's outputs once the sync
             * is done.
             */
            Runnable awaitingSync;
            /** When a WAKE event is due for gathered appends (the server's loop wakes then); 0: none scheduled. */
            long wakeAtTrueNanos;

            Loop(int index) {
                this.index = index;
            }
        }
        // Clocks: monotonic runs at (1 + drift) of true time; TrueTime is re-synchronized now and then.
        long monotonicBaseNanos;
        long trueBaseNanos;
        long driftPpb;
        // Faults a workload injects: a stopped process (its events wait in deferred), TrueTime unavailable, a
        // clock fault the periodic resynchronization must not clear before the workload heals it.
        boolean paused;
        /** The lease the next restart comes back with (a scenario's choice); 0: the simulator's usual choice. */
        long restartLeaseNanos;
        final ArrayList<Event> deferred = new ArrayList<>();
        boolean clockOut;
        boolean clockFaultHeld;
        Long driftBeforeFault; // the rate to return to when a drift fault heals; null when none is held
        long syncTrueNanos;
        long syncErrorNanos;
        long syncEpsilonNanos;
        private final TrueTime clock = new TrueTime() {
            @Override
            public TimeInterval now() {
                if (clockOut) {
                    throw new ClockUnavailableException(ClockStatus.UNSYNCHRONIZED, "replica " + id
                            + ": the simulated clock daemon is restarting");
                }
                return trueTime();
            }

            @Override
            public ClockStatus status() {
                return clockOut ? ClockStatus.UNSYNCHRONIZED : ClockStatus.SYNCHRONIZED;
            }
        };

        /** One group's replica on this process. */
        final class GroupReplica {
            final int group;
            final GroupHost<Consumer<GroupHost.AppendOutcome>> host;
            long appliedIndex;
            long appliedHash;

            GroupReplica(int group, GroupHost<Consumer<GroupHost.AppendOutcome>> host) {
                this.group = group;
                this.host = host;
            }
        }

        /** A write of one group's replica, in the process's one log. */
        record GroupWrite(int group, PersistWrite write) {
        }

        Node(int id, List<Integer> members) {
            this.id = id;
            this.initialMembers = members;
            this.config = configFor(1, rng.nextLong(), options.leaseNanos());
            for (int g = 1; g <= groups; g++) {
                disks[g] = id <= n ? new DurableState(members) : DurableState.joining();
            }
            this.monotonicBaseNanos = rng.nextLong(1L << 40);
            this.trueBaseNanos = trueNanos;
            this.driftPpb = rng.nextLong(-MAX_DRIFT_PPB, MAX_DRIFT_PPB + 1);
            resync();
        }

        /** Group {@code groupId}'s settings on this node, with the preferred leader the server's groups get. */
        PaxosConfig configFor(long groupId, long randomSeed, long leaseNanos) {
            return new PaxosConfig(id, initialMembers, options.electionTimeoutNanos(), options.heartbeatNanos(), 40 * MS,
                    leaseNanos, new PaxosLimits(options.maxValueBytes(), 8, Math.max(1024, 8 * options.maxValueBytes()),
                    64, 256, 4096), randomSeed, PaxosConfig.spreadPreferredLeader(groupId, initialMembers));
        }

        boolean up() {
            return loops != null;
        }

        /** The process (re)starts: its loops, with no groups yet. */
        void newLoops() {
            loops = new Loop[Math.min(LOOPS_PER_PROCESS, groups)];
            for (int l = 0; l < loops.length; l++) {
                loops[l] = new Loop(l);
            }
        }

        /** The loop driving group {@code g}; the process must be up. */
        Loop loopOf(int g) {
            return loops[(g - 1) % loops.length];
        }

        /**
         * Whether {@code e} must wait for a loop's sync: a message or timer for a loop blocked in its sync, or
         * anything else addressed to the process while any of its loops is.
         */
        boolean blockedFor(Event e) {
            if (loops == null || e.kind() == Kind.SYNC) {
                return false;
            }
            return switch (e.kind()) {
                case DELIVER, TXN_DELIVER -> loopOf(e.group()).awaitingSync != null;
                case TICK, WAKE -> loops[e.group()].awaitingSync != null;
                default -> !allLoopsFree();
            };
        }

        private boolean allLoopsFree() {
            for (Loop l : loops) {
                if (l.awaitingSync != null) {
                    return false;
                }
            }
            return true;
        }

        GroupHost<Consumer<GroupHost.AppendOutcome>> host(int g) {
            return groupReplicas[g].host;
        }

        /** Group {@code g}'s transaction host here; the run must be transactional and the process up. */
        TxnHost<Consumer<Object>> txnHost(int g) {
            if (txn == null) {
                throw new IllegalStateException("not a transactional simulation: its workload's transactional() is null");
            }
            return txnHosts[g];
        }

        /** Opens this process's versioned store (transactional runs), over what it kept if it ran before. */
        void openStore() {
            try {
                store = StoredMachines.open(storeRoot().resolve("replica" + id), txn.storeLimits());
            } catch (StoreOpenException e) {
                throw new IllegalStateException("replica " + id + ": " + e.getMessage(), e);
            }
        }

        /** Closes the store, which flushes what it holds (a crash keeps what the machines applied). */
        void closeStore() {
            if (store != null) {
                store.close();
                store = null;
            }
            Arrays.fill(txnHosts, null);
        }

        /** Group {@code g}'s core here; the process must be up. */
        PaxosReplica core(int g) {
            return groupReplicas[g].host.replica();
        }

        /**
         * Starts group {@code g}'s host around {@code core} on this process's loop, with its state machine here (new
         * on the first start; after a crash, as it was when last flushed).
         */
        void startGroup(Simulator sim, int g, PaxosConfig c, PaxosReplica core) {
            GroupLog log = new GroupLog() {
                @Override
                public void write(List<PersistWrite> writes) {
                    for (PersistWrite w : writes) {
                        unsynced.add(new GroupWrite(g, w));
                    }
                }

                @Override
                public void sync() {
                    throw new IllegalStateException("the simulator syncs as an event of its own");
                }

                @Override
                public void close() {
                }
            };
            TxnHost.Machine txnMachine = null;
            if (txn != null) {
                if (store == null) {
                    openStore();
                }
                txnMachine = new TxnHost.Machine(TxnMachine.open(store, g));
                if (machines[g] == null) {
                    machines[g] = new PrefixCheckedMachine(txnMachine, machineHash[g], what -> sim.failure(what, null),
                            "replica " + id + " of group " + g);
                } else {
                    machines[g].reopen(txnMachine);
                }
            } else if (machines[g] == null) {
                StateMachine app = workload != null ? workload.newMachine() : new NoStateMachine();
                if (!(app instanceof InMemoryMachine m)) {
                    throw new IllegalArgumentException("the workload's state machine " + app.getClass().getName()
                            + " must be an InMemoryMachine: the simulator crashes it back to its durable copy");
                }
                machines[g] = new PrefixCheckedMachine(m, machineHash[g], what -> sim.failure(what, null),
                        "replica " + id + " of group " + g);
            }
            GroupHost.Options hostOptions = new GroupHost.Options(2 * MS, 8 + rng.nextInt(193),
                    workload == null || !workload.staleLeaseReads(),
                    // a workload's machine holds kilobytes: chunks of up to 4 KiB keep its transfers to tens of chunks;
                    // a store's chunk holds at least its largest entry
                    txn != null ? store.minSnapshotChunkBytes() + rng.nextInt(4096)
                            : (workload == null ? 1 : 64) * (1 + rng.nextInt(64)));
            Node self = this;
            GroupHost<Consumer<GroupHost.AppendOutcome>> host = GroupHost.of(core, c, log, (to, m) -> sim.send(g, m),
                    clock, this::monotonicNanos, machines[g],
                    rng.nextLong(), hostOptions, new GroupHost.Listener<>() {
                        @Override
                        public void outcome(Consumer<GroupHost.AppendOutcome> client, GroupHost.AppendOutcome o) {
                            client.accept(o);
                        }

                        @Override
                        public void decided(Output.Decided d) {
                            sim.decided(self, g, d);
                        }

                        @Override
                        public void installing(io.gnomon.paxos.Snapshot snapshot) {
                            sim.installed(self, g, snapshot);
                        }

                        @Override
                        public void leadership(boolean leader) {
                            if (leader) {
                                sim.becameLeader();
                            }
                        }
                    });
            groupReplicas[g] = new GroupReplica(g, host);
            loopOf(g).groups.add(g, host);
            if (txn != null) {
                startTxnHost(sim, g, host, txnMachine);
            }
        }

        /**
         * Group {@code g}'s transaction host beside its group host, attached to the loop as a replica server attaches
         * it: its records are appended with a client that hands their outcome back to it, its messages go to other
         * groups' leaders over the simulated network, its answers back to the clients.
         */
        private void startTxnHost(Simulator sim, int g, GroupHost<Consumer<GroupHost.AppendOutcome>> host,
                                  TxnHost.Machine txnMachine) {
            int self = id;
            TxnHost<Consumer<Object>> txnHost = TxnHost.start(g, host, proposal -> {
                proposed.add(g + ":" + commandKey(TxnRecordCodec.encode(proposal.record()))); // for the validity check
                return o -> txnHosts[g].proposalOutcome(proposal, o);
            }, txnMachine, txn.limits(), txn.options(), clock, this::monotonicNanos, new TxnHost.Outputs<>() {
                @Override
                public void send(long toGroup, TxnMessage message) {
                    sim.sendTxn(self, g, (int) toGroup, message);
                }

                @Override
                public void reply(Consumer<Object> client, CommitOutcome outcome) {
                    sim.answer(client, outcome);
                }

                @Override
                public void readDone(Consumer<Object> client, TxnHost.ReadResult result) {
                    sim.answer(client, result);
                }
            });
            txn.hostHook().accept(txnHost);
            txnHosts[g] = txnHost;
            loopOf(g).groups.hook(g, txnHost);
        }

        /**
         * One turn of the process's loop, as a replica server runs it: the inputs, then the loop's end of turn; if
         * any group wrote, the process blocks in its one sync (a SYNC event after a disk latency) and every group's
         * outputs are sent, applied and reported only then. Early Accepts have left already (ReplicaDriver's rule).
         */
        void turn(Simulator sim, int group, Consumer<GroupLoop<Consumer<GroupHost.AppendOutcome>>> inputs) {
            if (!up()) {
                throw new IllegalStateException("replica " + id + " is down");
            }
            turnOn(sim, loopOf(group), inputs);
        }

        /** A turn of loop {@code l}, as {@link #turn} describes; the loop's sync blocks this loop only. */
        void turnOn(Simulator sim, Loop l, Consumer<GroupLoop<Consumer<GroupHost.AppendOutcome>>> inputs) {
            if (!up() || paused || l.awaitingSync != null) {
                throw new IllegalStateException("replica " + id + " is down, stopped or blocked in its sync");
            }
            l.groups.beginTurn();
            inputs.accept(l.groups);
            GroupLoop.TurnEnd end = l.groups.endTurnUnsynced();
            if (end != null) {
                if (end.needsSync()) {
                    l.awaitingSync = end.deliver();
                    sim.scheduleSync(id, l.index);
                } else {
                    end.deliver().run();
                }
            }
            if (l.awaitingSync == null) {
                scheduleWake(sim, l);
            }
        }

        /** Whether the process can handle any input now: up, not stopped, no loop blocked in its sync. */
        boolean takesInput() {
            return up() && !paused && allLoopsFree();
        }

        /** Whether the process can handle an input for group {@code g} now: up, not stopped, its loop not blocked. */
        boolean takesInput(int g) {
            return up() && !paused && loopOf(g).awaitingSync == null;
        }

        /** The server's loop wakes when its gathered appends are due; so does the simulated one. */
        void scheduleWake(Simulator sim, Loop l) {
            if (txn != null) {
                scheduleTxnWake(sim, l);
                return;
            }
            if (l.groups.batchWaiting() && l.wakeAtTrueNanos == 0) {
                long due = Math.max(MS / 10, l.groups.batchDeadlineNanos() - monotonicNanos());
                l.wakeAtTrueNanos = trueNanos + due;
                sim.schedule(due, Kind.WAKE, id, l.index, null, null);
            }
        }

        /**
         * Transactional runs: the loop also wakes when a transaction host is due soon (entries to feed, a commit-wait
         * ending), before the next TICK, as a server's loop wakes at its groups' earliest timer; one wake pending at a
         * time (an earlier one may be added), none while TrueTime is out (no group could do anything; TICK resumes).
         */
        private void scheduleTxnWake(Simulator sim, Loop l) {
            if (clockOut) {
                return;
            }
            long due = l.groups.nextTickNanos() - monotonicNanos();
            if (l.groups.batchWaiting()) {
                due = Math.min(due, l.groups.batchDeadlineNanos() - monotonicNanos());
            }
            due = Math.max(MS / 10, due);
            if (due < 10 * MS && (l.wakeAtTrueNanos == 0 || trueNanos + due < l.wakeAtTrueNanos)) {
                l.wakeAtTrueNanos = trueNanos + due;
                sim.schedule(due, Kind.WAKE, id, l.index, null, null);
            }
        }

        /**
         * The sync a turn of loop {@code index} waits for is done: its groups' writes are durable, its outputs go
         * out, the loop goes on. (Over a log per group, as the server keeps them today, a loop's sync makes its own
         * groups' writes durable; the other loops' wait for their own syncs.)
         */
        void sync(Simulator sim, int index) {
            if (!up() || loops[index].awaitingSync == null) {
                return; // crashed meanwhile: the writes were kept or lost by the crash
            }
            Loop l = loops[index];
            if (loops.length == 1) {
                for (GroupWrite w : unsynced) {
                    disks[w.group()].apply(w.write());
                }
                unsynced.clear();
            } else {
                unsynced.removeIf(w -> {
                    if (loopOf(w.group()) != l) {
                        return false;
                    }
                    disks[w.group()].apply(w.write());
                    return true;
                });
            }
            Runnable deliver = l.awaitingSync;
            l.awaitingSync = null;
            deliver.run();
            scheduleWake(sim, l);
            if (!paused) {
                releaseDeferred();
            }
        }

        long monotonicNanos() {
            long since = trueNanos - trueBaseNanos;
            return monotonicBaseNanos + since + since / 1_000 * driftPpb / 1_000_000;
        }

        /** A new drift rate from now on; the monotonic clock continues from where it is (it never jumps). */
        void setDrift(long ppb) {
            monotonicBaseNanos = monotonicNanos();
            trueBaseNanos = trueNanos;
            driftPpb = ppb;
        }

        /** Sound by construction: |error| <= epsilon at the sync, and both grow by at most the drift bound. */
        TimeInterval trueTime() {
            long since = trueNanos - syncTrueNanos;
            long error = syncErrorNanos + since / 1_000 * driftPpb / 1_000_000;
            long epsilon = syncEpsilonNanos + since / 1_000 * MAX_DRIFT_PPB / 1_000_000 + 1;
            return TimeInterval.around(trueNanos + error, epsilon);
        }

        void resync() {
            syncTrueNanos = trueNanos;
            syncEpsilonNanos = MS / 2 + rng.nextLong(4 * MS);
            syncErrorNanos = rng.nextLong(-syncEpsilonNanos, syncEpsilonNanos + 1);
        }

        void maybeResync() {
            if (!clockFaultHeld && trueNanos - syncTrueNanos > 1_000 * MS && rng.nextInt(20) == 0) {
                resync();
            }
        }

        String leaseKey(int g) {
            PaxosReplica core = core(g);
            return leaseKeyPrefix() + "c" + core.configId() + "b" + core.promised().round();
        }

        String leaseKeyPrefix() {
            return "replica" + id + "/inc" + incarnation + "/";
        }

        /**
         * The process dies: a random prefix of its log's unsynced writes (every group's, in the order written)
         * reached the disk, the rest and the held outputs did not.
         */
        void crash(SplittableRandom r) {
            int kept = unsynced.isEmpty() ? 0 : r.nextInt(unsynced.size() + 1);
            for (int i = 0; i < kept; i++) {
                disks[unsynced.get(i).group()].apply(unsynced.get(i).write());
            }
            unsynced.clear();
            for (PrefixCheckedMachine m : machines) {
                if (m != null) {
                    m.crash();
                }
            }
            if (txn != null) {
                closeStore();
            }
            loops = null;
            Arrays.fill(groupReplicas, null);
            continueEvents(); // a killed process is no longer stopped; what it held is dropped as it arrives
            if (clockOut || clockFaultHeld) {
                clearClockFaults(); // a restarted process starts with a fresh TrueTime source
            }
        }

        /** Ends a workload's clock faults: TrueTime available, its rate as before, freshly synchronized. */
        void clearClockFaults() {
            clockOut = false;
            clockFaultHeld = false;
            if (driftBeforeFault != null) {
                setDrift(driftBeforeFault);
                driftBeforeFault = null;
            }
            resync();
        }

        /** Hands the events a stopped process held back to the queue, in their order. */
        void continueEvents() {
            paused = false;
            releaseDeferred(); // a sync it was blocked in is among them; what follows it waits again until it is done
        }

        /** Hands the events held back (paused, or blocked in a sync) to the queue, in their order. */
        void releaseDeferred() {
            for (Event e : deferred) {
                schedule(0, e.kind(), e.node(), e.group(), e.message(), e.action());
            }
            deferred.clear();
        }

        void nextMembershipChange(Simulator sim, int g) {
            if (!up() || !core(g).isLeader()) {
                return;
            }
            List<Integer> next = new ArrayList<>(core(g).members());
            if (next.size() == n) {
                for (int c = 1; c < nodes.length; c++) {
                    if (!next.contains(c)) {
                        next.add(c);
                        break;
                    }
                }
            } else {
                next.remove(rng.nextInt(next.size()));
            }
            next.sort(null);
            turn(sim, g, loop -> loop.with(g, h -> h.proposeMembership(next)));
        }
    }
}
