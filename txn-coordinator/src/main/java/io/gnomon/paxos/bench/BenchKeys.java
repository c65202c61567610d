package io.gnomon.paxos.bench;

import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * The keys both backends write and read, byte for byte the same: {@code gnomon-bench/<run>/c<client>/<n>}, with a
 * fresh {@code <run>} per backend opened (36 characters), so a put's key is 55 to 60 bytes at 64 clients. A put's
 * key is its client's sequence number; a read's is one of {@code keysPerClient} keys the run wrote first.
 */
final class BenchKeys {
    private final String prefix = "gnomon-bench/" + UUID.randomUUID() + "/c";

    /** The key of client {@code client}'s {@code n}-th put. */
    byte[] key(int client, long n) {
        return (prefix + client + "/" + n).getBytes(StandardCharsets.UTF_8);
    }
}
