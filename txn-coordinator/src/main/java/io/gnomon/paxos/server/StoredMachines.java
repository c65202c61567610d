package io.gnomon.paxos.server;

import io.gnomon.paxos.PaxosLimits;
import io.gnomon.paxos.runtime.StateMachine;
import io.gnomon.paxos.store.GroupStore;
import io.gnomon.paxos.store.StoreLimits;
import io.gnomon.paxos.store.StoreOpenException;
import io.gnomon.paxos.store.VersionedStore;
import io.gnomon.txn.TxnHost;
import io.gnomon.txn.TxnMachine;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * One process's machines on the versioned store (issue 19): opens the process's single {@link VersionedStore} in
 * {@code dataDir/store} and hands out one machine per group id, every machine a key prefix of that one engine, all
 * sharing one {@link StoreFlusher}. Closing it flushes and closes the store.
 *
 * <pre>{@code
 * try (StoredMachines machines = StoredMachines.open(dataDir)) {   // StoreOpenException: LOCKED, CORRUPT, OTHER
 *     StateMachine m = machines.machine("list-append", groupId);
 *     long next = m.appliedIndex();           // replay the group's log from here (IncompleteInstallException: fetch a snapshot)
 *     m.apply(next, command);
 *     machines.flusher().flushAll();          // once per loop turn or period, for every group
 *     long durable = m.flush();               // then free: the log may be compacted below it
 * }
 * }</pre>
 */
public final class StoredMachines implements AutoCloseable {
    /**
     * The store's limits for these machines: any command the runtime accepts fits (a key-value put's key of up
     * to {@link KeyValueMachine#KEY_BYTES_MAX} bytes plus the machine's tag; a value below the Paxos value limit).
     */
    public static final StoreLimits LIMITS = StoreLimits.DEFAULTS
            .withMaxKeyBytes(KeyValueMachine.KEY_BYTES_MAX + 1)
            .withMaxValueBytes(PaxosLimits.DEFAULTS.maxValueBytes());

    private final VersionedStore store;
    private final StoreFlusher flusher;
    private final Set<Long> inUse = new HashSet<>();

    private StoredMachines(VersionedStore store) {
        this.store = store;
        this.flusher = new StoreFlusher(store);
    }

    /** Opens (or creates) the store in {@code dataDir/store} with {@link #LIMITS}. */
    public static StoredMachines open(Path dataDir) throws StoreOpenException {
        return open(dataDir, LIMITS);
    }

    /**
     * Opens (or creates) the store in {@code dataDir/store}.
     *
     * @throws StoreOpenException whose {@link StoreOpenException#reason()} is LOCKED (another process, or another
     *                            open StoredMachines in this one, has this data dir), CORRUPT (damaged files or not a
     *                            versioned store) or OTHER; its message names the directory and what to do
     */
    public static StoredMachines open(Path dataDir, StoreLimits limits) throws StoreOpenException {
        return new StoredMachines(VersionedStore.open(dataDir.resolve("store"), limits));
    }

    /**
     * The machine of {@code groupId} by the name {@code --machine} uses: {@code list-append}, {@code counter},
     * {@code kv} or {@code txn} (a transaction host's {@link TxnHost.Machine}, versions at commit timestamps). A group is one machine at a time, and always the same kind.
     *
     * @throws IllegalArgumentException for an unknown kind
     * @throws IllegalStateException    if the group is already open, or holds another kind's data
     */
    public StateMachine machine(String kind, long groupId) {
        checkKind(kind);
        return switch (kind) {
            case "list-append" -> listAppend(groupId);
            case "counter" -> counter(groupId);
            case "kv" -> keyValue(groupId);
            case "txn" -> new TxnHost.Machine(TxnMachine.open(this, groupId));
            default -> throw new AssertionError(kind);
        };
    }

    /** The machine kinds {@link #machine} knows, as {@code --machine} names them. */
    public static final List<String> KINDS = List.of("list-append", "counter", "kv", "txn");

    /** @throws IllegalArgumentException unless {@code kind} is one of {@link #KINDS} */
    public static void checkKind(String kind) {
        if (!KINDS.contains(kind)) {
            throw new IllegalArgumentException("machine kind " + kind + ": use list-append, counter, kv or txn");
        }
    }

    public StoredListAppendMachine listAppend(long groupId) {
        return open(groupId, g -> new StoredListAppendMachine(this, g));
    }

    public StoredCounterMachine counter(long groupId) {
        return open(groupId, g -> new StoredCounterMachine(this, g));
    }

    public StoredKeyValueMachine keyValue(long groupId) {
        return open(groupId, g -> new StoredKeyValueMachine(this, g));
    }

    /**
     * A machine of {@code groupId} made by {@code make} from the group's store (machines of other packages, such as
     * io.gnomon.txn.TxnMachine, open themselves through this): a group has one open machine at a time.
     *
     * @throws IllegalStateException if the group is already open, or holds another kind's data
     */
    public <M extends StoredGroupMachine> M open(long groupId, Function<GroupStore, M> make) {
        claim(groupId);
        try {
            return make.apply(store.group(groupId));
        } catch (RuntimeException e) {
            release(groupId);
            throw e;
        }
    }

    /**
     * The smallest {@code maxChunkBytes} these machines' {@link StateMachine#openSnapshot} accepts: a chunk's header
     * and the largest key and value the store's limits allow (one entry never spans chunks).
     */
    public int minSnapshotChunkBytes() {
        return StoredGroupMachine.CHUNK_HEADER_BYTES + store.limits().maxChunkEntryBytes();
    }

    /** The process-wide flusher: a host calls {@link StoreFlusher#flushAll()} once per turn or period. */
    public StoreFlusher flusher() {
        return flusher;
    }

    /** The engine (reports, tests). */
    public VersionedStore store() {
        return store;
    }

    /** Flushes and closes the store; machines handed out refuse calls from now on (the store is closed). */
    @Override
    public void close() {
        store.close();
    }

    private synchronized void claim(long groupId) {
        if (!inUse.add(groupId)) {
            throw new IllegalStateException("group " + groupId + " already has an open machine in " + store.directory()
                    + ": close it first (two machines on one group would apply twice)");
        }
    }

    synchronized void release(long groupId) {
        inUse.remove(groupId);
    }
}
