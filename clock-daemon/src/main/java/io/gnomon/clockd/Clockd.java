package io.gnomon.clockd;

import io.gnomon.clockd.config.Settings;
import io.gnomon.clockd.journal.Journal;
import io.gnomon.clockd.page.Page;
import io.gnomon.clockd.publish.ClockBoundSink;
import io.gnomon.clockd.publish.ClockMetrics;
import io.gnomon.clockd.publish.FaultingSink;
import io.gnomon.clockd.publish.GrpcEndpoint;
import io.gnomon.clockd.publish.HttpEndpoint;
import io.gnomon.clockd.publish.SegmentSink;
import io.gnomon.clockd.publish.TrueTimeService;
import io.gnomon.clockd.select.DisruptionDetector;
import io.gnomon.clockd.select.Estimate;
import io.gnomon.clockd.select.Measurement;
import io.gnomon.clockd.select.RejectReason;
import io.gnomon.clockd.select.SourceCondition;
import io.gnomon.clockd.select.SourceState;
import io.gnomon.clockd.source.NtpSource;
import io.gnomon.clockd.source.chrony.ChronySource;
import io.gnomon.clockd.source.ptp.PtpSource;
import io.gnomon.truetime.ProjectVersion;
import io.gnomon.truetime.clockbound.ClockBoundWriter;
import io.gnomon.truetime.shm.SegmentWriter;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * A running clock daemon, assembled from validated settings: the core, its sources and every publisher.
 * {@code clockd} runs one; tests run one in-process on ephemeral ports. Closing stops the sources first,
 * then the core, then the publishers.
 */
public final class Clockd implements AutoCloseable {
    private final ClockDaemon daemon;
    private final GrpcEndpoint grpc;
    private final HttpEndpoint http;
    private final ClockMetrics metrics;
    private final TrueTimeService service;
    private final List<AutoCloseable> toClose;

    private Clockd(ClockDaemon daemon, GrpcEndpoint grpc, HttpEndpoint http, ClockMetrics metrics,
                   TrueTimeService service, List<AutoCloseable> toClose) {
        this.daemon = daemon;
        this.grpc = grpc;
        this.http = http;
        this.metrics = metrics;
        this.service = service;
        this.toClose = toClose;
    }

    /**
     * Starts everything; on any failure closes what was started and rethrows with a message naming what
     * could not start (a port in use, an unwritable segment or journal).
     */
    public static Clockd start(Settings s, SystemClocks clocks) throws IOException {
        return start(s, clocks, null);
    }

