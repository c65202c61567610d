package io.gnomon.paxos.cluster;

import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * An address others dial, as the cluster file writes it: {@code host:port} or {@code [v6]:port}. Not resolved:
 * names are looked up by whoever connects, so parsing a cluster file never waits on DNS.
 *
 * @param host a host name (lower case) or an IP literal, without brackets
 * @param port 1-65535
 */
public record HostPort(String host, int port) {
    public HostPort {
        Optional<String> problem = problem(host, port);
        if (problem.isPresent()) {
            throw new IllegalArgumentException(problem.get());
        }
        host = host.toLowerCase(Locale.ROOT);
    }

    /** Parses {@code host:port}; the message of a refusal says what is wrong in plain words. */
    static HostPort parse(String text) {
        String host;
        String port;
        if (text.startsWith("[")) {
            int close = text.indexOf(']');
            if (close < 0 || close + 1 >= text.length() || text.charAt(close + 1) != ':') {
                throw new IllegalArgumentException("'" + text + "' is not host:port (an IPv6 address is written "
                        + "[::1]:7101)");
            }
            host = text.substring(1, close);
            port = text.substring(close + 2);
        } else {
            int colon = text.lastIndexOf(':');
            if (colon < 0) {
                throw new IllegalArgumentException("'" + text + "' has no port (write host:port, e.g. 127.0.0.1:7101)");
            }
            host = text.substring(0, colon);
            port = text.substring(colon + 1);
            if (host.contains(":")) {
                throw new IllegalArgumentException("'" + text + "' is not host:port (an IPv6 address is written "
                        + "in brackets, [::1]:7101)");
            }
        }
        if (!port.matches("[0-9]{1,5}")) {
            throw new IllegalArgumentException("'" + text + "': port '" + port + "' is not a number from 1 to 65535");
        }
        return new HostPort(host, Integer.parseInt(port));
    }

    private static Optional<String> problem(String host, int port) {
        if (port < 1 || port > 65535) {
            return Optional.of("port " + port + " is not from 1 to 65535 (0, pick any port, cannot be dialled)");
        }
        if (host == null || host.isEmpty()) {
            return Optional.of("the host is empty");
        }
        if (host.contains(":")) {
            if (!IPV6.matcher(host).matches()) {
                return Optional.of("'" + host + "' is not an IPv6 address");
            }
            if (host.replace("0", "").matches(":{2,7}")) {
                return Optional.of("'" + host + "' is the wildcard address, which nobody can dial (name this host)");
            }
            return Optional.empty();
        }
        if (host.matches("[0-9.]+")) {
            String[] parts = host.split("\\.", -1);
            boolean ok = parts.length == 4;
            for (int i = 0; ok && i < 4; i++) {
                ok = parts[i].matches("[0-9]{1,3}") && Integer.parseInt(parts[i]) <= 255;
            }
            if (!ok) {
                return Optional.of("'" + host + "' is not an IPv4 address (four numbers 0-255)");
            }
            if (host.matches("0+\\.0+\\.0+\\.0+")) {
                return Optional.of("'" + host + "' is the wildcard address, which nobody can dial (name this host)");
            }
            return Optional.empty();
        }
        if (host.length() > 253 || !HOST_NAME.matcher(host).matches()) {
            return Optional.of("'" + host + "' is not a host name or IP address (letters, digits and '-' in "
                    + "dot-separated labels of 1-63 characters, not starting or ending with '-')");
        }
        return Optional.empty();
    }

    /** RFC 1123 host names, as clockd's configuration checks them. */
    private static final Pattern HOST_NAME = Pattern.compile(
            "(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.?");
    /** Hex groups and colons (with an optional dotted IPv4 tail); loose on purpose, the dialler parses it. */
    private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:]{2,39}(?:[0-9.]{7,15})?");

    /** {@code host:port}, brackets around an IPv6 host: what the file holds. */
    @Override
    public String toString() {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
