package io.gnomon.clockd.source;

import io.gnomon.truetime.MonotonicClock;
import org.slf4j.Logger;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * Logging for sources that a hostile or broken peer can make fail thousands of times a second: each key is
 * logged at WARN at most once per interval (with the count suppressed since), otherwise at DEBUG. Keys are
 * source names, reasons or fixed strings, never peer addresses, so the map stays bounded. Used by one source
 * thread at a time.
 */
public final class RateLimitedLog {
    /** How often one key may log at WARN. */
    public static final long DEFAULT_WARN_INTERVAL_NANOS = Duration.ofSeconds(10).toNanos();

    private static final class Limit {
        long lastWarnMonotonicNanos;
        long suppressed;
    }

    private final Logger log;
    private final MonotonicClock clock;
    private final long warnIntervalNanos;
    private final Map<String, Limit> limits = new HashMap<>();

    public RateLimitedLog(Logger log, MonotonicClock clock) {
        this(log, clock, DEFAULT_WARN_INTERVAL_NANOS);
    }

    public RateLimitedLog(Logger log, MonotonicClock clock, long warnIntervalNanos) {
        this.log = log;
        this.clock = clock;
        this.warnIntervalNanos = warnIntervalNanos;
    }

    /** Logs {@code message} (and {@code cause}, which may be null) under {@code key}. */
    public synchronized void warn(String key, String message, Throwable cause) {
        long now = clock.nanoTime();
        Limit limit = limits.get(key);
        if (limit == null || now - limit.lastWarnMonotonicNanos >= warnIntervalNanos) {
            long suppressed = limit == null ? 0 : limit.suppressed;
            if (limit == null) {
                limit = new Limit();
                limits.put(key, limit);
            }
            limit.lastWarnMonotonicNanos = now;
            limit.suppressed = 0;
            String suffix = suppressed == 0 ? "" : " (" + suppressed + " similar at DEBUG since the last warning)";
            log.warn(message + suffix, cause);
        } else {
            limit.suppressed++;
            log.debug(message, cause);
        }
    }
}