    /**
     * Like {@link #start(Settings, SystemClocks)}, with every publisher receiving the estimates as
     * {@code faults} makes them (null: none). For testing applications against a daemon that misbehaves.
     */
    public static Clockd start(Settings s, SystemClocks clocks, FaultingSink.Injection faults) throws IOException {
        List<AutoCloseable> started = new ArrayList<>();
        List<Path> created = new ArrayList<>();
        try {
            ClockDaemon daemon = new ClockDaemon(s, clocks);
            SegmentWriter writer = openSegment("segment", s.segmentPath(), SegmentWriter::open, created);
            SegmentSink segment = new SegmentSink(writer);
            started.add(segment);
            daemon.addSink(faults == null ? segment : new FaultingSink(segment, faults));
            if (s.clockBoundPath() != null) {
                ClockBoundSink clockBound = ClockBoundSink.open(openSegment("ClockBound segment", s.clockBoundPath(),
                        ClockBoundWriter::open, created), clocks);
                started.add(clockBound);
                daemon.addSink(faults == null ? clockBound : new FaultingSink(clockBound, faults));
            }

            ClockMetrics metrics = new ClockMetrics();
            declareSources(s, metrics);
            // process_start_time_seconds: how the fleet's rules see a restart (deploy/prometheus/clockd-rules.yml)
            new UptimeMetrics().bindTo(metrics.registry());
            TrueTimeService service = new TrueTimeService(clocks);
            Journal journal = null;
            if (s.journalDir() != null) {
                try {
                    journal = Journal.open(s.journalDir(), Duration.ofNanos(s.journalRetentionNanos()));
                } catch (IOException e) {
                    throw new IOException("cannot open journal " + s.journalDir() + ": " + e.getMessage(), e);
                }
                started.add(0, journal);
            }
            String version = ProjectVersion.get();
            PublishSink publish = new PublishSink(metrics, service, journal, version, clocks);
            daemon.addSink(faults == null ? publish : new FaultingSink(publish, faults));

            GrpcEndpoint grpc = GrpcEndpoint.start(s.grpcAddress(), service);
            started.add(0, grpc);
            Page page = new Page(service, clocks, s.journalDir(), version, Page.Limits.DEFAULT);
            started.add(0, page);
            daemon.addSink(faults == null ? page : new FaultingSink(page, faults));
            HttpEndpoint http = HttpEndpoint.start(s.metricsAddress(), metrics, page);
            started.add(0, http);

            daemon.start();
            started.add(0, daemon);
            if (!s.servers().isEmpty()) {
                NtpSource ntp = new NtpSource(new NtpSource.Config(s.servers(), s.pollIntervalNanos(),
                        s.replyTimeoutNanos(), s.maxDriftPpb(), s.maxRootDistanceNanos(),
                        NtpSource.Config.DEFAULT_BURST_POLLS, NtpSource.Config.DEFAULT_BURST_INTERVAL_NANOS,
                        new InetSocketAddress(0)), daemon, new SecureRandom(), clocks);
                ntp.start();
                started.add(0, ntp);
            }
            for (ChronySource.Config c : s.chronySources()) {
                ChronySource chrony = new ChronySource(c, daemon, new SecureRandom(), clocks);
                // after a step, the source reads chronyd's windows so that the estimator can trust it again early
                daemon.addSink(new ClockDaemon.Sink() {
                    @Override
                    public void onEstimate(io.gnomon.clockd.select.Estimate estimate, SystemClocks.Pair pair) {
                    }

                    @Override
                    public void onDisruption(io.gnomon.clockd.select.DisruptionDetector.Disruption d,
                                             SystemClocks.Pair pair) {
                        chrony.realtimeStepped(d.atMonotonicNanos());
                    }
                });
                chrony.start();
                started.add(0, chrony);
            }
            for (PtpSource.Config p : s.ptpSources()) {
                PtpSource ptp = new PtpSource(p, daemon, clocks);
                ptp.start();
                started.add(0, ptp);
            }
            return new Clockd(daemon, grpc, http, metrics, service, started);
        } catch (IOException | RuntimeException e) {
            closeAll(started);
            // A failed start leaves no segment behind: an empty one reads as "clockd is starting" forever.
            for (Path p : created) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ex) {
                    e.addSuppressed(ex);
                }
            }
            throw e;
        }
    }

    /**
     * Every counter a configured source can increment exists at 0 from the start (Prometheus' advice), so the fleet
     * view shows 0 rather than "No data" on a clean host, and rate() sees the first rejection.
     */
    private static void declareSources(Settings s, ClockMetrics metrics) {
        for (String name : s.serverNames()) {
            metrics.declareSource(name, NtpSource.STRAY_REASONS);
        }
        // Only NtpSource reports stray datagrams; chronyd's and ptp4l's sources count what does not fit as rejections.
        for (ChronySource.Config c : s.chronySources()) {
            metrics.declareSource(c.name(), Set.of());
        }
        for (PtpSource.Config p : s.ptpSources()) {
            metrics.declareSource(p.name(), Set.of());
        }
        if (!s.servers().isEmpty()) {
            // NtpSource counts a datagram from an address no server has under this name, not under a server's.
            metrics.declareRejections(NtpSource.UNKNOWN_SOURCE_NAME, EnumSet.of(RejectReason.UNEXPECTED_SOURCE));
        }
    }

    private interface SegmentOpener<W> {
        W open(Path path) throws IOException;
    }

    /** Opens a segment writer, adding the path to {@code created} if the file did not exist before. */
    private static <W> W openSegment(String what, Path path, SegmentOpener<W> opener, List<Path> created)
            throws IOException {
        boolean existed = Files.exists(path);
        try {
            W writer = opener.open(path);
            if (!existed) {
                created.add(path);
            }
            return writer;
        } catch (IOException e) {
            throw new IOException("cannot open " + what + " " + path + ": " + e.getMessage(), e);
        }
    }

    /** Metrics, the gRPC service and the journal hear of every estimate, measurement and rejection. */
    private record PublishSink(ClockMetrics metrics, TrueTimeService service, Journal journal, String version,
                               SystemClocks clocks) implements ClockDaemon.Sink {
        @Override
        public void onStart(SystemClocks.Pair c) {
            if (journal != null) {
                journal.recordStart(c.monotonicAfterNanos(), c.realtimeEpochNanos(), version);
            }
        }

        @Override
        public void onEstimate(Estimate e, SystemClocks.Pair c) {
            metrics.onEstimate(e);
            service.onEstimate(e);
            if (journal != null) {
                journal.recordSnapshot(c.monotonicAfterNanos(), c.realtimeEpochNanos(), e.snapshot(), e.reason(),
                        e.sources().stream().filter(SourceState::falseticker).map(SourceState::name).toList());
            }
        }

        @Override
        public void onMeasurement(String source, Measurement m, SystemClocks.Pair c) {
            metrics.onMeasurement(source, c.realtimeEpochNanos());
            if (journal != null) {
                journal.recordMeasurement(c.monotonicAfterNanos(), c.realtimeEpochNanos(), source, m);
            }
        }

        @Override
        public void onDisruption(DisruptionDetector.Disruption d, SystemClocks.Pair c) {
            metrics.onDisruption(d.kind());
            if (journal != null) {
                journal.recordDisruption(c.monotonicAfterNanos(), c.realtimeEpochNanos(), d);
            }
        }

        @Override
        public void onStrayDatagram(String source, RejectReason reason, String detail, SystemClocks.Pair c) {
            metrics.onStrayDatagram(source, reason);
        }

        @Override
        public void onCondition(String source, SourceCondition condition, String detail) {
            metrics.onCondition(source, condition);
            if (journal != null) { // on the core thread, as every sink callback; the condition comes without a reading
                SystemClocks.Pair c = clocks.readPair();
                journal.recordCondition(c.monotonicAfterNanos(), c.realtimeEpochNanos(), source, condition.name(), detail);
            }
        }

        @Override
        public void onRejected(String source, RejectReason reason, String detail, SystemClocks.Pair c) {
            metrics.onRejected(source, reason);
            service.onRejected(source);
            if (journal != null) {
                journal.recordRejected(c.monotonicAfterNanos(), c.realtimeEpochNanos(), source, reason, detail);
            }
        }
    }

    public ClockDaemon daemon() {
        return daemon;
    }

    public int grpcPort() {
        return grpc.port();
    }

    public int metricsPort() {
        return http.port();
    }

    public ClockMetrics metrics() {
        return metrics;
    }

    public TrueTimeService service() {
        return service;
    }

    @Override
    public void close() {
        closeAll(toClose);
    }

    private static void closeAll(List<AutoCloseable> list) {
        synchronized (list) {
            for (AutoCloseable c : list) {
                try {
                    c.close();
                } catch (Exception e) {
                    System.err.println("clockd: closing " + c.getClass().getSimpleName() + ": " + e.getMessage());
                }
            }
            list.clear();
        }
    }
}
