package io.gnomon.spanner.history;

import org.junit.jupiter.api.Test;

import java.io.StringReader;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HistoryWriterTest {

    @Test
    void writesTheIssueExampleAndReadsItBack() throws Exception {
        StringWriter out = new StringWriter();
        long[] clock = {1200, 5400};
        int[] tick = {0};
        try (HistoryWriter w = new HistoryWriter(out, () -> clock[tick[0]++])) {
            w.invoke(3, List.of(new MicroOp.Append("x", 1), new MicroOp.Read("y", List.of(9L))));
            w.ok(3, List.of(new MicroOp.Append("x", 1), new MicroOp.Read("y", List.of(1L, 2L))));
        }
        assertThat(out.toString()).isEqualTo(
                "{\"index\":0,\"process\":3,\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"append\",\"x\",1],[\"r\",\"y\",null]],\"time\":1200}\n"
                        + "{\"index\":1,\"process\":3,\"type\":\"ok\",\"f\":\"txn\",\"value\":[[\"append\",\"x\",1],[\"r\",\"y\",[1,2]]],\"time\":5400}\n");
        List<Op> ops = HistoryReader.readAll(new StringReader(out.toString()));
        assertThat(ops).hasSize(2);
        assertThat(ops.get(1).value().get(1)).isEqualTo(new MicroOp.Read("y", List.of(1L, 2L)));
        assertThat(ops.get(0).value().get(1)).isEqualTo(new MicroOp.Read("y", null));
    }

    @Test
    void timeStrictlyIncreasesEvenWhenTheClockStallsOrKeysNeedEscaping() throws Exception {
        StringWriter out = new StringWriter();
        try (HistoryWriter w = new HistoryWriter(out, () -> 7)) {
            w.invoke(1, List.of(new MicroOp.Append("q\"uote\n", 1)));
            w.fail(1);
            w.invoke(1, List.of(new MicroOp.Append("k", 2)));
            w.info(1);
        }
        List<Op> ops = HistoryReader.readAll(new StringReader(out.toString()));
        assertThat(ops).extracting(Op::timeNanos).containsExactly(7L, 8L, 9L, 10L);
        assertThat(ops.get(0).value().get(0).key()).isEqualTo("q\"uote\n");
        assertThat(ops).extracting(Op::type).containsExactly(OpType.INVOKE, OpType.FAIL, OpType.INVOKE, OpType.INFO);
        assertThat(ops.get(1).value()).isEqualTo(ops.get(0).value()); // fail repeats the invocation
    }

    @Test
    void manyThreadsGetDistinctIncreasingIndexes() throws Exception {
        StringWriter out = new StringWriter();
        AtomicLong clock = new AtomicLong();
        int threads = 8;
        int txnsPerThread = 500;
        try (HistoryWriter w = new HistoryWriter(out, clock::incrementAndGet)) {
            List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int process = t;
                workers.add(new Thread(() -> {
                    for (int i = 0; i < txnsPerThread; i++) {
                        MicroOp a = new MicroOp.Append("k" + process, i);
                        w.invoke(process, List.of(a));
                        w.ok(process, List.of(a));
                    }
                }));
            }
            workers.forEach(Thread::start);
            for (Thread t : workers) {
                t.join();
            }
        }
        List<Op> ops = HistoryReader.readAll(new StringReader(out.toString())); // checks index and time order
        assertThat(ops).hasSize(threads * txnsPerThread * 2);
        assertThat(ops.get(ops.size() - 1).index()).isEqualTo(ops.size() - 1);
    }

    @Test
    void misuseFailsFast() throws Exception {
        try (HistoryWriter w = new HistoryWriter(new StringWriter(), () -> 0)) {
            assertThatThrownBy(() -> w.ok(1, List.of())).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("did not invoke");
            w.invoke(1, List.of(new MicroOp.Append("x", 1)));
            assertThatThrownBy(() -> w.invoke(1, List.of())).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> w.ok(1, List.of(new MicroOp.Append("x", 2))))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("was invoked as");
            assertThat(w.inFlightProcesses()).containsExactly(1);
        }
    }

    @Test
    void timestampsAndReadModesAreWrittenAndReadBack() throws Exception {
        StringWriter out = new StringWriter();
        long[] clock = {0};
        MicroOp ax = new MicroOp.Append("x", 1);
        MicroOp rx = new MicroOp.Read("x", List.of(1L));
        try (HistoryWriter w = new HistoryWriter(out, () -> clock[0] += 10)) {
            w.invoke(1, List.of(ax), ReadMode.STRONG);
            w.okCommitted(1, List.of(ax), 1_700_000_000_000_000_100L);
            w.invoke(2, List.of(rx), ReadMode.STALE);
            w.okRead(2, List.of(rx), 1_700_000_000_000_000_050L);
            w.invoke(3, List.of(new MicroOp.Append("y", 1)), ReadMode.STRONG);
            w.infoCommitted(3, 1_700_000_000_000_000_200L);
        }
        String[] lines = out.toString().split("\n");
        assertThat(lines[0]).isEqualTo("{\"index\":0,\"process\":1,\"type\":\"invoke\",\"f\":\"txn\","
                + "\"value\":[[\"append\",\"x\",1]],\"time\":10,\"readMode\":\"strong\"}");
        assertThat(lines[1]).endsWith("\"time\":20,\"commitTs\":1700000000000000100}");
        assertThat(lines[3]).endsWith("\"time\":40,\"readTs\":1700000000000000050}");
        List<Op> ops = HistoryReader.readAll(new StringReader(out.toString()));
        assertThat(ops).extracting(Op::readMode).containsExactly(ReadMode.STRONG, null, ReadMode.STALE, null,
                ReadMode.STRONG, null);
        assertThat(ops).extracting(Op::commitTsEpochNanos).containsExactly(null, 1_700_000_000_000_000_100L, null,
                null, null, 1_700_000_000_000_000_200L);
        assertThat(ops.get(3).readTsEpochNanos()).isEqualTo(1_700_000_000_000_000_050L);
        assertThat(ops.get(0).commitTsEpochNanos()).isNull();
        assertThat(ops.get(5).type()).isEqualTo(OpType.INFO);
    }

    @Test
    void aReadModeNeedsATimestampWhenTheTransactionCommits() throws Exception {
        MicroOp ax = new MicroOp.Append("x", 1);
        MicroOp rx = new MicroOp.Read("x", List.of());
        try (HistoryWriter w = new HistoryWriter(new StringWriter(), () -> 0)) {
            w.invoke(1, List.of(ax), ReadMode.STRONG);
            assertThatThrownBy(() -> w.ok(1, List.of(ax))).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("needs a commit or read timestamp");
            assertThatThrownBy(() -> w.okRead(1, List.of(ax), 5)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("appends, so it is read-write");
            w.okCommitted(1, List.of(ax), 5);
            w.invoke(2, List.of(rx), ReadMode.STALE);
            assertThatThrownBy(() -> w.okCommitted(2, List.of(rx), 5)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("readMode stale");
            w.okRead(2, List.of(rx), 5);
            w.invoke(3, List.of(rx));
            assertThatThrownBy(() -> w.okRead(3, List.of(rx), 5)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("without a readMode");
            assertThat(w.inFlightProcesses()).containsExactly(3);
        }
    }
}
