package io.gnomon.paxos.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A cluster of real {@code etcd} processes on 127.0.0.1, for benchmarks and fault-injection tests.
 *
 * <p>Each member gets a free client port and a free peer port, its own data directory and a log file
 * ({@code member-<i>/etcd.log}, stdout and stderr together). {@link #start} returns once every member answers
 * {@code GET /health} with {@code "health":"true"}, which in etcd 3.4 means it sees a leader and served a
 * request through raft. Members are addressed by index, {@code 0 .. size()-1}.
 *
 * <pre>{@code
 * try (EtcdCluster etcd = EtcdCluster.builder().members(3).start()) {
 *     Client client = Client.builder().endpoints(etcd.clientEndpoints().toArray(URI[]::new)).build();
 *     etcd.kill(0);                           // SIGKILL; the other two still form a majority
 *     etcd.restart(0);                        // same data dir; returns once member 0 is healthy again
 * }                                           // close(): SIGKILL every member, delete the directories it created
 * }</pre>
 *
 * <p>Needs the {@code etcd} binary (Debian: {@code apt-get install -y etcd-server}, etcd 3.4). etcd 3.4 refuses
 * to start on architectures other than amd64 and ppc64le unless {@code ETCD_UNSUPPORTED_ARCH} names the running
 * architecture; the launcher sets it there (arm64 included) and strips every other inherited {@code ETCD_*}
 * variable, because etcd reads those as flags and a stray one would change the members' configuration.
 */
public final class EtcdCluster implements AutoCloseable {

    /** Ports are chosen free but can be taken before etcd binds them (the machine is shared); retries bounded. */
    static final int START_ATTEMPTS_MAX = 3;
    static final int LOG_TAIL_LINES = 30;
    static final Duration HEALTH_POLL_INTERVAL = Duration.ofMillis(50);
    static final Duration HEALTH_REQUEST_TIMEOUT = Duration.ofSeconds(1);
    static final long STOP_GRACE_SECONDS = 10;

    private final String binary;
    private final Path clusterDir;
    private final Path deleteOnClose;
    private final Duration startTimeout;
    private final List<String> extraArgs;
    private final String clusterToken;
    private final List<Member> members;
    private final HttpClient http;
    private final Thread shutdownHook;
    private boolean closed;

    private EtcdCluster(Builder b, Path clusterDir, Path deleteOnClose, List<Member> members) {
        this.binary = b.binary;
        this.clusterDir = clusterDir;
        this.deleteOnClose = deleteOnClose;
        this.startTimeout = b.startTimeout;
        this.extraArgs = List.copyOf(b.extraArgs);
        this.clusterToken = "gnomon-" + UUID.randomUUID();
        this.members = members;
        this.http = HttpClient.newBuilder().connectTimeout(HEALTH_REQUEST_TIMEOUT).build();
        // A benchmark stopped with Ctrl-C must not leave three etcd processes behind.
        this.shutdownHook = new Thread(this::killAllQuietly, "etcd-cluster-shutdown");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /** Starts a 3-member cluster in a fresh temporary directory with the {@code etcd} found on the PATH. */
    public static EtcdCluster start() throws IOException {
        return builder().start();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Options for {@link EtcdCluster}; {@link #start()} launches the processes. */
    public static final class Builder {
        private int members = 3;
        private Path dir;
        private String binary = "etcd";
        private Duration startTimeout = Duration.ofSeconds(30);
        private final List<String> extraArgs = new ArrayList<>();

        private Builder() {
        }

        /** Number of members, 1 to 7 (default 3). */
        public Builder members(int count) {
            if (count < 1 || count > 7) {
                throw new IllegalArgumentException("members must be 1..7; got " + count);
            }
            this.members = count;
            return this;
        }

        /**
         * Directory to create the member directories in (it must exist); {@link #close()} deletes the member
         * directories but not this one. Default: a fresh temporary directory, deleted on close.
         */
        public Builder dir(Path parent) {
            this.dir = Objects.requireNonNull(parent, "dir");
            return this;
        }

        /** The etcd executable: a path or a name looked up on the PATH (default {@code etcd}). */
        public Builder binary(String executable) {
            this.binary = Objects.requireNonNull(executable, "binary");
            return this;
        }

        /** Deadline for all members to become healthy, and for one member after {@link #restart}. */
        public Builder startTimeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("startTimeout must be positive; got " + timeout);
            }
            this.startTimeout = timeout;
            return this;
        }

        /** Extra etcd flags given to every member, e.g. {@code --heartbeat-interval=50}. */
        public Builder extraArg(String flag) {
            this.extraArgs.add(Objects.requireNonNull(flag, "flag"));
            return this;
        }

        public EtcdCluster start() throws IOException {
            requireInstalled(binary);
            boolean ownsDir = dir == null;
            Path base = ownsDir ? Files.createTempDirectory("gnomon-etcd-") : dir;
            if (!Files.isDirectory(base)) {
                throw new IllegalArgumentException("dir must be an existing directory; got " + base);
            }
            try {
                return startIn(base, ownsDir);
            } catch (IOException | RuntimeException e) {
                if (ownsDir) {
                    deleteRecursively(base);
                }
                throw e;
            }
        }

        private EtcdCluster startIn(Path base, boolean ownsDir) throws IOException {
            IOException lastFailure = null;
            for (int attempt = 1; attempt <= START_ATTEMPTS_MAX; attempt++) {
                Path clusterDir = Files.createTempDirectory(base, "cluster-");
                List<Member> chosen;
                try {
                    chosen = freeMembers(clusterDir, members);
                } catch (IOException e) {
                    deleteRecursively(clusterDir);
                    throw e;
                }
                EtcdCluster cluster = new EtcdCluster(this, clusterDir, ownsDir ? base : clusterDir, chosen);
                try {
                    cluster.launchAll();
                    return cluster;
                } catch (PortTakenException e) {
                    lastFailure = e;
                    cluster.discard();
                } catch (IOException | RuntimeException e) {
                    cluster.discard();
                    throw e;
                }
            }
            throw new IOException("etcd cluster did not start in " + START_ATTEMPTS_MAX
                    + " attempts: a chosen port was taken each time", lastFailure);
        }
    }

    /** One member's fixed identity and its current process (null while stopped). */
    private static final class Member {
        final int index;
        final String name;
        final int clientPort;
        final int peerPort;
        final Path dir;
        /** Written under the cluster's lock; volatile so the health poll and the shutdown hook read it unlocked. */
        volatile Process process;

        Member(int index, int clientPort, int peerPort, Path dir) {
            this.index = index;
            this.name = "m" + index;
            this.clientPort = clientPort;
            this.peerPort = peerPort;
            this.dir = dir;
        }

        URI clientUri() {
            return URI.create("http://127.0.0.1:" + clientPort);
        }

        String peerUrl() {
            return "http://127.0.0.1:" + peerPort;
        }

        Path logFile() {
            return dir.resolve("etcd.log");
        }
    }

    /** Thrown when a member's log shows that another process bound one of its ports first. */
    private static final class PortTakenException extends IOException {
        PortTakenException(String message) {
            super(message);
        }
    }

    private static List<Member> freeMembers(Path dir, int count) throws IOException {
        // Hold every socket open until all are chosen, so the 2N ports are distinct.
        List<ServerSocket> sockets = new ArrayList<>();
        try {
            for (int i = 0; i < 2 * count; i++) {
                ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                s.setReuseAddress(true);
                sockets.add(s);
            }
            List<Member> out = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                Path memberDir = Files.createDirectory(dir.resolve("member-" + i));
                out.add(new Member(i, sockets.get(2 * i).getLocalPort(), sockets.get(2 * i + 1).getLocalPort(), memberDir));
            }
            return List.copyOf(out);
        } finally {
            for (ServerSocket s : sockets) {
                s.close();
            }
        }
    }

    private void launchAll() throws IOException {
        for (Member m : members) {
            launch(m);
        }
        long deadlineNanos = System.nanoTime() + startTimeout.toNanos();
        for (Member m : members) {
            awaitHealthy(m, deadlineNanos);
        }
    }

    private void launch(Member m) throws IOException {
        String initialCluster = members.stream().map(x -> x.name + "=" + x.peerUrl()).collect(Collectors.joining(","));
        List<String> cmd = new ArrayList<>(List.of(
                binary,
                "--name", m.name,
                "--data-dir", m.dir.resolve("data").toString(),
                "--listen-client-urls", m.clientUri().toString(),
                "--advertise-client-urls", m.clientUri().toString(),
                "--listen-peer-urls", m.peerUrl(),
                "--initial-advertise-peer-urls", m.peerUrl(),
                // Ignored by etcd once the data dir holds a member, so the same command serves restart().
                "--initial-cluster", initialCluster,
                "--initial-cluster-state", "new",
                "--initial-cluster-token", clusterToken,
                "--logger", "zap",
                "--log-outputs", "stderr"));
        cmd.addAll(extraArgs);
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(m.logFile().toFile()));
        Map<String, String> env = pb.environment();
        env.keySet().removeIf(k -> k.startsWith("ETCD_"));
        String goArch = goArch(System.getProperty("os.arch"));
        if (!goArch.equals("amd64") && !goArch.equals("ppc64le")) {
            env.put("ETCD_UNSUPPORTED_ARCH", goArch);
        }
        m.process = pb.start();
    }

    /** The Go name of the JVM's architecture, as etcd compares it with ETCD_UNSUPPORTED_ARCH. */
    static String goArch(String javaArch) {
        return switch (javaArch.toLowerCase(Locale.ROOT)) {
            case "amd64", "x86_64" -> "amd64";
            case "aarch64", "arm64" -> "arm64";
            case "x86", "i386", "i686" -> "386";
            case "arm" -> "arm";
            default -> javaArch.toLowerCase(Locale.ROOT);
        };
    }

    private void awaitHealthy(Member m, long deadlineNanos) throws IOException {
        HttpRequest request = HttpRequest.newBuilder(m.clientUri().resolve("/health"))
                .timeout(HEALTH_REQUEST_TIMEOUT).GET().build();
        String lastAnswer = "no answer yet";
        while (true) {
            Process p = m.process;
            if (p == null || !p.isAlive()) {
                String tail = logTail(m);
                if (tail.contains("address already in use")) {
                    throw new PortTakenException("etcd member " + m.name + ": a port was taken; log tail:\n" + tail);
                }
                throw new IOException("etcd member " + m.name + " exited"
                        + (p == null ? "" : " with status " + p.exitValue()) + " before it became healthy; "
                        + m.logFile() + " ends with:\n" + tail);
            }
            try {
                HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
                lastAnswer = r.statusCode() + " " + r.body().strip();
                if (r.statusCode() == 200 && r.body().replace(" ", "").contains("\"health\":\"true\"")) {
                    return;
                }
            } catch (IOException e) {
                lastAnswer = e.toString();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for etcd member " + m.name, e);
            }
            if (System.nanoTime() - deadlineNanos >= 0) {
                throw new IOException("etcd member " + m.name + " not healthy within " + startTimeout
                        + " (last /health answer: " + lastAnswer + "); " + m.logFile() + " ends with:\n" + logTail(m));
            }
            sleep(HEALTH_POLL_INTERVAL);
        }
    }

    private static void sleep(Duration d) throws IOException {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    private static String logTail(Member m) {
        try {
            List<String> lines = Files.readAllLines(m.logFile(), StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - LOG_TAIL_LINES), lines.size()));
        } catch (IOException | UncheckedIOException e) {
            return "(log unreadable: " + e + ")";
        }
    }

    private static void requireInstalled(String binary) throws IOException {
        boolean found;
        if (binary.contains("/")) {
            found = Files.isExecutable(Path.of(binary));
        } else {
            String path = System.getenv().getOrDefault("PATH", "");
            found = Stream.of(path.split(":")).anyMatch(d -> !d.isEmpty() && Files.isExecutable(Path.of(d, binary)));
        }
        if (!found) {
            throw new IOException("etcd is not installed (no executable '" + binary + "' on the PATH); "
                    + "install it with: apt-get install -y etcd-server");
        }
    }

    // ---- what callers see ----

    public int size() {
        return members.size();
    }

    /** Client URLs of all members, e.g. {@code http://127.0.0.1:34567}, in member order. */
    public List<URI> clientEndpoints() {
        return members.stream().map(Member::clientUri).toList();
    }

    public URI clientEndpoint(int member) {
        return member(member).clientUri();
    }

    /** The member's data directory ({@code member-<i>/data}). */
    public Path dataDir(int member) {
        return member(member).dir.resolve("data");
    }

    /** The member's log (stdout and stderr of every run of it, appended). */
    public Path logFile(int member) {
        return member(member).logFile();
    }

    /** The directory holding the member directories. */
    public Path dir() {
        return clusterDir;
    }

    /** Whether the member's process is running (a paused one counts as running). */
    public synchronized boolean isRunning(int member) {
        Process p = member(member).process;
        return p != null && p.isAlive();
    }

    /** The pid of the member's current process; throws if it is stopped. */
    public synchronized long pid(int member) {
        Member m = member(member);
        if (m.process == null) {
            throw new IllegalStateException("etcd member " + m.name + " is not running");
        }
        return m.process.pid();
    }

    /** The pids of the members' current processes in member order; -1 for a member that is stopped. */
    public synchronized List<Long> pids() {
        return members.stream().map(m -> m.process == null ? -1L : m.process.pid()).toList();
    }

    /** SIGKILL, then waits until the process is gone. The data directory stays, for {@link #restart}. */
    public synchronized void kill(int member) {
        Member m = member(member);
        if (m.process != null) {
            destroy(m.process, true);
            m.process = null;
        }
    }

    /** SIGTERM (etcd shuts down cleanly), SIGKILL if it has not exited within {@value #STOP_GRACE_SECONDS} s. */
    public synchronized void stop(int member) {
        Member m = member(member);
        if (m.process != null) {
            destroy(m.process, false);
            m.process = null;
        }
    }

    /**
     * Starts a stopped or killed member again on its data directory and ports, and returns once it reports
     * healthy (it rejoined: it sees a leader and its requests go through raft). Kills it first if running.
     */
    public synchronized void restart(int member) throws IOException {
        Member m = member(member);
        if (m.process != null) {
            destroy(m.process, true);
            m.process = null;
        }
        launch(m);
        awaitHealthy(m, System.nanoTime() + startTimeout.toNanos());
    }

    /** SIGSTOP: the process freezes with its sockets open, as a long GC pause or a hung disk would. */
    public synchronized void pause(int member) throws IOException {
        signal(member, "STOP");
    }

    /** SIGCONT after {@link #pause}. */
    public synchronized void resume(int member) throws IOException {
        signal(member, "CONT");
    }

    /**
     * The member the running members name as raft leader, asked through etcd's JSON gateway
     * ({@code POST /v3/maintenance/status}); empty if none of them answers with a leader that is one of ours.
     * A snapshot: leadership can move right after.
     */
    public OptionalInt leader() {
        Map<String, Integer> indexByMemberId = new HashMap<>();
        String leaderId = null;
        for (Member m : members) {
            Process p = m.process;
            if (p == null || !p.isAlive()) {
                continue;
            }
            HttpRequest request = HttpRequest.newBuilder(m.clientUri().resolve("/v3/maintenance/status"))
                    .timeout(HEALTH_REQUEST_TIMEOUT).POST(HttpRequest.BodyPublishers.ofString("{}")).build();
            try {
                String body = http.send(request, HttpResponse.BodyHandlers.ofString()).body();
                Matcher id = MEMBER_ID.matcher(body);
                Matcher leader = LEADER_ID.matcher(body);
                if (id.find()) {
                    indexByMemberId.put(id.group(1), m.index);
                }
                if (leader.find() && !leader.group(1).equals("0")) {
                    leaderId = leader.group(1);
                }
            } catch (IOException e) {
                // A member that does not answer (paused, starting) says nothing about the leader.
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return OptionalInt.empty();
            }
        }
        Integer index = leaderId == null ? null : indexByMemberId.get(leaderId);
        return index == null ? OptionalInt.empty() : OptionalInt.of(index);
    }

    // The gateway prints uint64 ids as JSON strings.
    private static final Pattern MEMBER_ID = Pattern.compile("\"member_id\"\\s*:\\s*\"(\\d+)\"");
    private static final Pattern LEADER_ID = Pattern.compile("\"leader\"\\s*:\\s*\"(\\d+)\"");

    /** Waits until the member answers /health with true, up to the start timeout. */
    public void awaitHealthy(int member) throws IOException {
        awaitHealthy(member(member), System.nanoTime() + startTimeout.toNanos());
    }

    private void signal(int member, String signal) throws IOException {
        long pid = pid(member);
        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).redirectErrorStream(true).start();
        try {
            if (!kill.waitFor(5, TimeUnit.SECONDS) || kill.exitValue() != 0) {
                throw new IOException("kill -" + signal + " " + pid + " failed: "
                        + new String(kill.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while signalling etcd member " + member, e);
        }
    }

    private static void destroy(Process p, boolean forcibly) {
        if (!p.isAlive()) {
            return;
        }
        if (forcibly) {
            p.destroyForcibly();
        } else {
            p.destroy();
        }
        try {
            if (!p.waitFor(STOP_GRACE_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(STOP_GRACE_SECONDS, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
        }
        if (p.isAlive()) {
            throw new IllegalStateException("etcd process " + p.pid() + " survived SIGKILL for "
                    + STOP_GRACE_SECONDS + " s");
        }
    }

    private Member member(int index) {
        if (index < 0 || index >= members.size()) {
            throw new IndexOutOfBoundsException("etcd member must be 0.." + (members.size() - 1) + "; got " + index);
        }
        return members.get(index);
    }

    /** The shutdown hook: unlocked, so a restart() waiting for health cannot hold the JVM's exit up. */
    private void killAllQuietly() {
        for (Member m : members) {
            Process p = m.process;
            if (p != null) {
                p.destroyForcibly();
            }
        }
    }

    /** SIGKILLs every member, waits for the processes to be gone, and deletes the directories it created. */
    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        killAll();
        deleteRecursively(deleteOnClose);
    }

    /** A failed start attempt: its processes and its own directory go, a temporary parent stays for the next. */
    private synchronized void discard() throws IOException {
        closed = true;
        killAll();
        deleteRecursively(clusterDir);
    }

    private void killAll() {
        for (Member m : members) {
            if (m.process != null) {
                destroy(m.process, true);
                m.process = null;
            }
        }
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException alreadyShuttingDown) {
            // The hook is running or has run; nothing left to remove.
        }
    }

    static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
