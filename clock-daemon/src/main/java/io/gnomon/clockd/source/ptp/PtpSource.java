package io.gnomon.clockd.source.ptp;

import io.gnomon.clockd.SystemClocks;
import io.gnomon.clockd.select.Measurement;
import io.gnomon.clockd.select.RejectReason;
import io.gnomon.clockd.select.SourceListener;
import io.gnomon.clockd.source.RateLimitedLog;
import io.gnomon.clockd.source.SourceThreads;
import io.gnomon.clockd.source.ptp.PtpManagement.CurrentDataSet;
import io.gnomon.clockd.source.ptp.PtpManagement.ParentDataSet;
import io.gnomon.clockd.source.ptp.PtpManagement.Rejected;
import io.gnomon.clockd.source.ptp.PtpManagement.TimeStatus;
import org.newsclub.net.unix.AFUNIXDatagramChannel;
import org.newsclub.net.unix.AFUNIXSocketAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

/**
 * The PTP source runtime: polls ptp4l's management socket (a UNIX datagram socket) for TIME_STATUS_NP,
 * PARENT_DATA_SET and CURRENT_DATA_SET, and reports each poll's {@link Measurement} or rejection to a
 * {@link SourceListener}. The wire format is in {@link PtpManagement}, the bound in {@link PtpBound}; this class
 * owns the socket, the thread, the sequence ids and the clock readings.
 *
 * <pre>{@code
 * PtpSource source = new PtpSource(PtpSource.Config.defaults(Path.of("/var/run/ptp4l")), listener,
 *         SystemClocks.SYSTEM);
 * source.start();
 * ...
 * source.close();
 * }</pre>
 *
 * <p>ptp4l answers to the sender's address, so the client binds a socket of its own, in a fresh private
 * directory (mode 0700) under {@link Config#clientDirectory()}; {@link #close()} removes both. The JDK's
 * UNIX-domain channels are stream-only, so the socket comes from junixsocket.
 *
 * <p>Each poll sends the three GETs with consecutive sequence ids and waits up to {@link Config#replyTimeoutNanos()}
 * for the three RESPONSEs; then it reads the clocks once and hands everything to {@link PtpBound#measure}. A reply
 * is matched to its GET by sequence id. A datagram whose sequence id matches nothing outstanding, or too short or
 * garbled to carry one, is reported and leaves the requests outstanding, so a stray datagram cannot cancel the
 * real reply. A reply with a matching sequence id that is malformed or an error status fails the poll (reported
 * once, with its reason). Unanswered requests at the deadline are one {@link RejectReason#TIMEOUT}. Datagrams
 * from any address other than ptp4l's socket are {@link RejectReason#UNEXPECTED_SOURCE}.
 *
 * <p>The listener is called on this source's single thread, one call at a time; it must return quickly. Nothing
 * a datagram contains can stop the thread: every failure is reported or logged (rate-limited) and the loop goes
 * on until {@link #close()}.
 */
public final class PtpSource implements AutoCloseable {

    /** Largest datagram read; ptp4l's replies to these GETs are at most 104 bytes. */
    public static final int MAX_DATAGRAM_BYTES = 1500;
    /** Datagrams read per wake-up before timers are looked at again, so a flood cannot starve the polls. */
    static final int MAX_DATAGRAMS_PER_WAKEUP = 64;
    private static final long CLOSE_JOIN_MILLIS = 5_000;
    private static final String CLIENT_SOCKET_NAME = "ptp-mgmt.sock";
    private static final int[] MANAGEMENT_IDS = {
            PtpManagement.MID_TIME_STATUS_NP, PtpManagement.MID_PARENT_DATA_SET, PtpManagement.MID_CURRENT_DATA_SET};

    private static final Logger log = LoggerFactory.getLogger(PtpSource.class);

