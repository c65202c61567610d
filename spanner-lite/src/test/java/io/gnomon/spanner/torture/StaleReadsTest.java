package io.gnomon.spanner.torture;

import io.gnomon.spanner.history.HistoryReader;

import org.junit.jupiter.api.Test;

import java.io.StringReader;

import static org.assertj.core.api.Assertions.assertThat;

/** The harness's stale-read witness on small histories that read like traces. */
class StaleReadsTest {
    private static long count(String... lines) throws Exception {
        return StaleReads.count(HistoryReader.readAll(new StringReader(String.join("\n", lines))));
    }

    @Test
    void aReadThatMissesAnAppendAcknowledgedBeforeItBeganIsStale() throws Exception {
        assertThat(count(
                "{\"index\":0,\"process\":0,\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"append\",\"k\",1]],\"time\":10}",
                "{\"index\":1,\"process\":0,\"type\":\"ok\",\"f\":\"txn\",\"value\":[[\"append\",\"k\",1]],\"time\":20}",
                "{\"index\":2,\"process\":1,\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"r\",\"k\",null]],\"time\":30}",
                "{\"index\":3,\"process\":1,\"type\":\"ok\",\"f\":\"txn\",\"value\":[[\"r\",\"k\",[]]],\"time\":40}"))
                .isEqualTo(1);
    }

    @Test
    void aReadThatMissesWhatAnEarlierReadSawIsStale() throws Exception {
        assertThat(count(
                "{\"index\":0,\"process\":0,\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"r\",\"k\",null]],\"time\":10}",
                "{\"index\":1,\"process\":0,\"type\":\"ok\",\"f\":\"txn\",\"value\":[[\"r\",\"k\",[1,2]]],\"time\":20}",
                "{\"index\":2,\"process\":1,\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"r\",\"k\",null]],\"time\":30}",
                "{\"index\":3,\"process\":1,\"type\":\"ok\",\"f\":\"txn\",\"value\":[[\"r\",\"k\",[1]]],\"time\":40}"))
                .isEqualTo(1);
    }

    @Test
    void aReadAtAStaleBoundMayMissWhatCommittedBeforeIt() throws Exception {
        assertThat(count(
                "{\"index\":0,\"process\":0,\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"append\",\"k\",1]],\"time\":10,\"readMode\":\"strong\"}",
                "{\"index\":1,\"process\":0,\"type\":\"ok\",\"f\":\"txn\",\"value\":[[\"append\",\"k\",1]],\"time\":20,\"commitTs\":100}",
                "{\"index\":2,\"process\":1,\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"r\",\"k\",null]],\"time\":30,\"readMode\":\"stale\"}",
                "{\"index\":3,\"process\":1,\"type\":\"ok\",\"f\":\"txn\",\"value\":[[\"r\",\"k\",[]]],\"time\":40,\"readTs\":90}",
                // the same read at a strong bound is stale
                "{\"index\":4,\"process\":1,\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"r\",\"k\",null]],\"time\":50,\"readMode\":\"strong\"}",
                "{\"index\":5,\"process\":1,\"type\":\"ok\",\"f\":\"txn\",\"value\":[[\"r\",\"k\",[]]],\"time\":60,\"readTs\":90}"))
                .isEqualTo(1);
    }

    @Test
    void concurrentFailedAndUnknownAppendsMakeNoReadStale() throws Exception {
        assertThat(count(
                // overlapping the read: it may or may not see the append
                "{\"index\":0,\"process\":0,\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"append\",\"k\",1]],\"time\":10}",
                "{\"index\":1,\"process\":1,\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"r\",\"k\",null]],\"time\":15}",
                "{\"index\":2,\"process\":0,\"type\":\"ok\",\"f\":\"txn\",\"value\":[[\"append\",\"k\",1]],\"time\":20}",
                "{\"index\":3,\"process\":1,\"type\":\"ok\",\"f\":\"txn\",\"value\":[[\"r\",\"k\",[]]],\"time\":40}",
                // a failed and an unknown append are not known to be committed
                "{\"index\":4,\"process\":2,\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"append\",\"k\",2]],\"time\":50}",
                "{\"index\":5,\"process\":2,\"type\":\"fail\",\"f\":\"txn\",\"value\":[[\"append\",\"k\",2]],\"time\":60}",
                "{\"index\":6,\"process\":3,\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"append\",\"k\",3]],\"time\":61}",
                "{\"index\":7,\"process\":3,\"type\":\"info\",\"f\":\"txn\",\"value\":[[\"append\",\"k\",3]],\"time\":62}",
                "{\"index\":8,\"process\":4,\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"r\",\"k\",null]],\"time\":70}",
                "{\"index\":9,\"process\":4,\"type\":\"ok\",\"f\":\"txn\",\"value\":[[\"r\",\"k\",[1]]],\"time\":80}"))
                .isZero();
    }
}
