package io.gnomon.paxos.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One writer per log directory: an OS lock ({@code FileChannel.tryLock}) on a file in the directory, holding this
 * process's id so that a refused opener can name the holder. The OS releases it when the channel closes or the
 * process dies (kill -9 included). Shared by {@link ChronicleDurableLog} and the process's write-ahead log.
 */
public final class DirectoryLock {
    private DirectoryLock() {
    }

    /**
     * Takes the lock on {@code dir/fileName} and writes {@code pid N} into it; the returned channel holds the lock
     * until closed. Fails naming the holder when another process (or this one, by a second open without a close)
     * holds it.
     *
     * @param what how messages name the directory ("paxos log directory", "process log")
     */
    public static FileChannel acquire(Path dir, String fileName, String what) throws IOException {
        Path lockFile = dir.resolve(fileName);
        FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;
        } catch (IOException e) {
            channel.close();
            throw new IOException("cannot lock " + what + " " + dir + " (" + lockFile + "): " + e.getMessage(), e);
        }
        if (lock == null) {
            String holder;
            try {
                holder = Files.readString(lockFile).trim();
            } catch (IOException e) {
                holder = "";
            }
            channel.close();
            throw new IOException(what + " " + dir + " is in use by another writer"
                    + (holder.isEmpty() ? "" : " (" + holder + ")") + ": one process may write a log; stop it or "
                    + "use another directory");
        }
        channel.truncate(0);
        channel.write(ByteBuffer.wrap(("pid " + ProcessHandle.current().pid()).getBytes(StandardCharsets.US_ASCII)),
                0);
        return channel;
    }
}
