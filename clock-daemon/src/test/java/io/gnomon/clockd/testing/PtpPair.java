package io.gnomon.clockd.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real ptp4l master and slave for tests, each in a network namespace of its own, joined by a veth pair, with
 * software timestamping; the slave runs the null servo, so it measures CLOCK_REALTIME and never steers it. Both
 * namespaces share this host's one CLOCK_REALTIME, so the true offset between master and slave is zero and
 * whatever the slave reports is measurement error. Recipe: ../shared/TOOLCHAIN.md (PTP).
 *
 * <p>Names carry a random suffix so concurrent pairs do not collide. The management sockets live in the host's
 * filesystem under the given directory, so a client in the root namespace talks to them. {@link #close()} kills
 * both ptp4l processes and deletes both namespaces (the veth goes with them), also when {@link #start} fails half
 * way, and a shutdown hook does the same if the JVM exits first.
 */
public final class PtpPair implements AutoCloseable {
    private static final long COMMAND_TIMEOUT_SECONDS = 10;

    private final String suffix;
    private final String masterNamespace;
    private final String slaveNamespace;
    private final Path masterSocket;
    private final Path slaveSocket;
    private final Path masterLog;
    private final Path slaveLog;
    private final List<String> namespaces = new ArrayList<>();
    private final List<Process> processes = new ArrayList<>();
    private final Thread shutdownHook = new Thread(this::cleanUp, "ptp-pair-cleanup");
    private boolean closed;

    private PtpPair(Path dir, String suffix) {
        this.suffix = suffix;
        this.masterNamespace = "gnomon-ptpa-" + suffix;
        this.slaveNamespace = "gnomon-ptpb-" + suffix;
        this.masterSocket = dir.resolve("ptpa-" + suffix + ".sock");
        this.slaveSocket = dir.resolve("ptpb-" + suffix + ".sock");
        this.masterLog = dir.resolve("ptpa-" + suffix + ".log");
        this.slaveLog = dir.resolve("ptpb-" + suffix + ".log");
    }

    /** Whether ptp4l, pmc and ip are installed and this process is root (bin/test installs the packages). */
    public static boolean available() {
        return executable("ptp4l") && executable("pmc") && executable("ip")
                && "root".equals(System.getProperty("user.name"));
    }

    private static boolean executable(String name) {
        for (String dir : new String[]{"/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
            if (Files.isExecutable(Path.of(dir, name))) {
                return true;
            }
        }
        return false;
    }

    /**
     * Creates the namespaces and the veth pair and starts both ptp4l processes; returns at once (the slave takes a
     * few seconds to select the master: wait for what the test needs).
     *
     * @param dir             where the management sockets and ptp4l's logs go
     * @param masterExtraArgs added to the master's command line, e.g. {@code --clockAccuracy 0x20}
     */
    public static PtpPair start(Path dir, String... masterExtraArgs) throws IOException {
        if (!available()) {
            throw new IOException("ptp4l, pmc or ip missing, or not root: run bin/test, which installs linuxptp and"
                    + " iproute2");
        }
        Files.createDirectories(dir);
        byte[] random = new byte[3];
        new SecureRandom().nextBytes(random);
        String suffix = String.format("%02x%02x%02x", random[0], random[1], random[2]);
        PtpPair pair = new PtpPair(dir, suffix);
        Runtime.getRuntime().addShutdownHook(pair.shutdownHook);
        try {
            pair.setUp(masterExtraArgs);
        } catch (IOException | RuntimeException e) {
            pair.close();
            throw e;
        }
        return pair;
    }

    private void setUp(String[] masterExtraArgs) throws IOException {
        String va = "gva" + suffix;
        String vb = "gvb" + suffix;
        run("ip", "netns", "add", masterNamespace);
        namespaces.add(masterNamespace);
        run("ip", "netns", "add", slaveNamespace);
        namespaces.add(slaveNamespace);
        run("ip", "link", "add", va, "type", "veth", "peer", "name", vb);
        try {
            run("ip", "link", "set", va, "netns", masterNamespace);
            run("ip", "link", "set", vb, "netns", slaveNamespace);
        } catch (IOException e) {
            runQuietly("ip", "link", "del", va); // still in the root namespace: delete it here
            throw e;
        }
        run("ip", "-n", masterNamespace, "addr", "add", "10.99.0.1/24", "dev", va);
        run("ip", "-n", slaveNamespace, "addr", "add", "10.99.0.2/24", "dev", vb);
        run("ip", "-n", masterNamespace, "link", "set", va, "up");
        run("ip", "-n", slaveNamespace, "link", "set", vb, "up");

        List<String> master = new ArrayList<>(List.of("ip", "netns", "exec", masterNamespace,
                "ptp4l", "-i", va, "-S", "-m", "--uds_address", masterSocket.toString()));
        master.addAll(List.of(masterExtraArgs));
        processes.add(new ProcessBuilder(master).redirectErrorStream(true).redirectOutput(masterLog.toFile()).start());
        processes.add(new ProcessBuilder("ip", "netns", "exec", slaveNamespace,
                "ptp4l", "-i", vb, "-S", "-s", "-m", "--uds_address", slaveSocket.toString(), "--clock_servo=nullf")
                .redirectErrorStream(true).redirectOutput(slaveLog.toFile()).start());
    }

    /** The slave's management socket ({@code uds_address}). */
    public Path slaveSocket() {
        return slaveSocket;
    }

    /** The master's management socket. */
    public Path masterSocket() {
        return masterSocket;
    }

    /** Both ptp4l logs, for a failure message. */
    public String logs() {
        return "--- master " + masterLog + "\n" + readQuietly(masterLog) + "--- slave " + slaveLog + "\n"
                + readQuietly(slaveLog);
    }

    /** The namespaces this pair made (for a test that checks they are gone). */
    public List<String> namespaceNames() {
        return List.of(masterNamespace, slaveNamespace);
    }

    /** Whether both ptp4l processes are still running. */
    public boolean running() {
        synchronized (this) {
            return processes.size() == 2 && processes.stream().allMatch(Process::isAlive);
        }
    }

    /**
     * Runs {@code pmc -u -b 0 -s <slave socket> <command>} and returns its output.
     *
     * @param command e.g. {@code GET TIME_STATUS_NP}
     */
    public String pmc(String command) throws IOException {
        return run("pmc", "-u", "-b", "0", "-s", slaveSocket.toString(), command);
    }

    @Override
    public void close() {
        cleanUp();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running or has run
        }
    }

    private synchronized void cleanUp() {
        if (closed) {
            return;
        }
        closed = true;
        for (Process p : processes) {
            p.destroy();
        }
        for (Process p : processes) {
            try {
                if (!p.waitFor(5, TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
            }
        }
        for (String namespace : namespaces) {
            runQuietly("ip", "netns", "del", namespace); // its veth end goes with it, and takes the peer along
        }
        for (Path socket : List.of(masterSocket, slaveSocket)) {
            try {
                Files.deleteIfExists(socket);
            } catch (IOException ignored) {
                // best effort: the directory is the test's temporary directory
            }
        }
    }

    /** Whether network namespace {@code name} exists. */
    public static boolean namespaceExists(String name) throws IOException {
        return run("ip", "netns", "list").lines().anyMatch(line -> line.equals(name) || line.startsWith(name + " "));
    }

    private static String run(String... command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output;
        try {
            if (!p.waitFor(COMMAND_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + ": no exit within " + COMMAND_TIMEOUT_SECONDS + " s");
            }
            output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IOException(String.join(" ", command) + ": interrupted", e);
        }
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " exited " + p.exitValue() + ": " + output.strip());
        }
        return output;
    }

    private static void runQuietly(String... command) {
        try {
            run(command);
        } catch (IOException e) {
            System.err.println("PtpPair cleanup: " + e.getMessage());
        }
    }

    private static String readQuietly(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return "(" + e + ")\n";
        }
    }
}
