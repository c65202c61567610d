package io.gnomon.clockd.sim;

import io.gnomon.clockd.source.NtpWire;

import java.util.SplittableRandom;

/**
 * One simulated NTP server and the network path to it: its clock error against true time, how it answers
 * (real NTPv4 reply bytes, so the daemon's own {@link NtpWire#parseReply} runs), and the delays and losses
 * of each direction.
 *
 * <p>An honest server's error never exceeds what it advertises, as the client reads it:
 * {@code rootDelay / 2 + rootDispersion} plus one tick of its clock ({@code 2^precision}). Within that it
 * wanders, may sit at the very edge, and may step. A liar's error is outside it: by seconds, or by a little
 * more than its advertised root distance plus half the path delay (so that its interval just misses true
 * time).
 */
final class SimNtpServer {
    /** What kind of lie, if any. */
    enum Kind { HONEST, LIAR_BY_SECONDS, LIAR_JUST_OUTSIDE }

    private static final int REFERENCE_ID_GPS = 'G' << 24 | 'P' << 16 | 'S' << 8 | 0;

    final String name;
    final Kind kind;
    final boolean stepping;
    final int stratum;
    final int precisionLog2;
    final int rootDelayRaw;
    final int rootDispersionRaw;
    /** The error this server may honestly have, as a client decodes its fields: root distance + one tick. */
    final long honestErrorNanos;
    final long tickNanos;
    final long forwardBaseNanos;
    final long backwardBaseNanos;
    final long jitterMeanNanos;
    final double lossPerDirection;
    /** Outage windows [start, end) in true time, sorted. */
    final long[] downFromTrueNanos;
    final long[] downUntilTrueNanos;

    private final SplittableRandom random;
    /** The slowly varying part of the error (before the per-timestamp tick noise). */
    private double wanderNanos;
    private final double wanderLimitNanos;
    private final long lieNanos;
    private long lastWanderTrueNanos;

    SimNtpServer(String name, Kind kind, boolean stepping, Scenario sc, SplittableRandom random,
                 long[] downFrom, long[] downUntil, int lieSign) {
        this.name = name;
        this.kind = kind;
        this.stepping = stepping;
        this.random = random;
        this.stratum = sc.rootDelayMaxNanos > 0 ? 2 : 1;
        this.precisionLog2 = sc.serverPrecisionLog2;
        long rootDelayNanos = uniform(random, sc.rootDelayMinNanos, sc.rootDelayMaxNanos);
        long rootDispersionNanos = uniform(random, sc.rootDispersionMinNanos, sc.rootDispersionMaxNanos);
        this.rootDelayRaw = toShortFormatFloor(rootDelayNanos);
        this.rootDispersionRaw = toShortFormatFloor(rootDispersionNanos);
        // What the client will decode, rounded down here so an honest error is within it whatever the rounding.
        long decodedRootDelay = fromShortFormatFloor(rootDelayRaw);
        long decodedRootDispersion = fromShortFormatFloor(rootDispersionRaw);
        this.tickNanos = (long) Math.floor(Math.scalb(1e9, precisionLog2));
        this.honestErrorNanos = decodedRootDelay / 2 + decodedRootDispersion + tickNanos;
        if (random.nextDouble() < sc.lopsidedPathProbability) {
            // A lopsided path (asymmetric routing, a congested uplink): nearly all of the delay one way, where
            // the delay / 2 term of the bound has no slack left.
            long shortWay = uniform(random, sc.oneWayDelayMinNanos / 10, sc.oneWayDelayMinNanos / 4);
            long longWay = uniform(random, sc.oneWayDelayMaxNanos, 2 * sc.oneWayDelayMaxNanos - sc.oneWayDelayMinNanos);
            boolean slowBack = random.nextBoolean();
            this.forwardBaseNanos = slowBack ? shortWay : longWay;
            this.backwardBaseNanos = slowBack ? longWay : shortWay;
        } else {
            this.forwardBaseNanos = uniform(random, sc.oneWayDelayMinNanos, sc.oneWayDelayMaxNanos);
            this.backwardBaseNanos = uniform(random, sc.oneWayDelayMinNanos, sc.oneWayDelayMaxNanos);
        }
        this.jitterMeanNanos = sc.jitterMeanNanos;
        this.lossPerDirection = 1 - Math.sqrt(1 - sc.lossProbability);
        this.downFromTrueNanos = downFrom;
        this.downUntilTrueNanos = downUntil;

        long slowPart = honestErrorNanos - tickNanos; // room for the wander; the tick noise takes the rest
        // A quarter of honest servers sit at the very edge of what they advertise: the hardest honest case.
        double fraction = random.nextDouble() < 0.25 ? 1.0 : 0.2 + 0.8 * random.nextDouble();
        this.wanderLimitNanos = slowPart * fraction;
        this.wanderNanos = fraction == 1.0 ? (random.nextBoolean() ? 1 : -1) * wanderLimitNanos
                : (2 * random.nextDouble() - 1) * wanderLimitNanos;
        this.lieNanos = switch (kind) {
            case HONEST -> 0;
            case LIAR_BY_SECONDS -> lieSign * uniform(random, 500 * Scenario.MS, 3 * Scenario.S);
            // Just outside: more than everything the client's interval allows for an honest server on this path.
            case LIAR_JUST_OUTSIDE -> lieSign * (long) ((honestErrorNanos + (forwardBaseNanos + backwardBaseNanos) / 2
                    + 3 * jitterMeanNanos) * (1.05 + 0.45 * random.nextDouble()) + 10 * Scenario.US);
        };
    }

