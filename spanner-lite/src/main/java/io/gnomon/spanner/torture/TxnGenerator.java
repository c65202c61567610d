package io.gnomon.spanner.torture;

import io.gnomon.spanner.history.HistoryWriter;
import io.gnomon.spanner.history.MicroOp;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The list-append workload's one definition, shared by every backend's driver (client threads against real
 * clusters, {@link SimulatedRun}'s simulated clients): which transactions clients run, and how an outcome goes
 * into the history. A transaction is a single-key read (the backend's lease-read path) or 1 to
 * {@code maxOpsPerTxn} appends and reads over the key space, or over one group's keys when the keys are spread
 * over groups; appended values are unique and increasing per key.
 * Thread-safe.
 */
final class TxnGenerator {
    private final Workload.Config config;
    private final AtomicLong[] nextValue;
    private final Map<String, Set<Long>> acknowledged = new ConcurrentHashMap<>();

    TxnGenerator(Workload.Config config) {
        this.config = config;
        this.nextValue = new AtomicLong[config.keys()];
        for (int k = 0; k < config.keys(); k++) {
            nextValue[k] = new AtomicLong(1);
        }
    }

    static String key(int k) {
        return "k" + k;
    }

    /** The group key {@code k} belongs to, 1 to {@code groups}. */
    static int groupOf(int k, int groups) {
        return k % groups + 1;
    }

    /** The group of a key this generator named ({@code k<index>}). */
    int groupOf(String key) {
        return groupOf(key, config.groups());
    }

    /** The group of a key this workload names ({@code k<index>}) when the keys are spread over {@code groups}. */
    static int groupOf(String key, int groups) {
        return groupOf(Integer.parseInt(key.substring(1)), groups);
    }

    /** A random key; with several groups, one of {@code group}'s keys. */
    private int pickKey(SplittableRandom random, int group) {
        int groups = config.groups();
        if (groups == 1) {
            return random.nextInt(config.keys()); // one group: the stream of draws as before groups existed
        }
        int inGroup = (config.keys() - (group - 1) + groups - 1) / groups;
        return group - 1 + groups * random.nextInt(inGroup);
    }

    /** The next transaction of a client whose choices {@code random} makes. */
    List<MicroOp> next(SplittableRandom random) {
        int group = config.groups() == 1 ? 1
                : config.hotGroupShare() > 0 && random.nextDouble() < config.hotGroupShare() ? 1
                : 1 + random.nextInt(config.groups());
        if (random.nextDouble() < config.readOnlyFraction()) {
            return List.of(new MicroOp.Read(key(pickKey(random, group)), null));
        }
        int n = 1 + random.nextInt(config.maxOpsPerTxn());
        List<MicroOp> txn = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int k = pickKey(random, group);
            if (random.nextBoolean()) {
                txn.add(new MicroOp.Append(key(k), nextValue[k].getAndIncrement()));
            } else {
                txn.add(new MicroOp.Read(key(k), null));
            }
        }
        return txn;
    }

    /**
     * Records what {@code process}'s transaction came to and returns the process id its client continues as: the
     * same, or a fresh one after {@code info}, since the old transaction may still be in flight (as Jepsen does).
     */
    int record(HistoryWriter history, int process, List<MicroOp> txn, TxnOutcome outcome) {
        switch (outcome.type()) {
            case OK -> {
                if (outcome.commitTsEpochNanos() != null) {
                    history.okCommitted(process, outcome.completed(), outcome.commitTsEpochNanos());
                } else if (outcome.readTsEpochNanos() != null) {
                    history.okRead(process, outcome.completed(), outcome.readTsEpochNanos());
                } else {
                    history.ok(process, outcome.completed());
                }
                for (MicroOp op : txn) {
                    if (op instanceof MicroOp.Append a) {
                        acknowledged.computeIfAbsent(a.key(), k -> ConcurrentHashMap.newKeySet()).add(a.value());
                    }
                }
                return process;
            }
            case FAIL -> {
                history.fail(process);
                return process;
            }
            case INFO -> {
                history.info(process);
                return process + config.clients();
            }
            default -> throw new IllegalStateException("outcome " + outcome.type());
        }
    }

    /** Values each key got from appends whose transaction completed {@code ok}. */
    Map<String, Set<Long>> acknowledged() {
        return acknowledged;
    }
}
