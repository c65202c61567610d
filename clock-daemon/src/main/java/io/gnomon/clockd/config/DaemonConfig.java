package io.gnomon.clockd.config;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.ArrayList;
import java.util.List;

/**
 * The daemon's configuration as written in YAML (every key optional; see deploy/clockd.example.yaml).
 * Flags override the file. {@link ConfigValidator} turns it into a checked {@link Settings} or one clear
 * error line. Mutable only while being read.
 */
public final class DaemonConfig {
    /**
     * NTP servers, each {@code host}, {@code host:port} (port 123 by default) or {@code {host: ..., pollIntervalMillis:
     * ...}}. Empty: the local default.
     */
    @JsonProperty public List<Server> servers = new ArrayList<>();
    /** The flag {@link #servers} came from when a flag replaced the file's ({@code --server}), for messages. */
    @JsonIgnore public String serversFlag;
    /** Maximum frequency error of the local clock against true time, in ppm (Spanner's 200 by default). */
    @JsonProperty public double maxDriftPpm = 200;
    /**
     * Time between polls of a server without its own {@link Server#pollIntervalMillis}: chrony's default minpoll
     * (64 s), which public and other operators' servers expect; the first polls come 2 s apart (chrony's iburst).
     */
    @JsonProperty public long pollIntervalMillis = 64_000;
    @JsonProperty public long replyTimeoutMillis = 1000;
    /** A server whose own root delay/2 + root dispersion exceeds this is ignored (RFC 5905's MAXDIST is 1.5 s). */
    @JsonProperty public long maxRootDistanceMillis = 1500;
    /** With no server configured: how far the local system clock is assumed to be from true time. */
    @JsonProperty public long assumedLocalErrorMillis = 1000;
    /** chronyd instances to read through their monitoring protocol (cmdmon, UDP), as {@code host[:port]} (323). */
    @JsonProperty public List<Chrony> chrony = new ArrayList<>();
    /** linuxptp ptp4l instances to read through their management socket (software timestamping, nullf servo). */
    @JsonProperty public List<Ptp> ptp = new ArrayList<>();
    /**
     * Source names (as reported, e.g. {@code ptp:/var/run/ptp4l}) the operator vouches for: while one agrees
     * with the majority, the interval is narrowed to it. The majority still decides; a trusted source that
     * disagrees with it is ignored.
     */
    @JsonProperty public List<String> trust = new ArrayList<>();
    @JsonProperty public Publish publish = new Publish();
    @JsonProperty public Endpoint grpc = Endpoint.onPort(7360);
    @JsonProperty public Endpoint metrics = Endpoint.onPort(7361);
    @JsonProperty public Journal journal = new Journal();

    /** One NTP server; a plain string in YAML is its {@link #host}. */
    public static final class Server {
        /** {@code host}, {@code host:port} or {@code [v6]:port}; a host name is looked up (and retried) by clockd. */
        @JsonProperty public String host;
        /** This server's poll interval; unset: the top-level pollIntervalMillis. Short polls: only servers you run. */
        @JsonProperty public Long pollIntervalMillis;

        public Server() {
        }

        /** The short form, {@code - host:port}. */
        public Server(String host) {
            this.host = host;
        }
    }

    public static final class Chrony {
        /** chronyd's cmdmon address ({@code cmdport}, with {@code cmdallow} admitting this host). */
        @JsonProperty public String address = "127.0.0.1:323";
        @JsonProperty public long pollIntervalMillis = 1000;
        @JsonProperty public long replyTimeoutMillis = 500;
    }

    public static final class Ptp {
        /** ptp4l's management socket ({@code uds_address}, /var/run/ptp4l by default in ptp4l). */
        @JsonProperty public String socketPath = "/var/run/ptp4l";
        @JsonProperty public long pollIntervalMillis = 1000;
        @JsonProperty public long replyTimeoutMillis = 500;
        /** Allowance for software timestamping and path asymmetry beyond the mean path delay. */
        @JsonProperty public long timestampErrorMicros = 100;
        /** Used when the grandmaster's clockAccuracy is unknown; -1 (default) rejects such replies instead. */
        @JsonProperty public long unknownAccuracyMicros = -1;
        /** A Sync older than this is stale. */
        @JsonProperty public long maxSyncAgeMillis = 5000;
    }

    public static final class Publish {
        @JsonProperty public String segmentPath = "/dev/shm/gnomon-truetime";
        /** Snapshots are republished at least this often (and after every measurement). */
        @JsonProperty public long intervalMillis = 1000;
        /** Readers treat a snapshot older than this as void (the daemon died or hung). */
        @JsonProperty public long voidAfterMillis = 10_000;
        /** A ClockBound v2 segment written beside Gnomon's own, for ClockBound's clients (off by default). */
        @JsonProperty public ClockBound clockbound = new ClockBound();
    }

    public static final class ClockBound {
        @JsonProperty public boolean enabled = false;
        /** ClockBound's conventional path; its directory is created if missing. */
        @JsonProperty public String path = "/var/run/clockbound/shm0";
    }

    public static final class Endpoint {
        /** Loopback by default: expose only on purpose. */
        @JsonProperty public String bind = "127.0.0.1";
        @JsonProperty public int port;

        public Endpoint() {
        }

        // A factory, not an Endpoint(int) constructor: Jackson took that one as a way to read 'grpc: 7360'.
        static Endpoint onPort(int port) {
            Endpoint e = new Endpoint();
            e.port = port;
            return e;
        }
    }

    public static final class Journal {
        /** The journal's directory unless configured: relative, so under the daemon's working directory. */
        public static final String DEFAULT_DIR = "./journal";

        /** Directory of the Chronicle Queue journal; empty disables the journal. */
        @JsonProperty public String dir = DEFAULT_DIR;
        @JsonProperty public long retentionHours = 168;
    }
}
