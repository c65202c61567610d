package io.gnomon.clockd.source.chrony;

import io.gnomon.clockd.SystemClocks;
import io.gnomon.clockd.select.ClockEstimator;
import io.gnomon.clockd.select.Measurement;
import io.gnomon.clockd.select.RejectReason;
import io.gnomon.clockd.select.SourceListener;
import io.gnomon.clockd.source.RateLimitedLog;
import io.gnomon.clockd.source.SourceThreads;
import io.gnomon.truetime.ClockSnapshot;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import java.util.random.RandomGenerator;

/**
 * A source that asks a chronyd on this host for its tracking report over chrony's monitoring protocol (cmdmon,
 * UDP, e.g. {@code 127.0.0.1:323}) and turns it into measurements: for hosts where chronyd already keeps the
 * clock, Gnomon reads chrony's own evidence instead of polling NTP servers a second time. The wire format is in
 * {@link ChronyCmdmon}, the bound and its derivation in {@link ChronyBound}; this class owns the socket, the thread,
 * the sequence numbers and the clock readings.
 *
 * <pre>{@code
 * ChronySource source = new ChronySource(
 *         ChronySource.Config.defaults(new InetSocketAddress("127.0.0.1", 323)),
 *         listener, new SecureRandom(), SystemClocks.SYSTEM);
 * source.start();
 * ...
 * source.close();
 * }</pre>
 *
 * <p>Every {@link Config#pollIntervalNanos()} it reads the clocks, sends one TRACKING request with a random
 * sequence number, and waits up to {@link Config#replyTimeoutNanos()} for the reply ({@link RejectReason#TIMEOUT}
 * otherwise). Right after the reply arrives it reads realtime between two monotonic readings; a realtime step
 * seen between readings is {@link RejectReason#CLOCK_STEPPED} ({@link ClockStepDetector}). A datagram from any
 * other address or port is {@link RejectReason#UNEXPECTED_SOURCE} under {@link #UNKNOWN_SOURCE_NAME}; a reply that
 * is rejected before its sequence number matched leaves the request outstanding.
 *
 * <p>After a realtime step (seen by its own detector, or told by {@link #realtimeStepped}), and for as long as the
 * estimator's fixed horizon after it may refuse chronyd's reports, each poll first reads N_SOURCES, then SOURCE_DATA
 * and SOURCESTATS of every source ({@link ChronyWindows}), and marks each report with how old the samples behind it
 * may be ({@link Measurement#windowSinceMonotonicNanos()}), so the estimator can use it again as soon as chronyd's
 * windows are newer than the step. A failed round marks nothing: the fixed horizon applies.
 *
 * <p>The listener is called on this source's thread, one call at a time, and must return quickly. Nothing a
 * datagram contains can stop the thread: failures are reported or logged (rate-limited) until {@link #close()}.
 */
public final class ChronySource implements AutoCloseable {

    /** Source name under which datagrams from other addresses are reported (the same as the NTP source's). */
    public static final String UNKNOWN_SOURCE_NAME = "unknown";
    /** Largest datagram read; a tracking reply is 104 bytes. The rest of a longer datagram is discarded. */
    public static final int MAX_DATAGRAM_BYTES = 512;
    /** Datagrams reported per poll; stray ones beyond are dropped unreported, so a flood cannot swamp the listener. */
    static final int MAX_DATAGRAMS_REPORTED_PER_POLL = 64;
    private static final long CLOSE_JOIN_MILLIS = 5_000;

    private static final Logger log = LoggerFactory.getLogger(ChronySource.class);

