package io.gnomon.clockd.sim;

import java.util.List;
import java.util.Locale;

/**
 * One named world for the clock simulator: how many sources, how their networks and clocks misbehave, and
 * how the host's oscillator drifts. Every duration in nanoseconds, every rate in ppb or as a probability.
 * Immutable; {@link #builder(String)} starts from the defaults of a quiet LAN, and each named scenario
 * changes what it is about.
 *
 * <p>A scenario either keeps the daemon's assumptions (the local oscillator's frequency error stays within
 * {@code maxDriftPpm}; fewer than half of the configured sources lie; honest servers stay within their
 * advertised root distance) and must never produce a violation, or it is a <em>control</em>
 * ({@link #expectViolations}) that breaks one on purpose and must produce violations: proof that the checker
 * can fail.
 */
public final class Scenario {
    static final long US = 1_000L;
    static final long MS = 1_000_000L;
    static final long S = 1_000_000_000L;

    final String name;
    /** The named scenario this one derives from (itself, unless its bounds were broken on purpose). */
    final String baseName;
    final String description;
    /** A control: an assumption is broken on purpose, violations are expected and not counted as failures. */
    final boolean expectViolations;

    // --- daemon configuration, as ClockDaemon builds it from the defaults in DaemonConfig ---
    final double maxDriftPpm;
    final long pollIntervalNanos;
    final long replyTimeoutNanos;
    final long publishIntervalNanos;
    final long voidAfterNanos;
    final long maxRootDistanceNanos;

    // --- host oscillator ---
    /** The oscillator's real frequency error is clamped to this (= maxDriftPpm unless a control). */
    final double oscillatorMaxDriftPpm;
    /** Random-walk step of the frequency error per second of true time, in ppb (one standard deviation). */
    final double wanderPpbPerSecond;
    /** Temperature-like steps: the frequency error jumps to a new value this often on average. */
    final double frequencyStepsPerHour;
    /** Probability that a base value or a step lands exactly on +-oscillatorMaxDriftPpm (the edge). */
    final double driftAtEdgeProbability;

    // --- NTP servers and their paths ---
    final int ntpServers;
    /** The last {@code liars} NTP servers lie (fewer than half of all configured sources, unless a control). */
    final int liars;
    final long oneWayDelayMinNanos;
    final long oneWayDelayMaxNanos;
    /** Probability that a server's path is lopsided: one way 1/10-1/4 of the minimum, the other beyond the maximum. */
    final double lopsidedPathProbability;
    /** Mean of the exponential queueing delay added to each direction of each exchange. */
    final long jitterMeanNanos;
    /** Probability that an exchange is lost (split evenly between the two directions). */
    final double lossProbability;
    /** Advertised root delay and root dispersion of honest servers, drawn per server in these ranges. */
    final long rootDelayMinNanos;
    final long rootDelayMaxNanos;
    final long rootDispersionMinNanos;
    final long rootDispersionMaxNanos;
    /** log2 of the servers' clock tick in seconds (-20 is about 1 us). */
    final int serverPrecisionLog2;
    /** How many honest servers step their clock (within their advertised error), and how often. */
    final int steppingServers;
    final double serverStepsPerHour;
    /** Per-server outages (server down, no replies): how often, and how long. */
    final double serverOutagesPerHour;
    final long serverOutageMinNanos;
    final long serverOutageMaxNanos;
    /** Outages of every NTP server at once (the host's network is cut): how many per run, and how long. */
    final int globalOutages;
    final long globalOutageMinNanos;
    final long globalOutageMaxNanos;

    // --- PTP-like sources (fed to the estimator as Measurements) ---
    final int ptpSources;
    /** Whether the PTP-like sources are named in the estimator's {@code trust} set. */
    final boolean trustPtp;
    final long ptpIntervalNanos;
    final long ptpBoundMinNanos;
    final long ptpBoundMaxNanos;

    /**
     * Whether the PTP-like sources are modelled as ptp4l is read (Sync ingress stamped on the host's realtime
     * clock, offset realtime minus master, read through {@code PtpBound.measure} with a realtime reading), so
     * that realtime steps reach them. Otherwise they are direct monotonic Measurements.
     */
    final boolean ptpViaRealtime;

