package io.gnomon.clockd.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A real chronyd NTP server for tests, on a loopback address and a free port, serving the system clock
 * ({@code local stratum 1}) without touching it ({@code -x}). Runs in the foreground ({@code -d}) as a child
 * process, so closing the test kills it. Recipe: ../shared/TOOLCHAIN.md.
 */
public final class ChronyServer implements AutoCloseable {
    private final Process process;
    private final InetSocketAddress address;

    private ChronyServer(Process process, InetSocketAddress address) {
        this.process = process;
        this.address = address;
    }

    /** Whether chronyd is installed (bin/test installs it). */
    public static boolean available() {
        return Files.isExecutable(Path.of("/usr/sbin/chronyd")) || Files.isExecutable(Path.of("/usr/bin/chronyd"));
    }

    /**
     * Starts three chronyd servers, on 127.0.0.1, 127.0.0.2 and 127.0.0.3, each added to {@code started} (for
     * the test to close); returns their specs for clockd's {@code servers}.
     */
    public static java.util.List<String> startThreeOnLoopback(Path dir, java.util.List<AutoCloseable> started)
            throws IOException {
        java.util.List<String> specs = new java.util.ArrayList<>();
        for (String address : java.util.List.of("127.0.0.1", "127.0.0.2", "127.0.0.3")) {
            ChronyServer chrony = start(dir, address);
            started.add(chrony);
            specs.add(chrony.spec());
        }
        return specs;
    }

    /** Starts chronyd on {@code bindAddress} (e.g. 127.0.0.2) and waits until it answers an NTP query. */
    public static ChronyServer start(Path dir, String bindAddress) throws IOException {
        if (!available()) {
            throw new IOException("chronyd is not installed: run bin/test, which installs it (apt-get install -y chrony)");
        }
        Files.createDirectories(dir);
        int port = freeUdpPort(bindAddress);
        String tag = bindAddress.replace('.', '_') + "_" + port;
        Path conf = dir.resolve("chrony-" + tag + ".conf");
        Files.writeString(conf, String.join("\n",
                "local stratum 1",
                "allow 127.0.0.0/8",
                "port " + port,
                "bindaddress " + bindAddress,
                "cmdport 0",
                "bindcmdaddress /",
                "pidfile " + dir.resolve("chrony-" + tag + ".pid"),
                "driftfile " + dir.resolve("chrony-" + tag + ".drift"),
                ""));
        Path log = dir.resolve("chrony-" + tag + ".log");
        Process p = new ProcessBuilder("chronyd", "-x", "-d", "-u", "root", "-f", conf.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        ChronyServer server = new ChronyServer(p, new InetSocketAddress(InetAddress.getByName(bindAddress), port));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!server.answers(Duration.ofMillis(200))) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                server.close();
                throw new IOException("chronyd on " + bindAddress + ":" + port + " did not answer; log:\n"
                        + Files.readString(log));
            }
        }
        return server;
    }

    public InetSocketAddress address() {
        return address;
    }

    /** {@code host:port}, as clockd's configuration takes it. */
    public String spec() {
        return address.getAddress().getHostAddress() + ":" + address.getPort();
    }

    /** One plain NTP client exchange: true if a mode-4 reply arrives within {@code timeout}. */
    public boolean answers(Duration timeout) {
        try (DatagramSocket s = new DatagramSocket(0, address.getAddress())) {
            s.setSoTimeout((int) timeout.toMillis());
            byte[] req = new byte[48];
            req[0] = 0x23; // LI 0, version 4, mode 3
            req[40] = 1;   // a nonzero transmit timestamp
            s.send(new DatagramPacket(req, req.length, address));
            byte[] buf = new byte[128];
            DatagramPacket reply = new DatagramPacket(buf, buf.length);
            s.receive(reply);
            return reply.getLength() >= 48 && (buf[0] & 7) == 4;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static int freeUdpPort(String bindAddress) throws IOException {
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getByName(bindAddress))) {
            return s.getLocalPort();
        }
    }

    @Override
    public void close() {
        Processes.stop(process, Duration.ofSeconds(5));
    }
}
