package io.gnomon.truetime.shm;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A segment laid out byte by byte from docs/shm-segment.md, with the offsets written as numbers here on
 * purpose (not SegmentLayout's constants), so a change of the code that the document does not follow fails.
 */
final class RawSegment {
    static final int SIZE = 128;

    final ByteBuffer bytes = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);

    RawSegment() {
        bytes.put(0, (byte) 'G').put(1, (byte) 'N').put(2, (byte) 'M').put(3, (byte) 'N');
        bytes.putShort(4, (short) 1);      // version
        bytes.putShort(6, (short) SIZE);   // size
    }

    RawSegment magic(int magic) {
        bytes.putInt(0, magic);
        return this;
    }

    RawSegment version(int version) {
        bytes.putShort(4, (short) version);
        return this;
    }

    RawSegment sequence(long seq) {
        bytes.putLong(8, seq);
        return this;
    }

    /** Fills every snapshot field and an even sequence, as one finished publication would. */
    RawSegment snapshot(long seq, long asOfMonotonic, long epochOffset, long bound, long voidAfterMonotonic,
                        long maxDriftPpb, int statusCode) {
        bytes.putLong(8, seq);
        bytes.putLong(16, asOfMonotonic);
        bytes.putLong(24, epochOffset);
        bytes.putLong(32, bound);
        bytes.putLong(40, voidAfterMonotonic);
        bytes.putLong(48, maxDriftPpb);
        bytes.putInt(56, statusCode);
        bytes.putInt(60, 4242); // writer pid
        return this;
    }

    Path writeTo(Path path) throws IOException {
        return writeTo(path, SIZE);
    }

    /** Writes the first {@code length} bytes only (a short file when below {@link #SIZE}). */
    Path writeTo(Path path, int length) throws IOException {
        byte[] out = new byte[length];
        System.arraycopy(bytes.array(), 0, out, 0, Math.min(length, SIZE));
        Files.write(path, out);
        return path;
    }

    /** Maps an existing segment read-write, as a writer in another process (or one killed mid-write) would. */
    static MappedByteBuffer mapReadWrite(Path path) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            return (MappedByteBuffer) ch.map(FileChannel.MapMode.READ_WRITE, 0, SIZE).order(ByteOrder.LITTLE_ENDIAN);
        }
    }
}
