package io.gnomon.paxos.server;

import io.gnomon.paxos.runtime.StateMachine;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Fills machines larger than this JVM's heap ({@link StoredMachineLargerThanHeapTest} runs it with {@code -Xmx64m}):
 * a key-value machine (group 0) takes {@code puts} puts of {@code valueBytes} each, put {@code n} at slot n under
 * {@link #key}(n) with {@link #value}(n); a list-append machine (group 1) takes transactions of
 * {@link #OPS_PER_TXN} appends, append {@code i} of value i to list {@link #listKey}(i). Then it flushes, prints
 * {@code FLUSHED <kvAppliedIndex> <listAppliedIndex> <millis>}, applies a few more puts that no flush covers, prints
 * {@code UNFLUSHED}, and waits to be killed. Usage: {@code StoredMachineFillChild <dataDir> <puts> <valueBytes> <appends>}.
 */
public final class StoredMachineFillChild {
    static final int OPS_PER_TXN = 16;
    static final int LISTS = 64;

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int puts = Integer.parseInt(args[1]);
        int valueBytes = Integer.parseInt(args[2]);
        int appends = Integer.parseInt(args[3]);
        try (StoredMachines machines = StoredMachines.open(dir)) {
            long startNanos = System.nanoTime();
            StateMachine kv = machines.keyValue(0);
            StateMachine lists = machines.listAppend(1);
            for (int n = 0; n < puts; n++) {
                kv.apply(n, KeyValueMachine.put(key(n), value(n, valueBytes)));
            }
            List<ListAppend.Op> ops = new ArrayList<>();
            long slot = 0;
            for (int i = 0; i < appends; i++) {
                ops.add(ListAppend.Op.append(listKey(i), i));
                if (ops.size() == OPS_PER_TXN || i == appends - 1) {
                    lists.apply(slot++, ListAppend.encodeTxn(ops));
                    ops.clear();
                }
            }
            machines.flusher().flushAll();
            System.out.println("FLUSHED " + kv.flush() + " " + lists.flush() + " " + (System.nanoTime() - startNanos) / 1_000_000);
            System.out.flush();
            for (int n = puts; n < puts + 8; n++) {
                kv.apply(n, KeyValueMachine.put(key(n), value(n, valueBytes)));
            }
            System.out.println("UNFLUSHED");
            System.out.flush();
            System.in.read(); // the test kills us here
        }
    }

    static byte[] key(int n) {
        return String.format("v/%08d", n).getBytes(StandardCharsets.US_ASCII);
    }

    static byte[] value(int n, int valueBytes) {
        byte[] v = new byte[valueBytes];
        new SplittableRandom(n * 0x9E3779B97F4A7C15L).nextBytes(v);
        return v;
    }

    static String listKey(int i) {
        return "list/" + (i % LISTS);
    }
}
