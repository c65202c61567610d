package io.gnomon.clockd.cli;

import io.gnomon.truetime.ClockSnapshot;
import io.gnomon.truetime.ClockSyncTimeoutException;
import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.ClockUnavailableException;
import io.gnomon.truetime.TimeInterval;
import io.gnomon.truetime.TrueTime;
import io.gnomon.truetime.TrueTimes;
import io.gnomon.truetime.grpc.GrpcTrueTime;
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
@Command(name = "truetime", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "Read Gnomon TrueTime: from the local shared-memory segment or a daemon's gRPC service.",
        subcommands = {TrueTimeCli.Now.class, TrueTimeCli.StatusCmd.class, TrueTimeCli.Watch.class, TrueTimeCli.Wait.class},
        footer = {"", "Exit codes: 0 usable, 1 daemon unreachable, 2 bad arguments, 3 clock not usable."})
public final class TrueTimeCli implements Runnable {
    static final int UNREACHABLE = 1;
    static final int NOT_USABLE = 3;

    public static void main(String[] args) {
        System.exit(run(System.out, args));
    }

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
            description = "on a failure, print the stack trace too (for bug reports)")
    boolean verbose;

    public static int run(PrintStream out, String... args) {
        TrueTimeCli root = new TrueTimeCli();
        CommandLine cl = new CommandLine(root);
        cl.setOut(new java.io.PrintWriter(out, true));
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            // A failure a user can cause (no daemon, a void segment) is one line; a stack trace only on request.
            boolean expected = ex instanceof ClockUnavailableException || ex instanceof IllegalStateException
                    || ex instanceof java.io.IOException;
            cmd.getErr().println("truetime: " + (expected ? ex.getMessage() : ex + (root.verbose ? ""
                    : " (a bug: --verbose prints the stack trace for a report)")));
            if (root.verbose) {
                ex.printStackTrace(cmd.getErr());
            }
            if (ex instanceof ClockUnavailableException cue) {
                // a status of UNKNOWN with a cause is a daemon we could not reach at all
                return cue.getCause() != null ? UNREACHABLE : NOT_USABLE;
            }
            return UNREACHABLE;
        });
        cl.setParameterExceptionHandler((ex, unused) -> {
            CommandLine c = ex.getCommandLine();
            c.getErr().println("truetime: " + ex.getMessage());
            if (c.getCommandSpec().subcommands().isEmpty()) {
                c.getErr().println("(see '" + c.getCommandSpec().qualifiedName() + " --help')");
            } else {
                c.usage(c.getErr());
            }
            return c.getCommandSpec().exitCodeOnInvalidInput();
        });
        return cl.execute(args);
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(),
                "a command is required (now, status, watch, wait)");
    }

    static class Source {
        @CommandLine.Spec(CommandLine.Spec.Target.MIXEE) CommandLine.Model.CommandSpec mixee;

        @Option(names = "--segment", paramLabel = "PATH", description = "segment to read (default ${DEFAULT-VALUE})")
        Path segment = SegmentLayout.DEFAULT_PATH;

        @Option(names = "--grpc", paramLabel = "HOST:PORT", description = "ask a daemon over gRPC instead of the segment")
        String grpc;

        @Option(names = "--source", paramLabel = "SPEC", description = {"gnomon:PATH, clockbound:PATH (an AWS ClockBound "
                + "v2 segment) or grpc:HOST:PORT; replaces --segment and --grpc.",
                "A SPEC starting with a word and ':' names a kind (an unknown one is an error); anything else is a "
                        + "Gnomon segment's path: write a path whose first part has a ':' as ./a:b or gnomon:a:b."})
        String spec;

        /** The source these options name, as a TrueTimes spec. */
        String spec() {
            return spec != null ? spec : grpc != null ? TrueTimes.GRPC + grpc : TrueTimes.GNOMON + segment;
        }

        /** The flag the source came from, for messages. */
        String flag() {
            return spec != null ? "--source" : grpc != null ? "--grpc" : "--segment";
        }

        /** The gRPC target these options name, or null for a segment; a bad one is a usage error naming the flag. */
        String grpcTarget() {
            String target = grpc != null && spec == null ? grpc
                    : spec != null && spec.startsWith(TrueTimes.GRPC) ? spec.substring(TrueTimes.GRPC.length()) : null;
            return target == null ? null : checkTarget(mixee.commandLine(), flag(), target);
        }

        TrueTime open(boolean acceptUnverified) throws java.io.IOException {
            try {
                return TrueTimes.open(spec(), acceptUnverified);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(mixee.commandLine(), flag() + ": " + e.getMessage());
            }
        }
    }

    /** {@code target} if it is HOST:PORT; else a usage error (exit 2) naming {@code flag} and the rule. */
    static String checkTarget(CommandLine cmd, String flag, String target) {
        try {
            return GrpcTrueTime.checkTarget(target);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cmd, flag + ": " + e.getMessage());
        }
    }

    /**
     * A failed call to clockd as one line (without the stack traces {@link io.grpc.Status#toString()} carries);
     * the cause keeps them for --verbose.
     */
    static IllegalStateException unreachable(String what, StatusRuntimeException e) {
        return new IllegalStateException(what + GrpcTrueTime.describe(e.getStatus())
                + " (is clockd running, and is this its gRPC port?)", e);
    }

    static void close(TrueTime tt) throws Exception {
        if (tt instanceof AutoCloseable c) {
            c.close();
        }
    }

    @Command(name = "now", mixinStandardHelpOptions = true, versionProvider = Version.class, description = "Print the current interval and its status.")
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

    @Command(name = "status", mixinStandardHelpOptions = true, versionProvider = Version.class,
            description = "Say whether the clock is usable and, if not, why; list the sources (gRPC).")
    static final class StatusCmd implements Callable<Integer> {
        @CommandLine.Mixin Source source;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            var out = spec.commandLine().getOut();
            String target = source.grpcTarget();
            if (target != null) {
                return grpcStatus(out, target);
            }
            TrueTime opened = source.open(false);
            try {
                return opened instanceof ShmTrueTime tt ? segmentStatus(out, tt) : otherStatus(out, opened);
            } finally {
                close(opened);
            }
        }

        private static int otherStatus(java.io.PrintWriter out, TrueTime tt) {
            ClockStatus st = tt.status();
            out.println("status: " + statusWords(st));
            out.println("why:    " + plainWords(st, null, 0));
            return st.isUsable() ? 0 : NOT_USABLE;
        }

        private static int segmentStatus(java.io.PrintWriter out, ShmTrueTime tt) {
            ClockSnapshot s = tt.snapshotOrNull();
            ClockStatus st = tt.status();
            long ageNanos = s == null ? 0 : System.nanoTime() - s.asOfMonotonicNanos();
            out.println("status: " + st + (st != ClockStatus.UNKNOWN || s == null ? ""
                    : " (the last snapshot, " + s.status() + ", is void: clockd pid " + tt.writerPid()
                    + " stopped publishing " + Format.nanos(ageNanos) + " ago)"));
            if (s != null) {
                out.println("bound:  " + Format.nanos(s.boundAt(System.nanoTime())) + " (grows "
                        + String.format(Locale.ROOT, "%.1f", s.maxDriftPpb() / 1e3) + " µs/s)");
            }
            out.println("why:    " + plainWords(st, s, ageNanos));
            out.println("(use --grpc HOST:PORT for the daemon's own reason and the sources)");
            return st.isUsable() ? 0 : NOT_USABLE;
        }

        private static int grpcStatus(java.io.PrintWriter out, String target) throws InterruptedException {
            ManagedChannel ch = ManagedChannelBuilder.forTarget(target).usePlaintext().build();
            try {
                StatusResponse r = TrueTimeGrpc.newBlockingStub(ch).withDeadlineAfter(2, TimeUnit.SECONDS)
                        .status(StatusRequest.getDefaultInstance());
                printStatus(out, r);
                return ClockStatus.fromCode(r.getStatusValue()).isUsable() ? 0 : NOT_USABLE;
            } catch (StatusRuntimeException e) {
                throw unreachable("cannot reach clockd at " + target + ": ", e);
            } finally {
                ch.shutdownNow().awaitTermination(2, TimeUnit.SECONDS);
            }
        }
    }

    @Command(name = "watch", mixinStandardHelpOptions = true, versionProvider = Version.class, description = "Print each status change (gRPC Watch).")
    static final class Watch implements Callable<Integer> {
        @Option(names = "--grpc", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:7360",
                description = "daemon to watch (default ${DEFAULT-VALUE})")
        String grpc;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            String target = checkTarget(spec.commandLine(), "--grpc", grpc);
            ManagedChannel ch = ManagedChannelBuilder.forTarget(target).usePlaintext().build();
            try {
                Iterator<StatusResponse> it = TrueTimeGrpc.newBlockingStub(ch).watch(WatchRequest.getDefaultInstance());
                boolean received = false;
                try {
                    while (it.hasNext()) {
                        StatusResponse r = it.next();
                        received = true;
                        spec.commandLine().getOut().println(Format.instant(r.getAsOfEpochNanos()) + "  "
                                + ClockStatus.fromCode(r.getStatusValue()) + "  ± " + Format.nanos(r.getBoundNanos())
                                + "  " + r.getReason());
                    }
                } catch (StatusRuntimeException e) {
                    throw unreachable(received ? "watch of clockd at " + grpc + " ended: "
                            : "cannot reach clockd at " + grpc + ": ", e);
                }
                return 0;
            } finally {
                ch.shutdownNow();
            }
        }
    }

    @Command(name = "wait", mixinStandardHelpOptions = true, versionProvider = Version.class, sortOptions = false,
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

        @Override
        public Integer call() throws Exception {
            // One deadline for opening the source and for its clock: the message names the timeout asked for.
            OpenedOnUse tt = new OpenedOnUse(source, acceptUnverified);
            try {
                TimeInterval iv = maxEpsilon == null ? tt.awaitSynchronized(timeout)
                        : tt.awaitSynchronized(timeout, maxEpsilon);
                spec.commandLine().getOut().println(Format.interval(iv) + "  " + tt.status());
                return 0;
            } catch (ClockSyncTimeoutException e) {
                if (e.getCause() instanceof ClockUnavailableException cue
                        && cue.getCause() instanceof java.io.IOException io) {
                    spec.commandLine().getErr().println("truetime: source unavailable for " + Format.nanos(
                            timeout.toNanos()) + ": " + io.getMessage());
                    return UNREACHABLE;
                }
                spec.commandLine().getErr().println("truetime: " + e.getMessage());
                boolean unreachable = e.getCause() instanceof ClockUnavailableException cue && cue.getCause() != null;
                return unreachable ? UNREACHABLE : NOT_USABLE;
            } finally {
                close(tt.opened);
            }
        }
    }

    /**
     * The source, opened at its first use and again at each use until it opens (clockd still starting): a
     * source that cannot be opened is a clock that is not usable yet, with the I/O failure as the cause.
     */
    static final class OpenedOnUse implements TrueTime {
        private final Source source;
        private final boolean acceptUnverified;
        TrueTime opened;

        OpenedOnUse(Source source, boolean acceptUnverified) {
            this.source = source;
            this.acceptUnverified = acceptUnverified;
        }

        private TrueTime opened() {
            if (opened == null) {
                try {
                    opened = source.open(acceptUnverified);
                } catch (java.io.IOException e) {
                    throw new ClockUnavailableException(ClockStatus.UNKNOWN, e.getMessage(), e);
                }
            }
            return opened;
        }

        @Override
        public TimeInterval now() {
            return opened().now();
        }

        @Override
        public ClockStatus status() {
            return opened == null ? ClockStatus.UNKNOWN : opened.status();
        }
    }

    /** The status as {@code truetime status} heads its answer, e.g. "UNSYNCHRONIZED  (not usable)". */
    public static String statusWords(ClockStatus st) {
        return st + (st.isUsable() ? "" : "  (not usable)");
    }

    /** What a status means for an operator, when only the segment is at hand ({@code ageNanos}: of snapshot s). */
    public static String plainWords(ClockStatus st, ClockSnapshot s, long ageNanos) {
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
                    : "clockd stopped publishing (dead or hung): its last snapshot is " + Format.nanos(ageNanos)
                    + " old, past its void-after, and vouches for nothing; is clockd running?";
        };
    }

    static void printStatus(java.io.PrintWriter out, StatusResponse r) {
        ClockStatus st = ClockStatus.fromCode(r.getStatusValue());
        out.println("status: " + statusWords(st));
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
