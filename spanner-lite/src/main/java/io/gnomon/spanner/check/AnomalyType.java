package io.gnomon.spanner.check;

/**
 * The anomaly classes the checker reports (Adya's G-classes as Elle names them, real-time variants, and the
 * list-append specific ones). Each cycle belongs to exactly one cycle class: real-time variants are the
 * cycles that need at least one real-time edge.
 */
public enum AnomalyType {
    G0("G0", true, "write cycle: a cycle of ww edges only"),
    G1A("G1a", true, "aborted read: an ok read saw a value appended by a failed transaction"),
    G1B("G1b", true, "intermediate read: a read ended at a value its writer later overwrote by appending again to the key"),
    G1C("G1c", true, "circular information flow: a cycle of ww and wr edges with at least one wr"),
    G_SINGLE("G-single", true, "read skew: a cycle with exactly one rw edge (the others ww or wr)"),
    G2("G2", true, "anti-dependency cycle (Elle's G2-item): a cycle with two or more rw edges"),
    G0_REALTIME("G0-realtime", false, "a cycle of ww edges and at least one real-time edge"),
    G1C_REALTIME("G1c-realtime", false, "a cycle of ww, wr and real-time edges with at least one wr and one real-time edge"),
    G_SINGLE_REALTIME("G-single-realtime", false, "a cycle with exactly one rw edge and at least one real-time edge (e.g. a stale read)"),
    G2_REALTIME("G2-realtime", false, "a cycle with two or more rw edges and at least one real-time edge"),
    INCOMPATIBLE_ORDER("incompatible-order", true, "two reads of a key are not prefixes of one another"),
    INTERNAL("internal", true, "a read disagrees with the transaction's own earlier appends or reads of the key"),
    DUPLICATE_ELEMENTS("duplicate-elements", true, "a read returned the same element twice"),
    GARBAGE("garbage", true, "a read returned an element that no transaction appended"),
    /**
     * A strongly connected component the cycle search ran out of steps to classify: it holds a cycle, so the
     * history is not strictly serializable, but whether a serializability class is among its cycles is unknown.
     */
    UNCLASSIFIED_CYCLE("unclassified-cycle", false, "a cyclic component whose cycles the search ran out of steps to"
            + " classify (so not strictly serializable; whether serializable is unknown): rerun with a larger --max-search-steps"),
    /** Timestamp rule: real time orders two transactions, their timestamps do not. */
    EXTERNAL_CONSISTENCY("external-consistency", false, "T1 completed before T2 was invoked, but T2's timestamp is"
            + " not above T1's (equal is allowed when T2 is read-only)", true),
    /** Timestamp rule: a read saw an append committed above its timestamp. */
    TIMESTAMP_FUTURE_READ("timestamp-future-read", false, "a read at timestamp t returned an element whose transaction"
            + " committed above t", true),
    /** Timestamp rule: a read missed an append committed at or below its timestamp. */
    TIMESTAMP_MISSED_WRITE("timestamp-missed-write", false, "a read at timestamp t lacks an element appended by another"
            + " transaction committed at or below t", true),
    /** Timestamp rule: a key's version order is not in commit-timestamp order. */
    TIMESTAMP_ORDER("timestamp-order", false, "a key's version order puts one transaction's append before another's,"
            + " but the first's commit timestamp is not below the second's", true);

    private final String label;
    private final boolean breaksSerializability;
    private final String definition;

    private final boolean timestampRule;

    AnomalyType(String label, boolean breaksSerializability, String definition) {
        this(label, breaksSerializability, definition, false);
    }

    AnomalyType(String label, boolean breaksSerializability, String definition, boolean timestampRule) {
        this.label = label;
        this.breaksSerializability = breaksSerializability;
        this.definition = definition;
        this.timestampRule = timestampRule;
    }

    /** The class's name in reports, e.g. {@code G-single-realtime}. */
    public String label() {
        return label;
    }

    /**
     * Whether the anomaly rules out serializability; the others rule out strict serializability, and except for
     * {@link #UNCLASSIFIED_CYCLE} (which may or may not rule out serializability too) only that.
     */
    public boolean breaksSerializability() {
        return breaksSerializability;
    }

    /**
     * Whether the anomaly is known to rule out strict serializability only: a real-time cycle class. False for
     * {@link #UNCLASSIFIED_CYCLE}, whose class is unknown, and for the {@link #timestampRule()} classes.
     */
    public boolean realtimeOnly() {
        return !breaksSerializability && this != UNCLASSIFIED_CYCLE && !timestampRule;
    }

    /**
     * Whether the anomaly breaks a rule about recorded commit and read timestamps (external consistency, the
     * snapshot rule); the values read may still be strictly serializable, but the timestamps the store returned
     * do not describe them.
     */
    public boolean timestampRule() {
        return timestampRule;
    }

    /** A one-line definition, as in docs/history-format.md. */
    public String definition() {
        return definition;
    }
}
