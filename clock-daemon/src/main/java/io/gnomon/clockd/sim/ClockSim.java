package io.gnomon.clockd.sim;

import io.gnomon.clockd.SystemClocks;
import io.gnomon.clockd.select.ClockEstimator;
import io.gnomon.clockd.select.DisruptionDetector;
import io.gnomon.clockd.select.DisruptionMonitor;
import io.gnomon.clockd.select.Estimate;
import io.gnomon.clockd.select.Measurement;
import io.gnomon.clockd.select.RejectReason;
import io.gnomon.clockd.source.NtpWire;
import io.gnomon.clockd.source.chrony.ChronyBound;
import io.gnomon.clockd.source.chrony.ChronyCmdmon;
import io.gnomon.clockd.source.ptp.PtpBound;
import io.gnomon.clockd.source.chrony.ChronyWindows;
import io.gnomon.clockd.source.ptp.PtpManagement;
import io.gnomon.truetime.ClockSnapshot;
import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.TimeInterval;

import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.SplittableRandom;

/**
 * One deterministic run of the clock daemon's real code against a simulated world, from a seed.
 *
 * <p>Single-threaded, no wall clock, no sockets: simulated true time advances from event to event (a
 * priority queue ordered by true time, ties by insertion order). Randomness comes only from a
 * {@link SplittableRandom} made from the seed and the scenario's name, split once per concern (world,
 * oscillator, nonces, readers) so that, for instance, asking for more reader samples does not change the
 * world. The same seed, scenario, duration and samples-per-publish give the same run, byte for byte.
 *
 * <p>What runs for real: {@link NtpWire#request} and {@link NtpWire#parseReply} (the offset and bound of
 * every exchange), {@link ClockEstimator} (filter, majority selection, free-running), and
 * {@link ClockSnapshot#intervalAt} (the reader's extrapolation). What is simulated: the host's oscillator
 * ({@link Oscillator}), the servers and their paths ({@link SimNtpServer}), PTP-like sources (measurements
 * with an honest bound) and the daemon's loop as {@code ClockDaemon} runs it (poll every server each poll
 * interval, estimate and publish after every measurement and at the publish interval).
 *
 * <p>Where a scenario has realtime-based sources or realtime steps, the host also has a realtime clock
 * (monotonic plus an offset that only steps move), and more real code runs: {@code DisruptionDetector} every
 * 10 ms and before each realtime-based measurement is used, through the daemon's own {@code DisruptionMonitor};
 * {@code PtpBound.measure} on ptp4l-like state (Sync ingress stamped on realtime); and
 * {@code ChronyBound.measure} on chronyd-like tracking reports (a correction relative to the realtime clock at
 * chronyd's last update, which does not see later steps, and fitted over chronyd's last updates, so that samples
 * from before a step it did not make keep pulling it for as long as they stay in its window); before each poll,
 * what chronyd's SOURCE_DATA and SOURCESTATS would say of that window goes through the real {@code ChronyWindows},
 * and the estimator has the daemon's own fixed horizon after a step (~18.5 h), so that only chronyd's word on its
 * windows lets it be used again within a run.
 *
 * <p>The check: every published snapshot is read at {@code samplesPerPublish} instants between its publish
 * and the next one (the last exactly at the next publish, where it is most aged); whenever its status is
 * usable, {@code intervalAt(monotonic reading)} must contain true time at that instant.
 */
public final class ClockSim {
    /** Simulated start: 2025-01-01T00:00:00Z plus a random fraction of a second (NTP era 0). */
    static final long START_EPOCH_NANOS = 1_735_689_600L * Scenario.S;
    /** Violations kept with their numbers per run (all are counted). */
    static final int MAX_VIOLATIONS_KEPT = 20;

    private static final int OSC_TICK = 0;
    private static final int FREQUENCY_STEP = 1;
    private static final int POLL = 2;
    private static final int REQUEST_ARRIVES = 3;
    private static final int REPLY_ARRIVES = 4;
    private static final int PUBLISH_TICK = 5;
    private static final int PTP_SAMPLE = 6;
    private static final int SERVER_STEP = 7;
    private static final int REALTIME_STEP = 8;
    private static final int DISRUPTION_CHECK = 9;
    private static final int PTP_POLL = 10;
    private static final int CHRONY_UPDATE = 11;
    private static final int CHRONY_POLL = 12;
    /** A PTP grandmaster within 100 ns (IEEE 1588 clockAccuracy 0x21). */
    private static final int PTP_ACCURACY_CODE = 0x21;
    private static final PtpManagement.ClockIdentity SIM_GM = new PtpManagement.ClockIdentity(0x0011_22ff_fe33_4455L);

    private static final class Exchange {
        final long nonce;
        final long t1MonotonicNanos;
        final byte[] request;
        final byte[] reply = new byte[NtpWire.PACKET_LENGTH];

        Exchange(long nonce, long t1MonotonicNanos, byte[] request) {
            this.nonce = nonce;
            this.t1MonotonicNanos = t1MonotonicNanos;
            this.request = request;
        }
    }

    private record Event(long trueNanos, long seq, int type, int source, Exchange exchange) {
    }

