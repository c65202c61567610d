package io.gnomon.txn;

import io.gnomon.txn.TxnMessage.InquireReply.Decision;
import io.gnomon.txn.TxnRecordCodec.MalformedRecordException;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TxnMessageCodecTest {
    private static final TxnId TXN = new TxnId(1_000, 7, 2);
    /** Where a message's body starts: version, type, txn id. */
    private static final int BODY = 2 + 8 + 8 + 4;

    static List<TxnMessage> examples() {
        return List.of(
                new TxnMessage.Prepared(TXN, 3, 5_000),
                new TxnMessage.PrepareRefused(TXN, 3, "wounded by an older transaction ✓"),
                new TxnMessage.Commit(TXN, 6_000),
                new TxnMessage.Abort(TXN, ""),
                new TxnMessage.Inquire(TXN, 4, 5_001),
                new TxnMessage.InquireReply(TXN, Decision.COMMITTED, 6_000),
                new TxnMessage.InquireReply(TXN, Decision.ABORTED, -1),
                new TxnMessage.InquireReply(TXN, Decision.DECIDING, -1),
                new TxnMessage.OutcomeLogged(TXN, 4));
    }

    @Test
    void everyMessageKindRoundTrips() throws MalformedRecordException {
        for (TxnMessage m : examples()) {
            assertThat(TxnMessageCodec.decode(TxnMessageCodec.encode(m))).isEqualTo(m);
        }
        assertThat(examples().stream().map(Object::getClass).distinct())
                .hasSize(TxnMessage.class.getPermittedSubclasses().length);
    }

    @Property(tries = 300)
    void randomMessagesRoundTrip(@ForAll("messages") TxnMessage m) throws MalformedRecordException {
        assertThat(TxnMessageCodec.decode(TxnMessageCodec.encode(m))).isEqualTo(m);
    }

    @Provide
    Arbitrary<TxnMessage> messages() {
        Arbitrary<TxnId> txns = Combinators.combine(Arbitraries.longs().greaterOrEqual(0), Arbitraries.longs(),
                Arbitraries.integers().greaterOrEqual(0)).as(TxnId::new);
        Arbitrary<Long> groups = Arbitraries.longs().greaterOrEqual(1);
        Arbitrary<Long> ts = Arbitraries.longs().greaterOrEqual(0);
        Arbitrary<String> reasons = Arbitraries.strings().ofMaxLength(200);
        return Arbitraries.oneOf(
                Combinators.combine(txns, groups, ts).as(TxnMessage.Prepared::new),
                Combinators.combine(txns, groups, reasons).as(TxnMessage.PrepareRefused::new),
                Combinators.combine(txns, ts).as(TxnMessage.Commit::new),
                Combinators.combine(txns, reasons).as(TxnMessage.Abort::new),
                Combinators.combine(txns, groups, ts).as(TxnMessage.Inquire::new),
                Combinators.combine(txns, ts).as((t, s) -> new TxnMessage.InquireReply(t, Decision.COMMITTED, s)),
                Combinators.combine(txns, Arbitraries.of(Decision.ABORTED, Decision.DECIDING), Arbitraries.longs())
                        .as(TxnMessage.InquireReply::new),
                Combinators.combine(txns, groups).as(TxnMessage.OutcomeLogged::new));
    }

    @Test
    void everyTruncationIsRefusedNamingWhere() {
        for (TxnMessage m : examples()) {
            byte[] bytes = TxnMessageCodec.encode(m);
            for (int n = 0; n < bytes.length; n++) {
                byte[] cut = Arrays.copyOf(bytes, n);
                assertThatThrownBy(() -> TxnMessageCodec.decode(cut)).as("%s cut to %d bytes", m, n)
                        .isInstanceOf(MalformedRecordException.class).hasMessageContaining("offset");
            }
        }
    }

    @Test
    void badBytesAreRefusedNamingTheField() {
        byte[] good = TxnMessageCodec.encode(new TxnMessage.Prepared(TXN, 3, 5_000));
        byte[] version = good.clone();
        version[0] = 2;
        assertThatThrownBy(() -> TxnMessageCodec.decode(version)).isInstanceOf(MalformedRecordException.class)
                .hasMessageContaining("transaction message version 2 at offset 0");
        byte[] type = good.clone();
        type[1] = 9;
        assertThatThrownBy(() -> TxnMessageCodec.decode(type)).hasMessageContaining("type 9 at offset 1");
        byte[] trailing = Arrays.copyOf(good, good.length + 1);
        assertThatThrownBy(() -> TxnMessageCodec.decode(trailing)).hasMessageContaining("1 trailing bytes");
        byte[] group = good.clone();
        ByteBuffer.wrap(group).order(ByteOrder.LITTLE_ENDIAN).putLong(BODY, 0);
        assertThatThrownBy(() -> TxnMessageCodec.decode(group))
                .hasMessageContaining("fromGroup 0 at offset " + BODY);
        byte[] ack = TxnMessageCodec.encode(new TxnMessage.OutcomeLogged(TXN, 4));
        ByteBuffer.wrap(ack).order(ByteOrder.LITTLE_ENDIAN).putLong(BODY, -1);
        assertThatThrownBy(() -> TxnMessageCodec.decode(ack)).hasMessageContaining("fromGroup -1 at offset " + BODY);
        byte[] ts = good.clone();
        ByteBuffer.wrap(ts).order(ByteOrder.LITTLE_ENDIAN).putLong(BODY + 8, -5);
        assertThatThrownBy(() -> TxnMessageCodec.decode(ts)).hasMessageContaining("prepareTs -5 at offset " + (BODY + 8));
        byte[] txn = good.clone();
        ByteBuffer.wrap(txn).order(ByteOrder.LITTLE_ENDIAN).putLong(2, -1);
        assertThatThrownBy(() -> TxnMessageCodec.decode(txn)).hasMessageContaining("transaction id at offset 2");
        byte[] decision = TxnMessageCodec.encode(new TxnMessage.InquireReply(TXN, Decision.DECIDING, -1));
        decision[BODY] = 3;
        assertThatThrownBy(() -> TxnMessageCodec.decode(decision)).hasMessageContaining("decision 3 at offset " + BODY);
        byte[] committedAtMinusOne = TxnMessageCodec.encode(new TxnMessage.InquireReply(TXN, Decision.DECIDING, -1));
        committedAtMinusOne[BODY] = (byte) Decision.COMMITTED.ordinal();
        assertThatThrownBy(() -> TxnMessageCodec.decode(committedAtMinusOne)).hasMessageContaining("commitTs -1");
        byte[] reasonLength = TxnMessageCodec.encode(new TxnMessage.Abort(TXN, "ab"));
        ByteBuffer.wrap(reasonLength).order(ByteOrder.LITTLE_ENDIAN).putInt(BODY, 3);
        assertThatThrownBy(() -> TxnMessageCodec.decode(reasonLength))
                .hasMessageContaining("reason length 3 at offset " + BODY);
    }

    @Test
    void aSenderBugIsRefusedAtEncode() {
        assertThatThrownBy(() -> TxnMessageCodec.encode(new TxnMessage.Prepared(TXN, 0, 5)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("fromGroup 0");
        assertThatThrownBy(() -> TxnMessageCodec.encode(new TxnMessage.Commit(TXN, -1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("commitTs -1");
    }

    @Test
    void aReasonAtTheLimitTravelsWholeAndOnePastIsShortenedOrRefused() throws MalformedRecordException {
        String atLimit = "r".repeat(TxnMessageCodec.MAX_REASON_BYTES);
        assertThat(TxnMessageCodec.decode(TxnMessageCodec.encode(new TxnMessage.Abort(TXN, atLimit))))
                .isEqualTo(new TxnMessage.Abort(TXN, atLimit));

        // One byte past: the sender shortens it (a reason is for people), never on half a character.
        String pastLimit = "é".repeat(TxnMessageCodec.MAX_REASON_BYTES / 2 - 1) + "rxy";
        assertThat(pastLimit.getBytes(UTF_8)).hasSize(TxnMessageCodec.MAX_REASON_BYTES + 1);
        TxnMessage sent = TxnMessageCodec.decode(TxnMessageCodec.encode(new TxnMessage.PrepareRefused(TXN, 2,
                pastLimit)));
        assertThat(((TxnMessage.PrepareRefused) sent).reason()).isEqualTo(pastLimit.substring(0,
                pastLimit.length() - 1));
        String wide = "x" + "é".repeat(TxnMessageCodec.MAX_REASON_BYTES / 2);
        String shortened = ((TxnMessage.Abort) TxnMessageCodec.decode(TxnMessageCodec.encode(
                new TxnMessage.Abort(TXN, wide)))).reason();
        assertThat(shortened).isEqualTo(wide.substring(0, wide.length() - 1));
        assertThat(shortened.getBytes(UTF_8)).hasSize(TxnMessageCodec.MAX_REASON_BYTES - 1);

        // One byte past on the wire (a foreign sender): refused by name.
        byte[] head = TxnMessageCodec.encode(new TxnMessage.Abort(TXN, ""));
        ByteBuffer over = ByteBuffer.allocate(head.length + TxnMessageCodec.MAX_REASON_BYTES + 1)
                .order(ByteOrder.LITTLE_ENDIAN);
        over.put(head, 0, BODY).putInt(TxnMessageCodec.MAX_REASON_BYTES + 1);
        byte[] tooLong = over.array();
        assertThatThrownBy(() -> TxnMessageCodec.decode(tooLong)).isInstanceOf(MalformedRecordException.class)
                .hasMessageContaining("reason length " + (TxnMessageCodec.MAX_REASON_BYTES + 1) + " at offset " + BODY)
                .hasMessageContaining("over the limit of " + TxnMessageCodec.MAX_REASON_BYTES);
    }
}
