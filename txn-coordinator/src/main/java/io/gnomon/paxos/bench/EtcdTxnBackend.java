package io.gnomon.paxos.bench;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;

import java.io.IOException;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * etcd's side of {@code bin/bench-txn}, on the same keys and values as the Gnomon backends ({@link TxnWorkload}),
 * through one jetcd client to the leader of the started cluster (as {@code bin/bench-log}'s {@code etcd} row):
 * <ul>
 *   <li>{@code etcd-put}: one {@code Put} per operation (a read: one linearizable {@code Get});</li>
 *   <li>{@code etcd-txn}: a read-modify-write of {@code --keys-per-txn} keys as etcd's API offers it: one {@code Txn}
 *       of gets reads them all at one revision, then one {@code Txn} compares each key's mod revision with what was
 *       read and puts them all (the value's first 8 bytes count the key's writes). A failed compare (another client
 *       wrote a key in between) is an abort: the operation reads again and retries, up to
 *       {@link #ATTEMPTS_MAX} attempts. A read-only operation is the first {@code Txn} alone.</li>
 * </ul>
 * What a completed write guarantees: committed by raft (a majority's WAL fsynced) and applied by the leader, as
 * {@link EtcdAppendBackend} says; a {@code Txn} is one raft entry.
 */
final class EtcdTxnBackend implements AppendBackend {

    /** What one operation is. */
    enum Mode { PUT, TXN }

    /** Attempts of one read-modify-write before it counts as an error (as {@code TxnClient.MAX_ATTEMPTS}). */
    static final int ATTEMPTS_MAX = 1_000;

    private final KV kv;
    private final Mode mode;
    private final TxnWorkload workload;
    private final int keysPerTxn;
    private final double readRatio;
    private final long seed;
    private final String name;
    private final String description;
    private final List<Long> pids;
    private SplittableRandom[] randoms;

    /** {@code kv} is a client of the cluster the caller started (and closes); {@code pids} its members'. */
    EtcdTxnBackend(KV kv, String endpoint, List<Long> pids, Mode mode, TxnWorkload workload, int keysPerTxn,
                   double readRatio, long seed, String name) {
        this.kv = kv;
        this.mode = mode;
        this.workload = workload;
        this.keysPerTxn = mode == Mode.PUT ? 1 : keysPerTxn;
        this.readRatio = readRatio;
        this.seed = seed;
        this.name = name;
        this.pids = List.copyOf(pids);
        workload.checkKeysPerTxn(this.keysPerTxn);
        this.description = name + ": etcd via jetcd to the leader " + endpoint + "; " + (mode == Mode.PUT
                ? "one put per operation"
                : "read-modify-write of " + this.keysPerTxn + " keys: a Txn of gets, then a Txn comparing every mod "
                + "revision and putting every key (a failed compare retries and counts as an abort)")
                + (readRatio > 0 ? ", " + Math.round(readRatio * 100) + "% of operations read-only" : "")
                + "; " + workload.describe();
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
    public void prepare(int clients, byte[] value) {
        randoms = TxnLoadMain.randoms(seed, clients);
    }

    @Override
    public CompletableFuture<?> append(int client, long seq, byte[] value) {
        TxnWorkload.Op op = workload.next(randoms[client], keysPerTxn, readRatio);
        long start = System.nanoTime();
        if (op.readOnly()) {
            CompletableFuture<?> read = mode == Mode.PUT ? kv.get(ByteSequence.from(op.keys().get(0))) : readAll(op);
            return read.thenApply(r -> new TxnResult.Outcome(1, 0, -1, System.nanoTime() - start));
        }
        if (mode == Mode.PUT) {
            return kv.put(ByteSequence.from(op.keys().get(0)), ByteSequence.from(TxnLoadMain.nextValue(null, value)))
                    .thenApply(r -> new TxnResult.Outcome(1, 0, -1, System.nanoTime() - start));
        }
        return readModifyWrite(op, value, 1, start);
    }

    /** One Txn of gets: every key at one revision. */
    private CompletableFuture<io.etcd.jetcd.kv.TxnResponse> readAll(TxnWorkload.Op op) {
        Op[] gets = op.keys().stream().map(k -> Op.get(ByteSequence.from(k), GetOption.DEFAULT)).toArray(Op[]::new);
        return kv.txn().Then(gets).commit();
    }

    private CompletableFuture<TxnResult.Outcome> readModifyWrite(TxnWorkload.Op op, byte[] value, int attempt,
                                                                 long start) {
        return readAll(op).thenCompose(read -> {
            List<GetResponse> gets = read.getGetResponses();
            Cmp[] compares = new Cmp[op.keys().size()];
            Op[] puts = new Op[op.keys().size()];
            for (int i = 0; i < compares.length; i++) {
                ByteSequence key = ByteSequence.from(op.keys().get(i));
                GetResponse g = gets.get(i);
                // a key never written has mod revision 0, which etcd's compare matches for an absent key
                long revision = g.getKvs().isEmpty() ? 0 : g.getKvs().get(0).getModRevision();
                byte[] old = g.getKvs().isEmpty() ? null : g.getKvs().get(0).getValue().getBytes();
                compares[i] = new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(revision));
                puts[i] = Op.put(key, ByteSequence.from(TxnLoadMain.nextValue(old, value)), PutOption.DEFAULT);
            }
            return kv.txn().If(compares).Then(puts).commit().thenCompose(done -> {
                if (done.isSucceeded()) {
                    return CompletableFuture.completedFuture(
                            new TxnResult.Outcome(attempt, op.keys().size(), -1, System.nanoTime() - start));
                }
                if (attempt >= ATTEMPTS_MAX) {
                    throw new CompletionException(new IOException("etcd-txn: " + attempt + " attempts failed their "
                            + "compare (the keys kept changing)"));
                }
                return readModifyWrite(op, value, attempt + 1, start);
            });
        });
    }

    /** The sum of the write counts ({@link TxnLoadMain#nextValue}) of {@code keys}, one linearizable get each. */
    long countSum(List<byte[]> keys) {
        List<CompletableFuture<Long>> gets = keys.stream().map(k -> kv.get(ByteSequence.from(k)).thenApply(r ->
                r.getKvs().isEmpty() ? 0L : TxnLoadMain.count(r.getKvs().get(0).getValue().getBytes()))).toList();
        return gets.stream().mapToLong(CompletableFuture::join).sum();
    }

    @Override
    public List<Long> serverPids() {
        return pids;
    }

    /** Nothing of its own: the client and the cluster are the caller's. */
    @Override
    public void close() {
    }
}