    private final Scenario sc;
    private final long seed;
    private final int samplesPerPublish;
    private final long durationNanos;
    private final long startTrueNanos;
    private final long endTrueNanos;
    private final long driftPpb;
    /** The host's CLOCK_REALTIME minus CLOCK_MONOTONIC: moved only by realtime steps. */
    private long realtimeMinusMonotonicNanos;
    private final SplittableRandom realtimeRandom;
    private final DisruptionMonitor disruptions;
    // ptp4l-like sources read through PtpBound (scenario.ptpViaRealtime): the last Sync ptp4l saw, and its path
    private final long[] ptpPathDelayNanos;
    private final PtpBound.Config[] ptpConfig;
    private final long[] ptpIngressEpochNanos;
    private final long[] ptpMasterOffsetNanos;
    // chronyd-like sources: chronyd's root delay and dispersion, and its correction and reference time as of its
    // last update (relative to the realtime clock as it was then)
    private final long[] chronyRootDelayNanos;
    private final long[] chronyRootDispersionNanos;
    private final long[] chronyCorrectionNanos;
    private final long[] chronyReferenceEpochNanos;
    // chronyd's regression window per source: when each sample was taken (true time) and the realtime clock's offset
    // from monotonic it was measured against, as chronyd sees it (its own steps applied, other steps not)
    private final long[][] chronySampleTrueNanos;
    private final long[][] chronySampleRealtimeMinusMonotonicNanos;
    private final int[] chronySampleCount;
    // what ChronySource learns of each chronyd's windows from its SOURCE_DATA and SOURCESTATS, round by round
    private final ChronyWindows[] chronyWindows;

    private final SplittableRandom world;
    private final SplittableRandom oscRandom;
    private final SplittableRandom nonceRandom;
    private final SplittableRandom readerRandom;

    private final Oscillator osc;
    private final SimNtpServer[] servers;
    private final long[] ptpBoundNanos;
    private final String[] sourceNames;
    private final boolean[] honest;
    private final ClockEstimator estimator;
    private final long[] globalDownFrom;
    private final long[] globalDownUntil;

    private final PriorityQueue<Event> queue = new PriorityQueue<>((a, b) -> a.trueNanos != b.trueNanos
            ? Long.compare(a.trueNanos, b.trueNanos) : Long.compare(a.seq, b.seq));
    private long seq;

    // the daemon's published state
    private ClockSnapshot current;
    private long currentPublishedTrueNanos;

    // floor: per source, the latest single-exchange floor (delay / 2 + what the server may be off by)
    private final long[] latestFloorNanos;
    private long currentFloorNanos = -1;

    private final RunResult result;

