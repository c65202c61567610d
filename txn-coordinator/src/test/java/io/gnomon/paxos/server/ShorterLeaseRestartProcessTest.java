package io.gnomon.paxos.server;

import com.google.protobuf.ByteString;
import io.gnomon.paxos.ChildJvm;
import io.gnomon.paxos.grpc.AppendReply;
import io.gnomon.paxos.grpc.AppendRequest;
import io.gnomon.paxos.grpc.FaultAdminGrpc;
import io.gnomon.paxos.grpc.Outcome;
import io.gnomon.paxos.grpc.PartitionRequest;
import io.gnomon.paxos.grpc.ReadReply;
import io.gnomon.paxos.grpc.ReadRequest;
import io.gnomon.paxos.grpc.ReplicaGrpc;
import io.gnomon.paxos.grpc.StatusReply;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Issue 16 with real processes: a follower whose grant carries the leader's lease is killed and restarted with a
 * much shorter {@code --lease-ms} while the leader, cut off from everyone, still believes in its lease. Before
 * grants were persisted the restarted follower waited only its new, short lease and helped elect a new leader at
 * once: two replicas served lease reads at the same time and the old one answered reads that missed writes the new
 * one had acknowledged. Now it waits out the grant it persisted, so neither happens.
 *
 * <p>Setup: replicas 1 and 2 run with {@code --lease-ms 30000}; the one that leads is L, the other A. Replica 3 (B,
 * {@code --lease-ms 300}) starts only once L leads, with L sending it nothing: B never grants L anything, so L's
 * lease rests on A's grant. Then L is cut from A, A is killed and restarted with {@code --lease-ms 300}, and B and
 * A form a majority. L still takes what B sends (B's pre-votes and Prepares, which it defers while its own lease
 * runs), so it hears a majority and keeps leading: it does not step down, it only loses its lease when A's grant
 * runs out. The lease is long because the restart of a JVM on a loaded machine can take many seconds, and the
 * restarted A must be back well within it for the bug to show. Watched throughout: every replica's status (who may
 * serve lease reads, until when) and lease reads at every replica while a writer appends through the others.
 */
class ShorterLeaseRestartProcessTest {
    private static final long LEASE_MILLIS = 30_000;
    private static final long SHORT_LEASE_MILLIS = 300;
    private static final Duration T = Duration.ofSeconds(120);

    @TempDir
    Path tmp;

    private ReplicaProcesses group;
    private ReplicaClient client;
    private final Map<Integer, ManagedChannel> channels = new TreeMap<>();

    @AfterEach
    void tearDown() {
        channels.values().forEach(ManagedChannel::shutdownNow);
        if (client != null) {
            client.close();
        }
        if (group != null) {
            group.close();
        }
    }

    private static List<String> args(long leaseMillis) {
        return List.of("--truetime", "system:1ms", "--lease-ms", String.valueOf(leaseMillis),
                "--election-timeout-ms", "500", "--heartbeat-ms", "100", "--sync", "each-batch", "--fault-admin");
    }

    private static long epochNanos() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    /** What one status poll saw: replica, incarnation, and the lease it could serve on, as of reply time. */
    private record Seen(int replica, long incarnation, long repliedEpochNanos, long leaseEndEpochNanos) {
    }

    /** A served lease read: sent after every value in {@code ackedBefore} was acknowledged; what it returned. */
    private record Served(int replica, List<Long> ackedBefore, List<Long> returned) {
    }

