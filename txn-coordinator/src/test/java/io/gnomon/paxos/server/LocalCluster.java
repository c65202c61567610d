package io.gnomon.paxos.server;

import io.gnomon.paxos.PaxosConfig;
import io.gnomon.paxos.PaxosLimits;
import io.gnomon.paxos.runtime.StateMachine;
import io.gnomon.paxos.storage.LogLimits;
import io.gnomon.paxos.storage.SyncPolicy;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import java.util.function.IntFunction;

/** N ReplicaServers in this JVM on loopback ports the test picks, each with its own data directory. */
final class LocalCluster implements AutoCloseable {
    static final long LEASE_MILLIS = 600;

    final Map<Integer, InetSocketAddress> members = new TreeMap<>();
    final Map<Integer, ReplicaServer> servers = new LinkedHashMap<>();
    /** The state machine each replica last started with (one group each); read it only once that replica stopped. */
    final Map<Integer, ListAppendMachine> machines = new java.util.concurrent.ConcurrentHashMap<>();
    private final Path root;
    /** Clients by group and call kind, closed with the cluster. */
    private final Map<String, ReplicaClient> clients = new TreeMap<>();
    private boolean faultAdmin;
    private ReplicaLimits replicaLimits = ReplicaLimits.DEFAULTS;
    private TlsConfig tls;
    /** Group id to members; null: the servers' default, group 1 of every member. */
    private Map<Long, List<Integer>> groups;
    private ReplicaServer.LogKind log = ReplicaServer.LogKind.PROCESS;
    private ReplicaServer.StoreKind store = ReplicaServer.StoreKind.MEMORY;
    /** What each replica's server is given around its machine (a test's observation point); the machine itself unless set. */
    private BiFunction<Integer, ListAppendMachine, StateMachine> wrap = (id, m) -> m;
    /** Each replica's groups' transaction handlers, by replica id; null: the servers' default, none. */
    private IntFunction<ReplicaServer.TxnHandlers> txnHandlers;

    LocalCluster(Path root, int n) {
        this.root = root;
        for (int id = 1; id <= n; id++) {
            members.put(id, new InetSocketAddress("127.0.0.1", ReplicaProcesses.freePort()));
        }
    }

    /** Replicas started from now on serve the {@code FaultAdmin} service. */
    LocalCluster withFaultAdmin() {
        faultAdmin = true;
        return this;
    }

    /** Replicas started from now on run with {@code limits}. */
    LocalCluster withLimits(ReplicaLimits limits) {
        replicaLimits = limits;
        return this;
    }

    /** Replicas started from now on write {@code kind} of log. */
    LocalCluster withLog(ReplicaServer.LogKind kind) {
        log = kind;
        return this;
    }

    /**
     * Replicas started from now on keep their list-append machines in {@code kind} ({@link #machines} records only
     * in-memory ones).
     */
    LocalCluster withStore(ReplicaServer.StoreKind kind) {
        store = kind;
        return this;
    }

    /** Replicas started from now on run {@code wrap.apply(id, machine)} around their machine. */
    LocalCluster withMachineWrapper(BiFunction<Integer, ListAppendMachine, StateMachine> wrap) {
        this.wrap = wrap;
        return this;
    }

    /** Replicas started from now on give their groups the transaction handlers {@code handlers.apply(id)} makes. */
    LocalCluster withTxnHandlers(IntFunction<ReplicaServer.TxnHandlers> handlers) {
        this.txnHandlers = handlers;
        return this;
    }

    /** Replicas started from now on serve and dial over {@code tls} ({@link ReplicaServer#withTls}). */
    LocalCluster withTls(TlsConfig tls) {
        this.tls = tls;
        return this;
    }

    /** Replicas started from now on host these groups (each server the ones it is a member of). */
    LocalCluster withGroups(Map<Long, List<Integer>> groups) {
        this.groups = Map.copyOf(groups);
        return this;
    }

    Map<Integer, String> targets() {
        Map<Integer, String> t = new TreeMap<>();
        members.forEach((id, a) -> t.put(id, a.getHostString() + ":" + a.getPort()));
        return t;
    }

    ReplicaServer start(int id) throws IOException {
        PaxosLimits limits = PaxosLimits.DEFAULTS;
        PaxosConfig paxos = new PaxosConfig(id, List.copyOf(members.keySet()), TimeUnit.MILLISECONDS.toNanos(150),
                TimeUnit.MILLISECONDS.toNanos(50), TimeUnit.MILLISECONDS.toNanos(50),
                TimeUnit.MILLISECONDS.toNanos(LEASE_MILLIS), limits, 7 + id);
        ReplicaServer.Options o = new ReplicaServer.Options(id, members, root.resolve("r" + id),
                SyncPolicy.NONE, paxos, new LogLimits(limits.maxValueBytes() + 8192, 1024, 16 << 20, 16 << 20),
                50, TimeUnit.MILLISECONDS.toNanos(5), faultAdmin, core -> { }, true, replicaLimits,
                hostedBy(id), log, null, store);
        SystemClockTrueTime trueTime = new SystemClockTrueTime(TimeUnit.MILLISECONDS.toNanos(1));
        ReplicaServer s = store == ReplicaServer.StoreKind.ROCKS ? new ReplicaServer(o, trueTime, "list-append")
                : new ReplicaServer(o, trueTime, () -> {
                    ListAppendMachine m = new ListAppendMachine();
                    machines.put(id, m);
                    return wrap.apply(id, m);
                });
        if (txnHandlers != null) {
            s.withTxnHandlers(txnHandlers.apply(id));
        }
        if (tls != null) {
            try {
                s.withTls(tls);
            } catch (TlsConfig.TlsConfigException e) {
                throw new IOException(e.getMessage(), e);
            }
        }
        s.start();
        servers.put(id, s);
        return s;
    }

    private Map<Long, List<Integer>> hostedBy(int id) {
        if (groups == null) {
            return Map.of(ReplicaServer.GROUP, List.copyOf(members.keySet()));
        }
        Map<Long, List<Integer>> mine = new TreeMap<>();
        groups.forEach((g, ms) -> {
            if (ms.contains(id)) {
                mine.put(g, ms);
            }
        });
        return mine;
    }

    void startAll() throws IOException {
        for (int id : members.keySet()) {
            start(id);
        }
    }

    /** A client of {@code group} through every member, made on first use and closed with the cluster. */
    ReplicaClient client(long group, ReplicaClient.AppendCalls calls) {
        return clients.computeIfAbsent(group + "/" + calls, k -> new ReplicaClient(targets(), calls, group));
    }

    void stop(int id) {
        ReplicaServer s = servers.remove(id);
        if (s != null) {
            s.close();
        }
    }

    @Override
    public void close() {
        clients.values().forEach(ReplicaClient::close);
        clients.clear();
        for (ReplicaServer s : servers.values()) {
            s.close();
        }
        servers.clear();
    }
}