    /**
     * Every setting of the PTP source, with its unit.
     *
     * @param name              the source name reported to the listener, e.g. {@code ptp:/var/run/ptp4l}
     * @param socketPath        ptp4l's management socket ({@code uds_address}, default {@code /var/run/ptp4l})
     * @param clientDirectory   where the client's own socket directory is created (e.g. {@code /tmp}); the
     *                          path must stay under 108 bytes, the UNIX socket limit
     * @param pollIntervalNanos time between the starts of two polls
     * @param replyTimeoutNanos a poll whose three replies have not all arrived by then is a
     *                          {@link RejectReason#TIMEOUT}; at most the poll interval
     * @param bound             the bound's configuration ({@link PtpBound.Config})
     */
    public record Config(String name, Path socketPath, Path clientDirectory, long pollIntervalNanos,
                         long replyTimeoutNanos, PtpBound.Config bound) {
        public static final long DEFAULT_POLL_INTERVAL_NANOS = Duration.ofSeconds(1).toNanos();
        /** ptp4l answers from its main loop within microseconds; 500 ms only matters when it is stuck. */
        public static final long DEFAULT_REPLY_TIMEOUT_NANOS = Duration.ofMillis(500).toNanos();

        public Config {
            if (name == null || name.isBlank()) {
                throw new IllegalArgumentException("name must be non-blank, was '" + name + "'");
            }
            if (socketPath == null || clientDirectory == null || bound == null) {
                throw new IllegalArgumentException("socketPath, clientDirectory and bound must not be null");
            }
            if (pollIntervalNanos <= 0) {
                throw new IllegalArgumentException("pollIntervalNanos must be > 0, was " + pollIntervalNanos);
            }
            if (replyTimeoutNanos <= 0 || replyTimeoutNanos > pollIntervalNanos) {
                throw new IllegalArgumentException("replyTimeoutNanos must be in (0, pollIntervalNanos "
                        + pollIntervalNanos + "], was " + replyTimeoutNanos);
            }
        }

        /** Name {@code ptp:<socketPath>}, client directory the system temp directory, the defaults above. */
        public static Config defaults(Path socketPath) {
            return new Config("ptp:" + socketPath, socketPath, Path.of(System.getProperty("java.io.tmpdir")),
                    DEFAULT_POLL_INTERVAL_NANOS, DEFAULT_REPLY_TIMEOUT_NANOS, PtpBound.Config.defaults());
        }
    }

    /** One outstanding GET. */
    private static final class Pending {
        final int managementId;
        boolean answered;

        Pending(int managementId) {
            this.managementId = managementId;
        }
    }

    /** When each key was last logged at WARN, and how many were logged at DEBUG since. */
    private final Config config;
    private final RateLimitedLog rateLimited;
    private final SourceListener listener;
    private final SystemClocks clocks;
    /** Outstanding GETs of the current poll, by sequence id; empty between polls. Source thread only. */
    private final Map<Integer, Pending> pending = new HashMap<>();
    private TimeStatus timeStatus;
    private ParentDataSet parentDataSet;
    private CurrentDataSet currentDataSet;
    private int nextSequenceId;
    private long pollDeadlineMonotonicNanos;
    private long nextPollMonotonicNanos;

    private Path clientDirectory;
    private AFUNIXSocketAddress ptp4lAddress;
    private AFUNIXDatagramChannel channel;
    private Selector selector;
    private Thread thread;
    private volatile boolean closed;

    /**
     * @param config   socket paths, intervals and the bound's configuration
     * @param listener receives every measurement and rejection, on this source's thread
     * @param clocks   CLOCK_MONOTONIC for the schedule and the realtime/monotonic pair for each measurement
     */
    public PtpSource(Config config, SourceListener listener, SystemClocks clocks) {
        if (config == null || listener == null || clocks == null) {
            throw new IllegalArgumentException("config, listener and clocks must not be null");
        }
        this.config = config;
        this.listener = listener;
        this.clocks = clocks;
        this.rateLimited = new RateLimitedLog(log, clocks);
    }

    /**
     * Creates the client socket and starts polling at once. Calling it again while running does nothing.
     *
     * @throws IOException           if the client directory or socket cannot be created
     * @throws IllegalStateException if closed
     */
    public synchronized void start() throws IOException {
        if (closed) {
            throw new IllegalStateException("PtpSource " + config.name() + " is closed");
        }
        if (thread != null) {
            return;
        }
        Path dir = Files.createTempDirectory(config.clientDirectory(), "gnomon-ptp-"); // 0700 on POSIX
        AFUNIXDatagramChannel opened = null;
        Selector openedSelector = null;
        try {
            ptp4lAddress = AFUNIXSocketAddress.of(config.socketPath());
            opened = AFUNIXDatagramChannel.open();
            opened.setDeleteOnClose(true);
            opened.bind(AFUNIXSocketAddress.of(dir.resolve(CLIENT_SOCKET_NAME)));
            opened.configureBlocking(false);
            openedSelector = opened.provider().openSelector();
            opened.register(openedSelector, SelectionKey.OP_READ);
        } catch (IOException | RuntimeException e) {
            closeQuietly(openedSelector);
            closeQuietly(opened);
            deleteQuietly(dir.resolve(CLIENT_SOCKET_NAME));
            deleteQuietly(dir);
            throw e;
        }
        clientDirectory = dir;
        channel = opened;
        selector = openedSelector;
        nextPollMonotonicNanos = clocks.nanoTime();
        thread = new Thread(this::run, "ptp-source-" + config.socketPath());
        thread.setDaemon(true);
        thread.start();
        log.info("PTP source {} polling {} from {}", config.name(), config.socketPath(), dir);
    }