    @Test
    void aFollowerRestartedWithAShorterLeaseWaitsOutItsGrantNoOverlapNoStaleRead() throws Exception {
        group = new ReplicaProcesses(tmp, 3, ChildJvm.classpath(), args(LEASE_MILLIS));
        group.start(1);
        group.start(2);
        group.awaitReady(1, T);
        group.awaitReady(2, T);
        client = new ReplicaClient(group.targets());
        group.targets().forEach((id, target) ->
                channels.put(id, NettyChannelBuilder.forTarget(target).usePlaintext().build()));
        await().atMost(T).pollInterval(Duration.ofMillis(50)).until(() -> client.leaseHolder(Duration.ofMillis(500)).isPresent());
        int leader = client.leaseHolder(Duration.ofMillis(500)).orElseThrow();
        int a = 3 - leader;
        int b = 3;
        admin(leader).setPartition(PartitionRequest.newBuilder().addBlockedOutbound(b).build());
        group.start(b, args(SHORT_LEASE_MILLIS));
        group.awaitReady(b, T);
        assertThat(client.append(ListAppend.encodeTxn(List.of(ListAppend.Op.append("k", 0))), T).getOutcome())
                .isEqualTo(Outcome.APPLIED);
        List<Long> acked = new CopyOnWriteArrayList<>(List.of(0L));

        // Watch statuses and serve reads everywhere, and write through whoever leads, from here to the end.
        List<Seen> seen = new CopyOnWriteArrayList<>();
        List<Served> served = new CopyOnWriteArrayList<>();
        AtomicBoolean stop = new AtomicBoolean();
        Thread watcher = new Thread(() -> {
            while (!stop.get()) {
                for (int id : group.ids()) {
                    try {
                        StatusReply s = ReplicaGrpc.newBlockingStub(channels.get(id))
                                .withDeadlineAfter(300, TimeUnit.MILLISECONDS).status(
                                        io.gnomon.paxos.grpc.StatusRequest.getDefaultInstance());
                        if (s.getLeaseReadReady()) {
                            seen.add(new Seen(id, s.getIncarnation(), epochNanos(), s.getLeaseEndEpochNanos()));
                        }
                        List<Long> before = List.copyOf(acked);
                        ReadReply r = ReplicaGrpc.newBlockingStub(channels.get(id))
                                .withDeadlineAfter(300, TimeUnit.MILLISECONDS).read(ReadRequest.newBuilder()
                                        .setQuery(ByteString.copyFrom("k", StandardCharsets.UTF_8)).build());
                        if (r.getServed()) {
                            served.add(new Served(id, before, ListAppend.decodeList(r.getResult().toByteArray())));
                        }
                    } catch (StatusRuntimeException e) {
                        // down or restarting: nothing seen
                    }
                }
                pause();
            }
        }, "watcher");
        Thread writer = new Thread(() -> {
            long next = 1;
            while (!stop.get()) {
                for (int id : group.ids()) {
                    if (stop.get() || id == leader) {
                        continue; // the cut-off leader cannot decide anything; asking it only costs a timeout
                    }
                    try {
                        AppendReply r = ReplicaGrpc.newBlockingStub(channels.get(id))
                                .withDeadlineAfter(2, TimeUnit.SECONDS).append(AppendRequest.newBuilder()
                                        .setCommand(ByteString.copyFrom(ListAppend.encodeTxn(
                                                List.of(ListAppend.Op.append("k", next))))).build());
                        if (r.getOutcome() == Outcome.APPLIED) {
                            acked.add(next);
                        }
                        if (r.getOutcome() != Outcome.NOT_APPENDED) {
                            next++; // an UNKNOWN value may still be decided: never reuse it
                        } else {
                            pause(); // no leader there yet
                        }
                    } catch (StatusRuntimeException e) {
                        next++;
                    }
                }
            }
        }, "writer");
        watcher.start();
        writer.start();
        try {
            // 1. The leader serves on A's grant alone (B asks for votes, A refuses: it hears the leader).
            await().atMost(T).pollInterval(Duration.ofMillis(50))
                    .until(() -> served.stream().anyMatch(s -> s.replica() == leader));
            assertThat(client.status(leader, Duration.ofSeconds(1)).orElseThrow().getLeaseReadReady())
                    .as("replica %d leads with A's grant", leader).isTrue();

            // 2. Cut the leader from A (it still takes what B sends), kill A, restart it with a much shorter lease.
            admin(leader).setPartition(PartitionRequest.newBuilder().addBlocked(a).addBlockedOutbound(b).build());
            long lastGrantByA = epochNanos();
            group.kill9(a);
            group.start(a, args(SHORT_LEASE_MILLIS));
            group.awaitReady(a, T);
            System.out.printf("replica %d serving again %d ms after its last grant%n", a,
                    TimeUnit.NANOSECONDS.toMillis(epochNanos() - lastGrantByA));

            // 3. B and A elect a new leader, which serves and acknowledges writes.
            await().atMost(T).pollInterval(Duration.ofMillis(50)).until(() -> acked.size() > 20);
            long newLeaderServingAt = epochNanos();
            System.out.printf("replica %d (lease %d ms) restarted with %d ms; a new leader acknowledged writes %d ms"
                            + " after its last grant%n", a, LEASE_MILLIS, SHORT_LEASE_MILLIS,
                    TimeUnit.NANOSECONDS.toMillis(newLeaderServingAt - lastGrantByA));
            await().atMost(T).pollInterval(Duration.ofMillis(50)).until(() -> served.stream()
                    .anyMatch(s -> s.replica() != leader && s.returned().size() > 20));
        } finally {
            stop.set(true);
            watcher.join(TimeUnit.SECONDS.toMillis(10));
            writer.join(TimeUnit.SECONDS.toMillis(10));
        }

        if (Boolean.getBoolean("lease.test.logs")) {
            for (int id : group.ids()) {
                System.out.println("==== replica " + id + "\n" + group.log(id));
            }
        }
        // No two lease holders at once: per (replica, incarnation), from the first reply that said it could serve
        // to the latest lease end it reported; intervals of different processes must be disjoint.
        Map<String, long[]> leases = new TreeMap<>();
        for (Seen s : seen) {
            leases.merge(s.replica() + "/" + s.incarnation(), new long[] {s.repliedEpochNanos(), s.leaseEndEpochNanos()},
                    (x, y) -> new long[] {Math.min(x[0], y[0]), Math.max(x[1], y[1])});
        }
        assertThat(leases.keySet()).as("the old and the new leader both served").hasSizeGreaterThanOrEqualTo(2);
        List<String> overlaps = new ArrayList<>();
        for (var x : leases.entrySet()) {
            for (var y : leases.entrySet()) {
                if (x.getKey().compareTo(y.getKey()) < 0 && x.getValue()[0] <= y.getValue()[1]
                        && y.getValue()[0] <= x.getValue()[1]) {
                    overlaps.add(x.getKey() + " " + interval(x.getValue()) + " and " + y.getKey() + " "
                            + interval(y.getValue()));
                }
            }
        }
        // No stale lease read: each read saw every write acknowledged before it was sent.
        List<String> stale = new ArrayList<>();
        for (Served s : served) {
            if (!s.returned().containsAll(s.ackedBefore())) {
                stale.add("replica " + s.replica() + " returned " + s.returned().size() + " values, "
                        + s.ackedBefore().size() + " acknowledged before the read");
            }
        }
        System.out.printf("leases seen: %s; %d lease reads served%n", leases.keySet(), served.size());
        List<String> problems = new ArrayList<>();
        overlaps.forEach(o -> problems.add("overlapping leases: " + o));
        stale.stream().limit(5).forEach(x -> problems.add("stale lease read (of " + stale.size() + "): " + x));
        assertThat(problems).isEmpty();
    }

    /**
     * The first call on a channel connects it: under a load of 20 on 2 cores that alone took the whole of a 5 s
     * deadline (DEADLINE_EXCEEDED, "connecting_and_lb_delay"), so the bound is the test's own wait.
     */
    private FaultAdminGrpc.FaultAdminBlockingStub admin(int id) {
        return FaultAdminGrpc.newBlockingStub(channels.get(id)).withDeadlineAfter(T.toSeconds(), TimeUnit.SECONDS);
    }

    /** Between polls and refused appends, so the loops leave the two shared cores to the replicas. */
    private static void pause() {
        try {
            Thread.sleep(10);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String interval(long[] epochNanos) {
        return "[" + epochNanos[0] + ", " + epochNanos[1] + "]";
    }
}
