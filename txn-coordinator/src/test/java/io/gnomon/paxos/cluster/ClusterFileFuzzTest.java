package io.gnomon.paxos.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

/**
 * Random mutations of valid files: each is read, or refused with a {@link ClusterFileException} naming the file
 * and a line of it; nothing else escapes. A failure prints its seed; {@code -Dgnomon.seed=N} replays it.
 */
class ClusterFileFuzzTest {
    static final String[] PIECES = {":", ": ", "-", "- ", "[", "]", "{", "}", ",", "\"", "'", "&a ", "*a", "!!str ",
        "!!binary ", "#", "\t", "\n", "\n  ", " ", "  ", "0", "7", "-1", "99999999999999999999", "1e9", "0x1f", "~",
        "null", "true", "hex:", "hex:zz", "ü", "\u0000", "\u2028", "\uFEFF", "\\", "|", ">", "%YAML 1.1\n", "---\n",
        "...\n", "? ", "<<: ", "id", "peer", "range", "start", "end", "replicas", "groups", "processes", "data-dir",
        "127.0.0.1:", "[::1]:1", "\uD800", "{{{{{{{{{{", "[[[[[[[[[[[[[[", "&x [*x, *x]", "\r\n", "\r"};

    @Test
    void mutationsAreReadOrRefusedWithALine() {
        long seed = Long.getLong("gnomon.seed", System.nanoTime());
        Random random = new Random(seed);
        List<String> bases = List.of(ClusterFileTest.VALID,
                ClusterFile.write(ClusterSpec.evenlySplit(3, 16, 3, "127.0.0.1", 7101)),
                ClusterFile.write(ClusterSpecTest.randomSpec(random)));
        int read = 0;
        for (int run = 0; run < 4000; run++) {
            String text = mutate(bases.get(random.nextInt(bases.size())), random);
            try {
                ClusterSpec c = ClusterFile.parse(text, "fuzz.yaml");
                read++;
                assertThat(ClusterFile.parse(ClusterFile.write(c), "again.yaml")).isEqualTo(c);
                assertThat(c.groupFor(new byte[0]).range().start().isEmpty()).isTrue();
            } catch (ClusterFileException e) {
                int lines = (int) text.lines().count() + 2;
                if (!e.getMessage().startsWith("fuzz.yaml") || e.line() < 0 || e.line() > lines
                        || e.getMessage().contains("\n")) {
                    throw failure(seed, run, text, new AssertionError("bad message: " + e.getMessage(), e));
                }
            } catch (Throwable t) {
                throw failure(seed, run, text, t);
            }
        }
        assertThat(read).as("seed %d: some mutations leave a valid file", seed).isPositive();
    }

    private static AssertionError failure(long seed, int run, String text, Throwable t) {
        return new AssertionError("seed " + seed + ", run " + run + ": " + t + "\nreplay: mvn -B -q -ntp -pl "
                + "txn-coordinator -am test -Dtest=ClusterFileFuzzTest -Dsurefire.failIfNoSpecifiedTests=false "
                + "-Dgnomon.seed=" + seed + "\n--- text ---\n" + text, t);
    }

    static String mutate(String text, Random random) {
        StringBuilder b = new StringBuilder(text);
        int mutations = 1 + random.nextInt(3);
        for (int m = 0; m < mutations; m++) {
            int at = b.isEmpty() ? 0 : random.nextInt(b.length());
            switch (random.nextInt(7)) {
                case 0 -> b.insert(at, PIECES[random.nextInt(PIECES.length)]);
                case 1 -> {
                    if (!b.isEmpty()) {
                        b.deleteCharAt(at);
                    }
                }
                case 2 -> {
                    if (!b.isEmpty()) {
                        b.setCharAt(at, (char) random.nextInt(128));
                    }
                }
                case 3 -> b.replace(at, Math.min(b.length(), at + 1 + random.nextInt(4)),
                        PIECES[random.nextInt(PIECES.length)]);
                default -> {
                    List<String> lines = new ArrayList<>(Arrays.asList(b.toString().split("\n", -1)));
                    int i = random.nextInt(lines.size());
                    int j = random.nextInt(lines.size());
                    switch (random.nextInt(3)) {
                        case 0 -> lines.add(j, lines.get(i)); // duplicate a line
                        case 1 -> lines.remove(i);
                        default -> java.util.Collections.swap(lines, i, j);
                    }
                    b.setLength(0);
                    b.append(String.join("\n", lines));
                }
            }
        }
        return b.toString();
    }
}
