package io.gnomon.paxos.server;

import io.gnomon.paxos.PaxosConfig;
import io.gnomon.paxos.PaxosLimits;
import io.gnomon.paxos.cli.VersionProvider;
import io.gnomon.paxos.cluster.ClusterFile;
import io.gnomon.paxos.cluster.ClusterFileException;
import io.gnomon.paxos.cluster.ClusterSpec;
import io.gnomon.paxos.cluster.GroupSpec;
import io.gnomon.paxos.cluster.ProcessSpec;
import io.gnomon.txn.TxnHost;
import io.gnomon.txn.TxnLimits;
import io.gnomon.txn.server.TxnNode;
import io.gnomon.paxos.storage.LogLimits;
import io.gnomon.paxos.storage.SyncPolicy;
import io.gnomon.truetime.TrueTime;
import io.gnomon.truetime.testing.FaultScript;
import io.gnomon.truetime.shm.ShmTrueTime;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/** {@code bin/replica}: one replica of a replicated log as a process (docs/paxos.md, "Replica processes"). */
@Command(name = "replica", mixinStandardHelpOptions = true, sortOptions = false,
        versionProvider = VersionProvider.class,
        // Each example line stays under the 80-column help width: picocli wraps a longer one without a backslash,
        // and a pasted example then starts a smaller group than it names.
        description = {"Runs one replica process of a Gnomon replicated log: Multi-Paxos with TrueTime leases over a"
                + " write-ahead log, each group's state machine on the process's RocksDB store (--store), peers and"
                + " clients over gRPC.", "",
                "Example (3 replicas on one host):",
                "  bin/replica --id 1 --member 1=127.0.0.1:7401 \\",
                "      --member 2=127.0.0.1:7402 --member 3=127.0.0.1:7403 \\",
                "      --data-dir /var/lib/gnomon/r1 --truetime shm:/dev/shm/gnomon-truetime", "",
                "Example (process 1 of a cluster file, every group it replicates):",
                "  bin/replica --cluster cluster.yaml --process 1 \\",
                "      --truetime shm:/dev/shm/gnomon-truetime", ""},
        footer = {"", "Exit status: 0 after SIGTERM, 1 on a runtime failure (a failed durable write, a port in use),"
                + " 2 on a usage or configuration error."})
