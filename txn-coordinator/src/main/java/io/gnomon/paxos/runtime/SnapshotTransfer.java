package io.gnomon.paxos.runtime;

import io.gnomon.paxos.Message.SnapshotChunk;
import io.gnomon.paxos.Message.SnapshotRequest;

import java.util.List;
import java.util.function.LongSupplier;

/**
 * A group host's state transfer, host to host and outside the core (docs/paxos.md, "State machines and
 * snapshots"): pulls a peer machine's snapshot into this host's {@link StateMachine} chunk by chunk, and serves
 * this machine's snapshot to a peer the same way. Over the group's {@link Transport}, so every fault of the
 * transport applies; memory on either side is about one chunk (the sender keeps the last chunk sent, for a
 * re-request, and the one after it, to know which is last).
 *
 * <p>Receiving: {@link #want} starts a fetch of a state ending at or after an index. The receiver asks for chunk 0
 * of a new stream ({@link SnapshotRequest}), adds chunk k to the machine's {@link StateMachine.SnapshotSink} and asks
 * for k+1; after the last it finishes the sink (the machine now holds the state durably). With no chunk for {@link
 * #timeoutNanos} it asks again; after {@link #MAX_RETRIES} unanswered asks it abandons the stream and starts a new
 * one from the next peer (the leader first). A chunk of another stream, or not the one asked for, is ignored.
 *
 * <p>Serving: one stream at a time. A request for chunk 0 of a new stream opens {@link StateMachine#openSnapshot}
 * if this machine holds a state ending at or after what is asked and no other stream was served within {@link
 * #timeoutNanos} (else it is ignored: the receiver retries or asks another peer); a re-request of the chunk last
 * sent sends it again; a source idle for {@link #MAX_RETRIES} + 1 timeouts is closed. A request this side cannot
 * answer (a stream it no longer has, after a crash) is ignored, so the receiver restarts.
 *
 * <p>Pure: time is the host's monotonic clock, read at each input; single-threaded like its host.
 */
final class SnapshotTransfer {
    /** Unanswered requests for one chunk before the receiver abandons its stream for another peer. */
    static final int MAX_RETRIES = 3;

    /** What the transfer needs of its host. */
    interface Host {
        int replicaId();

        long configId();

        /** The group's members (this replica's view) and who it believes leads (0 or less: unknown). */
        List<Integer> members();

        int leaderHint();

        /** The machine's applied index, or -1 while it holds no state of the group (an install under way). */
        long machineApplied();

        /** Whether this machine may serve a snapshot now (it is not itself installing or behind its log). */
        boolean canServe();

        /** A stream of {@code chunks} chunks from {@code from} finished: the machine holds {@code [0, endIndex)}, durably. */
        void installed(long endIndex, int from, long chunks);

        void warn(String key, String message);
    }

    private final Host host;
    private final StateMachine machine;
    private final Transport transport;
    private final LongSupplier nanoTime;
    private final long timeoutNanos;
    private final int chunkBytes;
    private final long streamBase;

    // receiving side: wantEnd < 0 means no fetch
    private long wantEnd = -1;
    private int peer;
    private long streamId;
    private long nextSeq;
    private StateMachine.SnapshotSink sink;
    private long lastHeardNanos;
    private int retries;
    private long streams;

    // serving side
    private StateMachine.SnapshotSource source;
    private int servePeer;
    private long serveStream;
    private SnapshotChunk lastSent;
    private byte[] nextData;
    private long lastServedNanos;

    SnapshotTransfer(Host host, StateMachine machine, Transport transport, LongSupplier nanoTime, long timeoutNanos,
                     int chunkBytes, long streamBase) {
        this.host = host;
        this.machine = machine;
        this.transport = transport;
        this.nanoTime = nanoTime;
        this.timeoutNanos = timeoutNanos;
        this.chunkBytes = chunkBytes;
        this.streamBase = streamBase;
    }

    /** Whether a fetch is under way (chunks may or may not have arrived). */
    boolean fetching() {
        return wantEnd >= 0;
    }

    /** Whether chunks of a stream are being installed: the machine must not apply meanwhile. */
    boolean installing() {
        return sink != null;
    }

    /** The least end of the state a fetch under way looks for, or -1. */
    long wantEnd() {
        return wantEnd;
    }

    /**
     * Fetch a state ending at or after {@code endAtLeast}, from {@code preferred} first (a peer that has it: the
     * sender of a message carrying a snapshot; 0 or less: the leader, else the next peer). A fetch under way goes
     * on, looking for the higher end.
     */
    void want(long endAtLeast, int preferred) {
        if (endAtLeast <= host.machineApplied()) {
            return;
        }
        if (wantEnd >= 0) {
            wantEnd = Math.max(wantEnd, Math.max(1, endAtLeast));
            return;
        }
        wantEnd = Math.max(1, endAtLeast); // an install is of a non-empty prefix
        peer = preferred > 0 && preferred != host.replicaId() ? preferred : nextPeer(0);
        startStream();
    }

