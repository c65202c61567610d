package io.gnomon.clockd.cli;

import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.TimeInterval;

import java.util.Objects;

/**
 * {@code clockd --print}'s lines: the interval (midpoint ± ε) and the status every second, and the reason for
 * the status only on the first line and when it changes, so that a steady daemon prints short lines that differ
 * only in their time, and a change stands out.
 * <pre>
 *   2026-12-07T09:28:50.337211074Z ± 1000.042 ms  UNVERIFIED  (no time source configured: ...)
 *   2026-12-07T09:28:51.343917636Z ± 1000.027 ms  UNVERIFIED
 * </pre>
 */
final class PrintLines {
    private ClockStatus lastStatus;
    private String lastReason;
    private boolean first = true;

    /** The line for this second; {@code reason} may be null (no estimate yet). */
    String next(TimeInterval now, ClockStatus status, String reason) {
        boolean changed = first || status != lastStatus || !Objects.equals(reason, lastReason);
        first = false;
        lastStatus = status;
        lastReason = reason;
        return Format.midpoint(now) + "  " + status + (changed && reason != null ? "  (" + reason + ")" : "");
    }
}