    /**
     * @param scenario          the world
     * @param seed              any long; with the scenario's name it determines the whole run
     * @param durationSeconds   simulated seconds
     * @param samplesPerPublish reader instants checked per published snapshot, at least 1
     */
    public ClockSim(Scenario scenario, long seed, long durationSeconds, int samplesPerPublish) {
        if (durationSeconds < 1 || durationSeconds > 30L * 24 * 3600) {
            throw new IllegalArgumentException("durationSeconds must be in [1, 30 days], was " + durationSeconds);
        }
        if (samplesPerPublish < 1 || samplesPerPublish > 1000) {
            throw new IllegalArgumentException("samplesPerPublish must be in [1, 1000], was " + samplesPerPublish);
        }
        this.sc = scenario;
        this.seed = seed;
        this.samplesPerPublish = samplesPerPublish;
        this.durationNanos = durationSeconds * Scenario.S;
        // The base name: a variant with broken bounds runs the very same world, so only the bounds differ.
        SplittableRandom root = new SplittableRandom(seed * 0x9E37_79B9_7F4A_7C15L ^ scenario.baseName.hashCode());
        this.world = root.split();
        this.oscRandom = root.split();
        this.nonceRandom = root.split();
        this.readerRandom = root.split();
        this.realtimeRandom = root.split(); // split last: the scenarios without it keep their worlds

        this.startTrueNanos = START_EPOCH_NANOS + world.nextLong(Scenario.S);
        this.endTrueNanos = startTrueNanos + durationNanos;
        this.driftPpb = scenario.maxDriftPpb();
        long startMonotonic = world.nextLong(Scenario.S, 1_000_000L * Scenario.S); // booted 1 s to 11 days ago
        // The host's realtime clock is off by up to 50 ms; it only labels offsets, never enters a bound.
        this.realtimeMinusMonotonicNanos = startTrueNanos - startMonotonic + world.nextLong(-50 * Scenario.MS, 50 * Scenario.MS);
        double max = scenario.oscillatorMaxDriftPpm * 1e-6;
        this.osc = new Oscillator(max, startTrueNanos, startMonotonic, drawFrequency(max));

        this.globalDownFrom = new long[scenario.globalOutages];
        this.globalDownUntil = new long[scenario.globalOutages];
        for (int g = 0; g < scenario.globalOutages; g++) {
            // spread over the run: the g-th cut starts in the g-th part of its first 80%
            long part = durationNanos * 8 / 10 / scenario.globalOutages;
            globalDownFrom[g] = startTrueNanos + durationNanos / 10 + g * part + world.nextLong(Math.max(1, part / 2));
            globalDownUntil[g] = globalDownFrom[g]
                    + SimNtpServer.uniform(world, scenario.globalOutageMinNanos, scenario.globalOutageMaxNanos);
        }

        int n = scenario.sourceCount();
        this.sourceNames = new String[n];
        this.honest = new boolean[n];
        this.servers = new SimNtpServer[scenario.ntpServers];
        // Liars collude: same side, same kind, decided per run.
        SimNtpServer.Kind lieKind = world.nextBoolean() ? SimNtpServer.Kind.LIAR_BY_SECONDS
                : SimNtpServer.Kind.LIAR_JUST_OUTSIDE;
        int lieSign = world.nextBoolean() ? 1 : -1;
        for (int i = 0; i < scenario.ntpServers; i++) {
            boolean liar = i >= scenario.ntpServers - scenario.liars;
            boolean stepping = i < scenario.steppingServers;
            SplittableRandom serverRandom = world.split();
            long[][] outages = serverOutages(serverRandom);
            String name = "ntp:sim-" + i;
            servers[i] = new SimNtpServer(name, liar ? lieKind : SimNtpServer.Kind.HONEST, stepping, scenario,
                    serverRandom, outages[0], outages[1], lieSign);
            sourceNames[i] = name;
            honest[i] = !liar;
        }
        this.ptpBoundNanos = new long[scenario.ptpSources];
        for (int p = 0; p < scenario.ptpSources; p++) {
            ptpBoundNanos[p] = SimNtpServer.uniform(world, scenario.ptpBoundMinNanos, scenario.ptpBoundMaxNanos);
            sourceNames[scenario.ntpServers + p] = "ptp:sim-" + p;
            honest[scenario.ntpServers + p] = true;
        }
        this.ptpPathDelayNanos = new long[scenario.ptpSources];
        this.ptpConfig = new PtpBound.Config[scenario.ptpSources];
        this.ptpIngressEpochNanos = new long[scenario.ptpSources];
        this.ptpMasterOffsetNanos = new long[scenario.ptpSources];
        if (scenario.ptpViaRealtime) {
            for (int p = 0; p < scenario.ptpSources; p++) {
                // ptp4l's mean path delay plus the timestamping allowance make up the source's drawn bound
                long bound = ptpBoundNanos[p];
                ptpPathDelayNanos[p] = Math.max(1, bound / 2);
                ptpConfig[p] = new PtpBound.Config(driftPpb, bound - ptpPathDelayNanos[p],
                        PtpBound.Config.REJECT_UNKNOWN_ACCURACY, PtpBound.Config.DEFAULT_MAX_INGRESS_AGE_NANOS);
            }
        }
        int firstChrony = scenario.ntpServers + scenario.ptpSources;
        this.chronyRootDelayNanos = new long[scenario.chronySources];
        this.chronyRootDispersionNanos = new long[scenario.chronySources];
        this.chronyCorrectionNanos = new long[scenario.chronySources];
        this.chronyReferenceEpochNanos = new long[scenario.chronySources];
        this.chronySampleTrueNanos = new long[scenario.chronySources][scenario.chronyMaxSamples];
        this.chronySampleRealtimeMinusMonotonicNanos = new long[scenario.chronySources][scenario.chronyMaxSamples];
        this.chronySampleCount = new int[scenario.chronySources];
        this.chronyWindows = new ChronyWindows[scenario.chronySources];
        for (int c = 0; c < scenario.chronySources; c++) {
            long distance = SimNtpServer.uniform(realtimeRandom, scenario.chronyRootDistanceMinNanos,
                    scenario.chronyRootDistanceMaxNanos);
            chronyRootDelayNanos[c] = distance; // root delay / 2 is half of the distance
            chronyRootDispersionNanos[c] = distance - distance / 2;
            sourceNames[firstChrony + c] = "chrony:sim-" + c;
            honest[firstChrony + c] = true;
        }
        DisruptionDetector detector = new DisruptionDetector(500_000, DisruptionDetector.DEFAULT_STEP_TOLERANCE_NANOS);
        this.latestFloorNanos = new long[n];
        java.util.Arrays.fill(latestFloorNanos, -1);

        // Limits exactly as ClockDaemon builds them from Settings.
        long reachable = 3 * Math.max(scenario.pollIntervalNanos, scenario.chronySources > 0
                ? scenario.chronyPollIntervalNanos : 0) + scenario.replyTimeoutNanos;
        java.util.Set<String> trusted = new java.util.HashSet<>();
        if (scenario.trustPtp) {
            for (int p = 0; p < scenario.ptpSources; p++) {
                trusted.add(sourceNames[scenario.ntpServers + p]);
            }
        }
        this.estimator = new ClockEstimator(List.of(sourceNames), trusted, new ClockEstimator.Limits(driftPpb, 8,
                64 * scenario.pollIntervalNanos + 60 * Scenario.S, reachable, scenario.voidAfterNanos,
                // the daemon's horizon (chronyd's default maxpoll, ~18.5 h), as ClockDaemon sets it: within a run, only
                // chronyd's own word (its windows, read by the real ChronyWindows) lets it be used again after a step
                2 * detector.stepToleranceNanos(), ClockEstimator.chronyRegressionHorizonNanos(
                        ClockEstimator.CHRONY_MAX_SAMPLES, ClockEstimator.CHRONY_DEFAULT_MAX_POLL_NANOS)));
        if (scenario.readsRealtime()) {
            estimator.realtimeWatchedFrom(startMonotonic); // as ClockDaemon: nothing from before it started
        }
        this.disruptions = new DisruptionMonitor(detector, estimator, scenario.replyTimeoutNanos);
        this.result = new RunResult(scenario, seed, durationSeconds, samplesPerPublish);
    }

