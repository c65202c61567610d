package io.gnomon.clockd.source;

import io.gnomon.clockd.select.Measurement;
import io.gnomon.clockd.select.RejectReason;
import io.gnomon.clockd.select.SourceListener;
import io.gnomon.truetime.ClockSnapshot;
import io.gnomon.truetime.MonotonicClock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;
import java.util.random.RandomGenerator;

/**
 * The NTP client runtime: polls each configured server over one UDP socket and reports every reply, valid or
 * not, to a {@link SourceListener}. The protocol itself is in {@link NtpWire}; this class owns the socket,
 * the thread, the nonces and the monotonic clock readings.
 *
 * <pre>{@code
 * NtpSource source = new NtpSource(NtpSource.Config.defaults(List.of(
 *         new NtpSource.Server("ntp:127.0.0.1:12123", new InetSocketAddress("127.0.0.1", 12123)))),
 *         listener, new SecureRandom(), MonotonicClock.SYSTEM);
 * source.start();
 * ...
 * source.close();
 * }</pre>
 *
 * <p>Schedule: the first {@link Config#burstPolls()} polls of each server are {@link Config#burstIntervalNanos()}
 * apart (like chrony's {@code iburst}), then one every {@link Config#pollIntervalNanos()}. At most one request
 * per server is outstanding: a request unanswered after {@link Config#replyTimeoutNanos()}, or still unanswered
 * when the next poll is due, is reported as {@link RejectReason#TIMEOUT}.
 *
 * <p>Matching: a datagram is attributed to the configured server whose address and port it came from; from
 * any other address or port it is {@link RejectReason#UNEXPECTED_SOURCE}, reported under the source name
 * {@link #UNKNOWN_SOURCE_NAME} (not under the nearest server: a stray datagram says nothing about any server,
 * and the name keeps the listener's per-source counters bounded). A reply from a server must echo the nonce of
 * its outstanding request; a late reply to an older request is {@link RejectReason#ORIGIN_MISMATCH}. A reply
 * dropped before its origin was verified (short, wrong mode, wrong origin) leaves the request outstanding, so a
 * spoofed datagram cannot cancel the real reply.
 *
 * <p>The listener is called on this source's single thread, one call at a time; it must return quickly.
 * Nothing a datagram contains can stop the thread: every failure is reported or logged (rate-limited) and the
 * loop goes on until {@link #close()}.
 */
public final class NtpSource implements AutoCloseable {

    /** Source name under which datagrams from unconfigured addresses are reported. */
    public static final String UNKNOWN_SOURCE_NAME = "unknown";
    /** Largest datagram read; the rest of a longer one is discarded (an NTP header is 48 bytes). */
    public static final int MAX_DATAGRAM_BYTES = 1024;
    /** Datagrams read per wake-up before timers are looked at again, so a flood cannot starve the polls. */
    static final int MAX_DATAGRAMS_PER_WAKEUP = 64;
    private static final long CLOSE_JOIN_MILLIS = 5_000;
    /** Reasons found before the origin check: the datagram may not come from the server, keep waiting. */
    private static final Set<RejectReason> BEFORE_ORIGIN_CHECK =
            EnumSet.of(RejectReason.SHORT_PACKET, RejectReason.WRONG_MODE, RejectReason.ORIGIN_MISMATCH);

    private static final Logger log = LoggerFactory.getLogger(NtpSource.class);

    /**
     * One configured server.
     *
     * @param name    the source name reported to the listener, e.g. {@code ntp:127.0.0.1:12123}
     * @param address a resolved address and port
     */
    public record Server(String name, InetSocketAddress address) {
        public Server {
            if (name == null || name.isBlank() || name.equals(UNKNOWN_SOURCE_NAME)) {
                throw new IllegalArgumentException("server name must be non-blank and not '" + UNKNOWN_SOURCE_NAME
                        + "', was '" + name + "'");
            }
            if (address == null || address.isUnresolved()) {
                throw new IllegalArgumentException("server " + name + ": address must be resolved, was " + address);
            }
        }
    }

