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
            + " classify (so not strictly serializable; whether serializable is unknown): rerun with a larger --max-search-steps");

    private final String label;
    private final boolean breaksSerializability;
    private final String definition;

    AnomalyType(String label, boolean breaksSerializability, String definition) {
        this.label = label;
        this.breaksSerializability = breaksSerializability;
        this.definition = definition;
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
     * {@link #UNCLASSIFIED_CYCLE}, whose class is unknown.
     */
    public boolean realtimeOnly() {
        return !breaksSerializability && this != UNCLASSIFIED_CYCLE;
    }

    /** A one-line definition, as in docs/history-format.md. */
    public String definition() {
        return definition;
    }
}