    // --- chronyd-like sources (read through ChronyBound.measure, as ChronySource reads chronyd) ---
    final int chronySources;
    /** How often our source reads chronyd's tracking report. */
    final long chronyPollIntervalNanos;
    /** How often chronyd updates its correction (measures its own servers). */
    final long chronyUpdateIntervalNanos;
    /** chronyd's root distance (root delay / 2 + root dispersion), drawn per source in this range. */
    final long chronyRootDistanceMinNanos;
    final long chronyRootDistanceMaxNanos;
    /**
     * chronyd disciplines the host clock: at an update that finds it off by more than this, it steps the realtime
     * clock onto its estimate (chrony's {@code makestep}), itself a realtime step; below it, the error stays in its
     * correction. {@link Long#MAX_VALUE}: it never steps (as {@code chronyd -x}).
     */
    final long chronyMakestepNanos;
    /**
     * chronyd's regression window: its correction at an update is a least-squares fit over the last this many
     * samples, each taken at an update, evaluated at the newest. A sample taken before a realtime step that chronyd
     * did not make itself is against the unstepped clock, and pulls the fit until it leaves the window (chrony's
     * sourcestats.c); with the equal weights and spacing here, by between -1/3 and 1 times the step.
     */
    final int chronyMaxSamples;

    // --- the host's realtime clock (CLOCK_REALTIME minus CLOCK_MONOTONIC) ---
    /** Steps of the host's realtime clock (an operator, another daemon): how often, on average. */
    final double realtimeStepsPerHour;
    /** Step sizes are log-uniform in this range, either sign. */
    final long realtimeStepMinNanos;
    final long realtimeStepMaxNanos;
    /** The daemon's disruption check (ClockDaemon.DISRUPTION_CHECK_INTERVAL_NANOS). */
    final long disruptionCheckIntervalNanos;

    // --- test knob: a deliberately broken bound ---
    /** Every measurement's bound is multiplied by this before the estimator sees it (1 = untouched). */
    final double measurementBoundScale;

