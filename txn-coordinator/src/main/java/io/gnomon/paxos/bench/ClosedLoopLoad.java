package io.gnomon.paxos.bench;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Closed-loop load: {@code clients} logical clients, each with exactly one append outstanding; a client issues
 * its next append from the completion of the previous one. Clients are futures, not threads: on a small
 * machine 64 blocked threads would add scheduler wake-ups to every measured latency and compete with the
 * servers for the same cores, while the futures run on whatever thread completes them.
 *
 * <p>Phases, decided when an append is issued: appends issued before warm-up ends (both {@code warmupOps}
 * issued and {@code warmup} elapsed) are not measured. The measured window opens with the first append issued
 * after that and admits the next {@code measuredOps} appends (or those issued within {@code measured});
 * clients keep issuing unmeasured appends until the last measured one completes, so the backend sees the
 * full concurrency for the whole window. The window closes at the last measured completion; throughput is
 * successful measured appends over the window.
 *
 * <pre>{@code
 * LoadResult r = ClosedLoopLoad.run(backend, ClosedLoopLoad.Settings.ops(64, 100, 5_000, 50_000));
 * System.out.println(r.summary());
 * }</pre>
 */
public final class ClosedLoopLoad {

    /** Latencies above one minute are clamped: a histogram needs a highest trackable value. */
    static final long HIGHEST_TRACKABLE_NANOS = TimeUnit.MINUTES.toNanos(1);
    static final int CLIENTS_MAX = 100_000;
    static final int VALUE_BYTES_MAX = 16 << 20;

    /**
     * What to run. Exactly one of {@code measuredOps} and {@code measuredNanos} is positive; warm-up ends
     * when both {@code warmupOps} appends were issued and {@code warmupNanos} passed (either may be 0).
     * An append that has not completed after {@code opTimeoutNanos} counts as an error.
     */
    public record Settings(int clients, int valueBytes, long warmupOps, long warmupNanos,
                           long measuredOps, long measuredNanos, long opTimeoutNanos) {

        public static final Duration OP_TIMEOUT_DEFAULT = Duration.ofSeconds(10);

        public Settings {
            if (clients < 1 || clients > CLIENTS_MAX) {
                throw new IllegalArgumentException("clients must be 1.." + CLIENTS_MAX + "; got " + clients);
            }
            if (valueBytes < 0 || valueBytes > VALUE_BYTES_MAX) {
                throw new IllegalArgumentException("valueBytes must be 0.." + VALUE_BYTES_MAX + "; got " + valueBytes);
            }
            if (warmupOps < 0 || warmupNanos < 0) {
                throw new IllegalArgumentException("warm-up must be >= 0; got ops=" + warmupOps + " nanos=" + warmupNanos);
            }
            if ((measuredOps > 0) == (measuredNanos > 0) || measuredOps < 0 || measuredNanos < 0) {
                throw new IllegalArgumentException("give exactly one of measured ops and measured duration, positive; got ops="
                        + measuredOps + " nanos=" + measuredNanos);
            }
            if (opTimeoutNanos <= 0) {
                throw new IllegalArgumentException("opTimeoutNanos must be positive; got " + opTimeoutNanos);
            }
        }

        /** A run of {@code measuredOps} measured appends after {@code warmupOps} unmeasured ones. */
        public static Settings ops(int clients, int valueBytes, long warmupOps, long measuredOps) {
            return new Settings(clients, valueBytes, warmupOps, 0, measuredOps, 0, OP_TIMEOUT_DEFAULT.toNanos());
        }

        /** A run measuring for {@code measured} after a {@code warmup} of wall time. */
        public static Settings duration(int clients, int valueBytes, Duration warmup, Duration measured) {
            return new Settings(clients, valueBytes, 0, warmup.toNanos(), 0, measured.toNanos(),
                    OP_TIMEOUT_DEFAULT.toNanos());
        }
    }

    private ClosedLoopLoad() {
    }