    /**
     * Every limit of the NTP source, with its unit.
     *
     * @param servers              the servers to poll, at most {@link #MAX_SERVERS}, distinct names and addresses
     * @param pollIntervalNanos    time between polls of one server after the burst
     * @param replyTimeoutNanos    a request unanswered this long is a {@link RejectReason#TIMEOUT}
     * @param maxDriftPpb          largest rate error of the local monotonic clock, for the measurement bound
     * @param maxRootDistanceNanos replies whose root delay / 2 + root dispersion exceed this are rejected
     * @param burstPolls           number of initial polls sent {@code burstIntervalNanos} apart (0 for none)
     * @param burstIntervalNanos   time between the initial polls (the poll interval if that is shorter)
     * @param bindAddress          local address of the socket; port 0 picks an ephemeral port
     */
    public record Config(List<Server> servers, long pollIntervalNanos, long replyTimeoutNanos, long maxDriftPpb,
                         long maxRootDistanceNanos, int burstPolls, long burstIntervalNanos,
                         InetSocketAddress bindAddress) {
        public static final int MAX_SERVERS = 64;
        public static final int MAX_BURST_POLLS = 16;
        public static final long DEFAULT_POLL_INTERVAL_NANOS = Duration.ofSeconds(16).toNanos();
        public static final long DEFAULT_REPLY_TIMEOUT_NANOS = Duration.ofSeconds(1).toNanos();
        /** 200 ppm: above the rate error of any working quartz oscillator, with room. */
        public static final long DEFAULT_MAX_DRIFT_PPB = 200_000;
        /** 1 s, like chrony's {@code maxdistance} default (3 s) but stricter. */
        public static final long DEFAULT_MAX_ROOT_DISTANCE_NANOS = Duration.ofSeconds(1).toNanos();
        public static final int DEFAULT_BURST_POLLS = 4;
        public static final long DEFAULT_BURST_INTERVAL_NANOS = Duration.ofMillis(250).toNanos();

        public Config {
            if (servers == null || servers.isEmpty() || servers.size() > MAX_SERVERS) {
                throw new IllegalArgumentException("servers: between 1 and " + MAX_SERVERS + " required, was "
                        + (servers == null ? "null" : servers.size()));
            }
            servers = List.copyOf(servers);
            Set<String> names = new HashSet<>();
            Set<InetSocketAddress> addresses = new HashSet<>();
            for (Server server : servers) {
                if (!names.add(server.name())) {
                    throw new IllegalArgumentException("servers: name " + server.name() + " appears twice");
                }
                if (!addresses.add(server.address())) {
                    throw new IllegalArgumentException("servers: address " + server.address() + " appears twice");
                }
            }
            requirePositive("pollIntervalNanos", pollIntervalNanos);
            requirePositive("replyTimeoutNanos", replyTimeoutNanos);
            requirePositive("maxRootDistanceNanos", maxRootDistanceNanos);
            requirePositive("burstIntervalNanos", burstIntervalNanos);
            if (maxDriftPpb < 0 || maxDriftPpb > ClockSnapshot.MAX_DRIFT_PPB_LIMIT) {
                throw new IllegalArgumentException("maxDriftPpb must be in [0, " + ClockSnapshot.MAX_DRIFT_PPB_LIMIT
                        + "], was " + maxDriftPpb);
            }
            if (burstPolls < 0 || burstPolls > MAX_BURST_POLLS) {
                throw new IllegalArgumentException("burstPolls must be in [0, " + MAX_BURST_POLLS + "], was "
                        + burstPolls);
            }
            if (bindAddress == null || bindAddress.isUnresolved()) {
                throw new IllegalArgumentException("bindAddress must be a resolved address, was " + bindAddress);
            }
        }

        /** The defaults above, bound to an ephemeral port on the wildcard address. */
        public static Config defaults(List<Server> servers) {
            return new Config(servers, DEFAULT_POLL_INTERVAL_NANOS, DEFAULT_REPLY_TIMEOUT_NANOS,
                    DEFAULT_MAX_DRIFT_PPB, DEFAULT_MAX_ROOT_DISTANCE_NANOS, DEFAULT_BURST_POLLS,
                    DEFAULT_BURST_INTERVAL_NANOS, new InetSocketAddress(0));
        }

        private static void requirePositive(String field, long value) {
            if (value <= 0) {
                throw new IllegalArgumentException(field + " must be > 0, was " + value);
            }
        }
    }

    /** Per-server state; touched only by the source's thread once started. */
    private static final class ServerState {
        final Server server;
        long nextPollMonotonicNanos;
        int pollsSent;
        boolean pending;
        long pendingNonce;
        long pendingT1MonotonicNanos;
        long pendingDeadlineMonotonicNanos;

        ServerState(Server server) {
            this.server = server;
        }

        void clearPending() {
            pending = false;
            pendingNonce = 0;
        }
    }

    /** When each (source, reason) was last logged at WARN, and how many were logged at DEBUG since. */
    private final Config config;
    private final RateLimitedLog rateLimited;
    private final SourceListener listener;
    private final RandomGenerator nonceRandom;
    private final MonotonicClock clock;
    private final List<ServerState> states = new ArrayList<>();
    private final Map<InetSocketAddress, ServerState> stateByAddress = new HashMap<>();
    private final long burstIntervalNanos;

    private DatagramChannel channel;
    private Selector selector;
    private Thread thread;
    private volatile boolean closed;