    private Scenario(Builder b) {
        this.name = b.name;
        this.baseName = b.baseName == null ? b.name : b.baseName;
        this.description = b.description;
        this.expectViolations = b.expectViolations;
        this.maxDriftPpm = b.maxDriftPpm;
        this.pollIntervalNanos = b.pollIntervalNanos;
        this.replyTimeoutNanos = b.replyTimeoutNanos;
        this.publishIntervalNanos = b.publishIntervalNanos;
        this.voidAfterNanos = b.voidAfterNanos;
        this.maxRootDistanceNanos = b.maxRootDistanceNanos;
        this.oscillatorMaxDriftPpm = b.oscillatorMaxDriftPpm < 0 ? b.maxDriftPpm : b.oscillatorMaxDriftPpm;
        this.wanderPpbPerSecond = b.wanderPpbPerSecond;
        this.frequencyStepsPerHour = b.frequencyStepsPerHour;
        this.driftAtEdgeProbability = b.driftAtEdgeProbability;
        this.ntpServers = b.ntpServers;
        this.liars = b.liars;
        this.oneWayDelayMinNanos = b.oneWayDelayMinNanos;
        this.oneWayDelayMaxNanos = b.oneWayDelayMaxNanos;
        this.lopsidedPathProbability = b.lopsidedPathProbability;
        this.jitterMeanNanos = b.jitterMeanNanos;
        this.lossProbability = b.lossProbability;
        this.rootDelayMinNanos = b.rootDelayMinNanos;
        this.rootDelayMaxNanos = b.rootDelayMaxNanos;
        this.rootDispersionMinNanos = b.rootDispersionMinNanos;
        this.rootDispersionMaxNanos = b.rootDispersionMaxNanos;
        this.serverPrecisionLog2 = b.serverPrecisionLog2;
        this.steppingServers = b.steppingServers;
        this.serverStepsPerHour = b.serverStepsPerHour;
        this.serverOutagesPerHour = b.serverOutagesPerHour;
        this.serverOutageMinNanos = b.serverOutageMinNanos;
        this.serverOutageMaxNanos = b.serverOutageMaxNanos;
        this.globalOutages = b.globalOutages;
        this.globalOutageMinNanos = b.globalOutageMinNanos;
        this.globalOutageMaxNanos = b.globalOutageMaxNanos;
        this.ptpSources = b.ptpSources;
        this.trustPtp = b.trustPtp;
        this.ptpIntervalNanos = b.ptpIntervalNanos;
        this.ptpBoundMinNanos = b.ptpBoundMinNanos;
        this.ptpBoundMaxNanos = b.ptpBoundMaxNanos;
        this.measurementBoundScale = b.measurementBoundScale;
        this.ptpViaRealtime = b.ptpViaRealtime;
        this.chronySources = b.chronySources;
        this.chronyPollIntervalNanos = b.chronyPollIntervalNanos;
        this.chronyUpdateIntervalNanos = b.chronyUpdateIntervalNanos;
        this.chronyRootDistanceMinNanos = b.chronyRootDistanceMinNanos;
        this.chronyRootDistanceMaxNanos = b.chronyRootDistanceMaxNanos;
        this.chronyMakestepNanos = b.chronyMakestepNanos;
        this.chronyMaxSamples = b.chronyMaxSamples;
        this.realtimeStepsPerHour = b.realtimeStepsPerHour;
        this.realtimeStepMinNanos = b.realtimeStepMinNanos;
        this.realtimeStepMaxNanos = b.realtimeStepMaxNanos;
        this.disruptionCheckIntervalNanos = b.disruptionCheckIntervalNanos;

        require(ntpServers + ptpSources >= 1, "at least one source");
        require(liars >= 0 && liars <= ntpServers, "liars within the NTP servers");
        require(expectViolations || 2 * liars < ntpServers + ptpSources,
                "fewer than half of the sources lie (the daemon's assumption), unless a control");
        require(expectViolations || oscillatorMaxDriftPpm <= maxDriftPpm,
                "the oscillator stays within maxDriftPpm (the daemon's assumption), unless a control");
        require(expectViolations || measurementBoundScale >= 1, "bounds are not shrunk, unless a control");
        require(steppingServers <= ntpServers - liars, "stepping servers are honest servers");
        require(oneWayDelayMinNanos >= 0 && oneWayDelayMaxNanos >= oneWayDelayMinNanos, "one-way delay range");
        require(lossProbability >= 0 && lossProbability < 1, "loss probability in [0, 1)");
        require(rootDelayMaxNanos >= rootDelayMinNanos && rootDispersionMaxNanos >= rootDispersionMinNanos,
                "root delay and dispersion ranges");
        require(ptpBoundMinNanos > 2 && ptpBoundMaxNanos >= ptpBoundMinNanos, "PTP bound range above 2 ns");
        require(chronyMaxSamples >= 1 && chronyMaxSamples <= 64, "chronyMaxSamples in [1, 64] (chrony's MAX_SAMPLES)");
        require(chronySources >= 0 && chronyRootDistanceMinNanos > 2
                && chronyRootDistanceMaxNanos >= chronyRootDistanceMinNanos, "chrony sources and root distance range");
        require(realtimeStepsPerHour >= 0 && realtimeStepMinNanos > 0 && realtimeStepMaxNanos >= realtimeStepMinNanos,
                "realtime step rate and size range");
    }

    private void require(boolean ok, String rule) {
        if (!ok) {
            throw new IllegalArgumentException("scenario " + name + ": " + rule);
        }
    }

    public String name() {
        return name;
    }

    public String description() {
        return description;
    }

    public boolean expectViolations() {
        return expectViolations;
    }

    /** Total configured sources: every one is a vote in the estimator's majority. */
    int sourceCount() {
        return ntpServers + ptpSources + chronySources;
    }

    /** Whether any source reads the host's realtime clock (then the daemon's step detector runs in the sim). */
    boolean readsRealtime() {
        return chronySources > 0 || (ptpSources > 0 && ptpViaRealtime) || realtimeStepsPerHour > 0;
    }

    /** The per-local-nanosecond growth the daemon publishes, as ConfigLoader computes it: ceil(d / (1 - d)). */
    long maxDriftPpb() {
        double d = maxDriftPpm / 1e6;
        return (long) Math.ceil(d / (1 - d) * 1e9);
    }