    /** Runs the load on {@code backend} (which stays open) and returns once every client has stopped. */
    public static LoadResult run(AppendBackend backend, Settings settings) throws InterruptedException {
        return run(backend, settings, result -> { });
    }

    /**
     * As {@link #run(AppendBackend, Settings)}, handing what each measured operation's future completed with (when
     * it succeeded) to {@code measured}, from the thread that completed it, before the run counts it done: the
     * transactional load tool ({@link TxnLoadMain}) takes attempts and commit-wait from there. If {@code measured}
     * throws, the run still ends and then throws an {@link IllegalStateException} with that cause.
     */
    public static LoadResult run(AppendBackend backend, Settings settings, java.util.function.Consumer<Object> measured)
            throws InterruptedException {
        Run run = new Run(backend, settings, measured);
        return run.execute();
    }

    /** The bytes every append carries: fixed pseudo-random content, so no backend can compress it away. */
    static byte[] value(int valueBytes) {
        byte[] v = new byte[valueBytes];
        new Random(0x6e6f6d6f6eL).nextBytes(v);
        return v;
    }

    private enum Kind { WARMUP, MEASURED, COOLDOWN, STOP }

    private static final class Run {
        private final AppendBackend backend;
        private final Settings settings;
        private final byte[] value;
        private final long[] nextSeq;
        private final Recorder latencies = new Recorder(HIGHEST_TRACKABLE_NANOS, 3);
        private final AtomicLong measuredErrors = new AtomicLong();
        private final CountDownLatch clientsStopped;
        private final java.util.function.Consumer<Object> measured;
        /** The first exception {@link #measured} threw, guarded by this. */
        private RuntimeException measuredFailure;

        // Phase state, guarded by this.
        private boolean measuring;
        private boolean measureClosed;
        private boolean done;
        private long startNanos;
        private long warmupIssued;
        private long measureStartNanos;
        private long measureEndNanos;
        private long measuredIssued;
        private long measuredCompleted;
        private final java.util.List<Long> serverPids;
        private long serverCpuStartNanos = -1;
        private long serverCpuNanos = -1;
        private long loadCpuStartNanos = -1;
        private long loadCpuNanos = -1;

        Run(AppendBackend backend, Settings settings, java.util.function.Consumer<Object> measured) {
            this.backend = backend;
            this.measured = measured;
            this.settings = settings;
            this.value = value(settings.valueBytes());
            this.nextSeq = new long[settings.clients()];
            this.clientsStopped = new CountDownLatch(settings.clients());
            this.serverPids = backend.serverPids();
        }

        LoadResult execute() throws InterruptedException {
            synchronized (this) {
                startNanos = System.nanoTime();
            }
            for (int c = 0; c < settings.clients(); c++) {
                drive(c);
            }
            try {
                clientsStopped.await();
            } catch (InterruptedException e) {
                synchronized (this) {
                    done = true;
                }
                throw e;
            }
            Histogram h = latencies.getIntervalHistogram();
            long errors = measuredErrors.get();
            synchronized (this) {
                if (measuredFailure != null) {
                    throw new IllegalStateException("the measured results' consumer failed", measuredFailure);
                }
                assert measuredCompleted == measuredIssued : measuredCompleted + " != " + measuredIssued;
                assert h.getTotalCount() + errors == measuredIssued : h.getTotalCount() + "+" + errors + " != " + measuredIssued;
                long ops = h.getTotalCount();
                return new LoadResult(backend.name(), settings.clients(), settings.valueBytes(), ops, errors,
                        measureEndNanos - measureStartNanos,
                        ops == 0 ? 0 : h.getValueAtPercentile(50), ops == 0 ? 0 : h.getValueAtPercentile(99),
                        ops == 0 ? 0 : h.getValueAtPercentile(99.9), ops == 0 ? 0 : h.getMaxValue(),
                        serverCpuNanos, loadCpuNanos);
            }
        }

