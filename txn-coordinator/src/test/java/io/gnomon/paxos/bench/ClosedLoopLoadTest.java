package io.gnomon.paxos.bench;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiFunction;
import java.util.function.LongPredicate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Accounting of the closed loop (counts, errors, one outstanding append per client), not its timing. */
class ClosedLoopLoadTest {

    private final ExecutorService hop = Executors.newFixedThreadPool(2);

    @AfterEach
    void stop() {
        hop.shutdownNow();
    }

    /** Completes each append on another thread; fails those whose (client, seq) the predicate picks. */
    private class HopBackend implements AppendBackend {
        final Map<Integer, AtomicLong> nextSeqByClient = new ConcurrentHashMap<>();
        final AtomicInteger inFlight = new AtomicInteger();
        final AtomicInteger inFlightMax = new AtomicInteger();
        final AtomicLong calls = new AtomicLong();
        /** Checked after the run: an assertion thrown inside append() would only count as an error. */
        final Queue<String> violations = new ConcurrentLinkedQueue<>();
        final int clients;
        final LongPredicate failSeq;

        HopBackend(int clients, LongPredicate failSeq) {
            this.clients = clients;
            this.failSeq = failSeq;
        }

        @Override
        public String name() {
            return "hop";
        }

        @Override
        public CompletableFuture<?> append(int client, long seq, byte[] value) {
            if (client < 0 || client >= clients || value.length != 100) {
                violations.add("client " + client + " value length " + value.length);
            }
            // Closed loop: a client's appends come one at a time, numbered 0, 1, 2, ...
            long expected = nextSeqByClient.computeIfAbsent(client, c -> new AtomicLong()).getAndIncrement();
            if (seq != expected) {
                violations.add("client " + client + " seq " + seq + ", expected " + expected);
            }
            calls.incrementAndGet();
            inFlightMax.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
            return CompletableFuture.runAsync(() -> {
                inFlight.decrementAndGet();
                if (failSeq.test(seq)) {
                    throw new IllegalStateException("injected failure of seq " + seq);
                }
            }, hop);
        }

        @Override
        public void close() {
        }
    }

