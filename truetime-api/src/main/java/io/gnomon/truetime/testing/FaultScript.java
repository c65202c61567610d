package io.gnomon.truetime.testing;

import io.gnomon.truetime.ClockStatus;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A timed list of clock faults, written by hand or generated from a seed; read by {@link FaultyTrueTime}
 * (in-process, for application tests) and by {@code clockd --fault-script FILE} (applied to what the daemon
 * publishes). One fault per line, times from the start of the run; {@code #} starts a comment:
 * <pre>
 *   at 2s for 1s status FREE_RUNNING      # a status flip: UNKNOWN, FREE_RUNNING, DISRUPTED, UNSYNCHRONIZED, ...
 *   at 4s for 500ms epsilon 5ms           # an ε spike: the interval widens by 5 ms on each side
 *   at 6s for 2s stale                    # the snapshot goes stale past void-after: readers refuse it
 *   at 9s for 1s segment-gone             # the segment disappears and comes back (a daemon restart)
 *   at 11s realtime-step -2s              # the system clock steps (true time does not)
 * </pre>
 * Every fault only changes what is injected: an interval that is served still contains true time.
 */
public final class FaultScript {

    /** What a fault does. */
    public enum Kind { STATUS, EPSILON, STALE, SEGMENT_GONE, REALTIME_STEP }

    /**
     * One fault, active in {@code [startNanos, startNanos + durationNanos)} (a realtime step stays: it moves the
     * system clock once, at its start).
     *
     * @param status      the injected status (STATUS only)
     * @param amountNanos the ε added (EPSILON) or the step (REALTIME_STEP)
     */
    public record Fault(long startNanos, long durationNanos, Kind kind, ClockStatus status, long amountNanos) {
        public Fault {
            if (startNanos < 0 || durationNanos < 0) {
                throw new IllegalArgumentException("a fault starts and lasts >= 0 ns, was at " + startNanos + " for " + durationNanos);
            }
            if (kind == Kind.EPSILON && amountNanos < 0) {
                throw new IllegalArgumentException("an ε spike widens the interval: " + amountNanos + " ns must be >= 0");
            }
        }

        boolean activeAt(long elapsedNanos) {
            return elapsedNanos >= startNanos && (kind == Kind.REALTIME_STEP || elapsedNanos - startNanos < durationNanos);
        }

        /** The fault as a script line. */
        @Override
        public String toString() {
            String when = "at " + nanosText(startNanos) + (kind == Kind.REALTIME_STEP ? "" : " for " + nanosText(durationNanos));
            return when + " " + switch (kind) {
                case STATUS -> "status " + status;
                case EPSILON -> "epsilon " + nanosText(amountNanos);
                case STALE -> "stale";
                case SEGMENT_GONE -> "segment-gone";
                case REALTIME_STEP -> "realtime-step " + nanosText(amountNanos);
            };
        }
    }

    /**
     * The faults in force at one instant, combined: the last status flip wins, ε spikes add up, realtime steps
     * add up.
     *
     * @param status              injected status, or null
     * @param extraEpsilonNanos   how much wider the interval is on each side
     * @param realtimeStepNanos   how far the system clock has been stepped so far
     */
    public record Active(ClockStatus status, long extraEpsilonNanos, boolean stale, boolean segmentGone,
                         long realtimeStepNanos) {
        public static final Active NONE = new Active(null, 0, false, false, 0);
    }

    private final List<Fault> faults;

    public FaultScript(List<Fault> faults) {
        this.faults = List.copyOf(faults);
    }

    public List<Fault> faults() {
        return faults;
    }

    /** What is in force {@code elapsedNanos} after the start. */
    public Active at(long elapsedNanos) {
        ClockStatus status = null;
        long epsilon = 0;
        long step = 0;
        boolean stale = false;
        boolean gone = false;
        for (Fault f : faults) {
            if (!f.activeAt(elapsedNanos)) {
                continue;
            }
            switch (f.kind()) {
                case STATUS -> status = f.status();
                case EPSILON -> epsilon = saturatedAdd(epsilon, f.amountNanos());
                case STALE -> stale = true;
                case SEGMENT_GONE -> gone = true;
                case REALTIME_STEP -> step = saturatedAdd(step, f.amountNanos());
            }
        }
        return new Active(status, epsilon, stale, gone, step);
    }

    private static long saturatedAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? (a < 0 ? Long.MIN_VALUE : Long.MAX_VALUE) : r;
    }

    /** The script as text that {@link #parse} reads back: print it with a failing seed to replay the run. */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder();
        faults.forEach(f -> b.append(f).append('\n'));
        return b.toString();
    }

    private static final Pattern LINE = Pattern.compile(
            "at\\s+(\\S+)(?:\\s+for\\s+(\\S+))?\\s+(status|epsilon|stale|segment-gone|realtime-step)(?:\\s+(\\S+))?");

    public static FaultScript read(Path file) throws IOException {
        try {
            return parse(Files.readString(file));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /** Parses the script format above; an error names the line and what was expected. */
    public static FaultScript parse(String text) {
        List<Fault> out = new ArrayList<>();
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].replaceFirst("#.*", "").trim();
            if (line.isEmpty()) {
                continue;
            }
            try {
                out.add(parseLine(line));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("fault script line " + (i + 1) + " '" + lines[i].trim() + "': "
                        + e.getMessage());
            }
        }
        return new FaultScript(out);
    }

    private static Fault parseLine(String line) {
        Matcher m = LINE.matcher(line);
        if (!m.matches()) {
            throw new IllegalArgumentException("expected 'at TIME [for DURATION] status S|epsilon D|stale|segment-gone"
                    + "|realtime-step D'");
        }
        long start = parseNanos(m.group(1));
        String kind = m.group(3);
        String arg = m.group(4);
        if (kind.equals("realtime-step")) {
            return new Fault(start, 0, Kind.REALTIME_STEP, null, parseSignedNanos(require(arg, "a step, e.g. -2s")));
        }
        long duration = parseNanos(require(m.group(2), "'for DURATION'"));
        return switch (kind) {
            case "status" -> new Fault(start, duration, Kind.STATUS, parseStatus(require(arg, "a status")), 0);
            case "epsilon" -> new Fault(start, duration, Kind.EPSILON, null, parseNanos(require(arg, "a widening, e.g. 5ms")));
            case "stale" -> new Fault(start, duration, Kind.STALE, null, 0);
            default -> new Fault(start, duration, Kind.SEGMENT_GONE, null, 0);
        };
    }

    private static String require(String value, String what) {
        if (value == null) {
            throw new IllegalArgumentException("missing " + what);
        }
        return value;
    }

    private static ClockStatus parseStatus(String s) {
        try {
            return ClockStatus.valueOf(s.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown status '" + s + "' (one of " + List.of(ClockStatus.values()) + ")");
        }
    }

    private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ns|us|µs|ms|s|m|h)");
    private static final Map<String, Long> NANOS_PER_UNIT = Map.of("ns", 1L, "us", 1_000L, "µs", 1_000L,
            "ms", 1_000_000L, "s", 1_000_000_000L, "m", 60_000_000_000L, "h", 3_600_000_000_000L);

    /**
     * A duration as a number and a unit ({@code 30s}, {@code 1ms}, {@code 500us}, {@code 1.5m}) in nanoseconds,
     * rounded up. Also used by the command-line tools.
     *
     * @throws IllegalArgumentException naming the value and the format
     */
    public static long parseNanos(String value) {
        Matcher m = DURATION.matcher(value.trim().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + value + "' is not a duration (a number and a unit: ns, us, ms, s, "
                    + "m, h; e.g. 30s, 1ms)");
        }
        BigDecimal nanos = new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(NANOS_PER_UNIT.get(m.group(2))));
        try {
            return nanos.setScale(0, RoundingMode.CEILING).longValueExact();
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("'" + value + "' is too long a duration");
        }
    }

    private static long parseSignedNanos(String value) {
        return value.startsWith("-") ? -parseNanos(value.substring(1))
                : parseNanos(value.startsWith("+") ? value.substring(1) : value);
    }

    private static String nanosText(long nanos) {
        return nanos % 1_000_000 == 0 ? nanos / 1_000_000 + "ms" : nanos + "ns";
    }

    private static final ClockStatus[] INJECTED_STATUSES = {ClockStatus.UNKNOWN, ClockStatus.FREE_RUNNING,
            ClockStatus.DISRUPTED, ClockStatus.UNSYNCHRONIZED};

    /**
     * {@code count} faults of every kind at random instants within {@code span}, the same for the same seed:
     * status flips, ε spikes of 1 to 10 ms, stale snapshots and segment losses of 100 ms to 2 s, realtime steps
     * of up to ±5 s.
     */
    public static FaultScript random(long seed, Duration span, int count) {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<Fault> out = new ArrayList<>();
        long spanMillis = Math.max(1, span.toMillis());
        for (int i = 0; i < count; i++) {
            long start = rnd.nextLong(spanMillis) * 1_000_000L;
            long duration = rnd.nextLong(100, 2_001) * 1_000_000L;
            Kind kind = Kind.values()[rnd.nextInt(Kind.values().length)];
            out.add(switch (kind) {
                case STATUS -> new Fault(start, duration, kind, INJECTED_STATUSES[rnd.nextInt(INJECTED_STATUSES.length)], 0);
                case EPSILON -> new Fault(start, duration, kind, null, rnd.nextLong(1, 11) * 1_000_000L);
                case STALE, SEGMENT_GONE -> new Fault(start, duration, kind, null, 0);
                case REALTIME_STEP -> new Fault(start, 0, kind, null, rnd.nextLong(-5_000, 5_001) * 1_000_000L);
            });
        }
        out.sort(java.util.Comparator.comparingLong(Fault::startNanos));
        return new FaultScript(out);
    }
}
