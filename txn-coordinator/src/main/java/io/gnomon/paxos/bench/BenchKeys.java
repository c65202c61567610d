package io.gnomon.paxos.bench;

import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * The keys both backends write and read, byte for byte the same: {@code gnomon-bench/<run>/c<client>/<n>}, with a
 * fresh {@code <run>} per backend opened (36 characters), so a put's key is 55 to 60 bytes at 64 clients. A put's
 * key is its client's sequence number; a read's is one of {@code keysPerClient} keys the run wrote first.
 *
 * <p>{@link #spread()} keys (what {@code bin/bench-log --groups} gives every backend of the run, etcd too) start
 * with one more byte, a hash of client and number from 0 to 255: the text alone shares its first bytes in every key,
 * so a cluster whose groups split the key space into ranges ({@code ClusterSpec.evenlySplit}) would find every key
 * in one group. With the byte in front, keys fall evenly over up to 256 groups.
 */
final class BenchKeys {
    private final String prefix = "gnomon-bench/" + UUID.randomUUID() + "/c";
    private final boolean spread;

    private BenchKeys(boolean spread) {
        this.spread = spread;
    }

    /** Keys as before groups: the text alone. */
    static BenchKeys plain() {
        return new BenchKeys(false);
    }

    /** Keys with a leading hash byte, spread evenly over the key space. */
    static BenchKeys spread() {
        return new BenchKeys(true);
    }

    boolean isSpread() {
        return spread;
    }

    /** The key of client {@code client}'s {@code n}-th put. */
    byte[] key(int client, long n) {
        byte[] text = (prefix + client + "/" + n).getBytes(StandardCharsets.UTF_8);
        if (!spread) {
            return text;
        }
        byte[] key = new byte[1 + text.length];
        key[0] = (byte) (mix(client * 0x9E3779B97F4A7C15L + n) >>> 56);
        System.arraycopy(text, 0, key, 1, text.length);
        return key;
    }

    /** SplitMix64's finalizer: every input bit moves the top byte. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
