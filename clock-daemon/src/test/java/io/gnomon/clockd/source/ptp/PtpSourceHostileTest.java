package io.gnomon.clockd.source.ptp;

import io.gnomon.clockd.SystemClocks;
import io.gnomon.clockd.select.Measurement;
import io.gnomon.clockd.select.RejectReason;
import io.gnomon.clockd.select.SourceListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.newsclub.net.unix.AFUNIXDatagramChannel;
import org.newsclub.net.unix.AFUNIXSocketAddress;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;

import static io.gnomon.clockd.source.ptp.PtpManagementTest.reply;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * PtpSource against a fake ptp4l: a UNIX datagram peer in the test that answers each GET as the current
 * {@link Mode} says. Every hostile kind is counted under its reason, nothing stops the source, and it measures
 * again once the peer behaves.
 */
class PtpSourceHostileTest {

    @TempDir
    Path dir;

    enum Mode { GOOD, SHORT, WRONG_TYPE, BAD_LENGTH, WRONG_SEQUENCE, ERROR_STATUS, SILENCE, NO_GRANDMASTER, UNKNOWN_ACCURACY }

    @Test
    void hostileRepliesAreCountedAndTheSourceRecovers() throws Exception {
        Path ptp4lSocket = dir.resolve("fake-ptp4l.sock");
        Counting listener = new Counting();
        AtomicReference<Mode> mode = new AtomicReference<>(Mode.GOOD);
        try (FakePtp4l fake = new FakePtp4l(ptp4lSocket, mode);
             PtpSource source = new PtpSource(new PtpSource.Config("ptp:fake", ptp4lSocket, dir, 40_000_000L,
                     30_000_000L, PtpBound.Config.defaults()), listener, SystemClocks.SYSTEM)) {
            source.start();
            awaitMeasurements(listener, 2);

            expect(mode, listener, Mode.SHORT, RejectReason.PTP_MALFORMED);
            expect(mode, listener, Mode.WRONG_TYPE, RejectReason.PTP_MALFORMED);
            expect(mode, listener, Mode.BAD_LENGTH, RejectReason.PTP_MALFORMED);
            expect(mode, listener, Mode.WRONG_SEQUENCE, RejectReason.PTP_SEQUENCE_MISMATCH);
            expect(mode, listener, Mode.ERROR_STATUS, RejectReason.PTP_ERROR_STATUS);
            expect(mode, listener, Mode.SILENCE, RejectReason.TIMEOUT);
            expect(mode, listener, Mode.NO_GRANDMASTER, RejectReason.PTP_NO_GRANDMASTER);
            expect(mode, listener, Mode.UNKNOWN_ACCURACY, RejectReason.PTP_UNKNOWN_ACCURACY);
            // Garbled or out-of-sequence datagrams leave the real requests outstanding: they time out, not fail.
            assertThat(listener.count(RejectReason.TIMEOUT)).isPositive();

            // A stray sender that is not ptp4l's socket
            try (AFUNIXDatagramChannel stray = AFUNIXDatagramChannel.open()) {
                stray.setDeleteOnClose(true);
                stray.bind(AFUNIXSocketAddress.of(dir.resolve("stray.sock")));
                int before = listener.count(RejectReason.UNEXPECTED_SOURCE);
                stray.send(ByteBuffer.wrap(new byte[]{1, 2, 3}), AFUNIXSocketAddress.of(source.clientSocketPath()));
                await().atMost(Duration.ofSeconds(5))
                        .until(() -> listener.count(RejectReason.UNEXPECTED_SOURCE) > before);
            }

            mode.set(Mode.GOOD);
            int before = listener.measurements.get();
            awaitMeasurements(listener, before + 2);
            assertThat(fake.failure.get()).isNull();
        }
        assertThat(dir.toFile().list((d, name) -> name.startsWith("gnomon-ptp-"))).isEmpty();
    }

    @Test
    void ptp4lNotRunningIsATimeoutAndNotACrash() throws Exception {
        Counting listener = new Counting();
        try (PtpSource source = new PtpSource(new PtpSource.Config("ptp:absent", dir.resolve("absent.sock"), dir,
                20_000_000L, 10_000_000L, PtpBound.Config.defaults()), listener, SystemClocks.SYSTEM)) {
            source.start();
            await().atMost(Duration.ofSeconds(5)).until(() -> listener.count(RejectReason.TIMEOUT) >= 3);
            source.close();
            source.close(); // idempotent
        }
    }

