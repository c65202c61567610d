package io.gnomon.clockd.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real Prometheus server for tests (Debian's {@code prometheus} package, which bin/test installs), on a free
 * loopback port with its storage in a test directory. Runs as a child process; closing stops it. Also runs
 * {@code promtool}, which the same package provides.
 */
public final class PrometheusServer implements AutoCloseable {
    private static final Duration HTTP_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(30);

    private final Process process;
    private final int port;
    private final Path log;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(HTTP_TIMEOUT).build();
    private final ObjectMapper json = new ObjectMapper();

    private PrometheusServer(Process process, int port, Path log) {
        this.process = process;
        this.port = port;
        this.log = log;
    }

    /** Whether both {@code prometheus} and {@code promtool} are installed. */
    public static boolean available() {
        return onPath("prometheus") && onPath("promtool");
    }

    /** Starts Prometheus with {@code configYaml} as its configuration and waits until it reports ready. */
    public static PrometheusServer start(Path dir, String configYaml) throws IOException, InterruptedException {
        if (!available()) {
            throw new IOException("prometheus is not installed: run bin/test, which installs it (apt-get install -y prometheus)");
        }
        Files.createDirectories(dir);
        Path config = dir.resolve("prometheus.yml");
        Files.writeString(config, configYaml);
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Path log = dir.resolve("prometheus.log");
        Process p = new ProcessBuilder("prometheus",
                "--config.file=" + config,
                "--storage.tsdb.path=" + dir.resolve("data"),
                "--web.listen-address=127.0.0.1:" + port)
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        PrometheusServer server = new PrometheusServer(p, port, log);
        long deadlineNanos = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (!server.ready()) {
            if (!p.isAlive() || System.nanoTime() > deadlineNanos) {
                server.close();
                throw new IOException("prometheus on 127.0.0.1:" + port + " did not become ready; log:\n" + Files.readString(log));
            }
            Thread.sleep(100);
        }
        return server;
    }

    /** Runs {@code promtool args...}; returns its exit code and output, failing if it does not end in time. */
    public static Result promtool(String... args) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(prepend("promtool", args)).redirectErrorStream(true).start();
        try {
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                throw new IOException("promtool " + String.join(" ", args) + " did not finish in 30 s");
            }
            return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        } finally {
            p.destroyForcibly();
        }
    }

    /** A finished command: exit code and combined output. */
    public record Result(int exitCode, String output) {
    }

    public int port() {
        return port;
    }

    /**
     * Runs an instant query through the HTTP API ({@code /api/v1/query}) and returns the API's whole answer:
     * {@code status} is {@code success} or {@code error} (with {@code error} saying why), {@code data.result}
     * the series.
     */
    public JsonNode query(String promql) throws IOException, InterruptedException {
        return get("/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8));
    }

    /** GET of an API path, parsed as JSON (Prometheus answers JSON on errors too). */
    public JsonNode get(String pathAndQuery) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + pathAndQuery))
                .timeout(HTTP_TIMEOUT).GET().build(), HttpResponse.BodyHandlers.ofString());
        return json.readTree(r.body());
    }

    /** Prometheus' own log so far, for failure messages. */
    public String log() throws IOException {
        return Files.readString(log);
    }

    private boolean ready() {
        try {
            return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/-/ready"))
                    .timeout(Duration.ofSeconds(1)).GET().build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static boolean onPath(String command) {
        return List.of(System.getenv().getOrDefault("PATH", "").split(":")).stream()
                .anyMatch(d -> !d.isEmpty() && Files.isExecutable(Path.of(d, command)));
    }

    private static String[] prepend(String first, String[] rest) {
        String[] all = new String[rest.length + 1];
        all[0] = first;
        System.arraycopy(rest, 0, all, 1, rest.length);
        return all;
    }

    @Override
    public void close() {
        Processes.stop(process, Duration.ofSeconds(10));
    }
}
