package io.gnomon.paxos.store;

/**
 * One bounded piece of a group's state, as {@link GroupStore#snapshotChunks} streams it from one consistent
 * engine snapshot and {@link SnapshotInstaller#add} takes it. Every chunk of a stream carries the same
 * {@code appliedIndex} and {@code gcWatermark}; {@code sequence} counts from 0; the last one says so.
 *
 * @param sourceGroupId the group the chunks were read from (an installer may install them under another id)
 * @param appliedIndex  the applied index the snapshot covers exactly
 * @param gcWatermark   the source's GC watermark: versions below it are absent, so the receiver adopts it
 * @param sequence      0, 1, 2, ... within the stream
 * @param last          true on the stream's final chunk
 * @param payload       entries {@code [int keyLength][key][int valueLength][value]}: the engine key with its 8
 *                      group id bytes cut out ({@code 0x02 | escaped key | ~timestamp} for a version, then
 *                      {@code 0x03 | state key} for the group's state rows) and the engine value; at most the
 *                      stream's maxChunkBytes long
 */
public record SnapshotChunk(long sourceGroupId, long appliedIndex, long gcWatermark, int sequence, boolean last,
                            byte[] payload) {
}
