package io.gnomon.paxos.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * What a running process holds, read from outside it (Linux {@code /proc} and {@code jcmd}), for
 * {@link IdleGroupsMain}: threads and resident memory ({@code /proc/PID/status} {@code Threads}, {@code VmRSS}),
 * open file descriptors ({@code /proc/PID/fd}) and how many of them are regular files (a descriptor whose link
 * resolves to a regular file: a log, a jar; not a socket, pipe, epoll or eventfd), and the Java heap in use after
 * a full collection ({@code jcmd PID GC.run}, then the {@code used} of every generation in
 * {@code jcmd PID GC.heap_info}, which is what survives: the live heap).
 */
record ProcessFootprint(int threads, long rssKiB, int openFds, int regularFiles) {
    private static final Pattern STATUS_FIELD = Pattern.compile("(?m)^(\\w+):\\s+(\\d+)");
    /** A generation or a whole heap in {@code GC.heap_info}: {@code def new generation   total 9216K, used 1234K}. */
    private static final Pattern HEAP_USED = Pattern.compile("total \\d+K, used (\\d+)K");

    /** Reads {@code pid}'s footprint; IOException if the process is gone or /proc cannot be read. */
    static ProcessFootprint of(long pid) throws IOException {
        Path proc = Path.of("/proc", Long.toString(pid));
        String status = String.join("\n", Files.readAllLines(proc.resolve("status")));
        int fds = 0;
        int files = 0;
        try (Stream<Path> entries = Files.list(proc.resolve("fd"))) {
            for (Path fd : entries.toList()) {
                fds++;
                // Follows the link: a socket's "socket:[123]" resolves to nothing, so only real files count.
                if (Files.isRegularFile(fd)) {
                    files++;
                }
            }
        }
        return new ProcessFootprint((int) statusField(status, "Threads"), statusField(status, "VmRSS"), fds, files);
    }

    /** A numeric field of {@code /proc/PID/status} (kB for sizes), or -1 if absent. */
    static long statusField(String status, String name) {
        Matcher m = STATUS_FIELD.matcher(status);
        while (m.find()) {
            if (m.group(1).equals(name)) {
                return Long.parseLong(m.group(2));
            }
        }
        return -1;
    }

    /**
     * The heap in use, KiB, summed over the generations (or regions heap) that {@code GC.heap_info} lists; -1 if
     * the text has none. Metaspace lines have no {@code total}, so they are not counted.
     */
    static long heapUsedKiB(String heapInfo) {
        Matcher m = HEAP_USED.matcher(heapInfo);
        long sum = 0;
        boolean any = false;
        while (m.find()) {
            sum += Long.parseLong(m.group(1));
            any = true;
        }
        return any ? sum : -1;
    }

    /**
     * Runs a full collection in {@code pid} and returns the heap still in use, KiB, through the JDK's {@code jcmd}
     * (the JVM's attach mechanism: same user, same /tmp).
     */
    static long heapAfterFullGcKiB(long pid) throws IOException, InterruptedException {
        jcmd(pid, "GC.run");
        String info = jcmd(pid, "GC.heap_info");
        long used = heapUsedKiB(info);
        if (used < 0) {
            throw new IOException("jcmd " + pid + " GC.heap_info: no 'total ...K, used ...K' line in:\n" + info);
        }
        return used;
    }

    private static String jcmd(long pid, String command) throws IOException, InterruptedException {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        if (!Files.isExecutable(jcmd)) {
            throw new IOException(jcmd + " not found: the heap figure needs a JDK's jcmd, not a JRE");
        }
        Process p = new ProcessBuilder(List.of(jcmd.toString(), Long.toString(pid), command))
                .redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("jcmd " + pid + " " + command + " did not finish within 60 s");
        }
        String text = new String(out, java.nio.charset.StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new IOException("jcmd " + pid + " " + command + " exited " + p.exitValue() + ": " + text.strip());
        }
        return text;
    }
}
