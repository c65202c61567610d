package io.gnomon.txn;

import io.gnomon.txn.TxnRecordCodec.MalformedRecordException;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TxnRecordCodecTest {
    private static final TxnId TXN = new TxnId(1_000, 7, 2);
    private static final List<Write> WRITES = List.of(Write.put("k".getBytes(UTF_8), "v".getBytes(UTF_8)),
            Write.delete("gone".getBytes(UTF_8)), Write.put(new byte[0], new byte[0]),
            Write.deleteRange("a".getBytes(UTF_8), "b".getBytes(UTF_8)), Write.deleteRange(new byte[0], null));

    static List<TxnRecord> examples() {
        return List.of(
                new TxnRecord.Prepare(TXN, 5_000, 3, WRITES),
                new TxnRecord.CommitRecord(TXN, 6_000, List.of(2L, 3L), WRITES),
                new TxnRecord.AbortRecord(TXN, List.of(2L), "participant group 2 refused: wounded ✓", true),
                TxnRecord.Outcome.committedAt(TXN, 6_000),
                TxnRecord.Outcome.aborted(TXN),
                new TxnRecord.Commit(TXN, 7_000, List.of()));
    }

    @Test
    void everyRecordTypeRoundTrips() throws MalformedRecordException {
        for (TxnRecord r : examples()) {
            assertThat(TxnRecordCodec.decode(TxnRecordCodec.encode(r))).isEqualTo(r);
        }
    }

    @Property(tries = 200)
    void randomRecordsRoundTrip(@ForAll("records") TxnRecord r) throws MalformedRecordException {
        assertThat(TxnRecordCodec.decode(TxnRecordCodec.encode(r))).isEqualTo(r);
    }

    @Provide
    Arbitrary<TxnRecord> records() {
        Arbitrary<TxnId> txns = Combinators.combine(Arbitraries.longs().greaterOrEqual(0), Arbitraries.longs(),
                Arbitraries.integers().greaterOrEqual(0)).as(TxnId::new);
        Arbitrary<byte[]> bytes = Arbitraries.bytes().array(byte[].class).ofMaxSize(20);
        Arbitrary<byte[]> suffixes = Arbitraries.bytes().array(byte[].class).ofMinSize(1).ofMaxSize(5);
        Arbitrary<Write> writes = Arbitraries.oneOf(Combinators.combine(bytes, bytes.injectNull(0.3)).as(Write::new),
                Combinators.combine(bytes, suffixes.injectNull(0.3)).as((k, s) -> Write.deleteRange(k,
                        s == null ? null : concat(k, s)))); // a key followed by more bytes sorts after it
        Arbitrary<List<Write>> writeLists = writes.list().ofMaxSize(5);
        Arbitrary<List<Long>> groups = Arbitraries.longs().list().ofMaxSize(4);
        Arbitrary<Long> ts = Arbitraries.longs().greaterOrEqual(0);
        return Arbitraries.oneOf(
                Combinators.combine(txns, ts, Arbitraries.longs(), writeLists).as(TxnRecord.Prepare::new),
                Combinators.combine(txns, ts, groups, writeLists).as(TxnRecord.CommitRecord::new),
                Combinators.combine(txns, groups, Arbitraries.strings().ofMaxLength(30), Arbitraries.of(true, false))
                        .as(TxnRecord.AbortRecord::new),
                Combinators.combine(txns, ts).as(TxnRecord.Outcome::committedAt),
                txns.map(TxnRecord.Outcome::aborted),
                Combinators.combine(txns, ts, writeLists).as(TxnRecord.Commit::new),
                txns.list().ofMinSize(1).ofMaxSize(5).map(TxnRecord.Forget::new));
    }

    @Test
    void aForgetRoundTripsAndItsBadBytesAreRefusedByName() throws MalformedRecordException {
        TxnRecord.Forget forget = new TxnRecord.Forget(List.of(TXN, new TxnId(2_000, 8, 0)));
        byte[] bytes = TxnRecordCodec.encode(forget);
        assertThat(TxnRecordCodec.decode(bytes)).isEqualTo(forget);
        assertThat(bytes).hasSize(2 + 20 + 4 + 2 * 20);
        for (int n = 0; n < bytes.length; n++) {
            byte[] cut = Arrays.copyOf(bytes, n);
            assertThatThrownBy(() -> TxnRecordCodec.decode(cut)).isInstanceOf(MalformedRecordException.class)
                    .hasMessageContaining("offset");
        }
        byte[] none = Arrays.copyOf(bytes, 26);
        Arrays.fill(none, 22, 26, (byte) 0); // count 0
        assertThatThrownBy(() -> TxnRecordCodec.decode(none)).hasMessage("forget count 0 at offset 22 is not >= 1");
        byte[] otherFirst = bytes.clone();
        otherFirst[26] = 5; // the listed first's priority differs from the header's
        assertThatThrownBy(() -> TxnRecordCodec.decode(otherFirst))
                .hasMessageContaining("is not the header's " + TXN);
        assertThatThrownBy(() -> new TxnRecord.Forget(List.of())).hasMessageContaining("at least one");
    }

    @Test
    void recordsWrittenBeforeForgetExistedStillDecode() throws MalformedRecordException {
        // the bytes of an Outcome as version 1 wrote them before type 6 came: the same version reads them unchanged
        byte[] old = {1, 4, (byte) 0xe8, 3, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1,
                0x70, 0x17, 0, 0, 0, 0, 0, 0};
        assertThat(TxnRecordCodec.decode(old)).isEqualTo(TxnRecord.Outcome.committedAt(TXN, 6_000));
        assertThat(TxnRecordCodec.encode(TxnRecord.Outcome.committedAt(TXN, 6_000))).isEqualTo(old);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    @Test
    void aRangeDeleteWhoseEndIsNotAfterItsStartIsRefused() {
        byte[] good = TxnRecordCodec.encode(new TxnRecord.Commit(TXN, 7_000,
                List.of(Write.deleteRange("a".getBytes(UTF_8), "b".getBytes(UTF_8)))));
        byte[] backwards = good.clone();
        backwards[good.length - 1] = 'a'; // [a, a): empty
        assertThatThrownBy(() -> TxnRecordCodec.decode(backwards)).isInstanceOf(MalformedRecordException.class)
                .hasMessageContaining("delete range at offset").hasMessageContaining("start 61 is not before its end 61");
    }

    @Test
    void everyTruncationIsRefusedNamingWhere() {
        for (TxnRecord r : examples()) {
            byte[] bytes = TxnRecordCodec.encode(r);
            for (int n = 0; n < bytes.length; n++) {
                byte[] cut = Arrays.copyOf(bytes, n);
                assertThatThrownBy(() -> TxnRecordCodec.decode(cut)).as("%s cut to %d bytes", r, n)
                        .isInstanceOf(MalformedRecordException.class).hasMessageContaining("offset");
            }
        }
    }

    @Test
    void badBytesAreRefusedWithAReason() {
        byte[] good = TxnRecordCodec.encode(new TxnRecord.Commit(TXN, 7_000, WRITES));
        byte[] version = good.clone();
        version[0] = 9;
        assertThatThrownBy(() -> TxnRecordCodec.decode(version))
                .hasMessageStartingWith("transaction record version 9 at offset 0 is not 1");
        byte[] type = good.clone();
        type[1] = 42;
        assertThatThrownBy(() -> TxnRecordCodec.decode(type))
                .hasMessage("unknown transaction record type 42 at offset 1");
        byte[] trailing = Arrays.copyOf(good, good.length + 1);
        assertThatThrownBy(() -> TxnRecordCodec.decode(trailing))
                .hasMessage("1 trailing bytes after the record at offset " + good.length);
        byte[] negativeTs = TxnRecordCodec.encode(new TxnRecord.Commit(TXN, 7_000, List.of()));
        Arrays.fill(negativeTs, 22, 30, (byte) 0xff); // commitTs = -1
        assertThatThrownBy(() -> TxnRecordCodec.decode(negativeTs))
                .hasMessage("transaction record of type 5 is invalid: commitTimestampEpochNanos must be >= 0, was -1");
        byte[] hugeCount = TxnRecordCodec.encode(new TxnRecord.Commit(TXN, 7_000, List.of()));
        hugeCount[30] = 0x7f; // write count 127, no bytes follow
        assertThatThrownBy(() -> TxnRecordCodec.decode(hugeCount))
                .hasMessage("write count 127 at offset 30 does not fit the 0 bytes that remain");
    }
}
