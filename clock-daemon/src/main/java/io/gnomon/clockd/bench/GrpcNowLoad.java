package io.gnomon.clockd.bench;

import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.grpc.v1.NowRequest;
import io.gnomon.truetime.grpc.v1.NowResponse;
import io.gnomon.truetime.grpc.v1.TrueTimeGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import org.HdrHistogram.Histogram;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Closed-loop load on a clock daemon's gRPC {@code Now}: each client thread sends one call, waits for the
 * answer, records the round trip, and sends the next. One channel (one HTTP/2 connection) is shared.
 *
 * <pre>
 *   java -cp ... io.gnomon.clockd.bench.GrpcNowLoad --target 127.0.0.1:7360 --calls 20000 [--threads 4] [--markdown]
 *   Now 127.0.0.1:7360 threads=1 calls=20000: p50=85.2us p90=101.4us p99=160.3us p99.9=410.1us max=2310.1us 11520 calls/s
 * </pre>
 */
@Command(name = "grpc-now-load", mixinStandardHelpOptions = true, versionProvider = io.gnomon.clockd.cli.Version.class,
        description = "Measures the round trip of the clock daemon's gRPC Now under closed-loop load.")
public final class GrpcNowLoad implements Callable<Integer> {

    @Option(names = "--target", required = true, description = "host:port of the daemon's gRPC endpoint")
    String target;

    @Option(names = "--calls", defaultValue = "20000", description = "measured calls in total (default ${DEFAULT-VALUE})")
    int calls;

    @Option(names = "--warmup", defaultValue = "2000", description = "unmeasured calls per thread first (default ${DEFAULT-VALUE})")
    int warmupCalls;

    @Option(names = "--threads", defaultValue = "1", description = "client threads, each closed-loop (default ${DEFAULT-VALUE})")
    int threads;

    @Option(names = "--deadline-ms", defaultValue = "2000", description = "per-call deadline (default ${DEFAULT-VALUE})")
    long deadlineMillis;

    @Option(names = "--markdown", description = "print a markdown table row instead of the summary line")
    boolean markdown;

    @Option(names = "--markdown-header", description = "with --markdown, print the table header first")
    boolean markdownHeader;

    /** Round trips above this (one minute) are clamped: a histogram must have a highest trackable value. */
    static final long HIGHEST_TRACKABLE_NANOS = TimeUnit.MINUTES.toNanos(1);

    public static void main(String[] args) {
        System.exit(new CommandLine(new GrpcNowLoad()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        if (calls < 1 || threads < 1 || warmupCalls < 0 || deadlineMillis < 1) {
            throw new CommandLine.ParameterException(new CommandLine(this),
                    "need --calls >= 1, --threads >= 1, --warmup >= 0, --deadline-ms >= 1; got calls=" + calls
                            + " threads=" + threads + " warmup=" + warmupCalls + " deadline-ms=" + deadlineMillis);
        }
        ManagedChannel channel = NettyChannelBuilder.forTarget(target).usePlaintext().build();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<Run>> futures = new ArrayList<>();
            long startNanos = System.nanoTime();
            // Every thread warms up, then all start measuring together, so calls/s counts only the overlap.
            AtomicLong measureStartNanos = new AtomicLong();
            CyclicBarrier warmedUp = new CyclicBarrier(threads, () -> measureStartNanos.set(System.nanoTime()));
            for (int t = 0; t < threads; t++) {
                int share = calls / threads + (t < calls % threads ? 1 : 0);
                futures.add(pool.submit(() -> run(channel, share, warmedUp)));
            }
            Histogram all = new Histogram(HIGHEST_TRACKABLE_NANOS, 3);
            long unusable = 0;
            long measureEndNanos = Long.MIN_VALUE;
            for (Future<Run> f : futures) {
                Run r = f.get();
                all.add(r.histogram);
                unusable += r.unusable;
                measureEndNanos = Math.max(measureEndNanos, r.endNanos);
            }
            long measuredNanos = measureEndNanos - measureStartNanos.get();
            long wallNanos = System.nanoTime() - startNanos;
            double callsPerSecond = calls / (measuredNanos / 1e9);
            print(all, callsPerSecond);
            if (unusable > 0) {
                System.err.println("note: " + unusable + " of " + calls
                        + " answers had a status that is not usable (the daemon is not synchronized)");
            }
            System.err.printf(Locale.ROOT, "wall time %.2f s including warm-up%n", wallNanos / 1e9);
            return 0;
        } finally {
            pool.shutdownNow();
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private record Run(Histogram histogram, long unusable, long endNanos) {
    }

    private Run run(ManagedChannel channel, int measuredCalls, CyclicBarrier warmedUp) throws Exception {
        TrueTimeGrpc.TrueTimeBlockingStub stub = TrueTimeGrpc.newBlockingStub(channel);
        NowRequest request = NowRequest.getDefaultInstance();
        for (int i = 0; i < warmupCalls; i++) {
            stub.withDeadlineAfter(deadlineMillis, TimeUnit.MILLISECONDS).now(request);
        }
        Histogram h = new Histogram(HIGHEST_TRACKABLE_NANOS, 3);
        long unusable = 0;
        warmedUp.await();
        for (int i = 0; i < measuredCalls; i++) {
            long sentNanos = System.nanoTime();
            NowResponse r = stub.withDeadlineAfter(deadlineMillis, TimeUnit.MILLISECONDS).now(request);
            long rttNanos = System.nanoTime() - sentNanos;
            h.recordValue(Math.min(rttNanos, HIGHEST_TRACKABLE_NANOS));
            if (!ClockStatus.fromCode(r.getStatusValue()).isUsable()) {
                unusable++;
            }
        }
        return new Run(h, unusable, System.nanoTime());
    }

    private void print(Histogram h, double callsPerSecond) {
        double p50 = micros(h, 50), p90 = micros(h, 90), p99 = micros(h, 99), p999 = micros(h, 99.9);
        double max = h.getMaxValue() / 1e3;
        if (markdown) {
            if (markdownHeader) {
                System.out.println("| target | threads | calls | p50 (us) | p90 (us) | p99 (us) | p99.9 (us) | max (us) | calls/s |");
                System.out.println("|---|---|---|---|---|---|---|---|---|");
            }
            System.out.printf(Locale.ROOT, "| %s | %d | %d | %.1f | %.1f | %.1f | %.1f | %.1f | %.0f |%n",
                    target, threads, calls, p50, p90, p99, p999, max, callsPerSecond);
        } else {
            System.out.printf(Locale.ROOT,
                    "Now %s threads=%d calls=%d: p50=%.1fus p90=%.1fus p99=%.1fus p99.9=%.1fus max=%.1fus %.0f calls/s%n",
                    target, threads, calls, p50, p90, p99, p999, max, callsPerSecond);
        }
    }

    private static double micros(Histogram h, double percentile) {
        return h.getValueAtPercentile(percentile) / 1e3;
    }
}
