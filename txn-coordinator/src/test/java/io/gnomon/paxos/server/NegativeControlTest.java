package io.gnomon.paxos.server;

import io.gnomon.paxos.TestOnlyNegativeControl;
import io.gnomon.txn.TestOnlyTxnNegativeControl;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * How {@code --negative-control} comes down to the two plain settings a replica server takes, and the refusal
 * when the test-only class is absent ({@code ReplicaProcessTest} meets the same refusal from {@code bin/replica}'s
 * product classpath).
 */
class NegativeControlTest {
    @Test
    void theFlagNamesEachControlAndNothingElse() {
        assertThat(NegativeControl.parse(null)).isEqualTo(NegativeControl.NONE);
        assertThat(NegativeControl.parse("skip-lease-wait")).isEqualTo(NegativeControl.SKIP_LEASE_WAIT);
        assertThat(NegativeControl.parse("stale-lease-reads")).isEqualTo(NegativeControl.STALE_LEASE_READS);
        assertThat(NegativeControl.parse("skip-commit-wait")).isEqualTo(NegativeControl.SKIP_COMMIT_WAIT);
        assertThat(NegativeControl.parse("skip-safe-time")).isEqualTo(NegativeControl.SKIP_SAFE_TIME);
        assertThatThrownBy(() -> NegativeControl.parse("none")).hasMessage(
                "--negative-control none: use skip-lease-wait, stale-lease-reads, skip-commit-wait or skip-safe-time");
    }

    @Test
    void noControlNeedsNoTestOnlyClassAndSwitchesNothing() {
        NegativeControl.Switches s = NegativeControl.NONE.switches("io.gnomon.paxos.NoSuchClass",
                "io.gnomon.txn.NoSuchClass");
        assertThat(s.leaseChecksOnReads()).isTrue();
        assertThat(s.txnHostHook()).isSameAs(NegativeControl.NO_TXN_HOOK);
        assertThat(s.coreHook()).isNotInstanceOf(TestOnlyNegativeControl.class);
    }

    @Test
    void onATestClasspathEachControlSwitchesOnlyItsOwnBug() {
        NegativeControl.Switches skip = NegativeControl.SKIP_LEASE_WAIT.switches();
        assertThat(skip.coreHook()).isInstanceOf(TestOnlyNegativeControl.class);
        assertThat(skip.leaseChecksOnReads()).isTrue();
        NegativeControl.Switches stale = NegativeControl.STALE_LEASE_READS.switches();
        assertThat(stale.coreHook()).isNotInstanceOf(TestOnlyNegativeControl.class);
        assertThat(stale.leaseChecksOnReads()).isFalse();
        assertThat(NegativeControl.testOnlyLeaseSwitch("skip-lease-wait")).isInstanceOf(TestOnlyNegativeControl.class);
        assertThat(skip.txnHostHook()).isSameAs(NegativeControl.NO_TXN_HOOK);
        assertThat(stale.txnHostHook()).isSameAs(NegativeControl.NO_TXN_HOOK);
        for (NegativeControl c : List.of(NegativeControl.SKIP_COMMIT_WAIT, NegativeControl.SKIP_SAFE_TIME)) {
            NegativeControl.Switches txn = c.switches();
            assertThat(txn.coreHook()).as(c.flag()).isNotInstanceOf(TestOnlyNegativeControl.class);
            assertThat(txn.leaseChecksOnReads()).as(c.flag()).isTrue();
            assertThat(txn.txnHostHook()).as(c.flag()).isNotSameAs(NegativeControl.NO_TXN_HOOK);
        }
    }

    @Test
    void eachTransactionControlResolvesToItsOwnHostSwitch() {
        assertThat(NegativeControl.SKIP_COMMIT_WAIT.switches().txnHostHook())
                .isSameAs(TestOnlyTxnNegativeControl.skipCommitWait());
        assertThat(NegativeControl.SKIP_SAFE_TIME.switches().txnHostHook())
                .isSameAs(TestOnlyTxnNegativeControl.skipSafeTime());
        assertThat(NegativeControl.testOnlyTxnHostSwitch(NegativeControl.SKIP_SAFE_TIME))
                .isSameAs(TestOnlyTxnNegativeControl.skipSafeTime());
        assertThatThrownBy(() -> NegativeControl.testOnlyTxnHostSwitch(NegativeControl.SKIP_LEASE_WAIT))
                .hasMessage("negative control skip-lease-wait is not a transaction host's");
    }

    @Test
    void withoutTheTestOnlyClassEitherControlIsRefusedNamingIt() {
        for (NegativeControl c : List.of(NegativeControl.SKIP_LEASE_WAIT, NegativeControl.STALE_LEASE_READS)) {
            assertThatThrownBy(() -> c.switches("io.gnomon.paxos.NoSuchClass", NegativeControl.TEST_ONLY_TXN_CLASS))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("negative control " + c + " is test-only: io.gnomon.paxos.NoSuchClass is not on this"
                            + " classpath (it lives in txn-coordinator's test classes)");
        }
        for (NegativeControl c : List.of(NegativeControl.SKIP_COMMIT_WAIT, NegativeControl.SKIP_SAFE_TIME)) {
            assertThatThrownBy(() -> c.switches(NegativeControl.TEST_ONLY_CLASS, "io.gnomon.txn.NoSuchClass"))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("negative control " + c + " is test-only: io.gnomon.txn.NoSuchClass is not on this"
                            + " classpath (it lives in txn-coordinator's test classes)");
        }
        assertThat(NegativeControl.TEST_ONLY_CLASS).isEqualTo(TestOnlyNegativeControl.class.getName());
        assertThat(NegativeControl.TEST_ONLY_TXN_CLASS).isEqualTo(TestOnlyTxnNegativeControl.class.getName());
    }
}
