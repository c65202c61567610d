package io.gnomon.paxos.server;

import io.gnomon.paxos.runtime.GroupHost;
import io.gnomon.paxos.Message;
import io.gnomon.paxos.Output;
import io.gnomon.paxos.PaxosConfig;
import io.gnomon.paxos.PaxosLimits;
import io.gnomon.paxos.PaxosReplica;
import io.gnomon.truetime.TimeInterval;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The outcome a replica server gives each append of a proposed batch ({@link GroupHost#refusedValues}), from
 * what a real core's {@code propose} returned: {@code NOT_APPENDED} only for values the core did not take.
 */
class ProposalOutcomeTest {
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final long EPOCH = 1_767_225_600_000_000_000L;
    private static final PaxosLimits LIMITS = new PaxosLimits(64, 4, 256, 8, 16, 1024);

    private long now;
    private final List<Output.Decided> decided = new ArrayList<>();

    private TimeInterval tt() {
        return TimeInterval.around(EPOCH + now, MS);
    }

    /** Delivers a one-replica group's loopback messages until quiet, collecting what it decides. */
    private void settle(PaxosReplica core, Output first) {
        decided.addAll(first.decided());
        List<Message> queue = new ArrayList<>(first.messages());
        while (!queue.isEmpty()) {
            Output o = core.step(queue.remove(0), now, tt());
            decided.addAll(o.decided());
            queue.addAll(o.messages());
        }
    }

    private PaxosReplica leaderOfOne() {
        PaxosReplica core = new PaxosReplica(new PaxosConfig(1, List.of(1), 150 * MS, 40 * MS, 40 * MS, 400 * MS,
                LIMITS, 1), now, tt());
        for (int i = 0; i < 100 && !core.isLeader(); i++) {
            now += 50 * MS;
            settle(core, core.tick(now, tt()));
        }
        assertThat(core.isLeader()).as("a group of one elects itself").isTrue();
        return core;
    }

    private static byte[] v(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void oneValueTheCoreRefusesIsNotAppendedAndTheRestOfItsBatchIsAppendedAndAwaitsItsOutcome() {
        PaxosReplica core = leaderOfOne();
        long firstSlot = core.logEnd();
        Output out = core.propose(List.of(v("good-0"), new byte[65], v("good-2")), now, tt()); // maxValueBytes 64

        String[] refused = GroupHost.refusedValues(out, 3);

        assertThat(refused[1]).as("the value over the limit").contains("maxValueBytes 64");
        assertThat(refused[0]).as("good-0 was taken: not 'certainly not appended'").isNull();
        assertThat(refused[2]).as("good-2 was taken: not 'certainly not appended'").isNull();
        settle(core, out);
        assertThat(decided).filteredOn(d -> d.slot() >= firstSlot)
                .extracting(d -> new String(d.entry().value(), StandardCharsets.UTF_8))
                .as("both good values are decided, so their clients are owed APPLIED")
                .containsExactly("good-0", "good-2");
    }

    @Test
    void aBatchTheCoreRefusesWholeIsNotAppendedValueByValue() {
        PaxosReplica follower = new PaxosReplica(new PaxosConfig(2, List.of(1, 2, 3), 150 * MS, 40 * MS, 40 * MS,
                400 * MS, LIMITS, 2), now, tt());
        String[] refused = GroupHost.refusedValues(follower.propose(List.of(v("a"), v("b")), now, tt()), 2);
        assertThat(refused).allSatisfy(why -> assertThat(why).contains("not the leader"));
        assertThat(follower.logEnd()).isZero();

        assertThat(GroupHost.refusedValues(null, 2)).containsOnly("TrueTime unavailable");
    }
}