public final class ReplicaMain implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(ReplicaMain.class);

    @Option(names = "--id", paramLabel = "ID", description = "This replica's id (>= 1), one of the --member ids "
            + "(one group, 1; or --cluster and --process).")
    Integer id;

    @Option(names = "--member", paramLabel = "ID=HOST:PORT",
            description = "A member of the group and its address; give every member, this one included.")
    List<String> memberSpecs;

    @Option(names = "--cluster", paramLabel = "FILE", description = "A cluster file (docs/cluster-file.md): run "
            + "--process of it, hosting every group it replicates; instead of --id and --member.")
    Path clusterFile;

    @Option(names = "--process", paramLabel = "N", description = "With --cluster: which process of the file this is.")
    Integer process;

    @Option(names = "--data-dir", paramLabel = "DIR", description = "Directory of this replica's durable log (--log "
            + "process: wal/ in it; --log chronicle: group 1's in it, every other group's in group-N/ below it) and, "
            + "with --store rocks, of its machines' store (store/ in it). With --cluster, default: the process's "
            + "data-dir.")
    Path dataDir;

    @Option(names = "--log", defaultValue = "process", paramLabel = "process|chronicle",
            description = "process (default): one write-ahead log for every group of the process, one sync per loop "
                    + "turn; chronicle: a Chronicle Queue log per group, what data dirs written before the process "
                    + "log hold. A data dir written with one is refused by the other (docs/paxos-log.md).")
    String logKind;

    @Option(names = "--sync", defaultValue = "each-batch", paramLabel = "each-batch|none",
            description = "each-batch (default): sync each batch (fdatasync; msync with --log chronicle) before "
                    + "replying, survives power loss; none: survives kill -9 only (docs/paxos-log.md).")
    String sync;

    @Option(names = "--truetime", defaultValue = "shm:/dev/shm/gnomon-truetime", paramLabel = "SPEC",
            description = "shm:PATH (clockd's segment, default ${DEFAULT-VALUE}), shm-unverified:PATH (also accept "
                    + "clockd's embedded local default), or system:EPSILON such as system:1ms (this host's clock "
                    + "± EPSILON; only when every replica shares the host).")
    String trueTimeSpec;

    @Option(names = "--lease-ms", defaultValue = "2000", paramLabel = "MS", description = "Leader lease length (default ${DEFAULT-VALUE}).")
    long leaseMillis;

    @Option(names = "--election-timeout-ms", defaultValue = "500", paramLabel = "MS",
            description = "Follower's election timeout (randomized up to twice this; default ${DEFAULT-VALUE}).")
    long electionTimeoutMillis;

    @Option(names = "--heartbeat-ms", defaultValue = "100", paramLabel = "MS",
            description = "Leader's heartbeat and lease renewal interval (default ${DEFAULT-VALUE}).")
    long heartbeatMillis;

    @Option(names = "--machine", defaultValue = "list-append", paramLabel = "list-append|counter|kv|txn",
            description = "State machine: list-append (keys to lists; the harness's), counter (counts entries), kv "
                    + "(keys to values; the etcd comparison's) or txn (versioned keys with transactions: serves the "
                    + "TxnKv service on the client port, docs/txn-service.md); default ${DEFAULT-VALUE}.")
    String machine;

    @Option(names = "--version-retention-s", defaultValue = "3600", paramLabel = "S",
            description = "With --machine txn: keep old versions this many seconds (reads older are refused by name);"
                    + " collected every minute, never at or above safe time or a read in use (default ${DEFAULT-VALUE}).")
    long versionRetentionSeconds;

    @Option(names = "--metrics-address", paramLabel = "HOST:PORT",
            description = "With --machine txn: serve the transaction metrics (Prometheus text, GET /metrics) here, "
                    + "e.g. 127.0.0.1:9464. Default: not served.")
    String metricsAddress;

    /** Every group of the cluster with its replicas (the transaction service routes messages by it). */
    private Map<Long, List<Integer>> allGroups;

    @Option(names = "--store", defaultValue = "rocks", paramLabel = "rocks|memory",
            description = "rocks (default): every group's machine on one RocksDB store per process in the data dir's "
                    + "store/, flushed before the log is compacted, so a restart replays only the log's tail and the "
                    + "state may exceed the heap; memory: in-memory machines, rebuilt at each start from the log, or from a peer once the log "
                    + "is compacted (so a group whose every process restarts after a compaction loses its state; "
                    + "docs/versioned-store.md).")
    String store;

    @Option(names = "--compact-every", defaultValue = "100000", paramLabel = "ENTRIES",
            description = "Snapshot and compact the log every this many applied entries (0: never; default "
                    + "${DEFAULT-VALUE}).")
    long compactEvery;

    @Option(names = "--loop-threads", defaultValue = "0", paramLabel = "N",
            description = "Loop threads of this process, each driving its share of the groups with its own turn and "
                    + "sync (0, the default: one per two available processors, at least one; never more than the groups hosted).")
    int loopThreads;

    @Option(names = "--tls-cert", paramLabel = "PEM",
            description = "This replica's certificate chain (PEM, its own certificate first): serve every port and "
                    + "dial the peers over TLS. Needs --tls-key and --tls-ca; the members' addresses must be in their "
                    + "certificates' subject alternative names.")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "PEM", description = "The PKCS#8 private key (PEM) of --tls-cert.")
    Path tlsKey;

    @Option(names = "--tls-ca", paramLabel = "PEM",
            description = "Certificates (PEM) of the authorities trusted to sign the peers' (and with "
                    + "--tls-require-client-cert the clients') certificates.")
    Path tlsCa;

    @Option(names = "--tls-require-client-cert",
            description = "Mutual TLS: accept only clients and peers presenting a certificate --tls-ca signed.")
    boolean tlsRequireClientCert;

    @Option(names = "--fault-admin", description = "Serve the FaultAdmin service (partitions, clock faults) for "
            + "the verification harness. Never on a production replica.")
    boolean faultAdmin;

    @Option(names = "--negative-control", paramLabel = "skip-lease-wait|stale-lease-reads|skip-commit-wait|skip-safe-time",
            hidden = true, description = "A deliberate lease or transaction bug (the last two need --machine txn) for "
                    + "the harness's negative control; refused unless the test-only class is on the classpath.")
    String negativeControl;

    @Option(names = "--await-clock-ms", defaultValue = "30000", paramLabel = "MS",
            description = "At startup, wait this long for TrueTime to be usable before serving (default "
                    + "${DEFAULT-VALUE}); exit 1 naming the last status if it is not.")
    long awaitClockMillis;

    @Option(names = "--ready-file", paramLabel = "FILE", description = "Written (atomically) once serving: port=N (peers) "
            + "and client-port=M (clients; the same N without --cluster).")
    Path readyFile;

    public static void main(String[] args) {
        System.exit(new CommandLine(new ReplicaMain()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        ReplicaServer.Options options;
        TrueTime trueTime;
        TlsConfig tls;
        java.util.function.Consumer<TxnHost<?>> txnHostHook;
        try {
            Map<Integer, InetSocketAddress> members;
            Map<Long, List<Integer>> groups;
            allGroups = new TreeMap<>();
            InetSocketAddress clientAddress = null;
            if (clusterFile != null || process != null) {
                if (clusterFile == null || process == null) {
                    throw new IllegalArgumentException("--cluster and --process go together: give both");
                }
                if (id != null || memberSpecs != null) {
                    throw new IllegalArgumentException("--cluster names every process and group: leave out --id and"
                            + " --member");
                }
                ClusterSpec cluster;
                try {
                    cluster = ClusterFile.load(clusterFile);
                } catch (ClusterFileException e) {
                    throw new IllegalArgumentException(e.getMessage(), e);
                }
                ProcessSpec me = cluster.process(process).orElseThrow(() -> new IllegalArgumentException(
                        "--process " + process + ": " + clusterFile + " has no process " + process + " (processes are "
                                + cluster.processes().stream().map(ProcessSpec::id).toList() + ")"));
                groups = new TreeMap<>();
                cluster.groups().forEach(g -> allGroups.put((long) g.id(), g.replicas()));
                for (GroupSpec g : cluster.groupsOf(process)) {
                    groups.put((long) g.id(), g.replicas());
                }
                if (groups.isEmpty()) {
                    throw new IllegalArgumentException("--process " + process + ": " + clusterFile
                            + " gives process " + process + " no group to replicate");
                }
                if (dataDir == null) {
                    dataDir = me.dataDir().orElseThrow(() -> new IllegalArgumentException("--process " + process
                            + ": " + clusterFile + " gives it no data-dir; give --data-dir"));
                }
                // Peers reach each process at its peer address; clients reach this one at its client address only.
                members = new TreeMap<>();
                for (ProcessSpec p : cluster.processes()) {
                    members.put(p.id(), new InetSocketAddress(p.peer().host(), p.peer().port()));
                }
                clientAddress = new InetSocketAddress(me.client().host(), me.client().port());
                id = process;
            } else {
                if (id == null || memberSpecs == null || dataDir == null) {
                    throw new IllegalArgumentException("give --id, --member (each member) and --data-dir, or"
                            + " --cluster FILE --process N");
                }
                members = parseMembers(memberSpecs);
                if (!members.containsKey(id)) {
                    throw new IllegalArgumentException("--id " + id + " is not among the --member ids " + members.keySet());
                }
                groups = Map.of(ReplicaServer.GROUP, List.copyOf(members.keySet()));
                allGroups.putAll(groups);
            }
            SyncPolicy policy = switch (sync) {
                case "each-batch" -> SyncPolicy.SYNC_EACH_BATCH;
                case "none" -> SyncPolicy.NONE;
                default -> throw new IllegalArgumentException("--sync " + sync + ": use each-batch or none");
            };
            ReplicaServer.LogKind kind = switch (logKind) {
                case "process" -> ReplicaServer.LogKind.PROCESS;
                case "chronicle" -> ReplicaServer.LogKind.CHRONICLE;
                default -> throw new IllegalArgumentException("--log " + logKind + ": use process or chronicle");
            };
            if (!StoredMachines.KINDS.contains(machine)) {
                throw new IllegalArgumentException("--machine " + machine + ": use list-append, counter, kv or txn");
            }
            ReplicaServer.StoreKind storeKind = switch (store) {
                case "rocks" -> ReplicaServer.StoreKind.ROCKS;
                case "memory" -> ReplicaServer.StoreKind.MEMORY;
                default -> throw new IllegalArgumentException("--store " + store + ": use rocks or memory");
            };
            checkTimings();
            PaxosLimits limits = PaxosLimits.DEFAULTS;
            PaxosConfig paxos = new PaxosConfig(id, List.copyOf(members.keySet()),
                    TimeUnit.MILLISECONDS.toNanos(electionTimeoutMillis), TimeUnit.MILLISECONDS.toNanos(heartbeatMillis),
                    TimeUnit.MILLISECONDS.toNanos(heartbeatMillis), TimeUnit.MILLISECONDS.toNanos(leaseMillis), limits,
                    System.nanoTime() ^ id);
            LogLimits logLimits = new LogLimits(limits.maxValueBytes() + 8192, 1024, 16 << 20, 64 << 20);
            NegativeControl control = NegativeControl.parse(negativeControl);
            if (control.needsTxnMachine() && !machine.equals("txn")) {
                throw new IllegalArgumentException("--negative-control " + control.flag() + " is a transaction host's "
                        + "bug: it needs --machine txn, not " + machine);
            }
            NegativeControl.Switches unsafe;
            try {
                unsafe = control.switches();
            } catch (IllegalStateException testOnly) {
                // Refused here, before the clock wait or the log, as a configuration error (exit 2).
                throw new IllegalArgumentException(testOnly.getMessage(), testOnly);
            }
            if (control != NegativeControl.NONE) {
                LOG.warn("replica {}: NEGATIVE CONTROL {} is on: this replica is deliberately unsafe", id, control);
            }
            txnHostHook = unsafe.txnHostHook();
            options = new ReplicaServer.Options(id, members, dataDir, policy, paxos, logLimits, compactEvery,
                    TimeUnit.MILLISECONDS.toNanos(5), faultAdmin, unsafe.coreHook(), unsafe.leaseChecksOnReads(),
                    ReplicaLimits.DEFAULTS.withLoopThreads(loopThreads), groups, kind, clientAddress, storeKind);
            trueTime = trueTime(trueTimeSpec);
            tls = tls();
        } catch (IllegalArgumentException e) {
            System.err.println("replica: " + e.getMessage());
            return 2;
        }
        // SIGTERM and SIGINT stop the replica: main closes the server and returns 0. Left to the JVM they would
        // run the shutdown hooks and exit 143 (130), which systemd records as a failure.
        CountDownLatch stopRequested = new CountDownLatch(1);
        Object clockWait = new Object();
        Thread mainThread = Thread.currentThread();
        AtomicBoolean awaitingClock = new AtomicBoolean(true);
        onStopSignals(() -> {
            stopRequested.countDown();
            synchronized (clockWait) {
                if (awaitingClock.get()) {
                    mainThread.interrupt(); // nothing is open yet: end the clock wait at once
                }
            }
        });
        try {
            // A replica must not campaign or grant leases on a clock that cannot bound true time.
            try {
                trueTime.now();
            } catch (io.gnomon.truetime.ClockUnavailableException e) {
                System.err.println("replica " + id + ": waiting up to " + awaitClockMillis + " ms for TrueTime: "
                        + e.getMessage());
            }
            trueTime.awaitSynchronized(java.time.Duration.ofMillis(awaitClockMillis));
        } catch (io.gnomon.truetime.ClockSyncTimeoutException e) {
            System.err.println("replica " + id + ": " + e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            System.err.println("replica " + id + ": stopped while waiting for TrueTime");
            return 0;
        } finally {
            synchronized (clockWait) {
                awaitingClock.set(false);
                Thread.interrupted(); // an interrupt is only for the clock wait
            }
        }
        ReplicaServer server = new ReplicaServer(options, trueTime, machine);
        if (machine.equals("txn")) {
            // The transactional service (TxnKv) on the client port. A system:EPSILON clock is the operator's stated
            // assumption: timestamps are taken from it as the leases are (one host's processes, the local launcher).
            TxnLimits limits = trueTimeSpec.startsWith("system:") ? TxnLimits.DEFAULTS.acceptingUnverifiedClock()
                    : TxnLimits.DEFAULTS;
            if (versionRetentionSeconds < 0) {
                System.err.println("replica " + id + ": --version-retention-s must be >= 0, was "
                        + versionRetentionSeconds);
                return 2;
            }
            // The server's TrueTime: under --fault-admin the faultable one, so the harness's clock faults reach the
            // timestamps too, not only the leases.
            TxnNode node = new TxnNode(id, allGroups, server.trueTime(), limits, TxnHost.Options.DEFAULTS)
                    .withVersionRetention(TimeUnit.SECONDS.toNanos(versionRetentionSeconds), TimeUnit.MINUTES.toNanos(1))
                    .withHostHookForNegativeControl(txnHostHook);
            node.attach(server);
            if (metricsAddress != null) {
                try {
                    int colon = metricsAddress.lastIndexOf(':');
                    InetSocketAddress at = new InetSocketAddress(metricsAddress.substring(0, colon),
                            Integer.parseInt(metricsAddress.substring(colon + 1)));
                    server.closeWith(io.gnomon.txn.server.MetricsHttp.serve(at, node.metrics()::scrape));
                } catch (IOException | RuntimeException e) {
                    System.err.println("replica " + id + ": --metrics-address " + metricsAddress + ": cannot serve"
                            + " there (" + e.getMessage() + "); give HOST:PORT with a free port");
                    server.close();
                    return 2;
                }
            }
        }
        try {
            if (tls != null) {
                server.withTls(tls);
            }
            server.start();
        } catch (IOException | RuntimeException | TlsConfig.TlsConfigException e) {
            System.err.println("replica " + id + ": cannot start: " + e.getMessage());
            server.close();
            return 1;
        }
        // Any other way the JVM ends (SIGHUP, System.exit elsewhere) still closes the log.
        Thread hook = new Thread(server::close, "replica-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        if (readyFile != null && stopRequested.getCount() > 0) {
            Path tmp = readyFile.resolveSibling(readyFile.getFileName() + ".tmp");
            Files.writeString(tmp, "port=" + server.port() + "\nclient-port=" + server.clientPort() + "\n",
                    StandardCharsets.UTF_8);
            Files.move(tmp, readyFile, StandardCopyOption.ATOMIC_MOVE);
        }
        stopRequested.await();
        server.close();
        removeShutdownHook(hook);
        System.err.println("replica " + id + ": stopped; log in " + dataDir + " closed");
        return 0;
    }

    /** The TLS files, read and checked; null without {@code --tls-cert}. A configuration error: exit 2. */
    private TlsConfig tls() {
        if (tlsCert == null && tlsKey == null && tlsCa == null) {
            if (tlsRequireClientCert) {
                throw new IllegalArgumentException("--tls-require-client-cert needs TLS: give --tls-cert, --tls-key and --tls-ca");
            }
            return null;
        }
        if (tlsCert == null || tlsKey == null || tlsCa == null) {
            throw new IllegalArgumentException("--tls-cert, --tls-key and --tls-ca go together; missing:"
                    + (tlsCert == null ? " --tls-cert" : "") + (tlsKey == null ? " --tls-key" : "")
                    + (tlsCa == null ? " --tls-ca" : ""));
        }
        try {
            return TlsConfig.load(tlsCert, tlsKey, tlsCa, tlsRequireClientCert);
        } catch (TlsConfig.TlsConfigException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /** Runs {@code stop} on SIGTERM and on SIGINT (unless the parent started us with SIGINT ignored). */
    static void onStopSignals(Runnable stop) {
        for (String name : List.of("TERM", "INT")) {
            sun.misc.Signal.handle(new sun.misc.Signal(name), signal -> stop.run());
        }
    }

    private static void removeShutdownHook(Thread hook) {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException alreadyShuttingDown) {
            // the hook runs too; closing twice is harmless
        }
    }

    /**
     * PaxosConfig's rules on the timings, stated in the flags an operator typed (its own messages name its
     * nanosecond fields, for Java callers).
     */
    private void checkTimings() {
        if (heartbeatMillis <= 0) {
            throw new IllegalArgumentException("--heartbeat-ms " + heartbeatMillis + ": must be > 0");
        }
        if (electionTimeoutMillis <= heartbeatMillis) {
            throw new IllegalArgumentException("--election-timeout-ms " + electionTimeoutMillis + " must exceed"
                    + " --heartbeat-ms " + heartbeatMillis + ", or followers start elections under a healthy leader");
        }
        if (leaseMillis <= heartbeatMillis) {
            throw new IllegalArgumentException("--lease-ms " + leaseMillis + " must exceed --heartbeat-ms "
                    + heartbeatMillis + ", or leases lapse while healthy");
        }
        if (loopThreads < 0) {
            throw new IllegalArgumentException("--loop-threads " + loopThreads + ": must be >= 0 (0: one per two processors)");
        }
        if (compactEvery < 0) {
            throw new IllegalArgumentException("--compact-every " + compactEvery + ": must be >= 0 (0: never)");
        }
        if (awaitClockMillis < 0) {
            throw new IllegalArgumentException("--await-clock-ms " + awaitClockMillis + ": must be >= 0");
        }
    }

    static Map<Integer, InetSocketAddress> parseMembers(List<String> specs) {
        Map<Integer, InetSocketAddress> members = new TreeMap<>();
        for (String s : specs) {
            int eq = s.indexOf('=');
            int colon = s.lastIndexOf(':');
            if (eq < 1 || colon < eq + 2) {
                throw new IllegalArgumentException("--member " + s + ": expected ID=HOST:PORT");
            }
            int memberId;
            int port;
            try {
                memberId = Integer.parseInt(s.substring(0, eq));
                port = Integer.parseInt(s.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--member " + s + ": id and port must be numbers");
            }
            if (memberId < 1 || port < 1 || port > 65535) {
                throw new IllegalArgumentException("--member " + s + ": id must be >= 1 and port in 1..65535");
            }
            if (members.put(memberId, new InetSocketAddress(s.substring(eq + 1, colon), port)) != null) {
                throw new IllegalArgumentException("--member: id " + memberId + " given twice");
            }
        }
        return members;
    }

    static TrueTime trueTime(String spec) {
        int colon = spec.indexOf(':');
        String kind = colon < 0 ? spec : spec.substring(0, colon);
        String arg = colon < 0 ? "" : spec.substring(colon + 1);
        try {
            return switch (kind) {
                case "shm" -> ShmTrueTime.open(Path.of(arg));
                case "shm-unverified" -> ShmTrueTime.openAcceptingUnverified(Path.of(arg));
                case "system" -> new SystemClockTrueTime(FaultScript.parseNanos(arg));
                default -> throw new IllegalArgumentException("--truetime " + spec
                        + ": use shm:PATH, shm-unverified:PATH or system:EPSILON");
            };
        } catch (IOException e) {
            throw new IllegalArgumentException("--truetime " + spec + ": cannot open the segment: " + e.getMessage());
        }
    }
}
