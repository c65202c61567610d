package io.gnomon.paxos.storage;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Platform;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * How many of a file's pages in a byte range are dirty in the kernel's page cache, from Linux's {@code cachestat(2)}
 * (Linux 6.5+; https://man7.org/linux/man-pages/man2/cachestat.2.html). A page written through a shared mapping is
 * marked dirty in the page cache at its first write, and an {@code msync(MS_SYNC)} or {@code fsync} that covers it
 * writes it back and marks it clean; so "dirty after {@code sync()} returned" means "not forced by that sync".
 * Read through JNA, which Chronicle already brings (net.java.dev.jna:jna via net.openhft:affinity).
 */
final class PageCacheStat {

    /** {@code __NR_cachestat}: 451 in the generic syscall table, x86_64 and aarch64 alike. */
    private static final long NR_CACHESTAT = 451;
    private static final int O_RDONLY = 0;

    private interface LibC extends Library {
        int open(String path, int flags);

        int close(int fd);

        long syscall(long number, Object... args);
    }

    private static final LibC LIBC = Platform.isLinux() ? Native.load("c", LibC.class) : null;

    /** One {@code struct cachestat}, in pages. */
    record Stat(long cachedPages, long dirtyPages, long writebackPages) {
    }

    private PageCacheStat() {
    }

    /**
     * Why this system cannot answer {@code cachestat} for files in {@code dir} (not Linux, a kernel before 6.5, a
     * file system without a page cache of its own such as tmpfs), or null if it can.
     */
    static String unavailableReason(Path dir) {
        if (LIBC == null) {
            return "not Linux";
        }
        try {
            Path probe = dir.resolve("cachestat.probe");
            // Written through an open channel, not Files.write: ext4 starts writeback at the close of a file that was
            // truncated and rewritten (auto_da_alloc), which would clean the page before we look.
            try (FileChannel ch = FileChannel.open(probe, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(new byte[4096]), 0);
                Stat written = of(probe, 0, 4096);
                ch.force(false);
                Stat forced = of(probe, 0, 4096);
                if (written.dirtyPages() != 1 || forced.dirtyPages() != 0) {
                    return "a written page should be dirty, and clean after fdatasync; was " + written + ", then "
                            + forced;
                }
                return null;
            } finally {
                Files.deleteIfExists(probe);
            }
        } catch (IOException | RuntimeException | UnsatisfiedLinkError e) {
            return "cachestat(2) failed: " + e;
        }
    }

    /** The page-cache state of the pages of {@code file} that hold any byte of [fromByte, toByte). */
    static Stat of(Path file, long fromByte, long toByte) throws IOException {
        if (fromByte < 0 || toByte <= fromByte) {
            throw new IllegalArgumentException("byte range [" + fromByte + ", " + toByte + ") is empty or negative");
        }
        int fd = LIBC.open(file.toString(), O_RDONLY);
        if (fd < 0) {
            throw new IOException("open(" + file + ") failed, errno " + Native.getLastError());
        }
        try (Memory range = new Memory(16); Memory stat = new Memory(40)) {
            range.setLong(0, fromByte);            // struct cachestat_range { __u64 off; __u64 len; }
            range.setLong(8, toByte - fromByte);   // the kernel widens it to whole pages
            stat.clear();
            long rc = LIBC.syscall(NR_CACHESTAT, (long) fd, range, stat, 0L);
            if (rc != 0) {
                throw new IOException("cachestat(" + file + ") failed, errno " + Native.getLastError());
            }
            // struct cachestat { __u64 nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted; }
            return new Stat(stat.getLong(0), stat.getLong(8), stat.getLong(16));
        } finally {
            LIBC.close(fd);
        }
    }
}
