package io.gnomon.txn;

import io.gnomon.paxos.cluster.Key;
import io.gnomon.paxos.cluster.KeyRange;
import io.gnomon.paxos.Ballot;
import io.gnomon.paxos.PaxosReplica;
import io.gnomon.paxos.TimestampPromise;
import io.gnomon.paxos.runtime.GroupHost;
import io.gnomon.paxos.runtime.GroupLoop;
import io.gnomon.paxos.runtime.IncompleteInstallException;
import io.gnomon.paxos.runtime.StateMachine;
import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.ClockUnavailableException;
import io.gnomon.truetime.MonotonicClock;
import io.gnomon.truetime.TimeInterval;
import io.gnomon.truetime.TrueTime;
import io.gnomon.txn.CommitOutcome.Aborted;
import io.gnomon.txn.LockTable.Grant;
import io.gnomon.txn.LockTable.Lock;
import io.gnomon.txn.LockTable.Target;
import io.gnomon.txn.TimestampOracle.Assignment;
import io.gnomon.txn.TxnEffect.AcquireLocks;
import io.gnomon.txn.TxnEffect.CommitWaitUntil;
import io.gnomon.txn.TxnEffect.LogRecord;
import io.gnomon.txn.TxnEffect.MarkPrepared;
import io.gnomon.txn.TxnEffect.ReleaseLocks;
import io.gnomon.txn.TxnEffect.Reply;
import io.gnomon.txn.TxnEffect.Send;
import io.gnomon.txn.TxnQueryCodec.Get;
import io.gnomon.txn.TxnQueryCodec.Query;
import io.gnomon.txn.TxnQueryCodec.Scan;
import io.gnomon.txn.TxnRecord.Commit;
import io.gnomon.txn.TxnRecord.CommitRecord;
import io.gnomon.txn.TxnRecord.Outcome;
import io.gnomon.txn.TxnRecord.Prepare;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * The transaction host of one group (issue 20, step 2): beside the group's {@link GroupHost}, driven by the same
 * thread in the same turns, it owns the group's {@link TwoPhaseCommit} (with its {@link TimestampOracle}), its
 * {@link SafeTime} (every replica) and its {@link LockTable} (the leader only), and performs their effects: records
 * are logged through {@link GroupHost#append}, locks taken in the lock table, commit-wait is a timer, messages to
 * other groups and answers to clients go to the driver's {@link Outputs}.
 *
 * <p>Decided records reach it through {@link Machine}, the {@link StateMachine} the group's host applies to: it
 * hands each command to the group's {@link TxnMachine} and queues the decided record with the machine's verdict;
 * the next turn feeds the queue, in slot order, to the cores ({@link TwoPhaseCommit#recordDecided}, {@link
 * SafeTime}). A snapshot install, and a start over a machine that holds state, rebuild the cores from the machine's
 * recovery accessors ({@link TwoPhaseCommit#restore}); only slots above it are fed after that.
 *
 * <p>A turn: {@link #beginTurn}, any inputs (this host's, and the group host's {@code onMessage} / {@code onTick}
 * through {@link #group()}), {@link #endTurn}. Ask {@link #nextTickNanos} after every turn: records decided in a
 * turn's delivery are fed to the cores in the next one, so it answers "now" while any wait.
 *
 * <p>Pure in the project's sense: no threads, sockets, files or clocks inside; time comes from the {@link TrueTime}
 * and {@link MonotonicClock} it is given. Single-threaded.
 *
 * @param <C> what identifies a waiting client (a gRPC reply, a simulated client)
 */
public final class TxnHost<C> implements GroupLoop.TurnHook {
    /** Where the host's outputs go: the driver implements it. */
    public interface Outputs<C> {
        /** To the leader of {@code toGroup} (the driver routes it); may be lost, duplicated or reordered. */
        void send(long toGroup, TxnMessage message);

        /** The outcome of {@code client}'s commit request (once per request that is answered). */
        void reply(C client, CommitOutcome outcome);

        /** The answer to {@code client}'s read, or why it failed. */
        void readDone(C client, ReadResult result);

        /** Something an operator may need to see. */
        default void warn(String message) {
        }

        /**
         * The leader's commit-wait of {@code txn} (at commit timestamp {@code commitTs}) ended after {@code
         * waitedNanos} (monotonic, from when the timestamp was chosen; replication ran meanwhile), just before its
         * outcome goes out. For metrics and commit statistics.
         */
        default void commitWaited(TxnId txn, long commitTs, long waitedNanos) {
        }
    }

    /** A read's answer (then {@code failure} is null), or why it failed. */
    public record ReadResult(TxnQueryCodec.Answer answer, String failure) {
        public boolean served() {
            return failure == null;
        }
    }

    /**
     * What this host appends through its group host, as the append's client: the driver's listener hands it back to
     * {@link #proposalOutcome}.
     */
    public record Proposal(TxnRecord record) {
    }

    /**
     * The host's own bounds (the cores' are {@link TxnLimits}: a commit is refused when TrueTime is not usable or its
     * ε exceeds {@link TxnLimits#maxEpsilonNanos}).
     *
     * @param maxWaitingReads      snapshot reads waiting for safe time at once; one more is refused by name
     * @param maxPendingPromises   SafeTime's pending promises ({@link SafeTime#SafeTime(int)})
     * @param tickIntervalNanos    how often the leader's core is ticked (prepare timeout, inquiries, idle transactions)
     * @param maxRememberedAborts  transactions aborted while only reading (wounded, idle) whose later commit request
     *                             is refused; past it the oldest is forgotten
     */
    public record Options(int maxWaitingReads, int maxPendingPromises, long tickIntervalNanos,
                          int maxRememberedAborts) {
        public static final Options DEFAULTS = new Options(10_000, 1_024, 100_000_000L, 100_000);

        public Options {
            if (maxWaitingReads <= 0 || maxPendingPromises <= 0 || tickIntervalNanos <= 0 || maxRememberedAborts <= 0) {
                throw new IllegalArgumentException("TxnHost.Options must all be > 0, were maxWaitingReads "
                        + maxWaitingReads + ", maxPendingPromises " + maxPendingPromises + ", tickIntervalNanos "
                        + tickIntervalNanos + ", maxRememberedAborts " + maxRememberedAborts);
            }
        }
    }

    /** One decided slot as the group host applied it: the record (null: none) and whether it took effect. */
    private record DecidedSlot(long slot, TxnRecord record, boolean tookEffect) {
    }

    /**
     * The group's state machine as its {@link GroupHost} sees it: {@link TxnMachine}, with every applied slot queued
     * for the {@link TxnHost} (made first, since the group host needs its machine and the transaction host its
     * group host).
     */
    public static final class Machine implements StateMachine {
        private final TxnMachine txn;
        private final ArrayDeque<DecidedSlot> decided = new ArrayDeque<>();
        /** A snapshot was installed: the cores are rebuilt from the machine (what was queued before is in it). */
        private boolean installed;

        public Machine(TxnMachine txn) {
            this.txn = Objects.requireNonNull(txn);
        }

        public TxnMachine txnMachine() {
            return txn;
        }

        @Override
        public String validate(byte[] command) {
            return txn.validate(command);
        }

        @Override
        public byte[] apply(long slot, byte[] command) {
            TxnRecord record = null;
            if (command != null) {
                try {
                    record = TxnRecordCodec.decode(command);
                } catch (TxnRecordCodec.MalformedRecordException e) {
                    record = null; // the machine refuses it below, on every replica alike
                }
            }
            byte[] result;
            try {
                result = txn.apply(slot, command);
            } catch (IllegalArgumentException e) {
                decided.add(new DecidedSlot(slot, null, false)); // the index moved past it: no record here
                throw e;
            }
            decided.add(new DecidedSlot(slot, record, record != null && result[0] == TxnMachine.APPLIED[0]));
            return result;
        }

        @Override
        public byte[] query(byte[] query) {
            return txn.query(query);
        }

        @Override
        public long appliedIndex() {
            return txn.appliedIndex();
        }

        @Override
        public long flush() {
            return txn.flush();
        }

        @Override
        public SnapshotSource openSnapshot(int maxChunkBytes) {
            return txn.openSnapshot(maxChunkBytes);
        }

        @Override
        public SnapshotSink beginInstall(long endIndex) {
            SnapshotSink sink = txn.beginInstall(endIndex);
            return new SnapshotSink() {
                @Override
                public void add(byte[] chunk) {
                    sink.add(chunk);
                }

                @Override
                public void finish() {
                    sink.finish();
                    decided.clear();
                    installed = true;
                }
            };
        }

        @Override
        public void close() {
            txn.close();
        }
    }

    private record WaitingRead<C>(Query query, C client, long deadlineNanos, long sinceNanos) {
    }

    private record LockingRead<C>(Target target, Query query, C client) {
    }

    /** A moment whose TrueTime could not be read: no timestamp is taken from it and no commit-wait ends. */
    private static final TimeInterval UNKNOWN_TIME = new TimeInterval(0, Long.MAX_VALUE);

    private final long groupId;
    private final GroupHost<?> group;
    /** Appends a record through {@link #group}, with the group host's client for its {@link Proposal}. */
    private final BiConsumer<byte[], Proposal> appender;
    private final Machine machine;
    private final TxnLimits limits;
    private final Options options;
    private final TrueTime trueTime;
    private final MonotonicClock clock;
    private final Outputs<C> outputs;

    private TwoPhaseCommit core;
    private SafeTime safeTime;
    /** The core's timestamp promise last given to {@link #safeTime}; null before any. */
    private TimestampPromise promiseFed;
    /** Transactions SafeTime holds prepared (so that a resolving Outcome is told to it once). */
    private final Set<TxnId> safePrepared = new HashSet<>();

    // ---- leader only
    private boolean leader;
    /** The group host's {@link GroupHost#leaderships} when this host last became leader. */
    private long term;
    private LockTable locks;
    private long nextCoreTickNanos;
    /** Commit requests' exclusive locks not granted yet, by target. */
    private final Map<TxnId, Set<Target>> commitLocksWaiting = new HashMap<>();
    /**
     * Transactions prepared here when this leadership began: their shared locks (reads) were an earlier leader's
     * memory, and their commit timestamps are not known yet, so a write this leader committed meanwhile could get a
     * timestamp below theirs that their reads did not see. No commit request is taken until they resolve.
     */
    private final Set<TxnId> preparedBeforeLeadership = new HashSet<>();
    /** MarkPrepared asked while the transaction still waited for locks: marked once they are granted. */
    private final Set<TxnId> markWhenHeld = new HashSet<>();
    /** CommitWaitUntil: commit timestamp by transaction. */
    private final Map<TxnId, Long> commitWaits = new LinkedHashMap<>();
    /** When each commit-wait began (monotonic), for {@link Outputs#commitWaited}. */
    private final Map<TxnId, Long> commitWaitSince = new HashMap<>();
    private final Map<TxnId, List<LockingRead<C>>> lockingReads = new LinkedHashMap<>();
    /**
     * Records appended and not yet answered by the group host (each append gets one outcome): while any is, a
     * timestamp this leader assigned may not have a slot yet (the core queues proposals past its pipeline depth,
     * {@code PaxosLimits.maxInflightEntries}), so no promise can name an index that covers it.
     */
    private int outstandingProposals;

    // ---- every replica
    private final Map<TxnId, C> commitClients = new HashMap<>();

    // Negative controls only (docs/reliability.md): set through io.gnomon.txn.TestOnlyTxnNegativeControl, which exists
    // only in txn-coordinator's test classes, so the product cannot switch them on.
    /** The core hears that commit-wait is over as soon as it asks for one. */
    boolean skipCommitWaitForNegativeControl;
    /** Snapshot reads are served at once, whatever safe time says. */
    boolean skipSafeTimeForNegativeControl;
    private final List<WaitingRead<C>> reads = new ArrayList<>();
    /** Transactions aborted while only reading (their locks went): a later commit request of theirs is refused. */
    private final LinkedHashMap<TxnId, String> abortedReaders = new LinkedHashMap<>();

    private <X> TxnHost(long groupId, GroupHost<X> group, Function<Proposal, X> asClient, Machine machine,
                        TxnLimits limits, Options options, TrueTime trueTime, MonotonicClock clock, Outputs<C> outputs) {
        this.groupId = groupId;
        this.group = Objects.requireNonNull(group);
        Objects.requireNonNull(asClient);
        this.appender = (bytes, proposal) -> group.append(bytes, asClient.apply(proposal));
        this.machine = Objects.requireNonNull(machine);
        this.limits = Objects.requireNonNull(limits);
        this.options = Objects.requireNonNull(options);
        this.trueTime = Objects.requireNonNull(trueTime);
        this.clock = Objects.requireNonNull(clock);
        this.outputs = Objects.requireNonNull(outputs);
    }

    /**
     * The transaction host of group {@code groupId}, whose {@link GroupHost} {@code group} applies to {@code machine}
     * (give the group host that same {@link Machine}, and route its listener's outcomes for a {@link Proposal} to
     * {@link #proposalOutcome}). Its cores start from what the machine holds (a restart: {@link
     * TwoPhaseCommit#restore}); the group host then applies, and this host feeds, only the slots above it.
     */
    public static <C> TxnHost<C> start(long groupId, GroupHost<? super Proposal> group, Machine machine,
                                       TxnLimits limits, Options options, TrueTime trueTime, MonotonicClock clock,
                                       Outputs<C> outputs) {
        return start(groupId, group, p -> p, machine, limits, options, trueTime, clock, outputs);
    }

    /**
     * As {@link #start(long, GroupHost, Machine, TxnLimits, Options, TrueTime, MonotonicClock, Outputs)}, for a group
     * host whose clients are of another kind: {@code asClient} makes the client that stands for a {@link Proposal}
     * (the driver hands its outcome to {@link #proposalOutcome}).
     */
    public static <C, X> TxnHost<C> start(long groupId, GroupHost<X> group, Function<Proposal, X> asClient,
                                          Machine machine, TxnLimits limits, Options options, TrueTime trueTime,
                                          MonotonicClock clock, Outputs<C> outputs) {
        TxnHost<C> host = new TxnHost<>(groupId, group, asClient, machine, limits, options, trueTime, clock, outputs);
        machine.decided.clear();
        host.rebuild();
        return host;
    }

    // ------------------------------------------------------------------ turns

    /** Starts a turn of this group: the group host's, then what the last turn's delivery decided. */
    public void beginTurn() {
        group.beginTurn();
        settle();
    }

    /** Ends the turn: settles (decided records, leadership, timers, reads), then ends the group host's turn. */
    public void endTurn() {
        settle();
        group.endTurn();
    }

    /**
     * Feeds the decided records queued by {@link Machine} to the cores, follows leadership, runs due timers
     * (commit-wait, the core's tick), answers reads safe time allows, and on the leader promises safe time. {@link
     * #beginTurn} and {@link #endTurn} call it; a loop that begins and ends group hosts itself (GroupLoop) calls it
     * once a turn touched the group, before ending it.
     */
    public void settle() {
        TxnNow now = now();
        drainDecided(now);
        followLeadership(now);
        runTimers(now);
        promise(now);
        serveReads(now);
    }

    /** {@link GroupLoop.TurnHook}: a loop that begins and ends the group host's turns settles this host in each. */
    @Override
    public void beforeEnd() {
        settle();
    }

    /**
     * The monotonic time at which this host next needs a turn ({@link #settle}): now while decided records wait to
     * be fed or leadership changed; else its earliest timer (commit-wait's end estimated from TrueTime, the core's
     * tick, a read's deadline, a leader's read waiting for time to pass its timestamp); {@link Long#MAX_VALUE} when
     * none.
     */
    @Override
    public long nextTickNanos() {
        long nowNanos = clock.nanoTime();
        if (!machine.decided.isEmpty() || machine.installed || (!leader && group.adoptedLogApplied())
                || (leader && (!group.replica().isLeader() || group.leaderships() != term))) {
            return nowNanos;
        }
        long at = Long.MAX_VALUE;
        TimeInterval tt = readTrueTime();
        if (leader) {
            at = nextCoreTickNanos;
            for (long s : commitWaits.values()) {
                at = earlier(at, tt == UNKNOWN_TIME ? nowNanos + options.tickIntervalNanos()
                        : nowNanos + Math.max(0, s - tt.earliestEpochNanos() + 1));
            }
        }
        for (WaitingRead<C> r : reads) {
            at = earlier(at, r.deadlineNanos());
            // the leader's promises follow TT.now().latest (a timestamp past the deadline waits for the deadline)
            long ahead = r.query().readTimestampEpochNanos() - tt.latestEpochNanos() + 2;
            if (leader && tt != UNKNOWN_TIME && ahead > 0 && ahead < r.deadlineNanos() - nowNanos) {
                at = earlier(at, nowNanos + ahead);
            }
        }
        return at;
    }

    /**
     * The timers commit latency depends on, kept to the nanosecond by a loop that rounds the others up to its tick:
     * now while decided records wait to be fed to the cores (each step of a commit follows one), and the ends of this
     * leader's commit-waits (estimated from TrueTime, as in {@link #nextTickNanos}).
     */
    @Override
    public long nextPreciseTickNanos() {
        long nowNanos = clock.nanoTime();
        if (!machine.decided.isEmpty() || machine.installed) {
            return nowNanos; // decided records to feed: every step of a commit waits on them
        }
        if (!leader || commitWaits.isEmpty()) {
            return Long.MAX_VALUE;
        }
        TimeInterval tt = readTrueTime();
        if (tt == UNKNOWN_TIME) {
            return Long.MAX_VALUE; // the coarse timer retries
        }
        long at = Long.MAX_VALUE;
        for (long s : commitWaits.values()) {
            at = earlier(at, nowNanos + Math.max(0, s - tt.earliestEpochNanos() + 1));
        }
        return at;
    }

    private static long earlier(long a, long b) {
        return a == Long.MAX_VALUE ? b : b == Long.MAX_VALUE ? a : (b - a < 0 ? b : a);
    }

    // ------------------------------------------------------------------ inputs

    /**
     * A client's commit request for this group. The coordinator group's host answers {@code client} once
     * ({@link Outputs#reply}); a participant's host answers nothing (the client hears from the coordinator), and
     * tells the coordinator when it refuses. Refused at once, retryably, when TrueTime is not usable or its ε is over
     * {@link TxnLimits#maxEpsilonNanos}; for good when its records would exceed the group's limits.
     */
    public void commit(CommitRequest req, C client) {
        commit(req, client, null);
    }

    /**
     * As {@link #commit(CommitRequest, Object)}, for a transaction whose locking reads in this group were served
     * under leadership {@code readUnder} (null: it did not read here). Locks are not replicated: under another
     * leadership they are gone and a writer may have changed what was read, so the commit is refused (retryable).
     */
    public void commit(CommitRequest req, C client, Ballot readUnder) {
        commit(req, client, readUnder, false);
    }

    /**
     * As {@link #commit(CommitRequest, Object, Ballot)}, for a caller that has just had null from {@link
     * #requestRefusal} for this very request (a server refusing such requests as the client's error first): that pure
     * check, which encodes the request's record, is not made a second time on the loop.
     */
    public void commitChecked(CommitRequest req, C client, Ballot readUnder) {
        commit(req, client, readUnder, true);
    }

    private void commit(CommitRequest req, C client, Ballot readUnder, boolean requestChecked) {
        TxnNow now = now();
        TxnId txn = req.txn();
        boolean coordinator = req.coordinatorGroup() == groupId;
        // A duplicate of a commit this group knows (its client retried after losing the answer, e.g. to a leader's
        // crash) goes to the core, which answers it from the log: refusing it as a new request would tell a client
        // "aborted" for a transaction that committed, and its retry would apply the writes twice.
        boolean duplicate = leader && core.knows(txn);
        // Too old: its outcome may be forgotten, so it is neither new nor aborted (a client reading "aborted" for
        // a transaction that committed would retry it), but refused for good, before anything else is said of it.
        String tooOld = duplicate || !leader || now.trueTime() == UNKNOWN_TIME ? null : core.tooOld(txn, now);
        if (tooOld != null) {
            if (coordinator || !req.participantGroups().contains(groupId)) {
                outputs.reply(client, new CommitOutcome.Unknown(tooOld));
            } else {
                outputs.send(req.coordinatorGroup(), new TxnMessage.PrepareRefused(txn, groupId, tooOld));
            }
            return;
        }
        String refusal = duplicate ? null : clockRefusal(txn, now);
        if (refusal == null && !duplicate && readUnder != null && !readUnder.equals(leadership())) {
            refusal = "group " + groupId + ": " + txn + " read here under leadership " + readUnder + ", this leader"
                    + " holds " + leadership() + ": its read locks went with the leadership change";
        }
        boolean retryable = true;
        if (refusal == null && !duplicate && !preparedBeforeLeadership.isEmpty()
                && !preparedBeforeLeadership.contains(txn)) {
            refusal = "group " + groupId + " takes no commit until " + preparedBeforeLeadership.size() + " transaction(s)"
                    + " prepared under an earlier leadership resolve (their read locks were that leader's)";
        }
        if (refusal == null && abortedReaders.containsKey(txn)) {
            refusal = "group " + groupId + " aborted " + txn + " before its commit request: "
                    + abortedReaders.get(txn);
        }
        if (refusal == null && !requestChecked) {
            refusal = requestRefusal(req);
            retryable = refusal == null;
        }
        // The coordinator answers the client; so does a group that is neither (the core refuses it for good).
        boolean answers = coordinator || !req.participantGroups().contains(groupId);
        if (refusal != null && answers) {
            outputs.reply(client, new Aborted(refusal, retryable));
            return;
        } else if (refusal != null) {
            outputs.send(req.coordinatorGroup(), new TxnMessage.PrepareRefused(txn, groupId, refusal));
            return;
        }
        if (answers) {
            C earlier = commitClients.put(txn, client);
            if (earlier != null && !earlier.equals(client)) {
                outputs.reply(earlier, new CommitOutcome.Unknown("group " + groupId + ": a duplicate commit request"
                        + " of " + txn + " took this one's place; that one is answered"));
            }
        }
        perform(core.commitRequest(req, now), now);
    }

    /**
     * Why this group could never log {@code req}'s record (its writes over the store's limits: too many, a key or a
     * value too long, the record too large), naming the limit, the value and the key; null when it fits. A pure check
     * of the request, the same on every replica: the server refuses such a request as the client's error before it
     * reaches {@link #commit}, which refuses it too (for good), logging nothing.
     */
    public String requestRefusal(CommitRequest req) {
        TxnId txn = req.txn();
        TxnRecord probe = req.coordinatorGroup() != groupId ? new Prepare(txn, 0, req.coordinatorGroup(), req.writes())
                : req.participantGroups().isEmpty() ? new Commit(txn, 0, req.writes())
                : new CommitRecord(txn, 0, req.participantGroups(), req.writes());
        byte[] bytes = TxnRecordCodec.encode(probe);
        String bad = machine.validate(bytes); // the store's limits first: they name the key
        if (bad == null && group.validate(bytes) != null) { // then the log's (a command's size)
            Write largest = req.writes().stream().max(java.util.Comparator.comparingInt(
                    w -> w.valueOrNull() == null ? 0 : w.valueOrNull().length)).orElse(null);
            bad = txn + ": " + group.validate(bytes) + " (the log's PaxosLimits.maxValueBytes, less its tag) with "
                    + req.writes().size() + " writes" + (largest == null || largest.valueOrNull() == null ? ""
                    : "; the largest value is " + largest.valueOrNull().length + " bytes, key "
                    + TxnMachine.shortened(largest.key()));
        }
        return bad == null ? null : "group " + groupId + " cannot log the commit of " + txn + ": " + bad;
    }

    /** A message from another group's leader, its group unknown (a follower's core ignores it). */
    public void message(TxnMessage m) {
        message(m, -1);
    }

    /**
     * A message from the leader of group {@code fromGroup} (a follower's core ignores it); acknowledgements of
     * outcomes ({@link TxnMessage.OutcomeLogged}) answer to that group.
     */
    public void message(TxnMessage m, long fromGroup) {
        TxnNow now = now();
        perform(core.message(m, fromGroup, now), now);
    }

    /**
     * A snapshot read at the query's timestamp {@code t} (a read-only transaction or a single read), on any replica:
     * answered from the machine once {@link SafeTime#readyAt(long) safe time reaches t}, at once or on a later turn,
     * or failed once {@code deadlineNanos} (monotonic) passes.
     */
    public void read(Query query, C client, long deadlineNanos) {
        if (reads.size() >= options.maxWaitingReads()) {
            outputs.readDone(client, new ReadResult(null, "group " + groupId + " has " + reads.size()
                    + " reads waiting for safe time, the limit (TxnHost.Options.maxWaitingReads "
                    + options.maxWaitingReads() + "); retry later"));
            return;
        }
        reads.add(new WaitingRead<>(query, client, deadlineNanos, clock.nanoTime()));
        serveReads(now());
    }

    /**
     * A read inside read-write transaction {@code txn} (leader only): takes a shared lock on the key ({@link Get}) or
     * the range ({@link Scan}), waiting behind writers as wound-wait says, then reads the newest committed version
     * (the query's timestamp is ignored). Counts as the transaction's activity for the idle timeout. A wounded or
     * idle transaction's waiting reads fail with its abort, and its later commit request is refused.
     */
    public void lockingRead(TxnId txn, Query query, C client) {
        TxnNow now = now();
        if (!leader) {
            outputs.readDone(client, new ReadResult(null, "group " + groupId + ": this replica is not the leader"
                    + " (a read in a read-write transaction goes to the leader)"));
            return;
        }
        if (abortedReaders.containsKey(txn)) {
            outputs.readDone(client, new ReadResult(null, "group " + groupId + " aborted " + txn + ": "
                    + abortedReaders.get(txn)));
            return;
        }
        String tooOld = now.trueTime() == UNKNOWN_TIME ? null : core.tooOld(txn, now);
        if (tooOld != null) {
            outputs.readDone(client, new ReadResult(null, tooOld));
            return;
        }
        List<TxnEffect> activity = core.activity(txn, now);
        for (TxnEffect e : activity) {
            if (e instanceof Reply r && r.txn().equals(txn)) {
                outputs.readDone(client, new ReadResult(null, reasonOf(r.outcome())));
            }
        }
        perform(activity, now);
        if (!activity.isEmpty()) {
            return;
        }
        Lock lock = query instanceof Get g ? Lock.shared(Key.of(g.key()))
                : Lock.shared(new KeyRange(Key.of(((Scan) query).from()),
                ((Scan) query).toOrNull() == null ? Key.EMPTY : Key.of(((Scan) query).toOrNull())));
        LockTable.Result r = locks.acquire(txn, lock);
        if (r.outcome() instanceof LockTable.Refused refused) {
            outputs.readDone(client, new ReadResult(null, "group " + groupId + " refused " + txn + " a shared lock on "
                    + lock.target() + ": " + refused.message()));
        } else if (r.outcome() instanceof LockTable.Granted) {
            answerNewest(query, client);
        } else {
            lockingReads.computeIfAbsent(txn, t -> new ArrayList<>())
                    .add(new LockingRead<>(lock.target(), query, client));
            woundPrepared(txn, lock, now);
        }
        lockAnswers(r, now);
    }

    /** The leadership (Paxos ballot) whose lock table this host keeps while it leads; null when it does not. */
    public Ballot leadership() {
        return leader && group.replica().isLeader() ? group.replica().promised() : null;
    }

    /**
     * Whether {@code txn}'s read locks, taken under leadership {@code readUnder}, are still held here: the same
     * leadership, and the transaction not aborted since (wounded, idle, refused). With every group's answer true
     * after its last read, a transaction that only read held all its locks at one moment: its reads are serializable.
     */
    public boolean readLocksHeld(TxnId txn, Ballot readUnder) {
        return readUnder != null && readUnder.equals(leadership()) && !abortedReaders.containsKey(txn)
                && locks != null && locks.holdsUnwounded(txn);
    }

    /**
     * The client aborts read-write transaction {@code txn} before its commit request (leader only): its locks go,
     * its waiting locking reads fail, and a later commit request of it is refused. False when this host does not
     * lead, or the transaction already asked to commit (its outcome is then the commit protocol's).
     */
    public boolean abort(TxnId txn) {
        if (!leader) {
            return false;
        }
        TxnNow now = now();
        List<TxnEffect> effects = core.clientAbort(txn, now);
        perform(effects, now);
        return !effects.isEmpty();
    }

    /**
     * The caller of {@code txn}'s commit request here left (its deadline passed): a commit still waiting for locks or
     * participants aborts, logging an abort record and releasing its locks; one whose outcome record is proposed
     * stays the log's ({@link TwoPhaseCommit#clientLeft}).
     */
    public void commitCallerLeft(TxnId txn) {
        TxnNow now = now();
        perform(core.clientLeft(txn, now), now);
    }

    /** What became of an append of this host's (the driver's group listener routes a {@link Proposal}'s here). */
    public void proposalOutcome(Proposal proposal, GroupHost.AppendOutcome outcome) {
        outstandingProposals--;
        if (outcome.outcome() == GroupHost.Outcome.APPLIED) {
            return; // fed to the cores from the machine's queue
        }
        outputs.warn("group " + groupId + ": the " + proposal.record().getClass().getSimpleName() + " of "
                + proposal.record().txn() + " was " + outcome.outcome() + ": " + outcome.detail());
        // UNKNOWN, or refused because this replica stopped leading: lostLeadership answers for it. Otherwise the
        // record is certainly not in the log (backpressure, a membership change in flight): the core decides anew.
        if (outcome.outcome() == GroupHost.Outcome.NOT_APPENDED && leader && group.replica().isLeader()) {
            TxnNow now = now();
            perform(core.notLogged(proposal.record(), outcome.detail(), now), now);
        }
    }

    // ------------------------------------------------------------------ queries

    public long groupId() {
        return groupId;
    }

    /** The group host this one drives (its {@code onMessage} and {@code onTick} go inside this host's turns). */
    public GroupHost<?> group() {
        return group;
    }

    /** Whether this host acts as the group's transaction leader (its core was told {@code becameLeader}). */
    public boolean isLeader() {
        return leader;
    }

    public TwoPhaseCommit core() {
        return core;
    }

    public SafeTime safeTime() {
        return safeTime;
    }

    /** The lock table, on the leader; null on a follower. For tests and statistics: do not feed it. */
    public LockTable lockTable() {
        return locks;
    }

    /**
     * The highest GC watermark this replica may collect below now (issue 20: versions are kept for {@code
     * retentionNanos}, never below a read in use): the lowest of its safe time (every later write is above it),
     * {@code TT.now().earliest - retentionNanos}, and the timestamps of the reads waiting here; -1 when TrueTime
     * does not answer or nothing may be collected yet.
     */
    public long gcWatermarkAllowed(long retentionNanos) {
        TimeInterval tt = readTrueTime();
        if (tt == UNKNOWN_TIME) {
            return -1;
        }
        long w = Math.min(safeTime.safeTime(), tt.earliestEpochNanos() - retentionNanos);
        for (WaitingRead<C> r : reads) {
            w = Math.min(w, r.query().readTimestampEpochNanos());
        }
        return Math.max(-1, w);
    }

    /** Snapshot reads waiting for safe time. */
    public int waitingReads() {
        return reads.size();
    }

    // ------------------------------------------------------------------ inside

    private TxnNow now() {
        return new TxnNow(clock.nanoTime(), readTrueTime(), trueTime.status(), group.replica().leaseEndEpochNanos());
    }

    private TimeInterval readTrueTime() {
        try {
            return trueTime.now();
        } catch (ClockUnavailableException e) {
            return UNKNOWN_TIME;
        }
    }

    private String clockRefusal(TxnId txn, TxnNow now) {
        ClockStatus status = now.clockStatus();
        long eps = now.trueTime().epsilonNanos();
        if (!limits.clockUsable(status) || now.trueTime() == UNKNOWN_TIME) {
            return "group " + groupId + " refuses to commit " + txn + ": TrueTime is " + status
                    + " (not usable), ε unknown; retry once the clock is synchronized";
        }
        if (eps > limits.maxEpsilonNanos()) {
            return "group " + groupId + " refuses to commit " + txn + ": TrueTime is " + status + " with ε " + eps
                    + " ns, over the ceiling TxnLimits.maxEpsilonNanos " + limits.maxEpsilonNanos() + " ns";
        }
        return null;
    }

    /** Rebuilds the cores from what the machine holds: at start, and after a snapshot install. */
    private void rebuild() {
        if (leader) {
            TxnNow now = now();
            perform(core.lostLeadership(), now);
            dropLeaderState();
        }
        core = new TwoPhaseCommit(groupId, limits);
        safeTime = new SafeTime(options.maxPendingPromises());
        promiseFed = null; // the new SafeTime hears the promise known again
        safePrepared.clear();
        TxnMachine m = machine.txnMachine();
        long applied;
        try {
            applied = m.appliedIndex();
        } catch (IncompleteInstallException e) {
            return; // no state yet: the group host fetches a snapshot, whose install rebuilds again
        }
        if (applied == 0) {
            return;
        }
        List<Prepare> prepared = m.preparedTxns();
        long maxTs = m.maxTimestamp();
        core.restore(prepared, m.outcomes(), maxTs);
        for (Prepare p : prepared) {
            safeTime.prepared(p.txn(), p.prepareTimestampEpochNanos());
            safePrepared.add(p.txn());
        }
        if (maxTs >= 0) {
            safeTime.applied(applied - 1, maxTs);
        } else {
            safeTime.applied(applied - 1);
        }
    }

    private void drainDecided(TxnNow now) {
        if (machine.installed) {
            machine.installed = false;
            machine.decided.clear(); // the machine holds them: the rebuild covers them
            rebuild();
        }
        for (DecidedSlot d; (d = machine.decided.poll()) != null; ) {
            feed(d, now);
        }
    }

    /** One decided slot, in slot order: to TwoPhaseCommit (its effects performed) and to SafeTime. */
    private void feed(DecidedSlot d, TxnNow now) {
        TxnRecord r = d.record();
        if (r == null) {
            safeTime.applied(d.slot());
            return;
        }
        perform(core.recordDecided(r, now), now);
        if (!d.tookEffect()) {
            safeTime.applied(d.slot()); // nothing of it applied: no timestamp of its own
        } else if (r instanceof Prepare p) {
            safeTime.prepared(p.txn(), p.prepareTimestampEpochNanos());
            safePrepared.add(p.txn());
            safeTime.applied(d.slot(), p.prepareTimestampEpochNanos());
        } else if (r instanceof Commit c) {
            safeTime.applied(d.slot(), c.commitTimestampEpochNanos());
        } else if (r instanceof CommitRecord c) {
            safeTime.applied(d.slot(), c.commitTimestampEpochNanos());
        } else if (r instanceof Outcome o) {
            safeTime.applied(d.slot()); // s may lie below writes applied since the prepare
            preparedBeforeLeadership.remove(o.txn());
            if (safePrepared.remove(o.txn())) {
                safeTime.resolved(o.txn());
            }
        } else {
            safeTime.applied(d.slot()); // an AbortRecord, a Forget: no timestamp of their own
        }
    }

    /** becameLeader once the group host leads and applied what it adopted; lostLeadership when it stops leading. */
    private void followLeadership(TxnNow now) {
        if (leader && (!group.replica().isLeader() || group.leaderships() != term)) {
            perform(core.lostLeadership(), now);
            dropLeaderState();
        }
        if (!leader && group.adoptedLogApplied()) {
            leader = true;
            term = group.leaderships();
            locks = new LockTable(limits);
            nextCoreTickNanos = now.monotonicNanos() + options.tickIntervalNanos();
            preparedBeforeLeadership.addAll(safePrepared);
            perform(core.becameLeader(now), now);
        }
    }

    private void dropLeaderState() {
        leader = false;
        locks = null;
        preparedBeforeLeadership.clear();
        commitLocksWaiting.clear();
        markWhenHeld.clear();
        commitWaits.clear();
        commitWaitSince.clear();
        for (TxnId txn : new ArrayList<>(lockingReads.keySet())) {
            failLockingReads(txn, "group " + groupId + " lost leadership; the transaction must retry");
        }
        for (C c : commitClients.values()) { // the core answered those it was deciding: these are duplicates
            outputs.reply(c, new CommitOutcome.Unknown("group " + groupId + " lost leadership; ask again"));
        }
        commitClients.clear();
    }

    private void runTimers(TxnNow now) {
        if (!leader) {
            return;
        }
        for (Iterator<Map.Entry<TxnId, Long>> it = commitWaits.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<TxnId, Long> e = it.next();
            boolean over = now.trueTime().earliestEpochNanos() > e.getValue() && now.trueTime() != UNKNOWN_TIME;
            if (over || skipCommitWaitForNegativeControl) {
                it.remove();
                Long since = commitWaitSince.remove(e.getKey());
                if (since != null) {
                    outputs.commitWaited(e.getKey(), e.getValue(), now.monotonicNanos() - since);
                }
                perform(core.commitWaitDone(e.getKey(), over ? now : new TxnNow(now.monotonicNanos(),
                        new TimeInterval(e.getValue() + 1, Math.max(e.getValue() + 1, now.trueTime().latestEpochNanos())),
                        now.clockStatus(), now.leaseEndEpochNanos())), now);
                it = commitWaits.entrySet().iterator(); // effects may have added or removed waits
            }
        }
        if (now.monotonicNanos() - nextCoreTickNanos >= 0) {
            nextCoreTickNanos = now.monotonicNanos() + options.tickIntervalNanos();
            perform(core.tick(now), now);
        }
    }

    /**
     * The leader promises that nothing logged from now on is at or below {@code P}
     * ({@link TimestampOracle#promiseBelow}) through its Paxos core ({@link PaxosReplica#offerTimestampPromise}: after
     * the last slot the core holds, queued proposals included), which carries it to the followers on its heartbeats;
     * only while every record it appended has had its outcome and nothing waits in the group host's batch, so every
     * timestamp assigned so far is in the core. On every replica, the latest promise the core knows goes to
     * {@link SafeTime}, counting once this replica applied through its index: an idle group's followers serve reads
     * up to about the leader's {@code TT.now().latest} of its last heartbeat.
     */
    private void promise(TxnNow now) {
        PaxosReplica replica = group.replica();
        if (leader && outstandingProposals == 0 && !group.batchWaiting()) {
            Assignment a = core.oracle().promiseBelow(now.trueTime(), now.clockStatus(), now.leaseEndEpochNanos());
            if (a instanceof Assignment.Assigned p && p.timestampEpochNanos() >= 0) {
                replica.offerTimestampPromise(p.timestampEpochNanos());
            }
        }
        TimestampPromise known = replica.timestampPromise();
        if (!known.isNone() && !known.equals(promiseFed)) {
            safeTime.promise(known.afterIndex(), known.belowTs());
            promiseFed = known;
        }
    }

    private void serveReads(TxnNow now) {
        for (Iterator<WaitingRead<C>> it = reads.iterator(); it.hasNext(); ) {
            WaitingRead<C> r = it.next();
            long t = r.query().readTimestampEpochNanos();
            if (!group.fetchingSnapshot() && (safeTime.readyAt(t) || skipSafeTimeForNegativeControl)) {
                it.remove();
                outputs.readDone(r.client(), query(r.query()));
            } else if (now.monotonicNanos() - r.deadlineNanos() >= 0) {
                it.remove();
                outputs.readDone(r.client(), new ReadResult(null, "group " + groupId + ": safe time "
                        + safeTime.safeTime() + " below read timestamp " + t + " after waiting "
                        + (now.monotonicNanos() - r.sinceNanos()) / 1_000_000 + " ms"));
            }
        }
    }

    private ReadResult query(Query q) {
        try {
            return new ReadResult(TxnQueryCodec.decodeAnswer(machine.query(TxnQueryCodec.encode(q))), null);
        } catch (RuntimeException e) {
            return new ReadResult(null, "group " + groupId + ": " + e.getMessage());
        }
    }

    private void answerNewest(Query q, C client) {
        Query newest = q instanceof Get g ? new Get(g.key(), Long.MAX_VALUE)
                : new Scan(((Scan) q).from(), ((Scan) q).toOrNull(), Long.MAX_VALUE, ((Scan) q).limit());
        outputs.readDone(client, query(newest));
    }

    // ------------------------------------------------------------------ effects

    private void perform(List<TxnEffect> effects, TxnNow now) {
        for (TxnEffect e : effects) {
            if (e instanceof LogRecord l) {
                byte[] bytes = TxnRecordCodec.encode(l.record());
                String bad = group.validate(bytes);
                if (bad != null) { // commit() checked the request's records: a host bug
                    outputs.warn("group " + groupId + ": cannot log " + l.record().txn() + ": " + bad);
                } else {
                    outstandingProposals++; // before: a replica that does not lead answers within append
                    appender.accept(bytes, new Proposal(l.record()));
                }
            } else if (e instanceof Send s) {
                outputs.send(s.toGroup(), s.message());
            } else if (e instanceof AcquireLocks a) {
                acquireForCommit(a.txn(), a.writes(), now);
            } else if (e instanceof MarkPrepared m) {
                markPrepared(m.txn());
            } else if (e instanceof CommitWaitUntil c) {
                commitWaits.put(c.txn(), c.commitTimestampEpochNanos());
                commitWaitSince.putIfAbsent(c.txn(), now.monotonicNanos());
            } else if (e instanceof ReleaseLocks r) {
                release(r.txn(), now);
            } else if (e instanceof Reply r) {
                reply(r.txn(), r.outcome());
            }
            // Apply: the group's TxnMachine applied the record already, on every replica.
        }
    }

    private void acquireForCommit(TxnId txn, List<Write> writes, TxnNow now) {
        if (locks == null) {
            perform(core.locksRefused(txn, "this replica is not the leader", now), now);
            return;
        }
        // Every target is registered as waited for before the first request: a request's side effects (a wounded
        // reader's locks released at once) may grant an earlier request of this transaction within this loop.
        Set<Target> waiting = new LinkedHashSet<>();
        for (Write w : writes) {
            waiting.add(commitLock(w).target());
        }
        commitLocksWaiting.put(txn, waiting);
        for (Write w : writes) {
            Lock lock = commitLock(w);
            LockTable.Result r = locks.acquire(txn, lock);
            if (r.outcome() instanceof LockTable.Refused refused) {
                commitLocksWaiting.remove(txn);
                lockAnswers(r, now);
                perform(core.locksRefused(txn, refused.message(), now), now);
                return;
            }
            if (r.outcome() instanceof LockTable.Granted) {
                waiting.remove(lock.target());
            } else {
                woundPrepared(txn, lock, now);
            }
            lockAnswers(r, now);
        }
        // granted() told the core once the last waited-for lock came; if none had to wait, tell it now
        if (waiting.isEmpty() && commitLocksWaiting.remove(txn) != null) {
            perform(core.locksHeld(txn, now), now);
        }
    }

    /** The exclusive lock a commit takes for {@code w}: its key, or a range delete's whole range. */
    private static Lock commitLock(Write w) {
        if (!w.rangeDelete()) {
            return Lock.exclusive(Key.of(w.key()));
        }
        return Lock.exclusive(new KeyRange(Key.of(w.key()),
                w.rangeEndOrNull() == null ? Key.EMPTY : Key.of(w.rangeEndOrNull())));
    }

    /** {@code txn} waits for {@code lock}: the prepared younger holders' coordinators are asked to abort them. */
    private void woundPrepared(TxnId txn, Lock lock, TxnNow now) {
        for (TxnId h : locks.preparedYoungerHolders(txn, lock)) {
            perform(core.woundPrepared(h, txn, now), now);
        }
    }

    /** The lock table's side effects of one request: the transactions it wounded, the requests it granted. */
    private void lockAnswers(LockTable.Result r, TxnNow now) {
        for (TxnId w : r.wounded()) {
            commitLocksWaiting.remove(w);
            perform(core.wounded(w, now), now);
        }
        for (Grant g : r.granted()) {
            granted(g, now);
        }
    }

    private void granted(Grant g, TxnNow now) {
        TxnId txn = g.txn();
        Set<Target> waiting = commitLocksWaiting.get(txn);
        if (waiting != null && waiting.remove(g.lock().target())) {
            if (waiting.isEmpty()) {
                commitLocksWaiting.remove(txn);
                if (markWhenHeld.remove(txn)) {
                    markPrepared(txn);
                }
                perform(core.locksHeld(txn, now), now);
            }
            return;
        }
        List<LockingRead<C>> pending = lockingReads.get(txn);
        if (pending != null) {
            for (Iterator<LockingRead<C>> it = pending.iterator(); it.hasNext(); ) {
                LockingRead<C> r = it.next();
                if (r.target().equals(g.lock().target())) {
                    it.remove();
                    answerNewest(r.query(), r.client());
                }
            }
            if (pending.isEmpty()) {
                lockingReads.remove(txn);
            }
        }
    }

    private void markPrepared(TxnId txn) {
        if (locks == null) {
            return;
        }
        if (!locks.waiting(txn).isEmpty()) {
            markWhenHeld.add(txn); // a Prepare of an earlier leader re-taking locks behind this leader's holders
            return;
        }
        if (locks.held(txn).isEmpty()) {
            return; // no writes here: nothing to protect
        }
        if (!locks.markPrepared(txn)) {
            outputs.warn("group " + groupId + ": " + txn + " was wounded before it could be marked prepared");
        }
    }

    private void release(TxnId txn, TxnNow now) {
        commitLocksWaiting.remove(txn);
        markWhenHeld.remove(txn);
        if (locks != null) {
            for (Grant g : locks.release(txn)) {
                granted(g, now);
            }
        }
    }

    private void reply(TxnId txn, CommitOutcome outcome) {
        C c = commitClients.remove(txn);
        if (c != null) {
            outputs.reply(c, outcome);
        } else if (outcome instanceof Aborted) {
            // aborted while only reading (wounded, idle): its commit request must not take fresh locks later
            abortedReaders.put(txn, reasonOf(outcome));
            if (abortedReaders.size() > options.maxRememberedAborts()) {
                abortedReaders.remove(abortedReaders.keySet().iterator().next());
            }
        }
        failLockingReads(txn, reasonOf(outcome));
    }

    private void failLockingReads(TxnId txn, String reason) {
        List<LockingRead<C>> pending = lockingReads.remove(txn);
        if (pending != null) {
            for (LockingRead<C> r : pending) {
                outputs.readDone(r.client(), new ReadResult(null, reason));
            }
        }
    }

    private static String reasonOf(CommitOutcome outcome) {
        if (outcome instanceof Aborted a) {
            return "aborted" + (a.retryable() ? " (retryable)" : "") + ": " + a.reason();
        } else if (outcome instanceof CommitOutcome.Unknown u) {
            return "outcome unknown: " + u.reason();
        }
        return "committed at " + ((CommitOutcome.Committed) outcome).commitTimestampEpochNanos();
    }
}
