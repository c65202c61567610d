package io.gnomon.truetime.clockbound;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A ClockBound v2 segment laid out byte by byte from the protocol document (ClockBound's docs/PROTOCOL.md),
 * with its offsets written here as numbers on purpose, not ClockBoundLayout's constants: a change of the
 * code that the document does not allow fails the tests.
 */
final class RawClockBoundSegment {
    static final int SIZE = 80;

    final ByteBuffer bytes = ByteBuffer.allocate(SIZE).order(ByteOrder.nativeOrder());

    RawClockBoundSegment() {
        bytes.putInt(0, 0x414D5A4E);        // magic, first word  (protocol: 0x41 0x4D 0x5A 0x4E)
        bytes.putInt(4, 0x43420200);        // magic, second word (protocol: 0x43 0x42 0x02 0x00)
        bytes.putInt(8, SIZE);              // segment size, u32
        bytes.putShort(12, (short) 2);      // version, u16
        bytes.putShort(14, (short) 0);      // generation, u16: 0 = never written
    }

    RawClockBoundSegment magic(int word0, int word1) {
        bytes.putInt(0, word0);
        bytes.putInt(4, word1);
        return this;
    }

    RawClockBoundSegment version(int version) {
        bytes.putShort(12, (short) version);
        return this;
    }

    RawClockBoundSegment generation(int generation) {
        bytes.putShort(14, (short) generation);
        return this;
    }

    /** The clock error bound, timestamps as (tv_sec, tv_nsec) of CLOCK_MONOTONIC_COARSE. */
    RawClockBoundSegment bound(long asOfSec, long asOfNsec, long voidAfterSec, long voidAfterNsec, long boundNs,
                               long disruptionMarker, int maxDriftPpb, int clockStatus, boolean disruptionSupport) {
        bytes.putLong(16, asOfSec);
        bytes.putLong(24, asOfNsec);
        bytes.putLong(32, voidAfterSec);
        bytes.putLong(40, voidAfterNsec);
        bytes.putLong(48, boundNs);
        bytes.putLong(56, disruptionMarker);
        bytes.putInt(64, maxDriftPpb);
        bytes.putInt(68, clockStatus);
        bytes.put(72, (byte) (disruptionSupport ? 1 : 0));
        // 73..79: padding, zero
        return this;
    }

    byte[] array() {
        return bytes.array().clone();
    }

    Path writeTo(Path path) throws IOException {
        Files.write(path, bytes.array());
        return path;
    }
}
