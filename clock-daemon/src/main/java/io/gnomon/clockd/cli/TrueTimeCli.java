package io.gnomon.clockd.cli;

import io.gnomon.truetime.ClockSnapshot;
import io.gnomon.truetime.ClockSyncTimeoutException;
import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.ClockUnavailableException;
import io.gnomon.truetime.TimeInterval;
import io.gnomon.truetime.TrueTime;
import io.gnomon.truetime.TrueTimes;
import io.gnomon.truetime.grpc.v1.SourceStatus;
import io.gnomon.truetime.grpc.v1.StatusRequest;
import io.gnomon.truetime.grpc.v1.StatusResponse;
import io.gnomon.truetime.grpc.v1.TrueTimeGrpc;
import io.gnomon.truetime.grpc.v1.WatchRequest;
import io.gnomon.truetime.shm.SegmentLayout;
import io.gnomon.truetime.shm.ShmTrueTime;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.StatusRuntimeException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * {@code truetime}: TrueTime from the command line. Exit codes: 0 usable, 1 cannot reach the daemon,
 * 2 bad arguments, 3 reached it but the clock is not usable (the message says why).
 */
@Command(name = "truetime", mixinStandardHelpOptions = true,
        description = "Read Gnomon TrueTime: from the local shared-memory segment or a daemon's gRPC service.",
        subcommands = {TrueTimeCli.Now.class, TrueTimeCli.StatusCmd.class, TrueTimeCli.Watch.class, TrueTimeCli.Wait.class},
        footer = {"", "Exit codes: 0 usable, 1 daemon unreachable, 2 bad arguments, 3 clock not usable."})
public final class TrueTimeCli implements Runnable {
    static final int UNREACHABLE = 1;
    static final int NOT_USABLE = 3;

    public static void main(String[] args) {
        System.exit(run(System.out, args));
    }

