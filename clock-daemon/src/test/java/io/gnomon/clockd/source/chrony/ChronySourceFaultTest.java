package io.gnomon.clockd.source.chrony;

import io.gnomon.clockd.SystemClocks;
import io.gnomon.clockd.select.Measurement;
import io.gnomon.clockd.select.RejectReason;
import io.gnomon.clockd.select.SourceListener;
import io.gnomon.clockd.testing.FakeCmdmonServer;
import io.gnomon.clockd.testing.SystemOffset;
import io.gnomon.clockd.testing.FakeCmdmonServer.Fault;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** {@link ChronySource} against a fake chronyd that breaks its replies in every way the source checks. */
@Timeout(30)
class ChronySourceFaultTest {

    private static final String NAME = "chrony:fake";
    private static final long POLL_INTERVAL_NANOS = Duration.ofMillis(50).toNanos();
    private static final long REPLY_TIMEOUT_NANOS = Duration.ofMillis(40).toNanos();
    private static final long MAX_DRIFT_PPB = 500_000;
    private static final long MAX_ROOT_DISTANCE_NANOS = Duration.ofSeconds(1).toNanos();

    private final List<AutoCloseable> toClose = new ArrayList<>();
    private final RecordingListener listener = new RecordingListener();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private static ConditionFactory waitUp() {
        return await().atMost(Duration.ofSeconds(5)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(5));
    }

    private FakeCmdmonServer fake() throws IOException {
        FakeCmdmonServer fake = FakeCmdmonServer.start();
        toClose.add(fake);
        return fake;
    }

