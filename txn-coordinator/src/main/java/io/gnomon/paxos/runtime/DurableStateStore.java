package io.gnomon.paxos.runtime;

import io.gnomon.paxos.Ballot;
import io.gnomon.paxos.DurableState;
import io.gnomon.paxos.Entry;
import io.gnomon.paxos.PaxosLimits;
import io.gnomon.paxos.PersistWrite;
import io.gnomon.paxos.Snapshot;
import io.gnomon.paxos.storage.DurableLog;
import io.gnomon.paxos.storage.LogLimits;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.NavigableMap;

/**
 * Makes the core's {@link PersistWrite}s durable in a {@link DurableLog} and turns what the log recovers back
 * into the core's {@link DurableState.Recovered}. The meaning of the writes is {@link DurableState}'s; this
 * class maps it onto the log's acceptor model (per-slot ballots, append-only records, no configuration).
 *
 * <h2>Group commit</h2>
 * {@link #persist(List)} applies the writes of one {@code Output} in order and then calls
 * {@link DurableLog#sync()} exactly once (not at all when there are no writes). Only after it returns may the
 * output's messages leave; {@link ReplicaDriver} is the one place that enforces that.
 *
 * <h2>Mapping (core model to log model)</h2>
 * <ul>
 *   <li><b>Configuration id in ballots.</b> The core resets promised ballot and accepted round to
 *   {@link Ballot#ZERO} when it enters a new configuration; the log refuses a promise or an accepted entry
 *   below what it stores. Every ballot written to the log is therefore <i>config-qualified</i>: log round =
 *   {@code configId << 32 | round}, same replica id. Log ballots then only grow across configurations.
 *   Not representable (refused with {@link IllegalStateException}, nothing written): a round {@code >= 2^32}
 *   or a configuration id {@code >= 2^31}.</li>
 *   <li><b>The metadata slot.</b> The log has no place for the configuration (id, members, start index), for
 *   Sequence Paxos' single accepted round of the whole log, or for the log end after a truncation (Chronicle
 *   cannot delete records). They live in one record at the reserved slot {@link #META_SLOT}
 *   ({@code Long.MAX_VALUE}, never reached by a real slot or a snapshot), written as an accepted entry at
 *   ballot {@code qualify(configId, acceptedRound)}. That ballot never decreases (the accepted round only grows
 *   within a configuration, the configuration id only grows), and the log lets an equal ballot replace the
 *   stored entry, so the newest metadata always wins on replay.</li>
 *   <li>{@code PersistPromise(configId, b)} → {@code persistPromise(qualify(configId, b), 0)} (lease end 0: the
 *   log keeps the largest lease end ever written, so 0 leaves it as it is).</li>
 *   <li>{@code PersistLeaseGrant(end)} → {@code persistPromise(stored promise, end)}: a renewal of the log's
 *   stored (config-qualified) promise carrying the grant's end, one PROMISE record. The log's recovered
 *   {@code grantedLeaseEndEpochNanos} (the largest ever written, 0 if none) is the core's
 *   {@code grantedLeaseEndEpochNanos}. Re-stating the stored promise is right even when the core's promise was
 *   reset by a new configuration: the log refuses only a lower promise, and recovery reads a promise of an older
 *   configuration as {@code ZERO}. Logs written before grants were persisted recover 0; the core's restart rule
 *   ({@code now.latest + leaseDuration}) still covers them if the lease was not shortened across that restart.</li>
 *   <li>{@code PersistAccepted(configId, round, fromSlot, entries)} → one {@code persistAccepted} of the entries at
 *   slots {@code fromSlot..} with ballot {@code qualify(configId, round)}, plus the metadata (log end =
 *   {@code fromSlot + entries.size()}, accepted round) <i>in the same call</i>, so the truncation, the append
 *   and the new round are one log record. Truncation ("fromSlot") is logical: entries stored at or above the
 *   new log end stay in the log but are ignored by recovery, and later appends overwrite them (their ballot is
 *   at least as high). Entries are encoded with a tag byte (value, or configuration entry with next id and
 *   members).</li>
 *   <li>{@code PersistDecided(d)} (slots {@code < d} decided) → {@code persistDecided(d - 1)} (slots
 *   {@code <= d-1}); skipped when it would not raise the stored value (the core's meaning is a max).</li>
 *   <li>{@code PersistSnapshot(s)} → {@code persistSnapshot} with the core snapshot's configuration (id,
 *   members, start index) encoded in the log's opaque {@code membership} bytes and
 *   {@code lastIncludedBallot = Ballot.ZERO} (the core's snapshot carries no ballot; nothing reads it) and an empty
 *   {@code state} (the state machine holds the state; the state of a log written before that is ignored). Skipped
 *   when it does not end past the stored snapshot, as in {@link DurableState}.</li>
 *   <li>{@code PersistConfig(id, members, start, truncateLogAt)} → a metadata record with the new configuration,
 *   accepted round {@code ZERO} and log end {@code min(logEnd, truncateLogAt)}. No promise is written: recovery
 *   reads a stored promise of an older configuration as {@code ZERO} in the current one, which is what the
 *   core's reset means, and the next promise in the new configuration is above it in the log.</li>
 * </ul>
 *
 * <h2>Recovery</h2>
 * Configuration, accepted round and log end come from the metadata (absent: the initial configuration, an empty
 * log); {@code firstSlot} is the snapshot's end (or 0), the log end is {@code max(meta log end, firstSlot)}, the
 * entries are those stored in {@code [firstSlot, logEnd)} (a missing one is corruption:
 * {@link IllegalStateException}), the decided index is {@code decidedUpTo + 1}.
 *
 * <h2>What the log cannot represent, and limits</h2>
 * <ul>
 *   <li>Atomicity of a very large {@code PersistAccepted}: when its entries exceed the log's
 *   {@code maxBatchEntries}/{@code maxBatchValueBytes} they are split into several {@code persistAccepted} calls,
 *   the metadata going with the last one. A crash between those calls (before the output's sync, so before
 *   any of its messages left) recovers with the old metadata: the old log end and round, with some slots below
 *   the old end holding values of the newer round. That is not a state {@link DurableState} can produce from a
 *   prefix of the writes; it is safe for Paxos because the newer round's leader only sends values consistent
 *   with everything chosen in lower rounds and this acceptor's newer acceptance was never acknowledged, but it
 *   is a deviation, documented here rather than hidden. Batches within the log's limits are one record.</li>
 *   <li>The log's value limit must leave room for the entry tag: {@code maxEntryValueBytes >=
 *   PaxosLimits.maxValueBytes + }{@link #ENTRY_OVERHEAD_BYTES} (checked by the constructor).</li>
 * </ul>
 * Not thread-safe: one driver thread owns it.
 */