    /** A copy whose measurements reach the estimator with their bound scaled: the negative control's knob. */
    public Scenario withMeasurementBoundScale(double scale) {
        Builder b = toBuilder();
        b.baseName = baseName;
        b.name = baseName + "-bound-x" + String.format(Locale.ROOT, "%.2f", scale);
        b.description = description + "; every bound scaled by " + scale + " (broken on purpose)";
        b.expectViolations = scale < 1 || expectViolations;
        b.measurementBoundScale = scale;
        return new Scenario(b);
    }

    /**
     * A copy run with another daemon configuration: poll interval and assumed maximum drift (as clockd's
     * {@code --poll-interval-ms} and {@code --max-drift-ppm}). The oscillator stays within the new maxDrift
     * unless this is a control, whose oscillator keeps breaking it.
     */
    public Scenario withDaemonConfig(Long pollIntervalMillis, Double maxDriftPpm) {
        Builder b = toBuilder();
        if (pollIntervalMillis != null) {
            if (pollIntervalMillis < 10 || pollIntervalMillis > 3_600_000) {
                throw new IllegalArgumentException("poll interval must be in [10 ms, 1 h], was " + pollIntervalMillis + " ms");
            }
            b.pollIntervalNanos = pollIntervalMillis * MS;
            // NtpSource never has two exchanges in flight with one server: the reply timeout fits in a poll
            b.replyTimeoutNanos = Math.min(replyTimeoutNanos, b.pollIntervalNanos / 2);
        }
        if (maxDriftPpm != null) {
            if (!(maxDriftPpm > 0 && maxDriftPpm <= 10_000)) {
                throw new IllegalArgumentException("max drift must be in (0, 10000] ppm, was " + maxDriftPpm);
            }
            b.maxDriftPpm = maxDriftPpm;
            if (!expectViolations) {
                b.oscillatorMaxDriftPpm = Math.min(oscillatorMaxDriftPpm, maxDriftPpm);
            }
        }
        return new Scenario(b);
    }

    /** The named scenarios, sound ones first, then the controls. */
    public static List<Scenario> all() {
        return List.of(lan(), wan(), liar(), steppingServer(), temperature(), outage(), ptp(), ptpTrusted(),
                chronyStep(), ptpStep(), ptpStepTrusted(), driftViolated());
    }

    /** The scenario called {@code name}, or an exception listing the names. */
    public static Scenario named(String name) {
        for (Scenario s : all()) {
            if (s.name.equals(name)) {
                return s;
            }
        }
        throw new IllegalArgumentException("no scenario '" + name + "'; known: "
                + all().stream().map(Scenario::name).toList());
    }

    static Scenario lan() {
        return builder("lan").description("3 servers on a LAN: 100-300 us round trips (a third of the paths lopsided: "
                + "nearly all the delay one way), stratum-1 servers (root dispersion 10-30 us), 0.1% loss").build();
    }

    static Scenario wan() {
        return builder("wan").description("5 servers across a WAN: one-way delay 5-40 ms drawn per direction "
                        + "(asymmetric paths, 10-80 ms round trips), 2 ms mean queueing jitter, 5% loss, "
                        + "stratum-2 servers (root delay 1-20 ms, root dispersion 0.5-5 ms)")
                .ntpServers(5).oneWayDelay(5 * MS, 40 * MS).jitterMean(2 * MS).loss(0.05)
                .rootDelay(1 * MS, 20 * MS).rootDispersion(500 * US, 5 * MS).precisionLog2(-18).build();
    }

    static Scenario liar() {
        return builder("liar").description("5 servers, 2 colluding liars (by seconds, or just outside their "
                        + "advertised bound, same side); every server goes down now and then (10-90 s); 1-5 ms RTT, 1% loss")
                .ntpServers(5).liars(2).oneWayDelay(500 * US, 2500 * US).jitterMean(100 * US).loss(0.01)
                .rootDispersion(50 * US, 500 * US).serverOutages(4, 10 * S, 90 * S).build();
    }