    /** Whether the server is down at true time {@code t}. */
    boolean isDownAt(long t) {
        for (int i = 0; i < downFromTrueNanos.length; i++) {
            if (t >= downFromTrueNanos[i] && t < downUntilTrueNanos[i]) {
                return true;
            }
        }
        return false;
    }

    /** Steps an honest server's clock to a new error anywhere within what it advertises. */
    void step() {
        double limit = honestErrorNanos - tickNanos;
        wanderNanos = random.nextDouble() < 0.5 ? (random.nextBoolean() ? limit : -limit)
                : (2 * random.nextDouble() - 1) * limit;
    }

    /** Advances the slow error component to {@code trueNanos}: a bounded random walk (reflected at the limit). */
    private void wanderTo(long trueNanos) {
        if (stepping) {
            lastWanderTrueNanos = trueNanos;
            return; // a stepping server holds its error between steps
        }
        double seconds = (trueNanos - lastWanderTrueNanos) / 1e9;
        lastWanderTrueNanos = trueNanos;
        if (seconds <= 0 || wanderLimitNanos == 0) {
            return;
        }
        double sigma = wanderLimitNanos * 0.05 * Math.sqrt(Math.min(seconds, 400));
        double w = wanderNanos + sigma * random.nextGaussian();
        // reflect into [-limit, +limit]
        while (w > wanderLimitNanos || w < -wanderLimitNanos) {
            w = w > wanderLimitNanos ? 2 * wanderLimitNanos - w : -2 * wanderLimitNanos - w;
        }
        wanderNanos = w;
    }

    /**
     * The server's clock reading at true time {@code trueNanos}: true time plus its error (slow part, the
     * lie, and tick noise within one tick). The slow part is truncated toward zero so rounding never pushes an
     * honest server past its advertised error.
     */
    long readClock(long trueNanos) {
        wanderTo(trueNanos);
        long tickNoise = tickNanos == 0 ? 0 : random.nextLong(-tickNanos, tickNanos + 1);
        return trueNanos + (long) wanderNanos + lieNanos + tickNoise;
    }

    /** The server's current error excluding tick noise, for the floor (what the server's own error is). */
    long currentErrorNanos() {
        return (long) wanderNanos + lieNanos;
    }

    /** Queueing is one-sided as often as not: a burst in one direction only is the most asymmetric case. */
    long forwardDelay() {
        return forwardBaseNanos + (random.nextInt(3) != 1 ? exponential(jitterMeanNanos) : 0);
    }

    long backwardDelay() {
        return backwardBaseNanos + (random.nextInt(3) != 0 ? exponential(jitterMeanNanos) : 0);
    }

    boolean lost() {
        return random.nextDouble() < lossPerDirection;
    }

    long holdNanos() {
        return random.nextLong(5 * Scenario.US, 40 * Scenario.US + 1);
    }

    private long exponential(long mean) {
        if (mean == 0) {
            return 0;
        }
        // Capped at 50 means: a queue is bounded; the tail beyond says nothing more about the bound.
        double x = -Math.log(1 - random.nextDouble()) * mean;
        return (long) Math.min(x, 50.0 * mean);
    }

    /**
     * A server's reply to {@code request} as the 48 bytes a real NTPv4 server sends (RFC 5905 section 7.3):
     * LI 0, version 4, mode 4, this server's stratum, precision, root delay and dispersion, the request's
     * transmit timestamp echoed as origin, and the receive and transmit timestamps from its own clock.
     * Written into {@code out} (48 bytes), so a run allocates no buffer per exchange.
     */
    void encodeReply(byte[] request, long receiveEpochNanos, long transmitEpochNanos, byte[] out) {
        out[0] = (byte) (0 << 6 | 4 << 3 | 4);
        out[1] = (byte) stratum;
        out[2] = request[2]; // poll: echo the client's
        out[3] = (byte) precisionLog2;
        putInt(out, 4, rootDelayRaw);
        putInt(out, 8, rootDispersionRaw);
        putInt(out, 12, REFERENCE_ID_GPS);
        putLong(out, 16, NtpWire.epochNanosToNtp(receiveEpochNanos - 16 * Scenario.S)); // reference: last set 16 s ago
        System.arraycopy(request, 40, out, 24, 8); // origin = the client's transmit timestamp (its nonce)
        putLong(out, 32, NtpWire.epochNanosToNtp(receiveEpochNanos));
        putLong(out, 40, NtpWire.epochNanosToNtp(transmitEpochNanos));
    }

    private static void putInt(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 24);
        b[at + 1] = (byte) (v >>> 16);
        b[at + 2] = (byte) (v >>> 8);
        b[at + 3] = (byte) v;
    }

    private static void putLong(byte[] b, int at, long v) {
        putInt(b, at, (int) (v >>> 32));
        putInt(b, at + 4, (int) v);
    }

    /** Nanoseconds as NTP short format (16.16 s), rounded down. */
    static int toShortFormatFloor(long nanos) {
        return (int) Math.min(0x7FFF_FFFFL, (nanos << 16) / Scenario.S);
    }

    /** NTP short format back to nanoseconds, rounded down (the client rounds up: we stay inside it). */
    static long fromShortFormatFloor(int raw) {
        return (Integer.toUnsignedLong(raw) * Scenario.S) >>> 16;
    }

    static long uniform(SplittableRandom r, long min, long max) {
        return min == max ? min : r.nextLong(min, max + 1);
    }
}