    /** A backend whose append is {@code append(client, seq)}, for the cases HopBackend does not cover. */
    private static AppendBackend backend(String name, BiFunction<Integer, Long, CompletableFuture<?>> append) {
        return new AppendBackend() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public CompletableFuture<?> append(int client, long seq, byte[] value) {
                return append.apply(client, seq);
            }

            @Override
            public void close() {
            }
        };
    }

    @Test
    void theConsumerSeesWhatEachMeasuredSuccessCompletedWithAndAFailingConsumerEndsTheRunWithItsCause()
            throws Exception {
        AppendBackend seqs = backend("seqs", (client, seq) -> seq % 5 == 4
                ? CompletableFuture.failedFuture(new IllegalStateException("injected"))
                : CompletableFuture.supplyAsync(() -> client * 1_000_000L + seq, hop));
        java.util.Set<Object> seen = ConcurrentHashMap.newKeySet();
        LoadResult r = ClosedLoopLoad.run(seqs, ClosedLoopLoad.Settings.ops(4, 100, 40, 400), seen::add);
        // every measured success handed over once (its value is unique): no failure, no warm-up or cool-down one
        assertThat(seen).hasSize((int) r.ops());
        assertThat(r.ops() + r.errors()).isEqualTo(400);
        assertThat(seen).allSatisfy(v -> assertThat((Long) v % 5).isNotEqualTo(4));

        assertThatThrownBy(() -> ClosedLoopLoad.run(seqs, ClosedLoopLoad.Settings.ops(4, 100, 0, 100), v -> {
            throw new IllegalArgumentException("refused " + v);
        })).isInstanceOf(IllegalStateException.class).hasMessageContaining("consumer failed")
                .rootCause().isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("refused ");
    }

    @Test
    void measuresExactlyTheRequestedOpsAfterTheWarmupWithOneAppendPerClientOutstanding() throws Exception {
        HopBackend backend = new HopBackend(8, seq -> false);
        LoadResult r = ClosedLoopLoad.run(backend, ClosedLoopLoad.Settings.ops(8, 100, 200, 1_000));

        assertThat(backend.violations).isEmpty();
        assertThat(r.backend()).isEqualTo("hop");
        assertThat(r.clients()).isEqualTo(8);
        assertThat(r.valueBytes()).isEqualTo(100);
        assertThat(r.ops()).isEqualTo(1_000);
        assertThat(r.errors()).isZero();
        assertThat(backend.calls.get()).isGreaterThanOrEqualTo(1_200);
        assertThat(backend.inFlightMax.get()).isBetween(1, 8);
        assertThat(backend.inFlight.get()).as("no append outstanding after run returns").isZero();
        assertThat(r.measuredNanos()).isPositive();
        assertThat(r.p50Nanos()).isPositive().isLessThanOrEqualTo(r.p99Nanos());
        assertThat(r.maxNanos()).isGreaterThanOrEqualTo(r.p999Nanos());
        assertThat(r.markdownRow()).startsWith("| hop | 8 | 100 | 1000 |").contains("| 0 | - |");
        assertThat(r.serverCpuNanos()).as("no server pids, no server CPU").isEqualTo(-1);
        assertThat(r.loadCpuNanos()).as("this JVM's CPU over the window").isNotNegative();
    }

    @Test
    void reportsTheServersCpuOverTheMeasuredWindow() throws Exception {
        HopBackend backend = new HopBackend(4, seq -> false) {
            @Override
            public java.util.List<Long> serverPids() {
                return java.util.List.of(ProcessHandle.current().pid());
            }
        };
        LoadResult r = ClosedLoopLoad.run(backend, ClosedLoopLoad.Settings.ops(4, 100, 0, 20_000));
        assertThat(r.serverCpuNanos()).as("this process as the server: /proc in 10 ms ticks").isNotNegative();
        assertThat(r.serverCpuMillisPer1kOps()).isNotNaN();
        assertThat(r.markdownRow()).doesNotContain("| - |");
    }

    @Test
    void failedAppendsAreCountedAsErrorsAndNotAsOps() throws Exception {
        HopBackend backend = new HopBackend(4, seq -> seq % 2 == 1);
        LoadResult r = ClosedLoopLoad.run(backend, ClosedLoopLoad.Settings.ops(4, 100, 0, 1_000));

        assertThat(backend.violations).isEmpty();
        assertThat(r.ops() + r.errors()).isEqualTo(1_000);
        // Without warm-up each client's measured appends are seq 0, 1, 2, ...: half of them odd, give or take one.
        assertThat(r.errors()).isBetween(500L - 4, 500L + 4);
    }

    @Test
    void everyAppendFailingGivesZeroOpsAndAllErrors() throws Exception {
        LoadResult r = ClosedLoopLoad.run(new HopBackend(3, seq -> true), ClosedLoopLoad.Settings.ops(3, 100, 10, 300));

        assertThat(r.ops()).isZero();
        assertThat(r.errors()).isEqualTo(300);
        assertThat(r.opsPerSecond()).isZero();
    }

    @Test
    void appendsThatThrowOrCompleteAtOnceAreHandledWithoutGrowingTheStack() throws Exception {
        AppendBackend immediate = backend("immediate", (client, seq) -> {
            if (seq % 3 == 0) {
                throw new IllegalArgumentException("thrown, not returned");
            }
            return CompletableFuture.completedFuture(null);
        });
        LoadResult r = ClosedLoopLoad.run(immediate, ClosedLoopLoad.Settings.ops(1, 100, 0, 300_000));

        assertThat(r.errors()).isEqualTo(100_000);
        assertThat(r.ops()).isEqualTo(200_000);
    }

    @Test
    void anAppendThatNeverCompletesTimesOutAsOneError() throws Exception {
        // Client 0's first append: always issued, and measured without warm-up. (A later seq of one client is not
        // certain to fall in the window: nothing makes clients take turns, the other may issue all 200 first.)
        AppendBackend stuckOnce = backend("stuck-once", (client, seq) ->
                client == 0 && seq == 0 ? new CompletableFuture<>() : CompletableFuture.runAsync(() -> { }, hop));
        ClosedLoopLoad.Settings s = new ClosedLoopLoad.Settings(2, 100, 0, 0, 200, 0, TimeUnit.MILLISECONDS.toNanos(50));
        LoadResult r = ClosedLoopLoad.run(stuckOnce, s);

        assertThat(r.errors()).isEqualTo(1);
        assertThat(r.ops()).isEqualTo(199);
    }

    @Test
    void aDurationRunMeasuresForAtLeastThatLong() throws Exception {
        HopBackend backend = new HopBackend(4, seq -> false);
        LoadResult r = ClosedLoopLoad.run(backend,
                ClosedLoopLoad.Settings.duration(4, 100, Duration.ofMillis(50), Duration.ofMillis(200)));

        assertThat(r.ops()).isPositive();
        assertThat(r.errors()).isZero();
        assertThat(r.seconds()).isGreaterThanOrEqualTo(0.2);
        assertThat(backend.calls.get()).isGreaterThan(r.ops());
    }

    @Test
    void settingsNameTheFieldThatIsWrong() {
        assertThatThrownBy(() -> new ClosedLoopLoad.Settings(1, 100, 0, 0, 10, 10, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("exactly one of measured ops");
        assertThatThrownBy(() -> new ClosedLoopLoad.Settings(1, 100, 0, 0, 0, 0, 1))
                .hasMessageContaining("exactly one of measured ops");
        assertThatThrownBy(() -> ClosedLoopLoad.Settings.ops(0, 100, 0, 10)).hasMessageContaining("clients must be");
        assertThatThrownBy(() -> ClosedLoopLoad.Settings.ops(1, -1, 0, 10)).hasMessageContaining("valueBytes must be");
        assertThatThrownBy(() -> new ClosedLoopLoad.Settings(1, 100, 0, 0, 10, 0, 0)).hasMessageContaining("opTimeoutNanos");
    }
}