    /**
     * Every limit of the chrony source, with its unit.
     *
     * @param name                 source name reported to the listener, e.g. {@code chrony:127.0.0.1:323}
     * @param chronydAddress       chronyd's command port ({@code cmdport}; it must {@code cmdallow} us)
     * @param pollIntervalNanos    time between requests
     * @param replyTimeoutNanos    a request unanswered this long is a {@link RejectReason#TIMEOUT}; at most the
     *                             poll interval
     * @param maxDriftPpb          largest rate error of the local clocks against true time, for the bound
     * @param maxRootDistanceNanos reports whose root delay / 2 + root dispersion exceed this are rejected
     * @param bindAddress          local address of the socket; port 0 picks an ephemeral port
     */
    public record Config(String name, InetSocketAddress chronydAddress, long pollIntervalNanos,
                         long replyTimeoutNanos, long maxDriftPpb, long maxRootDistanceNanos,
                         InetSocketAddress bindAddress) {
        public static final long DEFAULT_POLL_INTERVAL_NANOS = Duration.ofSeconds(1).toNanos();
        public static final long DEFAULT_REPLY_TIMEOUT_NANOS = Duration.ofMillis(500).toNanos();
        /** 200 ppm, as the NTP source. */
        public static final long DEFAULT_MAX_DRIFT_PPB = 200_000;
        /** 1 s, as the NTP source. */
        public static final long DEFAULT_MAX_ROOT_DISTANCE_NANOS = Duration.ofSeconds(1).toNanos();
        public static final long MIN_POLL_INTERVAL_NANOS = Duration.ofMillis(10).toNanos();

        public Config {
            if (name == null || name.isBlank() || name.equals(UNKNOWN_SOURCE_NAME)) {
                throw new IllegalArgumentException("name must be non-blank and not '" + UNKNOWN_SOURCE_NAME
                        + "', was '" + name + "'");
            }
            if (chronydAddress == null || chronydAddress.isUnresolved() || chronydAddress.getPort() == 0) {
                throw new IllegalArgumentException("chronydAddress must be a resolved address with a port, was "
                        + chronydAddress);
            }
            if (pollIntervalNanos < MIN_POLL_INTERVAL_NANOS) {
                throw new IllegalArgumentException("pollIntervalNanos must be >= " + MIN_POLL_INTERVAL_NANOS
                        + ", was " + pollIntervalNanos);
            }
            if (replyTimeoutNanos <= 0 || replyTimeoutNanos > pollIntervalNanos) {
                throw new IllegalArgumentException("replyTimeoutNanos must be in (0, pollIntervalNanos "
                        + pollIntervalNanos + "], was " + replyTimeoutNanos);
            }
            if (maxDriftPpb < 0 || maxDriftPpb > ClockSnapshot.MAX_DRIFT_PPB_LIMIT) {
                throw new IllegalArgumentException("maxDriftPpb must be in [0, " + ClockSnapshot.MAX_DRIFT_PPB_LIMIT
                        + "], was " + maxDriftPpb);
            }
            if (maxRootDistanceNanos <= 0) {
                throw new IllegalArgumentException("maxRootDistanceNanos must be > 0, was " + maxRootDistanceNanos);
            }
            if (bindAddress == null || bindAddress.isUnresolved()) {
                throw new IllegalArgumentException("bindAddress must be a resolved address, was " + bindAddress);
            }
        }

        /** The defaults above, named {@link #defaultName}, bound to an ephemeral port on the loopback address. */
        public static Config defaults(InetSocketAddress chronydAddress) {
            if (chronydAddress == null) {
                throw new IllegalArgumentException("chronydAddress must not be null");
            }
            return new Config(defaultName(chronydAddress), chronydAddress, DEFAULT_POLL_INTERVAL_NANOS,
                    DEFAULT_REPLY_TIMEOUT_NANOS, DEFAULT_MAX_DRIFT_PPB, DEFAULT_MAX_ROOT_DISTANCE_NANOS,
                    new InetSocketAddress(chronydAddress.getAddress().isLoopbackAddress()
                            ? chronydAddress.getAddress() : null, 0));
        }

        /** {@code chrony:host:port}, e.g. {@code chrony:127.0.0.1:323}. */
        public static String defaultName(InetSocketAddress chronydAddress) {
            return "chrony:" + chronydAddress.getAddress().getHostAddress() + ":" + chronydAddress.getPort();
        }
    }

    /** When each log key was last logged at WARN, and how many were logged at DEBUG since. */
    private final Config config;
    private final RateLimitedLog rateLimited;
    private final SourceListener listener;
    private final RandomGenerator sequenceRandom;
    private final SystemClocks clocks;
    private final ClockStepDetector stepDetector;

    private final ChronyWindows windows;
    /** Read SOURCE_DATA and SOURCESTATS before each tracking request until this monotonic instant. */
    private volatile long windowRoundsUntilMonotonicNanos = Long.MIN_VALUE;
    private volatile boolean windowRoundsActive;

    private DatagramSocket socket;
    private Thread thread;
    private volatile boolean closed;

    /**
     * @param config         chronyd's address and the limits
     * @param listener       receives every measurement and rejection, on this source's thread
     * @param sequenceRandom source of request sequence numbers; a {@link java.security.SecureRandom} in production
     *                       (a predictable one lets another local process forge replies)
     * @param clocks         the host's clocks: monotonic for scheduling, a realtime pair after each reply
     */
    public ChronySource(Config config, SourceListener listener, RandomGenerator sequenceRandom, SystemClocks clocks) {
        if (config == null || listener == null || sequenceRandom == null || clocks == null) {
            throw new IllegalArgumentException("config, listener, sequenceRandom and clocks must not be null");
        }
        this.config = config;
        this.listener = listener;
        this.sequenceRandom = sequenceRandom;
        this.clocks = clocks;
        this.rateLimited = new RateLimitedLog(log, clocks);
        this.stepDetector = new ClockStepDetector(config.maxDriftPpb());
        this.windows = new ChronyWindows(config.maxDriftPpb());
    }

