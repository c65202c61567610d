package io.gnomon.paxos.wal;

import io.gnomon.paxos.DurableState;
import io.gnomon.paxos.PersistWrite;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Every record type survives encode and decode with random contents; a damaged body never allocates past its bytes. */
class WalCodecTest {

    private static final int MAX_FRAME = 1 << 20;

    private static WalCodec.WalRecord roundTrip(WalCodec.Encoder enc, int size) throws Exception {
        ByteBuffer buf = enc.buffer();
        assertThat(buf.position()).isEqualTo(size);
        int bodyBytes = buf.getInt(0);
        assertThat(bodyBytes + WalCodec.FRAME_HEADER_BYTES).isEqualTo(size);
        return WalCodec.decode(ByteBuffer.wrap(buf.array(), WalCodec.FRAME_HEADER_BYTES, bodyBytes));
    }

    @Test
    void everyWriteTypeRoundTripsWithRandomContents() throws Exception {
        long seed = Long.getLong("wal.codec.seed", System.nanoTime());
        System.out.println("WalCodecTest seed " + seed + " (rerun: -Dwal.codec.seed=" + seed + ")");
        SplittableRandom rng = new SplittableRandom(seed);
        WalCodec.Encoder enc = new WalCodec.Encoder(MAX_FRAME);
        int[] seen = new int[8];
        for (int i = 0; i < 3_000; i++) {
            PersistWrite w = RandomWrites.any(rng);
            long group = rng.nextLong();
            enc.reset();
            int size = enc.write(group, w);
            assertThat((long) size).isEqualTo(WalCodec.FRAME_HEADER_BYTES + WalCodec.bodyBytes(w));
            WalCodec.WalRecord r = roundTrip(enc, size);
            assertThat(r).as("seed %d, write %d", seed, i).isInstanceOf(WalCodec.Write.class);
            assertThat(r.groupId()).isEqualTo(group);
            assertThat(((WalCodec.Write) r).write()).as("seed %d, write %d", seed, i)
                    .usingRecursiveComparison().isEqualTo(w);
            seen[WalCodec.typeOf(w)]++;
        }
        for (int t = 1; t <= 6; t++) {
            assertThat(seen[t]).as("type %d", t).isPositive();
        }
    }

    @Test
    void checkpointsOfRandomStatesRoundTrip() throws Exception {
        long seed = Long.getLong("wal.codec.seed", System.nanoTime());
        System.out.println("WalCodecTest seed " + seed + " (rerun: -Dwal.codec.seed=" + seed + ")");
        SplittableRandom rng = new SplittableRandom(seed);
        WalCodec.Encoder enc = new WalCodec.Encoder(MAX_FRAME);
        DurableState model = rng.nextBoolean() ? new DurableState(List.of(1, 2, 3)) : DurableState.joining();
        for (int i = 0; i < 400; i++) {
            model.apply(RandomWrites.next(rng, model));
            DurableState.Recovered state = model.toRecovered();
            enc.reset();
            int size = enc.checkpoint(42, state);
            WalCodec.WalRecord r = roundTrip(enc, size);
            assertThat(r).isInstanceOf(WalCodec.Checkpoint.class);
            assertThat(((WalCodec.Checkpoint) r).state()).as("seed %d, step %d", seed, i)
                    .usingRecursiveComparison().isEqualTo(state);
            assertThat(ProcessLog.restore(state).toRecovered()).usingRecursiveComparison().isEqualTo(state);
        }
    }

    @Test
    void aCorruptCountOrLengthIsRefusedWithoutAllocatingIt() {
        WalCodec.Encoder enc = new WalCodec.Encoder(MAX_FRAME);
        // ACCEPTED: configId, ballot, fromSlot, then an entry count of 2^31-1 with 4 bytes behind it
        ByteBuffer rest = ByteBuffer.allocate(8 + 12 + 8 + 4 + 4).order(ByteOrder.LITTLE_ENDIAN);
        rest.putLong(1).putLong(1).putInt(1).putLong(0).putInt(Integer.MAX_VALUE).putInt(0);
        enc.raw(5, WalCodec.ACCEPTED, rest.array());
        assertThatThrownBy(() -> roundTrip(enc, enc.buffer().position()))
                .isInstanceOf(WalCodec.CorruptFrameException.class).hasMessageContaining("entries count 2147483647");

        // SNAPSHOT whose state length is larger than what is left
        ByteBuffer snap = ByteBuffer.allocate(8 + 8 + 4 + 8 + 4).order(ByteOrder.LITTLE_ENDIAN);
        snap.putLong(3).putLong(1).putInt(0).putLong(0).putInt(1 << 30);
        enc.reset();
        enc.raw(5, WalCodec.SNAPSHOT, snap.array());
        assertThatThrownBy(() -> roundTrip(enc, enc.buffer().position()))
                .isInstanceOf(WalCodec.CorruptFrameException.class).hasMessageContaining("state length 1073741824");

        enc.reset();
        enc.raw(5, (byte) 99, new byte[3]);
        assertThatThrownBy(() -> roundTrip(enc, enc.buffer().position()))
                .isInstanceOf(WalCodec.CorruptFrameException.class).hasMessageContaining("unknown frame type 99");

        enc.reset();
        enc.raw(5, WalCodec.DECIDED, new byte[12]);
        assertThatThrownBy(() -> roundTrip(enc, enc.buffer().position()))
                .isInstanceOf(WalCodec.CorruptFrameException.class).hasMessageContaining("4 trailing bytes");

        enc.reset();
        enc.raw(5, WalCodec.PROMISE, new byte[5]);
        assertThatThrownBy(() -> roundTrip(enc, enc.buffer().position()))
                .isInstanceOf(WalCodec.CorruptFrameException.class).hasMessageContaining("ends inside its fields");
    }

    @Test
    void aFrameAtTheLimitEncodesAndOnePastIsRefused() {
        WalCodec.Encoder enc = new WalCodec.Encoder(1024);
        int overhead = WalCodec.FRAME_HEADER_BYTES + (int) WalCodec.bodyBytes(
                new PersistWrite.PersistAccepted(1, io.gnomon.paxos.Ballot.ZERO, 0,
                        List.of(io.gnomon.paxos.Entry.value(new byte[0]))));
        List<io.gnomon.paxos.Entry> atLimit = new ArrayList<>(List.of(io.gnomon.paxos.Entry.value(new byte[1024 - overhead]))); 
        assertThat(enc.write(1, new PersistWrite.PersistAccepted(1, io.gnomon.paxos.Ballot.ZERO, 0, atLimit))).isEqualTo(1024);
        enc.reset();
        assertThatThrownBy(() -> enc.write(1, new PersistWrite.PersistAccepted(1, io.gnomon.paxos.Ballot.ZERO, 0,
                List.of(io.gnomon.paxos.Entry.value(new byte[1025 - overhead])))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxFrameBytes 1024");
    }
}
