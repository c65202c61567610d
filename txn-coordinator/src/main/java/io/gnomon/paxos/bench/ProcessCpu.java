package io.gnomon.paxos.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * CPU time (user + system) consumed by processes, for a benchmark's CPU per operation: a figure that other load on
 * a shared machine moves far less than throughput. Other processes' pids are read from {@code /proc/PID/stat}
 * (Linux; clock ticks of 10 ms); this JVM's from its {@code OperatingSystemMXBean} (nanoseconds).
 */
final class ProcessCpu {
    /** {@code sysconf(_SC_CLK_TCK)}: the unit of utime and stime in /proc, 100 on every Linux the JDK runs on. */
    private static final long NANOS_PER_TICK = 10_000_000L;

    private ProcessCpu() {
    }

    /**
     * The CPU nanoseconds the processes {@code pids} have used so far, summed; -1 if any cannot be read (gone,
     * or no /proc), so a figure never silently leaves a process out.
     */
    static long cpuNanos(List<Long> pids) {
        long sum = 0;
        for (long pid : pids) {
            long n = cpuNanos(pid);
            if (n < 0) {
                return -1;
            }
            sum += n;
        }
        return sum;
    }

    /** One process's CPU nanoseconds (utime + stime, fields 14 and 15 of /proc/PID/stat), or -1. */
    static long cpuNanos(long pid) {
        String stat;
        try {
            stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        // f[0] is field 3 (state), so field n is f[n - 3].
        return (Long.parseLong(f[14 - 3]) + Long.parseLong(f[15 - 3])) * NANOS_PER_TICK;
    }

    /** This JVM's CPU nanoseconds so far (every thread), or -1 if the JVM does not say. */
    static long selfCpuNanos() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return -1;
    }
}
