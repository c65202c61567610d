package io.gnomon.clockd.select;

/**
 * What an operator needs to know about a source beyond its measurements: whether clockd is asking it at all,
 * and if not, why. Reported by a source runtime when it changes, shown in the status reason and as the metric
 * {@code gnomon_source_condition{source,condition}}.
 */
public enum SourceCondition {
    /** Polled on its schedule. */
    POLLING,
    /** Its host name does not resolve (yet): clockd retries the lookup with back-off and sends nothing meanwhile. */
    UNRESOLVED,
    /** It sent a RATE kiss-o'-death (RFC 5905 section 7.4): polled less often than configured. */
    BACKED_OFF,
    /** It sent a DENY or RSTR kiss-o'-death (RFC 5905 section 7.4): no longer polled until clockd restarts. */
    STOPPED
}
