package io.gnomon.spanner.torture;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.PutOption;
import io.gnomon.paxos.bench.EtcdCluster;
import io.gnomon.paxos.server.ListAppend;
import io.gnomon.spanner.history.MicroOp;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The reference backend: a 3-member etcd cluster on loopback ({@link EtcdCluster}, Debian's etcd-server), with
 * list-append done by optimistic etcd transactions. A transaction reads its keys (linearizable gets), computes
 * the new lists, and commits {@code If(every key's mod revision unchanged) Then(put the new lists)}: a failed
 * comparison means it certainly did not apply ({@code fail}); an error or timeout at commit may or may not have
 * ({@code info}). A single-key read is one linearizable get. Lists are stored in {@link ListAppend#encodeList}'s
 * form. Faults: kill -9 and restart of a follower or the leader, SIGSTOP of the leader; etcd has no partition or
 * clock fault here (they would need its transport or clock, which the harness does not own).
 */
final class EtcdTxnCluster implements Cluster {
    private static final String PREFIX = "torture/";
    private static final Duration LEADER_TIMEOUT = Duration.ofSeconds(10);

    private final EtcdCluster etcd;
    private final Client client;
    private final KV kv;
    private final Duration opTimeout;

    EtcdTxnCluster(Path dir, Duration opTimeout) throws IOException {
        this.etcd = EtcdCluster.builder().members(3).dir(dir).start();
        this.client = Client.builder().endpoints(etcd.clientEndpoints().toArray(java.net.URI[]::new)).build();
        this.kv = client.getKVClient();
        this.opTimeout = opTimeout;
    }

    @Override
    public String name() {
        return "etcd";
    }

    private static ByteSequence key(String k) {
        return ByteSequence.from(PREFIX + k, StandardCharsets.UTF_8);
    }

    private static List<Long> list(GetResponse r) {
        return r.getKvs().isEmpty() ? List.of() : ListAppend.decodeList(r.getKvs().get(0).getValue().getBytes());
    }

    private static long modRevision(GetResponse r) {
        List<KeyValue> kvs = r.getKvs();
        return kvs.isEmpty() ? 0 : kvs.get(0).getModRevision();
    }

    @Override
    public CompletableFuture<TxnOutcome> execute(List<MicroOp> txn) {
        Map<String, CompletableFuture<GetResponse>> reads = new LinkedHashMap<>();
        for (MicroOp op : txn) {
            reads.computeIfAbsent(op.key(), k -> kv.get(key(k)));
        }
        CompletableFuture<Void> all = CompletableFuture.allOf(reads.values().toArray(CompletableFuture[]::new));
        return all.handle((v, readError) -> readError)
                .thenCompose(readError -> {
                    if (readError != null) {
                        return CompletableFuture.completedFuture(TxnOutcome.fail(txn, "read: " + readError));
                    }
                    if (txn.size() == 1 && txn.get(0) instanceof MicroOp.Read r) {
                        return CompletableFuture.completedFuture(
                                TxnOutcome.ok(List.of(new MicroOp.Read(r.key(), list(reads.get(r.key()).join())))));
                    }
                    return commit(txn, reads);
                });
    }

    private CompletableFuture<TxnOutcome> commit(List<MicroOp> txn, Map<String, CompletableFuture<GetResponse>> reads) {
        Map<String, List<Long>> state = new LinkedHashMap<>();
        List<Cmp> unchanged = new ArrayList<>();
        reads.forEach((k, f) -> {
            GetResponse r = f.join();
            state.put(k, new ArrayList<>(list(r)));
            unchanged.add(new Cmp(key(k), Cmp.Op.EQUAL, CmpTarget.modRevision(modRevision(r))));
        });
        List<MicroOp> done = new ArrayList<>(txn.size());
        Set<String> written = new java.util.LinkedHashSet<>();
        for (MicroOp op : txn) {
            if (op instanceof MicroOp.Append a) {
                state.get(a.key()).add(a.value());
                written.add(a.key());
                done.add(a);
            } else {
                done.add(new MicroOp.Read(op.key(), List.copyOf(state.get(op.key()))));
            }
        }
        List<Op> puts = new ArrayList<>();
        for (String k : written) {
            puts.add(Op.put(key(k), ByteSequence.from(ListAppend.encodeList(state.get(k))), PutOption.DEFAULT));
        }
        return kv.txn().If(unchanged.toArray(Cmp[]::new)).Then(puts.toArray(Op[]::new)).commit()
                .handle((resp, error) -> {
                    if (error != null) {
                        return TxnOutcome.info(txn, "commit: " + error);
                    }
                    return resp.isSucceeded() ? TxnOutcome.ok(done)
                            : TxnOutcome.fail(txn, "a key changed since it was read");
                });
    }

    @Override
    public Optional<List<Long>> finalRead(String k, Duration timeout) {
        try {
            return Optional.of(list(kv.get(key(k)).get(timeout.toNanos(), TimeUnit.NANOSECONDS)));
        } catch (Exception e) {
            return Optional.empty();
        }
    }

    @Override
    public Set<FaultKind> supportedFaults() {
        return EnumSet.of(FaultKind.NONE, FaultKind.KILL_FOLLOWER, FaultKind.KILL_LEADER, FaultKind.PAUSE_LEADER);
    }

    private int leader() throws InterruptedException {
        return Polling.require(() -> {
            var l = etcd.leader();
            return l.isPresent() ? Optional.of(l.getAsInt()) : Optional.empty();
        }, LEADER_TIMEOUT, "etcd leader");
    }

    @Override
    public Injected inject(FaultKind kind, SplittableRandom random) throws Exception {
        int leader = leader();
        int follower = (leader + 1 + random.nextInt(2)) % 3;
        switch (kind) {
            case NONE:
                return new Injected("none", () -> { });
            case KILL_FOLLOWER:
                etcd.kill(follower);
                return new Injected("SIGKILL etcd follower " + follower, () -> etcd.restart(follower));
            case KILL_LEADER:
                etcd.kill(leader);
                return new Injected("SIGKILL etcd leader " + leader, () -> etcd.restart(leader));
            case PAUSE_LEADER:
                etcd.pause(leader);
                return new Injected("SIGSTOP etcd leader " + leader, () -> etcd.resume(leader));
            default:
                throw new IllegalArgumentException("fault " + kind.cli() + " is not supported by the etcd backend");
        }
    }

    @Override
    public Optional<Duration> awaitRecovery(Duration timeout) throws InterruptedException {
        long start = System.nanoTime();
        ByteSequence probe = key("probe");
        return Polling.await(() -> {
            kv.get(probe).get(1, TimeUnit.SECONDS);
            kv.put(probe, ByteSequence.from("x", StandardCharsets.UTF_8)).get(1, TimeUnit.SECONDS);
            return Optional.of(Duration.ofNanos(System.nanoTime() - start));
        }, timeout, 20);
    }

    @Override
    public void close() {
        client.close();
        try {
            etcd.close();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("closing the etcd cluster", e);
        }
    }
}
