package io.gnomon.paxos.store;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static io.gnomon.paxos.store.StoreModelTest.b;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Reads racing with GC answer right or refuse, never wrong: a reader pins its engine view before it checks the
 * watermark, and GC publishes the watermark before it deletes. One key with a version every 10 ticks; GC moves the
 * watermark up one version at a time while two readers get and scan near it. No timing assertions: the race is
 * as tight as the scheduler makes it. Seeded: {@code -Dstore.gcrace.seed=N}.
 */
class ConcurrentGcTest {
    static final int VERSIONS = 600;

    @TempDir
    Path tmp;

    @Test
    void readsNearAMovingWatermarkAreRightOrRefused() throws Exception {
        long seed = Long.getLong("store.gcrace.seed", System.nanoTime());
        System.out.println("ConcurrentGcTest seed " + seed + " (rerun: -Dstore.gcrace.seed=" + seed + ")");
        try (VersionedStore store = VersionedStore.open(tmp.resolve("s"), StoreLimits.DEFAULTS)) {
            GroupStore g = store.group(1);
            for (int v = 1; v <= VERSIONS; v++) {
                g.apply(v, List.of(Mutation.put(b("k"), v * 10L, b(Long.toString(v * 10L))),
                        Mutation.put(b("k" + v % 7), v * 10L, b(Long.toString(v * 10L)))));
            }
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicLong refused = new AtomicLong();
            AtomicLong answered = new AtomicLong();
            Thread gc = new Thread(() -> {
                for (long w = 10; w <= VERSIONS * 10L && failure.get() == null; w += 10) {
                    g.collectGarbage(w);
                }
            }, "gc");
            List<Thread> readers = new ArrayList<>();
            for (int r = 0; r < 2; r++) {
                SplittableRandom rng = new SplittableRandom(seed + r);
                readers.add(new Thread(() -> {
                    try {
                        while (gc.isAlive()) {
                            long ts = Math.max(0, g.gcWatermark() - 15 + rng.nextInt(40));
                            long expected = Math.min(ts / 10 * 10, VERSIONS * 10L); // the newest version <= ts
                            try {
                                Optional<byte[]> v = g.get(b("k"), ts);
                                assertThat(v.map(String::new)).as("get at %d", ts)
                                        .isEqualTo(expected == 0 ? Optional.empty() : Optional.of(Long.toString(expected)));
                                List<Row> rows = g.scan(b("k"), null, ts, 10);
                                if (expected > 0) {
                                    assertThat(rows.get(0).timestamp()).as("scan at %d", ts).isEqualTo(expected);
                                }
                                answered.incrementAndGet();
                            } catch (ReadBelowRetentionException e) {
                                assertThat(e.readTimestamp()).isLessThan(e.gcWatermark());
                                refused.incrementAndGet();
                            }
                        }
                    } catch (Throwable t) {
                        failure.compareAndSet(null, t);
                    }
                }, "reader-" + r));
            }
            gc.start();
            readers.forEach(Thread::start);
            gc.join();
            for (Thread t : readers) {
                t.join();
            }
            if (failure.get() != null) {
                throw new AssertionError("seed " + seed, failure.get());
            }
            System.out.println("ConcurrentGcTest: " + answered + " reads answered, " + refused + " refused");
            assertThat(answered.get()).isPositive();
            assertThat(g.scan(b("k"), b("k\0"), VERSIONS * 10L, 10)).hasSize(1);
            assertThat(StoreModelTest.allVersions(store, 1)).hasSize(8); // one version left per key
        }
    }
}
