package io.gnomon.paxos.server;

import io.gnomon.paxos.PaxosReplica;
import io.gnomon.txn.TxnHost;

import java.util.function.Consumer;

/**
 * Deliberate bugs that prove the verification harness can see one (docs/reliability.md, "Negative controls";
 * {@code bin/replica --negative-control}): two in the lease, two in the transaction host. Switching a lease bug on
 * requires the class {@value #TEST_ONLY_CLASS}, a transaction bug {@value #TEST_ONLY_TXN_CLASS}; both exist only in
 * txn-coordinator's test classes, so a replica started from the product's classpath refuses. {@link ReplicaMain}
 * resolves a control into plain settings: the two {@link ReplicaServer.Options} carries (a hook run on the
 * recovered core, and whether lease reads check the lease) and a hook the {@code txn} machine's node runs on each
 * group's transaction host ({@code TxnNode#withHostHookForNegativeControl}), so neither the server nor the node has a
 * switch, a lookup or any knowledge of controls.
 */
public enum NegativeControl {
    NONE("none"),
    /** A new leader does not wait out the previous leader's lease (the core's test-only hook). */
    SKIP_LEASE_WAIT("skip-lease-wait"),
    /** A leader answers lease reads without checking that its lease still holds. */
    STALE_LEASE_READS("stale-lease-reads"),
    /**
     * A transaction host answers {@code Committed(s)} without waiting until {@code TT.after(s)} (needs {@code
     * --machine txn}); shows when a server's clock reads fast within its ε.
     */
    SKIP_COMMIT_WAIT("skip-commit-wait"),
    /** Every replica serves snapshot reads at once, whatever its safe time (needs {@code --machine txn}). */
    SKIP_SAFE_TIME("skip-safe-time");

    static final String TEST_ONLY_CLASS = "io.gnomon.paxos.TestOnlyNegativeControl";
    static final String TEST_ONLY_TXN_CLASS = "io.gnomon.txn.TestOnlyTxnNegativeControl";
    /** The hook of every control but the transaction host's: nothing. */
    static final Consumer<TxnHost<?>> NO_TXN_HOOK = host -> { };

    private final String flag;

    NegativeControl(String flag) {
        this.flag = flag;
    }

    /** The control named by {@code --negative-control}'s value; {@code null} is {@link #NONE}. */
    static NegativeControl parse(String flag) {
        if (flag == null) {
            return NONE;
        }
        for (NegativeControl c : values()) {
            if (c != NONE && c.flag.equals(flag)) {
                return c;
            }
        }
        throw new IllegalArgumentException("--negative-control " + flag
                + ": use skip-lease-wait, stale-lease-reads, skip-commit-wait or skip-safe-time");
    }

    /** The command-line spelling. */
    public String flag() {
        return flag;
    }

    /** Whether this control is a transaction host's bug, which only a {@code --machine txn} replica has. */
    boolean needsTxnMachine() {
        return this == SKIP_COMMIT_WAIT || this == SKIP_SAFE_TIME;
    }

    /**
     * What a replica runs with under this control: the hook to run on its recovered core and whether lease reads
     * check the lease. {@link #NONE} gives a hook that does nothing and checked reads, without any lookup.
     *
     * @throws IllegalStateException naming this control when it is not {@link #NONE} and {@value #TEST_ONLY_CLASS}
     *                               is not on the classpath
     */
    Switches switches() {
        return switches(TEST_ONLY_CLASS, TEST_ONLY_TXN_CLASS);
    }

    /** {@link #switches()} with the test-only classes named (a test names ones that do not exist). */
    Switches switches(String testOnlyClass, String testOnlyTxnClass) {
        if (this == NONE) {
            return new Switches(core -> { }, true, NO_TXN_HOOK);
        }
        if (needsTxnMachine()) {
            return new Switches(core -> { }, true, txnHostSwitch(this, testOnlyTxnClass));
        }
        Consumer<PaxosReplica> leaseSwitch = leaseSwitch(toString(), testOnlyClass);
        return new Switches(this == SKIP_LEASE_WAIT ? leaseSwitch : core -> { }, this != STALE_LEASE_READS,
                NO_TXN_HOOK);
    }

    /**
     * The settings a control comes down to.
     *
     * @param coreHook            run once on the recovered core before the replica serves
     * @param leaseChecksOnReads  false only under {@link #STALE_LEASE_READS}
     * @param txnHostHook         run on each group's transaction host as it starts ({@link #NO_TXN_HOOK} but under
     *                            {@link #SKIP_COMMIT_WAIT} and {@link #SKIP_SAFE_TIME})
     */
    record Switches(Consumer<PaxosReplica> coreHook, boolean leaseChecksOnReads, Consumer<TxnHost<?>> txnHostHook) {
    }

    /**
     * The test-only switch of a transaction host's control ({@link #SKIP_COMMIT_WAIT}, {@link #SKIP_SAFE_TIME}):
     * {@value #TEST_ONLY_TXN_CLASS}'s, looked up by name because it exists only in txn-coordinator's test classes
     * (the simulated transactional run's controls use it too). Throws IllegalStateException, naming the control,
     * when it is not on this classpath.
     */
    public static Consumer<TxnHost<?>> testOnlyTxnHostSwitch(NegativeControl control) {
        return txnHostSwitch(control, TEST_ONLY_TXN_CLASS);
    }

    @SuppressWarnings("unchecked")
    private static Consumer<TxnHost<?>> txnHostSwitch(NegativeControl control, String testOnlyClass) {
        if (!control.needsTxnMachine()) {
            throw new IllegalArgumentException("negative control " + control.flag + " is not a transaction host's");
        }
        String method = control == SKIP_COMMIT_WAIT ? "skipCommitWait" : "skipSafeTime";
        try {
            return (Consumer<TxnHost<?>>) Class.forName(testOnlyClass).getMethod(method).invoke(null);
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new IllegalStateException("negative control " + control + " is test-only: "
                    + testOnlyClass + " is not on this classpath (it lives in txn-coordinator's test classes)");
        }
    }

    /**
     * The test-only switch that makes a core skip waiting out the previous leader's lease: {@value
     * #TEST_ONLY_CLASS}, loaded by name because it exists only in txn-coordinator's test classes (the simulated
     * harness's negative control uses it too). Throws IllegalStateException, naming {@code control}, when it is
     * not on this classpath.
     */
    public static Consumer<PaxosReplica> testOnlyLeaseSwitch(String control) {
        return leaseSwitch(control, TEST_ONLY_CLASS);
    }

    @SuppressWarnings("unchecked")
    private static Consumer<PaxosReplica> leaseSwitch(String control, String testOnlyClass) {
        try {
            return (Consumer<PaxosReplica>) Class.forName(testOnlyClass).getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new IllegalStateException("negative control " + control + " is test-only: "
                    + testOnlyClass + " is not on this classpath (it lives in txn-coordinator's test classes)");
        }
    }
}
