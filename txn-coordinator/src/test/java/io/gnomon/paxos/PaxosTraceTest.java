package io.gnomon.paxos;

import io.gnomon.paxos.Message.Accept;
import io.gnomon.paxos.Message.AcceptSync;
import io.gnomon.paxos.Message.Accepted;
import io.gnomon.paxos.Message.Decide;
import io.gnomon.paxos.Message.InstallSnapshot;
import io.gnomon.paxos.Message.PreVote;
import io.gnomon.paxos.Message.PreVoteReply;
import io.gnomon.paxos.Message.Prepare;
import io.gnomon.paxos.Message.Promise;
import io.gnomon.paxos.Output.Diagnostic.Code;
import io.gnomon.paxos.Output.Effect;
import io.gnomon.truetime.TimeInterval;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Interaction tests: each feeds the cores a sequence of messages and ticks and checks the exact outputs, the
 * way etcd raft's data-driven tests read (STYLE.md rule 11). Time: monotonic nanos from 0; TrueTime is
 * true time ± 1 ms; lease 400 ms; election timeout 150–300 ms.
 */
class PaxosTraceTest {
    static final long MS = TimeUnit.MILLISECONDS.toNanos(1);
    static final long EPOCH = 1_767_225_600_000_000_000L;
    static final PaxosLimits LIMITS = new PaxosLimits(64, 4, 256, 8, 16, 1024);

    final TreeMap<Integer, PaxosReplica> r = new TreeMap<>();
    long now;

    static PaxosConfig config(int id, List<Integer> members) {
        return new PaxosConfig(id, members, 150 * MS, 40 * MS, 40 * MS, 400 * MS, LIMITS, id);
    }

    TimeInterval tt() {
        return TimeInterval.around(EPOCH + now, MS);
    }

    void start(int... ids) {
        List<Integer> members = new ArrayList<>();
        for (int id : ids) {
            members.add(id);
        }
        for (int id : ids) {
            r.put(id, new PaxosReplica(config(id, members), now, tt()));
        }
    }

    Output tick(int id) {
        return r.get(id).tick(now, tt());
    }

    Output deliver(Message m) {
        return r.get(m.to()).step(m, now, tt());
    }

    /** Delivers everything (breadth first) until quiet; returns every message delivered. */
    List<Message> settle(Output first) {
        List<Message> queue = new ArrayList<>(first.messages());
        List<Message> delivered = new ArrayList<>();
        while (!queue.isEmpty()) {
            Message m = queue.remove(0);
            delivered.add(m);
            if (r.containsKey(m.to())) {
                queue.addAll(deliver(m).messages());
            }
        }
        return delivered;
    }

    static <T extends Message> List<T> only(List<Message> ms, Class<T> type) {
        return ms.stream().filter(type::isInstance).map(type::cast).toList();
    }

    static <T extends Message> T one(Output out, Class<T> type, int to) {
        List<T> ms = only(out.messages(), type).stream().filter(m -> m.to() == to).toList();
        assertThat(ms).as(type.getSimpleName() + " to " + to + " in " + out.messages()).hasSize(1);
        return ms.get(0);
    }

