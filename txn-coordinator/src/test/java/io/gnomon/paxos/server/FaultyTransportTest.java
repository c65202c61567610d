package io.gnomon.paxos.server;

import io.gnomon.paxos.Ballot;
import io.gnomon.paxos.Message;
import io.gnomon.paxos.PaxosLimits;
import io.gnomon.paxos.runtime.MessageCodec;
import io.gnomon.paxos.runtime.Transport;
import io.gnomon.txn.TxnId;
import io.gnomon.txn.TxnMessage;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The harness's network as a decorator: what reaches the wrapped transport, and what the inbound side admits. */
class FaultyTransportTest {
    private static final MessageCodec CODEC = new MessageCodec(PaxosLimits.DEFAULTS);

    /** What the wrapped transport was asked to send, as "to:n" (n numbers the messages sent). */
    private final List<String> sent = Collections.synchronizedList(new ArrayList<>());
    private final Transport recording = (to, m) -> sent.add(to + ":" + ((Message.Nack) m).configId());

    private static Message nack(int to, long n) {
        return new Message.Nack(1, to, n, new Ballot(1, 1));
    }

    private FaultyTransport replicaOne(long maxHeldBytes) {
        return new FaultyTransport(1, recording, CODEC, maxHeldBytes);
    }

    @Test
    void withoutFaultsEverythingPassesThrough() {
        try (FaultyTransport t = replicaOne(1 << 20)) {
            t.send(2, nack(2, 1));
            t.send(1, nack(1, 2));
            assertThat(sent).containsExactly("2:1", "1:2");
            assertThat(t.admits(2)).isTrue();
            assertThat(t.networkFaultCounts()).isEqualTo(new FaultyTransport.NetworkFaultCounts(0, 0, 0));
        }
    }

    @Test
    void aPartitionCutsBothWaysAOneWayCutOnlyWhatIsSentAndEmptySetsHeal() {
        try (FaultyTransport t = replicaOne(1 << 20)) {
            t.setBlocked(Set.of(2), Set.of(3));
            t.send(2, nack(2, 1));
            t.send(3, nack(3, 2));
            t.send(1, nack(1, 3)); // its own loopback is never cut
            assertThat(sent).containsExactly("1:3");
            assertThat(t.admits(2)).as("what 2 sends is dropped on arrival").isFalse();
            assertThat(t.admits(3)).as("what 3 sends still arrives").isTrue();

            t.setBlocked(Set.of(), Set.of());
            t.send(2, nack(2, 4));
            t.send(3, nack(3, 5));
            assertThat(sent).containsExactly("1:3", "2:4", "3:5");
            assertThat(t.admits(2)).isTrue();
        }
    }

    @Test
    void aPartitionBetweenProcessesCutsEveryGroupAndTheTagReachesTheInnerTransport() {
        List<String> tagged = Collections.synchronizedList(new ArrayList<>());
        ProcessTransport inner = (to, e) -> tagged.add(to + "/" + ((ProcessTransport.GroupMessage) e).groupId() + ":"
                + ((Message.Nack) ((ProcessTransport.GroupMessage) e).message()).configId());
        try (FaultyTransport t = new FaultyTransport(1, inner, CODEC, 1 << 20)) {
            t.setBlocked(Set.of(2), Set.of());
            t.forGroup(1).send(2, nack(2, 1));
            t.forGroup(7).send(2, nack(2, 2));
            t.forGroup(7).send(3, nack(3, 3));
            t.forGroup(7).send(1, nack(1, 4));
            assertThat(tagged).containsExactly("3/7:3", "1/7:4");
            t.setBlocked(Set.of(), Set.of());
            t.forGroup(7).send(2, nack(2, 5));
            t.send(2, nack(2, 6)); // the plain Transport side is group 1
            assertThat(tagged).containsExactly("3/7:3", "1/7:4", "2/7:5", "2/1:6");
        }
    }

    @Test
    void aLossyLinkDropsOrDuplicatesByItsRatesAndCountsEachButNeverTouchesTheLoopback() {
        try (FaultyTransport t = replicaOne(1 << 20)) {
            t.setNetworkFault(new FaultyTransport.NetworkFault(1, 0, 0, 7));
            t.send(2, nack(2, 1));
            t.send(1, nack(1, 2));
            assertThat(sent).containsExactly("1:2");
            t.setNetworkFault(new FaultyTransport.NetworkFault(0, 1, 0, 7));
            t.send(2, nack(2, 3));
            assertThat(sent).containsExactly("1:2", "2:3", "2:3");
            t.setNetworkFault(null);
            t.send(2, nack(2, 4));
            assertThat(sent).containsExactly("1:2", "2:3", "2:3", "2:4");
            assertThat(t.networkFaultCounts()).isEqualTo(new FaultyTransport.NetworkFaultCounts(1, 1, 0));
        }
    }

    @Test
    void aSeedReplaysTheSameFates() {
        List<List<String>> runs = new ArrayList<>();
        for (int run = 0; run < 2; run++) {
            sent.clear();
            try (FaultyTransport t = replicaOne(1 << 20)) {
                t.setNetworkFault(new FaultyTransport.NetworkFault(0.3, 0.3, 0, 42));
                for (long n = 1; n <= 200; n++) {
                    t.send(2 + (int) (n % 2), nack(2 + (int) (n % 2), n));
                }
                runs.add(List.copyOf(sent));
            }
        }
        assertThat(runs.get(0)).isEqualTo(runs.get(1)).hasSizeBetween(100, 300);
    }

