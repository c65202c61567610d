package io.gnomon.clockd.cli;

import io.gnomon.clockd.ClockDaemon;
import io.gnomon.clockd.Clockd;
import io.gnomon.clockd.SystemClocks;
import io.gnomon.clockd.config.ConfigException;
import io.gnomon.clockd.config.ConfigLoader;
import io.gnomon.clockd.config.DaemonConfig;
import io.gnomon.clockd.config.Settings;
import io.gnomon.clockd.publish.FaultingSink;
import io.gnomon.clockd.select.Estimate;
import io.gnomon.truetime.ClockUnavailableException;
import io.gnomon.truetime.shm.ShmTrueTime;
import io.gnomon.truetime.testing.FaultScript;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** {@code clockd}: the clock daemon. Exit codes: 0 normal stop, 1 runtime failure, 2 bad configuration. */
@Command(name = "clockd", mixinStandardHelpOptions = true, versionProvider = Version.class, sortOptions = false,
        description = {"Gnomon clock daemon: samples time sources, computes an interval guaranteed to contain true "
                + "time, and publishes it (shared memory, gRPC, /metrics, journal).",
                "With no server configured it runs on the embedded local default: the system clock with an "
                        + "assumed bound, status UNVERIFIED (never reported as synchronized)."},
        footer = {"", "Exit codes: 0 stopped, 1 runtime failure (e.g. port in use), 2 bad configuration."})
public final class ClockdMain implements Callable<Integer> {

    @Option(names = {"-c", "--config"}, paramLabel = "FILE", description = "YAML configuration file")
    Path config;

    @Option(names = {"-s", "--server"}, paramLabel = "HOST[:PORT][,poll-interval-ms=MS]",
            description = "NTP server (repeatable; replaces the file's servers). Polled every 64 s after 4 polls 2 s "
                    + "apart (chrony's minpoll 6 and iburst), as public servers expect; a shorter poll-interval-ms "
                    + "only for servers you run")
    List<String> servers = new ArrayList<>();

    @Option(names = "--max-drift-ppm", paramLabel = "PPM", description = "maximum local clock drift (default 200)")
    Double maxDriftPpm;

    @Option(names = "--poll-interval-ms", paramLabel = "MS",
            description = "NTP poll interval of servers without their own (default 64000)")
    Long pollIntervalMillis;

    @Option(names = "--segment", paramLabel = "PATH", description = "shared-memory segment path (default /dev/shm/gnomon-truetime)")
    String segment;

    @Option(names = "--clockbound-segment", paramLabel = "PATH",
            description = "also publish a ClockBound v2 segment here, for ClockBound's clients "
                    + "(conventionally /var/run/clockbound/shm0; off by default)")
    String clockBoundSegment;

    @Option(names = "--grpc-port", paramLabel = "PORT", description = "gRPC port (default 7360, 0 = any free)")
    Integer grpcPort;

    @Option(names = "--metrics-port", paramLabel = "PORT", description = "HTTP /metrics port (default 7361, 0 = any free)")
    Integer metricsPort;

    @Option(names = "--bind", paramLabel = "ADDR", description = "address for gRPC and HTTP (default 127.0.0.1)")
    String bind;

    @Option(names = "--journal-dir", paramLabel = "DIR",
            description = "journal directory, relative to the working directory (default "
                    + DaemonConfig.Journal.DEFAULT_DIR + "; '' disables)")
    String journalDir;

    @Option(names = "--fault-script", paramLabel = "FILE",
            description = "TESTING ONLY: inject the faults of this script into what clockd publishes "
                    + "(docs/testing-with-faults.md)")
    Path faultScript;

    @Option(names = "--print", description = "print the live interval (midpoint ± ε) and status, read back through"
            + " the segment, every second; the status's reason when it changes")
    boolean print;

