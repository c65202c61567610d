package io.gnomon.paxos.storage;

/**
 * How far {@link DurableLog#sync()} pushes what the persist calls wrote. Every persist call returns only after
 * its record is in the memory-mapped cycle file, i.e. in the kernel's page cache; the policy decides whether
 * {@code sync()} also forces those pages to the disk. See docs/paxos-log.md for the full argument.
 */
public enum SyncPolicy {
    /**
     * {@code sync()} does nothing. Survives {@code kill -9} (and any other death of the JVM) because the page
     * cache belongs to the kernel; does NOT survive power loss, a kernel panic or a hypervisor crash: whatever
     * the kernel had not yet written back (up to ~30 s by default) is lost.
     */
    NONE,
    /**
     * {@code sync()} calls {@code msync(MS_SYNC)} over every byte written since the last sync, through the mapping of
     * each Chronicle chunk those bytes span (Chronicle's own {@code appender.sync()} covers only the last chunk: issue
     * 19, docs/paxos-log.md). The runtime calls it once per core output, after all
     * of that output's persist calls and before its messages leave: group commit. Survives {@code kill -9} and
     * power loss for the record bytes. msync does not fsync the directory or re-sync the cycle file's header and
     * index pages; the log adds an fsync of the cycle file and of the directory whenever it starts a new cycle
     * file (first sync after open, after a compaction) and around deleting old ones, so the file and its name
     * are on disk before anything depends on them. What remains unforced is Chronicle's header/index bookkeeping
     * updated later within a file, which recovery does not need: it reads documents sequentially from the start.
     */
    SYNC_EACH_BATCH
}
