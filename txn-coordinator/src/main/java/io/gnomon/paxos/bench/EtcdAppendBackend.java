package io.gnomon.paxos.bench;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * An etcd cluster as the log: one append is one v3 {@code Put} of the value under a key of its own,
 * {@code gnomon-bench/<run>/c<client>/<seq>}, through one jetcd client (one gRPC channel, round-robin over
 * the given endpoints, jetcd's default; a follower forwards a put to the leader).
 *
 * <p>What a completed put guarantees, so the comparison with a Gnomon log is like for like: etcd answers a put
 * after raft committed it, i.e. after a majority of members appended it to their write-ahead logs and each
 * fsynced that WAL (etcd fsyncs the WAL for every raft Ready batch that carries entries; the leader's fsync
 * runs in parallel with replication, followers fsync before acknowledging), and after the leader applied it to
 * its key-value store (bbolt, whose own commit is batched and not on this path). So: linearizable, on stable
 * storage on a majority. Batching on etcd's side is raft's own: entries proposed while a Ready is being
 * persisted go out together in the next one. A Gnomon backend compared with this must acknowledge at the same
 * point (majority persisted, forced to disk) or say how it differs.
 */
public final class EtcdAppendBackend implements AppendBackend {

    private final Client client;
    private final KV kv;
    private final String keyPrefix;
    private final String description;

    /** Connects to the given client URLs (e.g. {@link EtcdCluster#clientEndpoints()}). */
    public EtcdAppendBackend(List<URI> endpoints) {
        if (endpoints.isEmpty()) {
            throw new IllegalArgumentException("etcd endpoints must not be empty");
        }
        this.client = Client.builder().endpoints(endpoints.toArray(URI[]::new)).build();
        this.kv = client.getKVClient();
        this.keyPrefix = "gnomon-bench/" + UUID.randomUUID() + "/c";
        this.description = "etcd via jetcd, endpoints " + endpoints
                + "; one put per append, acknowledged when committed (majority WAL fsync)";
    }

    @Override
    public String name() {
        return "etcd";
    }

    @Override
    public String description() {
        return description;
    }

    @Override
    public CompletableFuture<?> append(int client, long seq, byte[] value) {
        ByteSequence key = ByteSequence.from(keyPrefix + client + "/" + seq, StandardCharsets.UTF_8);
        return kv.put(key, ByteSequence.from(value));
    }

    @Override
    public void close() {
        client.close();
    }
}