    private ChronySource source(InetSocketAddress chronyd, SourceListener l, SystemClocks clocks) throws IOException {
        ChronySource source = new ChronySource(new ChronySource.Config(NAME, chronyd, POLL_INTERVAL_NANOS,
                REPLY_TIMEOUT_NANOS, MAX_DRIFT_PPB, MAX_ROOT_DISTANCE_NANOS,
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)), l, new SplittableRandom(11), clocks);
        toClose.add(source);
        source.start();
        return source;
    }

    @Test
    void validRepliesGiveIntervalsContainingTheSystemClock() throws IOException {
        FakeCmdmonServer fake = fake();
        source(fake.address(), listener, SystemClocks.SYSTEM);

        waitUp().until(() -> listener.measurements(NAME).size() >= 3);
        for (Measurement m : listener.measurements(NAME)) {
            assertThat(SystemOffset.missedBy(m, MAX_DRIFT_PPB)).isEmpty();
            // 10 us / 2 + 5 us from the report, and 100 ms of age at 500 ppm = 50 us
            assertThat(m.boundNanos()).isGreaterThanOrEqualTo(10_000 + 50_000).isLessThan(1_000_000);
            assertThat(m.delayNanos()).isZero();
        }
    }

    @ParameterizedTest
    @EnumSource(value = Fault.class, names = {"NONE", "WRONG_SOURCE_PORT"}, mode = EnumSource.Mode.EXCLUDE)
    void eachFaultIsCountedUnderItsReasonAndTheSourceRecovers(Fault fault) throws IOException {
        RejectReason expected = switch (fault) {
            case SHORT_HEADER, SHORT_TRACKING, WRONG_VERSION, WRONG_TYPE, WRONG_COMMAND, WRONG_REPLY_CODE ->
                    RejectReason.CMDMON_MALFORMED;
            case ERROR_STATUS -> RejectReason.CMDMON_ERROR_STATUS;
            case WRONG_SEQUENCE -> RejectReason.CMDMON_SEQUENCE_MISMATCH;
            case LEAP_3, STRATUM_0, STRATUM_16 -> RejectReason.SOURCE_UNSYNCHRONIZED;
            case NEGATIVE_ROOT_DELAY, INFINITE_ROOT_DISPERSION -> RejectReason.ABSURD_ROOT_DISTANCE;
            case ZERO_REFERENCE_TIME, FUTURE_REFERENCE_TIME -> RejectReason.BAD_REFERENCE_TIME;
            case SILENT -> RejectReason.TIMEOUT;
            default -> throw new AssertionError(fault);
        };
        FakeCmdmonServer fake = fake();
        fake.setFault(fault);
        source(fake.address(), listener, SystemClocks.SYSTEM);

        waitUp().until(() -> listener.count(NAME, expected) >= 2);
        assertThat(listener.measurements(NAME)).isEmpty();
        if (fault == Fault.WRONG_SEQUENCE || fault == Fault.SHORT_HEADER || fault == Fault.WRONG_VERSION
                || fault == Fault.WRONG_TYPE) {
            // not an answer to the request: it stays outstanding until it times out
            waitUp().until(() -> listener.rejected(NAME, RejectReason.TIMEOUT));
        }

        fake.setFault(Fault.NONE);
        int healed = listener.events.size();
        waitUp().until(() -> listener.measuredSince(NAME, healed));
    }

    @Test
    void aReplyFromAnotherPortIsAnUnexpectedSourceAndTheRequestTimesOut() throws IOException {
        FakeCmdmonServer fake = fake();
        fake.setFault(Fault.WRONG_SOURCE_PORT);
        source(fake.address(), listener, SystemClocks.SYSTEM);

        waitUp().until(() -> listener.rejected(ChronySource.UNKNOWN_SOURCE_NAME, RejectReason.UNEXPECTED_SOURCE)
                && listener.rejected(NAME, RejectReason.TIMEOUT));
        assertThat(listener.measurements(NAME)).isEmpty();

        fake.setFault(Fault.NONE);
        int healed = listener.events.size();
        waitUp().until(() -> listener.measuredSince(NAME, healed));
    }

    @Test
    void explodingDispersionWidensTheBoundThenIsRejectedPastTheMaximum() throws IOException {
        FakeCmdmonServer fake = fake();
        source(fake.address(), listener, SystemClocks.SYSTEM);
        waitUp().until(() -> !listener.measurements(NAME).isEmpty());

        fake.setRootDispersion(Duration.ofMillis(300));
        int before = listener.events.size();
        // List.copyOf first: a subList view of a CopyOnWriteArrayList fails if the source appends meanwhile.
        waitUp().until(() -> List.copyOf(listener.events).stream().skip(before)
                .anyMatch(e -> e.measurement() != null && e.measurement().boundNanos() >= 300_000_000L));

        fake.setRootDispersion(Duration.ofSeconds(2));
        waitUp().until(() -> listener.rejected(NAME, RejectReason.ABSURD_ROOT_DISTANCE));
    }

    @Test
    void aStepOfTheRealtimeClockIsRejectedUntilChronydUpdates() throws IOException {
        FakeCmdmonServer fake = fake();
        SteppableClocks clocks = new SteppableClocks();
        source(fake.address(), listener, clocks);
        waitUp().until(() -> listener.measurements(NAME).size() >= 2);

        clocks.stepNanos = 50_000_000; // realtime jumps 50 ms ahead
        waitUp().until(() -> listener.rejected(NAME, RejectReason.CLOCK_STEPPED));
        // the fake's reference time moves with every reply, i.e. "chronyd updated": measurements resume
        int afterStep = listener.events.size();
        waitUp().until(() -> listener.measuredSince(NAME, afterStep));
    }

    @Test
    void strayDatagramsAndFloodsChangeNothing() throws IOException {
        FakeCmdmonServer fake = fake();
        ChronySource source = source(fake.address(), listener, SystemClocks.SYSTEM);
        try (DatagramSocket stranger = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            for (int i = 0; i < 5 * ChronySource.MAX_DATAGRAMS_REPORTED_PER_POLL; i++) {
                stranger.send(new DatagramPacket(new byte[2000], i % 2 == 0 ? 2000 : 3, source.localAddress()));
            }
        }
        waitUp().until(() -> listener.rejected(ChronySource.UNKNOWN_SOURCE_NAME, RejectReason.UNEXPECTED_SOURCE));
        int after = listener.events.size();
        waitUp().until(() -> listener.measuredSince(NAME, after));
    }

    @Test
    void aThrowingListenerDoesNotStopTheSource() throws IOException {
        FakeCmdmonServer fake = fake();
        List<Measurement> received = new CopyOnWriteArrayList<>();
        source(fake.address(), new SourceListener() {
            @Override
            public void onMeasurement(String sourceName, Measurement measurement) {
                received.add(measurement);
                throw new IllegalStateException("listener bug");
            }

            @Override
            public void onRejected(String sourceName, RejectReason reason, String detail) {
                throw new IllegalStateException("listener bug");
            }
        }, SystemClocks.SYSTEM);
        waitUp().until(() -> received.size() >= 3);
    }

    @Test
    void closeIsIdempotentAndStopsPolling() throws IOException {
        FakeCmdmonServer fake = fake();
        ChronySource source = source(fake.address(), listener, SystemClocks.SYSTEM);
        waitUp().until(() -> !listener.measurements(NAME).isEmpty());

        source.close();
        source.close();
        long requests = fake.requestsReceived();
        assertThatThrownBy(source::start).isInstanceOf(IllegalStateException.class);
        await().during(Duration.ofMillis(200)).atMost(Duration.ofSeconds(1))
                .until(() -> fake.requestsReceived() <= requests + 1);
    }

    @Test
    void configNamesTheBadField() {
        InetSocketAddress chronyd = new InetSocketAddress("127.0.0.1", 323);
        InetSocketAddress bind = new InetSocketAddress(0);
        assertThatThrownBy(() -> new ChronySource.Config("c", chronyd, 1_000, 1_000, 0, 1, bind))
                .hasMessageContaining("pollIntervalNanos");
        assertThatThrownBy(() -> new ChronySource.Config("c", chronyd, POLL_INTERVAL_NANOS, POLL_INTERVAL_NANOS + 1,
                0, 1, bind)).hasMessageContaining("replyTimeoutNanos");
        assertThatThrownBy(() -> new ChronySource.Config(ChronySource.UNKNOWN_SOURCE_NAME, chronyd,
                POLL_INTERVAL_NANOS, 1, 0, 1, bind)).hasMessageContaining("name");
        assertThatThrownBy(() -> new ChronySource.Config("c", new InetSocketAddress("127.0.0.1", 0),
                POLL_INTERVAL_NANOS, 1, 0, 1, bind)).hasMessageContaining("chronydAddress");
        ChronySource.Config defaults = ChronySource.Config.defaults(chronyd);
        assertThat(defaults.name()).isEqualTo("chrony:127.0.0.1:323");
        assertThat(defaults.bindAddress().getAddress().isLoopbackAddress()).isTrue();
    }

    /** The system's clocks, with realtime moved by a settable step. */
    static final class SteppableClocks implements SystemClocks {
        volatile long stepNanos;

        @Override
        public long nanoTime() {
            return System.nanoTime();
        }

        @Override
        public Pair readPair() {
            Pair p = SystemClocks.SYSTEM.readPair();
            return new Pair(p.realtimeEpochNanos() + stepNanos, p.monotonicBeforeNanos(), p.monotonicAfterNanos());
        }
    }
}