    /**
     * @param config      servers and limits
     * @param listener    receives every measurement and rejection, on this source's thread
     * @param nonceRandom source of request nonces; use a {@link java.security.SecureRandom} in production, since
     *                    a predictable nonce lets an off-path attacker forge replies
     * @param clock       CLOCK_MONOTONIC, read just before each send (t1) and just after each receive (t4)
     */
    public NtpSource(Config config, SourceListener listener, RandomGenerator nonceRandom, MonotonicClock clock) {
        if (config == null || listener == null || nonceRandom == null || clock == null) {
            throw new IllegalArgumentException("config, listener, nonceRandom and clock must not be null");
        }
        this.config = config;
        this.listener = listener;
        this.nonceRandom = nonceRandom;
        this.clock = clock;
        this.rateLimited = new RateLimitedLog(log, clock);
        this.burstIntervalNanos = Math.min(config.burstIntervalNanos(), config.pollIntervalNanos());
        for (Server server : config.servers()) {
            ServerState state = new ServerState(server);
            states.add(state);
            stateByAddress.put(server.address(), state);
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
            throw new IllegalStateException(closed ? "NtpSource is closed" : "NtpSource is already started");
        }
        InetSocketAddress bind = config.bindAddress();
        DatagramChannel opened = bind.getAddress() instanceof Inet4Address
                ? DatagramChannel.open(StandardProtocolFamily.INET)
                : DatagramChannel.open();
        Selector openedSelector = null;
        try {
            opened.bind(bind);
            opened.configureBlocking(false);
            openedSelector = Selector.open();
            opened.register(openedSelector, SelectionKey.OP_READ);
        } catch (IOException | RuntimeException e) {
            opened.close();
            if (openedSelector != null) {
                openedSelector.close();
            }
            throw e;
        }
        channel = opened;
        selector = openedSelector;
        long now = clock.nanoTime();
        for (ServerState state : states) {
            state.nextPollMonotonicNanos = now;
        }
        thread = new Thread(this::run, "ntp-source-" + opened.getLocalAddress());
        thread.setDaemon(true);
        thread.start();
        log.info("NTP source polling {} servers from {}", states.size(), opened.getLocalAddress());
    }

