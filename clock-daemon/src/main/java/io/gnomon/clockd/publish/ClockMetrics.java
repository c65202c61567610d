package io.gnomon.clockd.publish;

import io.gnomon.clockd.select.DisruptionDetector;
import io.gnomon.clockd.select.Estimate;
import io.gnomon.clockd.select.RejectReason;
import io.gnomon.clockd.select.SourceCondition;
import io.gnomon.clockd.select.SourceState;
import io.gnomon.truetime.ClockSnapshot;
import io.gnomon.truetime.ClockStatus;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The daemon's Prometheus metrics. Times are exported in seconds (Prometheus' base unit), held as
 * nanoseconds inside. Per-source meters are registered the first time a source appears, keyed by name.
 *
 * <p>Counters exist at 0 before their first increment (Prometheus' instrumentation guidance: "avoid missing
 * metrics"): the disruption counter for every kind from construction, and a source's counters for every reason
 * once {@link #declareSource} names it, which the daemon does for each configured source at startup. A counter that
 * appears only at its first increment reads "No data" instead of 0 on a clean host, and {@code rate()} and
 * {@code increase()} miss that first increment, since they need a sample before it.
 *
 * <pre>
 *   gnomon_clock_bound_seconds               half-width of the interval at the estimate's as-of
 *   gnomon_clock_offset_seconds              true time minus the local realtime clock
 *   gnomon_clock_status                      status code (0 UNKNOWN, 1 SYNCHRONIZED, 2 FREE_RUNNING, 3 UNSYNCHRONIZED, 4 UNVERIFIED, 5 DISRUPTED)
 *   gnomon_clock_status_active{status}       1 for the current status, 0 for the others
 *   gnomon_clock_max_drift_ratio             growth of the bound per elapsed second (200 ppm = 0.0002)
 *   gnomon_clock_falsetickers                sources marked falsetickers
 *   gnomon_source_{delay,offset,bound}_seconds{source}   NaN while the source has no measurement
 *   gnomon_source_reachable{source}, gnomon_source_falseticker{source}   0 or 1
 *   gnomon_source_last_sample_timestamp_seconds{source}  host realtime when its newest valid measurement arrived
 *   gnomon_samples_accepted_total{source}, gnomon_samples_rejected_total{source,reason}   one count per exchange;
 *                                            0 for every reason of every declared source from the start
 *   gnomon_source_stray_datagrams_total{source,reason}   datagrams from a source's address that ended no exchange
 *   gnomon_source_condition{source,condition}   1 for the source's condition (POLLING, UNRESOLVED, BACKED_OFF, STOPPED)
 *   gnomon_clock_disruptions_total{kind}     0 for every kind from the start
 *   gnomon_clock_falsetickers_outvotable    falsetickers the reachable sources can out-vote ((reachable - 1) / 2)
 *   gnomon_clock_cross_checkable            1 if at least one falseticker can be out-voted (3 or more reachable)
 * </pre>
 *
 * Thread-safe: updates may come from the estimator and source threads while a scrape runs.
 */
public final class ClockMetrics {

    private static final double NANOS_PER_SECOND = 1e9;
    private static final double PPB_PER_UNIT = 1e9;

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

    private volatile double boundSeconds = Double.NaN;
    private volatile double offsetSeconds = Double.NaN;
    private volatile double maxDriftPpb = Double.NaN;
    private volatile double falsetickers = 0;
    private volatile ClockStatus status = ClockStatus.UNKNOWN;

    private final Map<String, SourceGauges> sources = new ConcurrentHashMap<>();
    private final Map<String, AcceptedMeters> accepted = new ConcurrentHashMap<>();
    private final Map<RejectKey, Counter> rejected = new ConcurrentHashMap<>();
    private final Map<DisruptionDetector.Kind, Counter> disruptions = new ConcurrentHashMap<>();
    private final Map<RejectKey, Counter> strays = new ConcurrentHashMap<>();
    private final Map<String, SourceCondition> conditions = new ConcurrentHashMap<>();
    private volatile double falsetickersOutvotable = 0;

    public ClockMetrics() {
        Gauge.builder("gnomon.clock.bound", this, m -> m.boundSeconds).baseUnit("seconds")
                .description("Half-width of the TrueTime interval at the estimate's as-of").register(registry);
        Gauge.builder("gnomon.clock.offset", this, m -> m.offsetSeconds).baseUnit("seconds")
                .description("Estimated true time minus the local realtime clock").register(registry);
        Gauge.builder("gnomon.clock.status", this, m -> m.status.code())
                .description("Clock status code: 0 UNKNOWN, 1 SYNCHRONIZED, 2 FREE_RUNNING, 3 UNSYNCHRONIZED, 4 UNVERIFIED, 5 DISRUPTED")
                .register(registry);
        for (ClockStatus s : ClockStatus.values()) {
            Gauge.builder("gnomon.clock.status.active", this, m -> m.status == s ? 1 : 0)
                    .tags("status", s.name())
                    .description("1 if the clock is in this status, else 0").register(registry);
        }
        // A ratio, not ppb: Prometheus' base unit for a dimensionless rate (docs/dashboards.md lists old names).
        Gauge.builder("gnomon.clock.max.drift", this, m -> m.maxDriftPpb / PPB_PER_UNIT).baseUnit("ratio")
                .description("Seconds the bound grows by per elapsed second (200 ppm = 0.0002)").register(registry);
        Gauge.builder("gnomon.clock.falsetickers", this, m -> m.falsetickers)
                .description("Sources currently marked falsetickers").register(registry);
        Gauge.builder("gnomon.clock.falsetickers.outvotable", this, m -> m.falsetickersOutvotable)
                .description("Falsetickers the reachable sources can out-vote: (reachable - 1) / 2").register(registry);
        Gauge.builder("gnomon.clock.cross.checkable", this, m -> m.falsetickersOutvotable >= 1 ? 1 : 0)
                .description("1 if the time is cross-checked: enough reachable sources (3) to out-vote a falseticker")
                .register(registry);
        for (DisruptionDetector.Kind kind : DisruptionDetector.Kind.values()) {
            disruptionCounter(kind);
        }
    }

    /**
     * Registers at 0 the counters {@code source} can increment, so that they are scraped before anything happens:
     * its accepted samples, its rejections by every {@link RejectReason}, and its stray datagrams by each of
     * {@code strayReasons} (empty for a source that cannot receive strays). Idempotent; counters of a source that
     * was never declared still appear at their first increment.
     */
    public void declareSource(String source, Set<RejectReason> strayReasons) {
        if (source == null || source.isBlank()) {
            throw new IllegalArgumentException("source must be a non-blank name, was '" + source + "'");
        }
        accepted.computeIfAbsent(source, AcceptedMeters::new);
        for (RejectReason reason : RejectReason.values()) {
            rejectedCounter(new RejectKey(source, reason));
        }
        declareStrays(source, strayReasons);
    }

    /**
     * Registers at 0 the rejection counters of {@code reasons} under {@code pseudoSource}, a name that is not a source
     * (NtpSource's {@code unknown}, for datagrams from an address no configured server has).
     */
    public void declareRejections(String pseudoSource, Set<RejectReason> reasons) {
        for (RejectReason reason : reasons) {
            rejectedCounter(new RejectKey(pseudoSource, reason));
        }
    }

    private void declareStrays(String source, Set<RejectReason> reasons) {
        for (RejectReason reason : reasons) {
            strayCounter(new RejectKey(source, reason));
        }
    }

    /** Updates the clock and per-source gauges from the daemon's newest estimate. */
    public void onEstimate(Estimate e) {
        ClockSnapshot s = e.snapshot();
        boundSeconds = s.boundNanos() / NANOS_PER_SECOND;
        offsetSeconds = e.offsetNanos() / NANOS_PER_SECOND;
        maxDriftPpb = s.maxDriftPpb();
        falsetickers = e.falsetickerCount();
        falsetickersOutvotable = e.falsetickersOutvotable();
        status = s.status();
        for (SourceState src : e.sources()) {
            sources.computeIfAbsent(src.name(), SourceGauges::new).update(src);
        }
    }

    /** Counts one accepted sample (a valid measurement) of {@code source}, received at {@code realtimeEpochNanos}. */
    public void onMeasurement(String source, long realtimeEpochNanos) {
        accepted.computeIfAbsent(source, AcceptedMeters::new).record(realtimeEpochNanos);
    }

    /** Counts one rejected reply or reading of {@code source}. */
    public void onRejected(String source, RejectReason reason) {
        rejectedCounter(new RejectKey(source, reason)).increment();
    }

    private Counter rejectedCounter(RejectKey key) {
        return rejected.computeIfAbsent(key, k -> Counter.builder("gnomon.samples.rejected")
                .tags(Tags.of("source", k.source(), "reason", k.reason().name()))
                .description("Replies or readings dropped, by reason").register(registry));
    }

    /** Counts one datagram from {@code source}'s address that ended no exchange (late, duplicated or spoofed). */
    public void onStrayDatagram(String source, RejectReason reason) {
        strayCounter(new RejectKey(source, reason)).increment();
    }

    private Counter strayCounter(RejectKey key) {
        return strays.computeIfAbsent(key, k -> Counter.builder("gnomon.source.stray.datagrams")
                .tags(Tags.of("source", k.source(), "reason", k.reason().name()))
                .description("Datagrams from a source's address that ended no exchange, by reason")
                .register(registry));
    }

    /** Sets {@code source}'s condition: its gauge is 1 for that condition and 0 for the others. */
    public void onCondition(String source, SourceCondition condition) {
        if (conditions.put(source, condition) == null) {
            for (SourceCondition c : SourceCondition.values()) {
                Gauge.builder("gnomon.source.condition", this, m -> m.conditions.get(source) == c ? 1 : 0)
                        .tags(Tags.of("source", source, "condition", c.name()))
                        .description("1 for the source's condition: POLLING, UNRESOLVED, BACKED_OFF or STOPPED")
                        .register(registry);
            }
        }
    }

    /** Counts one disruption of the host clocks (a suspend, a realtime step). */
    public void onDisruption(DisruptionDetector.Kind kind) {
        disruptionCounter(kind).increment();
    }

    private Counter disruptionCounter(DisruptionDetector.Kind kind) {
        return disruptions.computeIfAbsent(kind, k -> Counter.builder("gnomon.clock.disruptions")
                .tag("kind", k.name()).description("Host clock disruptions detected, by kind")
                .register(registry));
    }

    /** The metrics in the Prometheus text exposition format (version 0.0.4). */
    public String scrape() {
        return registry.scrape();
    }

    /** The registry, for the daemon to add JVM or process meters. */
    public PrometheusMeterRegistry registry() {
        return registry;
    }

    private record RejectKey(String source, RejectReason reason) {
    }

    private final class AcceptedMeters {
        private final String source;
        private final Counter count;
        private volatile double lastEpochSeconds = Double.NaN;
        private volatile boolean timestampRegistered;

        AcceptedMeters(String source) {
            this.source = source;
            count = Counter.builder("gnomon.samples.accepted").tag("source", source)
                    .description("Valid measurements received").register(registry);
        }

        void record(long realtimeEpochNanos) {
            lastEpochSeconds = realtimeEpochNanos / NANOS_PER_SECOND;
            if (!timestampRegistered) {
                // Registered at the first measurement, unlike the counter: a timestamp has no "zero", and a NaN
                // series would sit in the rules' min() over a host's sample ages. Registering twice is harmless
                // (the registry returns the existing gauge), so the unlocked check is enough.
                // A timestamp rather than an age (Prometheus' advice): time() - it keeps rising in Prometheus even
                // when clockd stops updating its gauges, which an age computed here would hide.
                Gauge.builder("gnomon.source.last.sample.timestamp", this, a -> a.lastEpochSeconds)
                        .tag("source", source).baseUnit("seconds")
                        .description("Host realtime clock when the newest valid measurement arrived").register(registry);
                timestampRegistered = true;
            }
            count.increment();
        }
    }

    private final class SourceGauges {
        private volatile double delaySeconds = Double.NaN;
        private volatile double offsetSeconds = Double.NaN;
        private volatile double boundSeconds = Double.NaN;
        private volatile double reachable = 0;
        private volatile double falseticker = 0;

        SourceGauges(String name) {
            Tags tags = Tags.of("source", name);
            Gauge.builder("gnomon.source.delay", this, g -> g.delaySeconds).tags(tags).baseUnit("seconds")
                    .description("Round trip of the source's measurement in use").register(registry);
            Gauge.builder("gnomon.source.offset", this, g -> g.offsetSeconds).tags(tags).baseUnit("seconds")
                    .description("True time minus the local realtime clock, by this source").register(registry);
            Gauge.builder("gnomon.source.bound", this, g -> g.boundSeconds).tags(tags).baseUnit("seconds")
                    .description("Half-width of this source's interval at the estimate").register(registry);
            Gauge.builder("gnomon.source.reachable", this, g -> g.reachable).tags(tags)
                    .description("1 if a valid measurement arrived within the reachability window").register(registry);
            Gauge.builder("gnomon.source.falseticker", this, g -> g.falseticker).tags(tags)
                    .description("1 if the source disagrees with the majority").register(registry);
        }

        void update(SourceState s) {
            delaySeconds = s.hasMeasurement() ? s.delayNanos() / NANOS_PER_SECOND : Double.NaN;
            offsetSeconds = s.hasMeasurement() ? s.offsetNanos() / NANOS_PER_SECOND : Double.NaN;
            boundSeconds = s.hasMeasurement() ? s.boundNanos() / NANOS_PER_SECOND : Double.NaN;
            reachable = s.reachable() ? 1 : 0;
            falseticker = s.falseticker() ? 1 : 0;
        }
    }
}
