package io.gnomon.paxos.server;

import io.gnomon.paxos.grpc.AppendReply;
import io.gnomon.paxos.grpc.Outcome;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** List-append commands and reads for the server tests, written and read as a careful client does. */
final class ListAppends {
    private static final int ATTEMPTS = 5;

    private ListAppends() {
    }

    static byte[] append(String key, long v) {
        return ListAppend.encodeTxn(List.of(ListAppend.Op.append(key, v)));
    }

    /** The list under {@code key}, read through the lease holder. */
    static List<Long> read(ReplicaClient client, String key, Duration timeout) {
        return ListAppend.decodeList(client.read(key.getBytes(StandardCharsets.UTF_8), timeout)
                .orElseThrow(() -> new AssertionError("no replica served a read of " + key + " within " + timeout))
                .getResult().toByteArray());
    }

    /**
     * Appends {@code v} (unique under {@code key}) exactly once: {@link #appendOnce(ReplicaClient, List, Duration)}
     * with one operation.
     */
    static void appendOnce(ReplicaClient client, String key, long v, Duration timeout) {
        appendOnce(client, List.of(ListAppend.Op.append(key, v)), timeout);
    }

    /**
     * Applies a transaction of appends (each value unique under its key) exactly once. A leader that steps down after
     * proposing (a loaded machine) answers UNKNOWN; the next lease holder has applied every entry it took over before
     * it serves a read, so a read of the first append's key says whether the transaction is in (it applies whole or
     * not at all), and if it is not it never will be: then it is sent again. Fails the test if it is neither applied
     * nor found after a few attempts.
     */
    static void appendOnce(ReplicaClient client, List<ListAppend.Op> appends, Duration timeout) {
        ListAppend.Op first = appends.get(0);
        byte[] command = ListAppend.encodeTxn(appends);
        AppendReply r = client.append(command, timeout);
        for (int attempt = 1; r.getOutcome() == Outcome.UNKNOWN && attempt < ATTEMPTS; attempt++) {
            if (read(client, first.key(), timeout).contains(first.value())) {
                return;
            }
            r = client.append(command, timeout);
        }
        assertThat(r.getOutcome()).as("append %s: %s", appends.size() == 1 ? first : appends.size() + " values",
                r.getDetail()).isEqualTo(Outcome.APPLIED);
    }
}