    private double drawFrequency(double max) {
        if (oscRandom.nextDouble() < sc.driftAtEdgeProbability) {
            return oscRandom.nextBoolean() ? max : -max;
        }
        return (2 * oscRandom.nextDouble() - 1) * max;
    }

    private long[][] serverOutages(SplittableRandom r) {
        double expected = sc.serverOutagesPerHour * durationNanos / 3600e9;
        int count = expected <= 0 ? 0 : poisson(r, expected);
        long[] from = new long[count];
        long[] until = new long[count];
        for (int k = 0; k < count; k++) {
            from[k] = startTrueNanos + r.nextLong(durationNanos);
            until[k] = from[k] + SimNtpServer.uniform(r, sc.serverOutageMinNanos, sc.serverOutageMaxNanos);
        }
        return new long[][] {from, until};
    }

    private static int poisson(SplittableRandom r, double mean) {
        // Knuth's method; the means used here are small (a few per hour)
        double l = Math.exp(-Math.min(mean, 500));
        int k = 0;
        double p = 1;
        do {
            k++;
            p *= r.nextDouble();
        } while (p > l);
        return k - 1;
    }

    private long exponentialNanos(SplittableRandom r, double perHour) {
        double meanNanos = 3600e9 / perHour;
        return 1 + (long) (-Math.log(1 - r.nextDouble()) * meanNanos);
    }

    private void schedule(long trueNanos, int type, int source, Exchange exchange) {
        if (trueNanos <= endTrueNanos) {
            queue.add(new Event(trueNanos, seq++, type, source, exchange));
        }
    }

    /** Runs the scenario to its end and returns what was checked and found. */
    public RunResult run() {
        schedule(startTrueNanos + Scenario.S, OSC_TICK, -1, null);
        if (sc.frequencyStepsPerHour > 0) {
            schedule(startTrueNanos + exponentialNanos(oscRandom, sc.frequencyStepsPerHour), FREQUENCY_STEP, -1, null);
        }
        for (int i = 0; i < servers.length; i++) {
            schedule(startTrueNanos + world.nextLong(sc.pollIntervalNanos), POLL, i, null);
            if (servers[i].stepping) {
                schedule(startTrueNanos + exponentialNanos(world, sc.serverStepsPerHour), SERVER_STEP, i, null);
            }
        }
        if (sc.readsRealtime()) {
            schedule(startTrueNanos, DISRUPTION_CHECK, -1, null);
        }
        for (int p = 0; p < sc.ptpSources; p++) {
            schedule(startTrueNanos + world.nextLong(sc.ptpIntervalNanos), PTP_SAMPLE, sc.ntpServers + p, null);
            if (sc.ptpViaRealtime) {
                schedule(startTrueNanos + realtimeRandom.nextLong(sc.ptpIntervalNanos), PTP_POLL, sc.ntpServers + p, null);
            }
        }
        for (int c = 0; c < sc.chronySources; c++) {
            int source = sc.ntpServers + sc.ptpSources + c;
            schedule(startTrueNanos + realtimeRandom.nextLong(sc.chronyUpdateIntervalNanos), CHRONY_UPDATE, source, null);
            schedule(startTrueNanos + realtimeRandom.nextLong(sc.chronyPollIntervalNanos), CHRONY_POLL, source, null);
        }
        if (sc.realtimeStepsPerHour > 0) {
            schedule(startTrueNanos + exponentialNanos(realtimeRandom, sc.realtimeStepsPerHour), REALTIME_STEP, -1, null);
        }
        publish(startTrueNanos); // as ClockDaemon.start: a first estimate before anything else
        schedule(startTrueNanos + sc.publishIntervalNanos, PUBLISH_TICK, -1, null);

        Event e;
        while ((e = queue.poll()) != null) {
            long t = e.trueNanos;
            switch (e.type) {
                case OSC_TICK -> {
                    double f = osc.frequencyError() + oscRandom.nextGaussian() * sc.wanderPpbPerSecond * 1e-9;
                    osc.setFrequency(t, f);
                    schedule(t + Scenario.S, OSC_TICK, -1, null);
                }
                case FREQUENCY_STEP -> {
                    osc.setFrequency(t, drawFrequency(osc.maxFrequencyError()));
                    result.frequencySteps++;
                    schedule(t + exponentialNanos(oscRandom, sc.frequencyStepsPerHour), FREQUENCY_STEP, -1, null);
                }
                case POLL -> {
                    poll(t, e.source);
                    schedule(t + sc.pollIntervalNanos, POLL, e.source, null);
                }
                case REQUEST_ARRIVES -> serve(t, e.source, e.exchange);
                case REPLY_ARRIVES -> receive(t, e.source, e.exchange);
                case PUBLISH_TICK -> {
                    publish(t);
                    schedule(t + sc.publishIntervalNanos, PUBLISH_TICK, -1, null);
                }
                case PTP_SAMPLE -> {
                    ptpSample(t, e.source);
                    schedule(t + sc.ptpIntervalNanos, PTP_SAMPLE, e.source, null);
                }
                case SERVER_STEP -> {
                    servers[e.source].step();
                    result.serverSteps++;
                    schedule(t + exponentialNanos(world, sc.serverStepsPerHour), SERVER_STEP, e.source, null);
                }
                case REALTIME_STEP -> {
                    realtimeStep();
                    schedule(t + exponentialNanos(realtimeRandom, sc.realtimeStepsPerHour), REALTIME_STEP, -1, null);
                }
                case DISRUPTION_CHECK -> {
                    disruptionCheck(t);
                    schedule(t + sc.disruptionCheckIntervalNanos, DISRUPTION_CHECK, -1, null);
                }
                case PTP_POLL -> {
                    ptpPoll(t, e.source);
                    schedule(t + sc.ptpIntervalNanos, PTP_POLL, e.source, null);
                }
                case CHRONY_UPDATE -> {
                    chronyUpdate(t, e.source);
                    schedule(t + sc.chronyUpdateIntervalNanos, CHRONY_UPDATE, e.source, null);
                }
                case CHRONY_POLL -> {
                    chronyPoll(t, e.source);
                    schedule(t + sc.chronyPollIntervalNanos, CHRONY_POLL, e.source, null);
                }
                default -> throw new IllegalStateException("unknown event type " + e.type);
            }
        }
        // The last snapshot is read until the end of the run.
        checkSnapshot(endTrueNanos);
        if (result.violations > 0) {
            result.violationsBySeed.put(seed, result.violations);
        }
        return result;
    }

