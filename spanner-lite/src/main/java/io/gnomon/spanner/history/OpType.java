package io.gnomon.spanner.history;

/** The kind of an operation event, as in Jepsen histories. */
public enum OpType {
    /** The transaction was submitted. */
    INVOKE("invoke"),
    /** The transaction committed; reads carry their results. */
    OK("ok"),
    /** The transaction certainly did not take effect. */
    FAIL("fail"),
    /** The outcome is unknown: the transaction may or may not have taken effect. */
    INFO("info");

    private final String json;

    OpType(String json) {
        this.json = json;
    }

    /** The name used in the JSON {@code type} field. */
    public String json() {
        return json;
    }

    /** The type named {@code json}, or {@code null} when there is none. */
    public static OpType ofJson(String json) {
        for (OpType t : values()) {
            if (t.json.equals(json)) {
                return t;
            }
        }
        return null;
    }
}
