package io.gnomon.txn;

import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.TimeInterval;
import io.gnomon.txn.TimestampOracle.Assignment.Assigned;
import io.gnomon.txn.TimestampOracle.Assignment.Refused;
import org.junit.jupiter.api.Test;

import static io.gnomon.truetime.ClockStatus.FREE_RUNNING;
import static io.gnomon.truetime.ClockStatus.SYNCHRONIZED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TimestampOracleTest {
    private static final long MAX_EPSILON = 1_000;
    private static final long LEASE_END = 1_000_000;

    private final TimestampOracle oracle = new TimestampOracle(MAX_EPSILON);

    private static TimeInterval at(long mid, long epsilon) {
        return TimeInterval.around(mid, epsilon);
    }

    @Test
    void assignsTheLatestOfNowThenAboveEverythingAssigned() {
        assertThat(oracle.assign(at(10_000, 100), SYNCHRONIZED, 0, LEASE_END)).isEqualTo(new Assigned(10_100));
        // the clock reads earlier (another, narrower reading): still above what was assigned
        assertThat(oracle.assign(at(9_000, 100), SYNCHRONIZED, 0, LEASE_END)).isEqualTo(new Assigned(10_101));
        assertThat(oracle.assign(at(20_000, 0), FREE_RUNNING, 0, LEASE_END)).isEqualTo(new Assigned(20_000));
        assertThat(oracle.maxAssignedEpochNanos()).isEqualTo(20_000);
    }

    @Test
    void aFloorRaisesTheTimestamp() {
        // a commit timestamp is at least every prepare timestamp
        assertThat(oracle.assign(at(10_000, 100), SYNCHRONIZED, 50_000, LEASE_END)).isEqualTo(new Assigned(50_000));
        assertThat(oracle.assign(at(10_000, 100), SYNCHRONIZED, 50_000, LEASE_END)).isEqualTo(new Assigned(50_001));
    }

    @Test
    void observedTimestampsAreNeverAssignedAgain() {
        oracle.observe(70_000);
        oracle.observe(60_000);
        assertThat(oracle.assign(at(10_000, 100), SYNCHRONIZED, 0, LEASE_END)).isEqualTo(new Assigned(70_001));
    }

    @Test
    void anUnusableClockIsRefusedNamingItsStatusAndEpsilon() {
        for (ClockStatus status : ClockStatus.values()) {
            if (status.isUsable()) {
                continue;
            }
            var a = oracle.assign(at(10_000, 100), status, 0, LEASE_END);
            assertThat(a).isInstanceOf(Refused.class);
            assertThat(((Refused) a).reason()).contains(status.name()).contains("epsilon 100 ns");
        }
        assertThat(oracle.maxAssignedEpochNanos()).isEqualTo(-1);
    }

    @Test
    void epsilonAtTheCeilingIsTakenOnePastIsRefused() {
        assertThat(oracle.assign(at(10_000, MAX_EPSILON), SYNCHRONIZED, 0, LEASE_END))
                .isEqualTo(new Assigned(10_000 + MAX_EPSILON));
        var a = oracle.assign(at(20_000, MAX_EPSILON + 1), SYNCHRONIZED, 0, LEASE_END);
        assertThat(((Refused) a).reason())
                .isEqualTo("clock epsilon 1001 ns (status SYNCHRONIZED) exceeds maxEpsilonNanos 1000");
        assertThat(oracle.maxAssignedEpochNanos()).isEqualTo(10_000 + MAX_EPSILON);
    }

    @Test
    void aTimestampMustLieBelowTheLeaseEnd() {
        assertThat(oracle.assign(at(10_000, 0), SYNCHRONIZED, 0, 10_001)).isEqualTo(new Assigned(10_000));
        var a = oracle.assign(at(10_000, 0), SYNCHRONIZED, 0, 10_001);
        assertThat(((Refused) a).reason()).startsWith("timestamp 10001 is not below this leader's lease end 10001");
        var none = oracle.assign(at(10_000, 0), SYNCHRONIZED, 0, Long.MIN_VALUE);
        assertThat(((Refused) none).reason()).contains("holds no leader lease");
        assertThat(oracle.maxAssignedEpochNanos()).isEqualTo(10_000);
    }

    @Test
    void promiseBelowIsMinNextTsAndLaterTimestampsKeepIt() {
        assertThat(oracle.promiseBelow(at(10_000, 100), SYNCHRONIZED, LEASE_END)).isEqualTo(new Assigned(10_099));
        // a later reading that is lower does not lower the promise, and nothing at or below it is assigned
        assertThat(oracle.assign(at(5_000, 0), SYNCHRONIZED, 0, LEASE_END)).isEqualTo(new Assigned(10_100));
        // above what was assigned when the clock lags it
        assertThat(oracle.promiseBelow(at(5_000, 0), SYNCHRONIZED, LEASE_END)).isEqualTo(new Assigned(10_100));
        // capped by the lease: the leader can promise only what its lease covers
        assertThat(oracle.promiseBelow(at(50_000, 0), SYNCHRONIZED, 20_000)).isEqualTo(new Assigned(19_999));
        assertThat(oracle.assign(at(5_000, 0), SYNCHRONIZED, 0, LEASE_END)).isEqualTo(new Assigned(20_000));
    }

    @Test
    void promiseBelowRefusesAnUnusableClockAndNoLease() {
        assertThat(oracle.promiseBelow(at(10_000, 100), ClockStatus.UNSYNCHRONIZED, LEASE_END))
                .isInstanceOf(Refused.class);
        assertThat(oracle.promiseBelow(at(10_000, 100), SYNCHRONIZED, Long.MIN_VALUE)).isInstanceOf(Refused.class);
        assertThat(oracle.maxAssignedEpochNanos()).isEqualTo(-1);
    }

    @Test
    void aNewLeadersTimestampsExceedItsPredecessors() {
        // old leader: lease ends at 10_000; it assigns below it
        TimestampOracle old = new TimestampOracle(MAX_EPSILON);
        long last = ((Assigned) old.assign(at(9_000, 500), SYNCHRONIZED, 0, 10_000)).timestampEpochNanos();
        assertThat(last).isEqualTo(9_500);
        // the successor's lease begins after the old one ended (disjoint leases): its now.latest is past 10_000
        TimestampOracle successor = new TimestampOracle(MAX_EPSILON);
        long first = ((Assigned) successor.assign(at(10_400, 500), SYNCHRONIZED, 0, 20_000)).timestampEpochNanos();
        assertThat(first).isGreaterThan(last);
    }

    @Test
    void aCeilingMustBePositive() {
        assertThatThrownBy(() -> new TimestampOracle(0)).hasMessage("maxEpsilonNanos must be > 0, was 0");
    }
}