    private boolean isDown(int server, long t) {
        for (int g = 0; g < globalDownFrom.length; g++) {
            if (t >= globalDownFrom[g] && t < globalDownUntil[g]) {
                return true;
            }
        }
        return servers[server].isDownAt(t);
    }

    private void poll(long t, int i) {
        long nonce = nonceRandom.nextLong();
        if (nonce == 0) {
            nonce = 1;
        }
        byte[] request = NtpWire.request(nonce);
        long t1 = osc.monotonicAt(t);
        result.exchanges++;
        SimNtpServer s = servers[i];
        if (isDown(i, t) || s.lost()) {
            result.exchangesLost++;
            return;
        }
        schedule(t + s.forwardDelay(), REQUEST_ARRIVES, i, new Exchange(nonce, t1, request));
    }

    private void serve(long t, int i, Exchange x) {
        SimNtpServer s = servers[i];
        if (isDown(i, t)) {
            result.exchangesLost++;
            return;
        }
        long t2 = s.readClock(t);
        long depart = t + s.holdNanos();
        long t3 = Math.max(t2, s.readClock(depart)); // a server's transmit is never before its receive
        s.encodeReply(x.request, t2, t3, x.reply);
        if (s.lost()) {
            result.exchangesLost++;
            return;
        }
        schedule(depart + s.backwardDelay(), REPLY_ARRIVES, i, x);
    }

    private void receive(long t, int i, Exchange x) {
        long t4 = osc.monotonicAt(t);
        if (t4 - x.t1MonotonicNanos > sc.replyTimeoutNanos) {
            result.exchangesTimedOut++; // NtpSource has given up on it and dropped the pending nonce
            return;
        }
        NtpWire.Result r = NtpWire.parseReply(x.reply, NtpWire.PACKET_LENGTH, x.nonce, x.t1MonotonicNanos, t4,
                driftPpb, sc.maxRootDistanceNanos);
        if (r instanceof NtpWire.Rejected rejected) {
            result.rejected.merge(rejected.reason().name(), 1L, Long::sum);
            return;
        }
        if (r instanceof NtpWire.Kiss) {
            result.rejected.merge(RejectReason.KISS_OF_DEATH.name(), 1L, Long::sum); // simulated servers never kiss
            return;
        }
        Measurement m = ((NtpWire.Accepted) r).measurement();
        result.measurements++;
        SimNtpServer s = servers[i];
        if (honest[i]) {
            long halfDelay = (m.delayNanos() + 1) / 2;
            result.exchangeFloor.recordValue(halfDelay + s.honestErrorNanos);
            setFloor(i, halfDelay + s.honestErrorNanos);
            result.delay.recordValue(m.delayNanos());
        }
        feed(t, i, m);
    }

    private void ptpSample(long t, int source) {
        if (world.nextDouble() < 0.01) {
            return; // a lost Sync
        }
        if (sc.ptpViaRealtime) {
            ptpSync(t, source);
            return;
        }
        long bound = ptpBoundNanos[source - sc.ntpServers];
        long m = osc.monotonicAt(t);
        // Error within the bound less 2 ns: a whole-nanosecond monotonic reading may age one ns faster than
        // the drift term (NtpWire keeps the same allowance, QUANTISATION_NANOS).
        long limit = bound - 2;
        long err = Math.max(-limit, Math.min(limit, Math.round(world.nextGaussian() * bound / 4.0)));
        Measurement measurement = new Measurement(m, t - m + err, bound, 0);
        result.measurements++;
        result.exchangeFloor.recordValue(bound);
        setFloor(source, bound);
        feed(t, source, measurement);
    }

    /** The host's realtime clock is set: realtime minus monotonic moves; true time and the monotonic clock do not. */
    private void realtimeStep() {
        double logMin = Math.log(sc.realtimeStepMinNanos);
        double logMax = Math.log(sc.realtimeStepMaxNanos);
        long size = Math.max(1, Math.round(Math.exp(logMin + realtimeRandom.nextDouble() * (logMax - logMin))));
        realtimeMinusMonotonicNanos += realtimeRandom.nextBoolean() ? size : -size;
        result.realtimeSteps++;
    }

