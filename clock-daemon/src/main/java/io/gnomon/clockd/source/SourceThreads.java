package io.gnomon.clockd.source;

import org.slf4j.Logger;

/** What every source runtime does when it stops: join its thread for a bounded time, close quietly. */
public final class SourceThreads {
    private SourceThreads() {
    }

    /**
     * Waits up to {@code millis} for {@code thread} to end (not when called from that thread itself, e.g. by a
     * listener), and says so at WARN if it did not.
     */
    public static void join(Thread thread, long millis, Logger log, String what) {
        if (thread == null || thread == Thread.currentThread()) {
            return;
        }
        try {
            thread.join(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            log.warn("{} thread {} did not stop within {} ms", what, thread.getName(), millis);
        }
    }

    /** Closes {@code closeable} if not null; a failure is logged at DEBUG, never thrown. */
    public static void closeQuietly(AutoCloseable closeable, Logger log) {
        if (closeable == null) {
            return;
        }
        try {
            closeable.close();
        } catch (Exception e) {
            log.debug("closing {} failed", closeable, e);
        }
    }
}
