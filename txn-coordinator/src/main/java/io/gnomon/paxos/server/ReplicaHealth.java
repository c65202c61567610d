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
 * event loop reports what it saw on each tick; only changes reach the manager (and its Watch streams) and the log.
 *
 * <p>Threads: {@link #onTick} from the loop only; {@link #stopped} from any thread, once the loop no longer runs.
 */
final class ReplicaHealth {
    private final HealthStatusManager manager = new HealthStatusManager();
    private final int replicaId;
    private final Logger log;
    private volatile boolean stopped;
    private boolean reported;
    private boolean clockUsable;
    private boolean leaderKnown;

    ReplicaHealth(int replicaId, boolean faultAdmin, Logger log) {
        this.replicaId = replicaId;
        this.log = log;
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
     * What the loop saw on a tick: whether TrueTime answered, and whether every group this process hosts knows a
     * leader (itself, or the last one it heard; a leader that died stays "known" until an election replaces it).
     */
    void onTick(boolean clockUsable, boolean leaderKnown) {
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
