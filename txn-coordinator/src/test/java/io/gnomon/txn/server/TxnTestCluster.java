package io.gnomon.txn.server;

import io.gnomon.paxos.PaxosConfig;
import io.gnomon.paxos.PaxosLimits;
import io.gnomon.paxos.cluster.ClusterSpec;
import io.gnomon.paxos.cluster.GroupSpec;
import io.gnomon.paxos.cluster.HostPort;
import io.gnomon.paxos.cluster.ProcessSpec;
import io.gnomon.paxos.server.ReplicaLimits;
import io.gnomon.paxos.server.ReplicaProcesses;
import io.gnomon.paxos.server.ReplicaServer;
import io.gnomon.paxos.server.SystemClockTrueTime;
import io.gnomon.paxos.storage.LogLimits;
import io.gnomon.paxos.storage.SyncPolicy;
import io.gnomon.truetime.TrueTime;
import io.gnomon.txn.TxnHost;
import io.gnomon.txn.TxnLimits;
import io.gnomon.txn.grpc.TxnKvGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * Replica processes of the transaction machine in this JVM ({@link ReplicaServer} with a {@link TxnNode} each), on
 * loopback ports the test picks, with the groups of {@link ClusterSpec#evenlySplit}: every process hosts every
 * group when there are as many replicas per group as processes.
 */
final class TxnTestCluster implements AutoCloseable {
    /**
     * The server tests' limits: 50 ms ε ceiling, 120 s idle timeout, {@code prepareTimeoutNanos}, 200 ms inquiries,
     * and an outcome retention of a century, since the tests name "older than any" transactions by tiny priorities
     * (ages of decades), which the default retention refuses as too old.
     */
    static TxnLimits testLimits(long prepareTimeoutNanos) {
        return new TxnLimits(10_000, 10_000, 100_000, 10_000, TimeUnit.MILLISECONDS.toNanos(50),
                TimeUnit.SECONDS.toNanos(120), prepareTimeoutNanos, TimeUnit.MILLISECONDS.toNanos(200))
                .withOutcomeRetention(TimeUnit.DAYS.toNanos(36_500), 1_000);
    }

    final ClusterSpec spec;
    private final Path root;
    private final TxnLimits limits;
    private final Map<Integer, InetSocketAddress> peers = new TreeMap<>();
    private final Map<Integer, InetSocketAddress> clientAddresses = new TreeMap<>();
    final Map<Integer, ReplicaServer> servers = new TreeMap<>();
    final Map<Integer, TxnNode> nodes = new TreeMap<>();
    final TrueTime trueTime = new SystemClockTrueTime(TimeUnit.MILLISECONDS.toNanos(1));
    /** Version retention and GC interval; null: TxnNode's defaults. */
    private long[] retention;

    TxnTestCluster(Path root, int processes, int groups, TxnLimits limits) {
        this.root = root;
        this.limits = limits.acceptingUnverifiedClock(); // one host's clock, SystemClockTrueTime
        List<ProcessSpec> ps = new ArrayList<>();
        for (int id = 1; id <= processes; id++) {
            InetSocketAddress peer = new InetSocketAddress("127.0.0.1", ReplicaProcesses.freePort());
            InetSocketAddress client = new InetSocketAddress("127.0.0.1", ReplicaProcesses.freePort());
            peers.put(id, peer);
            clientAddresses.put(id, client);
            ps.add(new ProcessSpec(id, new HostPort("127.0.0.1", peer.getPort()),
                    new HostPort("127.0.0.1", client.getPort()), Optional.empty()));
        }
        ClusterSpec layout = ClusterSpec.evenlySplit(processes, groups, processes, "127.0.0.1", 10_000);
        spec = ClusterSpec.of(ps, layout.groups());
    }

    /** Processes started from now on keep versions for {@code retentionNanos}, collecting every {@code intervalNanos}. */
    TxnTestCluster withVersionRetention(long retentionNanos, long intervalNanos) {
        retention = new long[]{retentionNanos, intervalNanos};
        return this;
    }

    void startAll() throws IOException {
        for (int id : peers.keySet()) {
            start(id);
        }
    }

    ReplicaServer start(int id) throws IOException {
        PaxosLimits paxosLimits = PaxosLimits.DEFAULTS;
        PaxosConfig paxos = new PaxosConfig(id, List.copyOf(peers.keySet()), TimeUnit.MILLISECONDS.toNanos(150),
                TimeUnit.MILLISECONDS.toNanos(50), TimeUnit.MILLISECONDS.toNanos(50),
                TimeUnit.MILLISECONDS.toNanos(600), paxosLimits, 7 + id);
        Map<Long, List<Integer>> all = new TreeMap<>();
        Map<Long, List<Integer>> mine = new TreeMap<>();
        for (GroupSpec g : spec.groups()) {
            all.put((long) g.id(), g.replicas());
            if (g.replicas().contains(id)) {
                mine.put((long) g.id(), g.replicas());
            }
        }
        ReplicaServer.Options o = new ReplicaServer.Options(id, peers, root.resolve("r" + id), SyncPolicy.NONE, paxos,
                new LogLimits(paxosLimits.maxValueBytes() + 8192, 1024, 16 << 20, 16 << 20), 1_000,
                TimeUnit.MILLISECONDS.toNanos(5), false, core -> { }, true, ReplicaLimits.DEFAULTS, mine,
                ReplicaServer.LogKind.PROCESS, clientAddresses.get(id), ReplicaServer.StoreKind.ROCKS);
        TxnNode node = new TxnNode(id, all, trueTime, limits, TxnHost.Options.DEFAULTS);
        if (retention != null) {
            node.withVersionRetention(retention[0], retention[1]);
        }
        ReplicaServer s = node.attach(new ReplicaServer(o, trueTime, "txn")).start();
        servers.put(id, s);
        nodes.put(id, node);
        return s;
    }

    void stop(int id) {
        ReplicaServer s = servers.remove(id);
        nodes.remove(id);
        if (s != null) {
            s.close();
        }
    }

    TxnClient client() {
        return TxnClient.connect(spec, null);
    }

    /** The raw service of one process, for requests the client never sends; closing it closes its channel. */
    record Raw(ManagedChannel channel, TxnKvGrpc.TxnKvBlockingStub stub) implements AutoCloseable {
        @Override
        public void close() {
            channel.shutdownNow();
        }
    }

    /** Process {@code id}'s raw service, each call with a 20 s deadline. */
    Raw raw(int id) {
        ManagedChannel ch = NettyChannelBuilder.forTarget("127.0.0.1:"
                + spec.process(id).orElseThrow().client().port()).usePlaintext().build();
        return new Raw(ch, TxnKvGrpc.newBlockingStub(ch).withDeadlineAfter(20, TimeUnit.SECONDS));
    }

    /** A key of group {@code group} (1-based), by its range's start and a suffix. */
    byte[] keyIn(int group, String suffix) {
        byte[] start = spec.groups().get(group - 1).range().start().bytes();
        if (start.length == 0) {
            start = new byte[]{0}; // the first group's range starts at the empty key: keep the suffix inside it
        }
        byte[] s = suffix.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] k = new byte[start.length + s.length];
        System.arraycopy(start, 0, k, 0, start.length);
        System.arraycopy(s, 0, k, start.length, s.length);
        return k;
    }

    /** Every process's transaction state per group (leaders' lock tables, in-flight transactions), for failures. */
    String describe() {
        StringBuilder b = new StringBuilder();
        servers.forEach((id, s) -> {
            for (GroupSpec g : spec.groups()) {
                java.util.concurrent.CompletableFuture<String> f = new java.util.concurrent.CompletableFuture<>();
                s.submit(g.id(), () -> {
                    TxnHost<?> h = nodes.get(id).host(g.id());
                    f.complete(h.core().describe() + (h.lockTable() == null ? "" : "\n" + h.lockTable().describe()));
                });
                try {
                    b.append("process ").append(id).append(" group ").append(g.id()).append(": ")
                            .append(f.get(5, TimeUnit.SECONDS)).append('\n');
                } catch (Exception e) {
                    b.append("process ").append(id).append(" group ").append(g.id()).append(": ").append(e).append('\n');
                }
            }
        });
        return b.toString();
    }

    @Override
    public void close() {
        for (int id : new ArrayList<>(servers.keySet())) {
            stop(id);
        }
    }
}
