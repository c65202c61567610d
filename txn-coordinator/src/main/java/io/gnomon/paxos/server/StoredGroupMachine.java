package io.gnomon.paxos.server;

import io.gnomon.paxos.runtime.IncompleteInstallException;
import io.gnomon.paxos.runtime.StateMachine;
import io.gnomon.paxos.store.GroupStore;
import io.gnomon.paxos.store.Mutation;
import io.gnomon.paxos.store.Row;
import io.gnomon.paxos.store.SnapshotChunk;
import io.gnomon.paxos.store.SnapshotInstaller;
import io.gnomon.paxos.store.SnapshotReader;
import io.gnomon.paxos.store.StateRow;
import io.gnomon.paxos.store.StoreLimits;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;

/**
 * What every machine on the versioned store shares (docs/versioned-store.md, "Machines on the store"): one
 * {@link GroupStore} per machine, each apply one {@link GroupStore#apply} (the mutations and the applied index in
 * one batch), versions at timestamp = slot, the flush through the process's {@link StoreFlusher}, snapshots as
 * the group's {@link SnapshotChunk}s serialized. A subclass says how a command becomes mutations and a result and
 * how a query reads the group; every user key it writes starts with its {@link #kind} byte, so a group opened as
 * another kind of machine is refused at open.
 *
 * <p>Public so that machines of other packages (the transaction machine, io.gnomon.txn.TxnMachine) share it: a
 * subclass is constructed only through {@link StoredMachines#open}, which gives each group one machine.
 *
 * <p>Numbering: GroupStore counts the last applied log index (-1 when empty), the machine interface the next
 * slot to apply (0 when empty); {@code appliedIndex() == group.appliedIndex() + 1} and a slot is written as the
 * group's applied index.
 */
public abstract class StoredGroupMachine implements StateMachine {
    /** Reads see every version: versions are at timestamp = slot, and nothing is read at an older slot yet. */
    static final long LATEST = Long.MAX_VALUE;
    /** [u8 kind][i64 sourceGroupId][i64 appliedIndex][i64 gcWatermark][i32 sequence][u8 last] then the payload. */
    static final int CHUNK_HEADER_BYTES = 1 + 8 + 8 + 8 + 4 + 1;

    protected final GroupStore group;
    protected final StoreLimits limits;
    private final StoreFlusher flusher;
    private final StoredMachines owner;
    private final byte kind;
    private boolean closed;

    protected StoredGroupMachine(StoredMachines owner, GroupStore group, byte kind) {
        this.owner = owner;
        this.group = group;
        this.limits = owner.store().limits();
        this.flusher = owner.flusher();
        this.kind = kind;
        if (!group.installing()) {
            checkKind();
        }
    }

    /** The first byte of every user key this machine writes. */
    protected final byte kind() {
        return kind;
    }

    /** A group written by another kind of machine would be misread: refuse it by its first key. */
    private void checkKind() {
        List<Row> first = group.scan(new byte[0], null, LATEST, 1);
        if (!first.isEmpty() && (first.get(0).key().length == 0 || first.get(0).key()[0] != kind)) {
            throw new IllegalStateException("group " + group.groupId() + " holds data of another kind of machine (key tag "
                    + (first.get(0).key().length == 0 ? "none" : "'" + (char) first.get(0).key()[0] + "'") + ", this "
                    + getClass().getSimpleName() + " writes '" + (char) kind + "'): open it with the machine it was"
                    + " created with, or give this machine another group id");
        }
    }

