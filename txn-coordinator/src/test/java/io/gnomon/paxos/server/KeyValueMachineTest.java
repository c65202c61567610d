package io.gnomon.paxos.server;

import io.gnomon.paxos.runtime.StateMachine;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class KeyValueMachineTest {

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aPutStoresItsValueUnderItsKeyAndAnswersItsSlot() {
        KeyValueMachine m = new KeyValueMachine();
        assertThat(m.query(b("k"))).containsExactly(0);
        assertThat(ByteBuffer.wrap(m.apply(0, KeyValueMachine.put(b("k"), b("v1")))).getLong()).isEqualTo(0);
        m.apply(1, KeyValueMachine.put(b("k"), b("v2")));
        m.apply(2, KeyValueMachine.put(b("other"), new byte[0]));
        assertThat(m.query(b("k"))).containsExactly(1, 'v', '2');
        assertThat(m.query(b("other"))).containsExactly(1);
        assertThat(m.size()).isEqualTo(2);
    }

    @Test
    void keysAreBytesNotText() {
        KeyValueMachine m = new KeyValueMachine();
        byte[] key = {(byte) 0xff, 0, (byte) 0x80};
        m.apply(0, KeyValueMachine.put(key, b("x")));
        assertThat(m.query(key)).containsExactly(1, 'x');
        assertThat(m.query(new byte[] {(byte) 0xff, 0})).containsExactly(0);
    }

    @Test
    void malformedPutsAreRefusedBeforeTheyAreProposed() {
        KeyValueMachine m = new KeyValueMachine();
        assertThat(m.validate(new byte[3])).contains("4-byte key length");
        assertThat(m.validate(new byte[4])).contains("key length 0");
        assertThat(m.validate(ByteBuffer.allocate(6).putInt(3).array())).contains("within the command's 2 bytes");
        assertThat(m.validate(KeyValueMachine.put(b("k"), b("v")))).isNull();
        assertThatThrownBy(() -> KeyValueMachine.put(new byte[0], b("v"))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> KeyValueMachine.put(new byte[KeyValueMachine.KEY_BYTES_MAX + 1], b("v")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(m.validate(KeyValueMachine.put(new byte[KeyValueMachine.KEY_BYTES_MAX], b("v")))).isNull();
        assertThatThrownBy(() -> m.apply(0, new byte[3])).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> m.query(new byte[0])).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aSnapshotRestoresTheSameStateAndEqualStatesGiveEqualBytes() {
        KeyValueMachine a = new KeyValueMachine();
        KeyValueMachine b = new KeyValueMachine();
        a.apply(0, KeyValueMachine.put(b("x"), b("1")));
        a.apply(1, KeyValueMachine.put(b("y"), b("22")));
        b.apply(0, KeyValueMachine.put(b("y"), b("22")));
        b.apply(1, KeyValueMachine.put(b("x"), b("1")));
        assertThat(chunks(a, 5)).containsExactlyElementsOf(chunks(b, 5));
        KeyValueMachine c = new KeyValueMachine();
        c.apply(0, KeyValueMachine.put(b("stale"), b("gone")));
        StateMachine.SnapshotSink sink = c.beginInstall(2);
        chunks(a, 5).forEach(sink::add);
        sink.finish();
        assertThat(c.appliedIndex()).isEqualTo(2);
        assertThat(c.query(b("stale"))).containsExactly(0);
        assertThat(c.query(b("y"))).containsExactly(1, '2', '2');
        assertThat(chunks(c, 7)).containsExactlyElementsOf(chunks(a, 7));
        StateMachine.SnapshotSink trailing = new KeyValueMachine().beginInstall(2);
        chunks(a, 64).forEach(trailing::add);
        trailing.add(new byte[1]);
        assertThatThrownBy(trailing::finish).hasMessageContaining("after its 2 keys");
    }

    @Test
    void aCrashGoesBackToWhatWasFlushed() {
        KeyValueMachine m = new KeyValueMachine();
        m.apply(0, KeyValueMachine.put(b("x"), b("1")));
        assertThat(m.flush()).isEqualTo(1);
        m.apply(1, KeyValueMachine.put(b("x"), b("2")));
        m.apply(2, null);
        assertThat(m.appliedIndex()).isEqualTo(3);
        m.crash();
        assertThat(m.appliedIndex()).isEqualTo(1);
        assertThat(m.query(b("x"))).containsExactly(1, '1');
        assertThatThrownBy(() -> m.apply(3, null)).hasMessageContaining("next slot to apply is 1");
    }

    /** The machine's snapshot, chunk by chunk. */
    private static java.util.List<byte[]> chunks(StateMachine m, int maxChunkBytes) {
        java.util.List<byte[]> out = new java.util.ArrayList<>();
        try (StateMachine.SnapshotSource s = m.openSnapshot(maxChunkBytes)) {
            assertThat(s.endIndex()).isEqualTo(m.appliedIndex());
            for (byte[] c = s.nextChunk(); c != null; c = s.nextChunk()) {
                assertThat(c.length).isLessThanOrEqualTo(maxChunkBytes);
                out.add(c);
            }
        }
        return out;
    }
}
