package io.gnomon.paxos.server;

import io.gnomon.paxos.runtime.StateMachine;
import io.gnomon.paxos.store.StoreLimits;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.CRC32;

/**
 * The process {@link StoredMachineKillNineTest} kills: opens the machines of {@code args[0]} (group g is of kind
 * {@link #kind(int)}), continues each from its applied index, and applies commands forever, printing
 * <pre>
 *   START g:appliedIndex ...   after opening
 *   A g slot crc               after apply(slot) returned; crc of the result ("-" for an empty slot)
 *   F g:durable ...            after flush() of those machines returned (next-slot numbering)
 * </pre>
 * The command of (g, slot) is a pure function of both ({@link #command}), so a slot lost in a crash is applied
 * again identically, as a log replay would. Usage: {@code StoredMachineKillChild <dataDir> <seed> <groups>}.
 */
public final class StoredMachineKillChild {
    /** Small memtables: the engine flushes on its own between explicit flushes, at points the kill races with. */
    static final StoreLimits LIMITS = StoredMachines.LIMITS.withWriteBufferBytes(64 << 10);
    static final List<String> KINDS = List.of("list-append", "kv", "counter");

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        SplittableRandom rng = new SplittableRandom(Long.parseLong(args[1]));
        int groups = Integer.parseInt(args[2]);
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.US_ASCII);
        try (StoredMachines machines = StoredMachines.open(dir, LIMITS)) {
            List<StateMachine> ms = new ArrayList<>();
            StringBuilder start = new StringBuilder("START");
            for (int g = 0; g < groups; g++) {
                ms.add(machines.machine(kind(g), g));
                start.append(' ').append(g).append(':').append(ms.get(g).appliedIndex());
            }
            out.println(start);
            out.flush();
            while (true) {
                int g = rng.nextInt(groups);
                StateMachine m = ms.get(g);
                long slot = m.appliedIndex();
                byte[] result = m.apply(slot, command(g, slot));
                out.println("A " + g + " " + slot + " " + crc(result));
                out.flush();
                int r = rng.nextInt(600);
                if (r == 0) {
                    out.println("F " + g + ":" + m.flush());
                    out.flush();
                } else if (r == 1) {
                    machines.flusher().flushAll(); // as a host does once per turn; then every flush() is free
                    StringBuilder f = new StringBuilder("F");
                    for (int i = 0; i < groups; i++) {
                        f.append(' ').append(i).append(':').append(ms.get(i).flush());
                    }
                    out.println(f);
                    out.flush();
                }
            }
        }
    }

    static String kind(int group) {
        return KINDS.get(group % KINDS.size());
    }

    /** The command group {@code g} applies at {@code slot}: null (an empty slot) now and then. */
    static byte[] command(int g, long slot) {
        if (slot % 13 == 7) {
            return null;
        }
        SplittableRandom rng = new SplittableRandom(g * 1_000_003L + slot);
        return switch (kind(g)) {
            case "list-append" -> StoredMachineEquivalenceTest.listAppendTxn(rng);
            case "kv" -> StoredMachineEquivalenceTest.kvPut(rng);
            default -> {
                byte[] c = new byte[rng.nextInt(64)];
                rng.nextBytes(c);
                yield c;
            }
        };
    }

    static String crc(byte[] result) {
        if (result == null) {
            return "-";
        }
        CRC32 c = new CRC32();
        c.update(result);
        return Long.toHexString(c.getValue());
    }
}
