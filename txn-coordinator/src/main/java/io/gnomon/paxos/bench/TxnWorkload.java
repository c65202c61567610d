package io.gnomon.paxos.bench;

import io.gnomon.paxos.cluster.ClusterSpec;
import io.gnomon.paxos.cluster.GroupSpec;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * What {@code bin/bench-txn} asks for, with YCSB's and Paxi's knobs: which keys a transaction touches and whether it
 * only reads. Pure: the caller passes each client's random source, so a seed gives the same keys.
 *
 * <p>The key space is {@code keys} ids. Id {@code i} lives in group {@code i mod G} (of the {@code G} groups of
 * {@link ClusterSpec#evenlySplit}, which split the key space by leading bytes): its key is that group's range start
 * (fixed width; zeros for the first group) followed by {@code txn/<i>}, so {@link ClusterSpec#groupFor} finds it
 * there, and etcd stores the same bytes. Ids are ranks: with {@code zipfian} id 0 is the hottest, and the hot ids
 * fall on every group in turn.
 *
 * <p>A transaction's first key is drawn from the whole space; with probability {@code crossGroup} its second key is
 * drawn from another group (uniformly chosen) and further keys from any group, otherwise every key is drawn from the
 * first key's group. Within a group, keys are drawn by the same distribution over that group's ids. Keys of one
 * transaction are distinct.
 */
final class TxnWorkload {
    /** How ids are drawn. */
    enum Distribution { UNIFORM, ZIPFIAN }

    /** A transaction to run: its keys and whether it only reads them. */
    record Op(boolean readOnly, List<byte[]> keys) {
    }

    static final int KEYS_MAX = 100_000_000;
    static final int KEYS_PER_TXN_MAX = 1_000;
    /** Draws of a key already in the transaction before giving up (the checks below make this unreachable in practice). */
    private static final int DISTINCT_DRAWS_MAX = 10_000;

    private final int keys;
    private final int groups;
    private final Distribution distribution;
    private final double zipfTheta;
    private final double crossGroup;
    private final byte[][] groupPrefix;
    /** With zipfian keys, the generators by item count (the whole space, and each group's share); else empty. */
    private final Map<Long, Zipfian> zipfians;

    /**
     * @throws IllegalArgumentException naming the knob that is out of range
     */
    TxnWorkload(int keys, int groups, Distribution distribution, double zipfTheta, double crossGroup) {
        if (keys < 1 || keys > KEYS_MAX) {
            throw new IllegalArgumentException("--keys must be 1.." + KEYS_MAX + "; got " + keys);
        }
        if (groups < 1 || groups > 256) {
            throw new IllegalArgumentException("--groups must be 1..256; got " + groups);
        }
        if (keys < groups) {
            throw new IllegalArgumentException("--keys (" + keys + ") must be at least --groups (" + groups
                    + "): every group holds keys");
        }
        if (!(zipfTheta > 0 && zipfTheta < 1)) {
            throw new IllegalArgumentException("--zipf-theta must be above 0 and below 1 (YCSB's default 0.99); got "
                    + zipfTheta);
        }
        if (!(crossGroup >= 0 && crossGroup <= 1)) {
            throw new IllegalArgumentException("--cross-group is a share, 0 to 1; got " + crossGroup);
        }
        if (crossGroup > 0 && groups < 2) {
            throw new IllegalArgumentException("--cross-group " + crossGroup + " needs --groups 2 or more: with one "
                    + "group no transaction spans groups");
        }
        this.keys = keys;
        this.groups = groups;
        this.distribution = distribution;
        this.zipfTheta = zipfTheta;
        this.crossGroup = crossGroup;
        List<GroupSpec> specs = new ArrayList<>(ClusterSpec.evenlySplit(1, groups, 1, "127.0.0.1", 1).groups());
        specs.sort((a, b) -> a.range().start().compareTo(b.range().start()));
        int width = groups == 1 ? 0 : specs.get(1).range().start().bytes().length;
        groupPrefix = new byte[groups][];
        for (int g = 0; g < groups; g++) {
            byte[] start = specs.get(g).range().start().bytes();
            groupPrefix[g] = start.length == 0 ? new byte[width] : start;
        }
        Map<Long, Zipfian> z = new HashMap<>();
        if (distribution == Distribution.ZIPFIAN) {
            // built once (zeta is a sum over every item): the clients' threads then only read them
            z.put((long) keys, new Zipfian(keys, zipfTheta));
            for (int g = 0; g < groups; g++) {
                z.computeIfAbsent(idsIn(g), n -> new Zipfian(n, zipfTheta));
            }
        }
        zipfians = Map.copyOf(z);
    }

    /** Checks {@code keysPerTxn} against the key space: each group must hold that many distinct keys. */
    void checkKeysPerTxn(int keysPerTxn) {
        if (keysPerTxn < 1 || keysPerTxn > KEYS_PER_TXN_MAX) {
            throw new IllegalArgumentException("--keys-per-txn must be 1.." + KEYS_PER_TXN_MAX + "; got " + keysPerTxn);
        }
        if ((long) keysPerTxn * groups > keys) {
            throw new IllegalArgumentException("--keys (" + keys + ") over --groups (" + groups + ") leaves fewer than "
                    + "--keys-per-txn (" + keysPerTxn + ") distinct keys in a group");
        }
    }

    int groups() {
        return groups;
    }

    int keys() {
        return keys;
    }

    /** Every key of the space, by id. */
    List<byte[]> allKeys() {
        List<byte[]> all = new ArrayList<>(keys);
        for (long id = 0; id < keys; id++) {
            all.add(key(id));
        }
        return all;
    }

    /** The group (0-based, in key order: group id - 1 of the generated cluster) that holds id {@code id}. */
    int groupOf(long id) {
        return (int) (id % groups);
    }

    /** The key of id {@code id}. */
    byte[] key(long id) {
        byte[] prefix = groupPrefix[groupOf(id)];
        byte[] text = ("txn/" + id).getBytes(StandardCharsets.UTF_8);
        byte[] key = new byte[prefix.length + text.length];
        System.arraycopy(prefix, 0, key, 0, prefix.length);
        System.arraycopy(text, 0, key, prefix.length, text.length);
        return key;
    }

    /**
     * The next transaction of a client: read-only with probability {@code readRatio}, over {@code keysPerTxn}
     * distinct keys drawn as the class comment says.
     */
    Op next(SplittableRandom random, int keysPerTxn, double readRatio) {
        boolean readOnly = readRatio > 0 && random.nextDouble() < readRatio;
        List<Long> ids = new ArrayList<>(keysPerTxn);
        long first = draw(random, keys);
        ids.add(first);
        int home = groupOf(first);
        boolean cross = keysPerTxn > 1 && crossGroup > 0 && random.nextDouble() < crossGroup;
        for (int k = 1; k < keysPerTxn; k++) {
            for (int tries = 0; ; tries++) {
                if (tries >= DISTINCT_DRAWS_MAX) {
                    throw new IllegalStateException("no distinct key after " + tries + " draws; --keys too small for "
                            + "--keys-per-txn " + keysPerTxn + " with this distribution");
                }
                int g;
                if (!cross) {
                    g = home;
                } else if (k == 1) {
                    g = (home + 1 + random.nextInt(groups - 1)) % groups;
                } else {
                    g = random.nextInt(groups);
                }
                long id = draw(random, idsIn(g)) * groups + g;
                if (!ids.contains(id)) {
                    ids.add(id);
                    break;
                }
            }
        }
        List<byte[]> out = new ArrayList<>(keysPerTxn);
        ids.forEach(id -> out.add(key(id)));
        assert !cross || groupOf(ids.get(0)) != groupOf(ids.get(1));
        return new Op(readOnly, out);
    }

    /** How many ids group {@code g} holds: those below {@code keys} that are {@code g} mod {@code groups}. */
    private long idsIn(int g) {
        return (keys - g + groups - 1) / groups;
    }

    /** A rank in {@code [0, n)}. */
    private long draw(SplittableRandom random, long n) {
        if (distribution == Distribution.UNIFORM) {
            return random.nextLong(n);
        }
        return zipfians.get(n).next(random.nextDouble());
    }

    String describe() {
        return String.format(Locale.ROOT, "%d keys over %d group%s, %s%s, %.0f%% of multi-key transactions span groups",
                keys, groups, groups == 1 ? "" : "s", distribution.name().toLowerCase(Locale.ROOT),
                distribution == Distribution.ZIPFIAN ? " (theta " + zipfTheta + ")" : "", crossGroup * 100);
    }

    /**
     * Zipfian ranks over {@code [0, items)}, rank 0 the most frequent, by Gray et al.'s method ("Quickly Generating
     * Billion-Record Synthetic Databases", SIGMOD 1994), as YCSB's {@code ZipfianGenerator} draws them.
     */
    static final class Zipfian {
        private final long items;
        private final double theta;
        private final double zetaN;
        private final double alpha;
        private final double eta;

        Zipfian(long items, double theta) {
            if (items < 1) {
                throw new IllegalArgumentException("items must be >= 1; got " + items);
            }
            this.items = items;
            this.theta = theta;
            this.zetaN = zeta(items, theta);
            double zeta2 = zeta(Math.min(2, items), theta);
            this.alpha = 1.0 / (1.0 - theta);
            this.eta = items < 2 ? 0 : (1 - Math.pow(2.0 / items, 1 - theta)) / (1 - zeta2 / zetaN);
        }

        private static double zeta(long n, double theta) {
            double sum = 0;
            for (long i = 1; i <= n; i++) {
                sum += 1 / Math.pow(i, theta);
            }
            return sum;
        }

        /** The rank for a uniform draw {@code u} in {@code [0, 1)}. */
        long next(double u) {
            double uz = u * zetaN;
            if (uz < 1.0 || items == 1) {
                return 0;
            }
            if (uz < 1.0 + Math.pow(0.5, theta)) {
                return 1;
            }
            long rank = (long) (items * Math.pow(eta * u - eta + 1, alpha));
            return Math.min(Math.max(rank, 0), items - 1);
        }
    }
}
