package io.gnomon.paxos.server;

import io.gnomon.paxos.runtime.StateMachine;
import io.gnomon.paxos.runtime.StateMachine;
import io.gnomon.paxos.store.StoreOpenException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The machines on the versioned store answer exactly as the in-memory ones: the same random command sequence runs
 * through both, every result and every query of every key compared, across closes and reopens of the store (which
 * must come back at the same applied index and state). Seeded: {@code -Dstored.machine.seed=N} replays.
 */
class StoredMachineEquivalenceTest {
    static final int STEPS = 1_500;

    @TempDir
    Path tmp;

    /** One kind: how to build the in-memory twin, a random command, and every query worth asking. */
    record Kind(String name, java.util.function.Supplier<StateMachine> memory, Function<SplittableRandom, byte[]> command,
                List<byte[]> queries) {
    }

    static final List<String> KEYS = List.of("a", "b", "c", "x\u00e9", "k/1", "k/10", "k", "");

    static byte[] listAppendTxn(SplittableRandom rng) {
        List<ListAppend.Op> ops = new ArrayList<>();
        int n = 1 + rng.nextInt(6);
        for (int i = 0; i < n; i++) {
            String key = KEYS.get(rng.nextInt(KEYS.size() - 1)); // "" is not a valid key: only queried
            ops.add(rng.nextBoolean() ? ListAppend.Op.append(key, rng.nextLong()) : ListAppend.Op.read(key));
        }
        return ListAppend.encodeTxn(ops);
    }

    /** Key-value keys are 1 to 3 of these bytes: the ones the store's key escaping treats specially, and one plain. */
    static final int[] KV_KEY_BYTES = {0, 1, 0xff, 'a'};

    static byte[] kvPut(SplittableRandom rng) {
        byte[] key = new byte[1 + rng.nextInt(3)];
        for (int i = 0; i < key.length; i++) {
            key[i] = (byte) KV_KEY_BYTES[rng.nextInt(KV_KEY_BYTES.length)];
        }
        byte[] value = new byte[rng.nextInt(40)];
        rng.nextBytes(value);
        return KeyValueMachine.put(key, value);
    }

    static List<byte[]> kvQueries() {
        List<byte[]> qs = new ArrayList<>();
        int[] bytes = KV_KEY_BYTES;
        for (int len = 1; len <= 3; len++) {
            int combos = (int) Math.pow(4, len);
            for (int c = 0; c < combos; c++) {
                byte[] q = new byte[len];
                for (int i = 0, x = c; i < len; i++, x /= 4) {
                    q[i] = (byte) bytes[x % 4];
                }
                qs.add(q);
            }
        }
        return qs;
    }

    static List<Kind> kinds() {
        return List.of(
                new Kind("list-append", ListAppendMachine::new, StoredMachineEquivalenceTest::listAppendTxn,
                        KEYS.stream().map(k -> k.getBytes(StandardCharsets.UTF_8)).toList()),
                new Kind("counter", CounterMachine::new, rng -> {
                    byte[] c = new byte[rng.nextInt(100)];
                    rng.nextBytes(c);
                    return c;
                }, List.of(new byte[0], new byte[] {1})),
                new Kind("kv", KeyValueMachine::new, StoredMachineEquivalenceTest::kvPut, kvQueries()));
    }

