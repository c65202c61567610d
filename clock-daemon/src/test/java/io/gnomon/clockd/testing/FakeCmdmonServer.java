package io.gnomon.clockd.testing;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A chronyd cmdmon responder for tests on 127.0.0.1 and an ephemeral port. It answers TRACKING requests with a
 * synchronised report about this host's clock (correction 0: the system clock is taken as true time, reference
 * time 100 ms ago) and, with a {@link Fault} set, breaks each reply in exactly one way.
 *
 * <p>Thread-safe: the setters may be called while it answers on its own thread.
 */
public final class FakeCmdmonServer implements AutoCloseable {

    /** How the next replies are wrong. */
    public enum Fault {
        NONE,
        /** The first 27 bytes (less than a header). */
        SHORT_HEADER,
        /** A whole header, but only 60 bytes of the 104. */
        SHORT_TRACKING,
        WRONG_VERSION,
        /** Packet type 1 (request). */
        WRONG_TYPE,
        /** Command echo 14 (n_sources). */
        WRONG_COMMAND,
        /** Reply code 2 (n_sources). */
        WRONG_REPLY_CODE,
        /** Status 2 (unauthorised). */
        ERROR_STATUS,
        /** Sequence number one off the request's. */
        WRONG_SEQUENCE,
        LEAP_3,
        STRATUM_0,
        STRATUM_16,
        NEGATIVE_ROOT_DELAY,
        /** Root dispersion as chrony encodes values above 1e100: the largest Float. */
        INFINITE_ROOT_DISPERSION,
        ZERO_REFERENCE_TIME,
        /** Reference time 10 s ahead of the clock. */
        FUTURE_REFERENCE_TIME,
        /** A correct reply sent from another port. */
        WRONG_SOURCE_PORT,
        /** No reply at all. */
        SILENT
    }

    private static final int MAX_REQUEST_BYTES = 1024;

    private final DatagramSocket socket;
    private final DatagramSocket otherPortSocket;
    private final Thread thread;
    private final AtomicLong requestsReceived = new AtomicLong();
    private volatile Fault fault = Fault.NONE;
    private volatile double rootDispersionSeconds = 5e-6;

    private FakeCmdmonServer() throws IOException {
        socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        otherPortSocket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        thread = new Thread(this::run, "fake-cmdmon-" + socket.getLocalPort());
        thread.setDaemon(true);
    }

    public static FakeCmdmonServer start() throws IOException {
        FakeCmdmonServer server = new FakeCmdmonServer();
        server.thread.start();
        return server;
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) socket.getLocalSocketAddress();
    }

    public void setFault(Fault fault) {
        this.fault = fault;
    }

    /** Root dispersion of the following valid replies. */
    public void setRootDispersion(Duration rootDispersion) {
        this.rootDispersionSeconds = rootDispersion.toNanos() / 1e9;
    }

    public long requestsReceived() {
        return requestsReceived.get();
    }

    static long nowEpochNanos() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    private void run() {
        byte[] buffer = new byte[MAX_REQUEST_BYTES];
        while (!socket.isClosed()) {
            DatagramPacket request = new DatagramPacket(buffer, buffer.length);
            try {
                socket.receive(request);
            } catch (SocketException e) {
                return; // closed
            } catch (IOException e) {
                continue;
            }
            requestsReceived.incrementAndGet();
            if (request.getLength() < 20) {
                continue;
            }
            int sequence = ByteBuffer.wrap(buffer).getInt(8);
            Fault f = fault;
            if (f == Fault.SILENT) {
                continue;
            }
            byte[] reply = reply(sequence, f);
            try {
                DatagramSocket from = f == Fault.WRONG_SOURCE_PORT ? otherPortSocket : socket;
                from.send(new DatagramPacket(reply, reply.length, request.getSocketAddress()));
            } catch (IOException e) {
                // the client is gone; keep serving
            }
        }
    }

    private byte[] reply(int sequence, Fault f) {
        long now = nowEpochNanos();
        CmdmonReply r = CmdmonReply.valid(sequence, now - 100_000_000L)
                .seconds(CmdmonReply.ROOT_DISPERSION, rootDispersionSeconds);
        switch (f) {
            case SHORT_HEADER -> {
                return r.bytes(27);
            }
            case SHORT_TRACKING -> {
                return r.bytes(60);
            }
            case WRONG_VERSION -> r.u8(0, 5);
            case WRONG_TYPE -> r.u8(1, 1);
            case WRONG_COMMAND -> r.u16(4, 14);
            case WRONG_REPLY_CODE -> r.u16(6, 2);
            case ERROR_STATUS -> r.u16(8, 2);
            case WRONG_SEQUENCE -> r.u32(16, sequence + 1);
            case LEAP_3 -> r.u16(54, 3);
            case STRATUM_0 -> r.u16(52, 0);
            case STRATUM_16 -> r.u16(52, 16);
            case NEGATIVE_ROOT_DELAY -> r.seconds(CmdmonReply.ROOT_DELAY, -1e-3);
            case INFINITE_ROOT_DISPERSION -> r.seconds(CmdmonReply.ROOT_DISPERSION, 1e200);
            case ZERO_REFERENCE_TIME -> r.referenceTime(0);
            case FUTURE_REFERENCE_TIME -> r.referenceTime(now + 10_000_000_000L);
            default -> {
            }
        }
        return r.bytes();
    }

    @Override
    public void close() {
        socket.close();
        otherPortSocket.close();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