    /** A realtime reading between two monotonic ones, as SystemClocks.readPair takes it. */
    private SystemClocks.Pair readPair(long t) {
        long before = osc.monotonicAt(t);
        // tens to hundreds of ns, now and then a thread descheduled between the reads
        long bracket = realtimeRandom.nextDouble() < 0.001 ? 20_000 + realtimeRandom.nextLong(200_000)
                : 30 + realtimeRandom.nextLong(300);
        long readAt = before + realtimeRandom.nextLong(bracket + 1);
        return new SystemClocks.Pair(readAt + realtimeMinusMonotonicNanos, before, before + bracket);
    }

    /** A reading for the disruption check, as ClockDaemon takes it (no CLOCK_BOOTTIME: no suspends here). */
    private DisruptionMonitor.Reading readClocks(long t) {
        SystemClocks.Pair p = readPair(t);
        return new DisruptionMonitor.Reading(p.monotonicBeforeNanos(), Long.MIN_VALUE, p.monotonicAfterNanos(),
                p.realtimeEpochNanos(), p.monotonicBeforeNanos(), p.monotonicAfterNanos());
    }

    /** ClockDaemon.checkDisruption: the daemon's DisruptionMonitor on a reading, a publish on a disruption. */
    private void disruptionCheck(long t) {
        reportDisruption(t, disruptions.check(readClocks(t)));
    }

    /** ClockDaemon.reportDisruption: counted, and published at once. */
    private void reportDisruption(long t, DisruptionMonitor.Check c) {
        if (c.disruption() != null) {
            result.realtimeStepsReported++;
            result.realtimeStepVoided += c.dropped();
            publish(t);
        }
    }

    /**
     * ptp4l receives a Sync: it stamps the ingress on the host's realtime clock and computes its master_offset
     * (slave minus master), off by at most the path asymmetry and timestamping error, which the source's
     * mean path delay and allowance cover (less 2 ns, as for the direct PTP-like sources).
     */
    private void ptpSync(long t, int source) {
        int p = source - sc.ntpServers;
        long ingress = osc.monotonicAt(t) + realtimeMinusMonotonicNanos;
        long limit = ptpBoundNanos[p] - 2;
        long err = Math.max(-limit, Math.min(limit, Math.round(world.nextGaussian() * ptpBoundNanos[p] / 4.0)));
        ptpIngressEpochNanos[p] = ingress;
        ptpMasterOffsetNanos[p] = ingress - t + err;
    }

    /** PtpSource's poll: the three data sets and a realtime reading, through the real PtpBound. */
    private void ptpPoll(long t, int source) {
        int p = source - sc.ntpServers;
        if (ptpIngressEpochNanos[p] == 0) {
            return;
        }
        PtpManagement.TimeStatus ts = new PtpManagement.TimeStatus(ptpMasterOffsetNanos[p], ptpIngressEpochNanos[p],
                0, 0, 0, new PtpManagement.ScaledNs(0, 0, 0), true, SIM_GM);
        PtpManagement.ParentDataSet parent = new PtpManagement.ParentDataSet(SIM_GM, 1, false, 0xFFFF, 0x7FFFFFFF,
                128, new PtpManagement.ClockQuality(6, PTP_ACCURACY_CODE, 0x4E5D), 128, SIM_GM);
        PtpManagement.CurrentDataSet current = new PtpManagement.CurrentDataSet(1, 0, ptpPathDelayNanos[p] << 16);
        PtpBound.Result r = PtpBound.measure(ts, parent, current, readPair(t), ptpConfig[p]);
        if (r instanceof PtpManagement.Rejected rejected) {
            result.rejected.merge(rejected.reason().name(), 1L, Long::sum);
            return;
        }
        Measurement m = ((PtpBound.Accepted) r).measurement();
        result.measurements++;
        long floor = ptpBoundNanos[p] + PtpBound.clockAccuracyNanos(PTP_ACCURACY_CODE);
        result.exchangeFloor.recordValue(floor);
        setFloor(source, floor);
        feed(t, source, m);
    }

    /**
     * chronyd updates its clock estimate: its correction is true time minus the realtime clock as it is now, off by
     * less than the root distance it reports. It does not notice later steps of the realtime clock (chronyd only
     * notices jumps of about a second or more), so its correction stays relative to this clock until the next update.
     */
    private void chronyUpdate(long t, int source) {
        int c = source - sc.ntpServers - sc.ptpSources;
        long distance = (chronyRootDelayNanos[c] + 1) / 2 + chronyRootDispersionNanos[c];
        long limit = distance - 2;
        long err = limit <= 0 ? 0 : realtimeRandom.nextLong(-limit, limit + 1);
        long realtime = osc.monotonicAt(t) + realtimeMinusMonotonicNanos;
        if (Math.abs(t + err - realtime) > sc.chronyMakestepNanos) {
            long stepNanos = t + err - realtime;
            realtimeMinusMonotonicNanos += stepNanos; // chronyd steps the clock onto its estimate
            realtime = t + err;
            result.realtimeSteps++;
            // chronyd corrects its stored samples for a step it made itself (SST_SlewSamples)
            for (int i = 0; i < chronySampleCount[c]; i++) {
                chronySampleRealtimeMinusMonotonicNanos[c][i] += stepNanos;
            }
        }
        chronyCorrectionNanos[c] = t - realtime + err + chronyRegressionErrorNanos(c, t);
        chronyReferenceEpochNanos[c] = realtime + chronyCorrectionNanos[c];
    }