    /** The socket's local address (with the ephemeral port chosen), once started. */
    public synchronized InetSocketAddress localAddress() throws IOException {
        if (channel == null) {
            throw new IllegalStateException("NtpSource is not started");
        }
        return (InetSocketAddress) channel.getLocalAddress();
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
            if (selector != null) {
                selector.wakeup();
            }
        }
        SourceThreads.join(toJoin, CLOSE_JOIN_MILLIS, log, "NTP source");
        synchronized (this) {
            closeQuietly(channel);
            closeQuietly(selector);
        }
    }

    private void run() {
        ByteBuffer buffer = ByteBuffer.allocate(MAX_DATAGRAM_BYTES);
        int consecutiveFailures = 0;
        while (!closed) {
            try {
                long now = clock.nanoTime();
                expireTimeouts(now);
                sendDuePolls(now);
                long waitNanos = nextWakeUpMonotonicNanos() - clock.nanoTime();
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
                    log.error("NTP source socket closed unexpectedly; no more measurements", e);
                }
                return;
            } catch (IOException | RuntimeException e) {
                // Not caused by a datagram (those are handled below): the selector or socket failed. Back off
                // a little, bounded, so a persistent failure neither spins nor stops the source.
                consecutiveFailures++;
                warnLimited("loop", "NTP source loop failed (" + consecutiveFailures + " in a row)", e);
                LockSupport.parkNanos(Math.min(consecutiveFailures, 100) * 1_000_000L);
            }
        }
    }

    private void expireTimeouts(long nowMonotonicNanos) {
        for (ServerState state : states) {
            if (state.pending && nowMonotonicNanos - state.pendingDeadlineMonotonicNanos >= 0) {
                state.clearPending();
                reject(state.server.name(), RejectReason.TIMEOUT, "no reply within "
                        + config.replyTimeoutNanos() / 1_000_000 + " ms from " + state.server.address());
            }
        }
    }

    private void sendDuePolls(long nowMonotonicNanos) throws ClosedChannelException {
        for (ServerState state : states) {
            if (nowMonotonicNanos - state.nextPollMonotonicNanos < 0) {
                continue;
            }
            if (state.pending) {
                state.clearPending();
                reject(state.server.name(), RejectReason.TIMEOUT, "no reply before the next poll was due from "
                        + state.server.address());
            }
            long nonce = nextNonce();
            ByteBuffer request = ByteBuffer.wrap(NtpWire.request(nonce));
            long t1 = clock.nanoTime();
            try {
                int sent = channel.send(request, state.server.address());
                if (sent == 0) {
                    warnLimited(state.server.name() + "/send", "send buffer full; request to "
                            + state.server.address() + " dropped (it will time out)", null);
                }
            } catch (ClosedChannelException e) {
                throw e;
            } catch (IOException e) {
                // e.g. network unreachable: the request counts as sent, and its timeout reports the outage
                warnLimited(state.server.name() + "/send", "send to " + state.server.address() + " failed: " + e, null);
            }
            state.pending = true;
            state.pendingNonce = nonce;
            state.pendingT1MonotonicNanos = t1;
            state.pendingDeadlineMonotonicNanos = t1 + config.replyTimeoutNanos();
            state.pollsSent++;
            long intervalNanos = state.pollsSent < config.burstPolls() ? burstIntervalNanos : config.pollIntervalNanos();
            state.nextPollMonotonicNanos = nowMonotonicNanos + intervalNanos;
        }
    }

    /** A nonzero random nonce: servers put 0 in the origin of packets that answer nothing. */
    private long nextNonce() {
        long nonce = nonceRandom.nextLong();
        return nonce != 0 ? nonce : 1;
    }

    private long nextWakeUpMonotonicNanos() {
        long now = clock.nanoTime();
        long earliest = now + config.pollIntervalNanos();
        for (ServerState state : states) {
            if (state.nextPollMonotonicNanos - earliest < 0) {
                earliest = state.nextPollMonotonicNanos;
            }
            if (state.pending && state.pendingDeadlineMonotonicNanos - earliest < 0) {
                earliest = state.pendingDeadlineMonotonicNanos;
            }
        }
        return earliest;
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
                // e.g. an ICMP error surfaced on the socket: nothing to attribute it to
                warnLimited("receive", "receive failed: " + e, null);
                continue;
            }
            long t4 = clock.nanoTime();
            if (from == null) {
                return;
            }
            try {
                handleDatagram(from, buffer.array(), buffer.position(), t4);
            } catch (RuntimeException e) {
                // NtpWire never throws on content (tested on arbitrary bytes); reaching here is a bug. Keep going.
                warnLimited("datagram", "datagram of " + buffer.position() + " bytes from " + from
                        + " could not be handled", e);
            }
        }
    }

    private void handleDatagram(SocketAddress from, byte[] bytes, int length, long t4MonotonicNanos) {
        ServerState state = from instanceof InetSocketAddress inet ? stateByAddress.get(inet) : null;
        if (state == null) {
            reject(UNKNOWN_SOURCE_NAME, RejectReason.UNEXPECTED_SOURCE,
                    "datagram of " + length + " bytes from " + from + ", which is not a configured server");
            return;
        }
        String name = state.server.name();
        if (!state.pending) {
            reject(name, RejectReason.ORIGIN_MISMATCH, "no request outstanding: a late or duplicated reply");
            return;
        }
        if (t4MonotonicNanos - state.pendingDeadlineMonotonicNanos >= 0) {
            // Read after its deadline (the loop stalled, or the host was suspended, since the timeout sweep): an
            // exchange longer than the reply timeout is not used, which the estimator's quarantine after a
            // disruption relies on. This request is over; the next poll asks again.
            state.clearPending();
            reject(name, RejectReason.TIMEOUT, "reply read " + (t4MonotonicNanos - state.pendingT1MonotonicNanos)
                    / 1_000_000 + " ms after its request, past the " + config.replyTimeoutNanos() / 1_000_000
                    + " ms reply timeout");
            return;
        }
        NtpWire.Result result = NtpWire.parseReply(bytes, length, state.pendingNonce,
                state.pendingT1MonotonicNanos, t4MonotonicNanos, config.maxDriftPpb(), config.maxRootDistanceNanos());
        if (result instanceof NtpWire.Accepted accepted) {
            state.clearPending();
            Measurement measurement = accepted.measurement();
            if (log.isTraceEnabled()) {
                log.trace("{}: {}", name, measurement);
            }
            try {
                listener.onMeasurement(name, measurement);
                if (accepted.leapIndicator() != 0) {
                    listener.onLeapAnnounced(name, accepted.leapIndicator() == 1, accepted.serverTransmitEpochNanos());
                }
            } catch (RuntimeException e) {
                warnLimited("listener", "listener failed on a measurement from " + name, e);
            }
        } else if (result instanceof NtpWire.Rejected rejected) {
            if (!BEFORE_ORIGIN_CHECK.contains(rejected.reason())) {
                state.clearPending(); // the server did answer this request, with something we cannot use
            }
            reject(name, rejected.reason(), rejected.detail());
        }
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

    private static void closeQuietly(AutoCloseable closeable) {
        SourceThreads.closeQuietly(closeable, log);
    }
}
