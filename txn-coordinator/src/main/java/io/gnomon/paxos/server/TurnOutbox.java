package io.gnomon.paxos.server;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What one loop turn sends, held until the turn lets it go and then sent per peer process together ({@link
 * ProcessTransport#sendAll}: one frame on the peer's stream for every group's messages of the turn, transaction
 * messages among them), so that a process's idle groups' heartbeats to a peer cost one frame per turn, not one per
 * group. Its loop {@link #flush}es it before the turn's sync (the Accepts a leader sends before its own sync must not
 * wait for it) and after the turn's delivery. Messages to this process itself pass at once.
 *
 * <p>Single-threaded: used by its loop's thread only.
 */
final class TurnOutbox implements ProcessTransport {
    private final int me;
    private final ProcessTransport inner;
    private final Map<Integer, List<Envelope>> held = new TreeMap<>();
    private int heldCount;

    TurnOutbox(int me, ProcessTransport inner) {
        this.me = me;
        this.inner = inner;
    }

    @Override
    public void send(int to, Envelope envelope) {
        if (to == me) {
            inner.send(to, envelope);
            return;
        }
        held.computeIfAbsent(to, p -> new ArrayList<>()).add(envelope);
        heldCount++;
    }

    /** Sends what the turn has sent so far: each peer's messages together, in the order they were sent. */
    void flush() {
        if (heldCount == 0) {
            return;
        }
        for (Map.Entry<Integer, List<Envelope>> e : held.entrySet()) {
            List<Envelope> ms = e.getValue();
            if (ms.size() == 1) {
                inner.send(e.getKey(), ms.get(0));
            } else if (!ms.isEmpty()) {
                inner.sendAll(e.getKey(), List.copyOf(ms));
            }
            ms.clear();
        }
        heldCount = 0;
    }
}
