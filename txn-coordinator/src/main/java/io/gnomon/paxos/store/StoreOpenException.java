package io.gnomon.paxos.store;

import java.io.IOException;
import java.nio.file.Path;

/** {@link VersionedStore#open} failed; {@link #reason()} says which way, the message what to do next. */
public final class StoreOpenException extends IOException {
    /** Why the store did not open. */
    public enum Reason {
        /** Another process (or this one) has the directory open: RocksDB's LOCK file is held. */
        LOCKED,
        /** The engine found damaged files (MANIFEST, CURRENT, an SST) or a format it does not know. */
        CORRUPT,
        /** Anything else: permissions, a full disk, a path that is a file. */
        OTHER
    }

    private final Reason reason;
    private final Path directory;

    StoreOpenException(Reason reason, Path directory, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
        this.directory = directory;
    }

    public Reason reason() {
        return reason;
    }

    public Path directory() {
        return directory;
    }
}