    /**
     * Tells this source that the realtime clock stepped at or before {@code atMonotonicNanos} (the daemon's
     * disruption monitor calls it): until the estimator's fixed horizon after it has passed, each poll reads
     * chronyd's windows too. Safe from any thread.
     */
    public void realtimeStepped(long atMonotonicNanos) {
        long horizon = ClockEstimator.chronyRegressionHorizonNanos(ClockEstimator.CHRONY_MAX_SAMPLES,
                ClockEstimator.CHRONY_DEFAULT_MAX_POLL_NANOS);
        synchronized (this) {
            long until = atMonotonicNanos + horizon;
            if (!windowRoundsActive || until - windowRoundsUntilMonotonicNanos > 0) {
                windowRoundsUntilMonotonicNanos = until;
            }
            windowRoundsActive = true;
        }
    }

    /**
     * Binds the socket and starts polling at once.
     *
     * @throws IOException           if the socket cannot be opened or bound
     * @throws IllegalStateException if already started or closed
     */
    public synchronized void start() throws IOException {
        if (closed || thread != null) {
            throw new IllegalStateException(closed ? "ChronySource is closed" : "ChronySource is already started");
        }
        socket = new DatagramSocket(config.bindAddress());
        thread = new Thread(this::run, "chrony-source-" + config.name());
        thread.setDaemon(true);
        thread.start();
        log.info("chrony source {} polling chronyd's cmdmon at {} from {}", config.name(), config.chronydAddress(),
                socket.getLocalSocketAddress());
    }

    /** The socket's local address (with the ephemeral port chosen), once started. */
    public synchronized InetSocketAddress localAddress() {
        if (socket == null) {
            throw new IllegalStateException("ChronySource is not started");
        }
        return (InetSocketAddress) socket.getLocalSocketAddress();
    }

    /** The name measurements and rejections are reported under. */
    public String name() {
        return config.name();
    }

