package io.gnomon.spanner.check;

/** Why one transaction must precede another in any serial order that explains the history. */
public enum EdgeType {
    /** write-write: the source appended the element right before the target's in a key's version order. */
    WW("ww"),
    /** write-read: the target read a list ending with the source's append. */
    WR("wr"),
    /** read-write (anti-dependency): the source read a list that the target's append later extended. */
    RW("rw"),
    /** real time: the source completed ({@code ok}) before the target was invoked. */
    REALTIME("realtime");

    private final String label;

    EdgeType(String label) {
        this.label = label;
    }

    /** The name used in reports. */
    public String label() {
        return label;
    }

    int bit() {
        return 1 << ordinal();
    }
}