    /** The user key made of {@code parts}, after this machine's tag byte. */
    protected final byte[] key(byte[]... parts) {
        int n = 1;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] k = new byte[n];
        k[0] = kind;
        int at = 1;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, k, at, p.length);
            at += p.length;
        }
        return k;
    }

    @Override
    public final byte[] apply(long slot, byte[] command) {
        checkOpen();
        if (slot < 0) {
            throw new IllegalArgumentException("group " + group.groupId() + ": slot " + slot + " is negative");
        }
        checkInstalled("apply slot " + slot);
        if (slot != group.appliedIndex() + 1) {
            throw new IllegalStateException("group " + group.groupId() + ": slot " + slot + " applied out of order: the"
                    + " next slot to apply is " + (group.appliedIndex() + 1) + " (each slot once, in order; replay from"
                    + " appliedIndex())");
        }
        if (command == null) {
            group.apply(slot, List.of());
            return null;
        }
        try {
            return applyCommand(slot, command);
        } catch (IllegalArgumentException e) {
            group.apply(slot, List.of()); // the slot is applied as nothing, as on every replica (StateMachine#apply)
            throw e;
        }
    }

    /**
     * Applies one command at {@code slot}: computes its mutations (each at timestamp {@code slot}) and its result
     * from the group's state, then calls {@link #write} once. Throws IllegalArgumentException for a malformed
     * command, before writing anything.
     */
    protected abstract byte[] applyCommand(long slot, byte[] command);

    /** The one engine write of an apply: the mutations and the applied index {@code slot}, atomically. */
    protected final void write(long slot, List<Mutation> mutations) {
        group.apply(slot, mutations);
    }

    /** The one engine write of an apply, with changes to the group's state area in the same batch. */
    protected final void write(long slot, List<Mutation> mutations, List<StateRow> stateChanges) {
        group.apply(slot, mutations, stateChanges);
    }

    /** The one engine write of an apply, after the tombstones of range deletes ({@link GroupStore#apply}). */
    protected final void write(long slot, List<GroupStore.RangeTombstones> rangeDeletes, List<Mutation> mutations,
                               List<StateRow> stateChanges) {
        group.apply(slot, rangeDeletes, mutations, stateChanges);
    }

    @Override
    public final byte[] query(byte[] query) {
        checkOpen();
        checkInstalled("answer a query");
        return answer(query);
    }

    protected abstract byte[] answer(byte[] query);

    @Override
    public final long appliedIndex() {
        checkOpen();
        checkInstalled("report its applied index");
        return group.appliedIndex() + 1;
    }

    @Override
    public final long flush() {
        checkOpen();
        checkInstalled("flush");
        beforeFlush();
        return flusher.flushGroup(group) + 1;
    }

    /** A hook before the flush (the counter drops its superseded versions there). */
    protected void beforeFlush() {
    }

    /** After an install finished: cached state (if any) is reloaded from the group. */
    protected void afterInstall() {
    }

    @Override
    public final SnapshotSource openSnapshot(int maxChunkBytes) {
        checkOpen();
        checkInstalled("stream a snapshot");
        int min = owner.minSnapshotChunkBytes();
        if (maxChunkBytes < min) {
            throw new IllegalArgumentException("group " + group.groupId() + ": maxChunkBytes must be >= " + min
                    + " (a chunk header and the largest key and value the store's limits allow), was " + maxChunkBytes);
        }
        SnapshotReader reader = group.snapshotChunks(maxChunkBytes - CHUNK_HEADER_BYTES);
        return new SnapshotSource() {
            @Override
            public long endIndex() {
                return reader.appliedIndex() + 1;
            }

            @Override
            public byte[] nextChunk() {
                return reader.hasNext() ? encodeChunk(kind, reader.next()) : null;
            }

            @Override
            public void close() {
                reader.close();
            }
        };
    }

    @Override
    public final SnapshotSink beginInstall(long endIndex) {
        checkOpen();
        if (endIndex < 1) {
            throw new IllegalArgumentException("group " + group.groupId() + ": a snapshot's end index must be >= 1"
                    + " (an empty state needs no install), was " + endIndex);
        }
        if (!group.installing() && endIndex <= group.appliedIndex() + 1) {
            throw new IllegalArgumentException("group " + group.groupId() + ": a snapshot ending at " + endIndex
                    + " does not advance past this machine's applied index " + (group.appliedIndex() + 1)
                    + "; install only newer snapshots");
        }
        SnapshotInstaller installer = group.beginInstall(endIndex - 1);
        return new SnapshotSink() {
            @Override
            public void add(byte[] chunk) {
                installer.add(decodeChunk(kind, group.groupId(), chunk));
            }

            @Override
            public void finish() {
                installer.finish();
                flusher.flushGroup(group);
                afterInstall();
            }
        };
    }

    /** The machine no longer uses its group; the store stays open (the {@link StoredMachines} owns it). */
    @Override
    public final void close() {
        if (!closed) {
            closed = true;
            owner.release(group.groupId());
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("group " + group.groupId() + ": this " + getClass().getSimpleName() + " is closed");
        }
    }

    private void checkInstalled(String what) {
        if (group.installing()) {
            throw new IncompleteInstallException("group " + group.groupId() + ": cannot " + what + ": a snapshot install"
                    + " is under way or was interrupted by a crash, so the stored content is not a state of the group;"
                    + " fetch a snapshot and install it (beginInstall accepts any end index now)", null);
        }
    }

    static byte[] encodeChunk(byte kind, SnapshotChunk c) {
        return ByteBuffer.allocate(CHUNK_HEADER_BYTES + c.payload().length).put(kind).putLong(c.sourceGroupId())
                .putLong(c.appliedIndex()).putLong(c.gcWatermark()).putInt(c.sequence()).put(c.last() ? (byte) 1 : 0)
                .put(c.payload()).array();
    }

    static SnapshotChunk decodeChunk(byte kind, long groupId, byte[] bytes) {
        if (bytes.length < CHUNK_HEADER_BYTES) {
            throw new IllegalArgumentException("group " + groupId + ": a snapshot chunk of " + bytes.length
                    + " bytes is shorter than its " + CHUNK_HEADER_BYTES + "-byte header");
        }
        ByteBuffer b = ByteBuffer.wrap(bytes);
        byte chunkKind = b.get();
        if (chunkKind != kind) {
            throw new IllegalArgumentException("group " + groupId + ": a snapshot chunk of machine kind '"
                    + (char) chunkKind + "' (" + chunkKind + ") offered to a machine of kind '" + (char) kind + "'");
        }
        long source = b.getLong();
        long applied = b.getLong();
        long watermark = b.getLong();
        int sequence = b.getInt();
        byte last = b.get();
        if (last != 0 && last != 1) {
            throw new IllegalArgumentException("group " + groupId + ": snapshot chunk " + sequence + " has last flag " + last);
        }
        return new SnapshotChunk(source, applied, watermark, sequence, last == 1,
                Arrays.copyOfRange(bytes, CHUNK_HEADER_BYTES, bytes.length));
    }
}
