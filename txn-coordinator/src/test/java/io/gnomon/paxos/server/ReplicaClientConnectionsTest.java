package io.gnomon.paxos.server;

import com.google.protobuf.ByteString;
import io.gnomon.paxos.grpc.AppendReply;
import io.gnomon.paxos.grpc.AppendRequest;
import io.gnomon.paxos.grpc.Outcome;
import io.gnomon.paxos.grpc.ReplicaGrpc;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Clients of many groups over one {@link ReplicaClient.Connections}: one append stream per process carries every
 * group's appends, each naming its group, and each group follows its own leader. The processes here are fakes that
 * answer at once (group 1 is led by process 1, every other group by process 2), so what is checked is the client.
 */
class ReplicaClientConnectionsTest {
    private static final Duration T = Duration.ofSeconds(20);

    private final List<Server> servers = new ArrayList<>();
    private final Map<Integer, AtomicInteger> streamsOpened = new TreeMap<>();
    /** Process id to the groups its append streams carried. */
    private final Map<Integer, Set<Long>> groupsCarried = new ConcurrentHashMap<>();

    @AfterEach
    void tearDown() {
        servers.forEach(Server::shutdownNow);
    }

    /** A process that applies appends to the groups it leads and names the leader for the others. */
    private String process(int id) throws IOException {
        streamsOpened.put(id, new AtomicInteger());
        groupsCarried.put(id, ConcurrentHashMap.newKeySet());
        Server s = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).directExecutor()
                .addService(new ReplicaGrpc.ReplicaImplBase() {
                    @Override
                    public StreamObserver<AppendRequest> appendStream(StreamObserver<AppendReply> replies) {
                        streamsOpened.get(id).incrementAndGet();
                        return new StreamObserver<>() {
                            @Override
                            public synchronized void onNext(AppendRequest r) {
                                long group = r.getGroup() == 0 ? 1 : r.getGroup();
                                groupsCarried.get(id).add(group);
                                int leader = group == 1 ? 1 : 2;
                                AppendReply.Builder reply = AppendReply.newBuilder().setId(r.getId());
                                if (leader == id) {
                                    reply.setOutcome(Outcome.APPLIED).setResult(ByteString.copyFrom(
                                            ("group " + group + " at " + id + ": " + r.getCommand().toStringUtf8())
                                                    .getBytes(StandardCharsets.UTF_8)));
                                } else {
                                    reply.setOutcome(Outcome.NOT_APPENDED).setLeaderHint(leader);
                                }
                                replies.onNext(reply.build());
                            }

                            @Override
                            public void onError(Throwable t) {
                            }

                            @Override
                            public synchronized void onCompleted() {
                                replies.onCompleted();
                            }
                        };
                    }
                }).build().start();
        servers.add(s);
        return "127.0.0.1:" + s.getPort();
    }

    @Test
    void everyGroupsAppendsShareOneStreamPerProcessAndEachGroupFollowsItsOwnLeader() throws Exception {
        Map<Integer, String> processes = Map.of(1, process(1), 2, process(2));
        try (ReplicaClient.Connections connections = ReplicaClient.connect(processes, ReplicaClient.AppendCalls.STREAM)) {
            Map<Long, ReplicaClient> clients = new TreeMap<>();
            for (long g = 1; g <= 4; g++) {
                clients.put(g, connections.group(g, List.of(1, 2)));
            }
            clients.put(5L, connections.group(5, List.of(2))); // a group on process 2 only
            List<CompletableFuture<AppendReply>> replies = new ArrayList<>();
            List<String> expected = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                for (var e : clients.entrySet()) {
                    replies.add(e.getValue().appendAsync(("v" + i).getBytes(StandardCharsets.UTF_8), T));
                    expected.add("group " + e.getKey() + " at " + (e.getKey() == 1 ? 1 : 2) + ": v" + i);
                }
            }
            List<String> results = new ArrayList<>();
            for (CompletableFuture<AppendReply> r : replies) {
                AppendReply reply = r.get(T.toSeconds(), TimeUnit.SECONDS);
                assertThat(reply.getOutcome()).as(reply.getDetail()).isEqualTo(Outcome.APPLIED);
                results.add(reply.getResult().toStringUtf8());
            }
            assertThat(results).containsExactlyElementsOf(expected);
            assertThat(streamsOpened.get(1).get()).as("streams to process 1").isEqualTo(1);
            assertThat(streamsOpened.get(2).get()).as("streams to process 2").isEqualTo(1);
            // Process 1 saw each group until its client learned the leader; group 5 never went there.
            assertThat(groupsCarried.get(1)).containsExactlyInAnyOrder(1L, 2L, 3L, 4L);
            assertThat(groupsCarried.get(2)).containsExactlyInAnyOrder(2L, 3L, 4L, 5L);

            // Closing one group's client leaves the shared channels to the others.
            clients.get(2L).close();
            AppendReply after = clients.get(3L).appendAsync("w".getBytes(StandardCharsets.UTF_8), T)
                    .get(T.toSeconds(), TimeUnit.SECONDS);
            assertThat(after.getResult().toStringUtf8()).isEqualTo("group 3 at 2: w");
        }
    }

    @Test
    void aGroupOfAProcessWithoutAnAddressIsRefused() throws Exception {
        try (ReplicaClient.Connections connections = ReplicaClient.connect(Map.of(1, process(1)),
                ReplicaClient.AppendCalls.STREAM)) {
            assertThatThrownBy(() -> connections.group(3, List.of(1, 2)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("group 3: replica 2 has no address (known: [1])");
            assertThatThrownBy(() -> connections.group(0, List.of(1)))
                    .hasMessage("group 0 must be >= 1");
        }
    }

    /**
     * A stream whose call fails as it starts (gRPC runs its onError on the sending thread when the channel is in
     * transient failure, as to a replica that just died) answers the append UNKNOWN like any broken stream; it once
     * threw a NullPointerException out of append (the stream was dropped inside its own opening).
     */
    @Test
    void anAppendStreamThatFailsAsItOpensAnswersUnknown() {
        Map<Integer, String> nobody = Map.of(1, "127.0.0.1:" + ReplicaProcesses.freePort());
        try (ReplicaClient client = new ReplicaClient(nobody, ReplicaClient.AppendCalls.STREAM)) {
            for (int i = 0; i < 3; i++) { // the first may fail later, as the connection is refused; the next at once
                AppendReply r = client.append(new byte[] {1}, java.time.Duration.ofSeconds(2));
                assertThat(r.getOutcome()).as(r.getDetail()).isEqualTo(io.gnomon.paxos.grpc.Outcome.UNKNOWN);
            }
        }
    }
}
