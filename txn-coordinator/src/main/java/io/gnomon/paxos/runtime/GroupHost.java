package io.gnomon.paxos.runtime;

import io.gnomon.paxos.Entry;
import io.gnomon.paxos.Message;
import io.gnomon.paxos.Output;
import io.gnomon.paxos.PaxosConfig;
import io.gnomon.paxos.PaxosReplica;
import io.gnomon.paxos.Snapshot;
import io.gnomon.truetime.ClockUnavailableException;
import io.gnomon.truetime.MonotonicClock;
import io.gnomon.truetime.TimeInterval;
import io.gnomon.truetime.TrueTime;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * One Paxos group as a server hosts it: the core behind its {@link ReplicaDriver}, the {@link StateMachine} it
 * applies decided commands to, and what a server does around them: it batches client appends, tags each so its
 * outcome finds its client, applies decided entries, keeps the read fence for lease reads, and compacts the log
 * every so many applied entries (docs/paxos.md, "Replica processes").
 *
 * <p>Snapshots are metadata in the core; the state they stand for lives in the machine and moves host to host in
 * chunks ({@link SnapshotTransfer}). A message carrying a snapshot that ends above what the machine holds (and
 * above the core's decided index, so that the core would install it) is not given to the core: it is dropped, as a
 * lost message, and the host fetches that state from the message's sender instead. Once the machine holds it
 * (durably), the sender's retransmission passes, the core persists the snapshot and compacts, and the host only
 * moves on: the machine has it already. While the machine holds no state of the group, or one behind the core's
 * compacted prefix (an in-memory machine restarted after compaction, an install cut by a crash), the host applies
 * nothing, refuses reads and fetches a snapshot from a peer; then it applies the decided entries above it from the
 * core's log.
 *
 * <p>Pure in the project's sense: no threads, sockets, files or clocks inside. Time comes from the {@link
 * MonotonicClock} and {@link TrueTime} it is given, I/O goes through the driver's log and {@link Transport}, and
 * outcomes go to a {@link Listener}. {@code ReplicaServer} drives it from its event loop; the simulator drives the
 * same class, so the simulator tests the code that runs.
 *
 * <p>A turn: {@link #beginTurn}, any number of inputs ({@link #onMessage}, {@link #onTick}, {@link #append},
 * {@link #read}), then {@link #endTurn}, which proposes the gathered appends when due, compacts when due, and has
 * the driver sync once and then send, apply and report. Client outcomes are therefore given after the sync that
 * covers their entry.
 *
 * <p>Client outcomes: {@code APPLIED} once the entry is decided and applied here; {@code NOT_APPENDED} when it was
 * certainly not proposed (per value: one value the core refuses does not make its batch-mates not appended);
 * {@code UNKNOWN} when leadership was lost after proposing (the next leader may still decide it). Each proposal
 * is tagged with this host's incarnation and a sequence number, so a decided entry is matched to its waiting
 * client and never to a client of an earlier incarnation.
 *
 * <p>Lease reads are answered from the state machine while this replica leads, its lease holds ({@code
 * TrueTime.before(leaseEnd)}) and it has applied every entry of the log it took over when it became leader (the
 * read fence): entries an earlier leader had acknowledged are then visible.
 *
 * <p>Single-threaded: every method but {@link #validate} is called from the one thread driving this group.
 *
 * @param <C> what identifies a waiting client to the caller (a gRPC reply, a simulated client's callback)
 */
public final class GroupHost<C> {
    /** Bytes of the tag in front of every proposed command: incarnation and sequence number. */
    public static final int TAG_BYTES = 16;

    /**
     * How a host batches, compacts and checks reads.
     *
     * @param maxBatchWaitNanos    the longest a client append waits for the batch in flight before it is proposed anyway
     * @param compactEveryEntries  snapshot the state machine and compact the log every this many applied entries
     *                             (0: never)
     * @param leaseChecksOnReads   false only in the harness's negative control: lease reads are answered without
     *                             checking that the lease still holds
     * @param snapshotChunkBytes   the most bytes of one chunk of the machine's snapshot sent to a peer (at most the
     *                             core's {@code maxBatchBytes}, to which it is lowered, and under the transport's
     *                             message limit)
     */
    public record Options(long maxBatchWaitNanos, long compactEveryEntries, boolean leaseChecksOnReads,
                          int snapshotChunkBytes) {
        /** The chunk size hosts use unless told otherwise. */
        public static final int DEFAULT_SNAPSHOT_CHUNK_BYTES = 64 << 10;

        public Options {
            if (maxBatchWaitNanos < 0 || compactEveryEntries < 0) {
                throw new IllegalArgumentException("maxBatchWaitNanos and compactEveryEntries must be >= 0");
            }
            if (snapshotChunkBytes < 1) {
                throw new IllegalArgumentException("snapshotChunkBytes must be >= 1, was " + snapshotChunkBytes);
            }
        }

        /** With chunks of {@link #DEFAULT_SNAPSHOT_CHUNK_BYTES}. */
        public Options(long maxBatchWaitNanos, long compactEveryEntries, boolean leaseChecksOnReads) {
            this(maxBatchWaitNanos, compactEveryEntries, leaseChecksOnReads, DEFAULT_SNAPSHOT_CHUNK_BYTES);
        }
    }

    /** What became of one append. */
    public enum Outcome { APPLIED, NOT_APPENDED, UNKNOWN }

    /**
     * The outcome of one append: {@code slot} and {@code result} when applied, {@code detail} otherwise, and the
     * replica this one believes leads (0 when it knows none).
     */
    public record AppendOutcome(Outcome outcome, long slot, byte[] result, String detail, int leaderHint) {
    }

    /** A lease read: {@code result} when served (then {@code refusal} is null), else why it was refused. */
    public record ReadOutcome(byte[] result, String refusal, long appliedIndex, int leaderHint) {
        public boolean served() {
            return refusal == null;
        }
    }

    /** Where a host's outcomes and remarks go. */
    public interface Listener<C> {
        /** The outcome of an append by {@code client}; called once per append, from the driving thread. */
        void outcome(C client, AppendOutcome outcome);

        /** Something an operator may need to see; {@code key} groups repeats for rate limiting. */
        default void warn(String key, String message) {
        }

        /** A change of role or configuration, for the log. */
        default void info(String message) {
        }

        /**
         * A decided entry (configuration changes too) about to be applied, in slot order: the simulator checks
         * agreement and validity here.
         */
        default void decided(Output.Decided decided) {
        }

        /**
         * The core installs a snapshot (the machine holds that prefix already, fetched from a peer, except in a
         * restart's replay): the decided entries delivered after it start at its end.
         */
        default void installing(Snapshot snapshot) {
        }

        /** This replica became leader ({@code true}) or stepped down ({@code false}). */
        default void leadership(boolean leader) {
        }
    }

    private record Pending<C>(byte[] command, C client) {
    }

    private final int replicaId;
    private final long incarnation;
    private final StateMachine machine;
    private final Options options;
    private final Listener<C> listener;
    private final TrueTime trueTime;
    private final int maxBatchEntries;
    private final int maxValueBytes;
    private final List<Pending<C>> batch = new ArrayList<>();
    private final Map<Long, C> waiting = new HashMap<>();
    private ReplicaDriver driver;
    private long nextSeq;
    private long batchStartNanos;
    private long readFence = Long.MAX_VALUE;
    private final MonotonicClock clock;
    private final Transport transport;
    private final long transferTimeoutNanos;
    private final int chunkBytes;
    private SnapshotTransfer transfer;
    /** One past the last decided slot the driver delivered (after the sync covering it): what catchUp may apply. */
    private long delivered;
    private long batchesProposed;
    private long entriesProposed;
    /** How many times this host became leader (a host polling between turns sees a re-election it missed). */
    private long leaderships;

    private GroupHost(PaxosConfig config, long incarnation, StateMachine machine, Options options,
                      Listener<C> listener, TrueTime trueTime, MonotonicClock clock, Transport transport) {
        this.replicaId = config.replicaId();
        this.incarnation = incarnation;
        this.machine = Objects.requireNonNull(machine);
        this.options = Objects.requireNonNull(options);
        this.listener = Objects.requireNonNull(listener);
        this.trueTime = Objects.requireNonNull(trueTime);
        this.clock = Objects.requireNonNull(clock);
        this.maxBatchEntries = config.limits().maxBatchEntries();
        this.maxValueBytes = config.limits().maxValueBytes();
        this.transport = Objects.requireNonNull(transport);
        this.transferTimeoutNanos = 2 * config.retransmitIntervalNanos();
        // a chunk must pass the peer's decoder (MessageCodec bounds a chunk's data by maxBatchBytes)
        this.chunkBytes = Math.min(options.snapshotChunkBytes(), config.limits().maxBatchBytes());
    }

    /** Makes the transfer; it reads the driver (made next) only when called. */
    private void startTransfer() {
        transfer = new SnapshotTransfer(new SnapshotTransfer.Host() {
            @Override
            public int replicaId() {
                return replicaId;
            }

            @Override
            public long configId() {
                return driver.replica().configId();
            }

            @Override
            public List<Integer> members() {
                return driver.replica().members();
            }

            @Override
            public int leaderHint() {
                return driver.replica().leaderHint();
            }

            @Override
            public long machineApplied() {
                return GroupHost.this.machineApplied();
            }

            @Override
            public boolean canServe() {
                return !applyPaused();
            }

            @Override
            public void installed(long endIndex, int from, long chunks) {
                listener.info("replica " + replicaId + ": installed a snapshot through slot " + (endIndex - 1)
                        + " from replica " + from + " in " + chunks + " chunks");
                catchUp(delivered);
            }

            @Override
            public void warn(String key, String message) {
                listener.warn(key, message);
            }
        }, machine, transport, clock::nanoTime, transferTimeoutNanos, chunkBytes, incarnation << 20);
    }

    /**
     * Starts a group's host from what {@code store} recovered ({@link ReplicaDriver#start}); the first turn
     * re-delivers the recovered snapshot and decided entries, and the host gives {@code machine} those it does not
     * hold yet (slots from its {@link StateMachine#appliedIndex}; a snapshot only if it ends above it).
     *
     * @param incarnation a number no earlier start of this replica used (a random long), tagging its proposals
     */
    public static <C> GroupHost<C> start(PaxosConfig config, DurableStateStore store, Transport transport,
                                         TrueTime trueTime, MonotonicClock clock, StateMachine machine,
                                         long incarnation, Options options, Listener<C> listener) {
        GroupHost<C> host = new GroupHost<>(config, incarnation, machine, options, listener, trueTime, clock, transport);
        host.startTransfer();
        host.driver = ReplicaDriver.start(config, store, transport, trueTime, clock, host::apply, host::effect);
        return host;
    }

    /**
     * Hosts a core made elsewhere ({@link ReplicaDriver#of}): the simulator's, made new, joining or recovered by its
     * factory. {@code config} must be the core's.
     */
    public static <C> GroupHost<C> of(PaxosReplica core, PaxosConfig config, GroupLog log, Transport transport,
                                      TrueTime trueTime, MonotonicClock clock, StateMachine machine,
                                      long incarnation, Options options, Listener<C> listener) {
        GroupHost<C> host = new GroupHost<>(config, incarnation, machine, options, listener, trueTime, clock, transport);
        host.startTransfer();
        host.driver = ReplicaDriver.of(core, log, transport, trueTime, clock, host::apply, host::effect);
        return host;
    }

    // ------------------------------------------------------------------ turns and inputs

    /** Starts a turn: what the inputs until {@link #endTurn} write is synced once, at its end. */
    public void beginTurn() {
        driver.beginBatch();
    }

    /**
     * Ends a turn: proposes the gathered appends if due ({@link #flushDue}), compacts if due, then syncs what the
     * turn wrote and sends, applies and reports its outputs. Throws if the log failed (the host is then unusable).
     */
    public void endTurn() {
        flushBatch();
        maybeCompact();
        driver.endBatch();
    }

    /**
     * {@link #endTurn} without the sync ({@link ReplicaDriver#endBatchUnsynced}): the caller syncs the log if
     * {@code needsSync}, then runs {@code deliver}; null when there is nothing to do. No input until then.
     */
    public ReplicaDriver.BatchEnd endTurnUnsynced() {
        flushBatch();
        maybeCompact();
        return driver.endBatchUnsynced();
    }

    /**
     * Handles a message from a peer (or a loopback); the core's output, or null if TrueTime did not answer. A
     * snapshot transfer message is the host's; a message carrying a snapshot the machine lacks is dropped and that
     * state fetched from its sender (see the class comment): both give {@link Output#EMPTY}.
     */
    public Output onMessage(Message m) {
        if (m instanceof Message.SnapshotRequest q) {
            transfer.onRequest(q);
            return Output.EMPTY;
        }
        if (m instanceof Message.SnapshotChunk c) {
            transfer.onChunk(c);
            return Output.EMPTY;
        }
        Snapshot s = snapshotOf(m);
        if (s != null && s.endIndex() > driver.replica().decidedIndex() && s.endIndex() > machineApplied()) {
            transfer.want(s.endIndex(), m.from());
            return Output.EMPTY;
        }
        return call(() -> driver.onMessage(m));
    }

    /** The snapshot {@code m} carries, which the core would install if it ends above its decided index; or null. */
    private static Snapshot snapshotOf(Message m) {
        if (m instanceof Message.InstallSnapshot i) {
            return i.snapshot();
        } else if (m instanceof Message.AcceptSync a) {
            return a.snapshot();
        } else if (m instanceof Message.Promise p) {
            return p.snapshot();
        }
        return null;
    }

    /**
     * Proposes the next membership (one replica added or removed; leader only): the core's output, whose
     * diagnostics say why it refused (LEASE_WAIT: retry later), or null if TrueTime did not answer.
     */
    public Output proposeMembership(List<Integer> nextMembers) {
        return call(() -> driver.proposeMembership(nextMembers));
    }

    /**
     * Timers: election, heartbeats, lease renewal, retransmission; snapshot transfer (a machine behind the core's
     * compacted prefix starts a fetch). False if TrueTime did not answer.
     */
    public boolean onTick() {
        PaxosReplica core = driver.replica();
        if (machineApplied() < core.compactedIndex()) {
            transfer.want(core.compactedIndex(), 0);
        } else if (!transfer.installing()) {
            catchUp(delivered);
        }
        transfer.onTick();
        return call(driver::onTick) != null;
    }

    /**
     * Takes a client's append: gathered into the next batch if this replica leads, else refused at once ({@code
     * NOT_APPENDED}). {@code command} must have passed {@link #validate}.
     */
    public void append(byte[] command, C client) {
        if (!driver.replica().isLeader()) {
            listener.outcome(client, notAppended("replica " + replicaId + " does not lead"));
            return;
        }
        if (batch.isEmpty()) {
            batchStartNanos = clock.nanoTime();
        }
        batch.add(new Pending<>(command, client));
    }

    /**
     * Why {@code command} can never be appended (its size, or the state machine refuses it), or null. Safe to call
     * from any thread: it looks at the command alone.
     */
    public String validate(byte[] command) {
        return command.length + TAG_BYTES > maxValueBytes
                ? "command of " + command.length + " bytes exceeds the limit of " + (maxValueBytes - TAG_BYTES)
                : machine.validate(command);
    }

    /**
     * Answers a read from the state machine if this replica may serve it from its lease now, else says why not.
     * Throws IllegalArgumentException if the state machine finds the query malformed.
     */
    public ReadOutcome read(byte[] query) {
        PaxosReplica core = driver.replica();
        int hint = Math.max(0, core.leaderHint());
        String refused = null;
        if (!core.isLeader()) {
            refused = "replica " + replicaId + " does not lead";
        } else if (applyPaused()) {
            refused = "replica " + replicaId + " is fetching a snapshot of the group's state from a peer (its state"
                    + " machine is behind the compacted log or installing)";
        } else {
            TimeInterval now = nowOrNull();
            if (now == null || (options.leaseChecksOnReads() && !core.canServeLeaseRead(now))) {
                refused = "replica " + replicaId + " leads without a valid lease";
            } else if (appliedIndex() < readFence) {
                refused = "replica " + replicaId + " has not yet applied the log it took over (slot "
                        + appliedIndex() + " of " + readFence + ")";
            }
        }
        if (refused != null) {
            return new ReadOutcome(null, refused, appliedIndex(), hint);
        }
        return new ReadOutcome(machine.query(query), null, appliedIndex(), hint);
    }

    /** Whether appends are gathered, waiting for {@link #batchDeadlineNanos}. */
    public boolean batchWaiting() {
        return !batch.isEmpty();
    }

    /** When the gathered appends are proposed at the latest (monotonic nanos); meaningful if {@link #batchWaiting}. */
    public long batchDeadlineNanos() {
        return batchStartNanos + options.maxBatchWaitNanos();
    }

    /** Answers every waiting append {@code UNKNOWN}: the caller can no longer drive this group (its loop died). */
    public void failAllWaiting(String why) {
        for (C c : waiting.values()) {
            listener.outcome(c, new AppendOutcome(Outcome.UNKNOWN, -1, null, why, leaderHint()));
        }
        waiting.clear();
        for (Pending<C> p : batch) {
            listener.outcome(p.client(), notAppended(why));
        }
        batch.clear();
    }

    // ------------------------------------------------------------------ queries

    /** The state machine this host applies to (a companion host that wraps it, such as a transaction host's). */
    public StateMachine machine() {
        return machine;
    }

    /** The core, for queries ({@code isLeader}, {@code decidedIndex}, ...). Do not feed it inputs directly. */
    public PaxosReplica replica() {
        return driver.replica();
    }

    /**
     * The next slot to apply: every slot below it has been applied here (the machine's applied index; 0 while it
     * holds no state of the group, an install under way).
     */
    public long appliedIndex() {
        return Math.max(0, machineApplied());
    }

    /**
     * The monotonic time of this host's next timer, when {@link #onTick} next has something to do: its core's ({@link
     * PaxosReplica#nextTickNanos}), or sooner the snapshot transfer's (a re-ask, an idle source to close), or now
     * when the machine must start a fetch or apply entries held back. Moves with every input; a loop asks again
     * after each turn.
     */
    public long nextTickNanos() {
        PaxosReplica core = driver.replica();
        long at = core.nextTickNanos();
        long now = clock.nanoTime();
        boolean behind = machineApplied() < core.compactedIndex();
        if ((behind && !transfer.fetching()) || (!applyPaused() && machineApplied() < delivered)) {
            return now - at < 0 ? now : at;
        }
        long transferAt = transfer.nextTimerNanos();
        return transferAt != Long.MAX_VALUE && transferAt - at < 0 ? transferAt : at;
    }

    /** Whether the host is fetching a snapshot from a peer (reads are refused while the machine is behind). */
    public boolean fetchingSnapshot() {
        return transfer.fetching();
    }

    /** Whether a lease read would be served now (leads with a valid lease, read fence passed). */
    public boolean leaseReadReady() {
        TimeInterval now = nowOrNull();
        return now != null && driver.replica().canServeLeaseRead(now) && !applyPaused() && appliedIndex() >= readFence;
    }

    /**
     * Whether this replica leads and has applied every entry of the log it took over (the read fence), lease aside:
     * from then on its machine holds every entry an earlier leader acted on. {@code TxnHost} tells its cores they
     * lead only then.
     */
    public boolean adoptedLogApplied() {
        return driver.replica().isLeader() && !applyPaused() && appliedIndex() >= readFence;
    }

    /** How many times this host became leader since it started: a change means a new term, even between polls. */
    public long leaderships() {
        return leaderships;
    }

    public long incarnation() {
        return incarnation;
    }

    /** Batches proposed and entries in them since the host started, for a server's statistics. */
    public long batchesProposed() {
        return batchesProposed;
    }

    public long entriesProposed() {
        return entriesProposed;
    }

    /** Closes the driver and its log, then the state machine. */
    public void close() {
        transfer.close();
        try {
            driver.close();
        } finally {
            machine.close();
        }
    }

    // ------------------------------------------------------------------ inside

    /** Calls the driver; a clock that cannot answer drops this input (the protocol treats it as lost). */
    private Output call(Supplier<Output> input) {
        Output out;
        try {
            out = input.get();
        } catch (ClockUnavailableException e) {
            listener.warn("clock", "replica " + replicaId + ": TrueTime unavailable, input dropped: " + e.getMessage());
            return null;
        }
        for (Output.Diagnostic d : out.diagnostics()) {
            if (d.code() != Output.Diagnostic.Code.LEASE_WAIT && d.code() != Output.Diagnostic.Code.STALE_BALLOT
                    && d.code() != Output.Diagnostic.Code.DUPLICATE && d.code() != Output.Diagnostic.Code.PRE_VOTE_REFUSED) {
                listener.warn(d.code().name(), "replica " + replicaId + ": " + d.code() + ": " + d.detail());
            }
        }
        return out;
    }

    private TimeInterval nowOrNull() {
        try {
            return trueTime.now();
        } catch (ClockUnavailableException e) {
            return null;
        }
    }

    /**
     * Proposes the gathered appends as one batch, unless an earlier batch is still undecided and this one is young
     * and small: then it keeps gathering (one round in flight, like raft's Ready loop), so under load each round
     * carries many entries and costs the followers one message and one sync, not one per append. With nothing in
     * flight (low load) it proposes at once.
     */
    private void flushBatch() {
        if (batch.isEmpty()) {
            return;
        }
        PaxosReplica core = driver.replica();
        boolean inFlight = core.isLeader() && core.logEnd() > core.decidedIndex();
        if (inFlight && batch.size() < maxBatchEntries && clock.nanoTime() - batchStartNanos < options.maxBatchWaitNanos()) {
            return;
        }
        List<byte[]> values = new ArrayList<>(batch.size());
        long firstSeq = nextSeq;
        for (Pending<C> p : batch) {
            values.add(ByteBuffer.allocate(TAG_BYTES + p.command().length).putLong(incarnation).putLong(nextSeq++)
                    .put(p.command()).array());
            waiting.put(nextSeq - 1, p.client());
        }
        batch.clear();
        batchesProposed++;
        entriesProposed += values.size();
        Output out = call(() -> driver.propose(values));
        String[] refused = refusedValues(out, values.size());
        for (int i = 0; i < refused.length; i++) {
            if (refused[i] != null) {
                C c = waiting.remove(firstSeq + i);
                if (c != null) {
                    listener.outcome(c, notAppended(refused[i]));
                }
            }
        }
    }

    /**
     * The outcome {@code propose} settled for each of {@code values} proposed values: the reason it was certainly
     * not appended, or null when the core took it, so that it may still be decided and its client must wait for
     * {@code APPLIED} (or {@code UNKNOWN}). Per value: one value the core refuses (over its size limit) does not
     * make the others of its batch "not appended", which a client would take as leave to send them again.
     * {@code out} null means the input never reached the core (TrueTime unavailable).
     */
    public static String[] refusedValues(Output out, int values) {
        String[] refused = new String[values];
        if (out == null) {
            Arrays.fill(refused, "TrueTime unavailable");
            return refused;
        }
        for (Output.Diagnostic d : out.diagnostics()) {
            if (d.valueIndex() == Output.Diagnostic.WHOLE_INPUT) {
                Arrays.fill(refused, d.detail()); // the core took none of the batch
                return refused;
            }
            if (d.valueIndex() >= values) {
                throw new IllegalStateException("propose refused value " + d.valueIndex() + " of a batch of " + values);
            }
            refused[d.valueIndex()] = d.detail();
        }
        return refused;
    }

    /**
     * A decided entry, in slot order. The machine gets it unless it holds it already (after a restart the core
     * re-delivers its whole log, and the machine reopens at what it flushed); a decided slot above the machine's
     * next one would be a gap between log and machine, which the compaction rule ({@link #maybeCompact}) excludes.
     */
    private void apply(Output.Decided d) {
        listener.decided(d);
        delivered = Math.max(delivered, d.slot() + 1);
        if (applyPaused()) {
            return; // applied from the core's log once the machine has fetched its snapshot (catchUp)
        }
        long next = machine.appliedIndex();
        if (d.slot() < next) {
            return; // the machine holds it: flushed before a restart, or in a snapshot it installed
        }
        if (d.slot() > next) {
            catchUp(d.slot()); // entries held back while a stream was installing, from the core's log
        }
        applyEntry(d.slot(), d.entry());
    }

    /**
     * Whether the machine must not apply now: it holds no state of the group or one behind the core's compacted
     * prefix (it must fetch a snapshot first), or chunks of a snapshot are being installed into it.
     */
    private boolean applyPaused() {
        return transfer.installing() || machineApplied() < driver.replica().compactedIndex();
    }

    /** The machine's applied index, or -1 while it holds no state of the group ({@link IncompleteInstallException}). */
    private long machineApplied() {
        try {
            return machine.appliedIndex();
        } catch (IncompleteInstallException e) {
            return -1;
        }
    }

    /**
     * Applies the decided entries from the machine's applied index up to {@code end} (at most what the driver
     * delivered, so outcomes still follow the sync that covers their entry) from the core's log: those held back
     * while the machine fetched a snapshot. The core keeps them (it compacts only what the machine flushed, and
     * installs a snapshot only once the machine holds it).
     */
    private void catchUp(long end) {
        if (applyPaused()) {
            return;
        }
        PaxosReplica core = driver.replica();
        for (long slot = machine.appliedIndex(); slot < end; slot++) {
            applyEntry(slot, core.decidedEntry(slot));
        }
    }

    /** Gives the machine decided slot {@code slot} (its next) and its client the outcome. */
    private void applyEntry(long slot, Entry entry) {
        if (entry.isConfig()) {
            machine.apply(slot, null);
            return;
        }
        byte[] v = entry.value();
        if (v.length < TAG_BYTES) {
            listener.warn("untagged", "replica " + replicaId + ": slot " + slot + " holds " + v.length
                    + " bytes, not a tagged command; skipped on every replica alike");
            machine.apply(slot, null);
            return;
        }
        ByteBuffer b = ByteBuffer.wrap(v);
        long inc = b.getLong();
        long seq = b.getLong();
        byte[] command = new byte[v.length - TAG_BYTES];
        b.get(command);
        byte[] result;
        try {
            result = machine.apply(slot, command);
        } catch (IncompleteInstallException e) {
            throw e;
        } catch (RuntimeException e) {
            // validate() refused nothing that reaches here unless the proposer skipped it; every replica skips alike.
            listener.warn("apply", "replica " + replicaId + ": slot " + slot + " not applicable: " + e.getMessage());
            result = new byte[0];
        }
        if (inc == incarnation) {
            C c = waiting.remove(seq);
            if (c != null) {
                listener.outcome(c, new AppendOutcome(Outcome.APPLIED, slot, result, null, replicaId));
            }
        }
    }

    private void effect(Output.Effect e) {
        if (e instanceof Output.Effect.BecameLeader b) {
            readFence = driver.replica().logEnd();
            leaderships++;
            listener.leadership(true);
            listener.info("replica " + replicaId + ": leader in ballot " + b.ballot() + " (configuration "
                    + b.configId() + "); lease reads after slot " + readFence + " is applied");
        } else if (e instanceof Output.Effect.SteppedDown s) {
            readFence = Long.MAX_VALUE;
            listener.leadership(false);
            listener.info("replica " + replicaId + ": stepped down from ballot " + s.ballot() + ": " + s.reason());
            String why = "leadership lost after proposing (" + s.reason() + ")";
            for (C c : waiting.values()) {
                listener.outcome(c, new AppendOutcome(Outcome.UNKNOWN, -1, null, why, leaderHint()));
            }
            waiting.clear();
        } else if (e instanceof Output.Effect.InstallSnapshot s) {
            // The machine holds the snapshot's prefix already (onMessage let the message in only then), except in a
            // restart's replay of a machine behind the compacted log: applyPaused() holds it back until it fetched.
            listener.installing(s.snapshot());
        } else if (e instanceof Output.Effect.ConfigChanged c) {
            listener.info("replica " + replicaId + ": configuration " + c.configId() + " members " + c.members()
                    + " from slot " + c.configStartIndex());
        }
    }

    /**
     * Every {@code compactEveryEntries} applied entries: has the machine make its state durable ({@link
     * StateMachine#flush}) and compacts the core's log below what it made durable (and the core decided), never
     * further, so that the durable log and the durable machine together cover the decided prefix without a gap. The
     * core's snapshot is metadata; a peer that needs the state fetches it from a machine.
     */
    private void maybeCompact() {
        long every = options.compactEveryEntries();
        PaxosReplica core = driver.replica();
        long compacted = core.compactedIndex();
        if (every <= 0 || applyPaused() || machine.appliedIndex() - compacted < every) {
            return;
        }
        long durable = Math.min(machine.flush(), core.decidedIndex());
        if (durable <= compacted) {
            return;
        }
        call(() -> driver.compact(durable - 1));
    }

    private int leaderHint() {
        return Math.max(0, driver.replica().leaderHint());
    }

    private AppendOutcome notAppended(String why) {
        return new AppendOutcome(Outcome.NOT_APPENDED, -1, null, why, leaderHint());
    }
}
