package io.gnomon.clockd;

import io.gnomon.clockd.config.Settings;
import io.gnomon.clockd.select.ClockEstimator;
import io.gnomon.clockd.select.DisruptionDetector;
import io.gnomon.clockd.select.DisruptionMonitor;
import io.gnomon.clockd.select.Estimate;
import io.gnomon.clockd.select.LocalAssumption;
import io.gnomon.clockd.select.Measurement;
import io.gnomon.clockd.select.RejectReason;
import io.gnomon.clockd.select.SourceCondition;
import io.gnomon.clockd.select.SourceListener;
import io.gnomon.truetime.ClockStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The daemon's runtime around the pure estimator: one thread ("clockd-core") owns the estimator, takes
 * measurements from source threads, recomputes after each one and at the publish interval, and hands every
 * estimate to the publishers (segment, gRPC, metrics, journal) as {@link Sink}s.
 */
public final class ClockDaemon implements SourceListener, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ClockDaemon.class);

    /** A publisher of what the core produces; called on the core thread, so it must not block for long. */
    public interface Sink {
        /** The daemon starts: called once, on the core thread, before the first estimate. */
        default void onStart(SystemClocks.Pair clocks) {
        }

        void onEstimate(Estimate estimate, SystemClocks.Pair clocks);

        default void onMeasurement(String source, Measurement m, SystemClocks.Pair clocks) {
        }

        default void onRejected(String source, RejectReason reason, String detail, SystemClocks.Pair clocks) {
        }

        default void onDisruption(DisruptionDetector.Disruption disruption, SystemClocks.Pair clocks) {
        }

        default void onStrayDatagram(String source, RejectReason reason, String detail, SystemClocks.Pair clocks) {
        }

        default void onCondition(String source, SourceCondition condition, String detail) {
        }
    }

    /** How often the host clocks are compared for a suspend or a realtime step. */
    static final long DISRUPTION_CHECK_INTERVAL_NANOS = 10_000_000L;
    /** Clock-pair changes below this (plus the reading's bracket) are noise, not a disruption. */
    static final long DISRUPTION_TOLERANCE_NANOS = 500_000L;
    /**
     * Realtime-minus-monotonic changes above this are always reported as steps, and an unreported change is at
     * most this ({@link DisruptionDetector}: slewing never moves it, so only the readings' brackets are noise).
     */
    static final long STEP_TOLERANCE_NANOS = DisruptionDetector.DEFAULT_STEP_TOLERANCE_NANOS;

    private final Settings settings;
    private final SystemClocks clocks;
    private final ClockEstimator estimator;
    private final LocalAssumption local;
    private final List<Sink> sinks = new CopyOnWriteArrayList<>();
    private final ScheduledExecutorService core;
    /** The detector and its verdicts to the estimator: the same sequence the clock simulator drives. */
    private final DisruptionMonitor disruptions;
    private volatile Estimate latest;
    private ClockStatus lastStatus;
    /** Each source's condition other than {@link SourceCondition#POLLING}, in words; touched on the core thread. */
    private final java.util.Map<String, String> conditions = new java.util.LinkedHashMap<>();

    public ClockDaemon(Settings settings, SystemClocks clocks) {
        this.settings = settings;
        this.clocks = clocks;
        if (settings.sourceNames().isEmpty()) {
            this.estimator = null;
            this.local = new LocalAssumption(settings.assumedLocalErrorNanos(), settings.maxDriftPpb(),
                    settings.voidAfterNanos());
        } else {
            long slowestPollNanos = settings.slowestPollIntervalNanos();
            long slowestReplyNanos = settings.replyTimeoutNanos();
            for (var c : settings.chronySources()) {
                slowestReplyNanos = Math.max(slowestReplyNanos, c.replyTimeoutNanos());
            }
            for (var p : settings.ptpSources()) {
                slowestReplyNanos = Math.max(slowestReplyNanos, p.replyTimeoutNanos());
            }
            long reachable = 3 * slowestPollNanos + slowestReplyNanos;
            this.estimator = new ClockEstimator(settings.sourceNames(), settings.trusted(), new ClockEstimator.Limits(
                    settings.maxDriftPpb(), 8, 64 * slowestPollNanos + 60_000_000_000L, reachable,
                    settings.voidAfterNanos(), 2 * STEP_TOLERANCE_NANOS, ClockEstimator.chronyRegressionHorizonNanos(
                            ClockEstimator.CHRONY_MAX_SAMPLES, ClockEstimator.CHRONY_DEFAULT_MAX_POLL_NANOS)));
            // Until the step detector's first conclusive reading, a step would go unseen: evidence read against
            // realtime before then is refused (moved forward to that reading by checkDisruption).
            this.estimator.realtimeWatchedFrom(clocks.nanoTime());
            this.local = null;
        }
        this.disruptions = new DisruptionMonitor(new DisruptionDetector(DISRUPTION_TOLERANCE_NANOS,
                STEP_TOLERANCE_NANOS), estimator, settings.replyTimeoutNanos());
        this.core = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "clockd-core");
            t.setDaemon(true);
            return t;
        });
    }

    public void addSink(Sink sink) {
        sinks.add(sink);
    }

    /**
     * Publishes a first estimate before returning (so a restarted daemon replaces its predecessor's status
     * at once), then republishes at the publish interval.
     */
    public void start() {
        try {
            core.submit(() -> {
                SystemClocks.Pair pair = clocks.readPair();
                for (Sink s : sinks) {
                    s.onStart(pair);
                }
                safePublish();
            }).get(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while publishing the first estimate", e);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("could not publish the first estimate", e);
        }
        core.scheduleAtFixedRate(this::safePublish, settings.publishIntervalNanos(), settings.publishIntervalNanos(),
                TimeUnit.NANOSECONDS);
        if (clocks.boottimeNanos() == Long.MIN_VALUE) {
            log.warn("CLOCK_BOOTTIME cannot be read here: a suspend of the host will not be detected");
        }
        core.scheduleWithFixedDelay(this::checkDisruption, 0, DISRUPTION_CHECK_INTERVAL_NANOS, TimeUnit.NANOSECONDS);
    }

    /** The last estimate published, or null before the first. */
    public Estimate latest() {
        return latest;
    }

    @Override
    public void onMeasurement(String sourceName, Measurement measurement) {
        submit(() -> {
            DisruptionMonitor.Admission admission = disruptions.admit(sourceName, measurement, this::readClocks);
            for (DisruptionMonitor.Check c : admission.disruptions()) {
                reportDisruption(c);
            }
            if (admission.inconclusive()) {
                reject(sourceName, RejectReason.CLOCK_STEPPED, "could not rule out a realtime step since this "
                        + "measurement's reading: " + DisruptionMonitor.CONCLUSIVE_CHECK_TRIES
                        + " clock readings too noisy", clocks.readPair());
                return;
            }
            SystemClocks.Pair pair = clocks.readPair();
            switch (admission.outcome()) {
                case QUARANTINED -> {
                    reject(sourceName, RejectReason.QUARANTINED, "exchange may span the host's suspend", pair);
                    return;
                }
                case REALTIME_STEPPED -> {
                    reject(sourceName, RejectReason.CLOCK_STEPPED, "a realtime step may have spoiled this "
                            + "measurement's evidence (read against realtime across the step, or chronyd's "
                            + "regression still weighing samples from before it)", pair);
                    return;
                }
                case SOURCE_STEPPED -> {
                    log.warn("{} stepped: its new measurement contradicts its earlier ones, which were dropped",
                            sourceName);
                    reject(sourceName, RejectReason.SOURCE_STEPPED, "earlier measurements dropped", pair);
                }
                case ACCEPTED -> { }
            }
            for (Sink s : sinks) {
                s.onMeasurement(sourceName, measurement, pair);
            }
            publish(pair);
        });
    }

    @Override
    public void onLeapAnnounced(String sourceName, boolean insert, long sourceEpochNanos) {
        submit(() -> {
            if (estimator.onLeapAnnounced(sourceName, insert, sourceEpochNanos)) {
                log.warn("leap second announced by a majority: {}", estimator.leapDescription());
            }
        });
    }

    private void reject(String sourceName, RejectReason reason, String detail, SystemClocks.Pair pair) {
        for (Sink s : sinks) {
            s.onRejected(sourceName, reason, detail, pair);
        }
    }

    /** One reading of the host clocks for the disruption check. */
    private DisruptionMonitor.Reading readClocks() {
        long before = clocks.nanoTime();
        long boottime = clocks.boottimeNanos();
        SystemClocks.Pair pair = clocks.readPair();
        long after = clocks.nanoTime();
        return new DisruptionMonitor.Reading(before, boottime, after, pair.realtimeEpochNanos(),
                pair.monotonicBeforeNanos(), pair.monotonicAfterNanos());
    }

    /** Compares the host clocks; on a disruption tells the estimator and publishes at once. */
    private void checkDisruption() {
        try {
            reportDisruption(disruptions.check(readClocks()));
        } catch (RuntimeException e) {
            log.error("clock disruption check failed; continuing", e);
        }
    }

    /** Logs a disruption the monitor found (already fed to the estimator), tells the sinks and publishes. */
    private void reportDisruption(DisruptionMonitor.Check c) {
        DisruptionDetector.Disruption d = c.disruption();
        if (d == null) {
            return;
        }
        if (estimator != null) {
            log.warn("clock disruption: {}; {} measurements it may have spoiled dropped", d.describe(), c.dropped());
        } else {
            log.warn("clock disruption: {}", d.describe());
        }
        SystemClocks.Pair pair = clocks.readPair();
        for (Sink s : sinks) {
            s.onDisruption(d, pair);
        }
        publish(pair);
    }

    @Override
    public void onRejected(String sourceName, RejectReason reason, String detail) {
        submit(() -> {
            reject(sourceName, reason, detail, clocks.readPair());
        });
    }

    @Override
    public void onStrayDatagram(String sourceName, RejectReason reason, String detail) {
        submit(() -> {
            SystemClocks.Pair pair = clocks.readPair();
            for (Sink s : sinks) {
                s.onStrayDatagram(sourceName, reason, detail, pair);
            }
        });
    }

    /** Tells the sinks, and keeps the words for every estimate's reason while the condition lasts. */
    @Override
    public void onCondition(String sourceName, SourceCondition condition, String detail) {
        submit(() -> {
            if (condition == SourceCondition.POLLING) {
                conditions.remove(sourceName);
            } else {
                conditions.put(sourceName, detail);
            }
            for (Sink s : sinks) {
                s.onCondition(sourceName, condition, detail);
            }
            publish(clocks.readPair());
        });
    }

    private void submit(Runnable r) {
        try {
            core.execute(() -> {
                try {
                    r.run();
                } catch (RuntimeException e) {
                    log.error("clockd core task failed; continuing", e);
                }
            });
        } catch (RejectedExecutionException closing) {
            // shutting down: drop
        }
    }

    private void safePublish() {
        try {
            publish(clocks.readPair());
        } catch (RuntimeException e) {
            log.error("clockd publish failed; continuing", e);
        }
    }

    private void publish(SystemClocks.Pair pair) {
        long now = clocks.nanoTime();
        Estimate e = estimator != null
                ? estimator.estimate(now, pair.realtimeMinusMonotonicNanos())
                : local.estimate(now, pair.realtimeMinusMonotonicNanos(), pair.uncertaintyNanos());
        if (!conditions.isEmpty()) {
            StringBuilder reason = new StringBuilder(e.reason());
            conditions.forEach((source, detail) -> reason.append("; ").append(source).append(": ").append(detail));
            e = new Estimate(e.snapshot(), e.offsetNanos(), e.sources(), reason.toString());
        }
        latest = e;
        ClockStatus status = e.snapshot().status();
        if (status != lastStatus) {
            log.info("status {} -> {}: {}", lastStatus == null ? "(start)" : lastStatus, status, e.reason());
            lastStatus = status;
        }
        for (Sink s : sinks) {
            try {
                s.onEstimate(e, pair);
            } catch (RuntimeException ex) {
                log.error("publisher {} failed", s.getClass().getSimpleName(), ex);
            }
        }
    }

    @Override
    public void close() {
        core.shutdown();
        try {
            core.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
