package io.gnomon.paxos.server;

import io.gnomon.paxos.cluster.ClusterFile;
import io.gnomon.paxos.cluster.ClusterSpec;
import io.gnomon.paxos.cluster.HostPort;
import io.gnomon.paxos.cluster.ProcessSpec;
import io.gnomon.paxos.grpc.ReplicaGrpc;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * A group of replicas, or a cluster of processes hosting many groups ({@link #withCluster}), as separate JVM
 * processes on loopback, for tests, the benchmark and the fault harness: start, wait for health, SIGTERM, SIGKILL,
 * SIGSTOP/SIGCONT and restart each one. Ports are chosen once (free ephemeral ports on
 * 127.0.0.1) and kept across restarts; each replica's data and its stdout/stderr log live in
 * {@code root/r<ID>}. {@link #close} kills every process it started.
 */
public final class ReplicaProcesses implements AutoCloseable {
    /** The flags Chronicle Queue needs on Java 17 (../shared/TOOLCHAIN.md), as bin/_java passes them. */
    public static final List<String> CHRONICLE_JVM_FLAGS = List.of(
            "--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED",
            "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED",
            "--add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED",
            "--add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED",
            "--add-opens=jdk.compiler/com.sun.tools.javac=ALL-UNNAMED",
            "--add-opens=java.base/java.lang=ALL-UNNAMED",
            "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
            "--add-opens=java.base/java.io=ALL-UNNAMED",
            "--add-opens=java.base/java.util=ALL-UNNAMED",
            "--add-opens=java.base/java.nio=ALL-UNNAMED",
            "--add-opens=java.base/jdk.internal.misc=ALL-UNNAMED",
            "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED",
            "-Dchronicle.analytics.disable=true");

    private final Path root;
    private final String classpath;
    private final List<String> replicaArgs;
    private final List<String> jvmArgs;
    private final Map<Integer, Integer> ports = new TreeMap<>();
    private final Map<Integer, Process> running = new TreeMap<>();
    /** Set by {@link #withCluster}: each replica runs {@code --cluster} this file {@code --process} its id. */
    private Path clusterFile;
    private ClusterSpec cluster;

    /**
     * @param root        directory for the replicas' data and logs
     * @param n           replicas, ids 1..n
     * @param classpath   the classpath with txn-coordinator's classes and dependencies
     * @param replicaArgs extra {@code bin/replica} options for every replica (e.g. {@code --lease-ms 2000})
     */
    public ReplicaProcesses(Path root, int n, String classpath, List<String> replicaArgs) {
        this(root, n, classpath, replicaArgs, List.of());
    }

    /**
     * @param jvmArgs extra JVM options for every replica, {@code {id}} replaced by its id (e.g. a JFR recording
     *                per replica, for profiling)
     */
    public ReplicaProcesses(Path root, int n, String classpath, List<String> replicaArgs, List<String> jvmArgs) {
        this.root = root;
        this.classpath = classpath;
        this.replicaArgs = List.copyOf(replicaArgs);
        this.jvmArgs = List.copyOf(jvmArgs);
        for (int id = 1; id <= n; id++) {
            ports.put(id, freePort());
        }
    }

    /**
     * Runs the processes as a cluster of many groups from now on: {@code groups} groups splitting the key space,
     * each on {@code replicasPerGroup} processes (as {@link ClusterSpec#evenlySplit}), this object's processes with
     * their peer ports and a free client port each; see {@link #withCluster(ClusterSpec)}.
     */
    public ReplicaProcesses withCluster(int groups, int replicasPerGroup) throws IOException {
        List<ProcessSpec> processes = new ArrayList<>();
        ports.forEach((id, port) -> processes.add(new ProcessSpec(id, new HostPort("127.0.0.1", port),
                new HostPort("127.0.0.1", freePort()), Optional.empty())));
        return withCluster(ClusterSpec.of(processes,
                ClusterSpec.evenlySplit(ports.size(), groups, replicasPerGroup, "127.0.0.1", 1).groups()));
    }

    /**
     * Runs the processes as {@code spec} from now on: writes it to {@code root/cluster.yaml} and starts each
     * replica with {@code --cluster} it and {@code --process} its id instead of {@code --id} and {@code --member}
     * (each process's data in {@code root/r<ID>/log} whatever the file's {@code data-dir}). {@link #targets()}
     * are then the processes' client addresses: the peer port serves peers only.
     *
     * @throws IllegalArgumentException unless the file's processes are this object's ids, 1..n, on loopback
     */
    public ReplicaProcesses withCluster(ClusterSpec spec) throws IOException {
        List<Integer> ids = spec.processes().stream().map(ProcessSpec::id).sorted().toList();
        if (!ids.equals(ids())) {
            throw new IllegalArgumentException("cluster processes " + ids + " are not the launcher's " + ids());
        }
        for (ProcessSpec p : spec.processes()) {
            if (!InetAddress.getByName(p.peer().host()).isLoopbackAddress()
                    || !InetAddress.getByName(p.client().host()).isLoopbackAddress()) {
                throw new IllegalArgumentException("process " + p.id() + ": the launcher starts processes on this "
                        + "host only; " + p.peer() + " and " + p.client() + " must be loopback addresses");
            }
            ports.put(p.id(), p.peer().port());
        }
        cluster = spec;
        Files.createDirectories(root);
        clusterFile = root.resolve("cluster.yaml");
        Files.writeString(clusterFile, ClusterFile.write(cluster));
        return this;
    }

    /** The cluster {@link #withCluster} wrote, or null. */
    public ClusterSpec cluster() {
        return cluster;
    }

    /** A group using this JVM's own classpath. */
    public static ReplicaProcesses ofThisClasspath(Path root, int n, List<String> replicaArgs) {
        return new ReplicaProcesses(root, n, System.getProperty("java.class.path"), replicaArgs);
    }

    /** A group using this JVM's own classpath, each replica with extra JVM options ({@code {id}}: its id). */
    public static ReplicaProcesses ofThisClasspath(Path root, int n, List<String> replicaArgs, List<String> jvmArgs) {
        return new ReplicaProcesses(root, n, System.getProperty("java.class.path"), replicaArgs, jvmArgs);
    }

    public static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Where clients reach each process, by id: its client address in a cluster ({@link #withCluster}), else its
     * one port.
     */
    public Map<Integer, String> targets() {
        if (cluster != null) {
            Map<Integer, String> t = new TreeMap<>();
            cluster.processes().forEach(p -> t.put(p.id(), p.client().toString()));
            return t;
        }
        return peerTargets();
    }

    /** Where the other processes reach each process, by id (the same as {@link #targets()} outside a cluster). */
    public Map<Integer, String> peerTargets() {
        Map<Integer, String> t = new TreeMap<>();
        ports.forEach((id, port) -> t.put(id, "127.0.0.1:" + port));
        return t;
    }

    public List<Integer> ids() {
        return List.copyOf(ports.keySet());
    }

    public Path dir(int id) {
        return root.resolve("r" + id);
    }

    /** Starts every replica and waits until each serves. */
    public void startAll(Duration timeout) throws IOException {
        for (int id : ports.keySet()) {
            start(id);
        }
        for (int id : ports.keySet()) {
            awaitReady(id, timeout);
        }
    }

    /** Starts replica {@code id} (its data directory is kept from any earlier run). */
    public void start(int id) throws IOException {
        start(id, replicaArgs);
    }

    /**
     * Starts replica {@code id} with {@code replicaArgsThisStart} in place of the group's extra options (a restart
     * with another {@code --lease-ms}, say); later {@link #start(int)} calls use the group's again.
     */
    public void start(int id, List<String> replicaArgsThisStart) throws IOException {
        if (running.containsKey(id) && running.get(id).isAlive()) {
            throw new IllegalStateException("replica " + id + " is already running");
        }
        Files.createDirectories(dir(id));
        Files.deleteIfExists(readyFile(id));
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(CHRONICLE_JVM_FLAGS);
        cmd.addAll(List.of("-Xmx256m", "-XX:+UseSerialGC")); // defaults: a jvmArgs -Xmx after them wins
        for (String a : jvmArgs) {
            cmd.add(a.replace("{id}", String.valueOf(id)));
        }
        cmd.addAll(List.of("-cp", classpath, ReplicaMain.class.getName(),
                "--data-dir", dir(id).resolve("log").toString(), "--ready-file", readyFile(id).toString()));
        if (clusterFile != null) {
            cmd.addAll(List.of("--cluster", clusterFile.toString(), "--process", String.valueOf(id)));
        } else {
            cmd.addAll(List.of("--id", String.valueOf(id)));
            ports.forEach((m, port) -> cmd.addAll(List.of("--member", m + "=127.0.0.1:" + port)));
        }
        cmd.addAll(replicaArgsThisStart);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir(id).resolve("replica.log").toFile()));
        unpackRocksDbLibraryIn(pb, dir(id).resolve("rocksdb-jni"));
        running.put(id, pb.start());
    }

    /**
     * Has the child RocksDB's JNI library (17 MB) unpack into {@code dir}, created here, instead of a new file in
     * /tmp: that one is deleted only at a clean exit, so every replica killed with SIGKILL (tests, torture,
     * bench-failover) left one in /tmp. Within the caller's directory it goes with it; a restart replaces it.
     */
    public static void unpackRocksDbLibraryIn(ProcessBuilder pb, Path dir) throws IOException {
        Files.createDirectories(dir);
        pb.environment().put("ROCKSDB_SHAREDLIB_DIR", dir.toString());
    }

    /** Waits until replica {@code id} has written its ready file; fails with its log if it exits first. */
    public void awaitReady(int id, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!Files.exists(readyFile(id))) {
            Process p = running.get(id);
            if (p == null || !p.isAlive()) {
                throw new IllegalStateException("replica " + id + " exited before serving; its log:\n" + log(id));
            }
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("replica " + id + " not serving within " + timeout + "; its log:\n"
                        + log(id));
            }
            try {
                Thread.sleep(10); // polling a file another process writes; bounded by the deadline
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
        }
    }

    /**
     * Waits until process {@code id} says SERVING for {@code gnomon.paxos.v1.Replica} on its client address
     * (docs/protocols.md, "Health": TrueTime usable and every group it hosts knows a leader); fails with its log
     * if it exits first or does not within {@code timeout}.
     */
    public void awaitServing(int id, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        ManagedChannel channel = NettyChannelBuilder.forTarget(targets().get(id)).usePlaintext().build();
        try {
            HealthCheckRequest request = HealthCheckRequest.newBuilder().setService(ReplicaGrpc.SERVICE_NAME).build();
            while (true) {
                if (!isRunning(id)) {
                    throw new IllegalStateException("replica " + id + " exited before serving; its log:\n" + log(id));
                }
                try {
                    if (HealthGrpc.newBlockingStub(channel).withDeadlineAfter(1, TimeUnit.SECONDS).check(request)
                            .getStatus() == HealthCheckResponse.ServingStatus.SERVING) {
                        return;
                    }
                } catch (StatusRuntimeException notYet) {
                    // not listening yet, or the deadline passed: ask again
                }
                if (System.nanoTime() - deadline > 0) {
                    throw new IllegalStateException("replica " + id + " not SERVING within " + timeout
                            + " (no leader known for some group, or TrueTime unusable); its log:\n" + log(id));
                }
                Thread.sleep(20); // polling another process's health; bounded by the deadline
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } finally {
            channel.shutdownNow();
        }
    }

    public String log(int id) {
        try {
            return Files.readString(dir(id).resolve("replica.log"));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    public boolean isRunning(int id) {
        Process p = running.get(id);
        return p != null && p.isAlive();
    }

    public long pid(int id) {
        return running.get(id).pid();
    }

    /** SIGKILL, then waits for the process to be gone. */
    public void kill9(int id) {
        Process p = running.remove(id);
        if (p == null) {
            return;
        }
        p.destroyForcibly(); // SIGKILL on Linux
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                throw new IllegalStateException("replica " + id + " (pid " + p.pid() + ") survived SIGKILL for 10 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** SIGTERM (the replica closes its logs and exits 0), then SIGKILL if it still runs after {@code grace}. */
    public void stop(int id, Duration grace) {
        Process p = running.get(id);
        if (p == null) {
            return;
        }
        p.destroy(); // SIGTERM on Linux
        try {
            p.waitFor(grace.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        kill9(id);
    }

    /** SIGSTOP: the process stays, its threads stop (a long GC pause, a stalled VM). */
    public void pause(int id) {
        signal(id, "STOP");
    }

    /**
     * SIGTERM to every replica, then SIGKILL to any still running after {@code grace}: the JVMs run their shutdown
     * hooks, e.g. a flight recording started with {@code -XX:StartFlightRecording=filename=...} is written.
     */
    public void terminateAll(Duration grace) {
        for (Process p : running.values()) {
            p.destroy(); // SIGTERM on Linux
        }
        long deadline = System.nanoTime() + grace.toNanos();
        try {
            for (Process p : running.values()) {
                p.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        close();
    }

    /** SIGCONT after {@link #pause}. */
    public void resume(int id) {
        signal(id, "CONT");
    }

    private void signal(int id, String signal) {
        Process p = running.get(id);
        if (p == null) {
            throw new IllegalStateException("replica " + id + " is not running");
        }
        try {
            Process k = new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).inheritIO().start();
            if (k.waitFor() != 0) {
                throw new IllegalStateException("kill -" + signal + " " + p.pid() + " failed");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private Path readyFile(int id) {
        return dir(id).resolve("ready");
    }

    @Override
    public void close() {
        for (int id : List.copyOf(running.keySet())) {
            kill9(id); // SIGKILL also ends a process stopped by pause()
        }
    }
}
