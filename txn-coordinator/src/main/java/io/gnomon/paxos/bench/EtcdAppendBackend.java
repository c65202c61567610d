package io.gnomon.paxos.bench;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.options.GetOption;

import java.io.IOException;
import java.net.URI;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * An etcd cluster as the log: one append is one v3 {@code Put} of the value under a key of its own
 * ({@link BenchKeys}, the same bytes the Gnomon backend writes), through one jetcd client (one gRPC channel over
 * the given endpoints; round robin when there are several, jetcd's default, and then a follower forwards a put to
 * the leader). In a read mode each operation is one {@code Get} of a key written before the run.
 *
 * <p>What a completed put guarantees, so the comparison with a Gnomon log is like for like: etcd answers a put
 * after raft committed it, i.e. after a majority of members appended it to their write-ahead logs and each
 * fsynced that WAL (etcd fsyncs the WAL for every raft Ready batch that carries entries; the leader's fsync
 * runs in parallel with replication, followers fsync before acknowledging), and after the leader applied it to
 * its key-value store (bbolt, whose own commit is batched and not on this path). So: linearizable, on stable
 * storage on a majority. Batching on etcd's side is raft's own: entries proposed while a Ready is being
 * persisted go out together in the next one. A Gnomon backend compared with this must acknowledge at the same
 * point (majority persisted, forced to disk) or say how it differs.
 *
 * <p>Reads: a linearizable get (etcd's default) asks the leader for a read index, which costs the leader one
 * heartbeat round to a majority (batched across concurrent reads) before it answers from its store; a
 * serializable get is answered by the member it reaches from its own store, with no round (it may be stale).
 */
public final class EtcdAppendBackend implements AppendBackend {

    /** What one operation is. */
    public enum Mode {
        PUT("etcd"), LINEARIZABLE_GET("etcd-read"), SERIALIZABLE_GET("etcd-serializable-read");

        final String rowName;

        Mode(String rowName) {
            this.rowName = rowName;
        }
    }

    private final Client client;
    private final KV kv;
    private final BenchKeys keys;
    private final Mode mode;
    private final int readKeysPerClient;
    private final String name;
    private final String description;
    private final GetOption getOption;
    private final List<Long> serverPids;
    private int valueBytes = -1;

    /** Puts through the given client URLs (e.g. {@link EtcdCluster#clientEndpoints()}). */
    public EtcdAppendBackend(List<URI> endpoints) {
        this(endpoints, Mode.PUT, 1, "etcd", "", List.of());
    }

    public EtcdAppendBackend(List<URI> endpoints, Mode mode, int readKeysPerClient, String name, String routing,
                             List<Long> serverPids) {
        this(endpoints, mode, readKeysPerClient, name, routing, serverPids, BenchKeys.plain());
    }

    /**
     * @param readKeysPerClient in a read mode, keys written per client before the run; reads cycle over them
     * @param name              the result row's name
     * @param routing           how the endpoints were chosen, for the description
     * @param serverPids        the members' pids when the caller started them (their CPU per operation is reported),
     *                          else empty
     * @param keys              the keys' shape: {@link BenchKeys#spread()} when the Gnomon rows of the run spread
     *                          theirs over groups, so both sides store the same bytes
     */
    EtcdAppendBackend(List<URI> endpoints, Mode mode, int readKeysPerClient, String name, String routing,
                      List<Long> serverPids, BenchKeys keys) {
        if (endpoints.isEmpty()) {
            throw new IllegalArgumentException("etcd endpoints must not be empty");
        }
        if (readKeysPerClient < 1) {
            throw new IllegalArgumentException("readKeysPerClient must be >= 1; got " + readKeysPerClient);
        }
        this.keys = keys;
        this.client = Client.builder().endpoints(endpoints.toArray(URI[]::new)).build();
        this.kv = client.getKVClient();
        this.mode = mode;
        this.readKeysPerClient = readKeysPerClient;
        this.name = name;
        this.serverPids = List.copyOf(serverPids);
        this.getOption = GetOption.builder().withSerializable(mode == Mode.SERIALIZABLE_GET).build();
        this.description = name + ": etcd via jetcd, endpoints " + endpoints + routing + "; " + switch (mode) {
            case PUT -> (keys.isSpread() ? "keys led by a hash byte (as the groups' rows); " : "")
                    + "one put per operation, acknowledged when committed (majority WAL fsync) and applied";
            case LINEARIZABLE_GET -> "one linearizable get per operation (read index: a heartbeat round to a majority), "
                    + readKeysPerClient + " keys per client written first";
            case SERIALIZABLE_GET -> "one serializable get per operation (the member's own store, no round), "
                    + readKeysPerClient + " keys per client written first";
        };
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String description() {
        return description;
    }

    @Override
    public void prepare(int clients, byte[] value) throws Exception {
        valueBytes = value.length;
        if (mode != Mode.PUT) {
            AppendBackend.populate(clients, readKeysPerClient,
                    (c, n) -> kv.put(ByteSequence.from(keys.key(c, n)), ByteSequence.from(value)));
        }
    }

    @Override
    public CompletableFuture<?> append(int client, long seq, byte[] value) {
        if (mode == Mode.PUT) {
            return kv.put(ByteSequence.from(keys.key(client, seq)), ByteSequence.from(value));
        }
        return kv.get(ByteSequence.from(keys.key(client, seq % readKeysPerClient)), getOption).thenApply(r -> {
            if (r.getKvs().size() != 1 || r.getKvs().get(0).getValue().size() != valueBytes) {
                throw new CompletionException(new IOException("read of client " + client + "'s key "
                        + seq % readKeysPerClient + " found " + r.getKvs().size() + " values, not one of "
                        + valueBytes + " bytes"));
            }
            return r;
        });
    }

    @Override
    public List<Long> serverPids() {
        return serverPids;
    }

    @Override
    public void close() {
        client.close();
    }
}
