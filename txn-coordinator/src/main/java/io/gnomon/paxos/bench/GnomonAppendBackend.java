package io.gnomon.paxos.bench;

import io.gnomon.paxos.grpc.Outcome;
import io.gnomon.paxos.server.ReplicaClient;
import io.gnomon.paxos.server.ReplicaProcesses;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * A Gnomon replica group as the log: N replica processes ({@code bin/replica}) on loopback with the counter state
 * machine, each append one command of the given bytes through {@link ReplicaClient} to the leader.
 *
 * <p>What a completed append guarantees, like for like with {@link EtcdAppendBackend}: the leader replies
 * {@code APPLIED} once the entry is decided, i.e. a majority has accepted it, and every replica makes an accept
 * durable before it answers ({@code --sync each-batch}: {@code msync} of the batch's log pages, the equivalent of
 * etcd's WAL fsync), and once the leader has applied it. Appends that arrive while the leader waits for its
 * sync are proposed together (group commit), as raft batches entries into one Ready.
 */
public final class GnomonAppendBackend implements AppendBackend {
    private final ReplicaProcesses group;
    private final ReplicaClient client;
    private final Duration timeout;
    private final String description;

    /** Drives replicas that are already running (id to host:port); nothing is started or stopped. */
    public GnomonAppendBackend(java.util.Map<Integer, String> targets, Duration opTimeout) {
        this.group = null;
        this.client = new ReplicaClient(targets);
        this.timeout = opTimeout;
        this.description = "gnomon: running replicas " + targets;
    }

    public GnomonAppendBackend(Path dir, int replicas, String syncPolicy, Duration opTimeout) throws IOException {
        this.group = ReplicaProcesses.ofThisClasspath(dir, replicas, List.of("--machine", "counter",
                "--sync", syncPolicy, "--truetime", "system:1ms", "--compact-every", "0"));
        this.timeout = opTimeout;
        try {
            group.startAll(Duration.ofSeconds(60));
            this.client = new ReplicaClient(group.targets());
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            Optional<Integer> leader = Optional.empty();
            while (leader.isEmpty() && System.nanoTime() - deadline < 0) {
                leader = client.leaseHolder(Duration.ofSeconds(1));
                if (leader.isEmpty()) {
                    Thread.sleep(20); // an election in progress; bounded by the deadline
                }
            }
            if (leader.isEmpty()) {
                throw new IOException("no Gnomon leader within 60 s; replica 1's log:\n" + group.log(1));
            }
            this.description = "gnomon: " + replicas + " replica processes in " + dir + ", --sync " + syncPolicy
                    + ", leader " + leader.get() + "; acknowledged when decided (majority durable) and applied";
        } catch (IOException | RuntimeException e) {
            group.close();
            throw e;
        } catch (InterruptedException e) {
            group.close();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while starting the replicas", e);
        }
    }

    @Override
    public String name() {
        return "gnomon";
    }

    @Override
    public String description() {
        return description;
    }

    @Override
    public CompletableFuture<?> append(int client, long seq, byte[] value) {
        return this.client.appendAsync(value, timeout).thenApply(r -> {
            if (r.getOutcome() != Outcome.APPLIED) {
                throw new CompletionException(new IOException(r.getOutcome() + ": " + r.getDetail()));
            }
            return r;
        });
    }

    @Override
    public void close() {
        client.close();
        if (group != null) {
            group.close();
        }
    }
}
