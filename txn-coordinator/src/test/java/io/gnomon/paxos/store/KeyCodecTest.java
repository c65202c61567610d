package io.gnomon.paxos.store;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The encoding's byte order is the order the store relies on: (group, user key ascending, timestamp descending).
 * Seeded; rerun a failure with {@code -Dstore.codec.seed=N}.
 */
class KeyCodecTest {

    record Version(long group, byte[] key, long ts) {
    }

    static final Comparator<Version> MODEL_ORDER = Comparator.comparingLong(Version::group)
            .thenComparing(Version::key, Arrays::compareUnsigned)
            .thenComparing(Comparator.comparingLong(Version::ts).reversed());

    @Test
    void encodedByteOrderIsKeyThenNewestFirst() {
        long seed = Long.getLong("store.codec.seed", System.nanoTime());
        System.out.println("KeyCodecTest seed " + seed + " (rerun: -Dstore.codec.seed=" + seed + ")");
        SplittableRandom rng = new SplittableRandom(seed);
        for (int round = 0; round < 200; round++) {
            List<Version> vs = new ArrayList<>();
            for (int i = 0; i < 60; i++) {
                vs.add(new Version(rng.nextInt(3), randomKey(rng), randomTimestamp(rng)));
            }
            // prefixes of one another and keys full of 0x00 and 0xFF are where escapes go wrong: add them on purpose
            byte[] base = randomKey(rng);
            for (int n = 0; n <= base.length; n++) {
                vs.add(new Version(1, Arrays.copyOf(base, n), randomTimestamp(rng)));
                vs.add(new Version(1, appendByte(Arrays.copyOf(base, n), 0x00), randomTimestamp(rng)));
                vs.add(new Version(1, appendByte(Arrays.copyOf(base, n), 0xFF), randomTimestamp(rng)));
                vs.add(new Version(1, appendByte(Arrays.copyOf(base, n), 0x01), randomTimestamp(rng)));
            }
            List<Version> byModel = new ArrayList<>(vs);
            byModel.sort(MODEL_ORDER);
            List<Version> byBytes = new ArrayList<>(vs);
            byBytes.sort((a, b) -> Arrays.compareUnsigned(KeyCodec.versionKey(a.group, a.key, a.ts),
                    KeyCodec.versionKey(b.group, b.key, b.ts)));
            for (int i = 0; i < vs.size(); i++) {
                Version m = byModel.get(i);
                Version e = byBytes.get(i);
                assertThat(MODEL_ORDER.compare(m, e)).as("seed %d round %d position %d: model %s vs bytes %s", seed,
                        round, i, describe(m), describe(e)).isZero();
            }
            for (Version v : vs) {
                byte[] k = KeyCodec.versionKey(v.group, v.key, v.ts);
                assertThat(KeyCodec.userKeyOf(k)).isEqualTo(v.key);
                assertThat(KeyCodec.timestampOf(k)).isEqualTo(v.ts);
                assertThat(KeyCodec.groupIdOf(k)).isEqualTo(v.group);
                // every version sorts inside [keyLowerBound(key), afterVersions(prefix)) and inside its group
                assertThat(Arrays.compareUnsigned(k, KeyCodec.keyLowerBound(v.group, v.key))).isGreaterThanOrEqualTo(0);
                assertThat(Arrays.compareUnsigned(k, KeyCodec.afterVersions(KeyCodec.versionsPrefix(v.group, v.key)))).isNegative();
                assertThat(Arrays.compareUnsigned(k, KeyCodec.groupPrefix(KeyCodec.GROUP_DATA, v.group))).isPositive();
                assertThat(Arrays.compareUnsigned(k, KeyCodec.groupPrefixEnd(KeyCodec.GROUP_DATA, v.group))).isNegative();
            }
        }
    }

    @Test
    void scanBoundsSplitKeysExactly() {
        long seed = Long.getLong("store.codec.seed", System.nanoTime());
        SplittableRandom rng = new SplittableRandom(seed);
        for (int i = 0; i < 20_000; i++) {
            byte[] k = randomKey(rng);
            byte[] end = rng.nextBoolean() ? randomKey(rng) : appendByte(Arrays.copyOf(k, rng.nextInt(k.length + 1)), rng.nextInt(256));
            boolean below = Arrays.compareUnsigned(k, end) < 0;
            boolean encodedBelow = Arrays.compareUnsigned(KeyCodec.versionKey(0, k, randomTimestamp(rng)),
                    KeyCodec.keyLowerBound(0, end)) < 0;
            assertThat(encodedBelow).as("seed %d: key %s vs end %s", seed, Arrays.toString(k), Arrays.toString(end)).isEqualTo(below);
        }
    }

