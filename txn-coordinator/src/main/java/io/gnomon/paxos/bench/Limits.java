package io.gnomon.paxos.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The operating system's limits that many groups per process can reach, as a process started from here inherits
 * them, and which one a replica's log says it hit: one Chronicle log per group today holds files and memory maps
 * per group, and every thread counts against the user's process limit.
 */
final class Limits {
    private Limits() {
    }

    /** One line: open files (soft limit), user processes/threads, memory maps, the kernel's thread limit. */
    static String describe() {
        return String.format(Locale.ROOT, "open files (ulimit -n) %s, processes/threads (ulimit -u) %s, "
                        + "vm.max_map_count %s, kernel.threads-max %s",
                softLimit("Max open files"), softLimit("Max processes"), sysctl("vm/max_map_count"),
                sysctl("kernel/threads-max"));
    }

    /**
     * The limit a replica's log points at, as a sentence with the current value and how to raise it, or null when
     * the log names none.
     */
    static String diagnose(String log) {
        if (log.contains("Too many open files")) {
            return "A process ran out of file descriptors (\"Too many open files\"): the open-files limit (ulimit -n, "
                    + "RLIMIT_NOFILE) is " + softLimit("Max open files") + "; raise it (ulimit -n 65536) or run fewer groups.";
        }
        if (log.contains("Map failed") || log.contains("map failed") || log.contains("max_map_count")) {
            return "A process could not map more memory (\"Map failed\"): memory maps per process are limited by "
                    + "vm.max_map_count, " + sysctl("vm/max_map_count") + " (sysctl -w vm.max_map_count=262144).";
        }
        if (log.contains("unable to create native thread") || log.contains("unable to create new native thread")) {
            return "A process could not start a thread: threads count against ulimit -u, " + softLimit("Max processes")
                    + ", and kernel.threads-max, " + sysctl("kernel/threads-max") + " (or the process's memory).";
        }
        if (log.contains("OutOfMemoryError")) {
            return "A process ran out of Java heap (OutOfMemoryError): the replicas run with -Xmx256m "
                    + "(ReplicaProcesses).";
        }
        return null;
    }

    /** The soft value of a line of /proc/self/limits, e.g. "Max open files", or "unknown". */
    static String softLimit(String name) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
                if (line.startsWith(name)) {
                    return line.substring(name.length()).trim().split("\\s+")[0];
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: say so below
        }
        return "unknown";
    }

    private static String sysctl(String path) {
        try {
            // Not readString: it trusts the size /proc reports (0) and returned one character of "65530" here.
            return String.join(" ", Files.readAllLines(Path.of("/proc/sys", path))).trim();
        } catch (IOException e) {
            return "unknown";
        }
    }
}
