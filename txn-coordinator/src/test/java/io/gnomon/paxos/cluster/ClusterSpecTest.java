package io.gnomon.paxos.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;

/** groupFor on the boundaries, the generator's balance, and write-then-parse giving the same spec. */
class ClusterSpecTest {
    static Key hex(String hex) {
        return Key.of(java.util.HexFormat.of().parseHex(hex));
    }

    static byte[] bytes(int... b) {
        byte[] out = new byte[b.length];
        for (int i = 0; i < b.length; i++) {
            out[i] = (byte) b[i];
        }
        return out;
    }

    /** ["", "a"), ["a", "a\0"), ["a\0", 0xff), [0xff, 0xffff), [0xffff, end): edges where order bugs show. */
    static ClusterSpec edges() {
        List<ProcessSpec> ps = List.of(new ProcessSpec(1, new HostPort("127.0.0.1", 7101),
                new HostPort("127.0.0.1", 7201), Optional.empty()));
        Key[] bounds = {Key.EMPTY, Key.ofUtf8("a"), hex("6100"), hex("ff"), hex("ffff"), Key.EMPTY};
        List<GroupSpec> gs = new ArrayList<>();
        for (int g = 0; g < 5; g++) {
            gs.add(new GroupSpec(g + 1, new KeyRange(bounds[g], bounds[g + 1]), List.of(1)));
        }
        return ClusterSpec.of(ps, List.of(gs.get(3), gs.get(0), gs.get(4), gs.get(2), gs.get(1)));
    }

