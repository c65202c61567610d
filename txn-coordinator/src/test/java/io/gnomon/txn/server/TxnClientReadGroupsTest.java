package io.gnomon.txn.server;

import com.google.protobuf.ByteString;
import io.gnomon.txn.TxnLimits;
import io.gnomon.txn.grpc.CommitReply;
import io.gnomon.txn.grpc.CommitRequest;
import io.gnomon.txn.grpc.TxnId;
import io.gnomon.txn.grpc.Write;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A group a read-write transaction only read takes part in its commit (found by the transactional torture run,
 * docs/reliability.md, "Transactions"): three replica processes of the transaction machine, two groups, shared
 * by the cases (each writes keys of its own, and its older writer is a transaction of its own).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TxnClientReadGroupsTest {
    private static final long TIMEOUT = TimeUnit.SECONDS.toNanos(20);
    /** Long timeouts: only a wound, never the idle timeout, can take a lock within the test. */
    private static final TxnLimits LIMITS = new TxnLimits(10_000, 10_000, 100_000, 10_000,
            TimeUnit.MILLISECONDS.toNanos(50), TimeUnit.SECONDS.toNanos(120), TimeUnit.SECONDS.toNanos(10),
            TimeUnit.MILLISECONDS.toNanos(200))
            // a century: tests name "older than any" transactions by tiny priorities (ages of decades)
            .withOutcomeRetention(TimeUnit.DAYS.toNanos(36_500), 1_000);

    /** Static: JUnit fills a static field before {@code @BeforeAll}, an instance field only before each test. */
    @TempDir
    static Path tmp;
    private TxnTestCluster cluster;
    private TxnClient client;
    /** Client id of the next older writer: a commit repeating an earlier one's id would be taken for its retry. */
    private final AtomicInteger olderWriters = new AtomicInteger(9);

    @BeforeAll
    void start() throws Exception {
        cluster = new TxnTestCluster(tmp, 3, 2, LIMITS);
        cluster.startAll();
        client = cluster.client();
    }

    @AfterAll
    void stop() {
        if (client != null) {
            client.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    /**
     * The young transaction reads a key of group 1 and writes only group 2. Between its read and its commit an
     * older transaction writes that key: wound-wait wounds the young reader in group 1 (its shared lock goes) and
     * the older one commits. Only group 1's refusal to prepare the young transaction can tell its coordinator
     * (group 2); without it, the young transaction would commit above the older one's timestamp having read the
     * value before it. It must abort and, retried with its age, read the newer value.
     */
    @Test
    void aWriterThatWoundedAReaderInAGroupItDidNotWriteMakesItRetry() {
        byte[] read = cluster.keyIn(1, "seen");
        byte[] written = cluster.keyIn(2, "derived");
        List<String> seen = new ArrayList<>();
        TxnClient.Committed<Void> c = client.readWrite(txn -> {
            byte[] v = txn.get(read);
            seen.add(v == null ? "none" : new String(v, StandardCharsets.UTF_8));
            if (seen.size() == 1) {
                assertThat(olderWriterCommits(read, "newer")).isEqualTo(CommitReply.Outcome.COMMITTED);
            }
            txn.put(written, ("from " + seen.get(seen.size() - 1)).getBytes(StandardCharsets.UTF_8));
            return null;
        }, TIMEOUT);
        assertThat(seen).containsExactly("none", "newer");
        assertThat(c.attempts()).isEqualTo(2);
        assertThat(client.get(written, TxnClient.Bound.strong(), 0, TIMEOUT).valueOrNull())
                .isEqualTo("from newer".getBytes(StandardCharsets.UTF_8));
    }

    /**
     * A transaction that only reads is wounded the same way between its reads: it must notice at commit (it commits
     * with no writes, at a timestamp) and read again, not return the older value beside a newer one.
     */
    @Test
    void aReaderWoundedBetweenItsReadsMakesItRetry() {
        byte[] first = cluster.keyIn(1, "first");
        byte[] second = cluster.keyIn(2, "second");
        List<String> seen = new ArrayList<>();
        TxnClient.Committed<Void> c = client.readWrite(txn -> {
            byte[] v = txn.get(first);
            seen.add(v == null ? "none" : new String(v, StandardCharsets.UTF_8));
            if (seen.size() == 1) {
                assertThat(olderWriterCommits(first, "newer")).isEqualTo(CommitReply.Outcome.COMMITTED);
            }
            txn.get(second);
            return null;
        }, TIMEOUT);
        assertThat(seen).containsExactly("none", "newer");
        assertThat(c.attempts()).isEqualTo(2);
        assertThat(c.commitTimestamp()).isPositive();
    }

    /** A transaction older than any the client begins puts {@code value} at {@code key} (group 1) alone. */
    private CommitReply.Outcome olderWriterCommits(byte[] key, String value) {
        CommitRequest req = CommitRequest.newBuilder().setGroup(1).setCoordinatorGroup(1)
                .setTxn(TxnId.newBuilder().setPriorityEpochNanos(1).setClientId(olderWriters.getAndIncrement()).build())
                .addWrites(Write.newBuilder().setKey(ByteString.copyFrom(key))
                        .setValue(ByteString.copyFrom(value, StandardCharsets.UTF_8))).build();
        for (int tries = 0; tries < 200; tries++) {
            for (int p = 1; p <= 3; p++) {
                try (TxnTestCluster.Raw raw = cluster.raw(p)) {
                    CommitReply r = raw.stub().commit(req);
                    if (r.getOutcome() != CommitReply.Outcome.NOT_LEADER) {
                        return r.getOutcome();
                    }
                }
            }
        }
        throw new AssertionError("no leader of group 1 took the older writer's commit in 200 rounds");
    }
}
