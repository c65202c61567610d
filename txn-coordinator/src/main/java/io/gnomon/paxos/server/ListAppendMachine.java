package io.gnomon.paxos.server;

import io.gnomon.paxos.runtime.InMemoryMachine;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Keys to lists of longs; a transaction of appends and reads ({@link ListAppend}) is applied atomically, as one
 * log entry. This is the state machine the verification harness runs its list-append workload against
 * (docs/history-format.md): reads inside a transaction see the transaction's own earlier appends.
 */
public final class ListAppendMachine extends InMemoryMachine {
    private final Map<String, ArrayList<Long>> lists = new HashMap<>();

    @Override
    public String validate(byte[] command) {
        return ListAppend.whyNotATxn(command);
    }

    @Override
    protected byte[] applyCommand(long slot, byte[] command) {
        List<ListAppend.Op> ops = ListAppend.decodeTxn(command);
        List<List<Long>> results = new ArrayList<>(ops.size());
        for (ListAppend.Op op : ops) {
            if (op.append()) {
                lists.computeIfAbsent(op.key(), k -> new ArrayList<>()).add(op.value());
                results.add(List.of());
            } else {
                results.add(List.copyOf(lists.getOrDefault(op.key(), new ArrayList<>())));
            }
        }
        return ListAppend.encodeResult(results);
    }

    /** The query is a key; the answer its whole list ({@code []} for a key never appended to). */
    @Override
    public byte[] query(byte[] query) {
        String key = new String(query, StandardCharsets.UTF_8);
        return ListAppend.encodeList(lists.getOrDefault(key, new ArrayList<>()));
    }

    /** Count, then each (key, list) in key order, so equal states give equal bytes. */
    @Override
    protected byte[] encodeState() {
        TreeMap<String, ArrayList<Long>> sorted = new TreeMap<>(lists);
        int size = 4;
        for (Map.Entry<String, ArrayList<Long>> e : sorted.entrySet()) {
            size += 4 + e.getKey().getBytes(StandardCharsets.UTF_8).length + 4 + 8 * e.getValue().size();
        }
        ByteBuffer b = ByteBuffer.allocate(size);
        b.putInt(sorted.size());
        for (Map.Entry<String, ArrayList<Long>> e : sorted.entrySet()) {
            byte[] k = e.getKey().getBytes(StandardCharsets.UTF_8);
            b.putInt(k.length).put(k);
            ListAppend.putList(b, e.getValue());
        }
        return b.array();
    }

    @Override
    protected void decodeState(byte[] state) {
        lists.clear();
        if (state.length == 0) {
            return;
        }
        ByteBuffer b = ByteBuffer.wrap(state);
        int n = b.getInt();
        for (int i = 0; i < n; i++) {
            byte[] k = new byte[b.getInt()];
            b.get(k);
            lists.put(new String(k, StandardCharsets.UTF_8), new ArrayList<>(ListAppend.getList(b)));
        }
    }
}
