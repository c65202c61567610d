package io.gnomon.paxos.server;

import java.util.concurrent.TimeUnit;

/**
 * Every bound of a replica process in one place (STYLE.md rules 7 and 17); the core's bounds are in
 * {@link io.gnomon.paxos.PaxosLimits} and the log's in {@link io.gnomon.paxos.storage.LogLimits}. docs/paxos.md,
 * "Replica processes", has the table of defaults and of what happens at each limit.
 *
 * @param maxInboxItems            most requests and peer messages waiting for the event loop; past it a peer
 *                                 message is dropped (rate-limited warning; the protocol retransmits) and a
 *                                 client request is refused ({@code RESOURCE_EXHAUSTED}, a status
 *                                 {@code UNAVAILABLE})
 * @param maxDrainPerTurn          most inbox items one loop turn takes after the first, so one turn (one sync)
 *                                 stays bounded; the rest wait for the next turn
 * @param maxBatchWaitNanos        the longest a client append waits for the batch in flight before it is
 *                                 proposed anyway
 * @param maxMessageBytes          largest gRPC message the server accepts and a peer channel receives; a bigger
 *                                 one fails its call ({@code RESOURCE_EXHAUSTED}) or breaks the peer stream
 * @param maxQueuedBytesPerPeer    most encoded bytes waiting to be sent to one peer; past it new messages to
 *                                 that peer are dropped (rate-limited warning) until the queue drains
 * @param reconnectBackoffNanos    after a peer stream breaks, sends to that peer are dropped for this long
 *                                 before the stream is reopened
 * @param loopThreads              loop threads of the process, each driving its shard of the groups (dealt
 *                                 round-robin in group id order) with its own inbox ({@code maxInboxItems} each), turn and sync; 0:
 *                                 one per two available processors ({@link #defaultLoopThreads}). Never more than the
 *                                 process has groups.
 * @param maxAppendsPerStream      most appends one client's {@code AppendStream} may have unanswered; the server
 *                                 reads the stream's next request only while it has fewer, and only while the client
 *                                 takes its replies (gRPC's {@code isReady}): a client that sends faster than it is
 *                                 answered, or does not read its replies, is slowed by HTTP/2 flow control instead of
 *                                 filling the server's memory with requests and replies
 */
