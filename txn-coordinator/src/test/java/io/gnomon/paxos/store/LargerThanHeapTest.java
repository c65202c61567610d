package io.gnomon.paxos.store;

import io.gnomon.paxos.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A group's state may be larger than memory: a child JVM with a 64 MiB heap writes 300 MiB of values (4,800 x
 * 64 KiB, deterministic) into four groups and streams one group's 75 MiB snapshot in chunks; then this JVM reopens
 * the store and reads every value back. What it costs is printed (loaded machine).
 */
class LargerThanHeapTest {
    static final int VALUE_BYTES = 64 << 10;
    static final int VALUES = 4_800;

    @TempDir
    Path tmp;

    @Test
    void aStoreLargerThanTheWritersHeapIsWrittenStreamedAndReadBack() throws Exception {
        Path dir = tmp.resolve("store");
        Path stdout = tmp.resolve("child.out");
        Path stderr = tmp.resolve("child.err");
        List<String> cmd = ChildJvm.command(StoreFillChild.class, "-Xmx64m");
        cmd.addAll(List.of(dir.toString(), Integer.toString(VALUES), Integer.toString(VALUE_BYTES)));
        long startNanos = System.nanoTime();
        Process child = new ProcessBuilder(cmd).redirectOutput(stdout.toFile()).redirectError(stderr.toFile()).start();
        boolean exited = child.waitFor(10, TimeUnit.MINUTES); // a bound on a hang, not a performance assertion
        if (!exited) {
            child.destroyForcibly();
        }
        assertThat(exited).as("fill child finished; stderr: %s", Files.readString(stderr)).isTrue();
        assertThat(child.exitValue()).as("fill child exit; stderr: %s", Files.readString(stderr)).isZero();
        long childMillis = (System.nanoTime() - startNanos) / 1_000_000;
        List<String> lines = Files.readAllLines(stdout, StandardCharsets.US_ASCII);
        String filled = lines.stream().filter(l -> l.startsWith("FILLED ")).findFirst().orElseThrow();
        String snapshot = lines.stream().filter(l -> l.startsWith("SNAPSHOT ")).findFirst().orElseThrow();
        String[] s = snapshot.split(" ");
        assertThat(Long.parseLong(s[3])).as("entries streamed from group 0").isEqualTo(VALUES / StoreFillChild.GROUPS);
        assertThat(Long.parseLong(s[4])).as("payload bytes streamed").isGreaterThan((long) VALUES / StoreFillChild.GROUPS * VALUE_BYTES);

        startNanos = System.nanoTime();
        long liveBytes;
        try (VersionedStore store = VersionedStore.open(dir, StoreFillChild.LIMITS)) {
            liveBytes = store.liveDataBytes();
            assertThat(liveBytes).isGreaterThan((long) VALUES * VALUE_BYTES);
            for (int g = 0; g < StoreFillChild.GROUPS; g++) {
                assertThat(store.group(g).appliedIndex()).isEqualTo(VALUES / StoreFillChild.GROUPS / StoreFillChild.VALUES_PER_BATCH - 1);
            }
            for (int n = 0; n < VALUES; n++) {
                byte[] got = store.group(n % StoreFillChild.GROUPS).get(StoreFillChild.key(n), Long.MAX_VALUE).orElseThrow(
                        () -> new AssertionError("value missing"));
                assertThat(got).as("value %d", n).isEqualTo(StoreFillChild.value(n, VALUE_BYTES));
            }
        }
        long verifyMillis = (System.nanoTime() - startNanos) / 1_000_000;
        System.out.printf("LargerThanHeapTest (loaded machine): child -Xmx64m %s; %s (chunks entries bytes ms);"
                        + " child JVM total %d ms; SST files %d MiB; reopen + read back all %d values %d ms%n",
                filled, snapshot, childMillis, liveBytes >> 20, VALUES, verifyMillis);
    }
}
