package io.gnomon.spanner.history;

/**
 * How a transaction's reads are bound (JSON field {@code readMode} on its invoke line), which tells the checker
 * whether real time binds it. A read-write transaction is always strong: it reads at its commit timestamp.
 */
public enum ReadMode {
    /** Reads at a timestamp at least the time of the invocation ({@code TT.now().latest}): bound by real time. */
    STRONG("strong"),
    /**
     * An exact timestamp, an exact or maximum staleness, or a minimum read timestamp: the read timestamp may be
     * older than the invocation, so real time does not bind it; only the timestamp rule judges it.
     */
    STALE("stale");

    private final String json;

    ReadMode(String json) {
        this.json = json;
    }

    /** The name used in the JSON {@code readMode} field. */
    public String json() {
        return json;
    }

    /** The mode named {@code json}, or {@code null} when there is none. */
    public static ReadMode ofJson(String json) {
        for (ReadMode m : values()) {
            if (m.json.equals(json)) {
                return m;
            }
        }
        return null;
    }
}
