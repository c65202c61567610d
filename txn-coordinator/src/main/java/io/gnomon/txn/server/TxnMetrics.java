package io.gnomon.txn.server;

import io.gnomon.truetime.ClockUnavailableException;
import io.gnomon.truetime.TrueTime;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The transaction layer's Prometheus metrics on one replica process (issue 20). Times in seconds, Prometheus' base
 * unit. Every counter exists at 0 from the start (every abort reason, every hosted group), so dashboards read 0 on a
 * quiet cluster rather than "No data".
 *
 * <pre>
 *   gnomon_txn_commit_seconds{outcome}          commit requests answered by this process as coordinator (or a
 *                                               one-group commit): arrival to answer, by committed|aborted|unknown
 *   gnomon_txn_commit_wait_seconds              the leader's commit-wait, from choosing s to TT.after(s)
 *   gnomon_txn_commit_epsilon_seconds           TrueTime's ε when a commit-wait ended
 *   gnomon_txn_aborts_total{reason}             aborted commits by reason: wounded, clock (TrueTime not usable or ε
 *                                               over the ceiling), prepare_timeout, participant, idle, limit, client,
 *                                               leader_change, other
 *   gnomon_txn_lock_waits{group}                lock requests waiting in the group's lock table (leader)
 *   gnomon_txn_prepared{group}                  transactions prepared here and not yet resolved
 *   gnomon_txn_safe_time_lag_seconds{group}     TT.now().latest minus the replica's safe time (+Inf before any)
 *   gnomon_txn_leader_changes_total{group}      times this replica started or stopped leading the group's
 *                                               transactions
 * </pre>
 *
 * Thread-safe: the loops update it, a scrape reads it.
 */
public final class TxnMetrics {
    /** Abort reasons, each matched by the words of the abort's message that say it (first match wins). */
    static final List<String> REASONS = List.of("wounded", "clock", "prepare_timeout", "participant", "idle", "limit",
            "client", "leader_change", "other");

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final TrueTime trueTime;
    private final Map<String, Timer> commits = new ConcurrentHashMap<>();
    private final Timer commitWait;
    private final io.micrometer.core.instrument.DistributionSummary epsilon;
    private final Map<String, Counter> aborts = new ConcurrentHashMap<>();
    private final Map<Long, GroupGauges> groups = new ConcurrentHashMap<>();

    /** What the loops last saw of one group, read by the scrape. */
    static final class GroupGauges {
        volatile double lockWaits;
        volatile double prepared;
        /** Outcomes the group's core remembers (bounded by the outcome retention). */
        volatile double outcomes;
        /** The replica's safe time, epoch nanos; -1 before any. */
        volatile long safeTime = -1;
        volatile boolean leader;
        Counter leaderChanges;
    }

    public TxnMetrics(TrueTime trueTime) {
        this.trueTime = trueTime;
        for (String outcome : List.of("committed", "aborted", "unknown")) {
            commits.put(outcome, Timer.builder("gnomon.txn.commit").tag("outcome", outcome)
                    .description("Commit requests answered by this process as coordinator, arrival to answer")
                    .publishPercentileHistogram().register(registry));
        }
        commitWait = Timer.builder("gnomon.txn.commit.wait")
                .description("The leader's commit-wait, from choosing the commit timestamp to TT.after(it)")
                .publishPercentileHistogram().register(registry);
        epsilon = io.micrometer.core.instrument.DistributionSummary.builder("gnomon.txn.commit.epsilon")
                .baseUnit("seconds").description("TrueTime's epsilon when a commit-wait ended").register(registry);
        for (String r : REASONS) {
            aborts.put(r, Counter.builder("gnomon.txn.aborts").tag("reason", r)
                    .description("Aborted commits by reason").register(registry));
        }
    }

    /** Declares a hosted group's gauges (at 0) once; the loop updates them through the returned holder. */
    GroupGauges group(long groupId) {
        return groups.computeIfAbsent(groupId, g -> {
            GroupGauges gg = new GroupGauges();
            String tag = Long.toString(g);
            Gauge.builder("gnomon.txn.lock.waits", gg, x -> x.lockWaits).tag("group", tag)
                    .description("Lock requests waiting in the group's lock table").register(registry);
            Gauge.builder("gnomon.txn.prepared", gg, x -> x.prepared).tag("group", tag)
                    .description("Transactions prepared here and not yet resolved").register(registry);
            Gauge.builder("gnomon.txn.outcomes", gg, x -> x.outcomes).tag("group", tag)
                    .description("Transaction outcomes the group remembers; bounded: forgotten once older than"
                            + " TxnLimits.outcomeRetentionNanos and acknowledged").register(registry);
            Gauge.builder("gnomon.txn.safe.time.lag", gg, this::safeTimeLagSeconds).tag("group", tag).baseUnit("seconds")
                    .description("TT.now().latest minus this replica's safe time").register(registry);
            gg.leaderChanges = Counter.builder("gnomon.txn.leader.changes").tag("group", tag)
                    .description("Times this replica started or stopped leading the group's transactions")
                    .register(registry);
            return gg;
        });
    }

    private double safeTimeLagSeconds(GroupGauges g) {
        long safe = g.safeTime;
        if (safe < 0) {
            return Double.POSITIVE_INFINITY;
        }
        try {
            return Math.max(0, trueTime.now().latestEpochNanos() - safe) / 1e9;
        } catch (ClockUnavailableException e) {
            return Double.NaN;
        }
    }

    void commitAnswered(String outcome, long nanos, String abortReason) {
        commits.get(outcome).record(nanos, TimeUnit.NANOSECONDS);
        if (abortReason != null) {
            aborts.get(reasonOf(abortReason)).increment();
        }
    }

    void commitWaited(long waitedNanos) {
        commitWait.record(waitedNanos, TimeUnit.NANOSECONDS);
        try {
            epsilon.record(trueTime.now().epsilonNanos() / 1e9);
        } catch (ClockUnavailableException e) {
            // no ε to record: the commit-wait ended on an earlier reading
        }
    }

    /** The reason label of an abort's message (the cores' messages name their cause in these words). */
    static String reasonOf(String message) {
        String m = message.toLowerCase(Locale.ROOT);
        if (m.contains("wounded")) {
            return "wounded";
        } else if (m.contains("truetime") || m.contains("clock") || m.contains("epsilon") || m.contains("ε")) {
            return "clock";
        } else if (m.contains("preparetimeout") || m.contains("did not prepare") || m.contains("were not granted")) {
            return "prepare_timeout";
        } else if (m.contains("refused to prepare")) {
            return "participant";
        } else if (m.contains("idletxntimeout") || m.contains("presumed gone")) {
            return "idle";
        } else if (m.contains("the limit") || m.contains("maxlocks") || m.contains("maxlocked")
                || m.contains("maxwaiting") || m.contains("maxprepared")) {
            return "limit";
        } else if (m.contains("client aborted")) {
            return "client";
        } else if (m.contains("leadership") || m.contains("not the leader") || m.contains("lease")) {
            return "leader_change";
        }
        return "other";
    }

    /** The Prometheus text exposition of every meter. */
    public String scrape() {
        return registry.scrape();
    }
}