public final class DurableStateStore implements GroupLog {
    /** The reserved log slot that holds the configuration, accepted round and log end. */
    public static final long META_SLOT = Long.MAX_VALUE;
    /** Bytes the encoding adds to an application value (the tag). */
    public static final int ENTRY_OVERHEAD_BYTES = 1;

    private static final byte TAG_VALUE = 0;
    private static final byte TAG_CONFIG = 1;
    private static final byte META_VERSION = 1;
    private static final byte MEMBERSHIP_VERSION = 1;
    /** A snapshot's state in the log: none (the state machine holds it); an older log's state is read and ignored. */
    private static final byte[] NO_STATE = new byte[0];
    private static final int META_BYTES_MAX = 64 + 4 * 1024;

    private final DurableLog log;
    private final LogLimits logLimits;
    private final DurableState.Recovered recovered;

    // Mirror of the logical state, to write the metadata record.
    private long configId;
    private List<Integer> members;
    private long configStartIndex;
    private Ballot acceptedRound;
    private long firstSlot;
    private long logEnd;
    private long decidedUpTo;
    /** The log's promise as stored (config-qualified): a grant renews it. */
    private Ballot logPromised;

    /**
     * Recovers from {@code log}. {@code initialMembers} is configuration 1 for a replica that has written nothing;
     * pass {@code joining = true} for a replica that joins later (no configuration: id 0, like
     * {@link DurableState#joining()}).
     */
    public DurableStateStore(DurableLog log, LogLimits logLimits, PaxosLimits paxosLimits,
                             List<Integer> initialMembers, boolean joining) {
        if ((long) logLimits.maxEntryValueBytes() < (long) paxosLimits.maxValueBytes() + ENTRY_OVERHEAD_BYTES
                || logLimits.maxEntryValueBytes() < META_BYTES_MAX) {
            throw new IllegalArgumentException("log maxEntryValueBytes " + logLimits.maxEntryValueBytes()
                    + " must be >= core maxValueBytes " + paxosLimits.maxValueBytes() + " + " + ENTRY_OVERHEAD_BYTES
                    + " and >= " + META_BYTES_MAX);
        }
        this.log = log;
        this.logLimits = logLimits;
        this.recovered = recoverFrom(log.recover(), joining ? DurableState.joining().toRecovered()
                : new DurableState(initialMembers).toRecovered());
        this.configId = recovered.configId();
        this.members = recovered.members();
        this.configStartIndex = recovered.configStartIndex();
        this.acceptedRound = recovered.acceptedRound();
        this.firstSlot = recovered.firstSlot();
        this.logEnd = recovered.firstSlot() + recovered.entries().size();
        DurableLog.Recovered fromLog = log.recover();
        this.decidedUpTo = fromLog.decidedUpTo();
        this.logPromised = fromLog.promised();
    }

