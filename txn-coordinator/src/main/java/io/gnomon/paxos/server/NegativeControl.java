package io.gnomon.paxos.server;

import io.gnomon.paxos.PaxosReplica;

import java.util.function.Consumer;

/**
 * Deliberate lease bugs that prove the verification harness can see one (docs/reliability.md, "Negative
 * controls"; {@code bin/replica --negative-control}). Switching one on requires the class {@value
 * #TEST_ONLY_CLASS}, which exists only in txn-coordinator's test classes: a replica started from the product's
 * classpath refuses. {@link ReplicaMain} resolves a control into the two plain settings {@link
 * ReplicaServer.Options} carries (a hook run on the recovered core, and whether lease reads check the lease), so
 * the server itself has no switch, no lookup and no knowledge of controls.
 */
public enum NegativeControl {
    NONE("none"),
    /** A new leader does not wait out the previous leader's lease (the core's test-only hook). */
    SKIP_LEASE_WAIT("skip-lease-wait"),
    /** A leader answers lease reads without checking that its lease still holds. */
    STALE_LEASE_READS("stale-lease-reads");

    static final String TEST_ONLY_CLASS = "io.gnomon.paxos.TestOnlyNegativeControl";

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
        throw new IllegalArgumentException("--negative-control " + flag + ": use skip-lease-wait or stale-lease-reads");
    }

    /**
     * What a replica runs with under this control: the hook to run on its recovered core and whether lease reads
     * check the lease. {@link #NONE} gives a hook that does nothing and checked reads, without any lookup.
     *
     * @throws IllegalStateException naming this control when it is not {@link #NONE} and {@value #TEST_ONLY_CLASS}
     *                               is not on the classpath
     */
    Switches switches() {
        return switches(TEST_ONLY_CLASS);
    }

    /** {@link #switches()} with the test-only class named (a test names one that does not exist). */
    Switches switches(String testOnlyClass) {
        if (this == NONE) {
            return new Switches(core -> { }, true);
        }
        Consumer<PaxosReplica> leaseSwitch = leaseSwitch(toString(), testOnlyClass);
        return new Switches(this == SKIP_LEASE_WAIT ? leaseSwitch : core -> { }, this != STALE_LEASE_READS);
    }

    /**
     * The two settings a control comes down to.
     *
     * @param coreHook            run once on the recovered core before the replica serves
     * @param leaseChecksOnReads  false only under {@link #STALE_LEASE_READS}
     */
    record Switches(Consumer<PaxosReplica> coreHook, boolean leaseChecksOnReads) {
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
