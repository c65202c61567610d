package io.gnomon.paxos;

/**
 * Every bound of the Paxos core in one place (STYLE.md rule 17). Sizes in bytes, counts in entries.
 *
 * @param maxValueBytes          largest value {@code propose} accepts
 * @param maxBatchEntries        most entries in one Accept message
 * @param maxBatchBytes          most value bytes in one Accept message
 * @param maxInflightEntries     most entries appended but not yet decided (the pipeline depth)
 * @param maxPendingProposals    most proposals queued at the leader waiting for pipeline room
 * @param maxEntriesPerMessage   most entries any received message may carry (Promise, AcceptSync included)
 */
public record PaxosLimits(int maxValueBytes, int maxBatchEntries, int maxBatchBytes, int maxInflightEntries,
                          int maxPendingProposals, int maxEntriesPerMessage) {

    public static final PaxosLimits DEFAULTS = new PaxosLimits(1 << 20, 256, 4 << 20, 4096, 65_536, 1 << 20);

    public PaxosLimits {
        require("maxValueBytes", maxValueBytes);
        require("maxBatchEntries", maxBatchEntries);
        require("maxBatchBytes", maxBatchBytes);
        require("maxInflightEntries", maxInflightEntries);
        require("maxPendingProposals", maxPendingProposals);
        require("maxEntriesPerMessage", maxEntriesPerMessage);
        if (maxBatchBytes < maxValueBytes) {
            throw new IllegalArgumentException("maxBatchBytes " + maxBatchBytes
                    + " must be >= maxValueBytes " + maxValueBytes + " so that every value fits a batch");
        }
    }

    private static void require(String name, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + " must be >= 1, was " + value);
        }
    }
}
