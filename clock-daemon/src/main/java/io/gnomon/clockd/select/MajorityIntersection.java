package io.gnomon.clockd.select;

import java.util.Arrays;

/**
 * Marzullo's interval intersection with a quorum: the smallest interval containing every point that at
 * least {@code quorum} of the given closed intervals cover.
 *
 * <p>Why it is sound: if fewer than half of the {@code n} configured sources lie, the honest ones number at
 * least {@code quorum = n/2 + 1}; true time lies in every honest interval, so it is a point covered at
 * least {@code quorum} times, and such points all lie in the returned hull. Pure; allocation is
 * proportional to the number of intervals.
 */
final class MajorityIntersection {
    private MajorityIntersection() {
    }

    /** The result: {@code [low, high]}, or {@code found == false} if no point reaches the quorum. */
    record Hull(boolean found, long low, long high) {
        static final Hull NONE = new Hull(false, 0, 0);

        boolean overlaps(long lo, long hi) {
            return found && lo <= high && hi >= low;
        }
    }

    /**
     * @param lows   lower ends, one per interval
     * @param highs  upper ends ({@code highs[i] >= lows[i]})
     * @param count  how many entries of the arrays are used
     * @param quorum how many intervals must cover a point, at least 1
     */
    static Hull hull(long[] lows, long[] highs, int count, int quorum) {
        if (quorum < 1) {
            throw new IllegalArgumentException("quorum must be >= 1, was " + quorum);
        }
        if (count < quorum) {
            return Hull.NONE;
        }
        // Encode events so that one sort orders them by position, starts before ends at the same position
        // (closed intervals that touch at a point both cover it).
        long[] starts = Arrays.copyOf(lows, count);
        long[] ends = Arrays.copyOf(highs, count);
        for (int i = 0; i < count; i++) {
            if (ends[i] < starts[i]) {
                throw new IllegalArgumentException("interval " + i + " has high " + ends[i] + " < low " + starts[i]);
            }
        }
        Arrays.sort(starts);
        Arrays.sort(ends);
        int coverage = 0;
        boolean found = false;
        long low = 0;
        long high = 0;
        int s = 0;
        int e = 0;
        while (e < count) {
            if (s < count && starts[s] <= ends[e]) {
                coverage++;
                if (coverage >= quorum && !found) {
                    found = true;
                    low = starts[s];
                }
                s++;
            } else {
                if (coverage >= quorum) {
                    high = ends[e];
                }
                coverage--;
                e++;
            }
        }
        return found ? new Hull(true, low, high) : Hull.NONE;
    }
}
