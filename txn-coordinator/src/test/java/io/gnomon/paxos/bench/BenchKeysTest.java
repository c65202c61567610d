package io.gnomon.paxos.bench;

import io.gnomon.paxos.cluster.ClusterSpec;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/** The keys the log benchmark puts: plain as before groups, and spread over a cluster's groups with --groups. */
class BenchKeysTest {

    @Test
    void plainKeysAreTheTextAlone() {
        String key = new String(BenchKeys.plain().key(3, 17), StandardCharsets.UTF_8);
        assertThat(key).matches("gnomon-bench/[0-9a-f-]{36}/c3/17");
    }

    @Test
    void spreadKeysAreTheSameTextLedByOneByteThatDependsOnlyOnClientAndNumber() {
        BenchKeys a = BenchKeys.spread();
        BenchKeys b = BenchKeys.spread();
        byte[] k = a.key(5, 99);
        assertThat(new String(Arrays.copyOfRange(k, 1, k.length), StandardCharsets.UTF_8))
                .matches("gnomon-bench/[0-9a-f-]{36}/c5/99");
        assertThat(b.key(5, 99)[0]).as("another run's key for the same put").isEqualTo(k[0]);
        assertThat(a.isSpread()).isTrue();
        assertThat(BenchKeys.plain().isSpread()).isFalse();
    }

    @Test
    void spreadKeysFallOnEveryGroupOfAnEvenSplitAndNoneTakesTwiceItsShare() {
        for (int groups : new int[] {4, 16, 64}) {
            ClusterSpec cluster = ClusterSpec.evenlySplit(3, groups, 3, "127.0.0.1", 7101);
            BenchKeys keys = BenchKeys.spread();
            Map<Integer, Integer> perGroup = new TreeMap<>();
            int clients = 64;
            int perClient = 200;
            for (int c = 0; c < clients; c++) {
                for (int n = 0; n < perClient; n++) {
                    perGroup.merge(cluster.groupFor(keys.key(c, n)).id(), 1, Integer::sum);
                }
            }
            int share = clients * perClient / groups;
            assertThat(perGroup).as("%d groups", groups).hasSize(groups);
            assertThat(perGroup.values()).as("%d groups: keys per group", groups)
                    .allSatisfy(count -> assertThat(count).isBetween(share / 2, share * 2));
        }
    }

    @Test
    void plainKeysAllFallInOneGroupWhichIsWhySpreadKeysExist() {
        ClusterSpec cluster = ClusterSpec.evenlySplit(3, 16, 3, "127.0.0.1", 7101);
        BenchKeys keys = BenchKeys.plain();
        assertThat(cluster.groupFor(keys.key(0, 0))).isEqualTo(cluster.groupFor(keys.key(63, 9999)));
    }
}