    /**
     * Takes chronyd's sample at this update into its window and returns how far its regression's estimate at the
     * newest sample is pulled by samples measured against the realtime clock before a step chronyd did not make: a
     * sample taken when realtime minus monotonic was {@code K_i} reads {@code K_now - K_i} more than one taken now,
     * and the least-squares line through those excesses (equal weights), at the newest sample, is the error. It
     * is 0 once every sample in the window is from after the step; the fit's other error is the honest part within
     * chronyd's root distance.
     */
    private long chronyRegressionErrorNanos(int c, long t) {
        long[] times = chronySampleTrueNanos[c];
        long[] ks = chronySampleRealtimeMinusMonotonicNanos[c];
        int n = chronySampleCount[c];
        if (n == times.length) {
            System.arraycopy(times, 1, times, 0, n - 1);
            System.arraycopy(ks, 1, ks, 0, n - 1);
            n--;
        }
        times[n] = t;
        ks[n] = realtimeMinusMonotonicNanos;
        n++;
        chronySampleCount[c] = n;
        if (n < 3) {
            return 0; // chronyd uses its newest sample alone until it has 3: measured against the clock as it is
        }
        double meanX = 0;
        double meanY = 0;
        for (int i = 0; i < n; i++) {
            meanX += (times[i] - t) / 1e9;
            meanY += realtimeMinusMonotonicNanos - ks[i];
        }
        meanX /= n;
        meanY /= n;
        double sxy = 0;
        double sxx = 0;
        for (int i = 0; i < n; i++) {
            double dx = (times[i] - t) / 1e9 - meanX;
            sxy += dx * (realtimeMinusMonotonicNanos - ks[i] - meanY);
            sxx += dx * dx;
        }
        double slope = sxx == 0 ? 0 : sxy / sxx;
        return Math.round(meanY - slope * meanX); // the line at the newest sample (x = 0)
    }

    /**
     * ChronySource's round of SOURCE_DATA and SOURCESTATS before its tracking request, through the real
     * {@link ChronyWindows}: chronyd's answers are what it would say of its simulated window, in its own realtime
     * (so a step it did not make skews the ages, as it would): since_sample from the last sample's time with its
     * fraction cut, truncated; span_seconds from the first to the last sample, rounded. Returns the start of the
     * windows behind an update at {@code updateMonotonicNanos}.
     */
    private long chronyWindowSince(int c, long t, long updateMonotonicNanos) {
        if (chronyWindows[c] == null) {
            chronyWindows[c] = new ChronyWindows(driftPpb);
        }
        int n = chronySampleCount[c];
        long nowMonotonic = osc.monotonicAt(t);
        if (n > 0) {
            long nowRealtime = nowMonotonic + realtimeMinusMonotonicNanos;
            long firstRealtime = osc.monotonicAt(chronySampleTrueNanos[c][0]) + chronySampleRealtimeMinusMonotonicNanos[c][0];
            long lastRealtime = osc.monotonicAt(chronySampleTrueNanos[c][n - 1])
                    + chronySampleRealtimeMinusMonotonicNanos[c][n - 1];
            long since = Math.max(0, Math.floorDiv(nowRealtime - Math.floorDiv(lastRealtime, Scenario.S) * Scenario.S,
                    Scenario.S));
            long span = Math.max(0, Math.round((lastRealtime - firstRealtime) / 1e9));
            long oldest = ChronyWindows.oldestSampleMonotonicNanos(
                    List.of(new ChronyCmdmon.SourceData("127.0.0.1", 1, 1, 0, 0, 0, 255, since)),
                    List.of(new ChronyCmdmon.Sourcestats(0x7F000001, "127.0.0.1", n, 1, span, 0, 0, 0, 0, 0)),
                    nowMonotonic, driftPpb);
            chronyWindows[c].observed(nowMonotonic, oldest);
        }
        return chronyWindows[c].windowSince(updateMonotonicNanos);
    }

    /** ChronySource's poll: chronyd's tracking report and a realtime reading, through the real ChronyBound. */
    private void chronyPoll(long t, int source) {
        int c = source - sc.ntpServers - sc.ptpSources;
        if (chronyReferenceEpochNanos[c] == 0) {
            return;
        }
        ChronyCmdmon.TrackingReport report = new ChronyCmdmon.TrackingReport(0x7F000001, "127.0.0.1", 2, 0,
                chronyReferenceEpochNanos[c], chronyCorrectionNanos[c], 0, 0, 0, 0, 0, chronyRootDelayNanos[c],
                chronyRootDispersionNanos[c], sc.chronyUpdateIntervalNanos / 1e9);
        ChronyBound.Result r = ChronyBound.measure(report, readPair(t), driftPpb, sc.maxRootDistanceNanos);
        if (r instanceof ChronyBound.Rejected rejected) {
            result.rejected.merge(rejected.reason().name(), 1L, Long::sum);
            return;
        }
        Measurement m = ((ChronyBound.Accepted) r).measurement();
        long windowSince = chronyWindowSince(c, t, m.realtimeSinceMonotonicNanos());
        if (windowSince != Measurement.WINDOW_UNKNOWN && windowSince - m.atMonotonicNanos() <= 0) {
            m = m.withWindowSince(windowSince);
        }
        result.measurements++;
        long floor = (chronyRootDelayNanos[c] + 1) / 2 + chronyRootDispersionNanos[c];
        result.exchangeFloor.recordValue(floor);
        setFloor(source, floor);
        feed(t, source, m);
    }