    static Scenario steppingServer() {
        return builder("stepping-server").description("3 servers; 2 of them step their clock every few minutes "
                        + "to anywhere within their advertised error (root dispersion 0.5-2 ms)")
                .rootDispersion(500 * US, 2 * MS).steppingServers(2, 20).build();
    }

    static Scenario temperature() {
        return builder("temperature").description("3 LAN servers; the oscillator's frequency jumps every minute "
                        + "on average (temperature steps), a third of the time to exactly +-maxDrift")
                .frequencySteps(60).driftAtEdge(0.33).wander(50).build();
    }

    static Scenario outage() {
        return builder("outage").description("3 LAN servers; twice per run the network is cut for 1-8 min "
                        + "(longer than the 188 s sample age limit, so the daemon free-runs and then starts over)")
                .globalOutages(2, 60 * S, 480 * S).driftAtEdge(0.5).frequencySteps(20).build();
    }

    static Scenario ptp() {
        return builder("ptp").description("1 PTP-like source (measurement every 1 s, honest bound 1-5 us) plus "
                        + "2 LAN NTP servers; the PTP source is one vote of three")
                .ntpServers(2).ptpSources(1).build();
    }

    static Scenario ptpTrusted() {
        return builder("ptp-trusted").description("as ptp, with the PTP source in the estimator's trust set: while "
                        + "it agrees with the majority the interval narrows to it")
                .ntpServers(2).ptpSources(1).trustPtp().build();
    }

    static Scenario chronyStep() {
        return builder("chrony-step").description("1 chronyd-like source (read every 1 s; chronyd updates every 2 s, "
                        + "root distance 5-50 us, and steps the clock back onto its estimate when it is off by more than "
                        + "100 us; the clock it disciplines drifts within 5 ppm) plus 1 LAN NTP server, both needed for a majority; the host's realtime clock steps "
                        + "about once a minute by 1 us to 0.5 s either way, which chronyd's correction does not see "
                        + "until its next update, and its regression over its last 8 updates keeps weighing for 8 "
                        + "updates after")
                .ntpServers(1).chronySources(1).chronyUpdateInterval(2 * S).chronyMakestep(100 * US)
                .oscillatorMaxDriftPpm(5)
                .realtimeSteps(60, 1 * US, 500 * MS).build();
    }

    static Scenario ptpStep() {
        return builder("ptp-step").description("1 ptp4l-like source (Sync ingress stamped on the host's realtime "
                        + "clock, read every 1 s through PtpBound) plus 1 LAN NTP server, both needed for a majority; the "
                        + "realtime clock steps about once a minute by 1 us to 0.5 s either way, often between a Sync "
                        + "and its reading")
                .ntpServers(1).ptpSources(1).ptpViaRealtime().realtimeSteps(60, 1 * US, 500 * MS).build();
    }

    static Scenario ptpStepTrusted() {
        return builder("ptp-step-trusted").description("as ptp-step, but with 2 LAN NTP servers and the PTP source "
                        + "in the estimator's trust set: a reading that straddles a step must not narrow the interval off "
                        + "true time")
                .ntpServers(2).ptpSources(1).ptpViaRealtime().trustPtp().realtimeSteps(60, 1 * US, 500 * MS).build();
    }

    static Scenario driftViolated() {
        return builder("drift-violated").description("CONTROL: the oscillator drifts up to 500 ppm while the "
                        + "daemon assumes 200 ppm; network cuts make it free-run on that assumption")
                .expectViolations().oscillatorMaxDriftPpm(500).driftAtEdge(0.8)
                .globalOutages(2, 60 * S, 300 * S).build();
    }

    static Builder builder(String name) {
        return new Builder(name);
    }

