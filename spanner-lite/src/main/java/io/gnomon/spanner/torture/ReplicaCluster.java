package io.gnomon.spanner.torture;

import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.MoreExecutors;
import com.google.protobuf.ByteString;
import io.gnomon.paxos.cluster.ClusterSpec;
import io.gnomon.paxos.grpc.AppendReply;
import io.gnomon.paxos.grpc.ClockFaultRequest;
import io.gnomon.paxos.grpc.FaultAdminGrpc;
import io.gnomon.paxos.grpc.NetworkFaultRequest;
import io.gnomon.paxos.grpc.Outcome;
import io.gnomon.paxos.grpc.PartitionRequest;
import io.gnomon.paxos.grpc.ReadReply;
import io.gnomon.paxos.grpc.ReadRequest;
import io.gnomon.paxos.grpc.ReplicaGrpc;
import io.gnomon.paxos.grpc.StatusReply;
import io.gnomon.paxos.server.ListAppend;
import io.gnomon.paxos.server.ReplicaClient;
import io.gnomon.paxos.server.ReplicaProcesses;
import io.gnomon.spanner.history.MicroOp;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Gnomon's replicated log as separate replica JVMs on loopback ({@link ReplicaProcesses}, {@code bin/replica
 * --fault-admin}), running the list-append machine. With one group each process is one replica of it ({@code --id},
 * {@code --member}); with several, the launcher writes a cluster file of that many groups, every one replicated by
 * every process, and starts each process with {@code --cluster FILE --process N}. Keys are spread over the groups
 * as in simulation ({@link TxnGenerator#groupOf(int, int)}: the harness's own map, not the file's key ranges, which
 * the replicas do not enforce yet) and every transaction stays within one group. Read-write transactions are one
 * log entry each of their group ({@link ReplicaClient#appendAsync}, one client per group); a single-key read is a
 * lease read sent to a process chosen at random (then to the one it names as its group's leader), so a replica
 * that wrongly believes it still holds a lease gets asked too. Faults act on processes, so on every group of one
 * at once: SIGKILL and SIGSTOP through {@link ReplicaProcesses}, partitions and clock faults through each process's
 * {@code FaultAdmin} service; "the leader" is the process leading group 1, as in simulation.
 */
final class ReplicaCluster implements Cluster {
    /** Spanner's assumed worst-case clock drift (OSDI 2012, section 3: 200 µs/s). */
    static final double MAX_DRIFT_PPM = 200;
    static final long CLOCK_STEP_NANOS = 200_000_000L;
    private static final Duration ADMIN_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    private static final int START_ATTEMPTS = 2;
    private static final Duration LEADER_TIMEOUT = Duration.ofSeconds(10);
    private static final String PROBE_KEY = "torture-probe";

    /** The group whose leader is the fault schedule's "leader" (the same as {@code SimulatedRun.PROBE_GROUP}). */
    static final long VICTIM_GROUP = 1;

    private final ReplicaProcesses processes;
    private final int groups;
    /** One client per group (index = group id - 1), reaching every process's client address. */
    private final List<ReplicaClient> clients = new ArrayList<>();
    private final Map<Integer, ManagedChannel> channels = new TreeMap<>();
    private final Duration opTimeout;
    private final long faultHoldMillis;
    private final AtomicLong probeValue = new AtomicLong(1);

    /**
     * Starts {@code replicas} replica processes and waits until each serves.
     *
     * @param classpath       the replicas' classpath (txn-coordinator and its dependencies; add its test classes
     *                        for a negative control)
     * @param leaseMillis     the leader lease
     * @param electionMillis  followers' election timeout; a leader that hears no majority for twice this steps down
     * @param negativeControl {@code skip-lease-wait}, {@code stale-lease-reads}, or null
     * @param faultHoldMillis how long faults stay before healing (a clock outage lasts this long)
     * @param groups          Paxos groups, each on every process; more than 1 starts the processes from a cluster file
     */
    ReplicaCluster(Path root, int replicas, String classpath, long leaseMillis, long electionMillis, String negativeControl,
                   Duration opTimeout, long faultHoldMillis, int groups) throws IOException {
        this(root, replicas, classpath, leaseMillis, electionMillis, negativeControl, opTimeout, faultHoldMillis, groups,
                List.of());
    }

    /**
     * As above, each replica started with {@code replicaArgs} too; with {@code --machine txn} the processes always
     * run from a cluster file (the transactions' client routes keys by its ranges), and only the faults and
     * {@link #leader()} of this class apply: its list-append reads and appends are not the machine's commands.
     */
    ReplicaCluster(Path root, int replicas, String classpath, long leaseMillis, long electionMillis, String negativeControl,
                   Duration opTimeout, long faultHoldMillis, int groups, List<String> replicaArgs) throws IOException {
        List<String> args = new ArrayList<>(List.of("--fault-admin", "--truetime", "system:1ms",
                "--lease-ms", Long.toString(leaseMillis), "--election-timeout-ms", Long.toString(electionMillis), "--heartbeat-ms", "100"));
        if (negativeControl != null) {
            args.addAll(List.of("--negative-control", negativeControl));
        }
        args.addAll(replicaArgs);
        this.groups = groups;
        this.processes = startGroup(root, replicas, classpath, args, groups, groups > 1 || !replicaArgs.isEmpty());
        this.opTimeout = opTimeout;
        this.faultHoldMillis = faultHoldMillis;
        for (int g = 1; g <= groups; g++) {
            clients.add(new ReplicaClient(processes.targets(), ReplicaClient.AppendCalls.UNARY, g));
        }
        processes.targets().forEach((id, t) -> channels.put(id, NettyChannelBuilder.forTarget(t).usePlaintext().build()));
    }

    /**
     * Starts the group, once more on fresh ports and directories if a replica dies before serving: on a loaded
     * shared machine a replica occasionally exits at startup with an empty log (cause not found; a port taken
     * between choosing and binding it is one candidate), which says nothing about the protocol.
     */
    private static ReplicaProcesses startGroup(Path root, int replicas, String classpath, List<String> args,
                                               int groups, boolean clusterFile) throws IOException {
        for (int attempt = 1; ; attempt++) {
            ReplicaProcesses group = new ReplicaProcesses(root.resolve("start-" + attempt), replicas, classpath, args);
            try {
                if (clusterFile) {
                    group.withCluster(groups, replicas);
                }
                group.startAll(START_TIMEOUT);
                for (int id : group.ids()) {
                    group.awaitServing(id, START_TIMEOUT); // every group knows a leader before the workload starts
                }
                return group;
            } catch (IllegalStateException e) {
                group.close();
                if (attempt >= START_ATTEMPTS) {
                    throw e;
                }
                System.err.println("torture: starting the replicas failed, starting afresh: " + e.getMessage());
            } catch (RuntimeException | IOException e) {
                group.close();
                throw e;
            }
        }
    }

    @Override
    public String name() {
        return "processes";
    }

    /** The cluster file the processes run from, or null when they are one group started without one. */
    ClusterSpec clusterSpec() {
        return processes.cluster();
    }

    /** Process ids, 1..n. */
    List<Integer> ids() {
        return processes.ids();
    }

    /** The group {@code key} (a workload key, {@code k<index>}) is in. */
    private int groupOf(String key) {
        return TxnGenerator.groupOf(key, groups);
    }

    private ReplicaClient client(long group) {
        return clients.get((int) group - 1);
    }

    @Override
    public CompletableFuture<TxnOutcome> execute(List<MicroOp> txn) {
        int group = groupOf(txn.get(0).key()); // the workload keeps a transaction within one group
        if (txn.size() == 1 && txn.get(0) instanceof MicroOp.Read r) {
            List<Integer> ids = processes.ids();
            CompletableFuture<TxnOutcome> result = new CompletableFuture<>();
            leaseRead(ids.get(ThreadLocalRandom.current().nextInt(ids.size())), group, r, true, result);
            return result;
        }
        return client(group).appendAsync(ListAppendTxns.command(txn), opTimeout).thenApply(reply -> outcome(txn, reply));
    }

    private static TxnOutcome outcome(List<MicroOp> txn, AppendReply reply) {
        if (reply.getOutcome() == Outcome.APPLIED) {
            return TxnOutcome.ok(ListAppendTxns.completed(txn, reply.getResult().toByteArray()));
        }
        if (reply.getOutcome() == Outcome.NOT_APPENDED) {
            return TxnOutcome.fail(txn, reply.getDetail());
        }
        return TxnOutcome.info(txn, reply.getDetail());
    }

    /** A read has no effect, so any read not served is {@code fail}. */
    private void leaseRead(int target, int group, MicroOp.Read read, boolean followHint,
                           CompletableFuture<TxnOutcome> result) {
        List<MicroOp> txn = List.of(read);
        ReadRequest request = ReadRequest.newBuilder().setGroup(group == 1 ? 0 : group)
                .setQuery(ByteString.copyFrom(read.key().getBytes(StandardCharsets.UTF_8))).build();
        var stub = ReplicaGrpc.newFutureStub(channels.get(target))
                .withDeadlineAfter(opTimeout.toNanos(), TimeUnit.NANOSECONDS);
        Futures.addCallback(stub.read(request), new FutureCallback<>() {
            @Override
            public void onSuccess(ReadReply reply) {
                if (reply.getServed()) {
                    List<Long> list = ListAppend.decodeList(reply.getResult().toByteArray());
                    result.complete(TxnOutcome.ok(List.of(new MicroOp.Read(read.key(), list))));
                } else if (followHint && channels.containsKey(reply.getLeaderHint()) && reply.getLeaderHint() != target) {
                    leaseRead(reply.getLeaderHint(), group, read, false, result);
                } else {
                    result.complete(TxnOutcome.fail(txn, reply.getDetail()));
                }
            }

            @Override
            public void onFailure(Throwable t) {
                result.complete(TxnOutcome.fail(txn, "replica " + target + ": " + t));
            }
        }, MoreExecutors.directExecutor());
    }

    @Override
    public Optional<List<Long>> finalRead(String key, Duration timeout) {
        return client(groupOf(key)).read(key.getBytes(StandardCharsets.UTF_8), timeout)
                .map(r -> ListAppend.decodeList(r.getResult().toByteArray()));
    }

    @Override
    public Set<FaultKind> supportedFaults() {
        return EnumSet.complementOf(EnumSet.of(FaultKind.KILL_COORDINATOR)); // TxnCluster's own
    }

    /**
     * The process that leads {@link #VICTIM_GROUP} (preferring one that can serve lease reads), waiting up to 10 s
     * for one.
     */
    int leader() throws InterruptedException {
        ReplicaClient client = client(VICTIM_GROUP);
        return Polling.require(() -> {
            Optional<Integer> holder = client.leaseHolder(Duration.ofMillis(300));
            if (holder.isPresent()) {
                return holder;
            }
            return client.statuses(Duration.ofMillis(300)).stream().filter(StatusReply::getLeader)
                    .map(StatusReply::getReplicaId).findFirst();
        }, LEADER_TIMEOUT, "leader of group " + VICTIM_GROUP);
    }

    @Override
    public Injected inject(FaultKind kind, SplittableRandom random) throws Exception {
        int leader = leader();
        List<Integer> others = new ArrayList<>(processes.ids());
        others.remove(Integer.valueOf(leader));
        Collections.shuffle(others, new java.util.Random(random.nextLong()));
        switch (kind) {
            case NONE:
                return new Injected("none", () -> { });
            case KILL_FOLLOWER:
                return kill(others.get(0), "follower");
            case KILL_LEADER:
                return kill(leader, "leader");
            case PAUSE_LEADER:
                processes.pause(leader);
                return new Injected("SIGSTOP leader " + leader, () -> processes.resume(leader));
            case PARTITION_MAJORITY: {
                List<Integer> minority = new ArrayList<>(List.of(leader));
                minority.addAll(others.subList(0, processes.ids().size() / 2 - 1));
                List<Integer> majority = new ArrayList<>(others.subList(processes.ids().size() / 2 - 1, others.size()));
                return partition(List.of(minority, majority), List.of(), "minority " + minority + " with the leader | majority " + majority);
            }
            case PARTITION_BRIDGE: {
                int side = (processes.ids().size() - 1) / 2;
                List<Integer> a = new ArrayList<>(List.of(leader));
                a.addAll(others.subList(0, side - 1));
                int bridge = others.get(side - 1);
                List<Integer> b = new ArrayList<>(others.subList(side, others.size()));
                return partition(List.of(a, b), List.of(bridge), a + " | bridge " + bridge + " | " + b);
            }
            case ISOLATE_LEADER:
                return partition(List.of(List.of(leader), others), List.of(), "leader " + leader + " isolated");
            case PARTITION_ONE_WAY: {
                OneWayCut cut = OneWayCut.choose(random, leader, others);
                Map<Integer, List<Integer>> outbound = new TreeMap<>();
                for (int[] link : cut.links()) {
                    outbound.computeIfAbsent(link[0], x -> new ArrayList<>()).add(link[1]);
                }
                outbound.forEach((from, to) -> admin(from).setPartition(PartitionRequest.newBuilder()
                        .addAllBlockedOutbound(to).build()));
                return new Injected("partition " + cut.description(), this::healPartitions);
            }
            case CLOCK_DRIFT: {
                for (int id : processes.ids()) {
                    clockFault(id, 0, id == leader ? MAX_DRIFT_PPM : -MAX_DRIFT_PPM, 0);
                }
                return new Injected("drift +" + MAX_DRIFT_PPM + " ppm on leader " + leader + ", -" + MAX_DRIFT_PPM
                        + " ppm on the others", this::clearClocks);
            }
            case CLOCK_STEP: {
                clockFault(leader, CLOCK_STEP_NANOS, 0, 0);
                clockFault(others.get(0), -CLOCK_STEP_NANOS, 0, 0);
                return new Injected("step +200 ms on leader " + leader + ", -200 ms on " + others.get(0), this::clearClocks);
            }
            case CLOCK_RESTART: {
                clockFault(leader, 0, 0, faultHoldMillis);
                return new Injected("TrueTime unavailable " + faultHoldMillis + " ms on leader " + leader, this::clearClocks);
            }
            case LOSSY_NETWORK: {
                for (int id : processes.ids()) {
                    networkFault(id, FaultKind.LOSSY_LOSS_RATE, FaultKind.LOSSY_DUPLICATE_RATE,
                            FaultKind.LOSSY_MAX_DELAY_MILLIS, random.nextLong());
                }
                return new Injected("lossy network: " + (int) (FaultKind.LOSSY_LOSS_RATE * 100) + "% lost, "
                        + (int) (FaultKind.LOSSY_DUPLICATE_RATE * 100) + "% duplicated, delays up to "
                        + FaultKind.LOSSY_MAX_DELAY_MILLIS + " ms between replicas", () -> {
                    for (int id : processes.ids()) {
                        networkFault(id, 0, 0, 0, 0);
                    }
                });
            }
            case MIXED: {
                Injected drift = inject(FaultKind.CLOCK_DRIFT, random);
                Injected other = inject(FaultKind.MIXED_WITH.get(random.nextInt(FaultKind.MIXED_WITH.size())), random);
                return new Injected(drift.description() + " + " + other.description(), () -> {
                    other.heal().heal();
                    drift.heal().heal();
                });
            }
            default:
                throw new IllegalArgumentException("fault " + kind);
        }
    }

    /** SIGKILL of process {@code id} now; the heal restarts it and waits until it serves. */
    Injected kill(int id, String role) {
        processes.kill9(id);
        return new Injected("SIGKILL " + role + " " + id, () -> {
            processes.start(id);
            processes.awaitReady(id, START_TIMEOUT);
            channels.get(id).resetConnectBackoff(); // reach it now, not after gRPC's reconnect backoff
        });
    }

    /** Each group blocks every replica outside it and outside {@code bridges}; bridges block nobody. */
    private Injected partition(List<List<Integer>> groups, List<Integer> bridges, String description) {
        for (List<Integer> g : groups) {
            List<Integer> blocked = new ArrayList<>(processes.ids());
            blocked.removeAll(g);
            blocked.removeAll(bridges);
            for (int id : g) {
                setPartition(id, blocked);
            }
        }
        return new Injected("partition " + description, this::healPartitions);
    }

    private void healPartitions() {
        for (int id : processes.ids()) {
            setPartition(id, List.of());
        }
    }

    private void setPartition(int id, List<Integer> blocked) {
        admin(id).setPartition(PartitionRequest.newBuilder().addAllBlocked(blocked).build());
    }

    private void networkFault(int id, double lossRate, double duplicateRate, long maxDelayMillis, long seed) {
        admin(id).setNetworkFault(NetworkFaultRequest.newBuilder().setLossRate(lossRate).setDuplicateRate(duplicateRate)
                .setMaxDelayMillis(maxDelayMillis).setSeed(seed).build());
    }

    /**
     * Steps process {@code id}'s TrueTime midpoint by {@code nanos}, widening its interval by as much (truthful: true
     * time stays inside), until a clock fault's heal clears the clocks.
     */
    void stepClock(int id, long nanos) {
        clockFault(id, nanos, 0, 0);
    }

    private void clockFault(int id, long stepNanos, double driftPpm, long unavailableMillis) {
        admin(id).setClockFault(ClockFaultRequest.newBuilder().setStepNanos(stepNanos).setDriftPpm(driftPpm)
                .setUnavailableMillis(unavailableMillis).build());
    }

    private void clearClocks() {
        for (int id : processes.ids()) {
            admin(id).setClockFault(ClockFaultRequest.newBuilder().setClear(true).build());
        }
    }

    private FaultAdminGrpc.FaultAdminBlockingStub admin(int id) {
        return FaultAdminGrpc.newBlockingStub(channels.get(id)).withWaitForReady()
                .withDeadlineAfter(ADMIN_TIMEOUT.toNanos(), TimeUnit.NANOSECONDS);
    }

    /**
     * Serving again means every group serves: a lease read of the probe key (in each group's own machine) is
     * served and an append to it applied. All groups are probed at once; a group that served stays counted.
     */
    @Override
    public Optional<Duration> awaitRecovery(Duration timeout) throws InterruptedException {
        long start = System.nanoTime();
        Set<Integer> waiting = new TreeSet<>();
        for (int g = 1; g <= groups; g++) {
            waiting.add(g);
        }
        return Polling.await(() -> {
            Map<Integer, CompletableFuture<Boolean>> probes = new TreeMap<>();
            waiting.forEach(g -> probes.put(g, probe(client(g))));
            probes.forEach((g, served) -> {
                if (served.join()) {
                    waiting.remove(g);
                }
            });
            return waiting.isEmpty() ? Optional.of(Duration.ofNanos(System.nanoTime() - start)) : Optional.empty();
        }, timeout, 20);
    }

    /** Whether {@code client}'s group serves a lease read and applies an append now; never fails exceptionally. */
    private CompletableFuture<Boolean> probe(ReplicaClient client) {
        byte[] query = PROBE_KEY.getBytes(StandardCharsets.UTF_8);
        byte[] append = ListAppend.encodeTxn(List.of(ListAppend.Op.append(PROBE_KEY, probeValue.getAndIncrement())));
        return client.readAsync(query, Duration.ofMillis(500)).thenCompose(read -> read.getServed()
                ? client.appendAsync(append, Duration.ofSeconds(1)).thenApply(a -> a.getOutcome() == Outcome.APPLIED)
                : CompletableFuture.completedFuture(false));
    }

    @Override
    public void close() {
        clients.forEach(ReplicaClient::close);
        channels.values().forEach(ManagedChannel::shutdownNow);
        processes.close();
    }
}
