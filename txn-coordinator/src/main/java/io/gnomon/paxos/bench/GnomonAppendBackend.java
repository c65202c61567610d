package io.gnomon.paxos.bench;

import io.gnomon.paxos.cluster.ClusterSpec;
import io.gnomon.paxos.cluster.GroupSpec;
import io.gnomon.paxos.grpc.Outcome;
import io.gnomon.paxos.server.KeyValueMachine;
import io.gnomon.paxos.server.ReplicaClient;
import io.gnomon.paxos.server.ReplicaProcesses;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * A Gnomon replica group as the log: N replica processes ({@code bin/replica}) on loopback, each append one command
 * through {@link ReplicaClient} to the leader. With the {@code kv} state machine (the default) a command is a put
 * of the value under its own key ({@link BenchKeys}, the same key and value bytes the etcd backend puts), which the
 * machine stores, as etcd's store does; with {@code counter} the machine only counts the bytes (the log alone).
 * In lease-read mode each operation is one lease read at the leader of a key written before the run.
 *
 * <p>What a completed append guarantees, like for like with {@link EtcdAppendBackend}: the leader replies
 * {@code APPLIED} once the entry is decided, i.e. a majority has accepted it, and every replica makes an accept
 * durable before it answers ({@code --sync each-batch}: {@code msync} of the batch's log pages, the counterpart
 * of etcd's WAL fsync; docs/benchmarks.md says how the two differ), and once the leader has applied it. Appends
 * that arrive while the leader waits for its sync are proposed together (group commit), as raft batches entries
 * into one Ready. A lease read is answered by the leader from its state machine while its TrueTime lease holds
 * and it has applied the log it took over (the read fence): linearizable without a round to the followers.
 *
 * <p>With groups (issue 19; {@code bin/bench-log --groups}), the replicas run a generated cluster file of G groups
 * on every process, and each key goes to its group's leader through a client of that group; the keys start with a
 * hash byte ({@link BenchKeys#spread()}) so that they fall evenly over the groups' ranges.
 */
public final class GnomonAppendBackend implements AppendBackend {

    /** What one operation is. */
    public enum Mode { APPEND, LEASE_READ }

    private final ReplicaProcesses group;
    /** A flight recording was asked for in the JVM options: stop the replicas with SIGTERM so they write it. */
    private final boolean terminateGracefully;
    /** The one group's client; with groups, the client of group 1. */
    private final ReplicaClient client;
    /** With groups: the cluster file's groups (a key's group is {@link ClusterSpec#groupFor}), else null. */
    private final ClusterSpec cluster;
    /** With groups: one client per group, of that group's replicas, by group id; else empty. */
    private final Map<Integer, ReplicaClient> groupClients = new TreeMap<>();
    /** The channels every group's client shares: one connection (and append stream) per process. */
    private ReplicaClient.Connections groupConnections;
    private final Duration timeout;
    private final String description;
    private final BenchKeys keys;
    private final boolean keyValue;
    private final Mode mode;
    private final int readKeysPerClient;
    private final String name;
    private int valueBytes = -1;

    /** Drives replicas that are already running (id to host:port); nothing is started or stopped. */
    public GnomonAppendBackend(java.util.Map<Integer, String> targets, String machine, Mode mode,
                               int readKeysPerClient, String name, Duration opTimeout, ReplicaClient.AppendCalls appendCalls) {
        this.group = null;
        this.terminateGracefully = false;
        this.client = new ReplicaClient(targets, appendCalls);
        this.cluster = null;
        this.keys = BenchKeys.plain();
        this.timeout = opTimeout;
        this.keyValue = checkMachine(machine, mode);
        this.mode = mode;
        this.readKeysPerClient = checkReadKeys(readKeysPerClient);
        this.name = name;
        try {
            int leader = awaitLeader(client).orElseThrow(() -> new IllegalStateException(
                    "no replica of " + targets + " holds a lease within 60 s"));
            this.description = name + ": running replicas " + targets + " (--machine " + machine + " assumed), leader " + leader;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a leader", e);
        }
    }

    /** The replica that holds a lease, asked until one does or 60 s pass. */
    private static Optional<Integer> awaitLeader(ReplicaClient client) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        Optional<Integer> leader = Optional.empty();
        while (leader.isEmpty() && System.nanoTime() - deadline < 0) {
            leader = client.leaseHolder(Duration.ofSeconds(1));
            if (leader.isEmpty()) {
                Thread.sleep(20); // an election in progress; bounded by the deadline
            }
        }
        return leader;
    }

    /** Starts {@code replicas} processes of one group, as before groups ({@code --id} and {@code --member}). */
    public GnomonAppendBackend(Path dir, int replicas, String syncPolicy, String machine, Mode mode,
                               int readKeysPerClient, String name, List<String> extraReplicaArgs,
                               List<String> replicaJvmArgs, Duration opTimeout, ReplicaClient.AppendCalls appendCalls)
            throws IOException {
        this(dir, replicas, 0, syncPolicy, machine, mode, readKeysPerClient, name, extraReplicaArgs, replicaJvmArgs,
                opTimeout, appendCalls);
    }

    /**
     * Starts {@code replicas} processes; with {@code groups} &ge; 1 they run a generated cluster file
     * ({@link ReplicaProcesses#withCluster}: {@code groups} groups splitting the key space evenly, each on every
     * process) and each key goes to its group's leader through that group's client, the keys led by a hash byte
     * ({@link BenchKeys#spread()}) so they fall evenly over the groups. {@code groups} 0 is the one-group start
     * above.
     */
    public GnomonAppendBackend(Path dir, int replicas, int groups, String syncPolicy, String machine, Mode mode,
                               int readKeysPerClient, String name, List<String> extraReplicaArgs,
                               List<String> replicaJvmArgs, Duration opTimeout, ReplicaClient.AppendCalls appendCalls)
            throws IOException {
        if (groups < 0) {
            throw new IllegalArgumentException("groups must be >= 0 (0: one group without a cluster file); got " + groups);
        }
        this.keys = groups == 0 ? BenchKeys.plain() : BenchKeys.spread();
        this.keyValue = checkMachine(machine, mode);
        this.mode = mode;
        this.readKeysPerClient = checkReadKeys(readKeysPerClient);
        this.name = name;
        List<String> args = new java.util.ArrayList<>(List.of("--machine", machine,
                "--sync", syncPolicy, "--truetime", "system:1ms", "--compact-every", "0"));
        args.addAll(extraReplicaArgs);
        this.group = ReplicaProcesses.ofThisClasspath(dir, replicas, args, replicaJvmArgs);
        this.terminateGracefully = replicaJvmArgs.stream().anyMatch(a -> a.contains("FlightRecording"));
        this.timeout = opTimeout;
        try {
            this.cluster = groups == 0 ? null : group.withCluster(groups, replicas).cluster();
            group.startAll(Duration.ofSeconds(60));
            String leaders;
            if (cluster == null) {
                this.client = new ReplicaClient(group.targets(), appendCalls);
                Optional<Integer> leader = awaitLeader(client);
                if (leader.isEmpty()) {
                    throw new IOException("no Gnomon leader within 60 s; replica 1's log:\n" + group.log(1));
                }
                leaders = "leader " + leader.get();
            } else {
                leaders = openGroupClients(appendCalls);
                this.client = groupClients.get(cluster.groups().get(0).id());
            }
            this.description = name + ": " + replicas + " replica processes in " + dir
                    + (cluster == null ? "" : " running a generated cluster file of " + groups + (groups == 1 ? " group" : " groups")
                    + ", each on every process (keys led by a hash byte, each to its group's leader; every group's client shares one connection per process)")
                    + ", --machine " + machine
                    + ", --sync " + syncPolicy + (extraReplicaArgs.isEmpty() ? "" : " " + String.join(" ", extraReplicaArgs))
                    + ", " + leaders + "; " + (mode == Mode.APPEND
                    ? "each append to the leader (" + (appendCalls == ReplicaClient.AppendCalls.STREAM
                    ? "a message on one AppendStream" : "one unary Append call")
                    + "), acknowledged when decided (majority durable) and applied"
                    : "each read a lease read at the leader, " + readKeysPerClient + " keys per client written first");
        } catch (IOException | RuntimeException e) {
            closeGroupClients();
            group.close();
            throw e;
        } catch (InterruptedException e) {
            closeGroupClients();
            group.close();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while starting the replicas", e);
        }
    }

    /**
     * One client per group of {@link #cluster}, each waiting until its group has a lease holder (60 s for all);
     * returns how many groups each process leads, for the description.
     */
    private String openGroupClients(ReplicaClient.AppendCalls appendCalls) throws IOException, InterruptedException {
        Map<Integer, String> all = group.targets();
        Map<Integer, Integer> led = new TreeMap<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        groupConnections = ReplicaClient.connect(all, appendCalls);
        for (GroupSpec g : cluster.groups()) {
            ReplicaClient c = groupConnections.group(g.id(), g.replicas());
            groupClients.put(g.id(), c);
            Optional<Integer> leader = Optional.empty();
            while (leader.isEmpty() && System.nanoTime() - deadline < 0) {
                leader = c.leaseHolder(Duration.ofSeconds(1));
                if (leader.isEmpty()) {
                    Thread.sleep(20); // an election in progress; bounded by the deadline
                }
            }
            if (leader.isEmpty()) {
                throw new IOException("group " + g.id() + " of " + cluster.groups().size()
                        + " has no leader within 60 s of the processes serving; process 1's log:\n" + group.log(1));
            }
            led.merge(leader.get(), 1, Integer::sum);
        }
        StringBuilder b = new StringBuilder("groups led per process");
        led.forEach((p, n) -> b.append(' ').append(p).append('=').append(n));
        return b.toString();
    }

    /** The client of the group that holds {@code key}. */
    private ReplicaClient clientFor(byte[] key) {
        return cluster == null ? client : groupClients.get(cluster.groupFor(key).id());
    }

    private static boolean checkMachine(String machine, Mode mode) {
        if (!machine.equals("kv") && !machine.equals("counter")) {
            throw new IllegalArgumentException("Gnomon bench machine must be kv or counter; got " + machine);
        }
        if (mode == Mode.LEASE_READ && !machine.equals("kv")) {
            throw new IllegalArgumentException("lease reads need the kv machine; got " + machine);
        }
        return machine.equals("kv");
    }

    private static int checkReadKeys(int readKeysPerClient) {
        if (readKeysPerClient < 1) {
            throw new IllegalArgumentException("readKeysPerClient must be >= 1; got " + readKeysPerClient);
        }
        return readKeysPerClient;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String description() {
        return description;
    }

    @Override
    public void prepare(int clients, byte[] value) throws Exception {
        valueBytes = value.length;
        if (mode == Mode.LEASE_READ) {
            AppendBackend.populate(clients, readKeysPerClient, (c, n) -> put(keys.key(c, n), value));
        }
    }

    @Override
    public CompletableFuture<?> append(int client, long seq, byte[] value) {
        if (mode == Mode.APPEND) {
            return put(keys.key(client, seq), value);
        }
        long n = seq % readKeysPerClient;
        byte[] key = keys.key(client, n);
        return clientFor(key).readAsync(key, timeout).thenApply(r -> {
            if (!r.getServed() || r.getResult().size() != 1 + valueBytes || r.getResult().byteAt(0) != 1) {
                throw new CompletionException(new IOException("lease read of client " + client + "'s key " + n
                        + ": served=" + r.getServed() + ", " + r.getResult().size() + " bytes, " + r.getDetail()));
            }
            return r;
        });
    }

    private CompletableFuture<?> put(byte[] key, byte[] value) {
        byte[] command = keyValue ? KeyValueMachine.put(key, value) : value;
        return clientFor(key).appendAsync(command, timeout).thenApply(r -> {
            if (r.getOutcome() != Outcome.APPLIED) {
                throw new CompletionException(new IOException(r.getOutcome() + ": " + r.getDetail()));
            }
            return r;
        });
    }

    @Override
    public List<Long> serverPids() {
        return group == null ? List.of() : group.targets().keySet().stream().map(group::pid).toList();
    }

    private void closeGroupClients() {
        if (groupConnections != null) {
            groupConnections.close();
        }
    }

    @Override
    public void close() {
        if (cluster == null) {
            client.close();
        }
        closeGroupClients();
        if (group != null && terminateGracefully) {
            group.terminateAll(Duration.ofSeconds(30));
        } else if (group != null) {
            group.close();
        }
    }
}
