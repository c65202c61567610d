package io.gnomon.paxos.server;

import io.gnomon.paxos.TestOnlyNegativeControl;
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
        assertThatThrownBy(() -> NegativeControl.parse("none")).hasMessage(
                "--negative-control none: use skip-lease-wait or stale-lease-reads");
    }

    @Test
    void noControlNeedsNoTestOnlyClassAndSwitchesNothing() {
        NegativeControl.Switches s = NegativeControl.NONE.switches("io.gnomon.paxos.NoSuchClass");
        assertThat(s.leaseChecksOnReads()).isTrue();
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
    }

    @Test
    void withoutTheTestOnlyClassEitherControlIsRefusedNamingIt() {
        for (NegativeControl c : List.of(NegativeControl.SKIP_LEASE_WAIT, NegativeControl.STALE_LEASE_READS)) {
            assertThatThrownBy(() -> c.switches("io.gnomon.paxos.NoSuchClass"))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("negative control " + c + " is test-only: io.gnomon.paxos.NoSuchClass is not on this"
                            + " classpath (it lives in txn-coordinator's test classes)");
        }
        assertThat(NegativeControl.TEST_ONLY_CLASS).isEqualTo(TestOnlyNegativeControl.class.getName());
    }
}