    static byte[] v(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** {@code id}'s election timer fires: it asks first, {@code voter} would promise, and then it Prepares. */
    Output campaign(int id, int voter) {
        Output asked = tick(id);
        assertThat(only(asked.messages(), Prepare.class)).isEmpty();
        assertThat(asked.toPersist()).isEmpty();
        PreVoteReply yes = one(deliver(one(asked, PreVote.class, voter)), PreVoteReply.class, id);
        assertThat(yes.granted()).isTrue();
        return deliver(yes);
    }

    void elect(int id) {
        now += 301 * MS;
        settle(tick(id));
        assertThat(r.get(id).isLeader()).isTrue();
    }

    /**
     * Every member times out at once (they started together, or lost their leader together): each gathers
     * pre-votes and Prepares; the Prepares cross. Returns the leader once every message is delivered.
     */
    int simultaneousCampaign(int preferredLeader) {
        List<Integer> members = List.of(1, 2, 3);
        for (int id : members) {
            PaxosConfig c = config(id, members);
            r.put(id, new PaxosReplica(new PaxosConfig(id, members, c.electionTimeoutNanos(), c.heartbeatIntervalNanos(),
                    c.retransmitIntervalNanos(), c.leaseDurationNanos(), c.limits(), c.randomSeed(), preferredLeader),
                    now, tt()));
        }
        now = 301 * MS;
        List<Message> preVotes = new ArrayList<>();
        for (int id : members) {
            preVotes.addAll(tick(id).messages());
        }
        List<Message> replies = new ArrayList<>();
        for (Message m : preVotes) {
            replies.addAll(deliver(m).messages()); // nothing promised yet: every pre-vote is granted
        }
        List<Message> prepares = new ArrayList<>();
        for (Message m : replies) {
            prepares.addAll(deliver(m).messages());
        }
        assertThat(only(prepares, Prepare.class)).as("all three Prepare").hasSize(6);
        settle(new Output(List.of(), prepares, List.of(), List.of(), List.of()));
        List<Integer> leaders = members.stream().filter(id -> r.get(id).isLeader()).toList();
        assertThat(leaders).hasSize(1);
        return leaders.get(0);
    }

    @Test
    void whenAllCampaignAtOnceTheHighestIdWinsUnlessAMemberIsPreferred() {
        assertThat(simultaneousCampaign(0)).as("no preference: the highest replica id wins every such race, so a "
                + "process's every group ends up led by one process").isEqualTo(3);
        r.clear();
        now = 0;
        assertThat(simultaneousCampaign(1)).as("replica 1 preferred: its ballot starts two rounds up").isEqualTo(1);
        assertThat(r.get(1).promised()).isEqualTo(new Ballot(2, 1));
        r.clear();
        now = 0;
        assertThat(simultaneousCampaign(2)).isEqualTo(2);
    }

    @Test
    void leaderElectionWithThreeReplicasMessageByMessage() {
        start(1, 2, 3);
        now = 301 * MS; // past every randomized election timeout
        Output asked = tick(1);                                 // first a pre-vote: would you promise (1, 1)?
        PreVote pv2 = one(asked, PreVote.class, 2);
        one(asked, PreVote.class, 3);
        assertThat(pv2.ballot()).isEqualTo(new Ballot(1, 1));
        assertThat(asked.toPersist()).isEmpty();                // asking moves no ballot
        assertThat(only(asked.messages(), Prepare.class)).isEmpty();
        PreVoteReply yes2 = one(deliver(pv2), PreVoteReply.class, 1);
        assertThat(yes2.granted()).isTrue();
        assertThat(r.get(2).promised()).isEqualTo(Ballot.ZERO); // answering promises nothing, grants no lease

        Output t = deliver(yes2);                               // 2 of 3 would: now Prepare
        Prepare p2 = one(t, Prepare.class, 2);
        one(t, Prepare.class, 3);
        Promise self = one(t, Promise.class, 1);               // our own promise: a loopback after the write
        assertThat(t.toPersist()).containsExactly(new PersistWrite.PersistPromise(1, new Ballot(1, 1)),
                new PersistWrite.PersistLeaseGrant(EPOCH + now - MS + 400 * MS + 100 * MS)); // its self-grant, ahead
        assertThat(p2.ballot()).isEqualTo(new Ballot(1, 1));
        assertThat(p2.leaseEndRequestedEpochNanos()).isEqualTo(EPOCH + now - MS + 400 * MS); // earliest + lease

        assertThat(deliver(self).messages()).isEmpty();          // 1 of 3 promises
        Output fromTwo = deliver(p2);
        Promise promise2 = one(fromTwo, Promise.class, 1);
        assertThat(promise2.suffix()).isEmpty();
        assertThat(promise2.leaseEndGrantedEpochNanos()).isEqualTo(p2.leaseEndRequestedEpochNanos());

        Output leading = deliver(promise2);                     // 2 of 3: a majority
        assertThat(leading.effects()).containsExactly(new Effect.BecameLeader(1, new Ballot(1, 1)));
        AcceptSync sync2 = one(leading, AcceptSync.class, 2);
        assertThat(sync2.syncIndex()).isZero();
        Accepted selfAccepted = one(leading, Accepted.class, 1);
        assertThat(r.get(1).canServeLeaseRead(tt())).isTrue(); // self grant + replica 2's grant: a majority
        assertThat(r.get(1).leaseEndEpochNanos()).isEqualTo(p2.leaseEndRequestedEpochNanos());

        Accepted acc2 = one(deliver(sync2), Accepted.class, 1);
        assertThat(acc2.logEnd()).isZero();
        deliver(selfAccepted);
        deliver(acc2);

        Output proposed = r.get(1).propose(List.of(v("a"), v("b")), now, tt());
        Accept accept2 = one(proposed, Accept.class, 2);
        assertThat(accept2.firstSlot()).isZero();
        assertThat(accept2.entries()).extracting(e -> new String(e.value())).containsExactly("a", "b");
        assertThat(proposed.decided()).isEmpty();               // nothing decided before a majority accepted
        deliver(one(proposed, Accepted.class, 1));
        Output decided = deliver(one(deliver(accept2), Accepted.class, 1));
        assertThat(decided.decided()).extracting(Output.Decided::slot).containsExactly(0L, 1L);
        assertThat(r.get(1).decidedIndex()).isEqualTo(2);
    }

    @Test
    void newLeaderAdoptsTheHighestBallotSuffixItLacks() {
        start(1, 2, 3);
        elect(1);
        Output proposed = r.get(1).propose(List.of(v("x"), v("y")), now, tt());
        // Only replica 2 receives the Accept (3 is cut off); 1 crashes before deciding.
        deliver(one(proposed, Accept.class, 2));
        assertThat(r.get(2).logEnd()).isEqualTo(2);
        assertThat(r.get(3).logEnd()).isZero();
        r.remove(1);

        now += 1_000 * MS; // past the lease replicas 2 and 3 granted to 1
        Output t = campaign(3, 2);
        Prepare p = one(t, Prepare.class, 2);
        assertThat(p.logEnd()).isZero();
        deliver(one(t, Promise.class, 3));
        Promise promise = one(deliver(p), Promise.class, 3);
        assertThat(promise.acceptedRound()).isEqualTo(new Ballot(1, 1));
        assertThat(promise.suffixStart()).isZero();             // its accepted round is higher: from our decided index
        assertThat(promise.suffix()).extracting(e -> new String(e.value())).containsExactly("x", "y");

        Output leading = deliver(promise);
        assertThat(r.get(3).logEnd()).isEqualTo(2);             // adopted
        assertThat(leading.toPersist().get(0)).isInstanceOf(PersistWrite.PersistAccepted.class);
        AcceptSync sync = one(leading, AcceptSync.class, 2);
        assertThat(sync.syncIndex()).isEqualTo(2);              // 2 already holds the adopted log
        assertThat(sync.suffix()).isEmpty();
        deliver(one(leading, Accepted.class, 3));
        Output decided = deliver(one(deliver(sync), Accepted.class, 3));
        assertThat(decided.decided()).extracting(d -> new String(d.entry().value())).containsExactly("x", "y");
    }

    @Test
    void aLeaseIsNotGrantedBeforeThePreviousOneEnds() {
        start(1, 2, 3);
        PaxosReplica three = r.remove(3);                      // 3 misses the election: it granted nothing
        elect(1);
        long leaseEnd = r.get(1).leaseEndEpochNanos();
        r.remove(1);                                            // the leader dies holding its lease
        r.put(3, three);

        assertThat(tick(2).messages()).isEmpty();               // 2 granted 1 a lease: it may not even run
        now += 301 * MS;
        Output t = campaign(3, 2);                              // 2 would promise, once it may
        Prepare p = one(t, Prepare.class, 2);
        deliver(one(t, Promise.class, 3));
        Output refused = deliver(p);
        assertThat(refused.messages()).isEmpty();
        assertThat(refused.diagnostics()).extracting(Output.Diagnostic::code).containsExactly(Code.LEASE_WAIT);

        now = leaseEnd - EPOCH + MS;                            // true time at lease end: earliest is not past it
        assertThat(deliver(p).messages()).isEmpty();
        now = leaseEnd - EPOCH + MS + 1;                         // TrueTime.after(leaseEnd)
        Promise promise = one(deliver(p), Promise.class, 3);
        assertThat(promise.leaseEndGrantedEpochNanos()).isGreaterThan(leaseEnd);
        settle(deliver(promise));
        assertThat(r.get(3).isLeader()).isTrue();
        assertThat(r.get(3).canServeLeaseRead(tt())).isTrue();
    }

    @Test
    void aReplicaThatHearsNoOneAsksButNeverPrepares() {
        start(1, 2, 3);
        elect(1);
        // From here 3 hears no one (a deaf follower); 1 and 2 hear each other and 3.
        for (int i = 0; i < 15; i++) {                          // 600 ms of heartbeats, past the 400 ms lease 3 granted
            now += 40 * MS;
            Output hb = tick(1);
            deliver(one(deliver(one(hb, Message.Decide.class, 2)), Accepted.class, 1));
        }
        Output asked = tick(3);
        assertThat(asked.toPersist()).isEmpty();
        assertThat(only(asked.messages(), Prepare.class)).isEmpty();
        Output atLeader = deliver(one(asked, PreVote.class, 1));
        assertThat(one(atLeader, PreVoteReply.class, 3).granted()).isFalse();
        Output atTwo = deliver(one(asked, PreVote.class, 2));
        assertThat(one(atTwo, PreVoteReply.class, 3).granted()).isFalse(); // it heard from leader 1 40 ms ago
        assertThat(atTwo.diagnostics()).extracting(Output.Diagnostic::code).containsExactly(Code.PRE_VOTE_REFUSED);
        // The answers never reach 3, so it asks again and again, and never Prepares: nobody's ballot moves,
        // nobody grants it a lease, and the leader keeps serving.
        Ballot leading = r.get(1).promised();
        for (int i = 0; i < 20; i++) {
            now += 40 * MS;
            Output hb = tick(1);
            deliver(one(deliver(one(hb, Message.Decide.class, 2)), Accepted.class, 1));
            Output again = tick(3);
            assertThat(only(again.messages(), Prepare.class)).isEmpty();
            for (PreVote pv : only(again.messages(), PreVote.class)) {
                assertThat(one(deliver(pv), PreVoteReply.class, 3).granted()).isFalse();
            }
        }
        assertThat(r.get(1).promised()).isEqualTo(leading);
        assertThat(r.get(2).promised()).isEqualTo(leading);
        assertThat(r.get(1).canServeLeaseRead(tt())).isTrue();
    }

    @Test
    void aFollowerThatLostItsLeaderGrantsAPreVoteAndAJoiningMemberAnswersOne() {
        start(1, 2, 3);
        elect(1);
        r.remove(1);                                            // the leader is gone
        now += 100 * MS;                                        // 2 heard from it 100 ms ago: too recent
        PreVote early = new PreVote(3, 2, 1, List.of(1, 2, 3), 0, new Ballot(2, 3));
        assertThat(one(deliver(early), PreVoteReply.class, 3).granted()).isFalse();
        now += 60 * MS;                                         // 160 ms: past the 150 ms election timeout
        PreVoteReply late = one(deliver(early), PreVoteReply.class, 3);
        assertThat(late.granted()).isTrue();
        assertThat(late.promised()).isEqualTo(new Ballot(1, 1));
        PreVote low = new PreVote(3, 2, 1, List.of(1, 2, 3), 0, new Ballot(1, 1));
        assertThat(one(deliver(low), PreVoteReply.class, 3).granted()).isFalse(); // not above what 2 promised

        // A member of a configuration it has not entered yet would promise on that configuration's Prepare.
        r.put(4, new PaxosReplica(config(4, List.of(1, 2, 3)), now, tt()));
        PreVoteReply joining = one(deliver(new PreVote(2, 4, 2, List.of(2, 3, 4), 9, new Ballot(1, 2))),
                PreVoteReply.class, 2);
        assertThat(joining.granted()).isTrue();
        assertThat(joining.configId()).isEqualTo(2);
        assertThat(r.get(4).configId()).isEqualTo(1);           // answering did not move it into configuration 2
    }

    @Test
    void aLaggingReplicaReceivesTheSnapshotItsEntriesWereCompactedInto() {
        start(1, 2, 3);
        elect(1);
        PaxosReplica lagging = r.remove(3);                      // 3 is away while 10 entries are decided
        for (int i = 0; i < 10; i++) {
            settle(r.get(1).propose(List.of(v("e" + i)), now, tt()));
        }
        assertThat(r.get(1).decidedIndex()).isEqualTo(10);
        Output compacted = r.get(1).compact(7, now, tt());
        assertThat(compacted.toPersist()).hasSize(1).first().isInstanceOf(PersistWrite.PersistSnapshot.class);
        assertThat(r.get(1).compactedIndex()).isEqualTo(8);

        r.put(3, lagging);
        now += 50 * MS;
        Output hb = tick(1);
        Output reply = deliver(one(hb, Message.Decide.class, 3)); // 3 says where it is: nothing accepted
        Output catchUp = deliver(one(reply, Accepted.class, 1));
        now += 50 * MS;
        catchUp = tick(1);                                        // no progress for a retransmit interval: go back
        InstallSnapshot install = one(catchUp, InstallSnapshot.class, 3);
        assertThat(install.snapshot().lastIncludedSlot()).isEqualTo(7);
        Accept rest = one(catchUp, Accept.class, 3);
        assertThat(rest.firstSlot()).isEqualTo(8);
        Output installed = deliver(install);
        assertThat(installed.effects()).containsExactly(new Effect.InstallSnapshot(install.snapshot()));
        Output applied = deliver(rest);
        assertThat(applied.decided()).extracting(Output.Decided::slot).containsExactly(8L, 9L);
        assertThat(r.get(3).decidedIndex()).isEqualTo(10);
    }

    @Test
    void membershipChangeAddsAReplicaThroughTheLog() {
        start(1, 2, 3);
        r.put(4, PaxosReplica.joining(config(4, List.of(1, 2, 3)), now, tt()));
        elect(1);
        settle(r.get(1).propose(List.of(v("before")), now, tt()));

        Output change = r.get(1).proposeMembership(List.of(1, 2, 3, 4), now, tt());
        Output refused = r.get(1).propose(List.of(v("during")), now, tt());
        assertThat(refused.diagnostics()).extracting(Output.Diagnostic::code).containsExactly(Code.RECONFIGURING);
        List<Message> trace = settle(change);
        // Decided in configuration 1; the leader starts configuration 2 at the next slot and Prepares its members.
        assertThat(r.get(1).configId()).isEqualTo(2);
        assertThat(only(trace, Prepare.class)).anyMatch(p -> p.to() == 4 && p.configId() == 2 && p.configStartIndex() == 2);
        assertThat(r.get(4).configId()).isEqualTo(2);
        assertThat(r.get(4).decidedIndex()).isEqualTo(2);         // synchronized: "before" and the config entry
        assertThat(r.get(1).isLeader()).isTrue();
        settle(r.get(1).propose(List.of(v("after")), now, tt()));
        assertThat(r.get(4).decidedIndex()).isEqualTo(3);

        Output two = r.get(1).proposeMembership(List.of(1, 2), now, tt());
        assertThat(two.diagnostics()).extracting(Output.Diagnostic::code).containsExactly(Code.BAD_MEMBERSHIP_CHANGE);
    }

    /**
     * A lease held two configurations back is not covered by the current configuration's grantors (a majority of
     * configuration 3 need not meet the majority of configuration 1 that granted it), so the leader proposes the
     * change that would start configuration 3 only once TrueTime is after that lease (docs/paxos.md).
     */
    @Test
    void aSecondMembershipChangeWaitsOutTheLeaseHeldTwoConfigurationsBack() {
        start(1, 2, 3);
        r.put(4, PaxosReplica.joining(config(4, List.of(1, 2, 3)), now, tt()));
        elect(1);
        settle(r.get(1).propose(List.of(v("before")), now, tt()));
        long leaseInConfigOne = r.get(1).leaseEndEpochNanos();
        assertThat(leaseInConfigOne).isGreaterThan(tt().latestEpochNanos());

        settle(r.get(1).proposeMembership(List.of(1, 2, 3, 4), now, tt()));
        assertThat(r.get(1).configId()).isEqualTo(2);
        assertThat(r.get(1).isLeader()).isTrue();
        Output early = r.get(1).proposeMembership(List.of(1, 2, 3), now, tt());
        assertThat(early.diagnostics()).extracting(Output.Diagnostic::code).containsExactly(Code.LEASE_WAIT);
        assertThat(early.diagnostics().get(0).detail()).contains("earlier configuration until " + leaseInConfigOne)
                .contains("retry in");
        assertThat(early.toPersist()).isEmpty();
        assertThat(early.messages()).isEmpty();

        while (tt().earliestEpochNanos() <= leaseInConfigOne) { // heartbeats keep configuration 2's leader leading
            now += 40 * MS;
            settle(tick(1));
        }
        assertThat(r.get(1).isLeader()).isTrue();
        Output later = r.get(1).proposeMembership(List.of(1, 2, 3), now, tt());
        assertThat(later.diagnostics()).isEmpty();
        settle(later);
        assertThat(r.get(1).configId()).isEqualTo(3);
    }

    @Test
    void badInputIsRefusedWithAReasonNeverAnException() {
        start(1, 2, 3);
        elect(1);
        Ballot b = r.get(2).promised();
        List<Output> outs = List.of(
                deliver(new Accept(9, 2, 1, b, 0, List.of(Entry.value(v("z"))), 0, Long.MIN_VALUE)),
                deliver(new Accept(1, 2, 1, new Ballot(99, 3), 0, List.of(Entry.value(v("z"))), 0, Long.MIN_VALUE)),
                deliver(new Accept(1, 2, 1, b, 0, List.of(Entry.value(new byte[65])), 0, Long.MIN_VALUE)),
                r.get(2).step(new Accepted(1, 3, 1, b, 0, Long.MIN_VALUE), now, tt()),
                deliver(new Prepare(1, 2, 1, List.of(), 0, null, Ballot.ZERO, -1, 0, 0)),
                r.get(1).propose(List.of(new byte[65]), now, tt()),
                r.get(2).propose(List.of(v("x")), now, tt()));
        assertThat(outs).extracting(o -> o.diagnostics().get(0).code()).containsExactly(Code.UNKNOWN_REPLICA,
                Code.FUTURE_BALLOT, Code.BAD_MESSAGE, Code.WRONG_DESTINATION, Code.BAD_MESSAGE,
                Code.VALUE_TOO_LARGE, Code.NOT_LEADER);
        assertThat(r.get(2).logEnd()).isZero();
        assertThat(r.get(2).promised()).isEqualTo(b);             // a future ballot without Prepare changes nothing
    }

    @Test
    void aValueOverTheLimitIsRefusedAloneAndTheRestOfItsBatchIsDecided() {
        start(1, 2, 3);
        elect(1);
        Output out = r.get(1).propose(List.of(v("a"), new byte[65], v("b")), now, tt()); // maxValueBytes 64
        assertThat(out.diagnostics()).hasSize(1);
        assertThat(out.diagnostics().get(0).code()).isEqualTo(Code.VALUE_TOO_LARGE);
        assertThat(out.diagnostics().get(0).valueIndex()).as("the refused value, by its index in the batch").isEqualTo(1);
        assertThat(r.get(1).logEnd()).isEqualTo(2);
        assertThat(one(out, Accept.class, 2).entries()).extracting(e -> new String(e.value(), StandardCharsets.UTF_8))
                .containsExactly("a", "b");
        Output refusedWhole = r.get(2).propose(List.of(v("x"), v("y")), now, tt());
        assertThat(refusedWhole.diagnostics()).extracting(Output.Diagnostic::valueIndex)
                .containsExactly(Output.Diagnostic.WHOLE_INPUT);                  // a follower takes none of them
        settle(out);
        assertThat(r.get(1).decidedIndex()).isEqualTo(2);
    }

    @Test
    void pipelineAndBatchesStayWithinTheirLimitsAtTheLimitAndOnePast() {
        start(1, 2, 3);
        elect(1);
        List<byte[]> nine = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            nine.add(v("p" + i));
        }
        Output out = r.get(1).propose(nine, now, tt());            // maxInflightEntries 8: the ninth waits
        assertThat(r.get(1).logEnd()).isEqualTo(8);
        List<Accept> toTwo = only(out.messages(), Accept.class).stream().filter(a -> a.to() == 2).toList();
        assertThat(toTwo).extracting(a -> a.entries().size()).containsExactly(4, 4); // maxBatchEntries 4
        List<byte[]> tooMany = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            tooMany.add(v("q" + i));
        }
        assertThat(r.get(1).propose(tooMany, now, tt()).diagnostics())
                .extracting(Output.Diagnostic::code).containsExactly(Code.BACKPRESSURE); // 1 queued + 16 > 16
        settle(out);
        assertThat(r.get(1).decidedIndex()).isEqualTo(9);         // the ninth went out once the first were decided
    }

    @Test
    void aRestartedReplicaRecoversFromItsDurableStateAndWaitsOutItsGrants() {
        start(1, 2, 3);
        DurableState disk2 = new DurableState(List.of(1, 2, 3));
        now += 301 * MS;
        List<Message> trace = new ArrayList<>();
        List<Message> queue = new ArrayList<>(tick(1).messages());
        while (!queue.isEmpty()) {
            Message m = queue.remove(0);
            trace.add(m);
            Output o = deliver(m);
            if (m.to() == 2) {
                o.toPersist().forEach(disk2::apply);
            }
            queue.addAll(o.messages());
        }
        settleRecording(r.get(1).propose(List.of(v("kept")), now, tt()), disk2);
        PaxosReplica back = PaxosReplica.recover(config(2, List.of(1, 2, 3)), disk2.toRecovered(), now, tt());
        Output first = back.tick(now, tt());
        assertThat(first.decided()).extracting(d -> new String(d.entry().value())).containsExactly("kept");
        assertThat(back.promised()).isEqualTo(r.get(1).promised());
        Prepare fromThree = new Prepare(3, 2, 1, List.of(1, 2, 3), 0, new Ballot(9, 3), Ballot.ZERO, 0, 0,
                Long.MIN_VALUE);
        assertThat(back.step(fromThree, now, tt()).diagnostics()).extracting(Output.Diagnostic::code)
                .containsExactly(Code.LEASE_WAIT);                 // it may have granted a lease before the crash
    }

    /**
     * Issue 16: a grant is persisted in the output that sends it, a quarter lease ahead of its end, so of the
     * renewals that follow (one per heartbeat, each moving the end by a heartbeat) only every third needs a write.
     */
    @Test
    void aGrantIsPersistedAheadOfItsEndWithTheMessageThatCarriesItAndRenewalsInsideItWriteNothing() {
        start(1, 2, 3);
        now = 301 * MS;
        Output prepared = campaign(1, 2);
        Prepare p2 = one(prepared, Prepare.class, 2);
        Output fromTwo = deliver(p2);
        Promise promise2 = one(fromTwo, Promise.class, 1);
        assertThat(promise2.leaseEndGrantedEpochNanos()).isEqualTo(EPOCH + now - MS + 400 * MS);
        assertThat(fromTwo.toPersist()).containsExactly(new PersistWrite.PersistPromise(1, new Ballot(1, 1)),
                new PersistWrite.PersistLeaseGrant(promise2.leaseEndGrantedEpochNanos() + 100 * MS));
        List<Message> rest = new ArrayList<>(prepared.messages());
        rest.remove(p2);
        rest.addAll(fromTwo.messages());
        settle(new Output(List.of(), rest, List.of(), List.of(), List.of()));
        assertThat(r.get(1).isLeader()).isTrue();

        long persisted = promise2.leaseEndGrantedEpochNanos() + 100 * MS;
        List<Integer> renewalsThatWrote = new ArrayList<>();
        for (int k = 1; k <= 9; k++) {
            now += 40 * MS;                                      // a heartbeat: Decide with a lease request
            Output renewed = deliver(one(tick(1), Message.Decide.class, 2));
            Accepted grant = one(renewed, Accepted.class, 1);
            for (PersistWrite w : renewed.toPersist()) {
                assertThat(w).isInstanceOf(PersistWrite.PersistLeaseGrant.class);
                persisted = Math.max(persisted, ((PersistWrite.PersistLeaseGrant) w).grantedLeaseEndEpochNanos());
                renewalsThatWrote.add(k);
            }
            assertThat(grant.leaseEndGrantedEpochNanos()).isEqualTo(EPOCH + now - MS + 400 * MS)
                    .isLessThanOrEqualTo(persisted);             // never sent beyond what its own output persists
        }
        assertThat(renewalsThatWrote).containsExactly(3, 6, 9);  // 120 ms of renewals exceed the 100 ms ahead
    }

    /**
     * Issue 16: 2 granted 1 a 400 ms lease and restarts at once with a 50 ms lease. Waiting "now.latest + its own
     * lease" (the rule before grants were persisted) would let it promise 3 after 50 ms while 1 still serves lease
     * reads; it waits out the grant it persisted instead.
     */
    @Test
    void aReplicaRestartedWithAShorterLeaseWaitsOutTheGrantItPersisted() {
        start(1, 2, 3);
        DurableState disk2 = new DurableState(List.of(1, 2, 3));
        now += 301 * MS;
        settleRecording(tick(1), disk2);
        assertThat(r.get(1).isLeader()).isTrue();
        PaxosConfig shorterLease = new PaxosConfig(2, List.of(1, 2, 3), 150 * MS, 40 * MS, 40 * MS, 50 * MS, LIMITS, 2);
        DurableState.Recovered recovered = disk2.toRecovered();
        assertThat(recovered.grantedLeaseEndEpochNanos()).isEqualTo(EPOCH + now - MS + 400 * MS + 100 * MS);
        PaxosReplica back = PaxosReplica.recover(shorterLease, recovered, now, tt());
        back.tick(now, tt());

        now += 100 * MS;                                         // past now.latest + 50 ms
        assertThat(r.get(1).canServeLeaseRead(tt())).isTrue();   // 1 still serves on 2's grant
        Prepare fromThree = new Prepare(3, 2, 1, List.of(1, 2, 3), 0, new Ballot(9, 3), Ballot.ZERO, 0, 0,
                EPOCH + now + 50 * MS);
        assertThat(back.step(fromThree, now, tt()).diagnostics()).extracting(Output.Diagnostic::code)
                .containsExactly(Code.LEASE_WAIT);
        assertThat(back.promised()).isEqualTo(new Ballot(1, 1));

        now = recovered.grantedLeaseEndEpochNanos() - EPOCH;     // TrueTime earliest is 1 ms short of it
        assertThat(back.step(fromThree, now, tt()).diagnostics()).extracting(Output.Diagnostic::code)
                .containsExactly(Code.LEASE_WAIT);
        assertThat(r.get(1).canServeLeaseRead(tt())).isFalse();  // 1's lease is over well before
        now += 2 * MS;                                           // TrueTime.after(persisted end)
        Output promised = back.step(fromThree, now, tt());
        assertThat(one(promised, Promise.class, 3).ballot()).isEqualTo(new Ballot(9, 3));
    }

    @Test
    void aRestartedFollowerAsksItsLeaderToPrepareItAgainAndRejoins() {
        start(1, 2, 3);
        DurableState disk2 = new DurableState(List.of(1, 2, 3));
        now += 301 * MS;
        settleRecording(tick(1), disk2);
        assertThat(r.get(1).isLeader()).isTrue();
        settleRecording(r.get(1).propose(List.of(v("a")), now, tt()), disk2);
        // 2 restarts: it knows it promised 1's ballot, not where its log stands in it.
        PaxosReplica back = PaxosReplica.recover(config(2, List.of(1, 2, 3)), disk2.toRecovered(), now, tt());
        back.tick(now, tt());
        r.put(2, back);
        r.remove(3);                                             // 3 is away: 1 needs 2 to decide anything

        now += 40 * MS;
        Output heartbeat = tick(1);
        Output asked = deliver(one(heartbeat, Message.Decide.class, 2));
        assertThat(asked.diagnostics()).extracting(Output.Diagnostic::code).containsExactly(Code.REJOINING);
        Message.Nack nack = one(asked, Message.Nack.class, 1);
        assertThat(nack.promised()).isEqualTo(r.get(1).promised()); // "I promised your ballot: Prepare me again"
        Prepare again = one(deliver(nack), Prepare.class, 2);
        assertThat(deliver(again).diagnostics()).extracting(Output.Diagnostic::code)
                .containsExactly(Code.LEASE_WAIT);                 // it may have granted a lease before the crash

        now += 500 * MS;                                         // past the 400 ms lease it assumes it granted
        settle(deliver(again));
        Output proposed = r.get(1).propose(List.of(v("b")), now, tt());
        settle(proposed);
        assertThat(r.get(1).decidedIndex()).isEqualTo(2);        // decided with 2's acceptance (3 is away)
        assertThat(back.decidedIndex()).isEqualTo(2);
        // Before pre-vote 2 rejoined by campaigning; now its campaign would be refused, so this is its only way.
        assertThat(back.promised()).isEqualTo(r.get(1).promised());
    }

    @Test
    void aLeadersTimestampPromiseCoversWhatItHoldsAndReachesItsFollowersOnItsDecides() {
        start(1, 2, 3);
        elect(1);
        assertThat(r.get(2).offerTimestampPromise(1_000)).as("a follower makes no promise").isFalse();
        assertThat(r.get(1).timestampPromise().isNone()).isTrue();

        // Nine values, eight in the log (maxInflightEntries 8) and one queued: the promise starts after the ninth's slot.
        List<byte[]> nine = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            nine.add(v("p" + i));
        }
        Output proposed = r.get(1).propose(nine, now, tt());
        assertThat(r.get(1).logEnd()).isEqualTo(8);
        assertThat(r.get(1).offerTimestampPromise(1_000)).isTrue();
        assertThat(r.get(1).timestampPromise()).isEqualTo(new TimestampPromise(8, 1_000));
        assertThat(r.get(1).offerTimestampPromise(1_000)).as("no more than the one known").isFalse();
        assertThat(r.get(1).offerTimestampPromise(-5)).isFalse();

        // The Decides of the decision and of the next heartbeat carry it; the followers keep it.
        List<Message> delivered = settle(proposed);
        assertThat(only(delivered, Decide.class)).isNotEmpty()
                .allSatisfy(d -> assertThat(d.promise()).isEqualTo(new TimestampPromise(8, 1_000)));
        assertThat(r.get(2).timestampPromise()).isEqualTo(new TimestampPromise(8, 1_000));
        assertThat(r.get(3).timestampPromise()).isEqualTo(new TimestampPromise(8, 1_000));
        assertThat(r.get(1).offerTimestampPromise(2_000)).isTrue();
        assertThat(r.get(1).timestampPromise()).isEqualTo(new TimestampPromise(8, 2_000));
        now += 41 * MS; // a heartbeat interval: the promise travels without any entry
        settle(tick(1));
        assertThat(r.get(2).timestampPromise()).isEqualTo(new TimestampPromise(8, 2_000));

        // A Decide of a ballot the follower did not promise carries no weight; an older promise does not replace a newer.
        Ballot stale = new Ballot(0, 3);
        deliver(new Decide(3, 2, r.get(2).configId(), stale, 0, Long.MIN_VALUE, 50, 9_000));
        assertThat(r.get(2).timestampPromise()).isEqualTo(new TimestampPromise(8, 2_000));
        deliver(new Decide(1, 2, r.get(2).configId(), r.get(2).promised(), r.get(2).decidedIndex(), Long.MIN_VALUE,
                8, 1_500));
        assertThat(r.get(2).timestampPromise()).isEqualTo(new TimestampPromise(8, 2_000));

        // Replica 1 goes; a new leader knows the promise it heard, still true, and carries it until it makes its own.
        r.remove(1);
        for (int i = 0; i < 100 && !r.get(2).isLeader(); i++) { // only 2 campaigns: 3 is never ticked past its timer
            now += 20 * MS;
            settle(tick(2));
        }
        assertThat(r.get(2).isLeader()).isTrue();
        assertThat(r.get(2).timestampPromise()).isEqualTo(new TimestampPromise(8, 2_000));
        assertThat(r.get(2).offerTimestampPromise(3_000)).isTrue();
        assertThat(r.get(2).timestampPromise().belowTs()).isEqualTo(3_000);
        assertThat(r.get(2).timestampPromise().afterIndex()).isEqualTo(r.get(2).logEnd() - 1);
    }

    @Test
    void aLeaderStepsDownAfterHearingNoMajorityButNotForItsOwnPause() {
        start(1, 2, 3);
        elect(1);
        long elected = now;
        // Its followers fall silent while it ticks every heartbeat: it steps down within 2 × 150 ms of the last tick
        // that saw them (at most 150 ms after their last answer).
        while (r.get(1).isLeader() && now - elected < 2_000 * MS) {
            now += 40 * MS;
            tick(1);
        }
        assertThat(r.get(1).isLeader()).isFalse();
        assertThat(now - elected).isBetween(300 * MS, 150 * MS + 2 * 150 * MS + 40 * MS);

        // Its own pause: ticked last 305 ms ago with its followers' answers in hand, it keeps leading, and it hears
        // them answer the heartbeats it sends now.
        r.clear();
        now = 0;
        start(1, 2, 3);
        elect(1);
        now += 40 * MS;
        settle(tick(1));
        now += 305 * MS; // more than 2 × election timeout since the last tick that saw a majority
        Output resumed = tick(1);
        assertThat(r.get(1).isLeader()).as("stepped down for its own pause").isTrue();
        settle(resumed);
        for (int i = 0; i < 20; i++) {
            now += 40 * MS;
            settle(tick(1));
        }
        assertThat(r.get(1).isLeader()).isTrue();

        // Paused and then really alone: it steps down 2 × election timeout after the pause.
        now += 305 * MS;
        tick(1);
        long resumedAt = now;
        while (r.get(1).isLeader() && now - resumedAt < 2_000 * MS) {
            now += 40 * MS;
            tick(1);
        }
        assertThat(r.get(1).isLeader()).isFalse();
        assertThat(now - resumedAt).isBetween(300 * MS, 2 * 150 * MS + 40 * MS);
    }

    private void settleRecording(Output first, DurableState disk2) {
        List<Message> queue = new ArrayList<>(first.messages());
        while (!queue.isEmpty()) {
            Message m = queue.remove(0);
            Output o = deliver(m);
            if (m.to() == 2) {
                o.toPersist().forEach(disk2::apply);
            }
            queue.addAll(o.messages());
        }
    }
}