    @Test
    void metadataAndDataNeverCollide() {
        byte[] meta = KeyCodec.metaKey(Long.MAX_VALUE, KeyCodec.META_INSTALLING);
        byte[] data = KeyCodec.versionKey(0, new byte[0], Long.MAX_VALUE);
        assertThat(Arrays.compareUnsigned(meta, data)).isNegative();
        assertThat(Arrays.compareUnsigned(KeyCodec.groupPrefixEnd(KeyCodec.GROUP_DATA, Long.MAX_VALUE), new byte[]{KeyCodec.GROUP_DATA + 1})).isNegative();
        assertThatThrownBy(() -> KeyCodec.versionKey(-1, new byte[0], 0)).hasMessageContaining("groupId must be >= 0");
        assertThatThrownBy(() -> KeyCodec.stateKey(-1, new byte[1])).hasMessageContaining("groupId must be >= 0");
    }

    @Test
    void stateRowsLieAfterAllDataAndWithinTheirGroup() {
        long seed = Long.getLong("store.codec.seed", System.nanoTime());
        System.out.println("KeyCodecTest state seed " + seed + " (rerun: -Dstore.codec.seed=" + seed + ")");
        SplittableRandom rng = new SplittableRandom(seed);
        byte[] lastData = KeyCodec.versionKey(Long.MAX_VALUE, new byte[]{(byte) 0xFF, (byte) 0xFF}, 0);
        for (int i = 0; i < 2_000; i++) {
            long g = rng.nextInt(3) == 0 ? Long.MAX_VALUE - rng.nextInt(2) : rng.nextLong(Long.MAX_VALUE);
            byte[] k = appendByte(randomKey(rng), rng.nextInt(256)); // state keys are non-empty
            byte[] state = KeyCodec.stateKey(g, k);
            assertThat(Arrays.compareUnsigned(state, lastData)).as("state after every group's data").isPositive();
            assertThat(Arrays.compareUnsigned(state, KeyCodec.groupPrefix(KeyCodec.GROUP_STATE, g))).isPositive();
            assertThat(Arrays.compareUnsigned(state, KeyCodec.groupPrefixEnd(KeyCodec.GROUP_STATE, g))).isNegative();
            assertThat(KeyCodec.stateKeyOf(state)).isEqualTo(k);
            assertThat(KeyCodec.fromSnapshotKey(g, KeyCodec.snapshotKeyOf(state))).isEqualTo(state);
            byte[] data = KeyCodec.versionKey(g, k, randomTimestamp(rng));
            assertThat(KeyCodec.snapshotKeyOf(data)[0]).isEqualTo(KeyCodec.GROUP_DATA);
            assertThat(KeyCodec.fromSnapshotKey(g, KeyCodec.snapshotKeyOf(data))).isEqualTo(data);
            assertThat(KeyCodec.groupIdOf(KeyCodec.fromSnapshotKey(7, KeyCodec.snapshotKeyOf(state)))).isEqualTo(7);
        }
        assertThatThrownBy(() -> KeyCodec.versionKey(0, new byte[0], -5)).hasMessageContaining("timestamp must be >= 0");
    }

    static byte[] randomKey(SplittableRandom rng) {
        byte[] k = new byte[rng.nextInt(6)];
        for (int i = 0; i < k.length; i++) {
            int r = rng.nextInt(5);
            k[i] = (byte) (r == 0 ? 0x00 : r == 1 ? 0xFF : r == 2 ? 0x01 : rng.nextInt(256));
        }
        return k;
    }

    static long randomTimestamp(SplittableRandom rng) {
        return switch (rng.nextInt(4)) {
            case 0 -> 0;
            case 1 -> Long.MAX_VALUE - rng.nextInt(3);
            case 2 -> rng.nextInt(10);
            default -> rng.nextLong(Long.MAX_VALUE);
        };
    }

    private static byte[] appendByte(byte[] b, int x) {
        byte[] r = Arrays.copyOf(b, b.length + 1);
        r[b.length] = (byte) x;
        return r;
    }

    private static String describe(Version v) {
        return "(" + v.group + ", " + Arrays.toString(v.key) + ", " + v.ts + ")";
    }
}
