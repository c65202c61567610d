package io.gnomon.paxos.bench;

import io.gnomon.paxos.cluster.ClusterSpec;
import io.gnomon.paxos.cluster.Key;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The keys {@code bin/bench-txn} draws: in the groups it says, spanning groups as often as asked, skewed when asked. */
class TxnWorkloadTest {

    private static final int DRAWS = 20_000;

    @Test
    void everyIdLivesInTheGroupOfTheGeneratedClusterThatHoldsItsKey() {
        for (int groups : new int[] {1, 3, 4, 256}) {
            TxnWorkload w = new TxnWorkload(1_000, groups, TxnWorkload.Distribution.UNIFORM, 0.99, 0);
            // the ranges ReplicaProcesses.withCluster writes for these groups
            ClusterSpec cluster = ClusterSpec.evenlySplit(3, groups, 3, "127.0.0.1", 1);
            for (long id = 0; id < 1_000; id++) {
                assertThat(cluster.groupFor(w.key(id)).id()).as("id %d of %d groups", id, groups)
                        .isEqualTo(w.groupOf(id) + 1);
            }
        }
    }

    @Test
    void theCrossGroupShareIsTheShareOfTransactionsWhoseKeysSpanGroups() {
        ClusterSpec cluster = ClusterSpec.evenlySplit(3, 4, 3, "127.0.0.1", 1);
        for (double share : new double[] {0, 0.3, 1}) {
            TxnWorkload w = new TxnWorkload(10_000, 4, TxnWorkload.Distribution.UNIFORM, 0.99, share);
            SplittableRandom random = new SplittableRandom(7);
            int spanning = 0;
            for (int i = 0; i < DRAWS; i++) {
                List<byte[]> keys = w.next(random, 3, 0).keys();
                assertThat(keys).hasSize(3);
                Set<Key> distinct = new HashSet<>();
                Set<Integer> groups = new HashSet<>();
                keys.forEach(k -> {
                    distinct.add(Key.of(k));
                    groups.add(cluster.groupFor(k).id());
                });
                assertThat(distinct).as("a transaction's keys are distinct").hasSize(3);
                spanning += groups.size() > 1 ? 1 : 0;
            }
            // a fixed seed: the share drawn is the same each run; within 1.5 points of the share asked for
            assertThat((double) spanning / DRAWS).as("share %s", share).isCloseTo(share, org.assertj.core.data.Offset.offset(0.015));
        }
    }

    @Test
    void zipfianKeysFavourLowRanksAndUniformOnesDoNot() {
        int keys = 1_000;
        int[] zipf = counts(new TxnWorkload(keys, 1, TxnWorkload.Distribution.ZIPFIAN, 0.99, 0), keys);
        int[] uniform = counts(new TxnWorkload(keys, 1, TxnWorkload.Distribution.UNIFORM, 0.99, 0), keys);
        // theta 0.99 over 1,000 items: rank 0 is drawn about 1/zeta(1000) ≈ 13 % of the time, rank 1 about half that
        assertThat(zipf[0]).isGreaterThan(DRAWS / 10).isGreaterThan(zipf[1]);
        assertThat(zipf[1]).isGreaterThan(zipf[100]);
        int topTen = 0;
        for (int i = 0; i < 10; i++) {
            topTen += zipf[i];
        }
        assertThat(topTen).as("the ten hottest of 1,000 keys take over a third of the draws").isGreaterThan(DRAWS / 3);
        assertThat(uniform[0]).as("uniform: about 20 draws per key").isLessThan(DRAWS / 200);
    }

    private static int[] counts(TxnWorkload w, int keys) {
        int[] counts = new int[keys];
        SplittableRandom random = new SplittableRandom(3);
        for (int i = 0; i < DRAWS; i++) {
            String text = new String(w.next(random, 1, 0).keys().get(0), java.nio.charset.StandardCharsets.UTF_8);
            counts[Integer.parseInt(text.substring("txn/".length()))]++;
        }
        return counts;
    }

    @Test
    void theReadRatioIsTheShareOfReadOnlyOperationsAndASeedRepeatsTheKeys() {
        TxnWorkload w = new TxnWorkload(10_000, 2, TxnWorkload.Distribution.ZIPFIAN, 0.9, 0.5);
        SplittableRandom a = new SplittableRandom(11);
        SplittableRandom b = new SplittableRandom(11);
        int reads = 0;
        for (int i = 0; i < DRAWS; i++) {
            TxnWorkload.Op x = w.next(a, 2, 0.25);
            TxnWorkload.Op y = w.next(b, 2, 0.25);
            assertThat(x.readOnly()).isEqualTo(y.readOnly());
            assertThat(x.keys()).zipSatisfy(y.keys(), (k, l) -> assertThat(k).isEqualTo(l));
            reads += x.readOnly() ? 1 : 0;
        }
        assertThat((double) reads / DRAWS).isCloseTo(0.25, org.assertj.core.data.Offset.offset(0.015));
    }

    @Test
    void knobsOutOfRangeAreRefusedNamingTheOption() {
        assertThatThrownBy(() -> new TxnWorkload(100, 1, TxnWorkload.Distribution.UNIFORM, 0.99, 0.5))
                .hasMessageContaining("--cross-group 0.5 needs --groups 2 or more");
        assertThatThrownBy(() -> new TxnWorkload(100, 1, TxnWorkload.Distribution.ZIPFIAN, 1.0, 0))
                .hasMessageContaining("--zipf-theta must be above 0 and below 1");
        assertThatThrownBy(() -> new TxnWorkload(3, 4, TxnWorkload.Distribution.UNIFORM, 0.99, 0))
                .hasMessageContaining("--keys (3) must be at least --groups (4)");
        TxnWorkload w = new TxnWorkload(10, 4, TxnWorkload.Distribution.UNIFORM, 0.99, 0);
        assertThatThrownBy(() -> w.checkKeysPerTxn(3))
                .hasMessageContaining("leaves fewer than --keys-per-txn (3) distinct keys in a group");
        w.checkKeysPerTxn(2);
    }
}
