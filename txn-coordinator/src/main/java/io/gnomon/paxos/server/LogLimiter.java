package io.gnomon.paxos.server;

import org.slf4j.Logger;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Logs a repeated WARN once per interval per kind, with the number of occurrences suppressed meanwhile, so a
 * peer sending garbage in a loop cannot flood the log.
 */
final class LogLimiter {
    private static final long INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final Logger log;
    private final ConcurrentHashMap<String, long[]> state = new ConcurrentHashMap<>(); // {lastLoggedNanos, suppressed}

    LogLimiter(Logger log) {
        this.log = log;
    }

    void warn(String kind, String message) {
        long now = System.nanoTime();
        long[] s = state.computeIfAbsent(kind, k -> new long[] {now - INTERVAL_NANOS, 0});
        long suppressed;
        synchronized (s) {
            if (now - s[0] < INTERVAL_NANOS) {
                s[1]++;
                return;
            }
            suppressed = s[1];
            s[0] = now;
            s[1] = 0;
        }
        log.warn(suppressed == 0 ? message : message + " (" + suppressed + " more like it in the last 5 s)");
    }
}
