package io.gnomon.clockd.publish;

import java.io.IOException;

/** A sink backed by a segment file, which fault injection can take away and bring back (a daemon restart). */
public interface SegmentFile {
    /** Stops writing and deletes the file; readers that mapped it keep a frozen snapshot until its void-after. */
    void remove() throws IOException;

    /** Creates the file again (a new one: readers of the old file must open it again) and resumes writing. */
    void recreate() throws IOException;
}
