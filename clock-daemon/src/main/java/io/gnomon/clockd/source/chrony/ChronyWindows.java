package io.gnomon.clockd.source.chrony;

import io.gnomon.clockd.select.Measurement;

import java.util.ArrayDeque;
import java.util.List;

/**
 * What chronyd's SOURCE_DATA and SOURCESTATS say about the oldest sample its regressions hold, kept so that a tracking
 * report can be told how old the samples behind it may be ({@link Measurement#windowSinceMonotonicNanos()}). Pure:
 * the caller passes the monotonic readings.
 *
 * <p>One round reads, for every source with samples, the age of its last sample ({@code since_sample}, chrony 4:
 * the sample time with its fraction cut, truncated: within 1 s) and its span ({@code span_seconds}, from its oldest
 * kept sample, the runs-test ones included, rounded: within 0.5 s). Its oldest sample is then at most
 * {@code since + span + 2 s} before the round began, the 2 s covering both roundings with room for the change of
 * chronyd's own correction in between; the age is stretched by the maximum drift too. SOURCE_DATA is read before
 * SOURCESTATS, so a sample that arrives in between only makes the span longer (and the oldest sample earlier).
 * All sources with samples count, not only the selected ones: chronyd can select or combine any of them at its next
 * update, and a source's window is used from the moment it is.
 *
 * <p>The minimum over sources of the oldest sample time only grows: samples enter a window new and leave it oldest
 * first, a new source's samples are all new, a reset empties a window. So what a round at monotonic {@code C} found
 * holds for every update chronyd makes at or after {@code C}, and {@link #windowSince} answers for an update with the
 * latest round that began no later than it; for an update before every round kept, nothing is known.
 */
public final class ChronyWindows {

    /** Rounds kept: each holds a larger window start than the one before; the oldest goes first. */
    static final int MAX_ROUNDS_KEPT = 256;
    static final long ROUNDING_SLACK_SECONDS = 2;
    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private record Round(long beganMonotonicNanos, long windowSinceMonotonicNanos) {
    }

    private final long maxDriftPpb;
    private final ArrayDeque<Round> rounds = new ArrayDeque<>();

    public ChronyWindows(long maxDriftPpb) {
        if (maxDriftPpb < 0) {
            throw new IllegalArgumentException("maxDriftPpb must be >= 0, was " + maxDriftPpb);
        }
        this.maxDriftPpb = maxDriftPpb;
    }

    /**
     * The earliest instant the oldest sample of any source may have been taken, from one round that began at
     * {@code beganMonotonicNanos}; {@code data.get(i)} and {@code stats.get(i)} describe the same source (the caller
     * checks their addresses). {@link Measurement#WINDOW_UNKNOWN} if an age is too large to convert.
     */
    public static long oldestSampleMonotonicNanos(List<ChronyCmdmon.SourceData> data, List<ChronyCmdmon.Sourcestats> stats,
                                           long beganMonotonicNanos, long maxDriftPpb) {
        if (data.size() != stats.size()) {
            throw new IllegalArgumentException(data.size() + " SOURCE_DATA and " + stats.size() + " SOURCESTATS");
        }
        long oldest = beganMonotonicNanos;
        for (int i = 0; i < data.size(); i++) {
            ChronyCmdmon.SourceData d = data.get(i);
            ChronyCmdmon.Sourcestats s = stats.get(i);
            if (!d.hasSample() && s.samples() == 0) {
                continue; // nothing in its window to weigh
            }
            if (!d.hasSample()) {
                return Measurement.WINDOW_UNKNOWN; // samples but no age: chronyd contradicts itself
            }
            long ageSeconds = d.sinceSampleSeconds() + s.spanSeconds() + ROUNDING_SLACK_SECONDS; // each < 2^32
            double ageNanos = ageSeconds * (double) NANOS_PER_SECOND * (1 + maxDriftPpb / 1e9);
            if (ageNanos > 1e17) { // over 3 years: not a window to trust
                return Measurement.WINDOW_UNKNOWN;
            }
            oldest = Math.min(oldest, beganMonotonicNanos - (long) Math.ceil(ageNanos));
        }
        return oldest;
    }

    /** Records a round's finding ({@link #oldestSampleMonotonicNanos}); unknown findings are not kept. */
    public void observed(long beganMonotonicNanos, long windowSinceMonotonicNanos) {
        if (windowSinceMonotonicNanos == Measurement.WINDOW_UNKNOWN) {
            return;
        }
        Round last = rounds.peekLast();
        if (last != null && beganMonotonicNanos - last.beganMonotonicNanos() < 0) {
            throw new IllegalArgumentException("rounds must be in monotonic order");
        }
        if (last != null && windowSinceMonotonicNanos - last.windowSinceMonotonicNanos() <= 0) {
            return; // the earlier round says as much or more
        }
        rounds.addLast(new Round(beganMonotonicNanos, windowSinceMonotonicNanos));
        if (rounds.size() > MAX_ROUNDS_KEPT) {
            rounds.removeFirst();
        }
    }

    /**
     * The start of chronyd's windows for an update made no earlier than {@code updateMonotonicNanos} (a report's
     * {@link Measurement#realtimeSinceMonotonicNanos()}, converted early), or {@link Measurement#WINDOW_UNKNOWN}.
     */
    public long windowSince(long updateMonotonicNanos) {
        long since = Measurement.WINDOW_UNKNOWN;
        for (Round r : rounds) {
            if (r.beganMonotonicNanos() - updateMonotonicNanos > 0) {
                break;
            }
            since = r.windowSinceMonotonicNanos();
        }
        return since;
    }

    /** Forgets every round (e.g. when chronyd stopped answering: it may have restarted with other samples). */
    void clear() {
        rounds.clear();
    }
}
