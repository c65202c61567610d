package io.gnomon.clockd.source;

import io.gnomon.clockd.select.Measurement;
import io.gnomon.clockd.select.RejectReason;
import io.gnomon.clockd.select.SourceCondition;
import io.gnomon.clockd.select.SourceListener;
import io.gnomon.truetime.ClockSnapshot;
import io.gnomon.truetime.MonotonicClock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
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
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
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
 * apart (like chrony's {@code iburst}), then one every {@link Server#pollIntervalNanos()} (or the config's
 * {@link Config#pollIntervalNanos()}). At most one request per server is outstanding, and each request ends in
 * exactly one outcome: a measurement, or one rejection under its reason ({@link RejectReason#TIMEOUT} when
 * nothing usable came within {@link Config#replyTimeoutNanos()} or before the next poll was due).
 *
 * <p>Kiss-o'-death (RFC 5905 section 7.4), believed only with a verified origin and never a measurement: RATE
 * doubles that server's poll interval, up to {@link #MAX_POLL_INTERVAL_NANOS}, and ends its initial burst (as
 * chrony does); DENY and RSTR stop polling it until the source is restarted. Both are reported to the
 * listener as a {@link SourceCondition}, once per change.
 *
 * <p>Names: a server given by host name is resolved on a separate thread, so a slow resolver never delays the
 * other servers' polls; a name that does not resolve is retried with back-off from
 * {@link #RESOLVE_RETRY_MIN_NANOS} doubling to {@link #RESOLVE_RETRY_MAX_NANOS}, and reported as
 * {@link SourceCondition#UNRESOLVED} (once, not per retry) until it resolves.
 *
 * <p>Matching: a datagram is attributed to the configured server whose address and port it came from; from
 * any other address or port it is {@link RejectReason#UNEXPECTED_SOURCE}, reported under the source name
 * {@link #UNKNOWN_SOURCE_NAME} (not under the nearest server: a stray datagram says nothing about any server,
 * and the name keeps the listener's per-source counters bounded). A reply from a server must echo the nonce of
 * its outstanding request. A reply dropped before its origin was verified (short, wrong mode, wrong origin)
 * leaves the request outstanding, so a spoofed datagram cannot cancel the real reply: if nothing better comes,
 * the exchange ends under that datagram's reason instead of a timeout; if the real reply comes, the datagram is
 * reported as a stray ({@link SourceListener#onStrayDatagram}), as are late and duplicated replies.
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
    /**
     * The longest poll interval a RATE kiss-o'-death backs a server off to: chrony's default {@code maxpoll} (2^10 s).
     * A server polled more slowly than the daemon's reachability window allows reads as unreachable between polls.
     */
    public static final long MAX_POLL_INTERVAL_NANOS = Duration.ofSeconds(1024).toNanos();
    /** First wait before retrying a host name that did not resolve; it doubles at each failure. */
    public static final long RESOLVE_RETRY_MIN_NANOS = Duration.ofSeconds(1).toNanos();
    /** Longest wait between lookups of a host name that does not resolve. */
    public static final long RESOLVE_RETRY_MAX_NANOS = Duration.ofMinutes(5).toNanos();
    /** Reasons found before the origin check: the datagram may not come from the server, keep waiting. */
    private static final Set<RejectReason> BEFORE_ORIGIN_CHECK =
            EnumSet.of(RejectReason.SHORT_PACKET, RejectReason.WRONG_MODE, RejectReason.ORIGIN_MISMATCH);
    /**
     * Every reason a stray datagram is reported under ({@link SourceListener#onStrayDatagram}): a reply with no request
     * outstanding (ORIGIN_MISMATCH) or one dropped before the origin check. The daemon's metrics start these at 0.
     */
    public static final Set<RejectReason> STRAY_REASONS = Collections.unmodifiableSet(EnumSet.copyOf(BEFORE_ORIGIN_CHECK));

    private static final Logger log = LoggerFactory.getLogger(NtpSource.class);

    /** Looks a host name up; {@code InetAddress::getByName} in production, a fake in tests. */
    @FunctionalInterface
    public interface Resolver {
        InetAddress resolve(String host) throws UnknownHostException;
    }

    /**
     * One configured server.
     *
     * @param name              the source name reported to the listener, e.g. {@code ntp:127.0.0.1:12123}
     * @param address           its address and port; unresolved ({@link InetSocketAddress#createUnresolved}) for a
     *                          host name the source looks up itself
     * @param pollIntervalNanos time between its polls after the burst; {@link #CONFIG_POLL_INTERVAL} for the
     *                          config's {@link Config#pollIntervalNanos()}
     */
    public record Server(String name, InetSocketAddress address, long pollIntervalNanos) {
        /** A server polled at the config's interval. */
        public static final long CONFIG_POLL_INTERVAL = 0;

        public Server {
            if (name == null || name.isBlank() || name.equals(UNKNOWN_SOURCE_NAME)) {
                throw new IllegalArgumentException("server name must be non-blank and not '" + UNKNOWN_SOURCE_NAME
                        + "', was '" + name + "'");
            }
            if (address == null) {
                throw new IllegalArgumentException("server " + name + ": address must not be null");
            }
            if (pollIntervalNanos < 0) {
                throw new IllegalArgumentException("server " + name + ": pollIntervalNanos must be >= 0, was "
                        + pollIntervalNanos);
            }
        }

        /** A server polled at the config's interval. */
        public Server(String name, InetSocketAddress address) {
            this(name, address, CONFIG_POLL_INTERVAL);
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
        /** chrony's {@code minpoll} default (2^6 s): what public and other operators' servers expect. */
        public static final long DEFAULT_POLL_INTERVAL_NANOS = Duration.ofSeconds(64).toNanos();
        public static final long DEFAULT_REPLY_TIMEOUT_NANOS = Duration.ofSeconds(1).toNanos();
        /** 200 ppm: above the rate error of any working quartz oscillator, with room. */
        public static final long DEFAULT_MAX_DRIFT_PPB = 200_000;
        /** 1 s, like chrony's {@code maxdistance} default (3 s) but stricter. */
        public static final long DEFAULT_MAX_ROOT_DISTANCE_NANOS = Duration.ofSeconds(1).toNanos();
        public static final int DEFAULT_BURST_POLLS = 4;
        /** chrony's {@code iburst}: the first requests 2 s apart, so the clock is usable long before a 64 s poll. */
        public static final long DEFAULT_BURST_INTERVAL_NANOS = Duration.ofSeconds(2).toNanos();

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
        /** The server's address once resolved; null while its host name is being looked up. */
        InetSocketAddress address;
        long pollIntervalNanos;
        long nextPollMonotonicNanos;
        int pollsSent;
        /** DENY or RSTR received: never polled again. */
        boolean stopped;
        SourceCondition condition = SourceCondition.POLLING;
        String conditionDetail = "";
        int resolveFailures;
        boolean resolving;
        long nextResolveMonotonicNanos;
        boolean pending;
        long pendingNonce;
        long pendingT1MonotonicNanos;
        long pendingDeadlineMonotonicNanos;
        /** The first datagram dropped before its origin check during this exchange: its outcome if nothing better comes. */
        RejectReason pendingSuspectReason;
        String pendingSuspectDetail;

        ServerState(Server server, long pollIntervalNanos) {
            this.server = server;
            this.pollIntervalNanos = pollIntervalNanos;
            this.address = server.address().isUnresolved() ? null : server.address();
        }

        void clearPending() {
            pending = false;
            pendingNonce = 0;
            pendingSuspectReason = null;
            pendingSuspectDetail = null;
        }

        /** Polled now or later: resolved and not told to go away. */
        boolean polled() {
            return address != null && !stopped;
        }
    }

    /** A finished lookup, handed from the resolver thread to the source's thread. */
    private record Resolution(ServerState state, InetAddress address, String failure) {
    }

    /** When each (source, reason) was last logged at WARN, and how many were logged at DEBUG since. */
    private final Config config;
    private final RateLimitedLog rateLimited;
    private final SourceListener listener;
    private final RandomGenerator nonceRandom;
    private final MonotonicClock clock;
    private final List<ServerState> states = new ArrayList<>();
    private final Map<InetSocketAddress, ServerState> stateByAddress = new HashMap<>();
    private final Resolver resolver;
    private final ConcurrentLinkedQueue<Resolution> resolutions = new ConcurrentLinkedQueue<>();
    private ExecutorService resolverThread;

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
        this(config, listener, nonceRandom, clock, InetAddress::getByName);
    }

    /** As above, with host names looked up by {@code resolver} (on a thread of this source's own). */
    public NtpSource(Config config, SourceListener listener, RandomGenerator nonceRandom, MonotonicClock clock,
                     Resolver resolver) {
        if (config == null || listener == null || nonceRandom == null || clock == null || resolver == null) {
            throw new IllegalArgumentException("config, listener, nonceRandom, clock and resolver must not be null");
        }
        this.config = config;
        this.listener = listener;
        this.nonceRandom = nonceRandom;
        this.clock = clock;
        this.resolver = resolver;
        this.rateLimited = new RateLimitedLog(log, clock);
        for (Server server : config.servers()) {
            long pollNanos = server.pollIntervalNanos() == Server.CONFIG_POLL_INTERVAL
                    ? config.pollIntervalNanos() : server.pollIntervalNanos();
            ServerState state = new ServerState(server, pollNanos);
            states.add(state);
            if (state.address != null) {
                stateByAddress.put(state.address, state);
            }
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
            state.nextResolveMonotonicNanos = now;
        }
        if (states.stream().anyMatch(st -> st.address == null)) {
            resolverThread = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "ntp-resolver");
                t.setDaemon(true);
                return t;
            });
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
            if (resolverThread != null) {
                resolverThread.shutdownNow(); // a lookup in progress finishes on its own; its result is dropped
            }
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
                applyResolutions(now);
                startDueResolutions(now);
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

    /** Takes in the lookups the resolver thread finished. */
    private void applyResolutions(long nowMonotonicNanos) {
        for (Resolution r; (r = resolutions.poll()) != null; ) {
            ServerState state = r.state();
            state.resolving = false;
            String failure = r.failure();
            InetSocketAddress address = null;
            if (failure == null) {
                address = new InetSocketAddress(r.address(), state.server.address().getPort());
                ServerState other = stateByAddress.get(address);
                if (other != null) {
                    failure = "resolves to " + address + ", the address of " + other.server.name();
                }
            }
            String host = state.server.address().getHostString();
            if (failure == null) {
                state.address = address;
                state.resolveFailures = 0;
                stateByAddress.put(address, state);
                state.nextPollMonotonicNanos = nowMonotonicNanos;
                setCondition(state, SourceCondition.POLLING, "'" + host + "' resolved to " + address);
                continue;
            }
            state.resolveFailures++;
            long waitNanos = RESOLVE_RETRY_MIN_NANOS << Math.min(state.resolveFailures - 1, 20);
            state.nextResolveMonotonicNanos = nowMonotonicNanos + Math.min(waitNanos, RESOLVE_RETRY_MAX_NANOS);
            if (state.condition != SourceCondition.UNRESOLVED) { // once, not per retry: the resolver's words vary
                setCondition(state, SourceCondition.UNRESOLVED, "cannot resolve '" + host + "' (" + failure
                        + "): not polled; retrying with back-off from " + RESOLVE_RETRY_MIN_NANOS / 1_000_000_000
                        + " s to " + RESOLVE_RETRY_MAX_NANOS / 1_000_000_000 + " s");
            }
        }
    }

    /** Hands every unresolved server whose retry is due to the resolver thread. */
    private void startDueResolutions(long nowMonotonicNanos) {
        for (ServerState state : states) {
            if (state.address != null || state.resolving
                    || nowMonotonicNanos - state.nextResolveMonotonicNanos < 0) {
                continue;
            }
            state.resolving = true;
            String host = state.server.address().getHostString();
            Selector wakeUp = selector;
            try {
                resolverThread.execute(() -> {
                    Resolution result;
                    try {
                        result = new Resolution(state, resolver.resolve(host), null);
                    } catch (UnknownHostException | RuntimeException e) {
                        result = new Resolution(state, null, e.getClass().getSimpleName() + ": " + e.getMessage());
                    }
                    resolutions.add(result);
                    wakeUp.wakeup();
                });
            } catch (RejectedExecutionException closing) {
                return;
            }
        }
    }

    /** Reports a condition when it or its words change (each RATE kiss changes the interval its words name). */
    private void setCondition(ServerState state, SourceCondition condition, String detail) {
        if (state.condition == condition && detail.equals(state.conditionDetail)) {
            return;
        }
        state.condition = condition;
        state.conditionDetail = detail;
        if (condition == SourceCondition.POLLING) {
            log.info("{}: {}", state.server.name(), detail);
        } else {
            log.warn("{}: {}", state.server.name(), detail);
        }
        tell(state.server.name(), "a condition", () -> listener.onCondition(state.server.name(), condition, detail));
    }

    /**
     * Ends the outstanding exchange without a reply: under the reason of a datagram dropped before its origin
     * check if one came (the server may be answering with it), else as a timeout.
     */
    private void endUnanswered(ServerState state, String timeoutDetail) {
        RejectReason reason = state.pendingSuspectReason != null ? state.pendingSuspectReason : RejectReason.TIMEOUT;
        String detail = state.pendingSuspectReason != null ? state.pendingSuspectDetail : timeoutDetail;
        state.clearPending();
        reject(state.server.name(), reason, detail);
    }

    private void expireTimeouts(long nowMonotonicNanos) {
        for (ServerState state : states) {
            if (state.pending && nowMonotonicNanos - state.pendingDeadlineMonotonicNanos >= 0) {
                endUnanswered(state, "no reply within " + config.replyTimeoutNanos() / 1_000_000 + " ms from "
                        + state.address);
            }
        }
    }

    private void sendDuePolls(long nowMonotonicNanos) throws ClosedChannelException {
        for (ServerState state : states) {
            if (!state.polled() || nowMonotonicNanos - state.nextPollMonotonicNanos < 0) {
                continue;
            }
            if (state.pending) {
                endUnanswered(state, "no reply before the next poll was due from " + state.address);
            }
            long nonce = nextNonce();
            ByteBuffer request = ByteBuffer.wrap(NtpWire.request(nonce));
            long t1 = clock.nanoTime();
            try {
                int sent = channel.send(request, state.address);
                if (sent == 0) {
                    warnLimited(state.server.name() + "/send", "send buffer full; request to "
                            + state.address + " dropped (it will time out)", null);
                }
            } catch (ClosedChannelException e) {
                throw e;
            } catch (IOException e) {
                // e.g. network unreachable: the request counts as sent, and its timeout reports the outage
                warnLimited(state.server.name() + "/send", "send to " + state.address + " failed: " + e, null);
            }
            state.pending = true;
            state.pendingNonce = nonce;
            state.pendingT1MonotonicNanos = t1;
            state.pendingDeadlineMonotonicNanos = t1 + config.replyTimeoutNanos();
            state.pollsSent++;
            state.nextPollMonotonicNanos = nowMonotonicNanos + nextIntervalNanos(state);
        }
    }

    /** The burst's spacing (never longer than the server's poll) while it lasts, then the poll interval. */
    private long nextIntervalNanos(ServerState state) {
        return state.pollsSent < config.burstPolls()
                ? Math.min(config.burstIntervalNanos(), state.pollIntervalNanos) : state.pollIntervalNanos;
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
            if (state.polled() && state.nextPollMonotonicNanos - earliest < 0) {
                earliest = state.nextPollMonotonicNanos;
            }
            if (state.address == null && !state.resolving && state.nextResolveMonotonicNanos - earliest < 0) {
                earliest = state.nextResolveMonotonicNanos;
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
            stray(name, RejectReason.ORIGIN_MISMATCH, "no request outstanding: a late or duplicated reply");
            return;
        }
        if (t4MonotonicNanos - state.pendingDeadlineMonotonicNanos >= 0) {
            // Read after its deadline (the loop stalled, or the host was suspended, since the timeout sweep): an
            // exchange longer than the reply timeout is not used, which the estimator's quarantine after a
            // disruption relies on. This request is over; the next poll asks again.
            endUnanswered(state, "reply read " + (t4MonotonicNanos - state.pendingT1MonotonicNanos)
                    / 1_000_000 + " ms after its request, past the " + config.replyTimeoutNanos() / 1_000_000
                    + " ms reply timeout");
            return;
        }
        NtpWire.Result result = NtpWire.parseReply(bytes, length, state.pendingNonce,
                state.pendingT1MonotonicNanos, t4MonotonicNanos, config.maxDriftPpb(), config.maxRootDistanceNanos());
        if (result instanceof NtpWire.Accepted accepted) {
            strayIfSuspect(state);
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
        } else if (result instanceof NtpWire.Kiss kiss) {
            strayIfSuspect(state);
            long t1MonotonicNanos = state.pendingT1MonotonicNanos;
            state.clearPending();
            kissed(state, kiss, t1MonotonicNanos);
        } else if (result instanceof NtpWire.Rejected rejected) {
            if (!BEFORE_ORIGIN_CHECK.contains(rejected.reason())) {
                // the server did answer this request, with something we cannot use
                strayIfSuspect(state);
                state.clearPending();
                reject(name, rejected.reason(), rejected.detail());
            } else if (state.pendingSuspectReason == null) {
                // maybe not from the server: keep waiting for the real reply, and end the exchange with this if none
                state.pendingSuspectReason = rejected.reason();
                state.pendingSuspectDetail = rejected.detail();
            } else {
                stray(name, rejected.reason(), rejected.detail());
            }
        }
    }

    /**
     * RFC 5905 section 7.4. RATE: poll this server half as often, up to {@link #MAX_POLL_INTERVAL_NANOS}, and end
     * its burst (chrony's ntp_core.c does both). DENY, RSTR: stop polling it. Either way the reply is no sample.
     */
    private void kissed(ServerState state, NtpWire.Kiss kiss, long t1MonotonicNanos) {
        String name = state.server.name();
        reject(name, RejectReason.KISS_OF_DEATH, "kiss code " + kiss.code());
        if (kiss.stopsPolling()) {
            state.stopped = true;
            setCondition(state, SourceCondition.STOPPED, "server sent kiss-of-death " + kiss.code()
                    + ": stopped polling it until clockd restarts");
        } else if (kiss.asksToSlowDown()) {
            state.pollIntervalNanos = Math.max(state.pollIntervalNanos,
                    Math.min(2 * state.pollIntervalNanos, MAX_POLL_INTERVAL_NANOS));
            state.pollsSent = Math.max(state.pollsSent, config.burstPolls());
            state.nextPollMonotonicNanos = t1MonotonicNanos + state.pollIntervalNanos;
            setCondition(state, SourceCondition.BACKED_OFF, "server sent kiss-of-death RATE: polling every "
                    + state.pollIntervalNanos / 1_000_000_000 + " s");
        }
    }

    /** A datagram dropped before its origin check earlier in this exchange, which the real reply showed to be stray. */
    private void strayIfSuspect(ServerState state) {
        if (state.pendingSuspectReason != null) {
            stray(state.server.name(), state.pendingSuspectReason, state.pendingSuspectDetail);
        }
    }

    private void stray(String sourceName, RejectReason reason, String detail) {
        warnLimited(sourceName + "/stray/" + reason, sourceName + ": stray datagram: " + reason + ": " + detail, null);
        tell(sourceName, "a stray datagram", () -> listener.onStrayDatagram(sourceName, reason, detail));
    }

    private void reject(String sourceName, RejectReason reason, String detail) {
        warnLimited(sourceName + "/" + reason, sourceName + ": " + reason + ": " + detail, null);
        tell(sourceName, "a rejection", () -> listener.onRejected(sourceName, reason, detail));
    }

    /** Calls the listener; a listener that throws is logged (rate-limited) and the source goes on. */
    private void tell(String sourceName, String what, Runnable call) {
        try {
            call.run();
        } catch (RuntimeException e) {
            warnLimited("listener", "listener failed on " + what + " from " + sourceName, e);
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
