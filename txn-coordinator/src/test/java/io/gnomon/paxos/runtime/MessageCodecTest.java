package io.gnomon.paxos.runtime;

import io.gnomon.paxos.Ballot;
import io.gnomon.paxos.Entry;
import io.gnomon.paxos.Message;
import io.gnomon.paxos.PaxosLimits;
import io.gnomon.paxos.Snapshot;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MessageCodecTest {
    private static final PaxosLimits LIMITS = new PaxosLimits(1024, 16, 16 * 1024, 64, 64, 32);
    private static final MessageCodec CODEC = new MessageCodec(LIMITS);

    static List<Message> samples() {
        Ballot b = new Ballot(7, 2);
        Ballot a = new Ballot(5, 1);
        List<Entry> entries = List.of(Entry.value(new byte[] {1, 2, 3}), Entry.config(2, List.of(1, 2, 4)),
                Entry.value(new byte[0]));
        Snapshot snap = new Snapshot(9, 1, List.of(1, 2, 3), 0);
        return List.of(
                new Message.Prepare(2, 1, 1, List.of(1, 2, 3), 0, b, a, 10, 8, 123_456_789L),
                new Message.Promise(1, 2, 1, b, a, 12, 9, 10, entries, snap, Long.MIN_VALUE),
                new Message.Promise(1, 2, 1, b, a, 12, 9, 12, List.of(), null, 5),
                new Message.AcceptSync(2, 3, 1, b, 10, entries, null, 9, 77),
                new Message.AcceptSync(2, 3, 1, b, 10, List.of(), snap, 10, 77),
                new Message.Accept(2, 1, 1, b, 12, entries, 11, Long.MAX_VALUE),
                new Message.Decide(2, 1, 1, b, 15, 99),
                new Message.Accepted(1, 2, 1, b, 15, -3),
                new Message.Nack(3, 2, 4, b),
                new Message.InstallSnapshot(2, 3, 1, b, snap, 10, 1),
                new Message.PreVote(3, 1, 2, List.of(1, 2, 3, 4), 40, b),
                new Message.PreVoteReply(1, 3, 2, b, true, a),
                new Message.PreVoteReply(1, 3, 2, b, false, Ballot.ZERO),
                new Message.SnapshotRequest(3, 1, 2, 77L << 20, 4, 40),
                new Message.SnapshotChunk(1, 3, 2, 77L << 20, 4, 41, new byte[] {5, 6, 7}, false),
                new Message.SnapshotChunk(1, 3, 2, 1, 0, 0, new byte[0], true),
                new Message.Decide(2, 1, 1, b, 15, 99, 14, 1_700_000_000_123_456_789L));
    }

    @Test
    void everyMessageKindRoundTrips() throws Exception {
        for (Message m : samples()) {
            Message back = CODEC.decode(CODEC.encode(m));
            // Records compare byte[] by identity; compare through a re-encoding instead.
            assertThat(CODEC.encode(back)).as(m.toString()).isEqualTo(CODEC.encode(m));
            assertThat(back.getClass()).isEqualTo(m.getClass());
            assertThat(back.toString().replaceAll("\\[B@\\w+", "")).isEqualTo(m.toString().replaceAll("\\[B@\\w+", ""));
        }
    }

    @Test
    void everyTruncationIsRejectedWithTheOffset() {
        for (Message m : samples()) {
            byte[] full = CODEC.encode(m);
            for (int cut = 0; cut < full.length; cut++) {
                byte[] t = Arrays.copyOf(full, cut);
                assertThatThrownBy(() -> CODEC.decode(t)).as(m.getClass().getSimpleName() + " cut at " + cut)
                        .isInstanceOf(MessageCodec.MalformedMessageException.class);
            }
        }
        assertThatThrownBy(() -> CODEC.decode(Arrays.copyOf(CODEC.encode(samples().get(6)), 20)))
                .hasMessageContaining("truncated frame").hasMessageContaining("offset 18");
    }

    @Test
    void trailingBytesWrongVersionAndUnknownTypeAreRejected() {
        byte[] ok = CODEC.encode(samples().get(6));
        byte[] longer = Arrays.copyOf(ok, ok.length + 1);
        assertThatThrownBy(() -> CODEC.decode(longer)).hasMessageContaining("trailing");
        byte[] v = ok.clone();
        v[0] = 1; // before Decide carried a timestamp promise
        assertThatThrownBy(() -> CODEC.decode(v)).hasMessageContaining("unsupported wire version 1 (this replica speaks 2)");
        byte[] t = ok.clone();
        t[1] = 42;
        assertThatThrownBy(() -> CODEC.decode(t)).hasMessageContaining("unknown message type 42");
        byte[] reply = CODEC.encode(samples().get(11));         // a PreVoteReply: header, ballot, then granted
        reply[18 + 12] = 2;
        assertThatThrownBy(() -> CODEC.decode(reply)).hasMessageContaining("granted is 2, not 0 or 1");
    }

    @Test
    void aDecideCarriesItsTimestampPromiseOrNone() throws Exception {
        Ballot b = new Ballot(3, 1);
        Message.Decide with = (Message.Decide) CODEC.decode(CODEC.encode(new Message.Decide(1, 2, 1, b, 9, 5, 8, 777)));
        assertThat(with.promise()).isEqualTo(new io.gnomon.paxos.TimestampPromise(8, 777));
        Message.Decide without = (Message.Decide) CODEC.decode(CODEC.encode(new Message.Decide(1, 2, 1, b, 9, 5)));
        assertThat(without.promise().isNone()).isTrue();
        // index -1 with a timestamp covers the whole log (a leader whose log is still empty)
        Message.Decide whole = (Message.Decide) CODEC.decode(CODEC.encode(new Message.Decide(1, 2, 1, b, 9, 5, -1, 777)));
        assertThat(whole.promise()).isEqualTo(new io.gnomon.paxos.TimestampPromise(-1, 777));
        // half a promise is no promise: refused by name, at the sender and at the receiver
        assertThatThrownBy(() -> new Message.Decide(1, 2, 1, b, 9, 5, 8, -1))
                .hasMessageContaining("a timestamp promise needs index >= -1 and ts >= 0, or both -1");
        assertThatThrownBy(() -> new Message.Decide(1, 2, 1, b, 9, 5, -2, 777))
                .hasMessageContaining("a timestamp promise needs index >= -1 and ts >= 0, or both -1");
        byte[] half = CODEC.encode(new Message.Decide(1, 2, 1, b, 9, 5, 8, 777));
        java.nio.ByteBuffer.wrap(half).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(half.length - 8, -1);
        assertThatThrownBy(() -> CODEC.decode(half)).isInstanceOf(MessageCodec.MalformedMessageException.class)
                .hasMessageContaining("timestamp promise");
    }

    @Test
    void countsAboveTheLimitsAreRejectedBeforeAllocating() {
        List<Entry> many = java.util.Collections.nCopies(LIMITS.maxEntriesPerMessage() + 1, Entry.value(new byte[1]));
        byte[] tooMany = new MessageCodec(PaxosLimits.DEFAULTS).encode(
                new Message.Accept(2, 1, 1, new Ballot(1, 2), 0, many, 0, 0));
        assertThatThrownBy(() -> CODEC.decode(tooMany)).hasMessageContaining("above " + LIMITS.maxEntriesPerMessage());
        byte[] big = new MessageCodec(PaxosLimits.DEFAULTS).encode(new Message.Accept(2, 1, 1, new Ballot(1, 2), 0,
                List.of(Entry.value(new byte[LIMITS.maxValueBytes() + 1])), 0, 0));
        assertThatThrownBy(() -> CODEC.decode(big)).hasMessageContaining("above " + LIMITS.maxValueBytes());
        byte[] negative = CODEC.encode(samples().get(8));
        negative[18 + 7] = (byte) 0x80; // the ballot round's top byte: a negative round
        assertThatThrownBy(() -> CODEC.decode(negative)).hasMessageContaining("negative");
    }

    /** Random damage to a valid frame decodes to some message or is rejected; it never throws anything else. */
    @Property(tries = 300)
    void damagedFramesNeverEscapeAsOtherExceptions(@ForAll @IntRange(min = 0, max = 16) int which,
                                                   @ForAll long seed) {
        byte[] f = CODEC.encode(samples().get(which));
        SplittableRandom rng = new SplittableRandom(seed);
        for (int i = 0; i < 1 + rng.nextInt(4); i++) {
            f[rng.nextInt(f.length)] = (byte) rng.nextInt(256);
        }
        try {
            CODEC.decode(f);
        } catch (MessageCodec.MalformedMessageException expected) {
            // fine: reported, not crashed
        }
    }
}