    private Builder toBuilder() {
        Builder b = new Builder(name);
        b.baseName = baseName;
        b.description = description;
        b.expectViolations = expectViolations;
        b.maxDriftPpm = maxDriftPpm;
        b.pollIntervalNanos = pollIntervalNanos;
        b.replyTimeoutNanos = replyTimeoutNanos;
        b.publishIntervalNanos = publishIntervalNanos;
        b.voidAfterNanos = voidAfterNanos;
        b.maxRootDistanceNanos = maxRootDistanceNanos;
        b.oscillatorMaxDriftPpm = oscillatorMaxDriftPpm;
        b.wanderPpbPerSecond = wanderPpbPerSecond;
        b.frequencyStepsPerHour = frequencyStepsPerHour;
        b.driftAtEdgeProbability = driftAtEdgeProbability;
        b.ntpServers = ntpServers;
        b.liars = liars;
        b.oneWayDelayMinNanos = oneWayDelayMinNanos;
        b.oneWayDelayMaxNanos = oneWayDelayMaxNanos;
        b.lopsidedPathProbability = lopsidedPathProbability;
        b.jitterMeanNanos = jitterMeanNanos;
        b.lossProbability = lossProbability;
        b.rootDelayMinNanos = rootDelayMinNanos;
        b.rootDelayMaxNanos = rootDelayMaxNanos;
        b.rootDispersionMinNanos = rootDispersionMinNanos;
        b.rootDispersionMaxNanos = rootDispersionMaxNanos;
        b.serverPrecisionLog2 = serverPrecisionLog2;
        b.steppingServers = steppingServers;
        b.serverStepsPerHour = serverStepsPerHour;
        b.serverOutagesPerHour = serverOutagesPerHour;
        b.serverOutageMinNanos = serverOutageMinNanos;
        b.serverOutageMaxNanos = serverOutageMaxNanos;
        b.globalOutages = globalOutages;
        b.globalOutageMinNanos = globalOutageMinNanos;
        b.globalOutageMaxNanos = globalOutageMaxNanos;
        b.ptpSources = ptpSources;
        b.trustPtp = trustPtp;
        b.ptpIntervalNanos = ptpIntervalNanos;
        b.ptpBoundMinNanos = ptpBoundMinNanos;
        b.ptpBoundMaxNanos = ptpBoundMaxNanos;
        b.measurementBoundScale = measurementBoundScale;
        b.ptpViaRealtime = ptpViaRealtime;
        b.chronySources = chronySources;
        b.chronyPollIntervalNanos = chronyPollIntervalNanos;
        b.chronyUpdateIntervalNanos = chronyUpdateIntervalNanos;
        b.chronyRootDistanceMinNanos = chronyRootDistanceMinNanos;
        b.chronyRootDistanceMaxNanos = chronyRootDistanceMaxNanos;
        b.chronyMakestepNanos = chronyMakestepNanos;
        b.chronyMaxSamples = chronyMaxSamples;
        b.realtimeStepsPerHour = realtimeStepsPerHour;
        b.realtimeStepMinNanos = realtimeStepMinNanos;
        b.realtimeStepMaxNanos = realtimeStepMaxNanos;
        b.disruptionCheckIntervalNanos = disruptionCheckIntervalNanos;
        return b;
    }

    /** Defaults: the daemon's own defaults (DaemonConfig) and a quiet LAN of 3 stratum-1 servers. */
    static final class Builder {
        private String name;
        private String baseName;
        private String description = "";
        private boolean expectViolations;
        private double maxDriftPpm = 200;
        private long pollIntervalNanos = 2 * S;
        private long replyTimeoutNanos = 1 * S;
        private long publishIntervalNanos = 1 * S;
        private long voidAfterNanos = 10 * S;
        private long maxRootDistanceNanos = 1500 * MS;
        private double oscillatorMaxDriftPpm = -1;
        private double wanderPpbPerSecond = 20;
        private double frequencyStepsPerHour = 2;
        private double driftAtEdgeProbability = 0.1;
        private int ntpServers = 3;
        private int liars;
        private long oneWayDelayMinNanos = 50 * US;
        private long oneWayDelayMaxNanos = 130 * US;
        private double lopsidedPathProbability = 0.3;
        private long jitterMeanNanos = 10 * US;
        private double lossProbability = 0.001;
        private long rootDelayMinNanos;
        private long rootDelayMaxNanos;
        private long rootDispersionMinNanos = 10 * US;
        private long rootDispersionMaxNanos = 30 * US;
        private int serverPrecisionLog2 = -20;
        private int steppingServers;
        private double serverStepsPerHour;
        private double serverOutagesPerHour;
        private long serverOutageMinNanos = 10 * S;
        private long serverOutageMaxNanos = 60 * S;
        private int globalOutages;
        private long globalOutageMinNanos = 60 * S;
        private long globalOutageMaxNanos = 300 * S;
        private int ptpSources;
        private boolean trustPtp;
        private long ptpIntervalNanos = 1 * S;
        private long ptpBoundMinNanos = 1 * US;
        private long ptpBoundMaxNanos = 5 * US;
        private double measurementBoundScale = 1;
        private boolean ptpViaRealtime;
        private int chronySources;
        private long chronyPollIntervalNanos = 1 * S;
        private long chronyUpdateIntervalNanos = 16 * S;
        private long chronyRootDistanceMinNanos = 5 * US;
        private long chronyRootDistanceMaxNanos = 50 * US;
        private long chronyMakestepNanos = Long.MAX_VALUE;
        private int chronyMaxSamples = 8;
        private double realtimeStepsPerHour;
        private long realtimeStepMinNanos = 1 * US;
        private long realtimeStepMaxNanos = 500 * MS;
        private long disruptionCheckIntervalNanos = 10 * MS;

