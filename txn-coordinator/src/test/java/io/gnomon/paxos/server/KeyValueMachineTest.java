package io.gnomon.paxos.server;

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
        assertThat(ByteBuffer.wrap(m.apply(7, KeyValueMachine.put(b("k"), b("v1")))).getLong()).isEqualTo(7);
        m.apply(8, KeyValueMachine.put(b("k"), b("v2")));
        m.apply(9, KeyValueMachine.put(b("other"), new byte[0]));
        assertThat(m.query(b("k"))).containsExactly(1, 'v', '2');
        assertThat(m.query(b("other"))).containsExactly(1);
        assertThat(m.size()).isEqualTo(2);
    }

    @Test
    void keysAreBytesNotText() {
        KeyValueMachine m = new KeyValueMachine();
        byte[] key = {(byte) 0xff, 0, (byte) 0x80};
        m.apply(1, KeyValueMachine.put(key, b("x")));
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
        assertThatThrownBy(() -> m.apply(1, new byte[3])).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> m.query(new byte[0])).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aSnapshotRestoresTheSameStateAndEqualStatesGiveEqualBytes() {
        KeyValueMachine a = new KeyValueMachine();
        KeyValueMachine b = new KeyValueMachine();
        a.apply(1, KeyValueMachine.put(b("x"), b("1")));
        a.apply(2, KeyValueMachine.put(b("y"), b("22")));
        b.apply(1, KeyValueMachine.put(b("y"), b("22")));
        b.apply(2, KeyValueMachine.put(b("x"), b("1")));
        assertThat(a.snapshot()).isEqualTo(b.snapshot());
        KeyValueMachine c = new KeyValueMachine();
        c.apply(1, KeyValueMachine.put(b("stale"), b("gone")));
        c.restore(a.snapshot());
        assertThat(c.query(b("stale"))).containsExactly(0);
        assertThat(c.query(b("y"))).containsExactly(1, '2', '2');
        assertThat(c.snapshot()).isEqualTo(a.snapshot());
        byte[] trailing = java.util.Arrays.copyOf(a.snapshot(), a.snapshot().length + 1);
        assertThatThrownBy(() -> c.restore(trailing)).hasMessageContaining("after its 2 keys");
    }
}