    @Option(names = "--ready-file", paramLabel = "FILE", hidden = true,
            description = "write the bound ports here once serving (for tests and launchers)")
    Path readyFile;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    public static int run(String... args) {
        CommandLine cl = new CommandLine(new ClockdMain());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("clockd: " + ex.getMessage());
            return ex instanceof ConfigException ? 2 : 1;
        });
        cl.setParameterExceptionHandler((ex, a) -> {
            ex.getCommandLine().getErr().println("clockd: " + ex.getMessage() + " (see clockd --help)");
            return 2;
        });
        return cl.execute(args);
    }

    Settings settings() throws ConfigException {
        DaemonConfig c = config == null ? new DaemonConfig() : ConfigLoader.read(config);
        if (!servers.isEmpty()) {
            c.servers = new ArrayList<>();
            for (String flag : servers) {
                c.servers.add(serverFlag(flag));
            }
            c.serversFlag = "--server";
        }
        if (maxDriftPpm != null) {
            c.maxDriftPpm = maxDriftPpm;
        }
        if (pollIntervalMillis != null) {
            c.pollIntervalMillis = pollIntervalMillis;
        }
        if (segment != null) {
            c.publish.segmentPath = segment;
        }
        if (clockBoundSegment != null) {
            c.publish.clockbound.enabled = true;
            c.publish.clockbound.path = clockBoundSegment;
        }
        if (grpcPort != null) {
            c.grpc.port = grpcPort;
        }
        if (metricsPort != null) {
            c.metrics.port = metricsPort;
        }
        if (bind != null) {
            c.grpc.bind = bind;
            c.metrics.bind = bind;
        }
        if (journalDir != null) {
            c.journal.dir = journalDir;
        }
        return ConfigLoader.validate(c);
    }

    /** The option a {@code --server} value may carry after its address, as in {@code host:123,poll-interval-ms=2000}. */
    static final String SERVER_POLL_OPTION = "poll-interval-ms";

    /** {@code HOST[:PORT][,poll-interval-ms=MS]}: the flag's form of a {@code servers} entry. */
    static DaemonConfig.Server serverFlag(String value) throws ConfigException {
        String[] parts = value.split(",", -1);
        DaemonConfig.Server server = new DaemonConfig.Server(parts[0]);
        for (int i = 1; i < parts.length; i++) {
            String option = parts[i].trim();
            if (!option.startsWith(SERVER_POLL_OPTION + "=")) {
                throw new ConfigException("--server '" + value + "': unknown option '" + option + "' (known: "
                        + SERVER_POLL_OPTION + "=MS)");
            }
            String millis = option.substring(SERVER_POLL_OPTION.length() + 1);
            try {
                server.pollIntervalMillis = Long.parseLong(millis);
            } catch (NumberFormatException e) {
                throw new ConfigException("--server '" + value + "': " + SERVER_POLL_OPTION + " '" + millis
                        + "' is not a whole number of milliseconds");
            }
        }
        return server;
    }

    @Override
    public Integer call() throws Exception {
        Settings s = settings();
        FaultingSink.Injection faults = null;
        if (faultScript != null) {
            FaultScript script;
            try {
                script = FaultScript.read(faultScript);
            } catch (java.io.IOException | IllegalArgumentException e) {
                throw new ConfigException("--fault-script: " + e.getMessage());
            }
            faults = FaultingSink.Injection.startingNow(script, SystemClocks.SYSTEM);
            System.err.println("clockd: FAULT INJECTION from " + faultScript + " (" + script.faults().size()
                    + " faults; realtime steps are not applied by clockd)");
        }
        // SIGTERM and SIGINT stop the daemon: main closes it and returns 0. Left to the JVM they would run the
        // shutdown hooks and exit 143 (130), which systemd records as a failure. Installed before the start, so
        // that a stop during it also closes what it opened.
        CountDownLatch stopped = new CountDownLatch(1);
        for (String name : List.of("TERM", "INT")) {
            sun.misc.Signal.handle(new sun.misc.Signal(name), signal -> stopped.countDown());
        }
        Clockd clockd = Clockd.start(s, SystemClocks.SYSTEM, faults);
        // Any other way the JVM ends (SIGHUP, System.exit elsewhere) still closes the publishers.
        Thread hook = new Thread(clockd::close, "clockd-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        System.err.println("clockd: publishing to " + s.segmentPath() + (s.clockBoundPath() == null ? ""
                : " and (ClockBound v2) " + s.clockBoundPath()) + ", gRPC " + s.grpcAddress().getAddress()
                .getHostAddress() + ":" + clockd.grpcPort() + ", page and metrics http://" + s.metricsAddress()
                .getAddress().getHostAddress() + ":" + clockd.metricsPort() + "/ and /metrics, from "
                + (s.sourceNames().isEmpty()
                ? "the embedded local default (status UNVERIFIED: no time source configured)" : s.sourceNames()));
        if (readyFile != null && stopped.getCount() > 0) {
            Path tmp = readyFile.resolveSibling(readyFile.getFileName() + ".tmp");
            Files.writeString(tmp, "grpcPort=" + clockd.grpcPort() + "\nmetricsPort=" + clockd.metricsPort()
                    + "\npid=" + ProcessHandle.current().pid() + "\n");
            Files.move(tmp, readyFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
        if (print) {
            printLoop(s.segmentPath(), clockd.daemon(), stopped);
        }
        stopped.await();
        clockd.close();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException alreadyShuttingDown) {
            // the hook closes too; closing twice is harmless
        }
        System.err.println("clockd: stopped; segment " + s.segmentPath() + " keeps its last snapshot until its "
                + "void-after time" + (s.journalDir() == null ? "" : ", journal " + s.journalDir() + " closed"));
        return 0;
    }

    private static void printLoop(Path segmentPath, ClockDaemon daemon, CountDownLatch stopped) throws Exception {
        ShmTrueTime tt = ShmTrueTime.openAcceptingUnverified(segmentPath);
        PrintWriter out = new PrintWriter(System.out, true);
        while (daemon.latest() == null && !stopped.await(10, java.util.concurrent.TimeUnit.MILLISECONDS)) {
            // the first estimate is published at start; wait for it rather than print UNKNOWN
        }
        PrintLines lines = new PrintLines();
        while (stopped.getCount() > 0) {
            Estimate e = daemon.latest();
            try {
                out.println(lines.next(tt.now(), tt.status(), e == null ? null : e.reason()));
            } catch (ClockUnavailableException ex) {
                out.println(ex.getMessage());
            }
            stopped.await(1, java.util.concurrent.TimeUnit.SECONDS);
        }
    }
}
