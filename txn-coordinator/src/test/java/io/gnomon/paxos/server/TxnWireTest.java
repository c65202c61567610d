package io.gnomon.paxos.server;

import io.gnomon.paxos.Ballot;
import io.gnomon.paxos.Message;
import io.gnomon.paxos.PaxosLimits;
import io.gnomon.paxos.grpc.PeerFrame;
import io.gnomon.paxos.runtime.MessageCodec;
import io.gnomon.paxos.server.ProcessTransport.Envelope;
import io.gnomon.paxos.server.ProcessTransport.GroupMessage;
import io.gnomon.paxos.server.ProcessTransport.TxnEnvelope;
import io.gnomon.txn.TxnId;
import io.gnomon.txn.TxnMessage;
import io.gnomon.txn.TxnMessage.InquireReply.Decision;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Transaction messages between groups on the peer streams, at the transport: {@link GrpcTransport} (behind the
 * {@link TurnOutbox} a server's loop sends through) to a peer that reads frames as {@link ReplicaServer} does
 * ({@link GrpcTransport#envelope}). The server's side: {@code TxnWireServerTest}.
 */
class TxnWireTest {
    private static final Duration T = Duration.ofSeconds(20);
    private static final MessageCodec CODEC = new MessageCodec(PaxosLimits.DEFAULTS);
    private static final int TURNS = 20;

    /** A peer process's Peer service that reads every frame it gets as {@link ReplicaServer} does, stream by stream. */
    private static final class RecordingPeer implements AutoCloseable {
        /** Each frame (a batch's messages, or one message) as read, with the stream it came on. */
        final List<Frame> frames = Collections.synchronizedList(new ArrayList<>());
        final List<String> malformed = Collections.synchronizedList(new ArrayList<>());
        final PeerStub stub;

        record Frame(int stream, List<Envelope> envelopes) {
        }

        RecordingPeer() throws Exception {
            stub = new PeerStub((stream, frame) -> {
                List<Envelope> read = new ArrayList<>();
                try {
                    for (PeerFrame f : frame.getBatchCount() == 0 ? List.of(frame) : frame.getBatchList()) {
                        read.add(GrpcTransport.envelope(f, CODEC));
                    }
                } catch (GrpcTransport.MalformedFrameException e) {
                    malformed.add(e.getMessage());
                }
                frames.add(new Frame(stream, read));
            });
        }

        String target() {
            return stub.target();
        }

        /** Every envelope read so far, in arrival order. */
        List<Envelope> envelopes() {
            synchronized (frames) {
                return frames.stream().flatMap(f -> f.envelopes().stream()).toList();
            }
        }

        @Override
        public void close() {
            stub.close();
        }
    }

    private static TxnMessage message(int sender, int i) {
        TxnId txn = new TxnId(1_000 + i, sender, 0);
        return switch (i % 6) {
            case 0 -> new TxnMessage.Prepared(txn, 10 + sender, 5_000 + i);
            case 1 -> new TxnMessage.PrepareRefused(txn, 10 + sender, "wounded " + i);
            case 2 -> new TxnMessage.Commit(txn, 6_000 + i);
            case 3 -> new TxnMessage.Abort(txn, "prepare timeout " + i);
            case 4 -> new TxnMessage.Inquire(txn, 10 + sender, 5_000 + i);
            default -> new TxnMessage.InquireReply(txn, Decision.COMMITTED, 6_000 + i);
        };
    }

    @Test
    void transactionMessagesArriveIntactInOrderPerSenderCoalescedWithPaxosFramesOnOneStreamPerProcess()
            throws Exception {
        List<Envelope> loopback = Collections.synchronizedList(new ArrayList<>());
        try (RecordingPeer peer = new RecordingPeer();
             GrpcTransport one = new GrpcTransport(1, Map.of(3, peer.target()), CODEC, (to, e) -> loopback.add(e),
                     ReplicaLimits.DEFAULTS);
             GrpcTransport two = new GrpcTransport(2, Map.of(3, peer.target()), CODEC, (to, e) -> loopback.add(e),
                     ReplicaLimits.DEFAULTS)) {
            // Open both streams: a probe until the peer has heard each sender.
            await().atMost(T).pollInterval(Duration.ofMillis(20)).until(() -> {
                one.send(3, 99, new Message.Nack(1, 3, 1, new Ballot(1, 1)));
                two.send(3, 99, new Message.Nack(2, 3, 1, new Ballot(1, 1)));
                List<Envelope> seen = peer.envelopes();
                return seen.stream().anyMatch(e -> e instanceof GroupMessage m && m.message().from() == 1)
                        && seen.stream().anyMatch(e -> e instanceof GroupMessage m && m.message().from() == 2);
            });
            int probeFrames = peer.frames.size();

            // Each turn of each sender: three transaction messages between groups and two Paxos messages.
            Map<Integer, List<TxnEnvelope>> sent = Map.of(1, new ArrayList<>(), 2, new ArrayList<>());
            Map<Integer, TurnOutbox> outboxes = Map.of(1, new TurnOutbox(1, one), 2, new TurnOutbox(2, two));
            int n = 0;
            for (int turn = 0; turn < TURNS; turn++) {
                for (int sender : List.of(1, 2)) {
                    TurnOutbox out = outboxes.get(sender);
                    for (int k = 0; k < 3; k++) {
                        TxnEnvelope e = new TxnEnvelope(sender, 10 + sender, 20 + k, message(sender, n++));
                        sent.get(sender).add(e);
                        out.send(3, e);
                        if (k < 2) {
                            out.send(3, 5 + k, new Message.Nack(sender, 3, turn, new Ballot(turn, sender)));
                        }
                    }
                    out.flush();
                }
            }
            // And one to this process itself: past the outbox and the transport, to the loopback, untouched.
            TxnEnvelope self = new TxnEnvelope(1, 11, 12, message(1, 999));
            outboxes.get(1).send(1, self);
            await().atMost(T).pollInterval(Duration.ofMillis(20)).until(() ->
                    peer.envelopes().stream().filter(e -> e instanceof TxnEnvelope).count() == 6L * TURNS);

            assertThat(peer.malformed).isEmpty();
            assertThat(loopback).containsExactly(self);
            assertThat(peer.stub.streams.get()).as("one stream per sending process, shared by every kind").isEqualTo(2);
            for (int sender : List.of(1, 2)) {
                List<TxnEnvelope> received = peer.envelopes().stream()
                        .filter(e -> e instanceof TxnEnvelope t && t.fromProcess() == sender)
                        .map(e -> (TxnEnvelope) e).toList();
                assertThat(received).as("sender %d's, intact and in order", sender).isEqualTo(sent.get(sender));
            }
            List<RecordingPeer.Frame> turns;
            synchronized (peer.frames) {
                turns = List.copyOf(peer.frames.subList(probeFrames, peer.frames.size()));
            }
            // Probes still in flight when the wait ended may follow; every turn's frame is one batch of both kinds.
            List<RecordingPeer.Frame> withTxn = turns.stream()
                    .filter(f -> f.envelopes().stream().anyMatch(e -> e instanceof TxnEnvelope)).toList();
            assertThat(withTxn).hasSize(2 * TURNS).allSatisfy(f -> {
                assertThat(f.envelopes()).hasSize(5);
                assertThat(f.envelopes()).filteredOn(e -> e instanceof GroupMessage).hasSize(2);
            });
            for (RecordingPeer.Frame f : withTxn) {
                int sender = ((TxnEnvelope) f.envelopes().get(0)).fromProcess();
                assertThat(f.envelopes()).as("a stream carries one process's frames").allSatisfy(e -> assertThat(
                        e instanceof TxnEnvelope t ? t.fromProcess() : ((GroupMessage) e).message().from())
                        .isEqualTo(sender));
                assertThat(withTxn.stream().filter(g -> g.stream() == f.stream())
                        .map(g -> ((TxnEnvelope) g.envelopes().get(0)).fromProcess()).distinct()).hasSize(1);
            }
        }
    }

    @Test
    void aFrameFromAnOlderProcessStillReadsAsGroupOneAndABadTransactionFrameIsRefusedByName() {
        Message nack = new Message.Nack(2, 1, 1, new Ballot(1, 2));
        PeerFrame old = PeerFrame.newBuilder()
                .setPayload(com.google.protobuf.ByteString.copyFrom(CODEC.encode(nack))).build();
        assertThat(read(old)).isEqualTo(new GroupMessage(1, nack));
        PeerFrame bad = PeerFrame.newBuilder().setTxn(io.gnomon.paxos.grpc.TxnFrame.newBuilder().setFromProcess(2)
                .setFromGroup(3).setToGroup(4).setMessage(com.google.protobuf.ByteString.copyFrom(new byte[] {1, 3})))
                .build();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> GrpcTransport.envelope(bad, CODEC))
                .isInstanceOf(GrpcTransport.MalformedFrameException.class)
                .hasMessageContaining("transaction frame from replica 2")
                .hasMessageContaining("truncated at offset 2");
        PeerFrame noGroup = PeerFrame.newBuilder().setTxn(io.gnomon.paxos.grpc.TxnFrame.newBuilder().setFromProcess(2)
                .setFromGroup(3).setMessage(com.google.protobuf.ByteString.copyFrom(
                        io.gnomon.txn.TxnMessageCodec.encode(message(2, 0))))).build();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> GrpcTransport.envelope(noGroup, CODEC))
                .hasMessageContaining("to group 0");
    }

    private static Envelope read(PeerFrame f) {
        try {
            return GrpcTransport.envelope(f, CODEC);
        } catch (GrpcTransport.MalformedFrameException e) {
            throw new AssertionError(e);
        }
    }
}