        /**
         * Runs client {@code c}'s loop until the run is done. Appends that complete at once are handled in the
         * loop rather than from their callback, so an in-process backend cannot grow the stack.
         */
        private void drive(int c) {
            while (true) {
                Kind kind = onIssue(System.nanoTime());
                if (kind == Kind.STOP) {
                    clientsStopped.countDown();
                    return;
                }
                long seq = nextSeq[c]++;
                long issuedNanos = System.nanoTime();
                CompletableFuture<?> f = issue(c, seq);
                if (f.isDone()) {
                    boolean failed = f.isCompletedExceptionally();
                    onComplete(kind, issuedNanos, failed, failed ? null : f.getNow(null));
                    continue;
                }
                f.whenComplete((ok, error) -> {
                    onComplete(kind, issuedNanos, error != null, ok);
                    drive(c);
                });
                return;
            }
        }

        private CompletableFuture<?> issue(int c, long seq) {
            CompletableFuture<?> f;
            try {
                f = backend.append(c, seq, value);
                if (f == null) {
                    return CompletableFuture.failedFuture(new NullPointerException(backend.name() + " returned null"));
                }
            } catch (RuntimeException e) {
                return CompletableFuture.failedFuture(e);
            }
            // A copy, so the timeout never completes the backend's own future.
            return f.copy().orTimeout(settings.opTimeoutNanos(), TimeUnit.NANOSECONDS);
        }

        private synchronized Kind onIssue(long nowNanos) {
            if (done) {
                return Kind.STOP;
            }
            if (!measuring) {
                if (warmupIssued < settings.warmupOps() || nowNanos - startNanos < settings.warmupNanos()) {
                    warmupIssued++;
                    return Kind.WARMUP;
                }
                measuring = true;
                measureStartNanos = nowNanos;
                measureEndNanos = nowNanos;
                if (!serverPids.isEmpty()) {
                    serverCpuStartNanos = ProcessCpu.cpuNanos(serverPids);
                }
                loadCpuStartNanos = ProcessCpu.selfCpuNanos();
            }
            if (!measureClosed) {
                boolean admit = settings.measuredOps() > 0
                        ? measuredIssued < settings.measuredOps()
                        : nowNanos - measureStartNanos < settings.measuredNanos();
                if (admit) {
                    measuredIssued++;
                    return Kind.MEASURED;
                }
                measureClosed = true;
                maybeDone();
            }
            return done ? Kind.STOP : Kind.COOLDOWN;
        }

        private void onComplete(Kind kind, long issuedNanos, boolean failed, Object result) {
            if (kind != Kind.MEASURED) {
                return;
            }
            long nowNanos = System.nanoTime();
            // Record before counting, so the histogram holds every measured append once the run is done.
            if (failed) {
                measuredErrors.incrementAndGet();
            } else {
                latencies.recordValue(Math.min(nowNanos - issuedNanos, HIGHEST_TRACKABLE_NANOS));
                try {
                    measured.accept(result);
                } catch (RuntimeException e) {
                    // thrown here it would stop this client and the run would never end: rethrown by execute()
                    synchronized (this) {
                        if (measuredFailure == null) {
                            measuredFailure = e;
                        }
                    }
                }
            }
            synchronized (this) {
                measuredCompleted++;
                measureEndNanos = Math.max(measureEndNanos, nowNanos);
                maybeDone();
            }
        }

        private void maybeDone() {
            assert Thread.holdsLock(this);
            assert measuredCompleted <= measuredIssued : measuredCompleted + " > " + measuredIssued;
            if (measureClosed && measuredCompleted == measuredIssued && !done) {
                done = true;
                // CPU over the same window as the throughput: from the first measured issue to the last completion.
                long server = serverCpuStartNanos < 0 ? -1 : ProcessCpu.cpuNanos(serverPids);
                serverCpuNanos = server < 0 ? -1 : server - serverCpuStartNanos;
                long load = loadCpuStartNanos < 0 ? -1 : ProcessCpu.selfCpuNanos();
                loadCpuNanos = load < 0 ? -1 : load - loadCpuStartNanos;
            }
        }
    }
}
