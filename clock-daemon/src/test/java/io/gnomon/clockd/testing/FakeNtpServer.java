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
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * An NTPv4 server for tests, on 127.0.0.1 and an ephemeral port. It answers each client request (mode 3) from a
 * realtime clock (by default the JVM's, {@link Instant#now()}, which has nanosecond resolution on Linux) plus a
 * settable offset, echoing the request's transmit timestamp as the reply's origin, as a real server does.
 *
 * <p>A {@link Fault} set at run time makes every following reply wrong in exactly one way, for testing a client's
 * validation and its recovery once the fault is cleared.
 *
 * <pre>{@code
 * try (FakeNtpServer server = FakeNtpServer.start()) {
 *     server.setOffset(Duration.ofMillis(5));       // a server that is 5 ms ahead
 *     server.setFault(FakeNtpServer.Fault.LEAP_3);  // ...and says it is unsynchronized
 *     NtpSource.Server config = new NtpSource.Server("ntp:fake", server.address());
 * }
 * }</pre>
 *
 * <p>Thread-safe: the setters may be called while the server answers on its own thread.
 */
public final class FakeNtpServer implements AutoCloseable {

    /** How the next replies are wrong. Each fault breaks exactly one rule a client checks. */
    public enum Fault {
        /** Correct replies. */
        NONE,
        /** The first 47 bytes of a correct reply. */
        SHORT_PACKET,
        /** Mode 3 (client) instead of 4 (server). */
        WRONG_MODE,
        /** Stratum 0 with reference id {@link #setKissCode} ("RATE" by default): a kiss-o'-death. */
        KISS_OF_DEATH,
        /** Stratum 16: unsynchronized. */
        STRATUM_16,
        /** Leap indicator 3: clock unsynchronized. */
        LEAP_3,
        /** Origin timestamp that is not the request's transmit timestamp. */
        WRONG_ORIGIN,
        /** Transmit timestamp 0. */
        ZERO_TRANSMIT,
        /** Root dispersion of 20 s. */
        ABSURD_ROOT_DISPERSION,
        /** Transmit timestamp 1 ms before the receive timestamp. */
        BAD_TIMESTAMPS,
        /** No reply at all. */
        SILENT,
        /** A correct reply, but sent from another port than the one the request went to. */
        WRONG_SOURCE_PORT
    }

    /** The reference id a stratum-1 server sends: an ASCII clock name. */
    private static final int REFERENCE_ID_LOCL = 'L' << 24 | 'O' << 16 | 'C' << 8 | 'L';
    private static final long NTP_TO_UNIX_EPOCH_SECONDS = 2_208_988_800L;
    private static final int MAX_REQUEST_BYTES = 1024;

    private final DatagramSocket socket;
    private final DatagramSocket otherPortSocket;
    private final LongSupplier realtimeEpochNanos;
    private final Thread thread;
    private final AtomicLong requestsReceived = new AtomicLong();
    private final AtomicLong repliesSent = new AtomicLong();
    private final java.util.List<Long> requestMonotonicNanos = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile String kissCode = "RATE";
    private volatile Fault fault = Fault.NONE;
    private volatile long offsetNanos;
    private volatile int stratum = 1;
    private volatile int leapIndicator;
    private volatile int precision = -20;
    private volatile Duration rootDelay = Duration.ZERO;
    private volatile Duration rootDispersion = Duration.ofNanos(10_000);
    private volatile boolean closed;

    private FakeNtpServer(LongSupplier realtimeEpochNanos) throws IOException {
        this.realtimeEpochNanos = realtimeEpochNanos;
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        this.socket = new DatagramSocket(new InetSocketAddress(loopback, 0));
        try {
            this.otherPortSocket = new DatagramSocket(new InetSocketAddress(loopback, 0));
        } catch (IOException e) {
            socket.close();
            throw e;
        }
        this.thread = new Thread(this::serve, "fake-ntp-server-" + socket.getLocalPort());
        this.thread.setDaemon(true);
    }

    /** A server answering from the JVM's realtime clock, {@link Instant#now()}. */
    public static FakeNtpServer start() throws IOException {
        return start(FakeNtpServer::instantNowEpochNanos);
    }

    /** A server answering from {@code realtimeEpochNanos} (nanoseconds since the Unix epoch), e.g. a test clock. */
    public static FakeNtpServer start(LongSupplier realtimeEpochNanos) throws IOException {
        FakeNtpServer server = new FakeNtpServer(realtimeEpochNanos);
        server.thread.start();
        return server;
    }

    /** {@link Instant#now()} in nanoseconds since the epoch: the time this server serves by default. */
    public static long instantNowEpochNanos() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    /** The UDP port the server listens on (on 127.0.0.1). */
    public int port() {
        return socket.getLocalPort();
    }

    /** 127.0.0.1 and {@link #port()}: where clients send requests. */
    public InetSocketAddress address() {
        return new InetSocketAddress(socket.getLocalAddress(), socket.getLocalPort());
    }

    /** Makes the following replies wrong in the given way ({@link Fault#NONE} to answer correctly again). */
    public void setFault(Fault fault) {
        if (fault == null) {
            throw new IllegalArgumentException("fault must not be null");
        }
        this.fault = fault;
    }

    /** The reference id of {@link Fault#KISS_OF_DEATH} replies: four ASCII characters, e.g. "DENY". */
    public void setKissCode(String code) {
        if (code == null || code.length() != 4) {
            throw new IllegalArgumentException("a kiss code is 4 characters, was " + code);
        }
        this.kissCode = code;
    }

    /** When each client request arrived (CLOCK_MONOTONIC, {@link System#nanoTime()}), in order. */
    public java.util.List<Long> requestMonotonicNanos() {
        return java.util.List.copyOf(requestMonotonicNanos);
    }

    public Fault fault() {
        return fault;
    }

    /** Serve the clock plus {@code offset}: a server that lies (or is simply wrong) by that much. */
    public void setOffset(Duration offset) {
        this.offsetNanos = offset.toNanos();
    }

    /** The leap indicator of correct replies: 0 none (default), 1 insert, 2 delete a second at the day's end. */
    public void setLeapIndicator(int leapIndicator) {
        if (leapIndicator < 0 || leapIndicator > 2) {
            throw new IllegalArgumentException("leapIndicator must be 0, 1 or 2 (use Fault.LEAP_3 for 3), was " + leapIndicator);
        }
        this.leapIndicator = leapIndicator;
    }

    /** The stratum of correct replies, 1 to 15 (default 1). */
    public void setStratum(int stratum) {
        if (stratum < 1 || stratum > 15) {
            throw new IllegalArgumentException("stratum must be in [1, 15] (use a Fault for others), was " + stratum);
        }
        this.stratum = stratum;
    }

    /** The precision field, log2 seconds (default -20, about 1 us). */
    public void setPrecision(int precision) {
        if (precision < -128 || precision > 127) {
            throw new IllegalArgumentException("precision must fit a signed byte, was " + precision);
        }
        this.precision = precision;
    }

    /** The advertised root delay (default 0), sent rounded up to the 16.16 format's 15.3 us steps. */
    public void setRootDelay(Duration rootDelay) {
        this.rootDelay = requireShortFormat("rootDelay", rootDelay);
    }

    /** The advertised root dispersion (default 10 us), sent rounded up to the 16.16 format's 15.3 us steps. */
    public void setRootDispersion(Duration rootDispersion) {
        this.rootDispersion = requireShortFormat("rootDispersion", rootDispersion);
    }

    /** Client requests received (any fault, SILENT included). */
    public long requestsReceived() {
        return requestsReceived.get();
    }

    /** Replies sent, correct or faulty. */
    public long repliesSent() {
        return repliesSent.get();
    }

    @Override
    public void close() {
        closed = true;
        socket.close();
        otherPortSocket.close();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * A correct server reply to {@code request}, with the given receive and transmit times (ns since the epoch)
     * and this class's defaults (stratum 1, precision -20, root delay 0, root dispersion 10 us). For tests that
     * play the server by hand.
     */
    public static byte[] reply(byte[] request, long receiveEpochNanos, long transmitEpochNanos) {
        return buildReply(request, receiveEpochNanos, transmitEpochNanos, Fault.NONE, 1, -20, 0,
                toShortFormatCeil(Duration.ofNanos(10_000)));
    }

    private void serve() {
        byte[] buffer = new byte[MAX_REQUEST_BYTES];
        while (!closed) {
            try {
                DatagramPacket request = new DatagramPacket(buffer, buffer.length);
                socket.receive(request);
                long receiveEpochNanos = realtimeEpochNanos.getAsLong() + offsetNanos;
                if (request.getLength() < 48 || (buffer[0] & 7) != 3) {
                    continue; // not a client request
                }
                requestMonotonicNanos.add(System.nanoTime());
                requestsReceived.incrementAndGet();
                Fault currentFault = fault;
                if (currentFault == Fault.SILENT) {
                    continue;
                }
                byte[] requestBytes = Arrays.copyOf(buffer, 48);
                long transmitEpochNanos = realtimeEpochNanos.getAsLong() + offsetNanos;
                byte[] reply = buildReply(requestBytes, receiveEpochNanos, transmitEpochNanos, currentFault, stratum,
                        precision, toShortFormatCeil(rootDelay), toShortFormatCeil(rootDispersion));
                if (currentFault == Fault.KISS_OF_DEATH) {
                    ByteBuffer.wrap(reply).putInt(12, asciiId(kissCode));
                }
                if (currentFault != Fault.LEAP_3) {
                    reply[0] = (byte) ((reply[0] & 0x3F) | leapIndicator << 6);
                }
                DatagramSocket from = currentFault == Fault.WRONG_SOURCE_PORT ? otherPortSocket : socket;
                from.send(new DatagramPacket(reply, reply.length, request.getSocketAddress()));
                repliesSent.incrementAndGet();
            } catch (SocketException e) {
                if (closed) {
                    return;
                }
            } catch (IOException | RuntimeException e) {
                // a test server must survive whatever it is sent; keep answering
            }
        }
    }

    private static byte[] buildReply(byte[] request, long receiveEpochNanos, long transmitEpochNanos, Fault fault,
                                     int stratum, int precision, int rootDelay, int rootDispersion) {
        long origin = ByteBuffer.wrap(request, 40, 8).getLong();
        int leap = fault == Fault.LEAP_3 ? 3 : 0;
        int mode = fault == Fault.WRONG_MODE ? 3 : 4;
        int replyStratum = switch (fault) {
            case KISS_OF_DEATH -> 0;
            case STRATUM_16 -> 16;
            default -> stratum;
        };
        long receive = toNtp(receiveEpochNanos);
        long transmit = switch (fault) {
            case ZERO_TRANSMIT -> 0;
            case BAD_TIMESTAMPS -> toNtp(receiveEpochNanos - 1_000_000);
            default -> toNtp(Math.max(transmitEpochNanos, receiveEpochNanos));
        };
        ByteBuffer b = ByteBuffer.allocate(48);
        b.put((byte) (leap << 6 | 4 << 3 | mode));
        b.put((byte) replyStratum);
        b.put(request[2]); // poll: echo the client's
        b.put((byte) precision);
        b.putInt(rootDelay);
        b.putInt(fault == Fault.ABSURD_ROOT_DISPERSION ? 20 << 16 : rootDispersion);
        b.putInt(fault == Fault.KISS_OF_DEATH ? asciiId("RATE") : REFERENCE_ID_LOCL);
        b.putLong(toNtp(receiveEpochNanos - 1_000_000_000L)); // reference: last set a second ago
        b.putLong(fault == Fault.WRONG_ORIGIN ? ~origin : origin);
        b.putLong(receive);
        b.putLong(transmit);
        byte[] reply = b.array();
        return fault == Fault.SHORT_PACKET ? Arrays.copyOf(reply, 47) : reply;
    }

    private static int asciiId(String code) {
        return code.charAt(0) << 24 | code.charAt(1) << 16 | code.charAt(2) << 8 | code.charAt(3);
    }

    /** Epoch nanoseconds as an NTP era-0 32.32 timestamp, rounded to the nearest 2^-32 s. */
    private static long toNtp(long epochNanos) {
        long seconds = Math.floorDiv(epochNanos, 1_000_000_000L) + NTP_TO_UNIX_EPOCH_SECONDS;
        long nanos = Math.floorMod(epochNanos, 1_000_000_000L);
        long fraction = ((nanos << 32) + 500_000_000L) / 1_000_000_000L;
        return (seconds << 32) + fraction; // a fraction of 2^32 carries into the seconds
    }

    private static int toShortFormatCeil(Duration duration) {
        long nanos = duration.toNanos();
        return (int) (((nanos << 16) + 999_999_999L) / 1_000_000_000L);
    }

    private static Duration requireShortFormat(String field, Duration value) {
        if (value == null || value.isNegative() || value.compareTo(Duration.ofSeconds(32_767)) > 0) {
            throw new IllegalArgumentException(field + " must be in [0, 32767 s], was " + value);
        }
        return value;
    }
}