    @Test
    void groupForTakesStartsInclusiveAndEndsExclusive() {
        ClusterSpec c = edges();
        assertThat(c.groupFor(new byte[0]).id()).isEqualTo(1);
        assertThat(c.groupFor(bytes(0x00)).id()).isEqualTo(1);
        assertThat(c.groupFor(bytes(0x60, 0xff, 0xff)).id()).isEqualTo(1);
        assertThat(c.groupFor(bytes(0x61)).id()).isEqualTo(2);
        assertThat(c.groupFor(bytes(0x61, 0x00)).id()).isEqualTo(3);
        assertThat(c.groupFor(bytes(0x61, 0x00, 0x00)).id()).isEqualTo(3);
        assertThat(c.groupFor(bytes(0x7f)).id()).isEqualTo(3);
        assertThat(c.groupFor(bytes(0x80)).id()).isEqualTo(3); // unsigned: 0x80 sorts after 0x7f, before 0xff
        assertThat(c.groupFor(bytes(0xfe, 0xff)).id()).isEqualTo(3);
        assertThat(c.groupFor(bytes(0xff)).id()).isEqualTo(4);
        assertThat(c.groupFor(bytes(0xff, 0xfe, 0xff)).id()).isEqualTo(4);
        assertThat(c.groupFor(bytes(0xff, 0xff)).id()).isEqualTo(5);
        assertThat(c.groupFor(bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)).id()).isEqualTo(5);
        assertThat(c.groups()).extracting(GroupSpec::id).containsExactly(4, 1, 5, 3, 2); // the given order
    }

    @Test
    void groupForAgreesWithAScanOfEveryRange() {
        long seed = Long.getLong("gnomon.seed", 19L);
        Random random = new Random(seed);
        for (int groups : new int[] {1, 2, 3, 255, 256, 257, 1000, 70_000}) {
            ClusterSpec c = ClusterSpec.evenlySplit(3, groups, 3, "127.0.0.1", 7101);
            for (int i = 0; i < 2000; i++) {
                byte[] key = new byte[random.nextInt(5)];
                random.nextBytes(key);
                GroupSpec found = c.groupFor(key);
                assertThat(found.range().contains(key)).as("seed %d: %s", seed, found).isTrue();
            }
            assertThat(c.groupFor(new byte[0]).id()).isEqualTo(1);
            assertThat(c.groupFor(bytes(0xff, 0xff, 0xff, 0xff)).id()).isEqualTo(groups);
        }
    }

    @Test
    void evenlySplitBalancesRangesAndReplicas() {
        for (int[] shape : new int[][] {{3, 16, 3}, {5, 100, 3}, {7, 1000, 5}, {4, 10, 1}, {1, 1, 1}, {3, 300, 3}}) {
            int processes = shape[0];
            int groups = shape[1];
            int replicas = shape[2];
            ClusterSpec c = ClusterSpec.evenlySplit(processes, groups, replicas, "127.0.0.1", 7101);
            assertThat(c.groups()).hasSize(groups);
            int low = groups * replicas / processes;
            Map<Integer, Integer> firsts = new HashMap<>();
            for (ProcessSpec p : c.processes()) {
                assertThat(c.groupsOf(p.id()).size()).as("%s, process %d", List.of(shape), p.id())
                        .isBetween(low, low + 1);
            }
            c.groups().forEach(g -> firsts.merge(g.replicas().get(0), 1, Integer::sum));
            assertThat(firsts.values().stream().mapToInt(i -> i).max().getAsInt()
                    - firsts.values().stream().mapToInt(i -> i).min().getAsInt()).isLessThanOrEqualTo(1);
            // every range spans 256^width / groups of the fixed-width key space, give or take one
            int width = groups <= 256 ? 1 : groups <= 65_536 ? 2 : 3;
            java.math.BigInteger space = java.math.BigInteger.ONE.shiftLeft(8 * width);
            java.math.BigInteger previous = java.math.BigInteger.ZERO;
            for (GroupSpec g : c.groups()) {
                java.math.BigInteger end = g.range().isUnbounded() ? space
                        : new java.math.BigInteger(1, g.range().end().bytes());
                assertThat(end.subtract(previous).subtract(space.divide(java.math.BigInteger.valueOf(groups))).abs())
                        .isLessThanOrEqualTo(java.math.BigInteger.ONE);
                previous = end;
            }
        }
        ClusterSpec c = ClusterSpec.evenlySplit(3, 16, 3, "127.0.0.1", 7101);
        assertThat(c.groups().get(1).range()).isEqualTo(new KeyRange(hex("10"), hex("20")));
        assertThat(c.processes().get(2)).isEqualTo(new ProcessSpec(3, new HostPort("127.0.0.1", 7105),
                new HostPort("127.0.0.1", 7106), Optional.empty()));
    }

    @Test
    void writeThenParseGivesTheSameSpec() throws Exception {
        for (int[] shape : new int[][] {{3, 16, 3}, {5, 1000, 5}, {1, 1, 1}}) {
            ClusterSpec c = ClusterSpec.evenlySplit(shape[0], shape[1], shape[2], "127.0.0.1", 7101);
            assertThat(ClusterFile.parse(ClusterFile.write(c), "round.yaml")).isEqualTo(c);
        }
        long seed = Long.getLong("gnomon.seed", 19L);
        Random random = new Random(seed);
        for (int run = 0; run < 200; run++) {
            ClusterSpec c = randomSpec(random);
            String text = ClusterFile.write(c);
            ClusterSpec back;
            try {
                back = ClusterFile.parse(text, "round.yaml");
            } catch (ClusterFileException e) {
                throw new AssertionError("seed " + seed + " run " + run + " (replay: -Dgnomon.seed=" + seed + "): "
                        + e.getMessage() + "\n" + text, e);
            }
            assertThat(back).as("seed %d run %d:\n%s", seed, run, text).isEqualTo(c);
            assertThat(ClusterFile.write(back)).isEqualTo(text);
        }
    }

    /** Keys of random bytes, text, text that needs quoting or hex; data-dirs with odd characters; IPv6. */
    static ClusterSpec randomSpec(Random random) {
        int processes = 1 + random.nextInt(7);
        List<ProcessSpec> ps = new ArrayList<>();
        for (int i = 1; i <= processes; i++) {
            String host = switch (random.nextInt(3)) {
                case 0 -> "127.0.0." + i;
                case 1 -> "::" + Integer.toHexString(i);
                default -> "node-" + i + ".example";
            };
            Optional<Path> dir = random.nextBoolean() ? Optional.empty()
                    : Optional.of(Path.of("/data/gnomon \"" + i + "\"/ü\\x"));
            ps.add(new ProcessSpec(i * 3, new HostPort(host, 7000 + i), new HostPort(host, 8000 + i), dir));
        }
        TreeSet<Key> bounds = new TreeSet<>();
        int groups = 1 + random.nextInt(20);
        while (bounds.size() < groups - 1) {
            bounds.add(randomKey(random));
        }
        List<Key> starts = new ArrayList<>();
        starts.add(Key.EMPTY);
        starts.addAll(bounds);
        List<GroupSpec> gs = new ArrayList<>();
        for (int g = 0; g < starts.size(); g++) {
            Key end = g + 1 < starts.size() ? starts.get(g + 1) : Key.EMPTY;
            int count = Math.min(processes, List.of(1, 3, 5).get(random.nextInt(3)));
            count = count % 2 == 0 ? count - 1 : count;
            List<Integer> replicas = new ArrayList<>();
            int first = random.nextInt(processes);
            for (int r = 0; r < count; r++) {
                replicas.add(ps.get((first + r) % processes).id());
            }
            gs.add(new GroupSpec(100 + g, new KeyRange(starts.get(g), end), replicas));
        }
        java.util.Collections.shuffle(gs, random);
        return ClusterSpec.of(ps, gs);
    }

    static Key randomKey(Random random) {
        return switch (random.nextInt(5)) {
            case 0 -> {
                byte[] b = new byte[1 + random.nextInt(4)];
                random.nextBytes(b);
                yield Key.of(b);
            }
            case 1 -> Key.ofUtf8("user/" + random.nextInt(1000));
            case 2 -> Key.ofUtf8(List.of("hex:00", "a\"b", "back\\slash", "ünï", "tab\there", "#x", "- y", "é\u2028",
                    "\uD83D\uDE00", " lead", "a: b").get(random.nextInt(11)) + random.nextInt(100));
            case 3 -> Key.of(new byte[] {(byte) 0xff, (byte) random.nextInt(256)});
            default -> Key.of("k".repeat(1 + random.nextInt(3)).getBytes(StandardCharsets.UTF_8));
        };
    }
}
