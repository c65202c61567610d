package io.gnomon.paxos.bench;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Reading a process's threads, memory, descriptors and live heap from outside it. */
class ProcessFootprintTest {

    @Test
    void heapUsedSumsTheGenerationsOfSerialAndTheHeapOfG1AndSkipsMetaspace() {
        String serial = """
                12345:
                 def new generation   total 9216K, used 1024K [0x00000000f0000000, 0x00000000f0a00000, 0x00000000f0a00000)
                  eden space 8192K,  12% used [0x00000000f0000000, 0x00000000f0100000, 0x00000000f0800000)
                 tenured generation   total 20480K, used 7000K [0x00000000f0a00000, 0x00000000f1e00000, 0x0000000100000000)
                 Metaspace       used 30000K, committed 30500K, reserved 1081344K
                  class space    used 3000K, committed 3200K, reserved 1048576K
                """;
        assertThat(ProcessFootprint.heapUsedKiB(serial)).isEqualTo(8024);
        String g1 = """
                 garbage-first heap   total 262144K, used 5120K [0x00000000f0000000, 0x0000000100000000)
                  region size 1024K, 1 young (1024K), 0 survivors (0K)
                 Metaspace       used 30000K, committed 30500K, reserved 1081344K
                """;
        assertThat(ProcessFootprint.heapUsedKiB(g1)).isEqualTo(5120);
        assertThat(ProcessFootprint.heapUsedKiB("Could not attach")).isEqualTo(-1);
    }

    @Test
    void statusFieldsByName() {
        String status = "Name:\tjava\nVmRSS:\t  183040 kB\nThreads:\t24\n";
        assertThat(ProcessFootprint.statusField(status, "Threads")).isEqualTo(24);
        assertThat(ProcessFootprint.statusField(status, "VmRSS")).isEqualTo(183040);
        assertThat(ProcessFootprint.statusField(status, "VmSwap")).isEqualTo(-1);
    }

    @Test
    void thisJvmHasThreadsMemoryDescriptorsSomeOfThemFilesAndALiveHeap() throws Exception {
        long pid = ProcessHandle.current().pid();
        ProcessFootprint f = ProcessFootprint.of(pid);
        assertThat(f.threads()).isPositive();
        assertThat(f.rssKiB()).isPositive();
        assertThat(f.openFds()).isGreaterThan(f.regularFiles());
        assertThat(f.regularFiles()).as("the JVM's own modules file at least").isPositive();
        assertThat(ProcessFootprint.heapAfterFullGcKiB(pid)).isPositive();
    }
}