    /** The client's own socket path, once started (for tests and the log). */
    public synchronized Path clientSocketPath() {
        if (clientDirectory == null) {
            throw new IllegalStateException("PtpSource is not started");
        }
        return clientDirectory.resolve(CLIENT_SOCKET_NAME);
    }

    /** Stops the thread, closes the socket and removes its directory. Idempotent; safe to call from the listener. */
    @Override
    public void close() {
        Thread toJoin;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            toJoin = thread;
            if (selector != null) {
                selector.wakeup();
            }
        }
        SourceThreads.join(toJoin, CLOSE_JOIN_MILLIS, log, "PTP source");
        synchronized (this) {
            closeQuietly(channel);
            closeQuietly(selector);
            if (clientDirectory != null) {
                deleteQuietly(clientDirectory.resolve(CLIENT_SOCKET_NAME));
                deleteQuietly(clientDirectory);
            }
        }
    }

    private void run() {
        ByteBuffer buffer = ByteBuffer.allocate(MAX_DATAGRAM_BYTES);
        int consecutiveFailures = 0;
        while (!closed) {
            try {
                long now = clocks.nanoTime();
                if (!pending.isEmpty() && now - pollDeadlineMonotonicNanos >= 0) {
                    timeOut();
                }
                if (pending.isEmpty() && now - nextPollMonotonicNanos >= 0) {
                    sendPoll(now);
                }
                long wakeUp = pending.isEmpty() ? nextPollMonotonicNanos : pollDeadlineMonotonicNanos;
                long waitNanos = wakeUp - clocks.nanoTime();
                if (waitNanos > 0) {
                    // ceil to whole ms: waking early only costs one more turn of the loop
                    selector.select(Math.max(1, (waitNanos + 999_999) / 1_000_000));
                } else {
                    selector.selectNow();
                }
                selector.selectedKeys().clear();
                receiveAvailable(buffer);
                consecutiveFailures = 0;
            } catch (ClosedSelectorException | ClosedChannelException e) {
                if (!closed) {
                    log.error("PTP source {}: socket closed unexpectedly; no more measurements", config.name(), e);
                }
                return;
            } catch (IOException | RuntimeException e) {
                // Not caused by a datagram's content (handled below): the selector or socket failed. Back off a
                // little, bounded, so a persistent failure neither spins nor stops the source.
                consecutiveFailures++;
                warnLimited("loop", "PTP source " + config.name() + " loop failed (" + consecutiveFailures
                        + " in a row)", e);
                LockSupport.parkNanos(Math.min(consecutiveFailures, 100) * 1_000_000L);
            }
        }
    }

    private void sendPoll(long nowMonotonicNanos) throws ClosedChannelException {
        timeStatus = null;
        parentDataSet = null;
        currentDataSet = null;
        nextPollMonotonicNanos = nowMonotonicNanos + config.pollIntervalNanos();
        pollDeadlineMonotonicNanos = nowMonotonicNanos + config.replyTimeoutNanos();
        for (int managementId : MANAGEMENT_IDS) {
            int sequenceId = nextSequenceId;
            nextSequenceId = (nextSequenceId + 1) & 0xFFFF;
            pending.put(sequenceId, new Pending(managementId));
            ByteBuffer request = ByteBuffer.wrap(PtpManagement.getRequest(sequenceId, managementId));
            try {
                if (channel.send(request, ptp4lAddress) == 0) {
                    warnLimited("send", "PTP source " + config.name() + ": send buffer full; GET dropped (it will"
                            + " time out)", null);
                }
            } catch (ClosedChannelException e) {
                throw e;
            } catch (IOException e) {
                // e.g. ptp4l not running (ENOENT, ECONNREFUSED): the GET counts as sent and its timeout reports it
                warnLimited("send", "PTP source " + config.name() + ": send to " + config.socketPath() + " failed: "
                        + e, null);
            }
        }
    }

    private void timeOut() {
        StringBuilder missing = new StringBuilder();
        for (Map.Entry<Integer, Pending> e : pending.entrySet()) {
            if (!e.getValue().answered) {
                missing.append(missing.isEmpty() ? "" : ", ").append("0x")
                        .append(Integer.toHexString(e.getValue().managementId)).append(" (seq ").append(e.getKey())
                        .append(")");
            }
        }
        pending.clear();
        reject(RejectReason.TIMEOUT, "no reply within " + config.replyTimeoutNanos() / 1_000_000 + " ms from "
                + config.socketPath() + " for " + missing);
    }

    private void receiveAvailable(ByteBuffer buffer) throws ClosedChannelException {
        for (int i = 0; i < MAX_DATAGRAMS_PER_WAKEUP; i++) {
            buffer.clear();
            SocketAddress from;
            try {
                from = channel.receive(buffer);
            } catch (ClosedChannelException e) {
                throw e;
            } catch (IOException e) {
                warnLimited("receive", "PTP source " + config.name() + ": receive failed: " + e, null);
                continue;
            }
            if (from == null) {
                return;
            }
            try {
                handleDatagram(from, buffer.array(), buffer.position());
            } catch (RuntimeException e) {
                // PtpManagement never throws on content (tested on arbitrary bytes); reaching here is a bug. Go on.
                warnLimited("datagram", "PTP source " + config.name() + ": datagram of " + buffer.position()
                        + " bytes from " + from + " could not be handled", e);
            }
        }
    }

    private void handleDatagram(SocketAddress from, byte[] bytes, int length) {
        if (!ptp4lAddress.equals(from)) {
            reject(RejectReason.UNEXPECTED_SOURCE, "datagram of " + length + " bytes from " + from + ", not "
                    + config.socketPath());
            return;
        }
        int sequenceId = PtpManagement.sequenceIdOf(bytes, length);
        Pending request = sequenceId < 0 ? null : pending.get(sequenceId);
        if (request == null || request.answered) {
            // Not a reply we are waiting for: late, duplicated, garbled or spoofed. Say which (the parser checks
            // the structure before the sequence id, and an expected id one past the datagram's cannot match), and
            // keep waiting for the real replies.
            PtpManagement.Response response = PtpManagement.parseResponse(bytes, length,
                    (Math.max(sequenceId, 0) + 1) & 0xFFFF, PtpManagement.MID_TIME_STATUS_NP);
            Rejected rejected = response instanceof Rejected r ? r
                    : new Rejected(RejectReason.PTP_SEQUENCE_MISMATCH, "unexpected reply");
            String why = request != null ? "duplicate reply" : pending.isEmpty() ? "no request outstanding"
                    : "matches no outstanding GET";
            reject(rejected.reason(), rejected.detail() + " (" + why + ")");
            return;
        }
        PtpManagement.Response response = PtpManagement.parseResponse(bytes, length, sequenceId, request.managementId);
        if (response instanceof Rejected rejected) {
            // Written for this request (its sequence id matches) and unusable: the poll has failed.
            pending.clear();
            reject(rejected.reason(), rejected.detail());
            return;
        }
        request.answered = true;
        if (response instanceof TimeStatus t) {
            timeStatus = t;
        } else if (response instanceof ParentDataSet p) {
            parentDataSet = p;
        } else if (response instanceof CurrentDataSet c) {
            currentDataSet = c;
        }
        if (timeStatus != null && parentDataSet != null && currentDataSet != null) {
            pending.clear();
            SystemClocks.Pair pair = clocks.readPair();
            PtpBound.Result result = PtpBound.measure(timeStatus, parentDataSet, currentDataSet, pair, config.bound());
            if (result instanceof PtpBound.Accepted accepted) {
                Measurement measurement = accepted.measurement();
                if (log.isTraceEnabled()) {
                    log.trace("{}: {} from {} {} {}", config.name(), measurement, timeStatus, parentDataSet,
                            currentDataSet);
                }
                try {
                    listener.onMeasurement(config.name(), measurement);
                } catch (RuntimeException e) {
                    warnLimited("listener", "listener failed on a measurement from " + config.name(), e);
                }
            } else if (result instanceof Rejected rejected) {
                reject(rejected.reason(), rejected.detail());
            }
        }
    }

    private void reject(RejectReason reason, String detail) {
        warnLimited(reason.name(), config.name() + ": " + reason + ": " + detail, null);
        try {
            listener.onRejected(config.name(), reason, detail);
        } catch (RuntimeException e) {
            warnLimited("listener", "listener failed on a rejection from " + config.name(), e);
        }
    }

    /**
     * Logs at WARN at most once per {@link RateLimitedLog#DEFAULT_WARN_INTERVAL_NANOS} per key, otherwise at DEBUG. Keys are reasons or
     * fixed strings, so the map stays bounded.
     */
    private void warnLimited(String key, String message, Throwable cause) {
        rateLimited.warn(key, message, cause);
    }

    private static void closeQuietly(AutoCloseable closeable) {
        SourceThreads.closeQuietly(closeable, log);
    }

    private static void deleteQuietly(Path path) {
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            log.debug("deleting {} failed", path, e);
        }
    }
}