    /**
     * When {@link #onTick} next has something to do (monotonic nanos): re-ask for a chunk, or close an idle source;
     * {@code Long.MAX_VALUE} when neither side has a stream.
     */
    long nextTimerNanos() {
        long at = Long.MAX_VALUE;
        if (wantEnd >= 0) {
            at = lastHeardNanos + timeoutNanos;
        }
        if (source != null) {
            long close = lastServedNanos + (MAX_RETRIES + 1) * timeoutNanos;
            at = at == Long.MAX_VALUE || close - at < 0 ? close : at;
        }
        return at;
    }

    /** Timers: re-ask for a chunk not received, abandon a stream that does not answer, close an idle source. */
    void onTick() {
        long now = nanoTime.getAsLong();
        if (wantEnd >= 0 && now - lastHeardNanos >= timeoutNanos) {
            if (++retries > MAX_RETRIES) {
                host.warn("snapshot-peer", "replica " + host.replicaId() + ": no snapshot chunk from replica " + peer
                        + " (stream " + streamId + ", chunk " + nextSeq + "); asking another peer");
                peer = nextPeer(peer);
                startStream();
            } else {
                lastHeardNanos = now;
                request();
            }
        }
        if (source != null && now - lastServedNanos >= (MAX_RETRIES + 1) * timeoutNanos) {
            closeSource();
        }
    }

    void onChunk(SnapshotChunk c) {
        if (wantEnd < 0 || c.from() != peer || c.streamId() != streamId || c.seq() != nextSeq) {
            return; // a stale, duplicate or unasked-for chunk
        }
        if (c.seq() == 0) {
            long applied = host.machineApplied();
            if (c.endIndex() < wantEnd || c.endIndex() <= applied) {
                // the peer's state is not far enough ahead (it was behind, or installed an older one): another peer
                peer = nextPeer(peer);
                startStream();
                return;
            }
        }
        try {
            if (c.seq() == 0) {
                sink = machine.beginInstall(c.endIndex());
            }
            sink.add(c.data());
        } catch (IllegalArgumentException e) {
            // chunks this machine cannot take (another kind of machine, damaged bytes): not from this peer
            host.warn("snapshot-chunk", "replica " + host.replicaId() + ": chunk " + c.seq() + " of replica "
                    + c.from() + "'s snapshot refused: " + e.getMessage() + "; asking another peer");
            peer = nextPeer(peer);
            startStream();
            return;
        }
        lastHeardNanos = nanoTime.getAsLong();
        retries = 0;
        if (!c.last()) {
            nextSeq++;
            request();
            return;
        }
        StateMachine.SnapshotSink done = sink;
        sink = null;
        wantEnd = -1;
        done.finish();
        host.installed(c.endIndex(), c.from(), c.seq() + 1);
    }

    void onRequest(SnapshotRequest q) {
        long now = nanoTime.getAsLong();
        if (source != null && q.from() == servePeer && q.streamId() == serveStream) {
            if (q.seq() == lastSent.seq()) {
                lastServedNanos = now;
                transport.send(q.from(), lastSent);
            } else if (q.seq() == lastSent.seq() + 1 && !lastSent.last()) {
                lastServedNanos = now;
                sendNext(q.seq());
            }
            return;
        }
        if (q.seq() != 0 || q.from() == host.replicaId()) {
            return; // a stream this side no longer has: the receiver times out and starts a new one
        }
        if (source != null && now - lastServedNanos < timeoutNanos) {
            return; // serving another stream: one at a time
        }
        if (!host.canServe() || host.machineApplied() < q.endAtLeast()) {
            return; // nothing far enough ahead to give: the receiver asks another peer
        }
        closeSource();
        source = machine.openSnapshot(chunkBytes);
        servePeer = q.from();
        serveStream = q.streamId();
        lastServedNanos = now;
        nextData = source.nextChunk();
        sendNext(0);
    }

    /** Abandons what is under way on both sides (the host is closing). */
    void close() {
        closeSource();
        sink = null;
        wantEnd = -1;
    }

    private void sendNext(long seq) {
        byte[] data = nextData == null ? new byte[0] : nextData;
        nextData = nextData == null ? null : source.nextChunk();
        lastSent = new SnapshotChunk(host.replicaId(), servePeer, host.configId(), serveStream, seq,
                source.endIndex(), data, nextData == null);
        transport.send(servePeer, lastSent);
    }

    private void closeSource() {
        if (source != null) {
            source.close();
            source = null;
            lastSent = null;
            nextData = null;
        }
    }

    private void startStream() {
        sink = null; // a machine accepts a new install over an abandoned one
        streamId = streamBase + ++streams;
        nextSeq = 0;
        retries = 0;
        lastHeardNanos = nanoTime.getAsLong();
        request();
    }

    private void request() {
        transport.send(peer, new SnapshotRequest(host.replicaId(), peer, host.configId(), streamId, nextSeq, wantEnd));
    }

    /** The leader if it is not {@code after}, else the member after {@code after}, skipping this replica. */
    private int nextPeer(int after) {
        int leader = host.leaderHint();
        if (after == 0 && leader > 0 && leader != host.replicaId()) {
            return leader;
        }
        List<Integer> members = host.members();
        int n = members.size();
        int i = Math.max(0, members.indexOf(after));
        for (int k = 1; k <= n; k++) {
            int candidate = members.get((i + k) % n);
            if (candidate != host.replicaId()) {
                return candidate;
            }
        }
        return host.replicaId(); // a group of one: nobody to ask
    }
}
