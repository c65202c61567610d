package io.gnomon.spanner.torture;

import io.gnomon.paxos.runtime.StateMachine;
import io.gnomon.paxos.sim.ReplicaFactory;
import io.gnomon.paxos.sim.SimWorkload;
import io.gnomon.paxos.sim.SimWorld;
import io.gnomon.paxos.sim.Simulator;
import io.gnomon.paxos.store.StoreLimits;
import io.gnomon.spanner.check.CheckResult;
import io.gnomon.spanner.history.HistoryWriter;
import io.gnomon.spanner.history.MicroOp;
import io.gnomon.spanner.history.ReadMode;
import io.gnomon.truetime.ClockUnavailableException;
import io.gnomon.truetime.TimeInterval;
import io.gnomon.txn.CommitOutcome;
import io.gnomon.txn.CommitRequest;
import io.gnomon.txn.TxnHost;
import io.gnomon.txn.TxnId;
import io.gnomon.txn.TxnLimits;
import io.gnomon.txn.TxnQueryCodec;
import io.gnomon.txn.Write;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Transactions in deterministic simulation (issue 20, "Proof"): every group's replica on every simulated process is a
 * {@code TxnHost} over a {@code TxnMachine} (the simulator's transactional mode, the same host code a replica server
 * runs), and simulated clients run list-append transactions over keys spread across the groups, under crashes,
 * partitions, one-way cuts, pauses, loss, duplication, reordering and clock drift within the bound; the checker then
 * judges the history, commit and read timestamps included.
 *
 * <p>A <b>read-write transaction</b> reads every key it touches with a locking read at its group's leader (shared
 * locks), appends to lists by writing each appended key's whole new list at commit (buffered by the client), and
 * sends one commit request per group it touched, each to the leader it read that group from: the first group it
 * appends to coordinates, the others (read-only groups included, whose shared locks must last until the commit)
 * participate, so a transaction over several groups commits by two-phase commit. A commit request reaching a
 * replica that no longer leads in the leadership the reads were served in is not handed over (the lock table was
 * that leader's memory), so the coordinator aborts. A retryable abort runs the transaction again with {@link
 * TxnId#retry()}, which keeps its age; {@code Unknown} and a client timeout after the commit was sent are recorded
 * {@code info}. The transaction's age is {@code TT.now().earliest} at the first replica it reached.
 *
 * <p>A <b>read-only transaction</b> reads one to three keys at one timestamp at random replicas, followers included,
 * with a random bound: strong ({@code TT.now().latest} at a replica), an exact timestamp (one the client saw
 * before), an exact staleness, and for single reads a maximum staleness or a minimum read timestamp (the client's
 * last commit), both resolved at the serving replica from its safe time. Strong ones are recorded with read mode
 * {@code strong}, the others {@code stale}.
 *
 * <p>The history's {@code time} is simulated true time, and everything random comes from the seed, so a seed
 * replays byte for byte.
 */
final class SimulatedTxnRun implements SimWorkload {
    static final long MS = 1_000_000L;
    static final int MAX_REDIRECTS = 12;
    /** A client told of no leader (or sent to a replica that is down) tries the next replica after this long. */
    static final long ELECTION_WAIT = 50 * MS;
    static final int MAX_ATTEMPTS = 8;
    /** A client gives up on a request it has no answer to after this long (then a sent commit is {@code info}). */
    static final long REQUEST_TIMEOUT = 3_000 * MS;
    /** How long a replica lets a snapshot read wait for its safe time. */
    static final long READ_WAIT = 1_000 * MS;
    static final long BACKOFF = 20 * MS;
    /**
     * Transaction limits of the run: an attempt that failed after taking locks (its client cannot abort it yet) keeps
     * them until it is idle for 600 ms; a retry, younger than its earlier attempt, waits for them. Outcomes are
     * forgotten once 1.5 s old (and acknowledged), so a 4 s run forgets most of them, 16 per Forget record; an
     * attempt of a transaction begun over 1.5 s before is refused for good ({@code Unknown}: {@code info}).
     */
    static final TxnLimits LIMITS = new TxnLimits(1_000, 1_000, 10_000, 1_000, 50 * MS, 600 * MS, 1_000 * MS,
            200 * MS).withOutcomeRetention(1_500 * MS, 16);
    static final TxnHost.Options HOST_OPTIONS = new TxnHost.Options(1_000, 256, 20 * MS, 10_000);
    /** A list of up to 256 values per key. */
    static final StoreLimits STORE_LIMITS = StoreLimits.DEFAULTS.withMaxKeyBytes(64).withMaxValueBytes(2048);
    static final int MAX_LIST = STORE_LIMITS.maxValueBytes() / Long.BYTES;
    /** A guard: a seed takes tens of thousands of events; one that runs away fails instead of running for hours. */
    static final int MAX_EVENTS = 2_000_000;
    static final double LOSS_RATE = 0.02;
    static final double DUPLICATE_RATE = 0.01;

    /**
     * One run's shape.
     *
     * @param seed     the simulation's seed (the workload's and the faults' too)
     * @param replicas 3 or 5
     * @param groups   Paxos groups, every process hosting a replica of each
     * @param clients  concurrent simulated clients
     * @param keys     keys, spread over the groups round-robin
     * @param duration simulated time clients start transactions in (faults stop then and are healed)
     * @param dataDir  where the simulated processes keep their stores (removed at the end)
     * @param control  a deliberate bug the checker must catch ({@link Control#NONE} in real runs)
     */
    record Config(long seed, int replicas, int groups, int clients, int keys, Duration duration, Path dataDir,
                  Control control) {
        Config(long seed, int replicas, int groups, int clients, int keys, Duration duration, Path dataDir) {
            this(seed, replicas, groups, clients, keys, duration, dataDir, Control.NONE);
        }

        Config {
            if (groups < 1 || groups > 64) {
                throw new IllegalArgumentException("--groups " + groups + ": use 1 to 64");
            }
            if (clients < 1 || keys < 1 || duration.isNegative() || duration.isZero()) {
                throw new IllegalArgumentException("clients, keys and duration must be positive, were " + clients
                        + ", " + keys + ", " + duration);
            }
        }
    }

    /**
     * The negative controls (issue 20, "Proof"): each switches a deliberate bug on in every transaction host through
     * {@code io.gnomon.txn.TestOnlyTxnNegativeControl}, which exists only in txn-coordinator's test classes; the run
     * has none of the fault schedule then (only what the control names), so the checker alone must catch the bug.
     */
    enum Control {
        NONE("none", null),
        /**
         * Commit-wait switched off while replica 1's clock reads fast within its stated ε (its TrueTime midpoint
         * stepped {@link #FAST_CLOCK_NANOS} ahead, its ε widened by as much): its commit timestamps lie ahead of true
         * time when their clients hear of them, so a transaction that starts next elsewhere gets a smaller one.
         */
        SKIP_COMMIT_WAIT("skip-commit-wait", io.gnomon.paxos.server.NegativeControl.SKIP_COMMIT_WAIT),
        /**
         * Replicas, followers included, serve snapshot reads without waiting for their safe time (stale reads), with
         * a fifth of the messages between replicas lost so that followers lag.
         */
        SKIP_SAFE_TIME("skip-safe-time", io.gnomon.paxos.server.NegativeControl.SKIP_SAFE_TIME);

        /** Messages lost under {@link #SKIP_SAFE_TIME}, so that followers often lag (the only fault it has). */
        static final double LAGGING_LOSS_RATE = 0.2;
        /** How far ahead replica 1's clock reads under {@link #SKIP_COMMIT_WAIT}, within ε and under the ε ceiling. */
        static final long FAST_CLOCK_NANOS = 20 * MS;

        private final String cliName;
        /** The replica's control with the same switch ({@code bin/replica --negative-control}), or null. */
        private final io.gnomon.paxos.server.NegativeControl replicaControl;

        Control(String cliName, io.gnomon.paxos.server.NegativeControl replicaControl) {
            this.cliName = cliName;
            this.replicaControl = replicaControl;
        }

        String cliName() {
            return cliName;
        }

        static Control named(String name) {
            for (Control c : values()) {
                if (c.cliName.equals(name)) {
                    return c;
                }
            }
            throw new IllegalArgumentException("--negative-control " + name + ": use skip-commit-wait or skip-safe-time");
        }

        /**
         * The hook that switches the bug on in a host: the replica's own test-only switch (looked up by name: it
         * exists only in test classes).
         */
        java.util.function.Consumer<TxnHost<?>> hostHook() {
            if (replicaControl == null) {
                return Transactions.NO_HOOK;
            }
            try {
                return io.gnomon.paxos.server.NegativeControl.testOnlyTxnHostSwitch(replicaControl);
            } catch (IllegalStateException e) {
                throw new IllegalArgumentException("--negative-control " + cliName + " needs txn-coordinator's test "
                        + "classes: run with GNOMON_EXTRA_CLASSPATH=txn-coordinator/target/test-classes (" + e.getMessage()
                        + ")");
            }
        }
    }

    /**
     * What a run did besides its history.
     *
     * @param committed        read-write transactions committed
     * @param acrossGroups     of those, the ones over several groups (two-phase commit)
     * @param aborts           attempts aborted and retried
     * @param readOnly         read-only transactions served, by bound
     * @param lastAbort        why the last retried attempt was aborted
     * @param faults           faults injected
     * @param forgotten        outcomes forgotten (outcome retention 1.5 s), summed over groups: each group's most on
     *                         any replica up at the end, counted since that replica's process last started
     */
    record Outcome(int committed, int acrossGroups, int aborts, String lastAbort, Map<String, Integer> readOnly,
                   int faults, Simulator.Result simulation, long forgotten) {
    }

    private final Config config;
    private final Path dataDir;
    private SimWorld world;
    private HistoryWriter history;
    private final SplittableRandom faults;
    private final long[] nextValue;
    /** Per group (index = group id): the replica clients believe leads it. */
    private final int[] leaderGuess;
    private final List<Client> clients = new ArrayList<>();
    private int running;
    private boolean stopping;
    private boolean finished;
    private int committed;
    private int acrossGroups;
    private final Map<String, Integer> readOnlyServed = new TreeMap<>();
    private int aborts;
    /** Why the last attempt was retried (for a replay's summary). */
    private String lastAbort = "";
    private int injected;
    private long forgotten;

    private SimulatedTxnRun(Config config) {
        this.config = config;
        this.dataDir = config.dataDir();
        this.faults = new SplittableRandom(config.seed() ^ 0x3c6ef372fe94f82bL);
        this.nextValue = new long[config.keys()];
        this.leaderGuess = new int[config.groups() + 1];
        java.util.Arrays.fill(leaderGuess, 1);
    }

    /** Runs one seed, writing its history to {@code history}; the checker is the caller's. */
    static Outcome run(Config config, ReplicaFactory factory, String replay, Path history) throws IOException {
        SimulatedTxnRun run = new SimulatedTxnRun(config);
        Simulator.Result result;
        try (HistoryWriter writer = HistoryWriter.open(history, () -> run.world.trueNanos())) {
            run.history = writer;
            result = Simulator.withWorkload(config.seed(), config.replicas(), config.groups(), factory, run,
                    new Simulator.Options(300 * MS, 100 * MS, 1_000 * MS, 16_384, true, MAX_EVENTS, replay)).run();
        }
        if (!run.finished) {
            throw new IllegalStateException("the simulation stopped after " + result.steps()
                    + " events without finishing its run; replay: " + replay);
        }
        return new Outcome(run.committed, run.acrossGroups, run.aborts, run.lastAbort, run.readOnlyServed, run.injected, result,
                run.forgotten);
    }

    // ------------------------------------------------------------------ SimWorkload

    @Override
    public Transactions transactional() {
        return new Transactions(LIMITS, HOST_OPTIONS, STORE_LIMITS, dataDir, config.control().hostHook());
    }

    @Override
    public StateMachine newMachine() {
        throw new UnsupportedOperationException("a transactional run's machines are the simulator's TxnMachines");
    }

    @Override
    public void start(SimWorld w) {
        this.world = w;
        w.networkFaults(LOSS_RATE, DUPLICATE_RATE);
        for (int i = 0; i < config.clients(); i++) {
            Client c = new Client(i);
            clients.add(c);
            running++;
            w.after(w.random().nextLong(10 * MS) + 300 * MS, () -> nextTxn(c)); // after the first elections
        }
        w.after(config.duration().toNanos(), () -> stopping = true);
        if (config.control() == Control.NONE) {
            w.after(500 * MS, this::nextFault);
        } else if (config.control() == Control.SKIP_COMMIT_WAIT) {
            w.stepClock(1, Control.FAST_CLOCK_NANOS); // truthful: the interval widens by as much; held to the end
        } else {
            w.networkFaults(Control.LAGGING_LOSS_RATE, DUPLICATE_RATE); // followers lag behind their leaders
        }
    }

    @Override
    public boolean finished() {
        return finished;
    }

    // ------------------------------------------------------------------ clients

    /** One logical client: one transaction at a time; its process id changes after an {@code info}. */
    private final class Client {
        final int index;
        final SplittableRandom random;
        int process;
        /** Bumped for every request round, so that late answers of an abandoned one are ignored. */
        long token;
        List<MicroOp> txn;
        ReadMode mode;
        TxnId id;
        int attempts;
        /** Per group read in this attempt: the replica and its leadership term the reads were served in. */
        final Map<Integer, long[]> readAt = new TreeMap<>();
        /** The lists read in this attempt, by key. */
        final Map<String, List<Long>> lists = new TreeMap<>();
        /** The last commit timestamp this client saw (a minimum read timestamp, an exact timestamp), -1 none. */
        long lastCommitTs = -1;

        Client(int index) {
            this.index = index;
            this.random = new SplittableRandom(config.seed() * 1_000_003L + index);
            this.process = index;
        }
    }

    private void nextTxn(Client c) {
        if (stopping) {
            running--;
            maybeFinish();
            return;
        }
        c.token++;
        c.id = null;
        c.attempts = 0;
        List<MicroOp> txn = c.random.nextInt(10) < 6 ? readWriteTxn(c.random) : null;
        if (txn != null) {
            c.txn = txn;
            c.mode = ReadMode.STRONG; // a read-write transaction reads at its commit timestamp
            history.invoke(c.process, c.txn, ReadMode.STRONG);
            attempt(c);
        } else {
            readOnly(c);
        }
    }

    private static String key(int k) {
        return "k" + k;
    }

    private int groupOf(String key) {
        return TxnGenerator.groupOf(key, config.groups());
    }

    /**
     * One to four micro-ops over random keys (so often over several groups), at least one an append; null when the
     * keys drawn are all full (then the client reads instead).
     */
    private List<MicroOp> readWriteTxn(SplittableRandom r) {
        int n = 1 + r.nextInt(4);
        List<MicroOp> txn = new ArrayList<>(n);
        boolean appended = false;
        for (int i = 0; i < n; i++) {
            int k = r.nextInt(config.keys());
            boolean append = (i == n - 1 && !appended) || r.nextBoolean();
            if (append && nextValue[k] < MAX_LIST) {
                txn.add(new MicroOp.Append(key(k), ++nextValue[k]));
                appended = true;
            } else {
                txn.add(new MicroOp.Read(key(k), null));
            }
        }
        return appended ? txn : null;
    }

    // ---- read-write

    /** One attempt: locking reads of every key touched, in order, then the commit. */
    private void attempt(Client c) {
        c.attempts++;
        c.token++;
        c.readAt.clear();
        c.lists.clear();
        if (c.id != null) {
            c.id = c.id.retry();
        }
        List<String> keys = new ArrayList<>(new java.util.LinkedHashSet<>(c.txn.stream().map(MicroOp::key).toList()));
        lockingReads(c, c.token, keys, 0);
    }

    private void lockingReads(Client c, long token, List<String> keys, int redirects) {
        if (c.token != token) {
            return;
        }
        if (keys.isEmpty()) {
            commit(c, token);
            return;
        }
        String key = keys.get(0);
        int g = groupOf(key);
        long[] at = c.readAt.get(g);
        int target = at != null ? (int) at[0] : leaderGuess[g];
        long deadline = world.trueNanos() + REQUEST_TIMEOUT;
        world.after(REQUEST_TIMEOUT, () -> {
            if (c.token == token) {
                retry(c, "no answer to a locking read of " + key + " within " + REQUEST_TIMEOUT / MS + " ms");
            }
        });
        world.atReplica(target, world.networkDelayNanos(), up -> {
            if (c.token != token) {
                return;
            }
            long term = up ? world.txnLeaderTerm(target, g) : -1;
            if (term < 0 || (at != null && at[1] != term)) {
                int hint = up ? world.leaderHint(target, g) : -1;
                if (at != null) { // this group's earlier reads were served by a leadership that is over
                    later(() -> retry(c, "group " + g + "'s leader changed between the transaction's reads"));
                } else if (redirects < MAX_REDIRECTS && world.trueNanos() < deadline) {
                    // as ReplicaClient: follow the hint, else the next replica; without a hint, after a while
                    world.after(world.networkDelayNanos() + (hint > 0 && hint != target ? 0 : ELECTION_WAIT), () -> {
                        redirect(g, target, hint);
                        lockingReads(c, token, keys, redirects + 1);
                    });
                } else {
                    later(() -> retry(c, "replica " + target + (up ? " does not lead group " + g : " is down")));
                }
                return;
            }
            if (c.id == null) {
                TimeInterval tt;
                try {
                    tt = world.trueTime(target);
                } catch (ClockUnavailableException e) {
                    later(() -> retry(c, e.getMessage()));
                    return;
                }
                c.id = new TxnId(tt.earliestEpochNanos(), c.index + 1, 0);
            }
            c.readAt.put(g, new long[] {target, term});
            world.lockingRead(target, g, c.id, new TxnQueryCodec.Get(bytes(key), 0), r -> {
                if (c.token != token) {
                    return;
                }
                if (!r.served()) {
                    retry(c, r.failure());
                    return;
                }
                c.lists.put(key, decodeList(((TxnQueryCodec.Value) r.answer()).valueOrNull()));
                lockingReads(c, token, keys.subList(1, keys.size()), 0);
            });
        });
    }

    /** The commit: one request per group touched, each to the replica its reads were served by. */
    private void commit(Client c, long token) {
        // The completed micro-ops, and each appended key's new list (what was read, then this transaction's appends).
        Map<String, List<Long>> now = new TreeMap<>();
        c.lists.forEach((k, v) -> now.put(k, new ArrayList<>(v)));
        List<MicroOp> completed = new ArrayList<>();
        Map<String, Boolean> written = new LinkedHashMap<>();
        int coordinator = -1;
        for (MicroOp m : c.txn) {
            if (m instanceof MicroOp.Append a) {
                now.get(a.key()).add(a.value());
                written.put(a.key(), true);
                if (coordinator < 0) {
                    coordinator = groupOf(a.key());
                }
                completed.add(a);
            } else {
                completed.add(new MicroOp.Read(m.key(), List.copyOf(now.get(m.key()))));
            }
        }
        Map<Integer, List<Write>> writes = new TreeMap<>();
        for (int g : c.readAt.keySet()) {
            writes.put(g, new ArrayList<>());
        }
        for (String k : written.keySet()) {
            writes.get(groupOf(k)).add(Write.put(bytes(k), encodeList(now.get(k))));
        }
        List<Long> participants = new ArrayList<>();
        for (int g : new TreeSet<>(c.readAt.keySet())) {
            if (g != coordinator) {
                participants.add((long) g);
            }
        }
        int coord = coordinator;
        c.token++;
        long commitToken = c.token;
        world.after(REQUEST_TIMEOUT, () -> {
            if (c.token == commitToken) {
                complete(c, () -> history.info(c.process), "info", true);
            }
        });
        for (Map.Entry<Integer, List<Write>> e : writes.entrySet()) {
            int g = e.getKey();
            long[] at = c.readAt.get(g);
            int target = (int) at[0];
            CommitRequest req = new CommitRequest(c.id, coord, participants, e.getValue());
            world.atReplica(target, world.networkDelayNanos(), up -> {
                if (c.token != commitToken) {
                    return;
                }
                if (!up || world.txnLeaderTerm(target, g) != at[1]) {
                    // Not handed over: the coordinator never commits without it (it aborts, or never heard of it).
                    if (g == coord) {
                        later(() -> retry(c, "the coordinator group " + g + "'s leader changed since the reads"));
                    }
                    return;
                }
                world.commit(target, g, req, outcome -> {
                    if (c.token != commitToken) {
                        return;
                    }
                    if (outcome instanceof CommitOutcome.Committed ok) {
                        committed++;
                        acrossGroups += participants.isEmpty() ? 0 : 1;
                        c.lastCommitTs = ok.commitTimestampEpochNanos();
                        complete(c, () -> history.okCommitted(c.process, completed, ok.commitTimestampEpochNanos()),
                                "ok", false);
                    } else if (outcome instanceof CommitOutcome.Aborted a && a.retryable()) {
                        retry(c, a.reason());
                    } else if (outcome instanceof CommitOutcome.Aborted) {
                        complete(c, () -> history.fail(c.process), "fail", false);
                    } else {
                        complete(c, () -> history.info(c.process), "info", true);
                    }
                });
            });
        }
    }

    /** A retryable abort (or a request that failed before the commit was handed over): again, same age. */
    private void retry(Client c, String why) {
        aborts++;
        lastAbort = why;
        c.token++;
        if (c.attempts >= MAX_ATTEMPTS) {
            complete(c, () -> history.fail(c.process), "fail", false);
            return;
        }
        long token = c.token;
        world.after(BACKOFF + c.random.nextLong(BACKOFF * c.attempts), () -> {
            if (c.token == token) {
                attempt(c);
            }
        });
    }

    // ---- read-only

    private enum Bound { STRONG, EXACT_TIMESTAMP, EXACT_STALENESS, MAX_STALENESS, MIN_READ_TIMESTAMP }

    private void readOnly(Client c) {
        int n = 1 + c.random.nextInt(3);
        TreeSet<Integer> ks = new TreeSet<>();
        for (int i = 0; i < n; i++) {
            ks.add(c.random.nextInt(config.keys()));
        }
        List<MicroOp> txn = ks.stream().map(k -> (MicroOp) new MicroOp.Read(key(k), null)).toList();
        Bound[] bounds = Bound.values();
        Bound bound = bounds[c.random.nextInt(txn.size() == 1 ? bounds.length : 3)];
        c.txn = txn;
        c.mode = bound == Bound.STRONG ? ReadMode.STRONG : ReadMode.STALE;
        history.invoke(c.process, txn, c.mode);
        long token = c.token;
        world.after(REQUEST_TIMEOUT, () -> {
            if (c.token == token) {
                complete(c, () -> history.fail(c.process), "fail", false);
            }
        });
        long stalenessNanos = c.random.nextLong(1_000 * MS);
        int first = 1 + world.random().nextInt(config.replicas());
        world.atReplica(first, world.networkDelayNanos(), up -> {
            if (c.token != token) {
                return;
            }
            TimeInterval tt;
            try {
                if (!up) {
                    throw new IllegalStateException("replica " + first + " is down");
                }
                tt = world.trueTime(first);
            } catch (RuntimeException e) {
                later(() -> complete(c, () -> history.fail(c.process), "fail", false));
                return;
            }
            long t = switch (bound) {
                case STRONG -> tt.latestEpochNanos();
                case EXACT_TIMESTAMP -> c.lastCommitTs >= 0 ? c.lastCommitTs : tt.earliestEpochNanos() - stalenessNanos;
                case EXACT_STALENESS -> tt.latestEpochNanos() - stalenessNanos;
                // resolved at the serving replica, from its safe time: the newest it serves at once, not below the floor
                case MAX_STALENESS -> Math.max(world.safeTime(first, groupOf(txn.get(0).key())),
                        tt.latestEpochNanos() - stalenessNanos);
                case MIN_READ_TIMESTAMP -> Math.max(world.safeTime(first, groupOf(txn.get(0).key())),
                        Math.max(0, c.lastCommitTs));
            };
            boolean here = bound == Bound.MAX_STALENESS || bound == Bound.MIN_READ_TIMESTAMP;
            snapshotReads(c, token, bound, t, here ? first : -1, new ArrayList<>(), 0);
        });
    }

    /** The reads at {@code t}, one after another, each at a random replica (or {@code at}); then the completion. */
    private void snapshotReads(Client c, long token, Bound bound, long t, int at, List<MicroOp> done, int i) {
        if (c.token != token) {
            return;
        }
        if (i == c.txn.size()) {
            readOnlyServed.merge(bound.name().toLowerCase(java.util.Locale.ROOT), 1, Integer::sum);
            complete(c, () -> history.okRead(c.process, done, t), "ok", false);
            return;
        }
        String key = c.txn.get(i).key();
        int g = groupOf(key);
        int target = at > 0 ? at : 1 + world.random().nextInt(config.replicas());
        long delay = at > 0 ? 0 : world.networkDelayNanos();
        world.atReplica(target, delay, up -> {
            if (c.token != token) {
                return;
            }
            if (!up) {
                later(() -> complete(c, () -> history.fail(c.process), "fail", false));
                return;
            }
            world.snapshotRead(target, g, new TxnQueryCodec.Get(bytes(key), t), READ_WAIT, r -> {
                if (c.token != token) {
                    return;
                }
                if (!r.served() || !(r.answer() instanceof TxnQueryCodec.Value v)) {
                    complete(c, () -> history.fail(c.process), "fail", false);
                    return;
                }
                done.add(new MicroOp.Read(key, decodeList(v.valueOrNull())));
                snapshotReads(c, token, bound, t, at, done, i + 1);
            });
        });
    }

    // ---- shared

    /** The transaction's end: recorded once, then the next one after a pause; a fresh process id after info. */
    private void complete(Client c, Runnable record, String type, boolean info) {
        c.token++;
        record.run();
        if (info) {
            c.process += config.clients();
        }
        long pause = type.equals("ok") ? c.random.nextLong(5 * MS) : BACKOFF;
        world.after(pause, () -> nextTxn(c));
    }

    /** The answer travels back to the client before it acts on it. */
    private void later(Runnable r) {
        world.after(world.networkDelayNanos(), r);
    }

    /** ReplicaClient's rule: follow a hint to another replica, else move on from a replica that failed. */
    private void redirect(int group, int from, int hint) {
        if (hint >= 1 && hint <= config.replicas() && hint != from) {
            leaderGuess[group] = hint;
        } else if (leaderGuess[group] == from) {
            leaderGuess[group] = from % config.replicas() + 1;
        }
    }

    static byte[] bytes(String key) {
        return key.getBytes(StandardCharsets.UTF_8);
    }

    static byte[] encodeList(List<Long> list) {
        ByteBuffer b = ByteBuffer.allocate(list.size() * Long.BYTES);
        list.forEach(b::putLong);
        return b.array();
    }

    static List<Long> decodeList(byte[] bytes) {
        List<Long> out = new ArrayList<>();
        if (bytes != null) {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.remaining() >= Long.BYTES) {
                out.add(b.getLong());
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ faults

    /** Quiet, then one fault held for a while and healed, until the clients stop. */
    private void nextFault() {
        if (stopping) {
            healAll();
            return;
        }
        int kind = faults.nextInt(9);
        int victim = 1 + faults.nextInt(config.replicas());
        int groupOfLeader = 1 + faults.nextInt(config.groups());
        int leader = world.leader(groupOfLeader);
        long hold = 100 * MS + faults.nextLong(1_500 * MS);
        Runnable heal;
        switch (kind) {
            case 0 -> {
                world.crash(victim);
                heal = () -> world.restart(victim);
            }
            case 1 -> {
                int target = leader > 0 ? leader : victim;
                world.crash(target);
                heal = () -> world.restart(target);
            }
            case 2 -> {
                List<Integer> a = new ArrayList<>();
                List<Integer> b = new ArrayList<>();
                for (int id = 1; id <= config.replicas(); id++) {
                    (faults.nextBoolean() ? a : b).add(id);
                }
                world.partition(List.of(a, b));
                heal = world::healPartitions;
            }
            case 3 -> {
                int target = leader > 0 ? leader : victim;
                List<Integer> others = new ArrayList<>();
                for (int id = 1; id <= config.replicas(); id++) {
                    if (id != target) {
                        others.add(id);
                    }
                }
                world.partition(List.of(List.of(target), others));
                heal = world::healPartitions;
            }
            case 4 -> {
                int to = victim % config.replicas() + 1;
                world.cutOneWay(victim, to);
                heal = world::healPartitions;
            }
            case 5 -> {
                world.pause(victim);
                heal = () -> world.resume(victim);
            }
            case 6 -> {
                world.networkFaults(0.1 + faults.nextDouble() * 0.2, faults.nextDouble() * 0.1);
                heal = () -> world.networkFaults(LOSS_RATE, DUPLICATE_RATE);
            }
            case 7 -> {
                for (int id = 1; id <= config.replicas(); id++) {
                    world.drift(id, faults.nextLong(-200_000, 200_001)); // within the bound every interval allows
                }
                heal = this::healClocks;
            }
            default -> {
                world.clockUnavailable(victim);
                heal = this::healClocks;
            }
        }
        injected++;
        world.after(hold, () -> {
            heal.run();
            world.after(200 * MS + faults.nextLong(800 * MS), this::nextFault);
        });
    }

    private void healClocks() {
        for (int id = 1; id <= config.replicas(); id++) {
            world.healClock(id);
        }
    }

    private void healAll() {
        world.healPartitions();
        world.networkFaults(LOSS_RATE, DUPLICATE_RATE);
        for (int id = 1; id <= config.replicas(); id++) {
            world.resume(id);
            if (!world.up(id)) {
                world.restart(id);
            }
        }
        healClocks();
    }

    private void maybeFinish() {
        if (stopping && running == 0) {
            finished = true;
            for (int g = 1; g <= config.groups(); g++) {
                long most = 0;
                for (int n = 1; n <= config.replicas(); n++) {
                    most = Math.max(most, world.forgottenOutcomes(n, g));
                }
                forgotten += most;
            }
        }
    }

    /** The checker's verdict on a history this run wrote. */
    static CheckResult check(Path history) throws IOException {
        return TortureRun.check(history);
    }
}
