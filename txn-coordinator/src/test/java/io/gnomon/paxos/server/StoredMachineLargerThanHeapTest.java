package io.gnomon.paxos.server;

import io.gnomon.paxos.ChildJvm;
import io.gnomon.paxos.runtime.StateMachine;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Machines larger than the heap: a child JVM with {@code -Xmx64m} puts 256 MiB (4,096 x 64 KiB) into a key-value
 * machine and 100,000 appends into a list-append machine, flushes, and is killed with SIGKILL; machines reopened on
 * its store answer every flushed put and every list in full. A machine that kept a Java object per row could not
 * have held 256 MiB in 64. What it cost is printed (loaded machine).
 */
class StoredMachineLargerThanHeapTest {
    static final int PUTS = 4_096;
    static final int VALUE_BYTES = 64 << 10;
    static final int APPENDS = 100_000;

    @TempDir
    Path tmp;

    @Test
    void machinesLargerThanTheWritersHeapAreReadBackAfterSigkill() throws Exception {
        Path stderr = tmp.resolve("child.err");
        Path dataDir = tmp.resolve("data");
        List<String> cmd = ChildJvm.command(StoredMachineFillChild.class, "-Xmx64m");
        cmd.addAll(List.of(dataDir.toString(), Integer.toString(PUTS), Integer.toString(VALUE_BYTES), Integer.toString(APPENDS)));
        long startNanos = System.nanoTime();
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(stderr.toFile());
        ReplicaProcesses.unpackRocksDbLibraryIn(pb, tmp.resolve("rocksdb-jni")); // not /tmp: the child dies by SIGKILL
        Process child = pb.start();
        String flushed;
        try {
            CompletableFuture<List<String>> lines = CompletableFuture.supplyAsync(() -> {
                List<String> got = new ArrayList<>();
                try {
                    BufferedReader in = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.US_ASCII));
                    for (String line; (line = in.readLine()) != null; ) {
                        got.add(line);
                        if (line.equals("UNFLUSHED")) {
                            break;
                        }
                    }
                } catch (java.io.IOException e) {
                    // the child died: what was read is returned
                }
                return got;
            });
            List<String> got = lines.get(10, TimeUnit.MINUTES); // a bound on a hang, not a performance assertion
            assertThat(got).as("child output; stderr: %s", Files.readString(stderr)).contains("UNFLUSHED");
            flushed = got.stream().filter(l -> l.startsWith("FLUSHED ")).findFirst().orElseThrow();
        } finally {
            child.destroyForcibly(); // SIGKILL
            child.waitFor();
        }
        long childMillis = (System.nanoTime() - startNanos) / 1_000_000;
        String[] f = flushed.split(" ");
        long listSlots = (APPENDS + StoredMachineFillChild.OPS_PER_TXN - 1) / StoredMachineFillChild.OPS_PER_TXN;
        assertThat(Long.parseLong(f[1])).as("key-value flush").isEqualTo(PUTS);
        assertThat(Long.parseLong(f[2])).as("list-append flush").isEqualTo(listSlots);

        startNanos = System.nanoTime();
        long liveBytes;
        try (StoredMachines machines = StoredMachines.open(dataDir)) {
            liveBytes = machines.store().liveDataBytes();
            StateMachine kv = machines.keyValue(0);
            StateMachine lists = machines.listAppend(1);
            assertThat(kv.appliedIndex()).as("at or past the flush, at most the 8 unflushed puts past it").isBetween((long) PUTS, PUTS + 8L);
            assertThat(lists.appliedIndex()).isEqualTo(listSlots);
            for (int n = 0; n < PUTS; n++) {
                byte[] answer = kv.query(StoredMachineFillChild.key(n));
                assertThat(answer[0]).as("put %d present", n).isEqualTo((byte) 1);
                assertThat(java.util.Arrays.copyOfRange(answer, 1, answer.length)).as("value %d", n)
                        .isEqualTo(StoredMachineFillChild.value(n, VALUE_BYTES));
            }
            for (int l = 0; l < StoredMachineFillChild.LISTS; l++) {
                List<Long> list = ListAppend.decodeList(lists.query(("list/" + l).getBytes(StandardCharsets.UTF_8)));
                List<Long> expected = new ArrayList<>();
                for (long i = l; i < APPENDS; i += StoredMachineFillChild.LISTS) {
                    expected.add(i);
                }
                assertThat(list).as("list %d", l).isEqualTo(expected);
            }
        }
        System.out.printf("StoredMachineLargerThanHeapTest (loaded machine): child -Xmx64m %s (puts lists ms); child JVM"
                        + " until killed %d ms; SST files %d MiB; reopen + read back %d ms%n",
                flushed, childMillis, liveBytes >> 20, (System.nanoTime() - startNanos) / 1_000_000);
    }
}