    /** The state recovered when this store was opened, for {@code PaxosReplica.recover}. */
    public DurableState.Recovered recovered() {
        return recovered;
    }

    /** Applies {@code writes} in order, then syncs once. Throws (and the caller must stop) if the log refuses one. */
    public void persist(List<PersistWrite> writes) {
        if (writes.isEmpty()) {
            return;
        }
        write(writes);
        log.sync();
    }

    /** Applies {@code writes} in order without syncing; a later {@link #sync()} makes them durable. */
    public void write(List<PersistWrite> writes) {
        for (PersistWrite w : writes) {
            apply(w);
        }
    }

    /** Makes every write so far durable (as the log's sync policy defines). */
    public void sync() {
        log.sync();
    }

    private void apply(PersistWrite w) {
        if (w instanceof PersistWrite.PersistPromise p) {
            Ballot b = qualify(p.configId(), p.promised());
            log.persistPromise(b, 0);
            logPromised = b;
        } else if (w instanceof PersistWrite.PersistLeaseGrant g) {
            log.persistPromise(logPromised, g.grantedLeaseEndEpochNanos());
        } else if (w instanceof PersistWrite.PersistAccepted a) {
            if (a.configId() != configId) {
                throw new IllegalStateException("accepted in configuration " + a.configId() + " while in " + configId);
            }
            if (a.fromSlot() < firstSlot || a.fromSlot() > logEnd) {
                throw new IllegalStateException("append at " + a.fromSlot() + " outside [" + firstSlot + ", " + logEnd + "]");
            }
            Ballot b = qualify(a.configId(), a.acceptedRound());
            acceptedRound = a.acceptedRound();
            logEnd = a.fromSlot() + a.entries().size();
            List<DurableLog.Entry> batch = new ArrayList<>();
            long bytes = 0;
            long slot = a.fromSlot();
            for (Entry e : a.entries()) {
                byte[] v = encodeEntry(e);
                if (!batch.isEmpty() && (batch.size() + 1 >= logLimits.maxBatchEntries()
                        || bytes + v.length + META_BYTES_MAX > logLimits.maxBatchValueBytes())) {
                    log.persistAccepted(batch);
                    batch = new ArrayList<>();
                    bytes = 0;
                }
                batch.add(new DurableLog.Entry(slot++, b, v));
                bytes += v.length;
            }
            batch.add(metaEntry());
            log.persistAccepted(batch);
        } else if (w instanceof PersistWrite.PersistDecided d) {
            long upTo = d.decidedIndex() - 1;
            if (upTo > decidedUpTo) {
                log.persistDecided(upTo);
                decidedUpTo = upTo;
            }
        } else if (w instanceof PersistWrite.PersistSnapshot s) {
            Snapshot snap = s.snapshot();
            if (snap.endIndex() > firstSlot) {
                log.persistSnapshot(new DurableLog.Snapshot(snap.lastIncludedSlot(), Ballot.ZERO, NO_STATE,
                        encodeMembership(snap.configId(), snap.members(), snap.configStartIndex())));
                firstSlot = snap.endIndex();
                logEnd = Math.max(logEnd, firstSlot);
                decidedUpTo = Math.max(decidedUpTo, snap.lastIncludedSlot());
            }
        } else if (w instanceof PersistWrite.PersistConfig c) {
            if (c.truncateLogAt() < firstSlot) {
                throw new IllegalStateException("truncate at " + c.truncateLogAt() + " below compacted prefix " + firstSlot);
            }
            configId = c.configId();
            members = c.members();
            configStartIndex = c.configStartIndex();
            acceptedRound = Ballot.ZERO;
            logEnd = Math.min(logEnd, c.truncateLogAt());
            log.persistAccepted(List.of(metaEntry()));
        } else {
            throw new IllegalStateException("unknown write " + w);
        }
    }

    @Override
    public void close() {
        log.close();
    }

    // ------------------------------------------------------------------ recovery

