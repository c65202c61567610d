package io.gnomon.paxos.server;

import io.gnomon.paxos.store.GroupStore;
import io.gnomon.paxos.store.Mutation;
import io.gnomon.paxos.store.Row;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@link ListAppendMachine} on the versioned store: the same transactions ({@link ListAppend}), results and query
 * answers, byte for byte, with the lists on disk. Each list element is its own row, so an append writes one row
 * and reads nothing, and no list is ever held in memory except while a read returns it:
 * <pre>
 *   'l' | u16 keyLength | key (UTF-8) | u64 slot | u16 op index   ->   the appended value (8 bytes, big-endian)
 * </pre>
 * at version timestamp = slot. The length prefix keeps one key's elements contiguous (no key is a prefix of
 * another's run) and (slot, op index) orders them as they were appended; each row is written once, so no key
 * ever has a second version. Keys are compared as the in-memory machine compares them: decoded from UTF-8 and
 * encoded again. Reads inside a transaction see its own earlier appends, as there.
 */
public final class StoredListAppendMachine extends StoredGroupMachine {
    static final byte KIND = 'l';
    /** Rows per scan of a list; a longer list is read in pages. */
    private static final int PAGE_ROWS = 4_096;

    StoredListAppendMachine(StoredMachines owner, GroupStore group) {
        super(owner, group, KIND);
    }

    @Override
    public String validate(byte[] command) {
        return ListAppend.whyNotATxn(command);
    }

    @Override
    protected byte[] applyCommand(long slot, byte[] command) {
        List<ListAppend.Op> ops = ListAppend.decodeTxn(command);
        List<Mutation> mutations = new ArrayList<>();
        List<List<Long>> results = new ArrayList<>(ops.size());
        Map<String, List<Long>> lists = new HashMap<>(); // keys this transaction read: stored list + its own appends
        Map<String, List<Long>> appends = new HashMap<>(); // keys appended to before being read
        for (int i = 0; i < ops.size(); i++) {
            ListAppend.Op op = ops.get(i);
            byte[] k = op.key().getBytes(StandardCharsets.UTF_8);
            List<Long> read = lists.get(op.key());
            if (op.append()) {
                mutations.add(Mutation.put(elementKey(k, slot, i), slot, ByteBuffer.allocate(8).putLong(op.value()).array()));
                (read != null ? read : appends.computeIfAbsent(op.key(), x -> new ArrayList<>())).add(op.value());
                results.add(List.of());
            } else {
                if (read == null) {
                    read = readList(k);
                    read.addAll(appends.getOrDefault(op.key(), List.of()));
                    appends.remove(op.key());
                    lists.put(op.key(), read);
                }
                results.add(List.copyOf(read));
            }
        }
        write(slot, mutations);
        return ListAppend.encodeResult(results);
    }

    /** The query is a key; the answer its whole list ({@code []} for a key never appended to). */
    @Override
    protected byte[] answer(byte[] query) {
        byte[] k = new String(query, StandardCharsets.UTF_8).getBytes(StandardCharsets.UTF_8);
        return ListAppend.encodeList(k.length > 0xFFFF ? List.of() : readList(k));
    }

    private byte[] listPrefix(byte[] k) {
        return key(ByteBuffer.allocate(2).putShort((short) k.length).array(), k);
    }

    private byte[] elementKey(byte[] k, long slot, int opIndex) {
        return key(ByteBuffer.allocate(2 + k.length + 8 + 2).putShort((short) k.length).put(k).putLong(slot)
                .putShort((short) opIndex).array());
    }

    /** The stored list of {@code k}, in append order. */
    private List<Long> readList(byte[] k) {
        byte[] prefix = listPrefix(k);
        byte[] end = Arrays.copyOf(prefix, prefix.length + 1);
        end[prefix.length] = (byte) 0x80; // after every element: a slot's first byte is at most 0x7F
        List<Long> list = new ArrayList<>();
        byte[] from = prefix;
        while (true) {
            List<Row> rows = group.scan(from, end, LATEST, PAGE_ROWS);
            for (Row r : rows) {
                list.add(ByteBuffer.wrap(r.value()).getLong());
            }
            if (rows.size() < PAGE_ROWS) {
                return list;
            }
            byte[] last = rows.get(rows.size() - 1).key();
            from = Arrays.copyOf(last, last.length + 1); // the smallest key after it
        }
    }
}