    /** Stops the thread and closes the socket. Idempotent; safe to call from the listener. */
    @Override
    public void close() {
        Thread toJoin;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            toJoin = thread;
            if (socket != null) {
                socket.close(); // unblocks a receive
            }
        }
        if (toJoin != null) {
            LockSupport.unpark(toJoin);
        }
        SourceThreads.join(toJoin, CLOSE_JOIN_MILLIS, log, "chrony source");
    }

    private void run() {
        byte[] buffer = new byte[MAX_DATAGRAM_BYTES];
        int consecutiveFailures = 0;
        long nextPollMonotonicNanos = clocks.nanoTime();
        while (!closed) {
            long waitNanos = nextPollMonotonicNanos - clocks.nanoTime();
            if (waitNanos > 0) {
                LockSupport.parkNanos(this, waitNanos); // close() unparks; spurious wake-ups loop back here
                continue;
            }
            nextPollMonotonicNanos += config.pollIntervalNanos();
            if (nextPollMonotonicNanos - clocks.nanoTime() < 0) {
                nextPollMonotonicNanos = clocks.nanoTime() + config.pollIntervalNanos(); // fell behind: no burst
            }
            try {
                poll(buffer);
                consecutiveFailures = 0;
            } catch (SocketException e) {
                if (closed) {
                    return;
                }
                consecutiveFailures++;
                warnLimited("loop", config.name() + ": socket failed (" + consecutiveFailures + " in a row)", e);
                LockSupport.parkNanos(Math.min(consecutiveFailures, 100) * 1_000_000L);
            } catch (IOException | RuntimeException e) {
                // Not caused by a datagram's content (ChronyCmdmon and ChronyBound never throw on content).
                consecutiveFailures++;
                warnLimited("loop", config.name() + ": poll failed (" + consecutiveFailures + " in a row)", e);
                LockSupport.parkNanos(Math.min(consecutiveFailures, 100) * 1_000_000L);
            }
        }
    }

    /** One exchange: send, wait for the reply until the deadline, report what came of it. */
    private void poll(byte[] buffer) throws IOException {
        String name = config.name();
        int sequence = sequenceRandom.nextInt();
        SystemClocks.Pair beforeSend = clocks.readPair();
        // A step since the last poll: reported with this poll's reply (or, if none comes, with the next one,
        // which the detector holds back until chronyd updates).
        String stepBeforeSend = stepDetector.observe(beforeSend);
        if (stepBeforeSend != null) {
            realtimeStepped(beforeSend.monotonicAfterNanos());
        }
        if (windowRoundsActive && beforeSend.monotonicBeforeNanos() - windowRoundsUntilMonotonicNanos <= 0) {
            readWindows(buffer, beforeSend.monotonicBeforeNanos());
        }
        byte[] request = ChronyCmdmon.trackingRequest(sequence);
        long deadlineMonotonicNanos = beforeSend.monotonicAfterNanos() + config.replyTimeoutNanos();
        try {
            socket.send(new DatagramPacket(request, request.length, config.chronydAddress()));
        } catch (SocketException e) {
            if (closed) {
                throw e;
            }
            // e.g. unreachable: the request counts as sent, and its timeout reports the outage
            warnLimited(name + "/send", name + ": send to " + config.chronydAddress() + " failed: " + e, null);
        }
        int reported = 0;
        while (true) {
            long remainingNanos = deadlineMonotonicNanos - clocks.nanoTime();
            if (remainingNanos <= 0) {
                reject(name, RejectReason.TIMEOUT, "no reply within " + config.replyTimeoutNanos() / 1_000_000
                        + " ms from " + config.chronydAddress());
                return;
            }
            DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
            socket.setSoTimeout((int) Math.max(1, Math.min(Integer.MAX_VALUE, (remainingNanos + 999_999) / 1_000_000)));
            try {
                socket.receive(packet);
            } catch (SocketTimeoutException e) {
                continue; // the deadline check above reports it
            } catch (SocketException e) {
                throw e;
            } catch (IOException e) {
                warnLimited(name + "/receive", name + ": receive failed: " + e, null);
                continue;
            }
            SystemClocks.Pair afterReceive = clocks.readPair(); // first thing after the reply: the bound depends on it
            if (!config.chronydAddress().equals(packet.getSocketAddress())) {
                if (reported++ < MAX_DATAGRAMS_REPORTED_PER_POLL) {
                    reject(UNKNOWN_SOURCE_NAME, RejectReason.UNEXPECTED_SOURCE, "datagram of " + packet.getLength()
                            + " bytes from " + packet.getSocketAddress() + ", not chronyd at " + config.chronydAddress());
                }
                continue;
            }
            ChronyCmdmon.Result parsed = ChronyCmdmon.parseTrackingReply(buffer, packet.getLength(), sequence);
            if (parsed instanceof ChronyCmdmon.Rejected rejected) {
                if (reported++ < MAX_DATAGRAMS_REPORTED_PER_POLL) {
                    reject(name, rejected.reason(), rejected.detail());
                }
                if (rejected.answered()) {
                    return;
                }
                continue; // not an answer to this request: keep waiting for the real one
            }
            handleReport(((ChronyCmdmon.Tracking) parsed).report(), stepBeforeSend, afterReceive);
            return;
        }
    }

    private void handleReport(ChronyCmdmon.TrackingReport report, String stepBeforeSend,
                              SystemClocks.Pair afterReceive) {
        String name = config.name();
        String stepDuringExchange = stepDetector.observe(afterReceive);
        String held = stepDetector.admit(report.referenceTimeEpochNanos());
        if (stepBeforeSend != null || stepDuringExchange != null || held != null) {
            reject(name, RejectReason.CLOCK_STEPPED, stepBeforeSend != null ? "since the last poll: " + stepBeforeSend
                    : stepDuringExchange != null ? "during the exchange: " + stepDuringExchange : held);
            return;
        }
        ChronyBound.Result result = ChronyBound.measure(report, afterReceive, config.maxDriftPpb(),
                config.maxRootDistanceNanos());
        if (result instanceof ChronyBound.Accepted accepted) {
            Measurement m = accepted.measurement();
            long windowSince = windows.windowSince(m.realtimeSinceMonotonicNanos());
            if (windowSince != Measurement.WINDOW_UNKNOWN && windowSince - m.atMonotonicNanos() <= 0) {
                m = m.withWindowSince(windowSince);
            }
            if (log.isTraceEnabled()) {
                log.trace("{}: {} from {}", name, m, report);
            }
            try {
                listener.onMeasurement(name, m);
            } catch (RuntimeException e) {
                warnLimited("listener", "listener failed on a measurement from " + name, e);
            }
        } else if (result instanceof ChronyBound.Rejected rejected) {
            reject(name, rejected.reason(), rejected.detail());
        }
    }

    /**
     * One round of N_SOURCES, then SOURCE_DATA and SOURCESTATS per source ({@link ChronyWindows}); any failure (a
     * timeout, a rejection, sources that changed under us) ends it and forgets earlier rounds, since chronyd may have
     * restarted with other samples.
     */
    private void readWindows(byte[] buffer, long beganMonotonicNanos) throws IOException {
        ChronyCmdmon.Result count = exchange(buffer, s -> ChronyCmdmon.nSourcesRequest(s), ChronyCmdmon::parseNSourcesReply);
        if (!(count instanceof ChronyCmdmon.SourceCount c)) {
            windows.clear();
            return;
        }
        List<ChronyCmdmon.SourceData> data = new ArrayList<>(c.count());
        List<ChronyCmdmon.Sourcestats> stats = new ArrayList<>(c.count());
        for (int i = 0; i < c.count(); i++) {
            int index = i;
            ChronyCmdmon.Result d = exchange(buffer, s -> ChronyCmdmon.sourceDataRequest(s, index),
                    ChronyCmdmon::parseSourceDataReply);
            ChronyCmdmon.Result st = d instanceof ChronyCmdmon.SourceData ? exchange(buffer,
                    s -> ChronyCmdmon.sourcestatsRequest(s, index), ChronyCmdmon::parseSourcestatsReply) : null;
            if (!(d instanceof ChronyCmdmon.SourceData sd) || !(st instanceof ChronyCmdmon.Sourcestats ss)
                    || !sd.ipAddress().equals(ss.ipAddress())) {
                warnLimited(config.name() + "/windows", config.name() + ": chronyd's windows not read (source "
                        + i + ": " + d + ", " + st + "); the fixed horizon after a step applies", null);
                windows.clear();
                return;
            }
            data.add(sd);
            stats.add(ss);
        }
        windows.observed(beganMonotonicNanos,
                ChronyWindows.oldestSampleMonotonicNanos(data, stats, beganMonotonicNanos, config.maxDriftPpb()));
    }

    private interface Parser {
        ChronyCmdmon.Result parse(byte[] bytes, int length, int sequence);
    }

    /** One request and its reply within the reply timeout; datagrams from elsewhere are skipped. Null on timeout. */
    private ChronyCmdmon.Result exchange(byte[] buffer, java.util.function.IntFunction<byte[]> request, Parser parser)
            throws IOException {
        int sequence = sequenceRandom.nextInt();
        byte[] bytes = request.apply(sequence);
        long deadlineMonotonicNanos = clocks.nanoTime() + config.replyTimeoutNanos();
        try {
            socket.send(new DatagramPacket(bytes, bytes.length, config.chronydAddress()));
        } catch (SocketException e) {
            if (closed) {
                throw e;
            }
            return null; // e.g. unreachable: the round fails, and the tracking request reports the outage
        }
        for (int skipped = 0; skipped < MAX_DATAGRAMS_REPORTED_PER_POLL; skipped++) {
            long remainingNanos = deadlineMonotonicNanos - clocks.nanoTime();
            if (remainingNanos <= 0) {
                return null;
            }
            DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
            socket.setSoTimeout((int) Math.max(1, Math.min(Integer.MAX_VALUE, (remainingNanos + 999_999) / 1_000_000)));
            try {
                socket.receive(packet);
            } catch (SocketTimeoutException e) {
                return null;
            }
            if (!config.chronydAddress().equals(packet.getSocketAddress())) {
                continue;
            }
            ChronyCmdmon.Result r = parser.parse(buffer, packet.getLength(), sequence);
            if (r instanceof ChronyCmdmon.Rejected rejected && !rejected.answered()) {
                continue; // not the answer to this request (e.g. a late reply to an earlier one)
            }
            return r;
        }
        return null;
    }

    private void reject(String sourceName, RejectReason reason, String detail) {
        warnLimited(sourceName + "/" + reason, sourceName + ": " + reason + ": " + detail, null);
        try {
            listener.onRejected(sourceName, reason, detail);
        } catch (RuntimeException e) {
            warnLimited("listener", "listener failed on a rejection from " + sourceName, e);
        }
    }

    /**
     * Logs at WARN at most once per {@link RateLimitedLog#DEFAULT_WARN_INTERVAL_NANOS} per key, otherwise at DEBUG. Keys are source
     * names and reasons or fixed strings, never addresses, so the map stays bounded.
     */
    private void warnLimited(String key, String message, Throwable cause) {
        rateLimited.warn(key, message, cause);
    }
}
