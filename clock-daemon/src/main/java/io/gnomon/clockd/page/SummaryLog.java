package io.gnomon.clockd.page;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * An append-only log of keyed records in two segment files that take turns ({@code NAME.0}, {@code NAME.1}),
 * so its size stays bounded without rewriting: when the active segment's keys span {@code spanKeys}, or it
 * holds {@code maxRecordsPerSegment} records, the other segment is emptied and becomes the active one. The
 * two together always hold the newest {@code spanKeys} of keys (or the newest {@code maxRecordsPerSegment}
 * records), and at most twice that. Keys only grow within a segment.
 *
 * <p>Format (docs/dashboards.md, "Summary files"): a 16-byte header (magic {@code GNPH}, format version,
 * the log's kind: a tier's bucket width in ns, 0 for events) then records framed as
 * {@code int length, int CRC-32C of (key, payload), long key, payload}, big-endian. On open each segment is
 * read up to its first record that is short or fails its CRC (a write torn by a crash) and cut there;
 * a segment with another header is emptied. Appends are not forced to disk: like the journal they survive
 * the death of the process (the page cache keeps them), not a power cut.
 */
final class SummaryLog implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SummaryLog.class);

    static final int MAGIC = 0x474e5048; // "GNPH"
    static final int VERSION = 1;
    static final int HEADER_BYTES = 16;
    static final int FRAME_BYTES = 16;
    /** A record larger than this is taken for garbage (a bucket of 200 sources is about 20 KB). */
    static final int MAX_RECORD_BYTES = 1 << 20;

    /** One record as read back. */
    record Record(long key, byte[] payload) {
    }

    private final Path[] paths;
    private final FileChannel[] channels;
    private final long kind;
    private final long spanKeys;
    private final int maxRecordsPerSegment;
    private int active;
    private long activeFirstKey;
    private int activeRecords;

    private SummaryLog(Path[] paths, FileChannel[] channels, long kind, long spanKeys, int maxRecordsPerSegment) {
        this.paths = paths;
        this.channels = channels;
        this.kind = kind;
        this.spanKeys = spanKeys;
        this.maxRecordsPerSegment = maxRecordsPerSegment;
    }

    /**
     * Opens (creating if needed) the log {@code name} in {@code dir}, adding what it holds, oldest first, to
     * {@code into}, and cutting any torn tail.
     */
    static SummaryLog open(Path dir, String name, long kind, long spanKeys, int maxRecordsPerSegment,
                           List<Record> into) throws IOException {
        if (spanKeys < 1 || maxRecordsPerSegment < 1) {
            throw new IllegalArgumentException("summary log " + name + ": spanKeys " + spanKeys
                    + " and maxRecordsPerSegment " + maxRecordsPerSegment + " must be positive");
        }
        Files.createDirectories(dir);
        Path[] paths = {dir.resolve(name + ".0"), dir.resolve(name + ".1")};
        FileChannel[] channels = new FileChannel[2];
        List<List<Record>> read = new ArrayList<>();
        try {
            for (int i = 0; i < 2; i++) {
                channels[i] = FileChannel.open(paths[i], StandardOpenOption.CREATE, StandardOpenOption.READ,
                        StandardOpenOption.WRITE);
                read.add(readSegment(paths[i], channels[i], kind));
            }
        } catch (IOException | RuntimeException e) {
            for (FileChannel c : channels) {
                if (c != null) {
                    c.close();
                }
            }
            throw e;
        }
        SummaryLog l = new SummaryLog(paths, channels, kind, spanKeys, maxRecordsPerSegment);
        // the active segment is the one with the newer first key; an empty one is the next to fill
        List<Record> r0 = read.get(0);
        List<Record> r1 = read.get(1);
        l.active = r1.isEmpty() ? 0 : r0.isEmpty() ? 1 : r0.get(0).key() > r1.get(0).key() ? 0 : 1;
        into.addAll(read.get(1 - l.active));
        into.addAll(read.get(l.active));
        List<Record> act = read.get(l.active);
        l.activeRecords = act.size();
        l.activeFirstKey = act.isEmpty() ? Long.MIN_VALUE : act.get(0).key();
        return l;
    }

    private static List<Record> readSegment(Path path, FileChannel ch, long kind) throws IOException {
        List<Record> records = new ArrayList<>();
        long size = ch.size();
        ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES);
        if (size < HEADER_BYTES || readFully(ch, header, 0) < HEADER_BYTES
                || header.getInt(0) != MAGIC || header.getInt(4) != VERSION || header.getLong(8) != kind) {
            if (size > 0) {
                log.warn("page summaries: {} has no header for kind {} (format {}): starting it afresh", path, kind, VERSION);
            }
            reset(ch, kind);
            return records;
        }
        long at = HEADER_BYTES;
        ByteBuffer frame = ByteBuffer.allocate(FRAME_BYTES);
        CRC32C crc = new CRC32C();
        while (at < size) {
            frame.clear();
            if (size - at < FRAME_BYTES || readFully(ch, frame, at) < FRAME_BYTES) {
                break;
            }
            int length = frame.getInt(0);
            int expected = frame.getInt(4);
            long key = frame.getLong(8);
            if (length < 0 || length > MAX_RECORD_BYTES || size - at - FRAME_BYTES < length) {
                break;
            }
            ByteBuffer payload = ByteBuffer.allocate(length);
            if (readFully(ch, payload, at + FRAME_BYTES) < length) {
                break;
            }
            crc.reset();
            crc.update(frame.array(), 8, 8);
            crc.update(payload.array(), 0, length);
            if ((int) crc.getValue() != expected) {
                break;
            }
            records.add(new Record(key, payload.array()));
            at += FRAME_BYTES + length;
        }
        if (at < size) {
            log.warn("page summaries: {}: cutting {} bytes after the last whole record (a write torn by a crash)",
                    path, size - at);
            ch.truncate(at);
        }
        ch.position(at);
        return records;
    }

    private static int readFully(FileChannel ch, ByteBuffer b, long at) throws IOException {
        int n = 0;
        while (b.hasRemaining()) {
            int r = ch.read(b, at + n);
            if (r < 0) {
                break;
            }
            n += r;
        }
        return n;
    }

    private static void reset(FileChannel ch, long kind) throws IOException {
        ch.truncate(0);
        ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES).putInt(MAGIC).putInt(VERSION).putLong(kind).flip();
        while (header.hasRemaining()) {
            ch.write(header, header.position());
        }
        ch.position(HEADER_BYTES);
    }

    /**
     * Appends one record. Keys should not go back (an event's key is its realtime, which may step back a
     * little: such a record stays with the segment's newer ones, and the span is measured from its first key).
     */
    void append(long key, byte[] payload) throws IOException {
        if (payload.length > MAX_RECORD_BYTES) {
            throw new IllegalArgumentException("summary record of " + payload.length + " bytes; at most " + MAX_RECORD_BYTES);
        }
        if (activeRecords > 0 && (key - activeFirstKey >= spanKeys || activeRecords >= maxRecordsPerSegment)) {
            active = 1 - active; // the other segment's records are all older than the span: let them go
            reset(channels[active], kind);
            activeRecords = 0;
        }
        if (activeRecords == 0) {
            activeFirstKey = key;
        }
        ByteBuffer b = ByteBuffer.allocate(FRAME_BYTES + payload.length);
        b.putInt(payload.length).putInt(0).putLong(key).put(payload);
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 8, 8 + payload.length);
        b.putInt(4, (int) crc.getValue());
        b.flip();
        FileChannel ch = channels[active];
        while (b.hasRemaining()) {
            ch.write(b);
        }
        activeRecords++;
    }

    /** Bytes in both segments. */
    long sizeBytes() throws IOException {
        return channels[0].size() + channels[1].size();
    }

    Path[] paths() {
        return paths.clone();
    }

    @Override
    public void close() throws IOException {
        try {
            channels[0].close();
        } finally {
            channels[1].close();
        }
    }
}
