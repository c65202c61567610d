package io.gnomon.paxos.server;

import io.gnomon.paxos.Message;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What one loop turn sends, held until the turn lets it go and then sent per peer process together ({@link
 * ProcessTransport#sendAll}: one frame on the peer's stream for every group's messages of the turn), so that a
 * process's idle groups' heartbeats to a peer cost one frame per turn, not one per group. Its loop {@link #flush}es
 * it before the turn's sync (the Accepts a leader sends before its own sync must not wait for it) and after the
 * turn's delivery. Messages to this process itself pass at once.
 *
 * <p>Single-threaded: used by its loop's thread only.
 */
final class TurnOutbox implements ProcessTransport {
    private final int me;
    private final ProcessTransport inner;
    private final Map<Integer, List<GroupMessage>> held = new TreeMap<>();
    private int heldCount;

    TurnOutbox(int me, ProcessTransport inner) {
        this.me = me;
        this.inner = inner;
    }

    @Override
    public void send(int to, long groupId, Message message) {
        if (to == me) {
            inner.send(to, groupId, message);
            return;
        }
        held.computeIfAbsent(to, p -> new ArrayList<>()).add(new GroupMessage(groupId, message));
        heldCount++;
    }

    /** Sends what the turn has sent so far: each peer's messages together, in the order they were sent. */
    void flush() {
        if (heldCount == 0) {
            return;
        }
        for (Map.Entry<Integer, List<GroupMessage>> e : held.entrySet()) {
            List<GroupMessage> ms = e.getValue();
            if (ms.size() == 1) {
                inner.send(e.getKey(), ms.get(0).groupId(), ms.get(0).message());
            } else if (!ms.isEmpty()) {
                inner.sendAll(e.getKey(), List.copyOf(ms));
            }
            ms.clear();
        }
        heldCount = 0;
    }
}
