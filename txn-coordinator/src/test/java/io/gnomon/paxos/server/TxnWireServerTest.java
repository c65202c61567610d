package io.gnomon.paxos.server;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.gnomon.paxos.PaxosLimits;
import io.gnomon.paxos.runtime.MessageCodec;
import io.gnomon.paxos.server.ProcessTransport.TxnEnvelope;
import io.gnomon.txn.TxnId;
import io.gnomon.txn.TxnMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Transaction messages between groups through real {@link ReplicaServer}s: a message for a hosted group reaches that
 * group's handler on the group's loop thread, its handler's sender reaches another process's group the same way, and
 * a message for a group the process does not host, or one with no handler, is dropped with a warning naming the
 * group while the server serves on. The transport alone: {@link TxnWireTest}.
 */
class TxnWireServerTest {
    private static final Duration T = Duration.ofSeconds(30);

    @TempDir
    Path tmp;
    private LocalCluster cluster;
    private final ListAppender<ILoggingEvent> warnings = new ListAppender<>();
    private final Logger serverLog = (Logger) LoggerFactory.getLogger(ReplicaServer.class);

    /** What a handler got: on which process and group, from where, what, and on which thread. */
    record Delivery(int process, long group, int fromProcess, long fromGroup, TxnMessage message, String thread) {
    }