public record ReplicaLimits(int maxInboxItems, int maxDrainPerTurn, long maxBatchWaitNanos, int maxMessageBytes,
                            long maxQueuedBytesPerPeer, long reconnectBackoffNanos, int loopThreads,
                            int maxAppendsPerStream) {

    // Declared before DEFAULTS, whose check reads it.
    /** The longest {@link #maxBatchWaitNanos} and {@link #reconnectBackoffNanos} may be: longer stalls the group. */
    public static final long MAX_WAIT_NANOS = TimeUnit.SECONDS.toNanos(1);

    /** The defaults {@code bin/replica} runs with. */
    public static final ReplicaLimits DEFAULTS = new ReplicaLimits(200_000, 4096, TimeUnit.MILLISECONDS.toNanos(2),
            64 << 20, 64L << 20, TimeUnit.MILLISECONDS.toNanos(100));

    /** {@link #maxAppendsPerStream} of {@link #DEFAULTS}. */
    public static final int DEFAULT_MAX_APPENDS_PER_STREAM = 4096;

    /**
     * The default number of loop threads ({@code loopThreads} 0: {@link #defaultLoopThreads}) and
     * {@link #DEFAULT_MAX_APPENDS_PER_STREAM}.
     */
    public ReplicaLimits(int maxInboxItems, int maxDrainPerTurn, long maxBatchWaitNanos, int maxMessageBytes,
                         long maxQueuedBytesPerPeer, long reconnectBackoffNanos) {
        this(maxInboxItems, maxDrainPerTurn, maxBatchWaitNanos, maxMessageBytes, maxQueuedBytesPerPeer,
                reconnectBackoffNanos, 0, DEFAULT_MAX_APPENDS_PER_STREAM);
    }

    public ReplicaLimits {
        atLeast("maxInboxItems", maxInboxItems, 1);
        atLeast("maxDrainPerTurn", maxDrainPerTurn, 1);
        if (maxDrainPerTurn > maxInboxItems) {
            throw new IllegalArgumentException("maxDrainPerTurn " + maxDrainPerTurn + " must be <= maxInboxItems "
                    + maxInboxItems + " (a turn cannot take more than the inbox holds)");
        }
        within("maxBatchWaitNanos", maxBatchWaitNanos, 0, MAX_WAIT_NANOS);
        atLeast("maxMessageBytes", maxMessageBytes, 1);
        atLeast("maxQueuedBytesPerPeer", maxQueuedBytesPerPeer, 1);
        within("reconnectBackoffNanos", reconnectBackoffNanos, 0, MAX_WAIT_NANOS);
        atLeast("loopThreads", loopThreads, 0);
        atLeast("maxAppendsPerStream", maxAppendsPerStream, 1);
    }

    /** The loop threads a process hosting {@code groups} groups runs: {@link #loopThreads}, resolved and capped. */
    public int loopThreadsFor(int groups) {
        int wanted = loopThreads > 0 ? loopThreads : defaultLoopThreads(Runtime.getRuntime().availableProcessors());
        return Math.max(1, Math.min(wanted, groups));
    }

    /**
     * Loop threads when none are configured: one per two processors, at least one. A loop's turns bring about as
     * much work again on gRPC's I/O threads (its peers' frames and its clients' calls), and each loop syncs on its
     * own, so a loop per processor splits the same work into twice as many smaller turns and syncs: on 2 cores with
     * 16 groups, one loop per process did 31 % more puts per second than two at 28 % less CPU per put
     * (docs/benchmarks.md, "Where the CPU goes").
     */
    public static int defaultLoopThreads(int processors) {
        return Math.max(1, processors / 2);
    }

    /** These limits with {@code loopThreads} replaced (0: {@link #defaultLoopThreads}). */
    public ReplicaLimits withLoopThreads(int threads) {
        return new ReplicaLimits(maxInboxItems, maxDrainPerTurn, maxBatchWaitNanos, maxMessageBytes,
                maxQueuedBytesPerPeer, reconnectBackoffNanos, threads, maxAppendsPerStream);
    }

    /** These limits with {@code maxInboxItems} replaced (and {@code maxDrainPerTurn} cut down to it if larger). */
    public ReplicaLimits withMaxInboxItems(int items) {
        return new ReplicaLimits(items, Math.min(maxDrainPerTurn, Math.max(1, items)), maxBatchWaitNanos,
                maxMessageBytes, maxQueuedBytesPerPeer, reconnectBackoffNanos, loopThreads, maxAppendsPerStream);
    }

    /** These limits with {@code maxMessageBytes} replaced. */
    public ReplicaLimits withMaxMessageBytes(int bytes) {
        return new ReplicaLimits(maxInboxItems, maxDrainPerTurn, maxBatchWaitNanos, bytes, maxQueuedBytesPerPeer,
                reconnectBackoffNanos, loopThreads, maxAppendsPerStream);
    }

    /** These limits with {@code maxAppendsPerStream} replaced. */
    public ReplicaLimits withMaxAppendsPerStream(int appends) {
        return new ReplicaLimits(maxInboxItems, maxDrainPerTurn, maxBatchWaitNanos, maxMessageBytes,
                maxQueuedBytesPerPeer, reconnectBackoffNanos, loopThreads, appends);
    }

    private static void atLeast(String name, long value, long min) {
        if (value < min) {
            throw new IllegalArgumentException(name + " " + value + ": must be >= " + min);
        }
    }

    private static void within(String name, long value, long min, long max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(name + " " + value + ": must be from " + min + " to " + max);
        }
    }
}