    static DurableState.Recovered recoverFrom(DurableLog.Recovered r, DurableState.Recovered initial) {
        NavigableMap<Long, DurableLog.Entry> stored = r.entriesAboveSnapshot();
        DurableLog.Entry metaEntry = stored.get(META_SLOT);
        long configId = initial.configId();
        List<Integer> members = initial.members();
        long configStart = initial.configStartIndex();
        Ballot accepted = Ballot.ZERO;
        long metaLogEnd = 0;
        if (metaEntry != null) {
            ByteBuffer m = ByteBuffer.wrap(metaEntry.value());
            if (m.get() != META_VERSION) {
                throw new IllegalStateException("unknown metadata version in the paxos log");
            }
            configId = m.getLong();
            configStart = m.getLong();
            metaLogEnd = m.getLong();
            accepted = new Ballot(m.getLong(), m.getInt());
            members = readMembers(m);
        }
        Snapshot snapshot = null;
        long firstSlot = 0;
        if (r.snapshotOrNull() != null) {
            DurableLog.Snapshot s = r.snapshotOrNull();
            ByteBuffer m = ByteBuffer.wrap(s.membership());
            if (m.get() != MEMBERSHIP_VERSION) {
                throw new IllegalStateException("unknown snapshot membership version in the paxos log");
            }
            long sc = m.getLong();
            long ss = m.getLong();
            // s.state() is empty, or (a log written before snapshots became metadata) ignored: the machine holds it
            snapshot = new Snapshot(s.lastIncludedSlot(), sc, readMembers(m), ss);
            firstSlot = snapshot.endIndex();
        }
        long logEnd = Math.max(metaLogEnd, firstSlot);
        List<Entry> entries = new ArrayList<>();
        for (long slot = firstSlot; slot < logEnd; slot++) {
            DurableLog.Entry e = stored.get(slot);
            if (e == null) {
                throw new IllegalStateException("paxos log: slot " + slot + " below the log end " + logEnd + " is missing");
            }
            entries.add(decodeEntry(e.value()));
        }
        Ballot promised = Ballot.ZERO;
        long promiseConfig = r.promised().round() >>> 32;
        if (promiseConfig == configId) {
            promised = new Ballot(r.promised().round() & 0xFFFF_FFFFL, r.promised().replicaId());
        } else if (promiseConfig > configId) {
            throw new IllegalStateException("paxos log: promise in configuration " + promiseConfig
                    + " after configuration " + configId);
        }
        long decided = r.decidedUpTo() + 1;
        return new DurableState.Recovered(configId, members, configStart, promised, accepted, snapshot, firstSlot,
                entries, decided, r.grantedLeaseEndEpochNanos());
    }

    // ------------------------------------------------------------------ encodings

    static Ballot qualify(long configId, Ballot b) {
        if (configId < 0 || configId >= (1L << 31) || b.round() >= (1L << 32)) {
            throw new IllegalStateException("ballot " + b + " in configuration " + configId
                    + " cannot be represented in the log (round < 2^32, configuration < 2^31)");
        }
        return new Ballot(configId << 32 | b.round(), b.replicaId());
    }

    private DurableLog.Entry metaEntry() {
        ByteBuffer m = ByteBuffer.allocate(1 + 8 * 4 + 4 + 4 + 4 * members.size());
        m.put(META_VERSION).putLong(configId).putLong(configStartIndex).putLong(logEnd)
                .putLong(acceptedRound.round()).putInt(acceptedRound.replicaId());
        writeMembers(m, members);
        return new DurableLog.Entry(META_SLOT, qualify(configId, acceptedRound), m.array());
    }

    static byte[] encodeEntry(Entry e) {
        if (e.isConfig()) {
            ByteBuffer b = ByteBuffer.allocate(1 + 8 + 4 + 4 * e.nextMembers().size());
            b.put(TAG_CONFIG).putLong(e.nextConfigId());
            writeMembers(b, e.nextMembers());
            return b.array();
        }
        byte[] out = new byte[e.value().length + 1];
        out[0] = TAG_VALUE;
        System.arraycopy(e.value(), 0, out, 1, e.value().length);
        return out;
    }

    static Entry decodeEntry(byte[] v) {
        if (v.length == 0) {
            throw new IllegalStateException("paxos log: empty entry");
        }
        if (v[0] == TAG_VALUE) {
            byte[] value = new byte[v.length - 1];
            System.arraycopy(v, 1, value, 0, value.length);
            return Entry.value(value);
        }
        if (v[0] == TAG_CONFIG) {
            ByteBuffer b = ByteBuffer.wrap(v, 1, v.length - 1);
            long next = b.getLong();
            return Entry.config(next, readMembers(b));
        }
        throw new IllegalStateException("paxos log: unknown entry tag " + v[0]);
    }

    static byte[] encodeMembership(long configId, List<Integer> members, long start) {
        ByteBuffer b = ByteBuffer.allocate(1 + 8 + 8 + 4 + 4 * members.size());
        b.put(MEMBERSHIP_VERSION).putLong(configId).putLong(start);
        writeMembers(b, members);
        return b.array();
    }

    private static void writeMembers(ByteBuffer b, List<Integer> members) {
        b.putInt(members.size());
        for (int id : members) {
            b.putInt(id);
        }
    }

    private static List<Integer> readMembers(ByteBuffer b) {
        int n = b.getInt();
        if (n < 0 || n > b.remaining() / 4) {
            throw new IllegalStateException("paxos log: bad member count " + n);
        }
        List<Integer> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(b.getInt());
        }
        return List.copyOf(out);
    }
}