    private void setFloor(int source, long floorNanos) {
        latestFloorNanos[source] = floorNanos;
        long min = -1;
        for (int k = 0; k < latestFloorNanos.length; k++) {
            if (honest[k] && latestFloorNanos[k] >= 0 && (min < 0 || latestFloorNanos[k] < min)) {
                min = latestFloorNanos[k];
            }
        }
        currentFloorNanos = min;
    }

    private void feed(long t, int source, Measurement m) {
        if (sc.measurementBoundScale != 1) {
            m = new Measurement(m.atMonotonicNanos(), m.epochOffsetNanos(),
                    (long) (m.boundNanos() * sc.measurementBoundScale), m.delayNanos());
        }
        // ClockDaemon.onMeasurement: the daemon's DisruptionMonitor checks for a realtime step first
        DisruptionMonitor.Admission admission = disruptions.admit(sourceNames[source], m, () -> readClocks(t));
        for (DisruptionMonitor.Check c : admission.disruptions()) {
            reportDisruption(t, c);
        }
        if (admission.inconclusive()) {
            result.rejected.merge("CLOCK_STEPPED", 1L, Long::sum);
            return;
        }
        ClockEstimator.Outcome outcome = admission.outcome();
        if (outcome == ClockEstimator.Outcome.REALTIME_STEPPED) {
            result.realtimeStepVoided++;
            result.rejected.merge("CLOCK_STEPPED", 1L, Long::sum);
            return; // ClockDaemon rejects it without publishing
        }
        if (outcome == ClockEstimator.Outcome.QUARANTINED) {
            return;
        }
        publish(t); // ClockDaemon publishes after every measurement
    }

    private void publish(long t) {
        long now = osc.monotonicAt(t);
        Estimate estimate = estimator.estimate(now, realtimeMinusMonotonicNanos);
        checkSnapshot(t);
        current = estimate.snapshot();
        currentPublishedTrueNanos = t;
        result.publishes++;
        result.statusCounts[current.status().ordinal()]++;
        if (estimate.falsetickerCount() > 0) {
            result.publishesWithFalsetickers++;
        }
    }

    /**
     * Reads the current snapshot at {@code samplesPerPublish} instants in [its publish, {@code untilTrueNanos}],
     * the last one at the end (the most aged), and checks each interval against true time.
     */
    private void checkSnapshot(long untilTrueNanos) {
        ClockSnapshot s = current;
        if (s == null) {
            return;
        }
        long from = currentPublishedTrueNanos;
        long span = untilTrueNanos - from;
        ClockStatus status = s.status();
        boolean usable = status.isUsable();
        for (int k = 0; k < samplesPerPublish; k++) {
            long t = k == samplesPerPublish - 1 || span == 0 ? untilTrueNanos : from + readerRandom.nextLong(span + 1);
            if (!usable) {
                result.unusableSamples++;
                continue;
            }
            long m = osc.monotonicAt(t);
            if (s.isVoidAt(m)) {
                result.voidSamples++;
                continue;
            }
            TimeInterval interval = s.intervalAt(m);
            long epsilon = interval.epsilonNanos();
            long midpoint = m + s.epochOffsetNanos();
            long error = Math.abs(midpoint - t);
            result.samples++;
            if (status == ClockStatus.SYNCHRONIZED) {
                result.epsilonSynchronized.recordValue(epsilon);
                result.errorSynchronized.recordValue(error);
                if (currentFloorNanos >= 0) {
                    result.floorAtSample.recordValue(currentFloorNanos);
                }
            } else {
                result.epsilonFreeRunning.recordValue(epsilon);
                result.errorFreeRunning.recordValue(error);
            }
            if (!interval.contains(t)) {
                result.violations++;
                if (result.violationDetails.size() < MAX_VIOLATIONS_KEPT) {
                    long outside = t < interval.earliestEpochNanos() ? interval.earliestEpochNanos() - t
                            : t - interval.latestEpochNanos();
                    result.addViolationDetail(new RunResult.Violation(t - startTrueNanos, m, t,
                            interval.earliestEpochNanos(), interval.latestEpochNanos(), status, epsilon, error,
                            outside, s.asOfMonotonicNanos(), osc.frequencyError()));
                }
            }
        }
    }

    /** The names of the configured sources, in order, with what each is (for reports). */
    List<String> describeSources() {
        List<String> out = new ArrayList<>();
        for (SimNtpServer s : servers) {
            out.add(s.name + " " + s.kind + (s.stepping ? " stepping" : "") + " honestError=" + s.honestErrorNanos
                    + "ns fwd=" + s.forwardBaseNanos + "ns back=" + s.backwardBaseNanos + "ns");
        }
        for (int p = 0; p < ptpBoundNanos.length; p++) {
            out.add(sourceNames[sc.ntpServers + p] + " PTP bound=" + ptpBoundNanos[p] + "ns"
                    + (sc.ptpViaRealtime ? " via realtime" : ""));
        }
        for (int c = 0; c < chronyRootDelayNanos.length; c++) {
            out.add(sourceNames[sc.ntpServers + sc.ptpSources + c] + " chronyd rootDelay=" + chronyRootDelayNanos[c]
                    + "ns rootDispersion=" + chronyRootDispersionNanos[c] + "ns");
        }
        return out;
    }
}
