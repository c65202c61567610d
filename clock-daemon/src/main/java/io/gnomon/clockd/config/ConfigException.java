package io.gnomon.clockd.config;

/** A configuration error, with a one-line message naming the key, the value and the rule. */
public final class ConfigException extends Exception {
    private static final long serialVersionUID = 1L;

    public ConfigException(String message) {
        super(message);
    }
}