    @Test
    void everyResultAndQueryMatchesTheInMemoryMachineAcrossReopens() throws Exception {
        long seed = Long.getLong("stored.machine.seed", System.nanoTime());
        System.out.println("StoredMachineEquivalenceTest seed " + seed + " (rerun: -Dstored.machine.seed=" + seed + ")");
        SplittableRandom rng = new SplittableRandom(seed);
        List<Kind> kinds = kinds();
        List<StateMachine> memory = new ArrayList<>();
        long[] next = new long[kinds.size()];
        for (Kind k : kinds) {
            memory.add(k.memory().get());
        }
        StoredMachines machines = StoredMachines.open(tmp);
        try {
            List<StateMachine> stored = open(machines, kinds);
            for (int step = 0; step < STEPS; step++) {
                int i = rng.nextInt(kinds.size());
                Kind kind = kinds.get(i);
                String at = "seed " + seed + ", step " + step + ", " + kind.name();
                long slot = next[i];
                if (rng.nextInt(10) == 0) { // a slot without a command for the machine (a configuration entry)
                    assertThat(stored.get(i).apply(slot, null)).as(at + ": an empty slot's result").isNull();
                    memory.get(i).apply(slot, null);
                } else {
                    byte[] command = kind.command().apply(rng);
                    assertThat(stored.get(i).validate(command)).as(at).isNull();
                    assertThat(stored.get(i).apply(slot, command)).as(at + ": result of slot " + slot)
                            .isEqualTo(memory.get(i).apply(slot, command));
                }
                next[i] = slot + 1;
                assertThat(stored.get(i).appliedIndex()).as(at).isEqualTo(next[i]);
                if (rng.nextInt(20) == 0) {
                    assertSameAnswers(kinds, memory, stored, at);
                }
                if (rng.nextInt(300) == 0) {
                    machines.close(); // flushes: the reopened machines hold everything
                    machines = StoredMachines.open(tmp);
                    stored = open(machines, kinds);
                    for (int j = 0; j < kinds.size(); j++) {
                        assertThat(stored.get(j).appliedIndex()).as(at + ": reopened " + kinds.get(j).name()).isEqualTo(next[j]);
                    }
                } else if (rng.nextInt(100) == 0) {
                    int j = rng.nextInt(kinds.size());
                    assertThat(stored.get(j).flush()).as(at + ": flush of " + kinds.get(j).name()).isEqualTo(next[j]);
                }
            }
            assertSameAnswers(kinds, memory, stored, "seed " + seed + ", end");
        } finally {
            machines.close();
        }
    }

    private static List<StateMachine> open(StoredMachines machines, List<Kind> kinds) {
        List<StateMachine> stored = new ArrayList<>();
        for (int i = 0; i < kinds.size(); i++) {
            stored.add(machines.machine(kinds.get(i).name(), i));
        }
        return stored;
    }

    private static void assertSameAnswers(List<Kind> kinds, List<StateMachine> memory, List<StateMachine> stored, String at) {
        for (int i = 0; i < kinds.size(); i++) {
            for (byte[] q : kinds.get(i).queries()) {
                assertThat(stored.get(i).query(q)).as(at + ": " + kinds.get(i).name() + " query %s", java.util.Arrays.toString(q))
                        .isEqualTo(memory.get(i).query(q));
            }
        }
    }

    @Test
    void malformedCommandsAndQueriesAreRefusedAsInMemory() throws Exception {
        try (StoredMachines machines = StoredMachines.open(tmp)) {
            StateMachine la = machines.listAppend(1);
            ListAppendMachine laMemory = new ListAppendMachine();
            byte[] bad = ByteBuffer.allocate(4).putInt(0).array();
            assertThat(la.validate(bad)).isEqualTo(laMemory.validate(bad)).contains("0 ops");
            assertThatThrownBy(() -> la.apply(0, bad)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> laMemory.apply(0, bad)).isInstanceOf(IllegalArgumentException.class);
            assertThat(la.appliedIndex()).as("a command that cannot apply is applied as nothing, as in memory")
                    .isEqualTo(laMemory.appliedIndex()).isEqualTo(1);

            StateMachine kv = machines.keyValue(2);
            KeyValueMachine kvMemory = new KeyValueMachine();
            for (byte[] c : List.of(new byte[3], new byte[4], ByteBuffer.allocate(6).putInt(3).array())) {
                assertThat(kv.validate(c)).isEqualTo(kvMemory.validate(c)).isNotNull();
            }
            assertThat(kv.validate(KeyValueMachine.put(new byte[KeyValueMachine.KEY_BYTES_MAX], new byte[1]))).isNull();
            assertThatThrownBy(() -> kv.query(new byte[0])).isInstanceOf(IllegalArgumentException.class);
            assertThat(kv.query(new byte[KeyValueMachine.KEY_BYTES_MAX])).containsExactly(0);
            byte[] bigKey = new byte[KeyValueMachine.KEY_BYTES_MAX];
            bigKey[7] = 9;
            kv.apply(0, KeyValueMachine.put(bigKey, new byte[] {5}));
            assertThat(kv.query(bigKey)).containsExactly(1, 5);
            assertThatThrownBy(() -> kv.apply(0, KeyValueMachine.put(bigKey, new byte[0])))
                    .as("slots only go up").isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("slot 0 applied out of order: the next slot to apply is 1");
        }
    }