    private static void expect(AtomicReference<Mode> mode, Counting listener, Mode next, RejectReason reason) {
        int before = listener.count(reason);
        mode.set(next);
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(5))
                .until(() -> listener.count(reason) >= before + 2);
    }

    private static void awaitMeasurements(Counting listener, int n) {
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(5))
                .until(() -> listener.measurements.get() >= n);
    }

    static final class Counting implements SourceListener {
        final AtomicInteger measurements = new AtomicInteger();
        final Map<RejectReason, AtomicInteger> rejections = new ConcurrentHashMap<>();

        @Override
        public void onMeasurement(String sourceName, Measurement measurement) {
            measurements.incrementAndGet();
        }

        @Override
        public void onRejected(String sourceName, RejectReason reason, String detail) {
            rejections.computeIfAbsent(reason, r -> new AtomicInteger()).incrementAndGet();
        }

        int count(RejectReason reason) {
            AtomicInteger n = rejections.get(reason);
            return n == null ? 0 : n.get();
        }
    }

    /** Answers each GET on a thread of its own, as {@code mode} says. */
    static final class FakePtp4l implements AutoCloseable {
        static final long GM = 0x3ac92bfffe2d65aeL;
        final AFUNIXDatagramChannel channel;
        final AtomicReference<Mode> mode;
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final Thread thread;

        FakePtp4l(Path socket, AtomicReference<Mode> mode) throws IOException {
            this.mode = mode;
            channel = AFUNIXDatagramChannel.open();
            channel.setDeleteOnClose(true);
            channel.bind(AFUNIXSocketAddress.of(socket));
            thread = new Thread(this::serve, "fake-ptp4l");
            thread.setDaemon(true);
            thread.start();
        }

        private void serve() {
            ByteBuffer in = ByteBuffer.allocate(1500);
            try {
                while (true) {
                    in.clear();
                    AFUNIXSocketAddress from = channel.receive(in);
                    byte[] request = HexFormat.of().parseHex(HexFormat.of().formatHex(in.array(), 0, in.position()));
                    int sequenceId = PtpManagement.get16(request, 30);
                    int managementId = PtpManagement.get16(request, 52);
                    byte[] answer = answer(mode.get(), sequenceId, managementId);
                    if (answer != null) {
                        channel.send(ByteBuffer.wrap(answer), from);
                    }
                }
            } catch (AsynchronousCloseException closed) {
                // closed by the test
            } catch (IOException | RuntimeException e) {
                failure.set(e);
            }
        }

        static byte[] answer(Mode mode, int sequenceId, int managementId) {
            long now = System.currentTimeMillis() * 1_000_000L;
            int accuracy = mode == Mode.UNKNOWN_ACCURACY ? 0xFE : 0x21;
            String data = switch (managementId) {
                case PtpManagement.MID_TIME_STATUS_NP -> String.format("%016x%016x", -50L, now - 1_000_000)
                        + "00000000" + "00000000" + "0000" + "0000" + "0000000000000000" + "0000"
                        + (mode == Mode.NO_GRANDMASTER ? "00000000" : "00000001") + String.format("%016x", GM);
                case PtpManagement.MID_PARENT_DATA_SET -> String.format("%016x", GM) + "0001" + "00" + "00" + "ffff"
                        + "7fffffff" + "80" + "06" + String.format("%02x", accuracy) + "4e5d" + "80"
                        + String.format("%016x", GM);
                default -> "0001" + "0000000000000000" + String.format("%016x", 3000L << 16);
            };
            byte[] good = HexFormat.of().parseHex(reply(sequenceId, managementId, data));
            return switch (mode) {
                case GOOD, NO_GRANDMASTER, UNKNOWN_ACCURACY -> good;
                case SHORT -> java.util.Arrays.copyOf(good, 20);
                case WRONG_TYPE -> with(good, b -> { b[0] = 0x0B; return b; });
                case BAD_LENGTH -> with(good, b -> { b[51] = (byte) (b[51] + 2); return b; });
                case WRONG_SEQUENCE -> with(good, b -> { b[31] = (byte) (b[31] + 100); return b; });
                case ERROR_STATUS -> HexFormat.of().parseHex(String.format("0d02003c%s%04x047f", "0".repeat(52),
                        sequenceId) + "0000000000000000000000000200" + "00020008" + "0006"
                        + String.format("%04x", managementId) + "00000000");
                case SILENCE -> null;
            };
        }

        private static byte[] with(byte[] b, UnaryOperator<byte[]> change) {
            return change.apply(b.clone());
        }

        @Override
        public void close() throws Exception {
            channel.close();
            thread.join(5_000);
        }
    }
}