        private Builder(String name) {
            this.name = name;
        }

        Builder description(String d) { description = d; return this; }
        Builder expectViolations() { expectViolations = true; return this; }
        Builder oscillatorMaxDriftPpm(double ppm) { oscillatorMaxDriftPpm = ppm; return this; }
        Builder wander(double ppbPerSecond) { wanderPpbPerSecond = ppbPerSecond; return this; }
        Builder frequencySteps(double perHour) { frequencyStepsPerHour = perHour; return this; }
        Builder driftAtEdge(double p) { driftAtEdgeProbability = p; return this; }
        Builder ntpServers(int n) { ntpServers = n; return this; }
        Builder liars(int n) { liars = n; return this; }
        Builder oneWayDelay(long minNanos, long maxNanos) { oneWayDelayMinNanos = minNanos; oneWayDelayMaxNanos = maxNanos; return this; }
        Builder lopsidedPaths(double p) { lopsidedPathProbability = p; return this; }
        Builder jitterMean(long nanos) { jitterMeanNanos = nanos; return this; }
        Builder loss(double p) { lossProbability = p; return this; }
        Builder rootDelay(long minNanos, long maxNanos) { rootDelayMinNanos = minNanos; rootDelayMaxNanos = maxNanos; return this; }
        Builder rootDispersion(long minNanos, long maxNanos) { rootDispersionMinNanos = minNanos; rootDispersionMaxNanos = maxNanos; return this; }
        Builder precisionLog2(int p) { serverPrecisionLog2 = p; return this; }
        Builder steppingServers(int n, double stepsPerHour) { steppingServers = n; serverStepsPerHour = stepsPerHour; return this; }
        Builder serverOutages(double perHour, long minNanos, long maxNanos) { serverOutagesPerHour = perHour; serverOutageMinNanos = minNanos; serverOutageMaxNanos = maxNanos; return this; }
        Builder globalOutages(int count, long minNanos, long maxNanos) { globalOutages = count; globalOutageMinNanos = minNanos; globalOutageMaxNanos = maxNanos; return this; }
        Builder ptpSources(int n) { ptpSources = n; return this; }

        Builder trustPtp() { trustPtp = true; return this; }
        Builder ptpViaRealtime() { ptpViaRealtime = true; return this; }
        Builder chronySources(int n) { chronySources = n; return this; }
        Builder chronyUpdateInterval(long nanos) { chronyUpdateIntervalNanos = nanos; return this; }
        Builder chronyMakestep(long nanos) { chronyMakestepNanos = nanos; return this; }

        Builder chronyMaxSamples(int samples) { chronyMaxSamples = samples; return this; }
        Builder realtimeSteps(double perHour, long minNanos, long maxNanos) { realtimeStepsPerHour = perHour; realtimeStepMinNanos = minNanos; realtimeStepMaxNanos = maxNanos; return this; }
        Builder measurementBoundScale(double scale) { measurementBoundScale = scale; return this; }

        Scenario build() {
            return new Scenario(this);
        }
    }
}