    @Test
    void aGroupIsOneMachineOfOneKindAndTheStoreOneProcesssOwn() throws Exception {
        try (StoredMachines machines = StoredMachines.open(tmp)) {
            StateMachine kv = machines.keyValue(3);
            kv.apply(0, KeyValueMachine.put(new byte[] {1}, new byte[] {2}));
            assertThatThrownBy(() -> machines.keyValue(3)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("group 3 already has an open machine");
            kv.close();
            assertThatThrownBy(() -> kv.query(new byte[] {1})).hasMessageContaining("closed");
            assertThatThrownBy(() -> machines.listAppend(3)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("group 3 holds data of another kind of machine (key tag 'k'");
            assertThat(machines.keyValue(3).query(new byte[] {1})).containsExactly(1, 2);
            assertThatThrownBy(() -> machines.machine("tree", 4)).hasMessageContaining("use list-append, counter, kv or txn");
            assertThatThrownBy(() -> StoredMachines.open(tmp)).isInstanceOfSatisfying(StoreOpenException.class, e -> {
                assertThat(e.reason()).isEqualTo(StoreOpenException.Reason.LOCKED);
                assertThat(e.getMessage()).contains(tmp.resolve("store").toString()).contains("close it first");
            });
        }
    }

    @Test
    void aDamagedStoreIsRefusedAsCorruptNamingItsDirectory() throws Exception {
        try (StoredMachines machines = StoredMachines.open(tmp)) {
            machines.keyValue(1).apply(0, KeyValueMachine.put(new byte[] {1}, new byte[] {2}));
        }
        try (java.util.stream.Stream<Path> files = java.nio.file.Files.list(tmp.resolve("store"))) {
            for (Path m : files.filter(f -> f.getFileName().toString().startsWith("MANIFEST-")).toList()) {
                byte[] junk = new byte[(int) Math.max(64, java.nio.file.Files.size(m))];
                java.util.Arrays.fill(junk, (byte) 0x5A);
                java.nio.file.Files.write(m, junk);
            }
        }
        assertThatThrownBy(() -> StoredMachines.open(tmp)).isInstanceOfSatisfying(StoreOpenException.class, e -> {
            assertThat(e.reason()).isEqualTo(StoreOpenException.Reason.CORRUPT);
            assertThat(e.getMessage()).contains(tmp.resolve("store") + " is corrupt").contains("restore it from a replica's snapshot");
        });
    }

    @Test
    void manyGroupsFlushingCostOneEngineFlushPerRound() throws Exception {
        try (StoredMachines machines = StoredMachines.open(tmp)) {
            List<StateMachine> ms = new ArrayList<>();
            for (int g = 0; g < 20; g++) {
                ms.add(machines.counter(g));
            }
            for (int round = 0; round < 3; round++) {
                for (StateMachine m : ms) {
                    m.apply(m.appliedIndex(), new byte[] {1});
                }
                long before = machines.flusher().engineFlushes();
                machines.flusher().flushAll(); // the host, once per turn
                for (StateMachine m : ms) {
                    assertThat(m.flush()).isEqualTo(m.appliedIndex());
                }
                assertThat(machines.flusher().engineFlushes() - before).as("round " + round).isEqualTo(1);
            }
            // without the host's flushAll, the first machine's flush covers the others applied before it
            for (StateMachine m : ms) {
                m.apply(m.appliedIndex(), new byte[] {1});
            }
            long before = machines.flusher().engineFlushes();
            for (StateMachine m : ms) {
                assertThat(m.flush()).isEqualTo(m.appliedIndex());
            }
            assertThat(machines.flusher().engineFlushes() - before).isEqualTo(1);
        }
    }
}
