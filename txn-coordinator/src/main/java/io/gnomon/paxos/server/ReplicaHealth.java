package io.gnomon.paxos.server;

import io.gnomon.paxos.grpc.FaultAdminGrpc;
import io.gnomon.paxos.grpc.PeerGrpc;
import io.gnomon.paxos.grpc.ReplicaGrpc;
import io.grpc.BindableService;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import org.slf4j.Logger;

/**
 * A replica's {@code grpc.health.v1} statuses, per service (docs/protocols.md, "Health"): {@code Peer} serves
 * while TrueTime is usable (without it every input is dropped); {@code Replica} and the server ({@code ""}) also
 * need a known leader in every hosted group, since without one that group can take or redirect no append. The
 * event loops report what they saw on each tick, each of its own groups; the statuses are what every loop last saw
 * (none reported yet counts as not usable); only changes reach the manager (and its Watch streams) and the log.
 *
 * <p>Threads: {@link #onTick} from the loops; {@link #stopped} from any thread, once the loops no longer run.
 */
final class ReplicaHealth {
    private final HealthStatusManager manager = new HealthStatusManager();
    private final int replicaId;
    private final Logger log;
    private volatile boolean stopped;
    private boolean reported;
    private boolean clockUsable;
    private boolean leaderKnown;
    /** Per loop: whether it has reported, and what it saw last. */
    private final boolean[] loopReported;
    private final boolean[] loopClockUsable;
    private final boolean[] loopLeaderKnown;

    ReplicaHealth(int replicaId, boolean faultAdmin, Logger log, int loops) {
        this.replicaId = replicaId;
        this.log = log;
        this.loopReported = new boolean[loops];
        this.loopClockUsable = new boolean[loops];
        this.loopLeaderKnown = new boolean[loops];
        // The manager starts "" as SERVING: nothing is known until the loop's first tick.
        set(false, false);
        if (faultAdmin) {
            manager.setStatus(FaultAdminGrpc.SERVICE_NAME, ServingStatus.SERVING); // works whatever the clock
        }
    }

    BindableService service() {
        return manager.getHealthService();
    }

    /**
     * What loop {@code loop} saw on a tick: whether TrueTime answered, and whether every group it drives knows a
     * leader (itself, or the last one it heard; a leader that died stays "known" until an election replaces it).
     */
    synchronized void onTick(int loop, boolean clockUsable, boolean leaderKnown) {
        loopReported[loop] = true;
        loopClockUsable[loop] = clockUsable;
        loopLeaderKnown[loop] = leaderKnown;
        for (int i = 0; i < loopReported.length; i++) {
            clockUsable &= loopReported[i] && loopClockUsable[i];
            leaderKnown &= loopReported[i] && loopLeaderKnown[i];
        }
        if (stopped || reported && clockUsable == this.clockUsable && leaderKnown == this.leaderKnown) {
            return;
        }
        reported = true;
        set(clockUsable, leaderKnown);
        log.info("replica {}: health {} (TrueTime {}, {})", replicaId, clockUsable && leaderKnown ? "SERVING"
                : "NOT_SERVING", clockUsable ? "usable" : "unusable", leaderKnown ? "leader known" : "no leader known");
    }

    /** The loop has stopped (a failure, or close): NOT_SERVING for every service from now on. */
    void stopped() {
        stopped = true;
        manager.enterTerminalState();
    }

    private void set(boolean clockUsable, boolean leaderKnown) {
        this.clockUsable = clockUsable;
        this.leaderKnown = leaderKnown;
        ServingStatus ready = clockUsable && leaderKnown ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
        manager.setStatus("", ready);
        manager.setStatus(ReplicaGrpc.SERVICE_NAME, ready);
        manager.setStatus(PeerGrpc.SERVICE_NAME, clockUsable ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
    }
}
