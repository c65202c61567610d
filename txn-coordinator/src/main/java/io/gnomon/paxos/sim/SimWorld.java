package io.gnomon.paxos.sim;

import io.gnomon.paxos.runtime.GroupHost;
import io.gnomon.truetime.TimeInterval;
import io.gnomon.txn.CommitOutcome;
import io.gnomon.txn.CommitRequest;
import io.gnomon.txn.TxnHost;
import io.gnomon.txn.TxnId;
import io.gnomon.txn.TxnQueryCodec;

import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * What a {@link SimWorkload} can see and do in a simulated group: schedule its own events in simulated time,
 * talk to replicas' hosts (appends and lease reads, as a client of a replica server), and inject the harness's
 * faults. Replicas are
 * numbered 1 to {@link #replicas()}. Every method runs on the simulator's thread and draws randomness only from
 * {@link #random()}, so a seed replays exactly.
 */
public interface SimWorld {
    /** Simulated true time, nanoseconds since the epoch: the harness's one clock for its history. */
    long trueNanos();

    /** The simulation's one random source. */
    SplittableRandom random();

    /** Number of replicas, 3 or 5. */
    int replicas();

    /** Number of groups, each with a replica on every process (numbered 1 to this). */
    int groups();

    /** Runs {@code action} after {@code delayNanos} of simulated time. */
    void after(long delayNanos, Runnable action);

    /**
     * Runs {@code action} at replica {@code node} after {@code delayNanos}, as a request arriving at its process:
     * held while the process is paused, run with {@code up == false} if it is down.
     */
    void atReplica(int node, long delayNanos, ReplicaAction action);

    /** One network delay between a client and a replica, drawn like the replicas' own message delays. */
    long networkDelayNanos();

    /** What a request does when it reaches its replica. */
    interface ReplicaAction {
        void run(boolean up);
    }

    // ------------------------------------------------------------------ replicas

    /** Whether {@code node}'s process is up (not crashed; it may be paused). */
    boolean up(int node);

    /** Whether {@code node} believes it leads {@code group}. */
    boolean isLeader(int node, int group);

    /** The replica {@code node} believes leads {@code group}, or -1. */
    int leaderHint(int node, int group);

    /**
     * Whether {@code node} may answer a read from its lease now: it is up and not paused, it leads, its TrueTime
     * is available and {@code TT.now().latest} is before its lease end.
     */
    boolean canServeLeaseRead(int node, int group);

    /**
     * Whether {@code node} can take a request now: up, not stopped, not blocked in its log's sync. A request sent
     * through {@link #atReplica} always finds it so when {@code up}.
     */
    boolean available(int node);

    /**
     * A lease read at {@code node}, answered by its host exactly as a replica server answers one (leads, valid
     * lease, read fence passed); with lease checks on, the simulator fails the run if a served read was outside
     * the node's lease in true time or inside another leader's. {@code node} must be {@link #available}.
     */
    GroupHost.ReadOutcome read(int node, int group, byte[] query);

    /**
     * A client's append at {@code node}, handed to its host as a replica server hands one over, in one turn of the
     * process's loop: {@code outcome} hears, once, whether it was applied, certainly not appended, or its fate is
     * unknown (the leader stepped down after proposing). A crash of the process means no answer at all, as a
     * client of a killed server gets none. {@code node} must be {@link #available}; {@code command} must be
     * within the host's limits.
     */
    void append(int node, int group, byte[] command, Consumer<GroupHost.AppendOutcome> outcome);

    // ------------------------------------------------------------------ transactions (SimWorkload#transactional)

    /**
     * {@code node}'s TrueTime now, as its process reads it (a client's transaction age and strong read timestamp come
     * from a server's clock, never the simulation's true time); throws {@code ClockUnavailableException} while its
     * clock daemon is out. {@code node} must be up.
     */
    TimeInterval trueTime(int node);

    /**
     * Whether {@code node}'s transaction host of {@code group} acts as leader (its core was told it leads), and in
     * which of its group host's leaderships: a number that changes whenever it stops and starts leading, across
     * restarts of the process too; -1
     * when it does not lead. A client compares it between its locking reads and its commit, since the lock table is
     * the leader's memory.
     */
    long txnLeaderTerm(int node, int group);

    /** {@code node}'s safe time for {@code group} (reads at or below it are served at once); -1 before any. */
    long safeTime(int node, int group);

    /**
     * The outcomes {@code node}'s core of {@code group} forgot at decided Forget records since the process last started
     * (TwoPhaseCommit#forgottenOutcomes); -1 while it is down.
     */
    long forgottenOutcomes(int node, int group);

    /**
     * A client's commit request for {@code group} at {@code node}, in one turn of the process's loop as a replica
     * server hands it to its transaction host; {@code reply} hears the outcome after a network delay (a coordinator's
     * host answers once; a participant's never). {@code node} must be {@link #available}.
     */
    void commit(int node, int group, CommitRequest request, Consumer<CommitOutcome> reply);

    /**
     * A read inside read-write transaction {@code txn} at {@code node} (its leader of {@code group}): a shared lock,
     * then the newest version; {@code done} hears it after a network delay. {@code node} must be {@link #available}.
     */
    void lockingRead(int node, int group, TxnId txn, TxnQueryCodec.Query query, Consumer<TxnHost.ReadResult> done);

    /**
     * A snapshot read at the query's timestamp at {@code node}, any replica: served once its safe time reaches it, or
     * failed after {@code timeoutNanos} of its monotonic clock; {@code done} hears it after a network delay. {@code
     * node} must be {@link #available}.
     */
    void snapshotRead(int node, int group, TxnQueryCodec.Query query, long timeoutNanos,
                      Consumer<TxnHost.ReadResult> done);

    // ------------------------------------------------------------------ faults

    /** The replica that leads {@code group} with a lease, else one that believes it leads it, else -1. */
    int leader(int group);

    /** Kills {@code node}'s process: unsynced writes are partly lost, its memory entirely. */
    void crash(int node);

    /** Starts a crashed {@code node} again from what its disk holds. */
    void restart(int node);

    /** Stops {@code node}'s process (SIGSTOP): it handles nothing until {@link #resume}, its clocks run on. */
    void pause(int node);

    /** Continues a paused process (SIGCONT): it handles what arrived meanwhile. */
    void resume(int node);

    /** Cuts every link between replicas in different groups; a replica in no group keeps every link (a bridge). */
    void partition(List<List<Integer>> groups);

    /** Cuts the link from {@code from} to {@code to} one way: what {@code from} sends is lost, the reverse still arrives. */
    void cutOneWay(int from, int to);

    /** Restores every link between replicas. */
    void healPartitions();

    /**
     * Messages between replicas are lost with probability {@code lossRate} and delivered twice with probability
     * {@code duplicateRate} from now on (on top of the delays and reordering the network always has).
     */
    void networkFaults(double lossRate, double duplicateRate);

    /** Sets {@code node}'s clock drift (parts per billion, within the ±200 ppm bound) from now. */
    void drift(int node, long ppb);

    /** Steps {@code node}'s TrueTime midpoint by {@code nanos}, widening its interval by as much (truthful). */
    void stepClock(int node, long nanos);

    /** Makes {@code node}'s TrueTime unavailable (clock daemon restarting) until {@link #healClock}. */
    void clockUnavailable(int node);

    /**
     * Ends every clock fault on {@code node}: available again, its drift rate as before the faults, freshly
     * synchronized. A crash ends them too (a restarted process has a fresh TrueTime source).
     */
    void healClock(int node);
}
