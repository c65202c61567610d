package io.gnomon.clockd.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real chronyd <em>client</em> for tests: it synchronizes from the given NTP servers (normally {@link ChronyServer}s
 * on 127.0.0.1, .2 and .3: chrony refuses two sources with one address) without touching the clock ({@code -x}),
 * and answers cmdmon on {@code 127.0.0.1:<free port>} only (its UNIX socket is disabled with
 * {@code bindcmdaddress /}, so test instances do not share chrony's socket under /run). Runs in the foreground as a
 * child process; {@link #close()} kills it. Recipe: ../shared/TOOLCHAIN.md.
 *
 * <pre>{@code
 * try (ChronyClient client = ChronyClient.start(dir, List.of(s1.address(), s2.address(), s3.address()))) {
 *     await().until(client::synchronised);
 *     client.trackingCsv(); // chronyc -c tracking, split at commas
 * }
 * }</pre>
 */
public final class ChronyClient implements AutoCloseable {
    private final Process process;
    private final InetSocketAddress cmdAddress;
    private final Path log;

    private ChronyClient(Process process, InetSocketAddress cmdAddress, Path log) {
        this.process = process;
        this.cmdAddress = cmdAddress;
        this.log = log;
    }

    /**
     * Starts three chronyd servers on 127.0.0.1, 127.0.0.2 and 127.0.0.3 and a chronyd client of them, adds each
     * process to {@code toClose} as it starts (close them in reverse order), and waits until the client has
     * synchronised and settled ({@link #settled()}; 30 s at most; it fails at once if chronyd exits).
     */
    public static ChronyClient startSynchronisedOnThreeServers(Path dir, List<AutoCloseable> toClose) throws IOException {
        List<InetSocketAddress> servers = new ArrayList<>();
        for (String address : List.of("127.0.0.1", "127.0.0.2", "127.0.0.3")) {
            ChronyServer server = ChronyServer.start(dir, address);
            toClose.add(server);
            servers.add(server.address());
        }
        ChronyClient chronyd = start(dir, servers);
        toClose.add(chronyd);
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30))
                .pollInterval(java.time.Duration.ofMillis(100))
                .failFast("chronyd exited", () -> !chronyd.isAlive())
                .until(chronyd::settled);
        return chronyd;
    }

    /** Starts chronyd polling {@code servers} every 1/16 to 1/4 s; returns at once (see {@link #synchronised()}). */
    public static ChronyClient start(Path dir, List<InetSocketAddress> servers) throws IOException {
        if (!ChronyServer.available()) {
            throw new IOException("chronyd is not installed: run bin/test, which installs it (apt-get install -y chrony)");
        }
        Files.createDirectories(dir);
        int cmdPort = ChronyServer.freeUdpPort("127.0.0.1");
        String tag = "client_" + cmdPort;
        Path dumpDir = Files.createDirectories(dir.resolve("chrony-" + tag + "-dump"));
        List<String> lines = new ArrayList<>();
        for (InetSocketAddress server : servers) {
            lines.add("server " + server.getAddress().getHostAddress() + " port " + server.getPort()
                    + " iburst minpoll -4 maxpoll -2");
        }
        lines.addAll(List.of(
                "port 0",
                "cmdport " + cmdPort,
                "bindcmdaddress 127.0.0.1",
                "bindcmdaddress /",
                "cmdallow 127.0.0.1",
                "pidfile " + dir.resolve("chrony-" + tag + ".pid"),
                "driftfile " + dir.resolve("chrony-" + tag + ".drift"),
                "dumpdir " + dumpDir,
                ""));
        Path conf = dir.resolve("chrony-" + tag + ".conf");
        Files.writeString(conf, String.join("\n", lines));
        Path log = dir.resolve("chrony-" + tag + ".log");
        Process p = new ProcessBuilder("chronyd", "-x", "-d", "-u", "root", "-f", conf.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        return new ChronyClient(p, new InetSocketAddress(InetAddress.getByName("127.0.0.1"), cmdPort), log);
    }

    /** chronyd's cmdmon address (UDP). */
    public InetSocketAddress cmdAddress() {
        return cmdAddress;
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** chronyd's output so far, for failure messages. */
    public String log() throws IOException {
        return Files.readString(log);
    }

    /**
     * {@code chronyc -c tracking} against this instance, split at commas: reference id, name, stratum, reference time
     * (s), system time (s, positive = slow), last offset, RMS offset, frequency, residual frequency, skew, root delay,
     * root dispersion, update interval, leap status.
     */
    public String[] trackingCsv() throws IOException {
        Process chronyc = new ProcessBuilder("chronyc", "-h", "127.0.0.1", "-p", Integer.toString(cmdAddress.getPort()),
                "-c", "tracking").redirectErrorStream(true).start();
        try {
            if (!chronyc.waitFor(5, TimeUnit.SECONDS)) {
                chronyc.destroyForcibly();
                throw new IOException("chronyc did not finish within 5 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            chronyc.destroyForcibly();
            throw new IOException("interrupted", e);
        }
        String out = new String(chronyc.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (chronyc.exitValue() != 0) {
            throw new IOException("chronyc failed (" + chronyc.exitValue() + "): " + out);
        }
        return out.split(",", -1);
    }

    /**
     * {@link #synchronised()}, and its root dispersion is under 100 ms: right after its first selection chronyd can
     * report more than a second (seen: 1.03 s), which a source with a 1 s root-distance limit rejects.
     */
    public boolean settled() throws IOException {
        String[] fields = trackingCsv();
        return fields.length >= 14 && !fields[2].equals("0") && fields[13].equals("Normal")
                && Double.parseDouble(fields[11]) < 0.1;
    }

    /** Whether chronyd has selected a source: a nonzero stratum and leap status Normal. */
    public boolean synchronised() throws IOException {
        String[] fields = trackingCsv();
        return fields.length >= 14 && !fields[2].equals("0") && fields[13].equals("Normal");
    }

    @Override
    public void close() {
        Processes.stop(process, Duration.ofSeconds(5));
    }
}