    @Test
    void delayedCopiesAllArriveAndOnesPastTheHeldBytesAreDropped() {
        try (FaultyTransport t = replicaOne(1 << 20)) {
            t.setNetworkFault(new FaultyTransport.NetworkFault(0, 0, TimeUnit.MILLISECONDS.toNanos(5), 3));
            for (long n = 1; n <= 50; n++) {
                t.send(2, nack(2, n));
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> sent.size() == 50);
            assertThat(t.networkFaultCounts().delayed()).isPositive();
            assertThat(t.networkFaultCounts().dropped()).isZero();
        }
        sent.clear();
        try (FaultyTransport t = replicaOne(1)) {
            t.setNetworkFault(new FaultyTransport.NetworkFault(0, 0, TimeUnit.SECONDS.toNanos(1), 3));
            for (long n = 1; n <= 50; n++) {
                t.send(2, nack(2, n));
            }
            // Every copy drawn a delay is bigger than the one byte that may be held: dropped, none delayed.
            FaultyTransport.NetworkFaultCounts c = t.networkFaultCounts();
            assertThat(c.delayed()).isZero();
            assertThat(c.dropped() + sent.size()).isEqualTo(50);
            assertThat(c.dropped()).isPositive();
        }
    }

    @Test
    void transactionMessagesMeetThePartitionsLossAndDelayOfPaxosOnes() {
        List<String> inner = Collections.synchronizedList(new ArrayList<>());
        ProcessTransport recordingEveryKind = (to, e) -> inner.add(to + ":" + (e instanceof ProcessTransport.TxnEnvelope t
                ? "txn " + ((TxnMessage.Commit) t.message()).commitTimestampEpochNanos()
                : "paxos " + ((Message.Nack) ((ProcessTransport.GroupMessage) e).message()).configId()));
        try (FaultyTransport t = new FaultyTransport(1, recordingEveryKind, CODEC, 1 << 20)) {
            t.setBlocked(Set.of(2), Set.of());
            t.send(2, txn(1));
            t.send(2, 5, nack(2, 1));
            t.sendAll(2, List.of(txn(2), new ProcessTransport.GroupMessage(5, nack(2, 2))));
            t.send(3, txn(3));
            t.send(1, txn(4)); // the loopback is never cut
            assertThat(inner).as("a partition drops both kinds").containsExactly("3:txn 3", "1:txn 4");
            assertThat(t.admits(2)).as("and the receiving side refuses what 2 sends, txn frames included").isFalse();
            t.setBlocked(Set.of(), Set.of());
            t.sendAll(2, List.of(txn(5), new ProcessTransport.GroupMessage(5, nack(2, 5))));
            assertThat(inner).endsWith("2:txn 5", "2:paxos 5");

            inner.clear();
            t.setNetworkFault(new FaultyTransport.NetworkFault(1, 0, 0, 7));
            t.send(2, txn(6));
            t.sendAll(2, List.of(txn(7), txn(8)));
            assertThat(inner).as("a lossy link drops them").isEmpty();
            t.setNetworkFault(new FaultyTransport.NetworkFault(0, 1, 0, 7));
            t.send(2, txn(9));
            assertThat(inner).as("and duplicates them").containsExactly("2:txn 9", "2:txn 9");
            assertThat(t.networkFaultCounts()).isEqualTo(new FaultyTransport.NetworkFaultCounts(3, 1, 0));

            inner.clear();
            t.setNetworkFault(new FaultyTransport.NetworkFault(0, 0, TimeUnit.MILLISECONDS.toNanos(5), 3));
            for (long n = 1; n <= 30; n++) {
                t.send(2, txn(100 + n));
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> inner.size() == 30);
            assertThat(t.networkFaultCounts().delayed()).as("and holds them back").isPositive();
        }
        try (FaultyTransport t = new FaultyTransport(1, recordingEveryKind, CODEC, 1)) {
            t.setNetworkFault(new FaultyTransport.NetworkFault(0, 0, TimeUnit.SECONDS.toNanos(1), 3));
            inner.clear();
            for (long n = 1; n <= 20; n++) {
                t.send(2, txn(n));
            }
            assertThat(t.networkFaultCounts().dropped() + inner.size()).as("counted against the held bytes")
                    .isEqualTo(20);
            assertThat(t.networkFaultCounts().dropped()).isPositive();
        }
    }

    private static ProcessTransport.TxnEnvelope txn(long n) {
        return new ProcessTransport.TxnEnvelope(1, 3, 4, new TxnMessage.Commit(new TxnId(1, 2, 0), n));
    }

    @Test
    void badRatesAndDelaysAreRefusedNamingTheValue() {
        assertThatThrownBy(() -> new FaultyTransport.NetworkFault(1.5, 0, 0, 1)).hasMessage(
                "loss rate 1.5: must be from 0 to 1");
        assertThatThrownBy(() -> new FaultyTransport.NetworkFault(0, -0.1, 0, 1)).hasMessage(
                "duplicate rate -0.1: must be from 0 to 1");
        long tooLong = FaultyTransport.NetworkFault.MAX_DELAY_NANOS + 1;
        assertThatThrownBy(() -> new FaultyTransport.NetworkFault(0, 0, tooLong, 1))
                .hasMessageStartingWith("max delay " + tooLong + " ns");
    }
}
