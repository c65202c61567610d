package io.gnomon.truetime;

import io.gnomon.truetime.clockbound.ClockBoundTrueTime;
import io.gnomon.truetime.grpc.GrpcTrueTime;
import io.gnomon.truetime.shm.ShmTrueTime;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Opens a {@link TrueTime} chosen by configuration, so that a program is pointed at Gnomon's segment,
 * ClockBound's segment or a daemon's gRPC service without code changes:
 * <pre>{@code
 * TrueTime tt = TrueTimes.open("gnomon:/dev/shm/gnomon-truetime");        // Gnomon's segment (also a bare path)
 * TrueTime tt = TrueTimes.open("clockbound:/var/run/clockbound/shm0");    // AWS ClockBound's v2 segment
 * TrueTime tt = TrueTimes.open("grpc:127.0.0.1:7360");                    // a clockd over gRPC
 * }</pre>
 * A gRPC source holds a channel: close it when done ({@link GrpcTrueTime} is {@link AutoCloseable}).
 *
 * <p>A spec that begins with a word and a colon ({@code word:...}, the word made of letters, digits, '+', '-'
 * and '.') names a kind of source, and an unknown word is refused rather than read as a file name. Anything
 * else (an absolute path, {@code ./x}, a name without a colon) is a bare path to a Gnomon segment; write a
 * relative path whose first part has a colon as {@code ./a:b} or {@code gnomon:a:b}.
 */
public final class TrueTimes {
    private TrueTimes() {
    }

    public static final String GNOMON = "gnomon:";
    public static final String CLOCKBOUND = "clockbound:";
    public static final String GRPC = "grpc:";

    /** {@link #open(String, boolean)} refusing UNVERIFIED intervals. */
    public static TrueTime open(String spec) throws IOException {
        return open(spec, false);
    }

    /**
     * @param spec             {@code gnomon:PATH}, {@code clockbound:PATH}, {@code grpc:HOST:PORT}, or a bare path
     *                         (a Gnomon segment)
     * @param acceptUnverified for Gnomon's segment and gRPC: return UNVERIFIED intervals (clockd's local default)
     *                         too (ClockBound's segment has no such status: it publishes "unknown" for them)
     * @throws IOException              if a segment cannot be opened (missing, not that kind of segment)
     * @throws IllegalArgumentException if the spec names no source, an unknown kind, or a bad HOST:PORT
     */
    public static TrueTime open(String spec, boolean acceptUnverified) throws IOException {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("empty TrueTime source; expected gnomon:PATH, clockbound:PATH or grpc:HOST:PORT");
        }
        if (spec.startsWith(CLOCKBOUND)) {
            return ClockBoundTrueTime.open(Path.of(rest(spec, CLOCKBOUND)));
        }
        if (spec.startsWith(GRPC)) {
            return GrpcTrueTime.connect(rest(spec, GRPC), acceptUnverified);
        }
        java.util.regex.Matcher kind = KIND.matcher(spec);
        if (kind.lookingAt() && !spec.startsWith(GNOMON)) {
            throw new IllegalArgumentException("unknown TrueTime source kind '" + kind.group(1) + "' in '" + spec
                    + "' (known: gnomon, clockbound, grpc; a segment path with a colon in its first part is written "
                    + "./PATH or gnomon:PATH)");
        }
        Path path = Path.of(spec.startsWith(GNOMON) ? rest(spec, GNOMON) : spec);
        return acceptUnverified ? ShmTrueTime.openAcceptingUnverified(path) : ShmTrueTime.open(path);
    }

    /** A kind prefix as in a URI scheme (RFC 3986 section 3.1): a letter, then letters, digits, '+', '-', '.'. */
    private static final java.util.regex.Pattern KIND = java.util.regex.Pattern.compile("([A-Za-z][A-Za-z0-9+.-]*):");

    private static String rest(String spec, String prefix) {
        String rest = spec.substring(prefix.length());
        if (rest.isBlank()) {
            throw new IllegalArgumentException("TrueTime source '" + spec + "' names no " + (prefix.equals(GRPC)
                    ? "HOST:PORT" : "path"));
        }
        return rest;
    }
}
