package io.gnomon.txn;

import java.util.function.Consumer;

/**
 * The key to the transaction host's negative controls (docs/reliability.md, "Negative controls"): it exists only in
 * txn-coordinator's test classes (and the test jar), so nothing started from the product's classpath can switch a
 * deliberate bug on. Reaches {@link TxnHost}'s package-private switches; the simulated transactional run
 * ({@code SimulatedTxnRun}) must catch each.
 */
public final class TestOnlyTxnNegativeControl {
    // One instance each, so a test can tell which switch a control resolved to.
    private static final Consumer<TxnHost<?>> SKIP_COMMIT_WAIT = h -> h.skipCommitWaitForNegativeControl = true;
    private static final Consumer<TxnHost<?>> SKIP_SAFE_TIME = h -> h.skipSafeTimeForNegativeControl = true;

    private TestOnlyTxnNegativeControl() {
    }

    /** Commit-wait switched off: a leader answers {@code Committed(s)} without waiting until {@code TT.after(s)}. */
    public static Consumer<TxnHost<?>> skipCommitWait() {
        return SKIP_COMMIT_WAIT;
    }

    /** Replicas, followers included, serve snapshot reads at once, without waiting for safe time to reach them. */
    public static Consumer<TxnHost<?>> skipSafeTime() {
        return SKIP_SAFE_TIME;
    }
}
