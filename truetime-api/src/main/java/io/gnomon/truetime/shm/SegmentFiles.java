package io.gnomon.truetime.shm;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * File handling shared by the segment writers and readers (Gnomon's and ClockBound's): a new segment appears
 * whole or not at all, and a reader maps exactly the bytes it reads. Not an API for applications.
 */
public final class SegmentFiles {
    private SegmentFiles() {
    }

    /**
     * Writes {@code header} to a sibling {@code <path>.init-<pid>} and renames it over {@code path} (atomic
     * within one directory), creating the parent directory if needed: a reader never maps a half-written header.
     */
    public static void createAtomically(Path path, ByteBuffer header) throws IOException {
        Path parent = path.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Path aside = path.resolveSibling(path.getFileName() + ".init-" + ProcessHandle.current().pid());
        try (FileChannel ch = FileChannel.open(aside, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(header, 0);
        }
        try {
            Files.move(aside, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(aside, path, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Maps the first {@code size} bytes of an existing segment for writing. */
    public static MappedByteBuffer mapReadWrite(Path path, int size) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            return ch.map(FileChannel.MapMode.READ_WRITE, 0, size);
        }
    }

    /**
     * Maps the first {@code size} bytes read-only.
     *
     * @param kind      what the segment is, for messages ("TrueTime", "ClockBound")
     * @param whoWrites what should have created it, for the missing-file message
     * @throws IOException if the file is missing or shorter than {@code size}
     */
    public static MappedByteBuffer mapReadOnly(Path path, int size, String kind, String whoWrites) throws IOException {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            long actual = channel.size();
            if (actual < size) {
                throw new IOException(path + ": segment is " + actual + " bytes, expected at least " + size
                        + " (not a " + kind + " segment, or not yet initialised)");
            }
            return channel.map(FileChannel.MapMode.READ_ONLY, 0, size);
        } catch (NoSuchFileException e) {
            throw new IOException(path + ": no " + kind + " segment (is " + whoWrites + " running, and is this its "
                    + "segment path?)", e);
        }
    }

    /** The first {@code length} bytes of the file, for checking a header before reuse. */
    public static ByteBuffer readHeader(Path path, int length) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(length);
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            ch.read(header, 0);
        }
        return header;
    }
}
