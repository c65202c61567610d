package io.gnomon.clockd.publish;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The writer of a segment file, which fault injection can take away and bring back (a daemon restart).
 *
 * @param <W> the writer type
 */
final class SegmentFile<W> {
    interface Opener<W> {
        W open(Path path) throws IOException;
    }

    interface Closer<W> {
        void close(W writer);
    }

    private final Path path;
    private final Opener<W> opener;
    private final Closer<W> closer;
    private volatile W writer;

    SegmentFile(Path path, W writer, Opener<W> opener, Closer<W> closer) {
        this.path = path;
        this.writer = writer;
        this.opener = opener;
        this.closer = closer;
    }

    W writer() {
        return writer;
    }

    /** Stops writing and deletes the file; readers that mapped it keep a frozen snapshot until its void-after. */
    void remove() throws IOException {
        closer.close(writer);
        Files.deleteIfExists(path);
    }

    /** Creates the file again (a new one: readers of the old file must open it again) and resumes writing. */
    void recreate() throws IOException {
        writer = opener.open(path);
    }

    void close() {
        closer.close(writer);
    }

    /** A sink that writes a segment file. */
    interface Owner {
        SegmentFile<?> segmentFile();
    }
}