    @AfterEach
    void tearDown() {
        serverLog.detachAppender(warnings);
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void aMessageReachesItsGroupsHandlerOnItsLoopAndOthersAreDroppedWithAWarning() throws Exception {
        warnings.start();
        serverLog.addAppender(warnings);
        List<Delivery> deliveries = Collections.synchronizedList(new ArrayList<>());
        // Group 1 on every process, 2 on processes 1 and 2, 3 on 3 alone (with no handler there).
        cluster = new LocalCluster(tmp, 3).withLimits(ReplicaLimits.DEFAULTS.withLoopThreads(2))
                .withGroups(Map.of(1L, List.of(1, 2, 3), 2L, List.of(1, 2), 3L, List.of(3)))
                .withTxnHandlers(process -> (group, host, sender) -> process == 3 && group == 3 ? null
                        : (fromProcess, fromGroup, message) -> {
                            deliveries.add(new Delivery(process, group, fromProcess, fromGroup, message,
                                    Thread.currentThread().getName()));
                            // Process 1's group 2 answers a Prepared with a Commit to process 2's group 2.
                            if (process == 1 && group == 2 && message instanceof TxnMessage.Prepared p) {
                                sender.send(2, 2, new TxnMessage.Commit(p.txn(), p.prepareTimestampEpochNanos() + 1));
                            }
                        });
        cluster.startAll();

        TxnId txn = new TxnId(1_000, 42, 0);
        try (GrpcTransport outsider = new GrpcTransport(9, cluster.targets(), new MessageCodec(PaxosLimits.DEFAULTS),
                (to, e) -> { }, ReplicaLimits.DEFAULTS)) {
            // Not hosted on process 3; no handler for group 3 on process 3: both dropped, with the group named.
            TxnMessage.Prepared prepared = new TxnMessage.Prepared(txn, 1, 5_000);
            await().atMost(T).pollInterval(Duration.ofMillis(50)).until(() -> {
                outsider.send(3, new TxnEnvelope(9, 1, 2, prepared));
                outsider.send(3, new TxnEnvelope(9, 1, 3, prepared));
                return warned("dropped a transaction message (Prepared of " + txn + " from group 1 on replica 9)"
                        + " for group 2: this process hosts groups [1, 3]")
                        && warned("group 3: no transaction handler on replica 3");
            });
            // The server serves on: a message for a hosted group with a handler still arrives, and so does the
            // answer its handler sends to another process, each on its group's loop thread.
            await().atMost(T).pollInterval(Duration.ofMillis(50)).until(() -> {
                outsider.send(1, new TxnEnvelope(9, 1, 2, prepared));
                synchronized (deliveries) { // loop threads add to it meanwhile
                    return deliveries.stream().anyMatch(d -> d.process() == 2);
                }
            });
        }
        List<Delivery> got;
        synchronized (deliveries) {
            got = List.copyOf(deliveries);
        }
        assertThat(got).allSatisfy(d -> assertThat(d.thread())
                .isEqualTo(cluster.servers.get(d.process()).loopThreadName(d.group())));
        assertThat(got).filteredOn(d -> d.process() == 1).isNotEmpty().allSatisfy(d -> {
            assertThat(d.group()).isEqualTo(2);
            assertThat(d.fromProcess()).isEqualTo(9);
            assertThat(d.fromGroup()).isEqualTo(1);
            assertThat(d.message()).isEqualTo(new TxnMessage.Prepared(txn, 1, 5_000));
        });
        assertThat(got).filteredOn(d -> d.process() == 2).isNotEmpty().allSatisfy(d -> {
            assertThat(d.group()).isEqualTo(2);
            assertThat(d.fromProcess()).isEqualTo(1);
            assertThat(d.fromGroup()).isEqualTo(2);
            assertThat(d.message()).isEqualTo(new TxnMessage.Commit(txn, 5_001));
        });
        assertThat(got).noneMatch(d -> d.process() == 3);
        // The two groups of process 1 are on different loops, so the check above does tell loops apart.
        assertThat(cluster.servers.get(1).loopThreadName(1)).isNotEqualTo(cluster.servers.get(1).loopThreadName(2));
        // Still serving Paxos: every group has a leader and takes appends.
        for (long g : List.of(1L, 2L, 3L)) {
            ReplicaClient client = cluster.client(g, ReplicaClient.AppendCalls.UNARY);
            ListAppends.appendOnce(client, "k", g, T);
            assertThat(ListAppends.read(client, "k", T)).containsExactly(g);
        }
    }

    @Test
    void aPartitionDropsTransactionMessagesOnArrivalAsItDropsPaxosOnes() throws Exception {
        List<Delivery> deliveries = Collections.synchronizedList(new ArrayList<>());
        cluster = new LocalCluster(tmp, 2).withFaultAdmin()
                .withTxnHandlers(process -> (group, host, sender) -> (fromProcess, fromGroup, message) ->
                        deliveries.add(new Delivery(process, group, fromProcess, fromGroup, message,
                                Thread.currentThread().getName())));
        cluster.startAll();
        TxnId txn = new TxnId(1_000, 42, 0);
        TxnMessage cut = new TxnMessage.Abort(txn, "sent across the partition");
        TxnMessage barrier = new TxnMessage.Abort(txn, "sent after it by another process");
        try (GrpcTransport outsider = new GrpcTransport(9, cluster.targets(), new MessageCodec(PaxosLimits.DEFAULTS),
                (to, e) -> { }, ReplicaLimits.DEFAULTS)) {
            // The stream to process 2 is up once something sent on it arrives.
            await().atMost(T).pollInterval(Duration.ofMillis(50)).until(() -> {
                outsider.send(2, new TxnEnvelope(9, 1, 1, new TxnMessage.Commit(txn, 1)));
                return !deliveries.isEmpty();
            });
            cluster.servers.get(2).faults().setBlocked(java.util.Set.of(9), java.util.Set.of());
            outsider.send(2, new TxnEnvelope(9, 1, 1, cut));
            // The same stream, read in order into one loop, carries a message that names process 8 as its sender,
            // which the partition does not cut: once it has arrived, the one before it was read, and refused.
            outsider.send(2, new TxnEnvelope(8, 1, 1, barrier));
            await().atMost(T).pollInterval(Duration.ofMillis(20))
                    .until(() -> {
                        synchronized (deliveries) { // loop threads add to it meanwhile
                            return deliveries.stream().anyMatch(d -> d.message().equals(barrier));
                        }
                    });
        }
        assertThat(deliveries).extracting(Delivery::message).doesNotContain(cut);
    }

    private boolean warned(String text) {
        synchronized (warnings) { // the appender adds under its own lock
            return warnings.list.stream().anyMatch(e -> e.getFormattedMessage().contains(text));
        }
    }
}