    public static int run(PrintStream out, String... args) {
        CommandLine cl = new CommandLine(new TrueTimeCli());
        cl.setOut(new java.io.PrintWriter(out, true));
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("truetime: " + ex.getMessage());
            if (ex instanceof ClockUnavailableException cue) {
                // a status of UNKNOWN with a cause is a daemon we could not reach at all
                return cue.getCause() != null ? UNREACHABLE : NOT_USABLE;
            }
            return UNREACHABLE;
        });
        return cl.execute(args);
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    static class Source {
        @Option(names = "--segment", paramLabel = "PATH", description = "segment to read (default ${DEFAULT-VALUE})")
        Path segment = SegmentLayout.DEFAULT_PATH;

        @Option(names = "--grpc", paramLabel = "HOST:PORT", description = "ask a daemon over gRPC instead of the segment")
        String grpc;

        @Option(names = "--source", paramLabel = "SPEC", description = "gnomon:PATH, clockbound:PATH (an AWS ClockBound "
                + "v2 segment) or grpc:HOST:PORT; replaces --segment and --grpc")
        String spec;

        /** The source these options name, as a TrueTimes spec. */
        String spec() {
            return spec != null ? spec : grpc != null ? TrueTimes.GRPC + grpc : TrueTimes.GNOMON + segment;
        }

        TrueTime open(boolean acceptUnverified) throws java.io.IOException {
            try {
                return TrueTimes.open(spec(), acceptUnverified);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(new CommandLine(this), e.getMessage());
            }
        }
    }

    static void close(TrueTime tt) throws Exception {
        if (tt instanceof AutoCloseable c) {
            c.close();
        }
    }

    @Command(name = "now", mixinStandardHelpOptions = true, description = "Print the current interval and its status.")
    static final class Now implements Callable<Integer> {
        @CommandLine.Mixin Source source;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Option(names = "--accept-unverified", description = "print an UNVERIFIED interval (local default) instead of refusing it")
        boolean acceptUnverified;

        @Override
        public Integer call() throws Exception {
            TrueTime tt;
            try {
                tt = source.open(acceptUnverified);
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
            try {
                return print(tt);
            } finally {
                close(tt);
            }
        }

        private int print(TrueTime tt) {
            var iv = tt.now();
            spec.commandLine().getOut().println(Format.interval(iv) + "  " + tt.status());
            return 0;
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true,
            description = "Say whether the clock is usable and, if not, why; list the sources (gRPC).")
    static final class StatusCmd implements Callable<Integer> {
        @CommandLine.Mixin Source source;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            var out = spec.commandLine().getOut();
            if (source.spec != null) {
                TrueTime tt = source.open(false);
                try {
                    ClockStatus st = tt.status();
                    out.println("status: " + st + (st.isUsable() ? "" : "  (not usable)"));
                    out.println("why:    " + plainWords(st, null));
                    return st.isUsable() ? 0 : NOT_USABLE;
                } finally {
                    close(tt);
                }
            }
            if (source.grpc == null) {
                ShmTrueTime tt = ShmTrueTime.open(source.segment);
                ClockSnapshot s = tt.snapshotOrNull();
                ClockStatus st = tt.status();
                out.println("status: " + st + (st != ClockStatus.UNKNOWN || s == null ? ""
                        : " (the last snapshot, " + s.status() + ", is void: clockd pid " + tt.writerPid()
                        + " stopped refreshing it)"));
                if (s != null) {
                    out.println("bound:  " + Format.nanos(s.boundAt(System.nanoTime())) + " (grows "
                            + String.format(Locale.ROOT, "%.1f", s.maxDriftPpb() / 1e3) + " µs/s)");
                }
                out.println("why:    " + plainWords(st, s));
                out.println("(use --grpc HOST:PORT for the daemon's own reason and the sources)");
                return st.isUsable() ? 0 : NOT_USABLE;
            }
            ManagedChannel ch = ManagedChannelBuilder.forTarget(source.grpc).usePlaintext().build();
            try {
                StatusResponse r = TrueTimeGrpc.newBlockingStub(ch).withDeadlineAfter(2, TimeUnit.SECONDS)
                        .status(StatusRequest.getDefaultInstance());
                printStatus(out, r);
                return ClockStatus.fromCode(r.getStatusValue()).isUsable() ? 0 : NOT_USABLE;
            } catch (StatusRuntimeException e) {
                throw new IllegalStateException("cannot reach clockd at " + source.grpc + ": " + e.getStatus());
            } finally {
                ch.shutdownNow().awaitTermination(2, TimeUnit.SECONDS);
            }
        }
    }

    @Command(name = "watch", mixinStandardHelpOptions = true, description = "Print each status change (gRPC Watch).")
    static final class Watch implements Callable<Integer> {
        @Option(names = "--grpc", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:7360",
                description = "daemon to watch (default ${DEFAULT-VALUE})")
        String grpc;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            ManagedChannel ch = ManagedChannelBuilder.forTarget(grpc).usePlaintext().build();
            try {
                Iterator<StatusResponse> it = TrueTimeGrpc.newBlockingStub(ch).watch(WatchRequest.getDefaultInstance());
                while (it.hasNext()) {
                    StatusResponse r = it.next();
                    spec.commandLine().getOut().println(Format.instant(r.getAsOfEpochNanos()) + "  "
                            + ClockStatus.fromCode(r.getStatusValue()) + "  ± " + Format.nanos(r.getBoundNanos())
                            + "  " + r.getReason());
                }
                return 0;
            } catch (StatusRuntimeException e) {
                throw new IllegalStateException("watch of clockd at " + grpc + " ended: " + e.getStatus());
            } finally {
                ch.shutdownNow();
            }
        }
    }

    @Command(name = "wait", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Block until the clock is usable (and, with --max-epsilon, tight enough), then print the "
                    + "interval: startup gating for scripts and services.",
                    "A source that cannot be opened yet (clockd still starting) is retried until the timeout."},
            footer = {"", "Exit codes: 0 usable within the timeout, 1 source unavailable for the whole timeout "
                    + "(no segment, daemon unreachable), 2 bad arguments, 3 timed out: reached, but not usable or "
                    + "ε too large (the message names the last status and ε)."})
    static final class Wait implements Callable<Integer> {
        @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "30s", converter = DurationConverter.class,
                description = "how long to wait, e.g. 30s, 500ms (default ${DEFAULT-VALUE})")
        java.time.Duration timeout;

        @Option(names = "--max-epsilon", paramLabel = "DURATION", converter = DurationConverter.class,
                description = "also wait until ε (half the interval's width) is at most this, e.g. 1ms")
        java.time.Duration maxEpsilon;

        @Option(names = "--accept-unverified", description = "count an UNVERIFIED interval (local default) as usable")
        boolean acceptUnverified;

        @CommandLine.Mixin Source source;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        /** How often a source that cannot be opened is tried again. */
        static final long REOPEN_INTERVAL_NANOS = 100_000_000L;

        @Override
        public Integer call() throws Exception {
            long deadline = System.nanoTime() + timeout.toNanos();
            TrueTime tt = null;
            String unavailable = null;
            while (tt == null) {
                try {
                    tt = source.open(acceptUnverified);
                } catch (java.io.IOException e) {
                    unavailable = e.getMessage();
                    long remaining = deadline - System.nanoTime();
                    if (remaining <= 0) {
                        spec.commandLine().getErr().println("truetime: source unavailable for " + Format.nanos(
                                timeout.toNanos()) + ": " + unavailable);
                        return UNREACHABLE;
                    }
                    java.util.concurrent.locks.LockSupport.parkNanos(Math.min(REOPEN_INTERVAL_NANOS, remaining));
                }
            }
            try {
                java.time.Duration left = java.time.Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
                TimeInterval iv = maxEpsilon == null ? tt.awaitSynchronized(left) : tt.awaitSynchronized(left, maxEpsilon);
                spec.commandLine().getOut().println(Format.interval(iv) + "  " + tt.status());
                return 0;
            } catch (ClockSyncTimeoutException e) {
                spec.commandLine().getErr().println("truetime: " + e.getMessage());
                boolean unreachable = e.getCause() instanceof ClockUnavailableException cue && cue.getCause() != null;
                return unreachable ? UNREACHABLE : NOT_USABLE;
            } finally {
                close(tt);
            }
        }
    }

    /** What a status means for an operator, when only the segment is at hand. */
    static String plainWords(ClockStatus st, ClockSnapshot s) {
        return switch (st) {
            case SYNCHRONIZED -> "a majority of clockd's time sources agree and the interval is measured; with fewer "
                    + "than 3 sources a falseticker cannot be out-voted (--grpc names the sources and says whether the "
                    + "time is cross-checked)";
            case FREE_RUNNING -> "clockd lost its majority of sources; the last measured interval grows by the "
                    + "maximum drift until they return";
            case UNSYNCHRONIZED -> "clockd runs but has no majority of agreeing sources (unreachable, rejected, "
                    + "or disagreeing): check its sources";
            case UNVERIFIED -> "no time source is configured: the interval is an assumption about the system clock";
            case DISRUPTED -> "the host was suspended or paused: earlier measurements are void, clockd is "
                    + "re-synchronizing";
            case UNKNOWN -> s == null ? "clockd has never published into this segment"
                    : "clockd stopped refreshing the segment (dead or hung) and its last snapshot is void";
        };
    }

    static void printStatus(java.io.PrintWriter out, StatusResponse r) {
        ClockStatus st = ClockStatus.fromCode(r.getStatusValue());
        out.println("status: " + st + (st.isUsable() ? "" : "  (not usable)"));
        out.println("why:    " + r.getReason());
        out.println("bound:  " + Format.nanos(r.getBoundNanos()) + "   system clock offset: "
                + Format.nanos(r.getOffsetNanos()) + "   max drift: "
                + String.format(Locale.ROOT, "%.1f ppm", r.getMaxDriftPpb() / 1e3));
        if (r.getSourcesCount() > 0) {
            out.printf(Locale.ROOT, "%-28s %-9s %-11s %14s %14s %14s %8s%n",
                    "source", "reach", "state", "offset", "delay", "bound", "rejected");
            for (SourceStatus s : r.getSourcesList()) {
                out.printf(Locale.ROOT, "%-28s %-9s %-11s %14s %14s %14s %8d%n", s.getName(),
                        s.getReachable() ? "yes" : "NO", s.getFalseticker() ? "FALSETICKER" : "ok",
                        Format.nanos(s.getOffsetNanos()), Format.nanos(s.getDelayNanos()),
                        Format.nanos(s.getBoundNanos()), s.getSamplesRejected());
            }
        }
    }
}
