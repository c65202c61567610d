package io.gnomon.paxos.server;

import io.gnomon.paxos.ChildJvm;
import io.gnomon.paxos.cluster.GroupSpec;
import io.gnomon.paxos.grpc.AppendReply;
import io.gnomon.paxos.grpc.Outcome;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Issue 19's proof of state larger than memory: a 3-process cluster whose JVMs have a small heap takes more key-value
 * puts than that heap holds (64 KiB values) spread over its groups, every process is killed with SIGKILL, all
 * restart, and every acknowledged put reads back. The replicas run their machines on the versioned store ({@code
 * --store rocks}: each group's log replayed from the machine's applied index, compacted from {@code flush()} every
 * 256 entries, snapshots metadata only). The suite runs 384 MiB through 256 MiB heaps; the figure, 1 GiB
 * through 256 MiB heaps, is {@code -Dstored.cluster.mib=1024 -Dstored.cluster.heap=256m} (docs/versioned-store.md).
 */
class StoredClusterKillNineTest {
    static final Duration T = Duration.ofSeconds(60);
    static final int GROUPS = 4;
    static final int VALUE_BYTES = 64 << 10;
    static final int PUTS = Integer.getInteger("stored.cluster.mib", 384) * ((1 << 20) / VALUE_BYTES);
    static final String HEAP = System.getProperty("stored.cluster.heap", "256m");
    static final int IN_FLIGHT = 16;

    @TempDir
    Path tmp;

    private ReplicaProcesses processes;
    private final List<ReplicaClient> clients = new ArrayList<>();

    @AfterEach
    void tearDown() {
        clients.forEach(ReplicaClient::close);
        if (processes != null) {
            processes.close();
        }
    }

    @Test
    void aGibibyteOfAcknowledgedPutsSurvivesSigkillOfEveryProcess() throws Exception {
        processes = new ReplicaProcesses(tmp, 3, ChildJvm.classpath(),
                List.of("--truetime", "system:1ms", "--machine", "kv", "--store", "rocks", "--compact-every", "256"),
                List.of("-Xmx" + HEAP))
                .withCluster(GROUPS, 3);
        processes.startAll(T);
        List<GroupSpec> groups = processes.cluster().groups();
        connect(groups);
        BitSet acknowledged = new BitSet(PUTS);
        Semaphore inFlight = new Semaphore(IN_FLIGHT);
        List<CompletableFuture<Void>> pending = new ArrayList<>();
        for (int n = 0; n < PUTS; n++) {
            inFlight.acquire();
            int put = n;
            pending.add(clients.get(n % GROUPS).appendAsync(KeyValueMachine.put(key(n), value(n)), T)
                    .thenAccept(reply -> {
                        if (reply.getOutcome() == Outcome.APPLIED) {
                            synchronized (acknowledged) {
                                acknowledged.set(put);
                            }
                        }
                        inFlight.release();
                    }));
        }
        CompletableFuture.allOf(pending.toArray(new CompletableFuture[0])).join();
        assertThat(acknowledged.cardinality()).as("puts acknowledged").isGreaterThan(PUTS / 2);

        for (int id : processes.ids()) {
            processes.kill9(id);
        }
        clients.forEach(ReplicaClient::close);
        clients.clear();
        processes.startAll(T);
        connect(groups);
        for (int n = acknowledged.nextSetBit(0); n >= 0; n = acknowledged.nextSetBit(n + 1)) {
            byte[] answer = clients.get(n % GROUPS).read(key(n), T).orElseThrow(() -> new AssertionError("read not served"))
                    .getResult().toByteArray();
            assertThat(answer[0]).as("acknowledged put %d present", n).isEqualTo((byte) 1);
            assertThat(Arrays.copyOfRange(answer, 1, answer.length)).as("value of put %d", n).isEqualTo(value(n));
        }
    }

    private void connect(List<GroupSpec> groups) {
        for (GroupSpec g : groups) {
            Map<Integer, String> targets = new TreeMap<>();
            for (int p : g.replicas()) {
                targets.put(p, processes.targets().get(p));
            }
            ReplicaClient client = new ReplicaClient(targets, ReplicaClient.AppendCalls.UNARY, g.id());
            clients.add(client);
            await().atMost(T).pollInterval(Duration.ofMillis(50)).until(() -> client.leaseHolder(Duration.ofSeconds(1)).isPresent());
        }
    }

    static byte[] key(int n) {
        return StoredMachineFillChild.key(n);
    }

    static byte[] value(int n) {
        return StoredMachineFillChild.value(n, VALUE_BYTES);
    }
}
