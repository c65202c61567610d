package io.gnomon.clockd.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.gnomon.clockd.source.NtpSource;
import io.gnomon.clockd.source.chrony.ChronySource;
import io.gnomon.clockd.source.ptp.PtpBound;
import io.gnomon.clockd.source.ptp.PtpSource;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

import org.yaml.snakeyaml.error.MarkedYAMLException;

/** Reads YAML into {@link DaemonConfig} and validates it into {@link Settings}; every error is one line. */
public final class ConfigLoader {
    private ConfigLoader() {
    }

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

    /** Reads a YAML file; an empty file is the default configuration. */
    public static DaemonConfig read(Path file) throws ConfigException {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ConfigException("config " + file + ": no such file");
        } catch (IOException e) {
            throw new ConfigException("config " + file + ": cannot read: " + e.getMessage());
        }
        if (text.isBlank()) {
            return new DaemonConfig();
        }
        try {
            DaemonConfig c = YAML.readValue(text, DaemonConfig.class);
            return c == null ? new DaemonConfig() : c;
        } catch (UnrecognizedPropertyException e) {
            String known = e.getKnownPropertyIds() == null ? "" : e.getKnownPropertyIds().stream()
                    .map(Object::toString).sorted().collect(Collectors.joining(", "));
            throw new ConfigException("config " + file + " line " + e.getLocation().getLineNr() + ": unknown key '"
                    + e.getPropertyName() + "' (known here: " + known + ")");
        } catch (MismatchedInputException e) {
            throw new ConfigException("config " + file + where(e) + ": " + mismatch(e, text));
        } catch (JsonProcessingException e) {
            MarkedYAMLException yaml = yamlCause(e);
            if (yaml != null && yaml.getProblemMark() != null) {
                throw new ConfigException("config " + file + " line " + (yaml.getProblemMark().getLine() + 1)
                        + ", column " + (yaml.getProblemMark().getColumn() + 1) + ": not valid YAML: "
                        + YamlProblems.plainWords(yaml));
            }
            throw new ConfigException("config " + file + where(e) + ": "
                    + e.getOriginalMessage().lines().findFirst().orElse("invalid"));
        }
    }

    private static String where(JsonProcessingException e) {
        return e.getLocation() == null ? "" : " line " + e.getLocation().getLineNr();
    }

    private static MarkedYAMLException yamlCause(Throwable e) {
        for (Throwable t = e; t != null && t.getCause() != t; t = t.getCause()) {
            if (t instanceof MarkedYAMLException m) {
                return m;
            }
        }
        return null;
    }

    /**
     * A value of the wrong shape (a scalar where a list or a mapping belongs, a word where a number does): the
     * key, what it must be, and what the file has, instead of Jackson's "Cannot construct instance of ...".
     */
    private static String mismatch(MismatchedInputException e, String text) {
        String key = key(e.getPath());
        Class<?> type = e.getTargetType();
        String must = type == null ? "another kind of value"
                : java.util.Collection.class.isAssignableFrom(type) ? "a list (one '- " + (key.equals("servers")
                ? "host" : "value") + "' per line, or [a, b])"
                : type == long.class || type == int.class || type == Long.class || type == Integer.class
                ? "a whole number"
                : type == double.class || type == Double.class ? "a number"
                : type == boolean.class || type == Boolean.class ? "true or false"
                : type == String.class ? "a single value (text)"
                : type == DaemonConfig.Server.class ? "a host (host or host:port), or a mapping with 'host' and "
                        + "'pollIntervalMillis'"
                : "a mapping (indented 'key: value' lines below it)";
        return "'" + key + "' must be " + must + ", got " + found(e, text);
    }

    /** What the file has where the value did not fit, from Jackson's "... from String value ('x')". */
    private static String found(MismatchedInputException e, String text) {
        if (e instanceof com.fasterxml.jackson.databind.exc.InvalidFormatException f && f.getValue() != null) {
            return "'" + f.getValue() + "'";
        }
        java.util.regex.Matcher m = FOUND.matcher(String.valueOf(e.getOriginalMessage()));
        if (!m.find()) {
            return "a value of another kind";
        }
        return switch (m.group(1)) {
            case "Array" -> "a list";
            case "Object" -> "a mapping";
            case "Null" -> "nothing (an empty value)";
            default -> m.group(2) != null && !m.group(2).startsWith("token") ? "a scalar (" + m.group(2) + ")"
                    : scalarAt(e, text).map(v -> "a scalar ('" + v + "')").orElse("a scalar");
        };
    }

    /** The scalar at the exception's location, from the file's text (Jackson names it only for some types). */
    private static java.util.Optional<String> scalarAt(MismatchedInputException e, String text) {
        if (e.getLocation() == null || e.getLocation().getLineNr() < 1 || e.getLocation().getColumnNr() < 1) {
            return java.util.Optional.empty();
        }
        String line = text.lines().skip(e.getLocation().getLineNr() - 1).findFirst().orElse("");
        int column = e.getLocation().getColumnNr() - 1;
        String value = column < line.length() ? line.substring(column).trim() : "";
        return value.isEmpty() || value.length() > 200 ? java.util.Optional.empty() : java.util.Optional.of(value);
    }

    private static final java.util.regex.Pattern FOUND =
            java.util.regex.Pattern.compile("from ([A-Z][a-z-]*(?:-point)?) value(?: \\(([^)]*)\\))?");

    /** {@code publish.intervalMillis}, {@code servers[1]}: the key as the validation messages name it. */
    private static String key(List<com.fasterxml.jackson.databind.JsonMappingException.Reference> path) {
        StringBuilder b = new StringBuilder();
        for (var r : path) {
            if (r.getFieldName() != null) {
                b.append(b.isEmpty() ? "" : ".").append(r.getFieldName());
            } else if (r.getIndex() >= 0) {
                b.append('[').append(r.getIndex()).append(']');
            }
        }
        return b.isEmpty() ? "(the whole file)" : b.toString();
    }

    /** Checks every value and resolves server names; the first problem found is the message. */
    public static Settings validate(DaemonConfig c) throws ConfigException {
        if (!(c.maxDriftPpm > 0 && c.maxDriftPpm <= 100_000)) {
            throw new ConfigException("maxDriftPpm: " + c.maxDriftPpm + " must be > 0 and <= 100000");
        }
        positive("pollIntervalMillis", c.pollIntervalMillis);
        positive("replyTimeoutMillis", c.replyTimeoutMillis);
        positive("maxRootDistanceMillis", c.maxRootDistanceMillis);
        if (c.assumedLocalErrorMillis < 0) {
            throw new ConfigException("assumedLocalErrorMillis: " + c.assumedLocalErrorMillis + " must be >= 0");
        }
        positive("publish.intervalMillis", c.publish.intervalMillis);
        positive("publish.voidAfterMillis", c.publish.voidAfterMillis);
        if (c.publish.voidAfterMillis <= c.publish.intervalMillis) {
            throw new ConfigException("publish.voidAfterMillis: " + c.publish.voidAfterMillis
                    + " must exceed publish.intervalMillis (" + c.publish.intervalMillis + ") or readers see void snapshots");
        }
        if (c.publish.segmentPath == null || c.publish.segmentPath.isBlank()) {
            throw new ConfigException("publish.segmentPath: must not be empty");
        }
        positive("journal.retentionHours", c.journal.retentionHours);
        if (c.publish.clockbound.enabled && (c.publish.clockbound.path == null || c.publish.clockbound.path.isBlank())) {
            throw new ConfigException("publish.clockbound.path: must not be empty when publish.clockbound.enabled is true");
        }
        if (c.publish.clockbound.enabled && Path.of(c.publish.clockbound.path).toAbsolutePath().normalize()
                .equals(Path.of(c.publish.segmentPath).toAbsolutePath().normalize())) {
            throw new ConfigException("publish.clockbound.path: '" + c.publish.clockbound.path
                    + "' is publish.segmentPath too; the two segments need two files");
        }

        List<NtpSource.Server> servers = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (int i = 0; i < c.servers.size(); i++) {
            DaemonConfig.Server entry = c.servers.get(i);
            String spec = entry == null ? null : entry.host;
            // named as the operator wrote it: the file's key, or the flag and its value
            String key = c.serversFlag == null ? "servers[" + i + "]" : c.serversFlag + " '" + spec + "'";
            InetSocketAddress a = parseServer(key, spec);
            String name = "ntp:" + (a.isUnresolved() ? a.getHostString() : a.getAddress().getHostAddress()) + ":"
                    + a.getPort();
            if (names.contains(name)) {
                throw new ConfigException(key + ": '" + spec + "' duplicates " + name);
            }
            long pollMillis = entry.pollIntervalMillis == null ? c.pollIntervalMillis : entry.pollIntervalMillis;
            positive(key + ".pollIntervalMillis", pollMillis);
            servers.add(new NtpSource.Server(name, a, pollMillis * 1_000_000L));
            names.add(name);
        }
        double d = c.maxDriftPpm / 1e6;
        long driftPpb = (long) Math.ceil(d / (1 - d) * 1e9);
        long ms = 1_000_000L;
        List<ChronySource.Config> chrony = new ArrayList<>();
        for (int i = 0; i < c.chrony.size(); i++) {
            String key = "chrony[" + i + "]";
            DaemonConfig.Chrony ch = c.chrony.get(i);
            positive(key + ".pollIntervalMillis", ch.pollIntervalMillis);
            positive(key + ".replyTimeoutMillis", ch.replyTimeoutMillis);
            InetSocketAddress a = parseHostPort(key + ".address", ch.address, 323);
            String name = ChronySource.Config.defaultName(a);
            if (names.contains(name) || chrony.stream().anyMatch(x -> x.name().equals(name))) {
                throw new ConfigException(key + ".address: '" + ch.address + "' is configured twice");
            }
            try {
                chrony.add(new ChronySource.Config(name, a, ch.pollIntervalMillis * ms, ch.replyTimeoutMillis * ms,
                        driftPpb, c.maxRootDistanceMillis * ms, new InetSocketAddress(
                        a.getAddress().isLoopbackAddress() ? a.getAddress() : null, 0)));
            } catch (IllegalArgumentException e) {
                throw new ConfigException(key + ": " + e.getMessage());
            }
        }
        List<PtpSource.Config> ptp = new ArrayList<>();
        for (int i = 0; i < c.ptp.size(); i++) {
            ptp.add(ptpSource("ptp[" + i + "]", c.ptp.get(i), driftPpb, names, ptp));
        }
        return new Settings(servers, driftPpb, c.pollIntervalMillis * ms, c.replyTimeoutMillis * ms,
                c.maxRootDistanceMillis * ms, c.assumedLocalErrorMillis * ms, Path.of(c.publish.segmentPath),
                c.publish.intervalMillis * ms, c.publish.voidAfterMillis * ms,
                endpoint("grpc", c.grpc), endpoint("metrics", c.metrics),
                c.journal.dir == null || c.journal.dir.isBlank() ? null : Path.of(c.journal.dir),
                c.journal.retentionHours * 3_600_000_000_000L, chrony, ptp, trusted(c.trust, names, chrony, ptp),
                c.publish.clockbound.enabled ? Path.of(c.publish.clockbound.path) : null);
    }

    private static java.util.Set<String> trusted(List<String> trust, List<String> ntpNames,
                                                 List<ChronySource.Config> chrony, List<PtpSource.Config> ptp)
            throws ConfigException {
        java.util.Set<String> known = new java.util.LinkedHashSet<>(ntpNames);
        chrony.forEach(x -> known.add(x.name()));
        ptp.forEach(p -> known.add(p.name()));
        for (int i = 0; i < trust.size(); i++) {
            if (!known.contains(trust.get(i))) {
                throw new ConfigException("trust[" + i + "]: '" + trust.get(i) + "' is not a configured source (sources: "
                        + known + ")");
            }
        }
        return java.util.Set.copyOf(trust);
    }

    private static PtpSource.Config ptpSource(String key, DaemonConfig.Ptp p, long driftPpb, List<String> ntpNames,
                                              List<PtpSource.Config> earlier) throws ConfigException {
        if (p.socketPath == null || p.socketPath.isBlank()) {
            throw new ConfigException(key + ".socketPath: must not be empty");
        }
        positive(key + ".pollIntervalMillis", p.pollIntervalMillis);
        positive(key + ".replyTimeoutMillis", p.replyTimeoutMillis);
        positive(key + ".timestampErrorMicros", p.timestampErrorMicros);
        positive(key + ".maxSyncAgeMillis", p.maxSyncAgeMillis);
        if (p.unknownAccuracyMicros < -1) {
            throw new ConfigException(key + ".unknownAccuracyMicros: " + p.unknownAccuracyMicros
                    + " must be -1 (reject unknown accuracy) or >= 0");
        }
        String name = "ptp:" + p.socketPath;
        if (ntpNames.contains(name) || earlier.stream().anyMatch(e -> e.name().equals(name))) {
            throw new ConfigException(key + ".socketPath: '" + p.socketPath + "' is configured twice");
        }
        long ms = 1_000_000L;
        try {
            return new PtpSource.Config(name, Path.of(p.socketPath), Path.of(System.getProperty("java.io.tmpdir")),
                    p.pollIntervalMillis * ms, p.replyTimeoutMillis * ms,
                    new PtpBound.Config(driftPpb, p.timestampErrorMicros * 1000,
                            p.unknownAccuracyMicros < 0 ? PtpBound.Config.REJECT_UNKNOWN_ACCURACY : p.unknownAccuracyMicros * 1000,
                            p.maxSyncAgeMillis * ms));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(key + ": " + e.getMessage());
        }
    }

    private static void positive(String key, long value) throws ConfigException {
        if (value <= 0) {
            throw new ConfigException(key + ": " + value + " must be > 0");
        }
    }

    private static InetSocketAddress endpoint(String key, DaemonConfig.Endpoint e) throws ConfigException {
        checkPort(key + ".port", e.port);
        try {
            return new InetSocketAddress(InetAddress.getByName(e.bind), e.port);
        } catch (UnknownHostException ex) {
            throw new ConfigException(key + ".bind: cannot resolve '" + e.bind + "'");
        }
    }

    private static void checkPort(String key, long port) throws ConfigException {
        if (port < 0 || port > 65535) {
            throw new ConfigException(key + ": " + port + " is not a port (0-65535; 0 picks a free one)");
        }
    }

    /**
     * {@code host}, {@code host:port} or {@code [v6]:port}; NTP's port 123 by default. An IP address is parsed; a
     * host name is only checked for syntax and left unresolved: clockd looks it up, and retries while DNS is down.
     */
    static InetSocketAddress parseServer(String key, String spec) throws ConfigException {
        InetSocketAddress hostPort = splitHostPort(key, spec, 123);
        String host = hostPort.getHostString();
        if (host.contains(":") || host.matches("[0-9.]+")) {
            try {
                return new InetSocketAddress(InetAddress.getByName(host), hostPort.getPort()); // a literal: no lookup
            } catch (UnknownHostException e) {
                throw new ConfigException(key + ": '" + host + "' is not an IP address");
            }
        }
        if (!HOST_NAME.matcher(host).matches() || host.length() > 253) {
            throw new ConfigException(key + ": '" + host + "' is not a host name or IP address (letters, digits "
                    + "and '-' in dot-separated labels of 1-63 characters, not starting or ending with '-')");
        }
        return InetSocketAddress.createUnresolved(host.toLowerCase(Locale.ROOT), hostPort.getPort());
    }

    /** RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens, an optional final dot. */
    private static final java.util.regex.Pattern HOST_NAME = java.util.regex.Pattern.compile(
            "(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.?");

    static InetSocketAddress parseHostPort(String key, String spec, int defaultPort) throws ConfigException {
        return resolve(key, splitHostPort(key, spec, defaultPort));
    }

    private static InetSocketAddress resolve(String key, InetSocketAddress unresolved) throws ConfigException {
        String host = unresolved.getHostString();
        try {
            return new InetSocketAddress(InetAddress.getByName(host), unresolved.getPort());
        } catch (UnknownHostException e) {
            throw new ConfigException(key + ": cannot resolve server '" + host.toLowerCase(Locale.ROOT)
                    + "' (unreachable name; check DNS or use an address)");
        }
    }

    /** The host and port of {@code spec}, unresolved. */
    private static InetSocketAddress splitHostPort(String key, String spec, int defaultPort) throws ConfigException {
        if (spec == null || spec.isBlank()) {
            throw new ConfigException(key + ": empty server");
        }
        String host = spec.trim();
        int port = defaultPort;
        int colon = host.lastIndexOf(':');
        boolean bracketed = host.startsWith("[");
        if (colon > 0 && (bracketed ? host.indexOf(']') < colon : host.indexOf(':') == colon)) {
            String p = host.substring(colon + 1);
            try {
                port = Integer.parseInt(p);
            } catch (NumberFormatException e) {
                throw new ConfigException(key + ": bad port '" + p + "' in '" + spec + "'");
            }
            host = host.substring(0, colon);
        }
        if (bracketed) {
            host = host.substring(1, host.length() - 1);
        }
        if (port < 1 || port > 65535) {
            throw new ConfigException(key + ": port " + port + " in '" + spec + "' is not a port (1-65535)");
        }
        return InetSocketAddress.createUnresolved(host, port);
    }
}
